// ticket_watch.h: the TLS session ticket keys of a running gateway, shared
// with the other instances through tls.ticket_key_file: loaded at start,
// re-read by worker 0 whenever the file changes (checked every
// tls.ticket_key_check_interval), and on demand for a configuration reload.
// A file that cannot be read or parsed is refused with one error line and a
// count on /metrics (ticket_keys_refused_total); the keys in use stay.
#ifndef FEDGATE_GATEWAY_SERVER_TICKET_WATCH_H
#define FEDGATE_GATEWAY_SERVER_TICKET_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/ticket_keys.h"
#include "gateway/server/metrics.h"
#include "io/worker.h"

typedef struct fg_ticket_watch fg_ticket_watch;

// fg_ticket_watch_new loads |path| (counting into |m|). It returns the
// watch, or NULL with the reason in |err|.
fg_ticket_watch *fg_ticket_watch_new(const char *path, uint32_t check_ms, fg_metrics *m, char *err,
                                     size_t err_len);

// fg_ticket_watch_free frees |w| once the runtime it was started on is gone.
// NULL is a no-op.
void fg_ticket_watch_free(fg_ticket_watch *w);

// fg_ticket_watch_keys returns the key set the server contexts use.
fg_ticket_keys *fg_ticket_watch_keys(fg_ticket_watch *w);

// fg_ticket_watch_start has worker 0 of |rt| check the file periodically.
void fg_ticket_watch_start(fg_ticket_watch *w, fg_runtime *rt);

// fg_ticket_watch_reload re-reads the file now (a configuration reload; any
// thread). It returns 1 when the file's keys are in use, 0 when it was
// refused (logged and counted; the previous keys stay).
int fg_ticket_watch_reload(fg_ticket_watch *w);

#endif  // FEDGATE_GATEWAY_SERVER_TICKET_WATCH_H
