// admin_actions.h: the admin endpoint's requests that change the running
// gateway: POST /reload, POST /domains/add, POST /domains/remove
// (docs/reload.md). Parameters come as a query string or an
// application/x-www-form-urlencoded body: /reload takes an optional
// path=FILE; /domains/add domain=, backend=, optional cert= and key= (both
// absolute); /domains/remove domain=. Each runs on a thread of its own (a
// reload waits for every worker) and answers 200 with the new generation,
// 409 when the change needs a restart, 422 when it is invalid, each with
// the diagnostics.
#ifndef FEDGATE_GATEWAY_SERVER_ADMIN_ACTIONS_H
#define FEDGATE_GATEWAY_SERVER_ADMIN_ACTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/server/server.h"
#include "io/conn.h"

// fg_admin_action handles the POST request starting at |data| on admin
// connection |c|. It returns 0 while the request is incomplete (the runtime
// offers more bytes later), else |len| (all consumed).
size_t fg_admin_action(fg_conn *c, fg_server *srv, const uint8_t *data, size_t len);

// fg_admin_action_pending says whether the connection argument |arg| is an
// action waiting for its answer (its connection ignores further bytes).
int fg_admin_action_pending(const void *arg);

// fg_admin_action_closed tells a waiting action that its connection closed.
void fg_admin_action_closed(fg_conn *c);

#endif  // FEDGATE_GATEWAY_SERVER_ADMIN_ACTIONS_H
