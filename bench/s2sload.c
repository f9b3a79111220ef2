// s2sload: the load generator of the benchmark suite. In one
// process on the project's runtime it plays K remote servers sending over
// authenticated direct-TLS s2s streams to the system under test (SUT), and
// the internal server (the sink) the SUT delivers to; stanza ids carry the
// stream, a sequence number and the send time, so the sink measures
// delivery, loss, duplication, reordering and latency. Modes: relay
// (throughput and latency), churn (session establishments), idle (memory
// per idle authenticated stream). See bench/README.md.
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>

#include "bench/s2sload_core.h"
#include "bench/s2sload_proc.h"

static const char kUsage[] =
    "usage: s2sload MODE --target HOST:PORT|self --sink FLAVOUR HOST:PORT [options]\n"
    "\n"
    "modes:\n"
    "  relay   stanzas through the SUT for --seconds after --warmup; closed loop\n"
    "          (--window in flight per stream) unless --rate; then --drain\n"
    "  churn   connect, TLS (certificates both ways), SASL EXTERNAL, one stanza,\n"
    "          close, --concurrency at a time; establishments/s\n"
    "  idle    open --streams authenticated streams in two waves of half, hold\n"
    "          each --hold s: SUT bytes per idle stream at the margin, the RSS\n"
    "          growth of the second wave over its streams (needs --sut-pid)\n"
    "\n"
    "target and sink:\n"
    "  --target HOST:PORT       the SUT's direct-TLS s2s port (XEP-0368)\n"
    "  --target self            no SUT: the sink terminates TLS itself (the\n"
    "                           generator's own ceiling; sink plain-listen)\n"
    "  --sink s2s-listen HOST:PORT   plaintext s2s receiving server (fedgate's\n"
    "                           internal hop, dialback answered valid)\n"
    "  --sink component HOST:PORT    XEP-0114 component connecting to the SUT\n"
    "  --sink plain-listen HOST:PORT receiving server behind a TLS terminator\n"
    "  --component-secret S     XEP-0114 shared secret\n"
    "  --sink-domain D          the domain stanzas go to (sink.bench.test)\n"
    "  --remotes K              remote domains r1..rK.SUFFIX (4)\n"
    "  --remote-suffix SUFFIX   (bench.test)\n"
    "  --streams-per-remote N   relay streams per remote domain (4)\n"
    "  --pki DIR                DIR/ca.crt, DIR/rN.SUFFIX.crt/.key (fedgate dev-pki);\n"
    "                           without it certificates are minted in memory\n"
    "  --insecure               do not verify the SUT's certificate\n"
    "  --tls12-cipher SUITE     offer TLS 1.2 only, with this one suite (e.g.\n"
    "                           ECDHE-ECDSA-AES256-GCM-SHA384): the same cipher\n"
    "                           for every system under test\n"
    "  --starttls               connect in plaintext and upgrade with STARTTLS\n"
    "                           (RFC 6120 §5; the SUT's port 5269) instead of\n"
    "                           direct TLS\n"
    "\n"
    "load:\n"
    "  --seconds S (10)  --warmup S (1)  --drain S (5)\n"
    "  --window W (256)         closed loop: stanzas in flight per stream\n"
    "  --rate R                 open loop: stanzas/s in total\n"
    "  --tick-us T (20)         open loop: shortest pacer period; stanzas due\n"
    "                           within it share a TLS record\n"
    "  --size N                 stanzas of exactly N bytes (default: a mix of\n"
    "                           messages, presence and iq, 200 B to 2 KiB)\n"
    "  --concurrency C (8)      churn: establishments under way\n"
    "  --resume                 churn: resume TLS sessions (one per remote domain)\n"
    "  --reconnect              relay: a stream whose connection dies while sending\n"
    "                           connects again (a SUT instance failed behind a load\n"
    "                           balancer); stanzas written on the dead connection\n"
    "                           and never delivered: lost_on_dead_streams\n"
    "  --streams N (10000)      idle: streams to open\n"
    "  --hold S (2)             idle: seconds to stay idle before each measure\n"
    "  --connect-parallel N (64) connection attempts in flight (idle)\n"
    "  --setup-timeout S (60)   time allowed to open the streams\n"
    "  --workers N (1)  --pin-workers  --no-ktls\n"
    "\n"
    "measurement and output:\n"
    "  --sut-pid PID            SUT process (repeatable; summed): CPU and RSS\n"
    "  --sut-tid TID            SUT thread, e.g. its worker (repeatable; summed):\n"
    "                           that thread's own CPU time\n"
    "  --json                   one JSON object on stdout\n"
    "  --sink-parse full|scan   after negotiation the sink finds stanza ids with\n"
    "                           a scanner (scan, the default: cheapest) or parses\n"
    "                           every stanza with the project's parser (full)\n"
    "  --sink-drop-every N      debug: the sink ignores every Nth stanza\n"
    "\n"
    "exit status: 0 nothing lost and no errors; 1 stanzas lost or duplicated,\n"
    "or streams failed; 2 usage error.\n";

// parse_ids appends the ids of |arg| ("12" or "12,34") to |ids| (16 at
// most). It returns 1, or 0 when |arg| is not such a list.
static int parse_ids(int ids[16], size_t *n, const char *arg) {
  const char *p = arg;
  while (*p) {
    char *end;
    long id = strtol(p, &end, 10);
    if (end == p || id <= 0 || id > INT32_MAX || *n >= 16) return 0;
    if (*end != ',' && *end != 0) return 0;
    ids[(*n)++] = (int)id;
    p = *end == ',' ? end + 1 : end;
  }
  return *n > 0;
}

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "s2sload: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(s2sload --help for the options)\n");
  return 2;
}

static int parse_addr(const char *s, struct sockaddr_storage *out, socklen_t *out_len) {
  char host[256];
  const char *colon = strrchr(s, ':');
  if (colon == NULL || colon == s || (size_t)(colon - s) >= sizeof(host)) return 0;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = 0;
  char *h = host;
  if (h[0] == '[' && h[strlen(h) - 1] == ']') {
    h[strlen(h) - 1] = 0;
    h++;
  }
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(h, colon + 1, &hints, &res) != 0 || res == NULL) return 0;
  memcpy(out, res->ai_addr, res->ai_addrlen);
  *out_len = res->ai_addrlen;
  freeaddrinfo(res);
  return 1;
}

static int parse_num(const char *s, double lo, double hi, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || *end != 0 || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

static void sleep_plain(double s);

// sleep_s sleeps |s| seconds; with S2SLOAD_PROGRESS set in the environment it
// prints the totals every 0.5 s (debugging a stalled run).
static void sleep_s(double s) {
  static int progress = -1;
  if (progress < 0) progress = getenv("S2SLOAD_PROGRESS") != NULL;
  if (!progress || s < 0.5) {
    sleep_plain(s);
    return;
  }
  while (s > 0) {
    double k = s < 0.5 ? s : 0.5;
    sleep_plain(k);
    s -= k;
    uint64_t sent = 0, dl = 0;
    for (uint32_t i = 0; i < g_load.num_streams; i++) {
      sent += atomic_load(&g_load.streams[i].sent);
      dl += atomic_load(&g_load.streams[i].delivered);
    }
    fprintf(stderr, "s2sload: phase %d sent %llu delivered %llu ready %llu\n",
            atomic_load(&g_load.phase), (unsigned long long)sent, (unsigned long long)dl,
            (unsigned long long)atomic_load(&g_load.ready_streams));
  }
}

static void sleep_plain(double s) {
  if (s <= 0) return;
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static double now_s(void) {
  return (double)fg_clock_ns() / 1e9;
}

// --- messages to the workers ----------------------------------------------------

enum { MSG_START, MSG_GO, MSG_STOP, MSG_PING };

typedef struct wmsg {
  fg_msg m;
  fg_load_wctx *wc;
  int what;
} wmsg;

static void wmsg_fn(fg_worker *w, fg_msg *m) {
  (void)w;
  wmsg *x = (wmsg *)m;
  if (x->what == MSG_START) fg_load_worker_start(x->wc);
  if (x->what == MSG_GO) fg_load_worker_go(x->wc);
  if (x->what == MSG_STOP) fg_load_worker_stop(x->wc);
  if (x->what == MSG_PING) fg_load_worker_ping(x->wc);
  free(x);
}

static void broadcast(int what) {
  for (unsigned i = 0; i < g_load.num_workers; i++) {
    wmsg *x = calloc(1, sizeof(*x));
    if (x == NULL) abort();
    x->m.fn = wmsg_fn;
    x->wc = &g_load.wctx[i];
    x->what = what;
    fg_worker_post(g_load.wctx[i].w, &x->m);
  }
}

// --- totals -----------------------------------------------------------------------

typedef struct totals {
  uint64_t sent, delivered;
} totals;

// lost_on_dead_streams counts the stanzas written on connections that died
// (--reconnect) that the sink never got.
static uint64_t lost_on_dead_streams(void) {
  uint64_t lost = 0;
  for (uint32_t i = 0; i < g_load.num_streams; i++) {
    const fg_load_stream *s = &g_load.streams[i];
    for (unsigned d = 0; d < s->num_deaths; d++) {
      for (uint64_t q = s->dead_from[d]; q < s->dead_to[d] && q < s->seen_bits; q++) {
        uint64_t word = atomic_load_explicit(&s->seen[q / 64], memory_order_relaxed);
        if (!(word >> (q % 64) & 1)) lost++;
      }
    }
  }
  return lost;
}

static totals sum_streams(void) {
  totals t = {0, 0};
  for (uint32_t i = 0; i < g_load.num_streams; i++) {
    t.sent += atomic_load(&g_load.streams[i].sent);
    t.delivered += atomic_load(&g_load.streams[i].delivered);
  }
  return t;
}

// wait_all_settled waits until every sent stanza was delivered or dropped, or
// |timeout| seconds.
static void wait_settled(double timeout) {
  double end = now_s() + timeout;
  while (now_s() < end) {
    totals t = sum_streams();
    if (t.delivered + atomic_load(&g_load.dropped) >= t.sent) return;
    sleep_s(0.005);
  }
}

// --- the run ----------------------------------------------------------------------

typedef struct measure {
  double t0, t1;
  double setup_s;     // idle: time to authenticate every stream
  uint64_t answered;  // idle: streams whose final stanza reached the sink
  double gen0, gen1;
  fg_proc_sample sut0, sut1;
  int sut_ok;
  // idle: the SUT after the first wave of streams (|half| of them), so
  // that the figure is the cost of one more stream, whatever the SUT held
  // before (its fixed tables, pools and the allocator's start-up state).
  fg_proc_sample sut_half;
  int half_ok;
  uint32_t half;
  double thr0, thr1;  // --sut-tid threads
  int thr_ok;
  // Run-queue wait (schedstat): of the --sut-tid threads, and of the
  // generator's own threads; -1 when unknown.
  double sut_wait0, sut_wait1, gen_wait0, gen_wait1;
  // The generator's own threads while it measured (the report's "tids"):
  // a scheduler trace tells them from other processes of the same name.
  int tids[32];
  size_t num_tids;
} measure;

static void measure_begin(measure *m) {
  const fg_load_opts *o = &g_load.o;
  m->sut_ok = o->num_sut_pids > 0 && fg_proc_read(&m->sut0, o->sut_pids, o->num_sut_pids);
  m->thr_ok = o->num_sut_tids > 0 && fg_proc_read_threads(&m->thr0, o->sut_tids, o->num_sut_tids);
  m->gen0 = fg_proc_self_cpu();
  m->gen_wait0 = fg_proc_self_runq_wait();
  m->num_tids = fg_proc_self_tids(m->tids, sizeof(m->tids) / sizeof(m->tids[0]));
  if (o->num_sut_tids == 0 || !fg_proc_read_runq_wait(&m->sut_wait0, o->sut_tids, o->num_sut_tids))
    m->sut_wait0 = -1;
  m->t0 = now_s();
}

static void measure_end(measure *m) {
  const fg_load_opts *o = &g_load.o;
  m->t1 = now_s();
  m->gen1 = fg_proc_self_cpu();
  m->gen_wait1 = fg_proc_self_runq_wait();
  if (m->sut_wait0 < 0 || !fg_proc_read_runq_wait(&m->sut_wait1, o->sut_tids, o->num_sut_tids))
    m->sut_wait0 = -1;
  // Threads before the process: the threads' window then lies inside the
  // process's (begin reads the process first), so a thread never shows more
  // CPU time than the process it belongs to.
  if (m->thr_ok) m->thr_ok = fg_proc_read_threads(&m->thr1, o->sut_tids, o->num_sut_tids);
  if (m->sut_ok) m->sut_ok = fg_proc_read(&m->sut1, o->sut_pids, o->num_sut_pids);
}

static int wait_streams_up_to(uint32_t want, double timeout) {
  double end = now_s() + timeout;
  while (now_s() < end) {
    uint64_t done = atomic_load(&g_load.ready_streams) + atomic_load(&g_load.failed_streams);
    if (done >= want) return 1;
    sleep_s(0.005);
  }
  fg_load_error("only %llu of %u streams authenticated within %.0f s",
                (unsigned long long)atomic_load(&g_load.ready_streams), want, timeout);
  return 0;
}

static int wait_streams_up(double timeout) {
  return wait_streams_up_to(g_load.num_streams, timeout);
}

// measured_window lets the warm-up pass, measures --seconds, then drains.
static void measured_window(const fg_load_opts *o, measure *m) {
  sleep_s(o->warmup);
  measure_begin(m);
  atomic_store(&g_load.win_start_ns, fg_clock_ns());
  atomic_store(&g_load.phase, FG_PHASE_MEASURE);
  sleep_s(o->seconds);
  atomic_store(&g_load.win_end_ns, fg_clock_ns());
  measure_end(m);
  atomic_store(&g_load.phase, FG_PHASE_DRAIN);
  wait_settled(o->drain);
}

static void run_relay(measure *m) {
  const fg_load_opts *o = &g_load.o;
  broadcast(MSG_START);
  wait_streams_up(o->setup_timeout);
  if (atomic_load(&g_load.ready_streams) == 0) return;
  g_load.base_ns = fg_clock_ns() + 1000000;
  atomic_store(&g_load.phase, FG_PHASE_WARMUP);
  broadcast(MSG_GO);
  measured_window(o, m);
}

static void run_churn(measure *m) {
  const fg_load_opts *o = &g_load.o;
  atomic_store(&g_load.phase, FG_PHASE_WARMUP);
  broadcast(MSG_START);
  measured_window(o, m);
}

// streams_answered counts the streams whose every stanza, the final one
// included, reached the sink.
static uint64_t streams_answered(void) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < g_load.num_streams; i++) {
    const fg_load_stream *s = &g_load.streams[i];
    uint64_t sent = atomic_load(&s->sent);
    if (sent >= 2 && atomic_load(&s->delivered) == sent) n++;
  }
  return n;
}

// open_idle_wave lets every worker connect its streams below |frac| of its
// share, waits until they are authenticated and every stanza they sent has
// arrived, then holds them idle for --hold s. It returns the seconds until
// they were authenticated.
static double open_idle_wave(double frac) {
  double t0 = now_s();
  const fg_load_opts *o = &g_load.o;
  uint32_t want = 0;
  for (unsigned i = 0; i < g_load.num_workers; i++) {
    fg_load_wctx *wc = &g_load.wctx[i];
    wc->start_until = (size_t)(wc->num_streams * frac);
    want += (uint32_t)wc->start_until;
  }
  broadcast(MSG_START);  // the message queue orders start_until before the worker reads it
  wait_streams_up_to(want, o->setup_timeout);
  double up = now_s() - t0;
  // Every stream sent one stanza: once all arrived, the SUT's streams to
  // the sink are up too.
  wait_settled(o->drain);
  sleep_s(o->hold);
  return up;
}

static void run_idle(measure *m) {
  const fg_load_opts *o = &g_load.o;
  measure_begin(m);  // RSS before the first stream
  atomic_store(&g_load.phase, FG_PHASE_WARMUP);
  // Two waves of half the streams each: the SUT's memory after the first
  // and after the second gives the cost per stream at the margin.
  m->setup_s = open_idle_wave(0.5);
  m->half = (uint32_t)atomic_load(&g_load.ready_streams);
  m->half_ok = m->sut_ok && fg_proc_read(&m->sut_half, o->sut_pids, o->num_sut_pids);
  m->setup_s += open_idle_wave(1.0);
  measure_end(m);
  // Then each stream, idle so far, carries one more stanza through the SUT
  // to the sink: it is still open and served.
  uint64_t before = sum_streams().sent, want = atomic_load(&g_load.ready_streams);
  broadcast(MSG_PING);
  double until = now_s() + o->drain;
  while (sum_streams().sent < before + want && now_s() < until) sleep_s(0.005);
  wait_settled(o->drain + o->setup_timeout / 4);
  m->answered = streams_answered();
}

// --- setup ------------------------------------------------------------------------

static int setup_remotes(void) {
  const fg_load_opts *o = &g_load.o;
  unsigned k = o->remotes;
  g_load.remote_names = calloc(k, sizeof(*g_load.remote_names));
  g_load.tmpl = calloc(k, sizeof(*g_load.tmpl));
  if (g_load.remote_names == NULL || g_load.tmpl == NULL) return 0;
  char to[300];
  snprintf(to, sizeof(to), "user@%s", o->sink_domain);
  for (unsigned i = 0; i < k; i++) {
    snprintf(g_load.remote_names[i], sizeof(g_load.remote_names[i]), "r%u.%s", i + 1,
             o->remote_suffix);
    char from[300];
    snprintf(from, sizeof(from), "user@%s/res", g_load.remote_names[i]);
    if (!fg_stanza_tmpl_init(&g_load.tmpl[i], from, to, o->size)) {
      fprintf(stderr, "s2sload: --size %zu is below the %zu bytes these JIDs need (or too large)\n",
              o->size, fg_stanza_min_size(from, to));
      return 0;
    }
  }
  return 1;
}

static int setup_streams(void) {
  const fg_load_opts *o = &g_load.o;
  uint64_t bits;
  switch (o->mode) {
    case FG_LOAD_RELAY:
      g_load.num_streams = o->remotes * o->streams_per_remote;
      bits = UINT64_C(1) << 25;
      if (o->rate > 0) {
        double per = o->rate / g_load.num_streams * (o->warmup + o->seconds + 2) * 1.5;
        bits = (uint64_t)per + 4096;
      }
      break;
    case FG_LOAD_CHURN:
      g_load.num_streams = o->concurrency;
      bits = UINT64_C(1) << 22;
      break;
    default:
      g_load.num_streams = o->idle_streams;
      bits = 64;
      break;
  }
  bits = (bits + 63) & ~UINT64_C(63);
  g_load.streams = calloc(g_load.num_streams, sizeof(*g_load.streams));
  if (g_load.streams == NULL) return 0;
  if (o->rate > 0) g_load.interval_ns = 1e9 * g_load.num_streams / o->rate;
  for (uint32_t i = 0; i < g_load.num_streams; i++) {
    fg_load_stream *s = &g_load.streams[i];
    s->index = i;
    s->remote = i % o->remotes;
    s->seen_bits = bits;
    // Large bitmaps come from mmap: pages are only touched as used.
    s->seen = calloc(bits / 64, sizeof(uint64_t));
    if (s->seen == NULL) return 0;
    s->offset_ns = g_load.interval_ns * i / g_load.num_streams;
    fg_load_wctx *wc = &g_load.wctx[i % g_load.num_workers];
    s->wc = wc;
    wc->streams[wc->num_streams++] = i;
  }
  return 1;
}

static int setup_workers(void) {
  g_load.wctx = calloc(g_load.num_workers, sizeof(*g_load.wctx));
  if (g_load.wctx == NULL) return 0;
  uint32_t n = g_load.o.mode == FG_LOAD_RELAY   ? g_load.o.remotes * g_load.o.streams_per_remote
               : g_load.o.mode == FG_LOAD_CHURN ? g_load.o.concurrency
                                                : g_load.o.idle_streams;
  size_t max_st = g_load.o.size ? g_load.o.size : FG_STANZA_MIX_MAX + FG_STANZA_ID_MAX;
  for (unsigned i = 0; i < g_load.num_workers; i++) {
    fg_load_wctx *wc = &g_load.wctx[i];
    wc->w = fg_runtime_worker(g_load.rt, i);
    wc->streams = calloc(n / g_load.num_workers + 1, sizeof(uint32_t));
    wc->obuf_cap = 16384 + 2 * max_st;
    wc->obuf = malloc(wc->obuf_cap);
    if (wc->streams == NULL || wc->obuf == NULL) return 0;
    fg_hist_init(&wc->hist);
    fg_hist_init(&wc->lag);
    // Events of 200 us and more: a tail, not a stanza's ordinary way.
    fg_stalls_init(&wc->stalls, 200000);
    fg_timer_init(&wc->tick, NULL, wc);
  }
  return 1;
}

// raise_nofile lifts RLIMIT_NOFILE to |need| descriptors if it can (the hard
// limit too when privileged), else to the hard limit.
static void raise_nofile(rlim_t need) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_max < need) {
    struct rlimit want = {need, need};
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) return;
  }
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// --- report -----------------------------------------------------------------------

static const char *mode_name(enum fg_load_mode m) {
  return m == FG_LOAD_RELAY ? "relay" : m == FG_LOAD_CHURN ? "churn" : "idle";
}

static const char *sink_name(enum fg_load_sink s) {
  return s == FG_SINK_S2S ? "s2s-listen" : s == FG_SINK_COMPONENT ? "component" : "plain-listen";
}

// report_tls prints the "tls" member of the JSON report: what the remote
// streams negotiated (as the client saw it) and whether the generator moved
// them to kernel TLS.
static void report_tls(void) {
  fg_worker_stats st;
  fg_runtime_stats(g_load.rt, &st);
  if (atomic_load(&g_load.tls_noted) == 2) {
    printf("\"tls\": {\"version\": \"%s\", \"cipher\": \"%s\", ", g_load.tls_version,
           g_load.tls_cipher);
  } else {
    printf("\"tls\": {\"version\": null, \"cipher\": null, ");
  }
  printf("\"other_negotiations\": %llu, \"generator_ktls_attached\": %llu}",
         (unsigned long long)atomic_load(&g_load.tls_other), (unsigned long long)st.ktls_attached);
}

// usable_cpus is how many CPUs the generator may run on: its workers, at
// most as many as its affinity mask allows (taskset).
static unsigned usable_cpus(void) {
  unsigned n = g_load.num_workers;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    unsigned allowed = (unsigned)CPU_COUNT(&set);
    if (allowed > 0 && allowed < n) n = allowed;
  }
  return n > 0 ? n : 1;
}

// runq_share is the share of the measured window a thread set spent
// waiting for a CPU while ready to run (another task had it), or -1.
static double runq_share(double w0, double w1, double wall) {
  if (w0 < 0 || w1 < 0 || w1 < w0) return -1;
  return (w1 - w0) / wall;
}

// print_share prints "\"key\": 0.123, " or "\"key\": null, ".
static void print_share(const char *key, double v) {
  if (v < 0) {
    printf("\"%s\": null, ", key);
  } else {
    printf("\"%s\": %.4f, ", key, v);
  }
}

// print_stalls prints the generator's threads, the measured window and the
// worst latency events in it (CLOCK_MONOTONIC ns, for bench/sched_trace.py)
// as JSON members.
static void print_stalls(const measure *m, fg_stalls *s) {
  fg_stalls_sort(s);
  printf("\"tids\": [");
  for (size_t i = 0; i < m->num_tids; i++) printf("%s%d", i ? ", " : "", m->tids[i]);
  printf("], ");
  printf("\"window_ns\": [%llu, %llu], \"stalls\": [",
         (unsigned long long)atomic_load(&g_load.win_start_ns),
         (unsigned long long)atomic_load(&g_load.win_end_ns));
  for (size_t i = 0; i < s->n; i++) {
    const fg_stall *e = &s->ev[i];
    printf(
        "%s{\"latency_us\": %.1f, \"sched_ns\": %llu, \"arrive_ns\": %llu, "
        "\"span_us\": %.1f, \"stanzas\": %llu}",
        i ? ", " : "", (double)(e->arrive_ns - e->sched_ns) / 1e3, (unsigned long long)e->sched_ns,
        (unsigned long long)e->arrive_ns, (double)(e->to_ns - e->from_ns) / 1e3,
        (unsigned long long)e->stanzas);
  }
  printf("], ");
}

static int report(const measure *m) {
  const fg_load_opts *o = &g_load.o;
  fg_hist h, lag;
  fg_hist_init(&h);
  fg_hist_init(&lag);
  fg_stalls stalls;
  fg_stalls_init(&stalls, 0);
  uint64_t win_delivered = 0;
  for (unsigned i = 0; i < g_load.num_workers; i++) {
    fg_hist_merge(&h, &g_load.wctx[i].hist);
    fg_hist_merge(&lag, &g_load.wctx[i].lag);
    fg_stalls_merge(&stalls, &g_load.wctx[i].stalls);
    win_delivered += g_load.wctx[i].win_delivered;
  }
  totals t = sum_streams();
  double wall = m->t1 - m->t0;
  if (wall <= 0) wall = 1e-9;
  uint64_t lost = t.sent > t.delivered ? t.sent - t.delivered : 0;
  // --reconnect: stanzas written on connections that died and never
  // delivered; and what is lost beyond them and the bounces (a SUT that
  // lost stanzas on a live stream).
  uint64_t bounced = atomic_load(&g_load.bounced);
  uint64_t lost_dead = lost_on_dead_streams();
  uint64_t explained = lost_dead + bounced;
  uint64_t lost_live = lost > explained ? lost - explained : 0;
  uint64_t reconnects = atomic_load(&g_load.reconnects);
  uint64_t dup = atomic_load(&g_load.duplicated), ooo = atomic_load(&g_load.out_of_order);
  uint64_t errors = atomic_load(&g_load.errors);
  uint64_t foreign = atomic_load(&g_load.unknown_ids);
  uint64_t corrupted = atomic_load(&g_load.corrupted);
  uint64_t failed = atomic_load(&g_load.failed_streams);
  double gen_cpu = m->gen1 - m->gen0, gen_util = gen_cpu / wall;
  double sut_cpu = m->sut_ok ? m->sut1.cpu_s - m->sut0.cpu_s : 0;
  double sut_util = sut_cpu / wall;
  int gen_bound = fg_proc_generator_bound(gen_util, usable_cpus());
  // Other work on the machine: time the SUT's worker thread and the
  // generator's threads were ready but waited for their CPU. A run where
  // either waited 5 % of the window or more measured the machine's load as
  // much as the SUT (its latency tail above all).
  double sut_wait = runq_share(m->sut_wait0, m->sut_wait1, wall);
  double gen_wait = runq_share(m->gen_wait0, m->gen_wait1, wall);
  int contended = sut_wait >= 0.05 || gen_wait >= 0.05;
  double p50 = fg_hist_percentile(&h, 50) / 1e3, p90 = fg_hist_percentile(&h, 90) / 1e3;
  double p99 = fg_hist_percentile(&h, 99) / 1e3, p999 = fg_hist_percentile(&h, 99.9) / 1e3;
  double pmax = h.total ? h.max / 1e3 : 0;
  uint64_t est = atomic_load(&g_load.win_establishments);
  uint64_t resumed = atomic_load(&g_load.win_resumed);
  // bytes_idle: RSS growth per stream of the second wave (the margin);
  // bytes_idle_all: per stream over the whole run (start-up state included).
  double bytes_idle = 0, bytes_idle_all = 0;
  uint64_t ready = atomic_load(&g_load.ready_streams);
  int idle_ok = o->mode == FG_LOAD_IDLE && m->sut_ok && m->half_ok && ready > m->half;
  if (idle_ok) {
    bytes_idle =
        ((double)m->sut1.rss_kb - (double)m->sut_half.rss_kb) * 1024.0 / (double)(ready - m->half);
    bytes_idle_all = ((double)m->sut1.rss_kb - (double)m->sut0.rss_kb) * 1024.0 / (double)ready;
  }
  uint32_t streams = o->mode == FG_LOAD_CHURN ? o->concurrency : g_load.num_streams;
  if (o->json) {
    printf(
        "{\"mode\": \"%s\", \"sink\": \"%s\", \"seconds\": %.3f, \"streams\": %u, "
        "\"stanza_size\": %zu, \"sent\": %llu, \"delivered\": %llu, \"delivered_per_s\": %.0f, "
        "\"lost\": %llu, \"duplicated\": %llu, \"out_of_order\": %llu, ",
        mode_name(o->mode), sink_name(o->sink), wall, streams, o->size, (unsigned long long)t.sent,
        (unsigned long long)t.delivered, win_delivered / wall, (unsigned long long)lost,
        (unsigned long long)dup, (unsigned long long)ooo);
    if (h.total > 0) {
      printf(
          "\"latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, \"p999\": %.1f, "
          "\"max\": %.1f}, ",
          p50, p90, p99, p999, pmax);
    } else {
      printf("\"latency_us\": null, ");
    }
    if (lag.total > 0) {
      printf("\"send_lag_us\": {\"p50\": %.1f, \"p99\": %.1f, \"max\": %.1f}, ",
             fg_hist_percentile(&lag, 50) / 1e3, fg_hist_percentile(&lag, 99) / 1e3, lag.max / 1e3);
    } else {
      printf("\"send_lag_us\": null, ");
    }
    print_share("sut_runq_wait_share", sut_wait);
    print_share("gen_runq_wait_share", gen_wait);
    print_stalls(m, &stalls);
    printf("\"cpu_contended\": %s, ", contended ? "true" : "false");
    printf("\"establishments\": %llu, \"establishments_per_s\": %.0f, \"resumed\": %llu, ",
           (unsigned long long)est, est / wall, (unsigned long long)resumed);
    if (o->mode == FG_LOAD_IDLE) {
      printf("\"streams_ready\": %llu, \"streams_answered\": %llu, \"setup_s\": %.3f, ",
             (unsigned long long)atomic_load(&g_load.ready_streams),
             (unsigned long long)m->answered, m->setup_s);
    }
    printf("\"bounced\": %llu, \"reconnects\": %llu, \"lost_on_dead_streams\": %llu, ",
           (unsigned long long)bounced, (unsigned long long)reconnects,
           (unsigned long long)lost_dead);
    if (idle_ok) {
      printf(
          "\"bytes_per_idle_stream\": %.0f, \"bytes_per_idle_stream_from_start\": %.0f, "
          "\"sut_rss_kb_start\": %llu, \"sut_rss_kb_half\": %llu, \"streams_half\": %u, ",
          bytes_idle, bytes_idle_all, (unsigned long long)m->sut0.rss_kb,
          (unsigned long long)m->sut_half.rss_kb, m->half);
    } else {
      printf("\"bytes_per_idle_stream\": null, ");
    }
    if (m->sut_ok) {
      printf("\"sut_cpu_s\": %.3f, \"sut_cpu_util\": %.3f, \"sut_rss_kb\": %llu, ", sut_cpu,
             sut_util, (unsigned long long)m->sut1.rss_kb);
    } else {
      printf("\"sut_cpu_s\": null, \"sut_cpu_util\": null, \"sut_rss_kb\": null, ");
    }
    // Per SUT CPU-second: the SUT's capacity per core even when the
    // generator, not the SUT, set the pace (as tls_bench reports it).
    if (m->sut_ok && sut_cpu > 0) {
      printf("\"delivered_per_sut_cpu_s\": %.0f, \"establishments_per_sut_cpu_s\": %.0f, ",
             win_delivered / sut_cpu, est / sut_cpu);
    } else {
      printf("\"delivered_per_sut_cpu_s\": null, \"establishments_per_sut_cpu_s\": null, ");
    }
    // Per CPU-second of the SUT's worker threads only (--sut-tid): what the
    // event loop itself spends, without the SUT's other threads.
    double thr_cpu = m->thr_ok ? m->thr1 - m->thr0 : 0;
    if (m->thr_ok) {
      printf("\"sut_worker_cpu_s\": %.3f, ", thr_cpu);
    } else {
      printf("\"sut_worker_cpu_s\": null, ");
    }
    if (m->thr_ok && thr_cpu > 0) {
      printf(
          "\"delivered_per_sut_worker_cpu_s\": %.0f, "
          "\"establishments_per_sut_worker_cpu_s\": %.0f, ",
          win_delivered / thr_cpu, est / thr_cpu);
    } else {
      printf(
          "\"delivered_per_sut_worker_cpu_s\": null, "
          "\"establishments_per_sut_worker_cpu_s\": null, ");
    }
    printf("\"target\": \"%s\", \"workers\": %u, ", o->target, g_load.num_workers);
    printf(
        "\"gen_cpu_s\": %.3f, \"gen_cpu_util\": %.3f, \"generator_bound\": %s, "
        "\"foreign_stanzas\": %llu, \"errors\": %llu, ",
        gen_cpu, gen_util, gen_bound ? "true" : "false", (unsigned long long)foreign,
        (unsigned long long)errors);
    printf("\"verified\": %llu, \"corrupted\": %llu, \"unverifiable\": %llu, ",
           (unsigned long long)atomic_load(&g_load.verified), (unsigned long long)corrupted,
           (unsigned long long)atomic_load(&g_load.unverifiable));
    report_tls();
    printf("}\n");
  }
  FILE *out = o->json ? stderr : stdout;
  fprintf(out, "s2sload %s: sink %s, %u streams, %s stanzas, %.2f s measured\n", mode_name(o->mode),
          sink_name(o->sink), streams, o->size ? "fixed-size" : "mixed", wall);
  if (o->mode == FG_LOAD_RELAY) {
    fprintf(out, "  delivered %.0f stanzas/s (%llu in the window); sent %llu, delivered %llu\n",
            win_delivered / wall, (unsigned long long)win_delivered, (unsigned long long)t.sent,
            (unsigned long long)t.delivered);
    fprintf(out,
            "  latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f (%llu samples)\n",
            p50, p90, p99, p999, pmax, (unsigned long long)h.total);
    if (lag.total > 0) {
      fprintf(out, "  generator's send lag us: p50 %.1f  p99 %.1f  max %.1f\n",
              fg_hist_percentile(&lag, 50) / 1e3, fg_hist_percentile(&lag, 99) / 1e3,
              lag.max / 1e3);
    }
  }
  if (o->mode == FG_LOAD_CHURN) {
    fprintf(out,
            "  %.0f establishments/s (%llu in the window, %llu resumed); %llu TLS handshakes, "
            "%llu resumed in all\n",
            est / wall, (unsigned long long)est, (unsigned long long)resumed,
            (unsigned long long)atomic_load(&g_load.handshakes),
            (unsigned long long)atomic_load(&g_load.resumed));
  }
  if (o->mode == FG_LOAD_IDLE) {
    fprintf(out, "  %llu of %u streams authenticated; ",
            (unsigned long long)atomic_load(&g_load.ready_streams), o->idle_streams);
    if (idle_ok) {
      fprintf(out,
              "SUT RSS %llu -> %llu (%u streams) -> %llu KiB: %.0f bytes per idle stream "
              "at the margin, %.0f from the start\n",
              (unsigned long long)m->sut0.rss_kb, (unsigned long long)m->sut_half.rss_kb, m->half,
              (unsigned long long)m->sut1.rss_kb, bytes_idle, bytes_idle_all);
    } else {
      fprintf(out, "no --sut-pid: SUT memory not measured\n");
    }
  }
  fprintf(out, "  lost %llu, duplicated %llu, out of order %llu, errors %llu, failed streams %llu",
          (unsigned long long)lost, (unsigned long long)dup, (unsigned long long)ooo,
          (unsigned long long)errors, (unsigned long long)failed);
  if (foreign) fprintf(out, ", %llu stanzas not ours", (unsigned long long)foreign);
  if (bounced) fprintf(out, ", %llu bounced", (unsigned long long)bounced);
  if (o->reconnect) {
    fprintf(out, "; %llu reconnects, %llu lost on dead streams", (unsigned long long)reconnects,
            (unsigned long long)lost_dead);
  }
  if (atomic_load(&g_load.dropped)) {
    fprintf(out, " (the sink dropped %llu on purpose)",
            (unsigned long long)atomic_load(&g_load.dropped));
  }
  fprintf(out, "\n  generator CPU %.2f s (%.0f%% of %u worker%s)", gen_cpu, 100 * gen_util,
          g_load.num_workers, g_load.num_workers > 1 ? "s" : "");
  if (m->sut_ok) {
    fprintf(out, ", SUT CPU %.2f s (%.0f%% of one core), RSS %llu KiB", sut_cpu, 100 * sut_util,
            (unsigned long long)m->sut1.rss_kb);
    if (sut_cpu > 0 && o->mode == FG_LOAD_RELAY) {
      fprintf(out, ", %.0f stanzas per SUT CPU-second", win_delivered / sut_cpu);
    }
    if (sut_cpu > 0 && o->mode == FG_LOAD_CHURN) {
      fprintf(out, ", %.0f establishments per SUT CPU-second", est / sut_cpu);
    }
  }
  fprintf(out, "%s\n", gen_bound ? "; GENERATOR-BOUND" : "");
  if (sut_wait >= 0 || gen_wait >= 0) {
    char sw[16] = "?", gw[16] = "?";
    if (sut_wait >= 0) snprintf(sw, sizeof(sw), "%.1f%%", 100 * sut_wait);
    if (gen_wait >= 0) snprintf(gw, sizeof(gw), "%.1f%%", 100 * gen_wait);
    fprintf(out, "  waiting for a CPU (other work on the machine): SUT worker %s, generator %s%s\n",
            sw, gw, contended ? "; CPU-CONTENDED" : "");
  }
  fg_worker_stats st;
  fg_runtime_stats(g_load.rt, &st);
  fprintf(out,
          "  generator I/O: %.1f MB in, %.1f MB out; %llu TLS handshakes, %llu moved to kernel "
          "TLS\n",
          st.bytes_in / 1e6, st.bytes_out / 1e6, (unsigned long long)st.handshakes,
          (unsigned long long)st.ktls_attached);
  fprintf(out, "  stanzas checked whole at the sink: %llu (%llu could not be checked)\n",
          (unsigned long long)atomic_load(&g_load.verified),
          (unsigned long long)atomic_load(&g_load.unverifiable));
  // Under --reconnect the stanzas that died with a connection (and the
  // bounces, counted as errors anyway) are accounted for, not failures.
  int bad =
      (o->reconnect ? lost_live : lost) > 0 || dup > 0 || errors > 0 || failed > 0 || corrupted > 0;
  if (bad) {
    fprintf(stderr,
            "s2sload: FAILED: %llu lost, %llu duplicated, %llu corrupted, %llu streams failed, "
            "%llu errors\n",
            (unsigned long long)lost, (unsigned long long)dup, (unsigned long long)corrupted,
            (unsigned long long)failed, (unsigned long long)errors);
  }
  return bad ? 1 : 0;
}

// --- main -------------------------------------------------------------------------

int main(int argc, char **argv) {
  fg_load_opts *o = &g_load.o;
  o->sink_domain = "sink.bench.test";
  o->remote_suffix = "bench.test";
  o->remotes = 4;
  o->streams_per_remote = 4;
  o->seconds = 10;
  o->warmup = 1;
  o->drain = 5;
  o->hold = 2;
  o->window = 256;
  o->tick_us = 20;
  o->concurrency = 8;
  o->idle_streams = 10000;
  o->connect_parallel = 64;
  o->setup_timeout = 60;
  o->component_secret = "";
  o->sink_scan = 1;
  fg_worker_options wo;
  fg_worker_options_init(&wo);
  wo.workers = 1;
  const char *sink_addr = NULL;
  int have_sink = 0;

  if (argc < 2) return usage_error("%s", "a mode is required: relay, churn or idle");
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fputs(kUsage, stdout);
    return 0;
  }
  if (strcmp(argv[1], "relay") == 0) {
    o->mode = FG_LOAD_RELAY;
  } else if (strcmp(argv[1], "churn") == 0) {
    o->mode = FG_LOAD_CHURN;
  } else if (strcmp(argv[1], "idle") == 0) {
    o->mode = FG_LOAD_IDLE;
  } else {
    return usage_error("unknown mode '%s' (relay, churn, idle)", argv[1]);
  }
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    const char *err = NULL;
    enum fg_worker_opt_result wr = fg_worker_options_parse(&wo, argc, argv, &i, &err);
    if (wr == FG_WORKER_OPT_ERROR) return usage_error("%s", err);
    if (wr == FG_WORKER_OPT_USED) {
      i--;
      continue;
    }
    double v;
#define NEED_VALUE() \
  if (i + 1 >= argc) return usage_error("%s needs a value", a)
    if (strcmp(a, "--help") == 0) {
      fputs(kUsage, stdout);
      return 0;
    } else if (strcmp(a, "--json") == 0) {
      o->json = 1;
    } else if (strcmp(a, "--insecure") == 0) {
      o->insecure = 1;
    } else if (strcmp(a, "--starttls") == 0) {
      o->starttls = 1;
    } else if (strcmp(a, "--resume") == 0) {
      o->resume = 1;
    } else if (strcmp(a, "--tls12-cipher") == 0) {
      NEED_VALUE();
      o->tls12_cipher = argv[++i];
    } else if (strcmp(a, "--reconnect") == 0) {
      o->reconnect = 1;
    } else if (strcmp(a, "--sink-parse") == 0) {
      NEED_VALUE();
      const char *v = argv[++i];
      if (strcmp(v, "full") == 0) {
        o->sink_scan = 0;
      } else if (strcmp(v, "scan") == 0) {
        o->sink_scan = 1;
      } else {
        return usage_error("--sink-parse is full or scan, not '%s'", v);
      }
    } else if (strcmp(a, "--target") == 0) {
      NEED_VALUE();
      o->target = argv[++i];
    } else if (strcmp(a, "--sink") == 0) {
      if (i + 2 >= argc) return usage_error("%s needs a flavour and HOST:PORT", a);
      const char *f = argv[++i];
      if (strcmp(f, "s2s-listen") == 0) {
        o->sink = FG_SINK_S2S;
      } else if (strcmp(f, "component") == 0) {
        o->sink = FG_SINK_COMPONENT;
      } else if (strcmp(f, "plain-listen") == 0) {
        o->sink = FG_SINK_PLAIN;
      } else {
        return usage_error("unknown sink flavour '%s' (s2s-listen, component, plain-listen)", f);
      }
      sink_addr = argv[++i];
      have_sink = 1;
    } else if (strcmp(a, "--sink-domain") == 0) {
      NEED_VALUE();
      o->sink_domain = argv[++i];
    } else if (strcmp(a, "--remote-suffix") == 0) {
      NEED_VALUE();
      o->remote_suffix = argv[++i];
    } else if (strcmp(a, "--component-secret") == 0) {
      NEED_VALUE();
      o->component_secret = argv[++i];
    } else if (strcmp(a, "--pki") == 0) {
      NEED_VALUE();
      o->pki_dir = argv[++i];
    } else if (strcmp(a, "--sut-pid") == 0) {
      NEED_VALUE();
      if (!parse_ids(o->sut_pids, &o->num_sut_pids, argv[++i])) {
        return usage_error("bad --sut-pid '%s'", argv[i]);
      }
    } else if (strcmp(a, "--sut-tid") == 0) {
      NEED_VALUE();
      if (!parse_ids(o->sut_tids, &o->num_sut_tids, argv[++i])) {
        return usage_error("bad --sut-tid '%s'", argv[i]);
      }
    } else {
      // Numeric options: exactly one of d (double), u (unsigned), z (size_t).
      struct {
        const char *name;
        double lo, hi;
        double *d;
        unsigned *u;
        size_t *z;
      } nums[] = {
          {"--seconds", 0.01, 86400, &o->seconds, NULL, NULL},
          {"--warmup", 0, 3600, &o->warmup, NULL, NULL},
          {"--drain", 0, 3600, &o->drain, NULL, NULL},
          {"--rate", 1, 1e9, &o->rate, NULL, NULL},
          {"--hold", 0, 3600, &o->hold, NULL, NULL},
          {"--setup-timeout", 0.1, 86400, &o->setup_timeout, NULL, NULL},
          {"--window", 1, 1 << 20, NULL, &o->window, NULL},
          {"--size", 1, FG_STANZA_FIXED_MAX, NULL, NULL, &o->size},
          {"--concurrency", 1, 100000, NULL, &o->concurrency, NULL},
          {"--streams", 1, 1000000, NULL, &o->idle_streams, NULL},
          {"--remotes", 1, 100000, NULL, &o->remotes, NULL},
          {"--streams-per-remote", 1, 4096, NULL, &o->streams_per_remote, NULL},
          {"--connect-parallel", 1, 100000, NULL, &o->connect_parallel, NULL},
          {"--tick-us", 1, 100000, NULL, &o->tick_us, NULL},
          {"--sink-drop-every", 1, 1e9, NULL, &o->sink_drop_every, NULL},
      };
      size_t k;
      for (k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
        if (strcmp(a, nums[k].name) == 0) break;
      }
      if (k == sizeof(nums) / sizeof(nums[0])) return usage_error("unknown option '%s'", a);
      NEED_VALUE();
      if (!parse_num(argv[++i], nums[k].lo, nums[k].hi, &v)) {
        return usage_error("bad value for %s", a);
      }
      if (nums[k].d) *nums[k].d = v;
      if (nums[k].u) *nums[k].u = (unsigned)v;
      if (nums[k].z) *nums[k].z = (size_t)v;
    }
#undef NEED_VALUE
  }
  if (o->target == NULL) return usage_error("%s", "--target HOST:PORT (or self) is required");
  int self = strcmp(o->target, "self") == 0;
  if (self) {
    if (have_sink && o->sink != FG_SINK_PLAIN) {
      return usage_error("%s", "--target self needs the plain-listen sink (or no --sink)");
    }
    o->sink = FG_SINK_PLAIN;
    if (!have_sink) sink_addr = "127.0.0.1:0";
  } else if (!have_sink) {
    return usage_error("%s", "--sink FLAVOUR HOST:PORT is required");
  }
  if (!parse_addr(sink_addr, &g_load.sink_sa, &g_load.sink_sa_len)) {
    return usage_error("cannot resolve the sink address '%s'", sink_addr);
  }
  if (!self && !parse_addr(o->target, &g_load.target, &g_load.target_len)) {
    return usage_error("cannot resolve the target '%s'", o->target);
  }
  if (o->mode == FG_LOAD_RELAY && (uint64_t)o->remotes * o->streams_per_remote > 65536) {
    return usage_error("%s", "too many relay streams (at most 65536)");
  }
  if (o->sink == FG_SINK_COMPONENT && o->component_secret[0] == 0) {
    return usage_error("%s", "--sink component needs --component-secret");
  }
  // Two descriptors per stream with --target self (both ends are ours).
  if (o->size != 0) {
    // The longest sender JID is the last remote's.
    char from[300], to[300];
    snprintf(from, sizeof(from), "user@r%u.%s/res", o->remotes, o->remote_suffix);
    snprintf(to, sizeof(to), "user@%s", o->sink_domain);
    size_t min = fg_stanza_min_size(from, to);
    if (o->size < min) {
      fprintf(stderr, "s2sload: --size %zu is below the %zu bytes these JIDs need\n", o->size, min);
      return 2;
    }
  }
  raise_nofile((rlim_t)(o->mode == FG_LOAD_IDLE ? o->idle_streams : 0) * 2 + 4096);
  if (wo.workers == 0) wo.workers = 1;
  unsigned need = 2 * ((o->mode == FG_LOAD_IDLE ? o->idle_streams : 0) + o->concurrency) + 1024;
  if (wo.max_conns < need) wo.max_conns = need;
  wo.handshake_timeout_ms = 10000;
  wo.close_linger_ms = 1000;

  g_load.num_workers = wo.workers;
  atomic_store(&g_load.win_end_ns, UINT64_MAX);
  if (!setup_remotes() || !fg_load_pki_setup()) return 1;
  g_load.rt = fg_runtime_new(&wo);
  if (g_load.rt == NULL) {
    fprintf(stderr, "s2sload: cannot start the runtime (io_uring?)\n");
    return 1;
  }
  if (!setup_workers() || !setup_streams()) {
    fprintf(stderr, "s2sload: setup failed\n");
    return 1;
  }
  if (!fg_load_sink_start()) return 1;
  if (self) {
    memcpy(&g_load.target, &g_load.sink_sa, sizeof(g_load.sink_sa));
    g_load.target_len = g_load.sink_sa_len;
  }
  double sink_deadline = now_s() + o->setup_timeout;
  while (atomic_load(&g_load.sink_ready) == 0 && now_s() < sink_deadline &&
         atomic_load(&g_load.errors) == 0) {
    sleep_s(0.005);
  }
  measure m;
  memset(&m, 0, sizeof(m));
  if (atomic_load(&g_load.sink_ready) == 0) {
    fg_load_error("the sink is not ready (component handshake not accepted)");
  } else if (o->mode == FG_LOAD_RELAY) {
    run_relay(&m);
  } else if (o->mode == FG_LOAD_CHURN) {
    run_churn(&m);
  } else {
    run_idle(&m);
  }
  atomic_store(&g_load.phase, FG_PHASE_DONE);
  broadcast(MSG_STOP);
  sleep_s(0.05);
  fg_runtime_shutdown(g_load.rt, 1000);
  int rc = report(&m);
  fg_runtime_free(g_load.rt);
  for (uint32_t i = 0; i < g_load.num_streams; i++) {
    fg_xml_parser_free(g_load.streams[i].parser);
    free(g_load.streams[i].seen);
  }
  for (unsigned i = 0; i < g_load.num_workers; i++) {
    free(g_load.wctx[i].streams);
    free(g_load.wctx[i].obuf);
  }
  free(g_load.streams);
  free(g_load.wctx);
  free(g_load.tmpl);
  free(g_load.remote_names);
  fg_load_pki_cleanup();
  return rc;
}
