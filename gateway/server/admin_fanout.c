// admin_fanout.c: a request posted to every worker by message
// (io/worker.h), counted down atomically; the last worker posts the result
// back to the admin connection's worker.
#include "gateway/server/admin_fanout.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "gateway/server/admin_http.h"

typedef struct fanout {
  uint32_t magic;     // kFanoutMagic: the admin connection's argument meanwhile
  fg_conn *conn;      // NULL once the client went away
  fg_worker *origin;  // the worker owning |conn|
  fg_server *srv;
  fg_fanout_each each;
  fg_fanout_done done;
  void *arg;
  pthread_mutex_t lock;
  fg_text text;
  _Atomic size_t total;
  _Atomic unsigned pending;
} fanout;

static const uint32_t kFanoutMagic = 0x57ea3500;

typedef struct fanout_msg {
  fg_msg msg;
  fanout *f;
} fanout_msg;

static void finish(fg_worker *w, fg_msg *m) {
  (void)w;
  fanout_msg *fm = (fanout_msg *)m;
  fanout *f = fm->f;
  if (f->conn != NULL) fg_conn_set_arg(f->conn, &f->srv->listener_arg);
  f->done(f->conn, f->srv, f->arg, atomic_load(&f->total), &f->text);
  pthread_mutex_destroy(&f->lock);
  free(f->text.data);
  free(f->arg);
  free(f);
  free(fm);
}

// last_done hands |fm| back to the origin when it carried the last part.
static void last_done(fanout_msg *fm) {
  fanout *f = fm->f;
  if (atomic_fetch_sub(&f->pending, 1) != 1) {
    free(fm);
    return;
  }
  fm->msg.fn = finish;
  fg_worker_post(f->origin, &fm->msg);
}

static void run_each(fg_worker *w, fg_msg *m) {
  fanout_msg *fm = (fanout_msg *)m;
  fanout *f = fm->f;
  fg_text mine = {0};
  atomic_fetch_add(&f->total, f->each(f->srv, w, f->arg, &mine));
  if (mine.len) {
    pthread_mutex_lock(&f->lock);
    fg_text_printf(&f->text, "%.*s", (int)mine.len, mine.data);
    pthread_mutex_unlock(&f->lock);
  }
  free(mine.data);
  last_done(fm);
}

int fg_admin_fanout_start(fg_conn *c, fg_server *srv, fg_fanout_each each, fg_fanout_done done,
                          void *arg) {
  unsigned n = srv->num_workers;
  fanout *f = calloc(1, sizeof(*f));
  fanout_msg **msgs = calloc(n, sizeof(*msgs));
  int ok = f != NULL && msgs != NULL;
  for (unsigned i = 0; ok && i < n; i++) {
    msgs[i] = calloc(1, sizeof(**msgs));
    ok = msgs[i] != NULL;
  }
  if (!ok) {
    for (unsigned i = 0; msgs != NULL && i < n; i++) free(msgs[i]);
    free(msgs);
    free(f);
    free(arg);
    fg_admin_reply(c, "503 Service Unavailable", "error: out of memory\n", 21);
    return 0;
  }
  f->magic = kFanoutMagic;
  f->conn = c;
  f->origin = fg_conn_worker(c);
  f->srv = srv;
  f->each = each;
  f->done = done;
  f->arg = arg;
  pthread_mutex_init(&f->lock, NULL);
  atomic_store(&f->pending, n);
  fg_conn_set_arg(c, f);
  for (unsigned i = 0; i < n; i++) {
    msgs[i]->msg.fn = run_each;
    msgs[i]->f = f;
    fg_worker_post(fg_runtime_worker(srv->rt, i), &msgs[i]->msg);
  }
  free(msgs);
  return 1;
}

int fg_admin_fanout_pending(const fg_conn *c) {
  const fanout *f = fg_conn_arg(c);
  return f != NULL && f->magic == kFanoutMagic;
}

void fg_admin_fanout_detach(fg_conn *c) {
  fanout *f = fg_conn_arg(c);
  if (f != NULL && f->magic == kFanoutMagic) f->conn = NULL;
}
