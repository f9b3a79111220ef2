// admin_pending.h: an admin answer that comes later, from another worker or
// thread (a request answered by every worker, an action that runs on a
// thread of its own). Only the worker owning the admin connection touches
// it: the answer is posted back there.
#ifndef FEDGATE_GATEWAY_ADMIN_PENDING_H
#define FEDGATE_GATEWAY_ADMIN_PENDING_H

#include "gateway/server/server_internal.h"
#include "io/conn.h"

typedef struct fg_admin_pending fg_admin_pending;

// fg_admin_pending_fn answers on |c|, on the worker owning it; |c| is NULL
// when the client went away meanwhile (the work is done all the same).
typedef void (*fg_admin_pending_fn)(fg_conn *c, fg_server *srv, void *arg);

// fg_admin_pending_new marks |c| (on its own worker) as waiting for an
// answer: its further input is ignored, its closing noted. It returns the
// handle, or NULL when out of memory (|c| has been answered with 503).
fg_admin_pending *fg_admin_pending_new(fg_conn *c, fg_server *srv);

// fg_admin_pending_answer runs |fn|(conn, srv, |arg|) on the connection's
// worker and frees |p|. Any thread; exactly once per handle.
void fg_admin_pending_answer(fg_admin_pending *p, fg_admin_pending_fn fn, void *arg);

// fg_admin_pending_is returns 1 while |c| waits for an answer.
int fg_admin_pending_is(const fg_conn *c);

// fg_admin_pending_detach notes that |c| is closing (its answer is dropped).
void fg_admin_pending_detach(fg_conn *c);

#endif  // FEDGATE_GATEWAY_ADMIN_PENDING_H
