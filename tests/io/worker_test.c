// worker_test.c: the runtime as a whole: options, cross-worker messages,
// TLS echo across workers with 5,000 concurrent connections (the runtime
// is both server and client), shutdown under load.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/conn.h"
#include "io/listener.h"
#include "io/worker.h"
#include "tests/io/testnet.h"

static void test_options_parse_workers(void **state) {
  fg_worker_options o;
  fg_worker_options_init(&o);
  char *argv[] = {"run",       "--workers", "3",       "--workers=5", "--pin-workers",
                  "--workers", "0",         "--other", "--workers"};
  int argc = 9, i = 1;
  const char *err = NULL;
  assert_int_equal(fg_worker_options_parse(&o, argc, argv, &i, &err), FG_WORKER_OPT_USED);
  assert_int_equal(o.workers, 3);
  assert_int_equal(i, 3);
  assert_int_equal(fg_worker_options_parse(&o, argc, argv, &i, &err), FG_WORKER_OPT_USED);
  assert_int_equal(o.workers, 5);
  assert_int_equal(fg_worker_options_parse(&o, argc, argv, &i, &err), FG_WORKER_OPT_USED);
  assert_int_equal(o.pin, 1);
  assert_int_equal(fg_worker_options_parse(&o, argc, argv, &i, &err), FG_WORKER_OPT_ERROR);
  assert_non_null(err);
  i = 7;
  assert_int_equal(fg_worker_options_parse(&o, argc, argv, &i, &err), FG_WORKER_OPT_NOT_MINE);
  i = 8;
  assert_int_equal(fg_worker_options_parse(&o, argc, argv, &i, &err), FG_WORKER_OPT_ERROR);
  assert_int_equal(o.workers, 5);
}

static void test_ring_uses_single_issuer_or_fallback(void **state) {
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = 2;
  fg_runtime *rt = fg_runtime_new(&o);
  assert_non_null(rt);
  assert_int_equal(fg_runtime_num_workers(rt), 2);
  fg_worker_stats st;
  fg_worker_stats_get(fg_runtime_worker(rt, 0), &st);
  print_message("ring flags: 0x%x\n", st.ring_flags);
  fg_runtime_free(rt);
}

// --- messages: a token passed around a ring of workers ---------------------

typedef struct hop_msg {
  fg_msg m;
  int hops_left;
  atomic_long *done;
  unsigned last;
  int ok;
} hop_msg;

static void hop_fn(fg_worker *w, fg_msg *m) {
  hop_msg *h = (hop_msg *)m;
  if (fg_worker_current() != w) h->ok = 0;
  h->last = fg_worker_index(w);
  if (--h->hops_left <= 0) {
    atomic_fetch_add(h->done, h->ok ? 1 : 1000000);
    free(h);
    return;
  }
  fg_runtime *rt = fg_worker_runtime(w);
  fg_worker_post(fg_runtime_worker(rt, (fg_worker_index(w) + 1) % fg_runtime_num_workers(rt)),
                 &h->m);
}

static void test_cross_worker_messages_msg_ring(void **state) {
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = 3;
  fg_runtime *rt = fg_runtime_new(&o);
  atomic_long done = 0;
  enum { kTokens = 200, kHops = 300 };
  for (int i = 0; i < kTokens; i++) {
    hop_msg *h = calloc(1, sizeof(*h));
    h->m.fn = hop_fn;
    h->hops_left = kHops;
    h->done = &done;
    h->ok = 1;
    fg_worker_post(fg_runtime_worker(rt, (unsigned)i % 3), &h->m);  // eventfd wake-up
  }
  assert_true(tn_wait_until(&done, kTokens, 20000));
  assert_int_equal(atomic_load(&done), kTokens);
  fg_runtime_shutdown(rt, 0);
  fg_worker_stats st;
  fg_runtime_stats(rt, &st);
  assert_true(st.msgs >= (uint64_t)kTokens * kHops);
  fg_runtime_free(rt);
}

// --- timers on a worker --------------------------------------------------

typedef struct timer_msg {
  fg_msg m;
  fg_timer t[3];
  uint64_t start;
  atomic_long *fired;
  int order[3], n;
} timer_msg;

static void timer_cb(fg_timer *t, void *arg) {
  timer_msg *tm = arg;
  tm->order[tm->n++] = (int)(t - tm->t);
  atomic_fetch_add(tm->fired, 1);
}

static void timer_setup(fg_worker *w, fg_msg *m) {
  timer_msg *tm = (timer_msg *)m;
  for (int i = 0; i < 3; i++) fg_timer_init(&tm->t[i], timer_cb, tm);
  fg_worker_timer_arm(w, &tm->t[0], 60);
  fg_worker_timer_arm(w, &tm->t[1], 20);
  fg_worker_timer_arm(w, &tm->t[2], 40);
  fg_worker_timer_cancel(w, &tm->t[2]);
}

static void test_worker_timers_fire_in_order(void **state) {
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = 1;
  fg_runtime *rt = fg_runtime_new(&o);
  atomic_long fired = 0;
  timer_msg tm = {0};
  tm.m.fn = timer_setup;
  tm.fired = &fired;
  fg_worker_post(fg_runtime_worker(rt, 0), &tm.m);
  assert_true(tn_wait_until(&fired, 2, 5000));
  struct timespec ts = {0, 100 * 1000 * 1000};
  nanosleep(&ts, NULL);
  fg_runtime_free(rt);
  assert_int_equal(atomic_load(&fired), 2);
  assert_int_equal(tm.order[0], 1);
  assert_int_equal(tm.order[1], 0);
}

// --- TLS echo at scale -----------------------------------------------------

#define MSG_LEN 64

typedef struct scale_state {
  int port;
  fg_tls_ctx *cctx;
  long target_per_worker;
  atomic_long started, echoed, closed_ok, closed_bad, open_now, open_max;
} scale_state;

static scale_state g_scale;

typedef struct client {
  uint8_t sent[MSG_LEN];
  size_t got;
  int done;
} client;

static void launch(fg_worker *w, int n);

static void cl_open(fg_conn *c) {
  client *cl = fg_conn_arg(c);
  for (int i = 0; i < MSG_LEN; i++) cl->sent[i] = (uint8_t)(fg_conn_id(c) * 31 + (uint64_t)i);
  fg_conn_send(c, cl->sent, MSG_LEN);
  long now = atomic_fetch_add(&g_scale.open_now, 1) + 1;
  long max = atomic_load(&g_scale.open_max);
  while (now > max && !atomic_compare_exchange_weak(&g_scale.open_max, &max, now)) {
  }
}

static size_t cl_data(fg_conn *c, const uint8_t *data, size_t len) {
  client *cl = fg_conn_arg(c);
  if (cl->got + len > MSG_LEN || memcmp(cl->sent + cl->got, data, len) != 0) {
    fg_conn_abort(c, FG_CLOSE_LOCAL);
    return len;
  }
  cl->got += len;
  if (cl->got == MSG_LEN && !cl->done) {
    cl->done = 1;
    atomic_fetch_add(&g_scale.echoed, 1);
    launch(fg_conn_worker(c), 1);  // keep a bounded number of handshakes in flight
  }
  return len;
}

static void cl_close(fg_conn *c, enum fg_close_reason reason) {
  client *cl = fg_conn_arg(c);
  if (cl->done && (reason == FG_CLOSE_LOCAL || reason == FG_CLOSE_SHUTDOWN)) {
    atomic_fetch_add(&g_scale.closed_ok, 1);
  } else {
    atomic_fetch_add(&g_scale.closed_bad, 1);
    if (!cl->done) launch(fg_conn_worker(c), 1);
  }
  atomic_fetch_sub(&g_scale.open_now, 1);
  free(cl);
}

static const fg_conn_handler client_handler = {
    .on_open = cl_open,
    .on_data = cl_data,
    .on_close = cl_close,
};

static __thread long tl_launched;

static void launch(fg_worker *w, int n) {
  struct sockaddr_in sin = {0};
  sin.sin_family = AF_INET;
  sin.sin_port = htons((uint16_t)g_scale.port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < n && tl_launched < g_scale.target_per_worker; i++) {
    client *cl = calloc(1, sizeof(*cl));
    fg_connect_config cc = {0};
    cc.addr = (struct sockaddr *)&sin;
    cc.addr_len = sizeof(sin);
    cc.handler = &client_handler;
    cc.arg = cl;
    cc.tls = g_scale.cctx;
    cc.server_name = "example.net";
    if (fg_conn_connect(w, &cc) == NULL) {
      free(cl);
      continue;
    }
    tl_launched++;
    atomic_fetch_add(&g_scale.started, 1);
  }
}

typedef struct launch_msg {
  fg_msg m;
  int n;
} launch_msg;

static void launch_fn(fg_worker *w, fg_msg *m) {
  tl_launched = 0;
  launch(w, ((launch_msg *)m)->n);
  free(m);
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  }
  if (f != NULL) fclose(f);
  return kib;
}

static long env_long(const char *name, long dflt) {
  const char *v = getenv(name);
  return v ? atol(v) : dflt;
}

// 5,000 concurrent TLS connections echoed across two workers. The clients
// keep their connection open once echoed, so all of them are open at once;
// then the runtime shuts down under that load.
static void test_tls_echo_5000_concurrent_across_workers(void **state) {
  long nofile = tn_raise_nofile();
  long total = env_long("FG_SCALE_CONNS", 5000);
  if (nofile < 2 * total + 100) {
    print_message("RLIMIT_NOFILE %ld too small for %ld connections\n", nofile, total);
    skip();
  }
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = 2;
  o.ring_entries = 4096;
  fg_runtime *rt = fg_runtime_new(&o);
  assert_non_null(rt);
  tn_echo_reset();
  fg_tls_ctx *sctx = tn_server_ctx("example.net", 1, 0);
  memset(&g_scale, 0, sizeof(g_scale));
  g_scale.cctx = tn_client_ctx(1, 0);
  g_scale.target_per_worker = total / 2;
  fg_listener_config lc = {0};
  lc.tls = sctx;
  lc.handler = &tn_echo_handler;
  uint16_t port;
  assert_true(fg_runtime_listen(rt, &lc, &port));
  g_scale.port = port;
  long rss0 = rss_kib();
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (unsigned i = 0; i < 2; i++) {
    launch_msg *m = calloc(1, sizeof(*m));
    m->m.fn = launch_fn;
    m->n = 256;
    fg_worker_post(fg_runtime_worker(rt, i), &m->m);
  }
  int reached = tn_wait_until(&g_scale.echoed, total, 50000);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  print_message("%ld TLS connections echoed in %.2f s (max open client side %ld, failures %ld)\n",
                atomic_load(&g_scale.echoed), secs, atomic_load(&g_scale.open_max),
                atomic_load(&g_scale.closed_bad));
  long rss1 = rss_kib();
  print_message("RSS grew by %ld KiB: %.1f KiB per connection (both ends, TLS state included)\n",
                rss1 - rss0, (double)(rss1 - rss0) / (double)(2 * total));
  assert_true(reached);
  assert_int_equal(atomic_load(&g_scale.open_max), total);
  assert_int_equal(atomic_load(&tn_echo_open), total);  // server side handshakes
  assert_int_equal(atomic_load(&g_scale.closed_bad), 0);
  // Shutdown with 2 x |total| connections open.
  fg_runtime_shutdown(rt, 2000);
  fg_worker_stats st;
  fg_runtime_stats(rt, &st);
  assert_int_equal(st.conns_plain + st.conns_tls + st.conns_ktls, 0);
  assert_int_equal(st.accepted, (uint64_t)total);
  assert_int_equal(st.connected, (uint64_t)total);
  assert_int_equal(st.handshakes, (uint64_t)(2 * total));
  assert_int_equal(atomic_load(&g_scale.closed_ok), total);
  assert_int_equal(atomic_load(&tn_echo_closed), total);
  fg_runtime_free(rt);
  fg_tls_ctx_free(sctx);
  fg_tls_ctx_free(g_scale.cctx);
}

// --- shutdown while data is flowing ------------------------------------------

static atomic_long g_pump_open, g_pump_closed;

static void pump_more(fg_conn *c) {
  static uint8_t blob[8192];
  while (!fg_conn_write_blocked(c)) {
    if (!fg_conn_send(c, blob, sizeof(blob))) return;
  }
}

static void pump_open(fg_conn *c) {
  atomic_fetch_add(&g_pump_open, 1);
  pump_more(c);
}

static size_t pump_data(fg_conn *c, const uint8_t *d, size_t n) {
  return n;  // discard the echo
}

static void pump_close(fg_conn *c, enum fg_close_reason r) {
  atomic_fetch_add(&g_pump_closed, 1);
}

static const fg_conn_handler pump_handler = {
    .on_open = pump_open,
    .on_data = pump_data,
    .on_drain = pump_more,
    .on_close = pump_close,
};

typedef struct pump_msg {
  fg_msg m;
  uint16_t port;
  int n;
  fg_tls_ctx *cctx;
} pump_msg;

static void pump_launch(fg_worker *w, fg_msg *m) {
  pump_msg *p = (pump_msg *)m;
  struct sockaddr_in sin = {0};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(p->port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < p->n; i++) {
    fg_connect_config cc = {0};
    cc.addr = (struct sockaddr *)&sin;
    cc.addr_len = sizeof(sin);
    cc.handler = &pump_handler;
    cc.tls = p->cctx;
    cc.server_name = "example.net";
    fg_conn_connect(w, &cc);
  }
  free(p);
}

static void test_shutdown_under_load(void **state) {
  tn_raise_nofile();
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = 2;
  fg_runtime *rt = fg_runtime_new(&o);
  tn_echo_reset();
  atomic_store(&g_pump_open, 0);
  atomic_store(&g_pump_closed, 0);
  fg_tls_ctx *sctx = tn_server_ctx("example.net", 1, 0);
  fg_tls_ctx *cctx = tn_client_ctx(1, 0);
  fg_listener_config lc = {0};
  lc.tls = sctx;
  lc.handler = &tn_echo_handler;
  uint16_t port;
  assert_true(fg_runtime_listen(rt, &lc, &port));
  for (unsigned i = 0; i < 2; i++) {
    pump_msg *p = calloc(1, sizeof(*p));
    p->m.fn = pump_launch;
    p->port = port;
    p->n = 100;
    p->cctx = cctx;
    fg_worker_post(fg_runtime_worker(rt, i), &p->m);
  }
  assert_true(tn_wait_until(&g_pump_open, 200, 20000));
  assert_true(tn_wait_until(&tn_echo_bytes, 50L << 20, 30000));  // data is flowing
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  fg_runtime_shutdown(rt, 300);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  print_message("shutdown with 400 busy connections took %.3f s\n", secs);
  assert_int_equal(atomic_load(&g_pump_closed), 200);
  fg_worker_stats st;
  fg_runtime_stats(rt, &st);
  assert_int_equal(st.accepted, 200);
  assert_int_equal(atomic_load(&tn_echo_closed), 200);  // every server side closed too
  assert_int_equal(st.conns_plain + st.conns_tls + st.conns_ktls, 0);
  assert_int_equal(st.out_bytes_queued, 0);
  fg_runtime_free(rt);
  fg_tls_ctx_free(sctx);
  fg_tls_ctx_free(cctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_options_parse_workers),
      cmocka_unit_test(test_ring_uses_single_issuer_or_fallback),
      cmocka_unit_test(test_cross_worker_messages_msg_ring),
      cmocka_unit_test(test_worker_timers_fire_in_order),
      cmocka_unit_test(test_tls_echo_5000_concurrent_across_workers),
      cmocka_unit_test(test_shutdown_under_load),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
