// block_watch.c: the per-worker timer that carries block list changes to
// open streams and links.
#include "gateway/server/block_watch.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "gateway/server/blocks.h"
#include "gateway/server/inbound.h"
#include "gateway/server/link_admin.h"

// kBlockWatchMs: how often a worker looks; a block reaches open streams
// within this time plus a scan.
enum { kBlockWatchMs = 250 };

static int link_refused(void *arg, const char *domain) {
  return fg_blocks_domain_refused(arg, domain, NULL, 0);
}

static void watch_tick(fg_timer *t, void *arg) {
  (void)t;
  worker_state *ws = arg;
  fg_server *srv = ws->block_watch.srv;
  if (atomic_load(&srv->stopping)) return;
  uint64_t g = fg_blocks_generation(srv->blocks);
  if (g != ws->block_watch.generation) {
    ws->block_watch.generation = g;
    fg_inbound_close_refused(ws, srv->blocks);
    fg_link_close_refused(ws, link_refused, srv->blocks);
  }
  fg_worker_timer_arm(ws->block_watch.w, &ws->block_watch.tick, kBlockWatchMs);
}

typedef struct start_msg {
  fg_msg msg;
  fg_server *srv;
} start_msg;

static void start_on_worker(fg_worker *w, fg_msg *m) {
  start_msg *sm = (start_msg *)m;
  worker_state *ws = fg_server_worker_state(sm->srv, w);
  ws->block_watch.srv = sm->srv;
  ws->block_watch.w = w;
  // Streams opened before this message were checked when they named their
  // domain; from here on the generation tells what changed.
  ws->block_watch.generation = fg_blocks_generation(sm->srv->blocks);
  fg_timer_init(&ws->block_watch.tick, watch_tick, ws);
  fg_worker_timer_arm(w, &ws->block_watch.tick, kBlockWatchMs);
  free(sm);
}

int fg_block_watch_start(fg_server *srv) {
  for (unsigned i = 0; i < srv->num_workers; i++) {
    start_msg *sm = calloc(1, sizeof(*sm));
    if (sm == NULL) return 0;
    sm->msg.fn = start_on_worker;
    sm->srv = srv;
    fg_worker_post(fg_runtime_worker(srv->rt, i), &sm->msg);
  }
  return 1;
}
