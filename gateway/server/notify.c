// notify.c: sd_notify(3) messages and the watchdog thread (notify.h).
#include "gateway/server/notify.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "gateway/server/log.h"

void fg_notify_ready(void) {
  sd_notify(0, "READY=1");
}

void fg_notify_reloading(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  // systemd 253+ (Type=notify-reload) wants the time to order reloads.
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
}

void fg_notify_stopping(void) {
  sd_notify(0, "STOPPING=1");
}

void fg_notify_status(const char *fmt, ...) {
  char text[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  sd_notifyf(0, "STATUS=%s", text);
}

// --- the watchdog ---

// heartbeat is one message per worker: the worker stamps |answered| with
// the round it belongs to when it runs it.
typedef struct heartbeat {
  fg_msg msg;
  _Atomic uint64_t *answered;
  uint64_t round;
} heartbeat;

static struct {
  pthread_t thread;
  int running;
  fg_runtime *rt;
  uint64_t half_period_us;
  _Atomic int stop;
  _Atomic uint64_t *answered;  // per worker: the last round it answered
  pthread_mutex_t mu;
  pthread_cond_t cv;
} g_wd = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void heartbeat_fn(fg_worker *w, fg_msg *m) {
  (void)w;
  heartbeat *h = (heartbeat *)m;
  atomic_store(h->answered, h->round);
  free(h);
}

static void *watchdog_main(void *arg) {
  (void)arg;
  unsigned n = fg_runtime_num_workers(g_wd.rt);
  uint64_t round = 0;
  int stuck_logged = 0;
  for (;;) {
    // Every worker answered the previous round: they all made progress.
    unsigned late = 0;
    for (unsigned i = 0; i < n; i++) late += atomic_load(&g_wd.answered[i]) != round;
    if (late == 0) {
      sd_notify(0, "WATCHDOG=1");
      stuck_logged = 0;
      round++;
      for (unsigned i = 0; i < n; i++) {
        heartbeat *h = calloc(1, sizeof(*h));
        if (h == NULL) continue;  // that worker looks late next time: no ping, no harm
        h->msg.fn = heartbeat_fn;
        h->answered = &g_wd.answered[i];
        h->round = round;
        fg_worker_post(fg_runtime_worker(g_wd.rt, i), &h->msg);
      }
    } else if (!stuck_logged) {
      fg_log(FG_LOG_SEV_ERROR, NULL, NULL,
             "watchdog: %u worker(s) did not answer within %llu ms: not telling systemd we are "
             "alive",
             late, (unsigned long long)(g_wd.half_period_us / 1000));
      stuck_logged = 1;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    uint64_t ns = (uint64_t)until.tv_nsec + g_wd.half_period_us * 1000ull;
    until.tv_sec += (time_t)(ns / 1000000000ull);
    until.tv_nsec = (long)(ns % 1000000000ull);
    pthread_mutex_lock(&g_wd.mu);
    while (!atomic_load(&g_wd.stop) && pthread_cond_timedwait(&g_wd.cv, &g_wd.mu, &until) == 0) {
    }
    pthread_mutex_unlock(&g_wd.mu);
    if (atomic_load(&g_wd.stop)) return NULL;
  }
}

int fg_notify_watchdog_start(fg_runtime *rt) {
  uint64_t usec = 0;
  // sd_watchdog_enabled reads WATCHDOG_USEC alone: without a socket to tell,
  // a watchdog would be pointless.
  const char *sock = getenv("NOTIFY_SOCKET");
  if (g_wd.running || rt == NULL || sock == NULL || sock[0] == 0 ||
      sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) {
    return 0;
  }
  unsigned n = fg_runtime_num_workers(rt);
  g_wd.answered = calloc(n, sizeof(*g_wd.answered));
  if (g_wd.answered == NULL) return 0;
  g_wd.rt = rt;
  g_wd.half_period_us = usec / 2;
  atomic_store(&g_wd.stop, 0);
  if (pthread_create(&g_wd.thread, NULL, watchdog_main, NULL) != 0) {
    free(g_wd.answered);
    g_wd.answered = NULL;
    return 0;
  }
  g_wd.running = 1;
  fg_log(FG_LOG_SEV_INFO, NULL, NULL, "watchdog: WATCHDOG=1 every %llu ms while the workers answer",
         (unsigned long long)(usec / 2000));
  return 1;
}

void fg_notify_watchdog_stop(void) {
  if (!g_wd.running) return;
  pthread_mutex_lock(&g_wd.mu);
  atomic_store(&g_wd.stop, 1);
  pthread_cond_signal(&g_wd.cv);
  pthread_mutex_unlock(&g_wd.mu);
  pthread_join(g_wd.thread, NULL);
  g_wd.running = 0;
  // Heartbeats still queued point into |answered|: the workers are not
  // joined yet, so it lives until the process ends.
}
