// reload.h: hot reload of the configuration and of everything derived from
// it, and runtime changes of the hosted domains (docs/reload.md).
//
// A reload reads the file, applies the runtime overlay (domains added or
// removed through the admin API since start), builds a complete snapshot
// (gateway/server/snapshot.h: certificates, trust stores, internal CA,
// router, addresses) and only then publishes it: the server's pointer is
// swapped and every worker is handed the new snapshot between two events of
// its loop; the call returns once every worker uses it, so the next stanza
// routed and the next stream accepted follow the new configuration. Streams
// already open keep the snapshot they started with for what is theirs
// (dialback secret, the backend address of a hop link). Anything wrong
// (unreadable or half-written file, YAML or semantic error, missing or
// mismatched key, a key that needs a restart) leaves the running snapshot
// untouched. Reloads are serialised: one at a time, from any thread that is
// not a worker of the server.
#ifndef FEDGATE_GATEWAY_SERVER_RELOAD_H
#define FEDGATE_GATEWAY_SERVER_RELOAD_H

#include <stdint.h>

#include "gateway/server/server.h"
#include "gateway/server/text.h"

struct fg_router;

typedef enum fg_reload_outcome {
  FG_RELOAD_OK = 0,          // published
  FG_RELOAD_INVALID,         // the configuration or a file it names is not valid
  FG_RELOAD_RESTART_NEEDED,  // valid, but changes a key only a restart applies
} fg_reload_outcome;

// fg_reload_result says what one reload or domain change did.
typedef struct fg_reload_result {
  fg_reload_outcome outcome;
  uint64_t generation;  // the generation in force after the call
  fg_text diagnostics;  // every diagnostic line, warnings included
} fg_reload_result;

// fg_reload_result_cleanup frees |r|'s diagnostics.
void fg_reload_result_cleanup(fg_reload_result *r);

// fg_server_reload loads |path| (NULL: the file the gateway runs from) and
// publishes it. It returns 1 when published, else 0; |out| (may be NULL)
// says why. Not from a worker thread of |srv| (it waits for them).
int fg_server_reload(fg_server *srv, const char *path, fg_reload_result *out);

// fg_server_domain_add hosts |domain| on backend |backend| from now on
// (|cert_file| and |key_file|: both or NULL), as a runtime overlay on top of
// the file, kept across reloads until restart. Same checks, same
// publication and same result as fg_server_reload.
int fg_server_domain_add(fg_server *srv, const char *domain, const char *backend,
                         const char *cert_file, const char *key_file, fg_reload_result *out);

// fg_server_domain_remove stops hosting |domain| (overlay, as above).
int fg_server_domain_remove(fg_server *srv, const char *domain, fg_reload_result *out);

// fg_reload_set_drained drains (|drained| 1) or undrains backend |backend|'s
// address |address| (SIZE_MAX: all) in |router| (the calling worker's
// snapshot's) and in the snapshot published meanwhile, if another: a drain
// is never lost to a reload running at the same time. Worker threads (the
// admin actions).
void fg_reload_set_drained(fg_server *srv, struct fg_router *router, size_t backend, size_t address,
                           int drained);

// fg_reload_state_new attaches the reload state to |srv| (at start-up, after
// the first snapshot is published). It returns 1, or 0 when memory is short.
int fg_reload_state_new(fg_server *srv);

// fg_reload_state_free detaches and frees it. NULL state: no-op.
void fg_reload_state_free(fg_server *srv);

// fg_reload_describe_status appends the /ready line about the last failed
// reload, when the last reload failed ("last reload failed at TIME: FIRST
// DIAGNOSTIC"). Any thread.
void fg_reload_describe_status(fg_server *srv, fg_text *out);

// fg_reload_metrics appends fedgate_reloads_total{result="ok|failed"},
// fedgate_config_generation and
// fedgate_config_last_reload_success_timestamp_seconds. Any thread.
void fg_reload_metrics(fg_server *srv, fg_text *out);

// fg_reload_describe_domains appends one line per hosted domain of the
// published snapshot with its backend and where it comes from (file or
// overlay), and one per domain the overlay removed. Any thread.
void fg_reload_describe_domains(fg_server *srv, fg_text *out);

#endif  // FEDGATE_GATEWAY_SERVER_RELOAD_H
