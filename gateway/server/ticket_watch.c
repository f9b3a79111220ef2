// ticket_watch.c: the shared ticket keys of a running gateway (see
// ticket_watch.h).
#include "gateway/server/ticket_watch.h"

#include <stdio.h>
#include <stdlib.h>

#include "gateway/server/log.h"

struct fg_ticket_watch {
  fg_ticket_keys *keys;
  fg_metrics *metrics;
  uint32_t check_ms;
  fg_worker *w;  // worker 0, once started
  fg_msg start_msg;
  fg_timer timer;
};

fg_ticket_watch *fg_ticket_watch_new(const char *path, uint32_t check_ms, fg_metrics *m, char *err,
                                     size_t err_len) {
  fg_ticket_watch *w = calloc(1, sizeof(*w));
  if (w == NULL) {
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  w->keys = fg_ticket_keys_new(path, err, err_len);
  if (w->keys == NULL) {
    free(w);
    return NULL;
  }
  w->metrics = m;
  w->check_ms = check_ms ? check_ms : 5000;
  fg_log(FG_LOG_SEV_INFO, NULL, NULL, "TLS ticket keys: %zu from %s", fg_ticket_keys_count(w->keys),
         path);
  return w;
}

void fg_ticket_watch_free(fg_ticket_watch *w) {
  if (w == NULL) return;
  fg_ticket_keys_free(w->keys);
  free(w);
}

fg_ticket_keys *fg_ticket_watch_keys(fg_ticket_watch *w) {
  return w->keys;
}

// account logs and counts the outcome of a re-read.
static int account(fg_ticket_watch *w, fg_ticket_keys_reload_result r, const char *err) {
  if (r == FG_TICKET_KEYS_RELOADED) {
    fg_metrics_inc(w->metrics, FG_M_TICKET_KEYS_RELOADED);
    fg_log(FG_LOG_SEV_INFO, NULL, NULL, "TLS ticket keys re-read: %zu keys in use",
           fg_ticket_keys_count(w->keys));
  } else if (r == FG_TICKET_KEYS_REFUSED) {
    fg_metrics_inc(w->metrics, FG_M_TICKET_KEYS_REFUSED);
    fg_log(FG_LOG_SEV_ERROR, NULL, NULL,
           "TLS ticket keys not re-read: %s; the %zu keys in use stay", err,
           fg_ticket_keys_count(w->keys));
  }
  fg_ticket_keys_stats st;
  fg_ticket_keys_stats_get(w->keys, &st);
  fg_metrics_set(w->metrics, FG_M_TICKETS_UNKNOWN_KEY, st.unknown_names);
  fg_metrics_set(w->metrics, FG_M_TICKETS_RENEWED, st.renewed);
  return r != FG_TICKET_KEYS_REFUSED;
}

static void on_timer(fg_timer *t, void *arg) {
  fg_ticket_watch *w = arg;
  if (fg_worker_stopping(w->w)) return;
  char err[512] = "";
  account(w, fg_ticket_keys_poll(w->keys, err, sizeof(err)), err);
  fg_worker_timer_arm(w->w, &w->timer, w->check_ms);
}

static void start_on_worker(fg_worker *wk, fg_msg *m) {
  fg_ticket_watch *w = (fg_ticket_watch *)((char *)m - offsetof(fg_ticket_watch, start_msg));
  w->w = wk;
  fg_worker_timer_arm(wk, &w->timer, w->check_ms);
}

void fg_ticket_watch_start(fg_ticket_watch *w, fg_runtime *rt) {
  fg_timer_init(&w->timer, on_timer, w);
  w->start_msg.fn = start_on_worker;
  fg_worker_post(fg_runtime_worker(rt, 0), &w->start_msg);
}

int fg_ticket_watch_reload(fg_ticket_watch *w) {
  char err[512] = "";
  return account(w, fg_ticket_keys_reload(w->keys, err, sizeof(err)), err);
}
