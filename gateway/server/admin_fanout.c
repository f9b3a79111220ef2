// admin_fanout.c: a request posted to every worker by message
// (io/worker.h), counted down atomically; the last worker hands the result
// to the admin connection's worker (gateway/server/admin_pending.h).
#include "gateway/server/admin_fanout.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "gateway/server/admin_pending.h"
#include "gateway/server/admin_reply.h"

typedef struct fanout {
  fg_admin_pending *pending;
  fg_fanout_each each;
  fg_fanout_done done;
  void *arg;
  pthread_mutex_t lock;
  fg_text text;
  _Atomic size_t total;
  _Atomic unsigned left;  // workers that have not run |each| yet
} fanout;

typedef struct fanout_msg {
  fg_msg msg;
  fanout *f;
  fg_server *srv;
} fanout_msg;

static void finish(fg_conn *c, fg_server *srv, void *arg) {
  fanout *f = arg;
  f->done(c, srv, f->arg, atomic_load(&f->total), &f->text);
  pthread_mutex_destroy(&f->lock);
  free(f->text.data);
  free(f->arg);
  free(f);
}

static void run_each(fg_worker *w, fg_msg *m) {
  fanout_msg *fm = (fanout_msg *)m;
  fanout *f = fm->f;
  fg_text mine = {0};
  atomic_fetch_add(&f->total, f->each(fm->srv, w, f->arg, &mine));
  if (mine.len) {
    pthread_mutex_lock(&f->lock);
    fg_text_printf(&f->text, "%.*s", (int)mine.len, mine.data);
    pthread_mutex_unlock(&f->lock);
  }
  free(mine.data);
  free(fm);
  if (atomic_fetch_sub(&f->left, 1) == 1) fg_admin_pending_answer(f->pending, finish, f);
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
  if (ok) f->pending = fg_admin_pending_new(c, srv);  // answers 503 itself on failure
  if (!ok || f->pending == NULL) {
    for (unsigned i = 0; msgs != NULL && i < n; i++) free(msgs[i]);
    free(msgs);
    if (!ok) fg_admin_reply(c, "503 Service Unavailable", "error: out of memory\n", 21);
    free(f);
    free(arg);
    return 0;
  }
  f->each = each;
  f->done = done;
  f->arg = arg;
  pthread_mutex_init(&f->lock, NULL);
  atomic_store(&f->left, n);
  for (unsigned i = 0; i < n; i++) {
    msgs[i]->msg.fn = run_each;
    msgs[i]->f = f;
    msgs[i]->srv = srv;
    fg_worker_post(fg_runtime_worker(srv->rt, i), &msgs[i]->msg);
  }
  free(msgs);
  return 1;
}
