// admin_fanout.h: one admin request answered by every worker. Each worker
// runs a function on its own state (never another worker's), the results
// are gathered, and the last worker hands them to the worker owning the
// admin connection, which answers. Used by GET /streams and the actions
// that touch streams (close a stream, drain a backend).
#ifndef FEDGATE_GATEWAY_ADMIN_FANOUT_H
#define FEDGATE_GATEWAY_ADMIN_FANOUT_H

#include <stddef.h>

#include "gateway/server/server_internal.h"
#include "gateway/server/text.h"
#include "io/conn.h"

// fg_fanout_each runs on worker |w|: it appends its lines to |out| and
// returns a count that is summed over the workers (streams found, links
// closed, ...).
typedef size_t (*fg_fanout_each)(fg_server *srv, fg_worker *w, void *arg, fg_text *out);

// fg_fanout_done runs on the worker owning |c| once every worker has run:
// |total| is the sum of their counts, |text| their lines. |c| is NULL when
// the client went away (the work was done all the same). It must answer on
// |c| when it is not NULL.
typedef void (*fg_fanout_done)(fg_conn *c, fg_server *srv, void *arg, size_t total,
                               const fg_text *text);

// fg_admin_fanout_start runs |each| on every worker, then |done|. |arg|
// (may be NULL) is passed to both and released with free() after |done|.
// Meanwhile |c| waits (gateway/server/admin_pending.h). It returns 1, or 0
// when out of memory (|c| has been answered with 503, |arg| freed).
int fg_admin_fanout_start(fg_conn *c, fg_server *srv, fg_fanout_each each, fg_fanout_done done,
                          void *arg);

#endif  // FEDGATE_GATEWAY_ADMIN_FANOUT_H
