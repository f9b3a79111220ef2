// link_loss.c: a lost remote link closes that domain's hop streams on every
// worker (see link_loss.h).
#include "gateway/server/link_loss.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/server/inbound.h"
#include "gateway/server/link_admin.h"
#include "gateway/server/log.h"
#include "gateway/server/sm_registry.h"

// kWindowSlackMs: a resume window is judged this long after it closed, so
// that a resumption in its last moment is seen.
enum { kWindowSlackMs = 100 };

typedef struct close_msg {
  fg_msg msg;
  fg_server *srv;
  char remote[FG_DOMAIN_MAX + 1];
} close_msg;

// loss_watch waits for the resume window of a dropped inbound stream.
struct fg_loss_watch {
  struct fg_loss_watch *prev, *next;  // in worker_state.loss_watches
  fg_timer timer;
  fg_server *srv;
  fg_worker *w;
  char remote[FG_DOMAIN_MAX + 1];
  char stream_id[64];
  char sm_id[80];
  char why[96];
};

static void close_on_worker(fg_worker *w, fg_msg *m) {
  close_msg *cm = (close_msg *)m;
  fg_server *srv = cm->srv;
  if (!atomic_load(&srv->stopping)) {
    worker_state *ws = fg_server_worker_state(srv, w);
    size_t n = fg_link_close_hop_of(ws, cm->remote) + fg_inbound_close_hop_to(ws, cm->remote);
    fg_metrics_add(&srv->metrics, FG_M_HOP_STREAMS_CLOSED_ON_LOSS, n);
  }
  free(cm);
}

static void lost(fg_server *srv, const char *remote, const char *stream_id, const char *why) {
  fg_metrics_inc(&srv->metrics, FG_M_REMOTE_LINKS_LOST);
  int closing = fg_server_snapshot(srv)->cfg->internal_hop.close_on_link_loss;
  fg_log(FG_LOG_SEV_WARN, stream_id[0] ? stream_id : NULL, remote, "link with %s lost (%s)%s",
         remote, why, closing ? ": closing its hop streams to the internal servers" : "");
  if (!closing || atomic_load(&srv->stopping)) return;
  for (unsigned i = 0; i < srv->num_workers; i++) {
    close_msg *cm = calloc(1, sizeof(*cm));
    if (cm == NULL) return;  // out of memory: the internal servers learn later
    cm->msg.fn = close_on_worker;
    cm->srv = srv;
    snprintf(cm->remote, sizeof(cm->remote), "%s", remote);
    fg_worker_post(fg_runtime_worker(srv->rt, i), &cm->msg);
  }
}

static void unwatch(worker_state *ws, struct fg_loss_watch *lw) {
  if (lw->prev) lw->prev->next = lw->next;
  if (lw->next) lw->next->prev = lw->prev;
  if (ws->loss_watches == lw) ws->loss_watches = lw->next;
}

static void window_passed(fg_timer *t, void *arg) {
  (void)t;
  struct fg_loss_watch *lw = arg;
  fg_server *srv = lw->srv;
  unwatch(fg_server_worker_state(srv, lw->w), lw);
  if (srv->sm_registry != NULL &&
      !fg_sm_registry_recovered(srv->sm_registry, lw->sm_id, fg_clock_ns() / 1000000)) {
    char why[160];
    snprintf(why, sizeof(why), "%s, not resumed within stream_management.resume_timeout", lw->why);
    lost(srv, lw->remote, lw->stream_id, why);
  }
  free(lw);
}

void fg_link_loss_report(fg_server *srv, fg_worker *w, const char *remote, const char *stream_id,
                         const char *sm_id, const char *why) {
  if (atomic_load(&srv->stopping)) return;
  if (sm_id == NULL || sm_id[0] == 0 || srv->sm_registry == NULL) {
    lost(srv, remote, stream_id ? stream_id : "", why);
    return;
  }
  struct fg_loss_watch *lw = calloc(1, sizeof(*lw));
  if (lw == NULL) {
    lost(srv, remote, stream_id ? stream_id : "", why);
    return;
  }
  lw->srv = srv;
  lw->w = w;
  snprintf(lw->remote, sizeof(lw->remote), "%s", remote);
  snprintf(lw->stream_id, sizeof(lw->stream_id), "%s", stream_id ? stream_id : "");
  snprintf(lw->sm_id, sizeof(lw->sm_id), "%s", sm_id);
  snprintf(lw->why, sizeof(lw->why), "%s", why);
  worker_state *ws = fg_server_worker_state(srv, w);
  lw->next = ws->loss_watches;
  if (lw->next) lw->next->prev = lw;
  ws->loss_watches = lw;
  fg_timer_init(&lw->timer, window_passed, lw);
  uint64_t window_ms = (uint64_t)fg_server_snapshot(srv)->cfg->sm.resume_timeout_s * 1000;
  fg_worker_timer_arm(w, &lw->timer, window_ms + kWindowSlackMs);
}

void fg_link_loss_shutdown(worker_state *ws) {
  for (struct fg_loss_watch *lw = ws->loss_watches, *next; lw != NULL; lw = next) {
    next = lw->next;
    fg_worker_timer_cancel(lw->w, &lw->timer);
    free(lw);
  }
  ws->loss_watches = NULL;
}
