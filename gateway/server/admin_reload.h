// admin_reload.h: the admin endpoint's reload actions (docs/reload.md):
// POST /reload (form key path, optional), POST /domains/add (domain,
// backend, optional cert and key: absolute paths), POST /domains/remove
// (domain) and GET /domains. The changes run on a thread of their own (a
// reload waits for every worker) and answer 200 "ok: generation N", 409
// (needs a restart) or 422 (invalid) "error: ...", each followed by the
// diagnostics. Entries of the action table (gateway/server/admin_actions.c).
#ifndef FEDGATE_GATEWAY_SERVER_ADMIN_RELOAD_H
#define FEDGATE_GATEWAY_SERVER_ADMIN_RELOAD_H

#include "gateway/server/admin_request.h"
#include "gateway/server/server_internal.h"

// fg_admin_reload_post starts POST /reload, /domains/add or
// /domains/remove (|req|->path) from |peer| on admin connection |c|.
void fg_admin_reload_post(fg_conn *c, fg_server *srv, const fg_admin_request *req,
                          const char *peer);

// fg_admin_reload_domains answers GET /domains.
void fg_admin_reload_domains(fg_conn *c, fg_server *srv);

#endif  // FEDGATE_GATEWAY_SERVER_ADMIN_RELOAD_H
