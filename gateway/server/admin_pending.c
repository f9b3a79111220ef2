// admin_pending.c: the waiting connection's argument is the handle (told
// apart by its magic); the answer travels back as a worker message.
#include "gateway/server/admin_pending.h"

#include <stdlib.h>

#include "gateway/server/admin_reply.h"

struct fg_admin_pending {
  uint32_t magic;     // kPendingMagic: the admin connection's argument meanwhile
  fg_msg msg;         // the answer, posted to |origin|
  fg_conn *conn;      // NULL once the client went away
  fg_worker *origin;  // the worker owning |conn|
  fg_server *srv;
  fg_admin_pending_fn fn;
  void *arg;
};

static const uint32_t kPendingMagic = 0x57ea3500;

fg_admin_pending *fg_admin_pending_new(fg_conn *c, fg_server *srv) {
  fg_admin_pending *p = calloc(1, sizeof(*p));
  if (p == NULL) {
    fg_admin_reply(c, "503 Service Unavailable", "error: out of memory\n", 21);
    return NULL;
  }
  p->magic = kPendingMagic;
  p->conn = c;
  p->origin = fg_conn_worker(c);
  p->srv = srv;
  fg_conn_set_arg(c, p);
  return p;
}

static void deliver(fg_worker *w, fg_msg *m) {
  (void)w;
  fg_admin_pending *p = (fg_admin_pending *)((char *)m - offsetof(fg_admin_pending, msg));
  if (p->conn != NULL) fg_conn_set_arg(p->conn, &p->srv->listener_arg);
  p->fn(p->conn, p->srv, p->arg);
  free(p);
}

void fg_admin_pending_answer(fg_admin_pending *p, fg_admin_pending_fn fn, void *arg) {
  p->fn = fn;
  p->arg = arg;
  p->msg.fn = deliver;
  fg_worker_post(p->origin, &p->msg);
}

int fg_admin_pending_is(const fg_conn *c) {
  const fg_admin_pending *p = fg_conn_arg(c);
  return p != NULL && p->magic == kPendingMagic;
}

void fg_admin_pending_detach(fg_conn *c) {
  fg_admin_pending *p = fg_conn_arg(c);
  if (p != NULL && p->magic == kPendingMagic) p->conn = NULL;
}
