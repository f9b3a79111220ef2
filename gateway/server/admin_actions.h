// admin_actions.h: the admin endpoint's actions, routed by method and path
// through one table (admin_actions.c): POST /streams/close,
// POST /backends/drain, POST /backends/undrain and GET /backends; POST
// /reload, /domains/add, /domains/remove and GET /domains
// (gateway/server/admin_reload.h). Request
// bodies are application/x-www-form-urlencoded (gateway/server/admin_form.h);
// answers are text/plain whose first line is `ok: ...` (2xx) or
// `error: ...` (4xx/5xx). docs/admin.md documents each.
#ifndef FEDGATE_GATEWAY_ADMIN_ACTIONS_H
#define FEDGATE_GATEWAY_ADMIN_ACTIONS_H

#include "gateway/server/admin_request.h"
#include "gateway/server/server_internal.h"

// fg_admin_action_run answers |req| when the table has its method and
// path, counting it in admin_actions_ok_total or admin_actions_refused_total
// (POST only) and logging a refusal once with |peer| (the client's address).
// It returns 1 when it answered (or will, from another worker), 0 when the
// table has no such entry (|c| is untouched).
int fg_admin_action_run(fg_conn *c, fg_server *srv, const fg_admin_request *req, const char *peer);

// fg_admin_action_refuse_unknown answers a POST to a path the table does
// not have with 404 and the list of actions, counted and logged as refused.
void fg_admin_action_refuse_unknown(fg_conn *c, fg_server *srv, const fg_admin_request *req,
                                    const char *peer);

#endif  // FEDGATE_GATEWAY_ADMIN_ACTIONS_H
