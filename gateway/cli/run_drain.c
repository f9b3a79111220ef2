// run_drain.c: the SIGTERM drain of `fedgate run` (run_drain.h).
#include "gateway/cli/run_drain.h"

#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "gateway/server/drain.h"
#include "gateway/server/log.h"
#include "gateway/server/notify.h"

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void fg_run_drain(fg_server *srv, const sigset_t *signals, unsigned grace_ms) {
  uint64_t t0 = now_ms();
  // The last part of the grace period: first what links still hold is
  // bounced, then the stop flushes what is written and closes.
  uint64_t tail = grace_ms / 4 < 2000 ? grace_ms / 4 : 2000;
  uint64_t bounce_at = t0 + grace_ms - tail, stop_at = t0 + grace_ms - tail / 2;
  fg_notify_stopping();
  fg_drain_start(srv);
  fg_log(FG_LOG_SEV_INFO, NULL, NULL,
         "drain: started (shutdown.grace %u ms): listeners closed, /ready answers 503", grace_ms);
  fg_notify_status("draining");
  const fg_metrics *m = fg_server_metrics(srv);
  size_t left = SIZE_MAX, bounced = 0;
  int bounce_done = 0, second = 0;
  uint64_t status_at = 0;
  for (;;) {
    left = fg_drain_left(srv);
    uint64_t now = now_ms();
    if (left == 0 || now >= stop_at) break;
    if (!bounce_done && now >= bounce_at) {
      bounced = fg_drain_bounce_held(srv);
      bounce_done = 1;
    }
    if (now >= status_at && left != SIZE_MAX) {
      fg_notify_status("draining: %zu streams and links left", left);
      status_at = now + 1000;
    }
    struct timespec wait = {0, 20 * 1000000};
    int sig = sigtimedwait(signals, NULL, &wait);
    if (sig == SIGUSR1) fg_log_reopen();
    if (sig == SIGTERM || sig == SIGINT) {
      fg_log(FG_LOG_SEV_WARN, NULL, NULL, "drain: signal %d again: stopping at once", sig);
      second = 1;
      break;
    }
  }
  unsigned long long took = (unsigned long long)(now_ms() - t0);
  unsigned long long streams = fg_metrics_get(m, FG_M_DRAIN_STREAMS_CLOSED);
  unsigned long long links = fg_metrics_get(m, FG_M_DRAIN_LINKS_CLOSED);
  if (left == 0) {
    fg_log(FG_LOG_SEV_INFO, NULL, NULL,
           "drain: finished in %llu ms: %llu inbound streams and %llu links closed, %zu stanzas "
           "bounced",
           took, streams, links, bounced);
  } else if (!second) {
    fg_log(FG_LOG_SEV_WARN, NULL, NULL,
           "drain: grace period over after %llu ms with %zu streams and links left: closing "
           "them (%llu inbound streams and %llu links closed, %zu stanzas bounced)",
           took, left == SIZE_MAX ? 0 : left, streams, links, bounced);
  }
  fg_notify_status("stopping");
  fg_notify_watchdog_stop();
  // What is left gets the stream error system-shutdown and a short flush;
  // after a second signal the same, at once.
  uint64_t rest = now_ms() - t0 < grace_ms ? grace_ms - (now_ms() - t0) : 0;
  fg_server_stop(srv, second ? 500 : (unsigned)(rest < 2000 ? (rest ? rest : 1) : 2000));
}
