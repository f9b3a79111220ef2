// drain.c: the graceful drain (drain.h). The main thread closes the
// listeners and posts one message per worker; each worker then looks at its
// streams and links every kDrainTickMs and closes what became idle.
#include "gateway/server/drain.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "gateway/server/inbound.h"
#include "gateway/server/link_admin.h"
#include "gateway/server/log.h"
#include "gateway/server/server_internal.h"
#include "io/listener.h"

// kDrainTickMs: how often a draining worker looks for streams and links that
// became idle (a few dozen looks per second cost nothing next to the traffic).
enum { kDrainTickMs = 20 };

typedef struct drain_msg {
  fg_msg msg;
  fg_server *srv;
  _Atomic size_t *bounced;
  _Atomic unsigned *pending;
} drain_msg;

// drain_step closes what became idle on one worker: inbound streams first;
// links only once no inbound stream is left on the worker (until then a
// stanza may still need them).
static void drain_step(fg_timer *t, void *arg) {
  (void)t;
  fg_server *srv = arg;
  fg_worker *w = fg_worker_current();
  if (w == NULL || atomic_load(&srv->stopping)) return;
  worker_state *ws = fg_server_worker_state(srv, w);
  size_t in = fg_inbound_drain(ws);
  size_t links = in > 0 ? ws->live_links : fg_link_drain(ws);
  atomic_store(&ws->drain_left, in + links);
  fg_worker_timer_arm(w, &ws->drain_tick, kDrainTickMs);
}

static void drain_begin_on_worker(fg_worker *w, fg_msg *m) {
  drain_msg *dm = (drain_msg *)m;
  worker_state *ws = fg_server_worker_state(dm->srv, w);
  fg_timer_init(&ws->drain_tick, drain_step, dm->srv);
  drain_step(&ws->drain_tick, dm->srv);
  free(dm);
}

int fg_server_draining(const fg_server *s) {
  return atomic_load(&((fg_server *)s)->draining);
}

void fg_drain_start(fg_server *s) {
  if (s->rt == NULL || atomic_exchange(&s->draining, 1)) return;
  fg_metrics_inc(&s->metrics, FG_M_DRAINS_STARTED);
  // Every listener that brings work stops at once; admin stays for /ready.
  static const fg_listener_id kWork[] = {FG_LISTENER_S2S, FG_LISTENER_S2S_TLS,
                                         FG_LISTENER_INTERNAL};
  for (size_t i = 0; i < sizeof(kWork) / sizeof(kWork[0]); i++) {
    if (s->ports[kWork[i]] != 0) fg_runtime_unlisten(s->rt, s->ports[kWork[i]]);
  }
  for (unsigned i = 0; i < s->num_workers; i++) {
    atomic_store(&s->workers[i].drain_left, SIZE_MAX);  // until the worker's first look
    drain_msg *dm = calloc(1, sizeof(*dm));
    if (dm == NULL) {
      atomic_store(&s->workers[i].drain_left, 0);  // that worker closes at the end instead
      continue;
    }
    dm->msg.fn = drain_begin_on_worker;
    dm->srv = s;
    fg_worker_post(fg_runtime_worker(s->rt, i), &dm->msg);
  }
}

size_t fg_drain_left(fg_server *s) {
  size_t left = 0;
  for (unsigned i = 0; i < s->num_workers; i++) {
    size_t n = atomic_load(&s->workers[i].drain_left);
    if (n == SIZE_MAX) return SIZE_MAX;
    left += n;
  }
  return left;
}

static void bounce_on_worker(fg_worker *w, fg_msg *m) {
  drain_msg *dm = (drain_msg *)m;
  size_t n = fg_link_bounce_held(fg_server_worker_state(dm->srv, w));
  atomic_fetch_add(dm->bounced, n);
  atomic_fetch_sub(dm->pending, 1);
  free(dm);
}

size_t fg_drain_bounce_held(fg_server *s) {
  if (s->rt == NULL || atomic_load(&s->stopping)) return 0;
  // On the heap: a worker that answers late must not write into a stack
  // frame that is gone.
  struct {
    _Atomic size_t bounced;
    _Atomic unsigned pending;
  } *st = calloc(1, sizeof(*st));
  if (st == NULL) return 0;
  atomic_store(&st->pending, s->num_workers);
  for (unsigned i = 0; i < s->num_workers; i++) {
    drain_msg *dm = calloc(1, sizeof(*dm));
    if (dm == NULL) {
      atomic_fetch_sub(&st->pending, 1);
      continue;
    }
    dm->msg.fn = bounce_on_worker;
    dm->srv = s;
    dm->bounced = &st->bounced;
    dm->pending = &st->pending;
    fg_worker_post(fg_runtime_worker(s->rt, i), &dm->msg);
  }
  // A worker stuck for a whole second is not waited for (the stop that
  // follows bounces what it holds as undeliverable, counted).
  for (int i = 0; i < 1000 && atomic_load(&st->pending) > 0; i++) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  size_t n = atomic_load(&st->bounced);
  if (atomic_load(&st->pending) == 0) free(st);  // else leaked on purpose: see above
  return n;
}
