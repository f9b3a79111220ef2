// bidi_park.c: stanzas written back on a parked bidirectional stream,
// watched until its resume window passes.
#include "gateway/server/bidi_park.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "gateway/server/bidi_resend.h"
#include "gateway/server/log.h"
#include "gateway/server/sm_registry.h"

// kSlackMs: a window is judged this long after it closed, so that a
// resumption in its last moment is seen.
enum { kSlackMs = 100 };

struct fg_bidi_park_watch {
  struct fg_bidi_park_watch *prev, *next;  // in worker_state.bidi_parks
  fg_timer timer;
  fg_server *srv;
  fg_worker *w;
  char stream_id[64];
  char sm_id[FG_SM_ID_MAX + 1];
};

static uint64_t now_ms(void) {
  return fg_clock_ns() / 1000000;
}

static void unwatch(worker_state *ws, struct fg_bidi_park_watch *pw) {
  if (pw->prev) pw->prev->next = pw->next;
  if (pw->next) pw->next->prev = pw->prev;
  if (ws->bidi_parks == pw) ws->bidi_parks = pw->next;
}

static void window_passed(fg_timer *t, void *arg) {
  (void)t;
  struct fg_bidi_park_watch *pw = arg;
  uint64_t wait_ms = 0;
  fg_sm_item *items =
      fg_sm_registry_take_expired(pw->srv->sm_registry, pw->sm_id, now_ms(), &wait_ms);
  if (wait_ms > 0) {  // parked again since: its new window is watched too
    fg_worker_timer_arm(pw->w, &pw->timer, wait_ms + kSlackMs);
    return;
  }
  unwatch(fg_server_worker_state(pw->srv, pw->w), pw);
  if (items != NULL) {
    fg_log(FG_LOG_SEV_INFO, pw->stream_id, NULL,
           "stream %s not resumed within stream_management.resume_timeout: what it wrote back "
           "unacknowledged goes out another way",
           pw->sm_id);
    fg_bidi_resend(pw->srv, pw->w, pw->stream_id, items);
  }
  free(pw);
}

int fg_bidi_park(fg_server *srv, fg_worker *w, const char *stream_id, const char *sm_id, uint32_t h,
                 fg_sm_item *items, uint32_t acked) {
  // A stopping gateway resumes nothing: the caller sends them another way.
  if (srv->sm_registry == NULL || atomic_load(&srv->stopping)) return 0;
  struct fg_bidi_park_watch *pw = calloc(1, sizeof(*pw));
  if (pw == NULL) return 0;
  if (!fg_sm_registry_park_sent_back(srv->sm_registry, sm_id, h, items, acked, now_ms())) {
    free(pw);
    return 0;
  }
  pw->srv = srv;
  pw->w = w;
  snprintf(pw->stream_id, sizeof(pw->stream_id), "%s", stream_id);
  snprintf(pw->sm_id, sizeof(pw->sm_id), "%s", sm_id);
  worker_state *ws = fg_server_worker_state(srv, w);
  pw->next = ws->bidi_parks;
  if (pw->next) pw->next->prev = pw;
  ws->bidi_parks = pw;
  fg_timer_init(&pw->timer, window_passed, pw);
  uint64_t window_ms = (uint64_t)fg_server_snapshot(srv)->cfg->sm.resume_timeout_s * 1000;
  fg_worker_timer_arm(w, &pw->timer, window_ms + kSlackMs);
  return 1;
}

void fg_bidi_park_shutdown(worker_state *ws) {
  for (struct fg_bidi_park_watch *pw = ws->bidi_parks, *next; pw != NULL; pw = next) {
    next = pw->next;
    fg_worker_timer_cancel(pw->w, &pw->timer);
    // Taken whatever the window: the gateway stops and nothing resumes.
    uint64_t wait_ms;
    fg_sm_item *items =
        fg_sm_registry_take_expired(pw->srv->sm_registry, pw->sm_id, UINT64_MAX, &wait_ms);
    size_t n = 0;
    for (fg_sm_item *it = items, *nx; it != NULL; it = nx, n++) {
      nx = it->next;
      free(it);
    }
    if (n > 0) {
      fg_metrics_add(&pw->srv->metrics, FG_M_STANZAS_UNCONFIRMED, n);
      fg_log(FG_LOG_SEV_WARN, pw->stream_id, NULL,
             "shutdown: %zu stanzas written back on stream %s unconfirmed (not resumed)", n,
             pw->sm_id);
    }
    free(pw);
  }
  ws->bidi_parks = NULL;
}
