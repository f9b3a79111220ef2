// tls_bench: TLS 1.3 (ECDSA P-256 + X25519) through the runtime on
// loopback: full and resumed handshakes per second per worker, next to
// BoringSSL's in-memory server handshake rate measured in the same run (the
// ceiling), and bulk MB/s per worker with 16 KiB records. The ceilings and
// the runtime's handshakes are measured again with a client certificate, as
// s2s peers present one (SASL EXTERNAL): see "with a client certificate".
//
// The server runs in its own one-worker runtime; clients run in a second
// one. "Per worker" rates divide by the server worker's CPU time (its thread
// CPU clock), so a load generator slower than the server does not hide the
// server's capacity; wall-clock rates are printed too.
//
// --ktls-compare measures only bulk transfer, one connection at a time: the
// same client stream into a server whose connection is handed to kernel TLS,
// then into one that stays in BoringSSL, and prints both rates and their
// ratio (the kernel mode needs the `tls` ULP; see docs/ktls-vm.md).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>

#include "crypto/chain.h"
#include "crypto/devpki.h"
#include "crypto/tls.h"
#include "crypto/tls_sni.h"
#include "crypto/tls_testcert.h"
#include "io/conn.h"
#include "io/listener.h"
#include "io/worker.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// --- reading a worker's CPU clock -------------------------------------------

typedef struct cpu_msg {
  fg_msg m;
  atomic_int done;
  double cpu;
} cpu_msg;

static void cpu_fn(fg_worker *w, fg_msg *m) {
  cpu_msg *c = (cpu_msg *)m;
  c->cpu = thread_cpu_s();
  atomic_store(&c->done, 1);
}

static double worker_cpu(fg_worker *w) {
  cpu_msg c;
  memset(&c, 0, sizeof(c));
  c.m.fn = cpu_fn;
  fg_worker_post(w, &c.m);
  while (!atomic_load(&c.done)) {
    struct timespec ts = {0, 100000};
    nanosleep(&ts, NULL);
  }
  return c.cpu;
}

// --- in-memory ceiling --------------------------------------------------------

typedef struct mem_pipe {
  uint8_t buf[65536];
  size_t len;
} mem_pipe;

static int pipe_out(void *arg, const uint8_t *d, size_t n) {
  mem_pipe *p = arg;
  if (p->len + n > sizeof(p->buf)) return 0;
  memcpy(p->buf + p->len, d, n);
  p->len += n;
  return 1;
}

static double g_server_time;

static int mem_feed(fg_tls_conn *t, mem_pipe *in, int timed) {
  double t0 = timed ? thread_cpu_s() : 0;
  uint8_t out[16384];
  size_t len;
  int done = 0;
  fg_tls_conn_set_input(t, in->buf, in->len);
  in->len = 0;
  for (;;) {
    enum fg_tls_status st = fg_tls_conn_read(t, out, sizeof(out), &len);
    if (st == FG_TLS_HANDSHAKE_DONE) done = 1;
    if (st == FG_TLS_WANT_INPUT || st == FG_TLS_ERROR || st == FG_TLS_CLOSED) break;
  }
  fg_tls_conn_input_done(t);
  if (timed) g_server_time += thread_cpu_s() - t0;
  return done;
}

// ceiling returns the server-side handshakes per CPU-second BoringSSL
// manages over memory (client work excluded; thread CPU clock, so other
// processes on the machine do not count). With a client context that keeps
// sessions (crypto/session_cache.h), every handshake after the first resumes
// the ticket the previous one left (TLS 1.3, single use): only resumed
// handshakes are counted then, so the rate is the resumed ceiling.
static double ceiling(fg_tls_ctx *sctx, fg_tls_ctx *cctx, double seconds, int resumed) {
  static mem_pipe to_s, to_c;
  long n = 0;
  g_server_time = 0;
  double end = now_s() + seconds;
  while (now_s() < end) {
    double t0 = thread_cpu_s();
    fg_tls_conn *s = fg_tls_conn_new(sctx, NULL, pipe_out, &to_c);
    g_server_time += thread_cpu_s() - t0;
    fg_tls_conn *c = fg_tls_conn_new(cctx, "bench.example", pipe_out, &to_s);
    fg_tls_conn_start(c);
    int sdone = 0;
    for (int i = 0; i < 6 && !sdone; i++) {
      sdone = mem_feed(s, &to_s, 1);
      mem_feed(c, &to_c, 0);
    }
    to_s.len = to_c.len = 0;
    if (resumed && !SSL_session_reused(fg_tls_conn_ssl(s))) sdone = 0;
    t0 = thread_cpu_s();
    fg_tls_conn_free(s);
    g_server_time += thread_cpu_s() - t0;
    fg_tls_conn_free(c);
    n += sdone;
  }
  return g_server_time > 0 ? (double)n / g_server_time : 0;
}

// --- the ceiling with a client certificate ----------------------------------
//
// An s2s peer authenticates with its certificate (SASL EXTERNAL, RFC 6120
// §6.4): the server checks the client's CertificateVerify signature in every
// full handshake, and the peer's chain (fedgate caches that verdict by the
// exact chain bytes, gateway/server/verdict_cache.h). The plain ceiling above
// has no client certificate; these two include it, as fedgate's churn does:
// "mtls" the CertificateVerify alone (a chain verdict already cached), "mtls
// chain" a full chain and identity check in every handshake too.

#define MTLS_PEER "r1.bench.test"

typedef struct mtls_pki {
  fg_tls_cert *client;    // CA-signed ECDSA P-256 leaf for MTLS_PEER
  fg_trust_store *trust;  // that CA
} mtls_pki;

static int mtls_pki_init(mtls_pki *p, CRYPTO_BUFFER_POOL *pool) {
  memset(p, 0, sizeof(*p));
  int64_t now = (int64_t)time(NULL);
  EVP_PKEY *ca_key = fg_devpki_key_p256(), *leaf_key = fg_devpki_key_p256();
  X509 *ca = ca_key ? fg_devpki_mint_ca(ca_key, "bench CA", now - 3600, now + 86400) : NULL;
  X509 *leaf = ca && leaf_key ? fg_devpki_mint_leaf(leaf_key, MTLS_PEER,
                                                    FG_DEVPKI_ID_DNS | FG_DEVPKI_ID_SRV_SERVER,
                                                    now - 3600, now + 86400, ca, ca_key)
                              : NULL;
  uint8_t *der = NULL;
  int der_len = leaf ? i2d_X509(leaf, &der) : -1;
  if (der_len > 0) {
    const uint8_t *ders[1] = {der};
    size_t lens[1] = {(size_t)der_len};
    p->client = fg_tls_cert_new(pool, ders, lens, 1, leaf_key);
    p->trust = fg_trust_store_new();
    if (p->trust && !fg_trust_store_add_cert(p->trust, ca)) {
      fg_trust_store_free(p->trust);
      p->trust = NULL;
    }
  }
  OPENSSL_free(der);
  X509_free(leaf);
  X509_free(ca);
  EVP_PKEY_free(leaf_key);
  EVP_PKEY_free(ca_key);
  return p->client != NULL && p->trust != NULL;
}

static void mtls_pki_cleanup(mtls_pki *p) {
  fg_tls_cert_free(p->client);
  fg_trust_store_free(p->trust);
}

static atomic_long g_chain_failures;

// verify_chain judges the client's chain as an inbound stream's SASL
// EXTERNAL does on a verdict-cache miss: chain to the trust store, then the
// identity MTLS_PEER.
static enum fg_tls_verify_result verify_chain(fg_tls_conn *t, const CRYPTO_BUFFER *const *chain,
                                              size_t chain_len, void *arg) {
  (void)chain;
  (void)chain_len;
  const mtls_pki *p = arg;
  fg_peer_verdict v;
  fg_chain_params params = {.role = FG_ROLE_INBOUND};
  int ok = fg_peer_verify(&v, p->trust, SSL_get0_peer_certificates(fg_tls_conn_ssl(t)), MTLS_PEER,
                          "xmpp-server", 0, &params);
  fg_peer_verdict_cleanup(&v);
  if (!ok) atomic_fetch_add(&g_chain_failures, 1);
  return ok ? FG_TLS_VERIFY_OK : FG_TLS_VERIFY_REJECT;
}

// --- handshakes through the runtime ------------------------------------------

static atomic_long g_server_hs;
static fg_tls_ctx *g_cctx;
static struct sockaddr_in g_addr;
static atomic_int g_stop;
static atomic_long g_client_done, g_client_resumed, g_client_failed;

// The server greets with one byte: the client closes once it has it, so the
// NewSessionTickets sent just before it have arrived (resumption needs them).
static void srv_open(fg_conn *c) {
  atomic_fetch_add(&g_server_hs, 1);
  fg_conn_send(c, (const uint8_t *)"!", 1);
}

static size_t srv_sink(fg_conn *c, const uint8_t *d, size_t n) {
  return n;
}

static const fg_conn_handler srv_handler = {.on_open = srv_open, .on_data = srv_sink};

static void hs_launch(fg_worker *w, uintptr_t slot);

static void cl_open(fg_conn *c) {
  if (SSL_session_reused(fg_tls_conn_ssl(fg_conn_tls(c)))) atomic_fetch_add(&g_client_resumed, 1);
}

static size_t cl_data(fg_conn *c, const uint8_t *d, size_t n) {
  return n;
}

static size_t cl_greeted(fg_conn *c, const uint8_t *d, size_t n) {
  atomic_fetch_add(&g_client_done, 1);
  fg_conn_close(c);
  return n;
}

static void cl_close(fg_conn *c, enum fg_close_reason r) {
  if (r != FG_CLOSE_LOCAL && r != FG_CLOSE_SHUTDOWN) atomic_fetch_add(&g_client_failed, 1);
  if (!atomic_load(&g_stop)) hs_launch(fg_conn_worker(c), (uintptr_t)fg_conn_arg(c));
}

// cl_tls_created gives each of the connections kept in flight (a slot that
// reconnects as soon as it closed, like one s2s link) its own session key:
// TLS 1.3 sessions are used once (crypto/session_cache.h), and the slot's
// last handshake left the ticket its next one resumes.
static void cl_tls_created(fg_conn *c, fg_tls_conn *t) {
  char key[64];
  snprintf(key, sizeof(key), "bench.example slot %lu", (unsigned long)(uintptr_t)fg_conn_arg(c));
  fg_tls_conn_set_session_key(t, key);
}

static const fg_conn_handler cl_handler = {.on_open = cl_open,
                                           .on_data = cl_greeted,
                                           .on_close = cl_close,
                                           .on_tls_created = cl_tls_created};

static void hs_launch(fg_worker *w, uintptr_t slot) {
  fg_connect_config cc = {0};
  cc.addr = (struct sockaddr *)&g_addr;
  cc.addr_len = sizeof(g_addr);
  cc.handler = &cl_handler;
  cc.arg = (void *)slot;
  cc.tls = g_cctx;
  cc.server_name = "bench.example";
  fg_conn_connect(w, &cc);
}

typedef struct launch_msg {
  fg_msg m;
  int n;
} launch_msg;

static void launch_fn(fg_worker *w, fg_msg *m) {
  for (int i = 0; i < ((launch_msg *)m)->n; i++) hs_launch(w, (uintptr_t)i);
  free(m);
}

typedef struct hs_result {
  double wall_per_s, per_worker_cpu_s, server_cpu_util;
  long failed, resumed, total;
} hs_result;

static hs_result run_handshakes(fg_runtime *srv, fg_runtime *cli, int resumed, double seconds,
                                fg_tls_cert *client_cert) {
  fg_tls_ctx_config cc = {0};
  cc.role = FG_TLS_CLIENT;
  cc.direct_tls = 1;
  cc.session_cache = resumed;
  cc.client_cert = client_cert;
  g_cctx = fg_tls_ctx_new(&cc);
  if (resumed) {
    // Prime the cache with one full handshake per slot.
    atomic_store(&g_stop, 1);
    atomic_store(&g_client_done, 0);
    launch_msg *m = calloc(1, sizeof(*m));
    m->m.fn = launch_fn;
    m->n = 64;
    fg_worker_post(fg_runtime_worker(cli, 0), &m->m);
    while (atomic_load(&g_client_done) < 64) {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
  }
  atomic_store(&g_stop, 0);
  atomic_store(&g_client_failed, 0);
  atomic_store(&g_client_resumed, 0);
  atomic_store(&g_client_done, 0);
  long hs0 = atomic_load(&g_server_hs);
  double cpu0 = worker_cpu(fg_runtime_worker(srv, 0));
  double t0 = now_s();
  launch_msg *m = calloc(1, sizeof(*m));
  m->m.fn = launch_fn;
  m->n = 64;
  fg_worker_post(fg_runtime_worker(cli, 0), &m->m);
  struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
  nanosleep(&ts, NULL);
  long hs1 = atomic_load(&g_server_hs);
  double cpu1 = worker_cpu(fg_runtime_worker(srv, 0));
  double t1 = now_s();
  atomic_store(&g_stop, 1);
  ts.tv_sec = 0;
  ts.tv_nsec = 300000000;
  nanosleep(&ts, NULL);
  hs_result r;
  r.total = hs1 - hs0;
  r.wall_per_s = (double)r.total / (t1 - t0);
  r.per_worker_cpu_s = (double)r.total / (cpu1 - cpu0);
  r.server_cpu_util = (cpu1 - cpu0) / (t1 - t0);
  r.failed = atomic_load(&g_client_failed);
  r.resumed = atomic_load(&g_client_resumed);
  fg_tls_ctx_free(g_cctx);
  g_cctx = NULL;
  return r;
}

// --- bulk ----------------------------------------------------------------------

static atomic_long g_bulk_bytes;
static uint8_t g_record[16384];

static size_t bulk_sink(fg_conn *c, const uint8_t *d, size_t n) {
  atomic_fetch_add_explicit(&g_bulk_bytes, (long)n, memory_order_relaxed);
  return n;
}

static const fg_conn_handler bulk_srv_handler = {.on_data = bulk_sink};

static void bulk_more(fg_conn *c) {
  // One fg_conn_send of 16 KiB becomes one full-size TLS record.
  while (!atomic_load(&g_stop) && !fg_conn_write_blocked(c)) {
    if (!fg_conn_send(c, g_record, sizeof(g_record))) return;
  }
}

static const fg_conn_handler bulk_cl_handler = {
    .on_open = bulk_more, .on_data = cl_data, .on_drain = bulk_more};

static void bulk_launch_fn(fg_worker *w, fg_msg *m) {
  for (int i = 0; i < ((launch_msg *)m)->n; i++) {
    fg_connect_config cc = {0};
    cc.addr = (struct sockaddr *)&g_addr;
    cc.addr_len = sizeof(g_addr);
    cc.handler = &bulk_cl_handler;
    cc.tls = g_cctx;
    cc.server_name = "bench.example";
    fg_conn_connect(w, &cc);
  }
  free(m);
}

typedef struct bulk_result {
  double wall_mbps, per_worker_mbps, server_cpu_util;
} bulk_result;

static bulk_result run_bulk(fg_runtime *srv, fg_runtime *cli, double seconds, int conns) {
  fg_tls_ctx_config cc = {0};
  cc.role = FG_TLS_CLIENT;
  cc.direct_tls = 1;
  g_cctx = fg_tls_ctx_new(&cc);
  atomic_store(&g_stop, 0);
  launch_msg *m = calloc(1, sizeof(*m));
  m->m.fn = bulk_launch_fn;
  m->n = conns;
  fg_worker_post(fg_runtime_worker(cli, 0), &m->m);
  struct timespec ts = {0, 300000000};
  nanosleep(&ts, NULL);  // warm up
  long b0 = atomic_load(&g_bulk_bytes);
  double cpu0 = worker_cpu(fg_runtime_worker(srv, 0));
  double t0 = now_s();
  ts.tv_sec = (time_t)seconds;
  ts.tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9);
  nanosleep(&ts, NULL);
  long b1 = atomic_load(&g_bulk_bytes);
  double cpu1 = worker_cpu(fg_runtime_worker(srv, 0));
  double t1 = now_s();
  atomic_store(&g_stop, 1);
  bulk_result r;
  double mb = (double)(b1 - b0) / 1e6;
  r.wall_mbps = mb / (t1 - t0);
  r.per_worker_mbps = mb / (cpu1 - cpu0);
  r.server_cpu_util = (cpu1 - cpu0) / (t1 - t0);
  fg_tls_ctx_free(g_cctx);
  g_cctx = NULL;
  ts.tv_sec = 0;
  ts.tv_nsec = 200000000;
  nanosleep(&ts, NULL);  // let the senders stop
  return r;
}

// listen_on opens a direct-TLS listener with |sctx| and |h| on |srv| and
// points g_addr, where the clients connect, at it. It returns 1 or 0.
static int listen_on(fg_runtime *srv, fg_tls_ctx *sctx, const fg_conn_handler *h) {
  fg_listener_config lc = {0};
  lc.tls = sctx;
  lc.handler = h;
  uint16_t port;
  if (!fg_runtime_listen(srv, &lc, &port)) return 0;
  g_addr.sin_family = AF_INET;
  g_addr.sin_port = htons(port);
  g_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return 1;
}

// start_runtimes starts the one-worker server and client runtimes of a run
// (kernel TLS tried after handshakes where a context keeps the secrets). It
// returns 1, or 0 with a message.
static int start_runtimes(fg_runtime **srv, fg_runtime **cli) {
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = 1;
  o.ktls = 1;
  o.conn_high_water = 1 << 20;
  o.conn_low_water = 256 << 10;
  o.conn_max_output = 8 << 20;
  *srv = fg_runtime_new(&o);
  *cli = fg_runtime_new(&o);
  if (*srv == NULL || *cli == NULL) {
    fprintf(stderr, "tls_bench: cannot start the runtime\n");
    return 0;
  }
  return 1;
}

// ktls_compare runs one bulk connection into a kTLS server connection and
// one into a user-space TLS one (the client side is user-space TLS in both).
static int ktls_compare(fg_tls_sni *sni, double seconds, int json) {
  fg_runtime *srv, *cli;
  if (!start_runtimes(&srv, &cli)) return 1;
  bulk_result r[2];
  uint64_t attached[2];
  for (int mode = 0; mode < 2; mode++) {  // 0: kTLS, 1: user space
    fg_tls_ctx_config sc = {0};
    sc.role = FG_TLS_SERVER;
    sc.direct_tls = 1;
    sc.sni = sni;
    sc.capture_secrets = mode == 0;
    fg_tls_ctx *sctx = fg_tls_ctx_new(&sc);
    if (!listen_on(srv, sctx, &bulk_srv_handler)) return 1;
    fg_worker_stats st0, st1;
    fg_runtime_stats(srv, &st0);
    r[mode] = run_bulk(srv, cli, seconds, 1);
    fg_runtime_stats(srv, &st1);
    attached[mode] = st1.ktls_attached - st0.ktls_attached;
    fg_tls_ctx_free(sctx);
  }
  fg_runtime_shutdown(cli, 500);
  fg_runtime_shutdown(srv, 500);
  fg_runtime_free(cli);
  fg_runtime_free(srv);
  double ratio_cpu = r[1].per_worker_mbps > 0 ? r[0].per_worker_mbps / r[1].per_worker_mbps : 0;
  double ratio_wall = r[1].wall_mbps > 0 ? r[0].wall_mbps / r[1].wall_mbps : 0;
  if (json) {
    printf(
        "{\"ktls_attached\": %llu, \"ktls_mbps\": %.1f, \"user_mbps\": %.1f, "
        "\"ktls_wall_mbps\": %.1f, \"user_wall_mbps\": %.1f, \"ratio_cpu\": %.2f, "
        "\"ratio_wall\": %.2f}\n",
        (unsigned long long)attached[0], r[0].per_worker_mbps, r[1].per_worker_mbps, r[0].wall_mbps,
        r[1].wall_mbps, ratio_cpu, ratio_wall);
    return attached[0] == 1 ? 0 : 1;
  }
  printf("ktls-compare: bulk into one server connection, 16 KiB records, %.1f s each\n", seconds);
  printf(
      "  kernel TLS (server RX in kTLS, attached %llu): %8.1f MB/s per server-worker "
      "CPU-second; wall %.1f MB/s, worker %.0f%% busy\n",
      (unsigned long long)attached[0], r[0].per_worker_mbps, r[0].wall_mbps,
      100 * r[0].server_cpu_util);
  printf(
      "  user-space TLS (BoringSSL):                 %8.1f MB/s per server-worker "
      "CPU-second; wall %.1f MB/s, worker %.0f%% busy\n",
      r[1].per_worker_mbps, r[1].wall_mbps, 100 * r[1].server_cpu_util);
  printf("  ratio kTLS/user-space: %.2f per CPU-second, %.2f wall\n", ratio_cpu, ratio_wall);
  if (attached[0] != 1) {
    printf("  (the kTLS connection was not handed to the kernel: no `tls` ULP here?)\n");
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  int json = 0, compare = 0;
  double seconds = 3;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0)
      json = 1;
    else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
      seconds = atof(argv[++i]);
    else if (strcmp(argv[i], "--ktls-compare") == 0)
      compare = 1;
    else {
      fprintf(stderr, "usage: tls_bench [--json] [--seconds S] [--ktls-compare]\n");
      return 2;
    }
  }
  const char *names[] = {"bench.example"};
  CRYPTO_BUFFER_POOL *pool = CRYPTO_BUFFER_POOL_new();
  fg_tls_cert *cert = fg_tls_testcert_new(pool, names, 1, 0);
  fg_tls_sni *sni = fg_tls_sni_new();
  fg_tls_sni_add_cert(sni, cert);
  fg_tls_sni_set_default(sni, cert);
  if (compare) {
    int rc = ktls_compare(sni, seconds, json);
    fg_tls_sni_free(sni);
    fg_tls_cert_free(cert);
    CRYPTO_BUFFER_POOL_free(pool);
    return rc;
  }
  fg_tls_ctx_config sc = {0};
  sc.role = FG_TLS_SERVER;
  sc.direct_tls = 1;
  sc.sni = sni;
  fg_tls_ctx *sctx = fg_tls_ctx_new(&sc);
  fg_tls_ctx_config cc = {0};
  cc.role = FG_TLS_CLIENT;
  fg_tls_ctx *mem_cctx = fg_tls_ctx_new(&cc);
  cc.session_cache = 1;
  fg_tls_ctx *mem_resume_cctx = fg_tls_ctx_new(&cc);
  // The certificate check of a real deployment (crypto/identity) is not part
  // of this measurement: the hook is unset, so chains count as untrusted.

  double ceil_rate = ceiling(sctx, mem_cctx, seconds, 0);
  double ceil_resumed = ceiling(sctx, mem_resume_cctx, seconds, 1);

  mtls_pki mp;
  if (!mtls_pki_init(&mp, pool)) {
    fprintf(stderr, "tls_bench: cannot mint the client certificate\n");
    return 1;
  }
  cc.session_cache = 0;
  cc.client_cert = mp.client;
  fg_tls_ctx *mtls_cctx = fg_tls_ctx_new(&cc);
  cc.session_cache = 1;
  fg_tls_ctx *mtls_resume_cctx = fg_tls_ctx_new(&cc);
  sc.verify = verify_chain;
  sc.verify_arg = &mp;
  fg_tls_ctx *chain_sctx = fg_tls_ctx_new(&sc);
  double ceil_mtls = ceiling(sctx, mtls_cctx, seconds, 0);
  double ceil_mtls_chain = ceiling(chain_sctx, mtls_cctx, seconds, 0);
  // Resumed with a client certificate: the ticket then carries the peer's
  // certificate (what SASL EXTERNAL on a resumed stream relies on).
  double ceil_mtls_resumed = ceiling(sctx, mtls_resume_cctx, seconds, 1);
  fg_tls_ctx_free(chain_sctx);
  fg_tls_ctx_free(mtls_resume_cctx);
  fg_tls_ctx_free(mtls_cctx);
  if (atomic_load(&g_chain_failures) > 0 || ceil_mtls_chain <= 0) {
    fprintf(stderr, "tls_bench: the client chain did not verify\n");
    return 1;
  }

  fg_runtime *srv, *cli;
  if (!start_runtimes(&srv, &cli)) return 1;
  if (!listen_on(srv, sctx, &srv_handler)) return 1;
  hs_result full = run_handshakes(srv, cli, 0, seconds, NULL);
  hs_result res = run_handshakes(srv, cli, 1, seconds, NULL);
  // The same with the client certificate of an s2s peer: TLS over TCP
  // through the runtime and nothing else, the bound for whole s2s
  // establishments (bench/suite.py's churn) on this machine.
  hs_result full_mtls = run_handshakes(srv, cli, 0, seconds, mp.client);
  hs_result res_mtls = run_handshakes(srv, cli, 1, seconds, mp.client);
  mtls_pki_cleanup(&mp);

  if (!listen_on(srv, sctx, &bulk_srv_handler)) return 1;
  bulk_result bulk = run_bulk(srv, cli, seconds, 4);

  fg_runtime_shutdown(cli, 500);
  fg_runtime_shutdown(srv, 500);
  fg_runtime_free(cli);
  fg_runtime_free(srv);
  fg_tls_ctx_free(g_cctx);
  fg_tls_ctx_free(sctx);
  fg_tls_ctx_free(mem_cctx);
  fg_tls_ctx_free(mem_resume_cctx);
  fg_tls_sni_free(sni);
  fg_tls_cert_free(cert);
  CRYPTO_BUFFER_POOL_free(pool);

  if (json) {
    printf(
        "{\"full_hs_per_s\": %.0f, \"ceiling_full_hs_per_s\": %.0f, \"resumed_hs_per_s\": %.0f, "
        "\"ceiling_resumed_hs_per_s\": %.0f, \"ceiling_full_mtls_hs_per_s\": %.0f, "
        "\"ceiling_full_mtls_chain_hs_per_s\": %.0f, \"ceiling_resumed_mtls_hs_per_s\": %.0f, "
        "\"full_mtls_hs_per_s\": %.0f, \"resumed_mtls_hs_per_s\": %.0f, "
        "\"resumed_fraction\": %.3f, "
        "\"bulk_mbps\": %.0f, \"full_hs_wall_per_s\": %.0f, \"resumed_hs_wall_per_s\": %.0f, "
        "\"bulk_wall_mbps\": %.0f}\n",
        full.per_worker_cpu_s, ceil_rate, res.per_worker_cpu_s, ceil_resumed, ceil_mtls,
        ceil_mtls_chain, ceil_mtls_resumed, full_mtls.per_worker_cpu_s, res_mtls.per_worker_cpu_s,
        res.total ? (double)res.resumed / (double)res.total : 0.0, bulk.per_worker_mbps,
        full.wall_per_s, res.wall_per_s, bulk.wall_mbps);
    return 0;
  }
  printf("in-memory ceiling (BoringSSL server side): %8.0f full handshakes/s per core\n",
         ceil_rate);
  printf("in-memory ceiling (BoringSSL server side): %8.0f resumed TLS 1.3 handshakes/s per core\n",
         ceil_resumed);
  printf(
      "in-memory ceiling (BoringSSL server side): %8.0f full handshakes/s per core with a "
      "client certificate (CertificateVerify checked)\n",
      ceil_mtls);
  printf(
      "in-memory ceiling (BoringSSL server side): %8.0f full handshakes/s per core with a "
      "client certificate, its chain and identity checked each time\n",
      ceil_mtls_chain);
  printf(
      "in-memory ceiling (BoringSSL server side): %8.0f resumed handshakes/s per core of "
      "sessions made with a client certificate\n",
      ceil_mtls_resumed);
  printf(
      "full handshakes via runtime:   %8.0f /s per worker CPU-second (%.0f%% of ceiling); "
      "wall %.0f/s, server worker %.0f%% busy, %ld failed\n",
      full.per_worker_cpu_s, 100 * full.per_worker_cpu_s / ceil_rate, full.wall_per_s,
      100 * full.server_cpu_util, full.failed);
  printf(
      "resumed handshakes via runtime: %8.0f /s per worker CPU-second (%.0f%% of ceiling); wall "
      "%.0f/s, server worker %.0f%% busy, %ld of %ld client handshakes resumed\n",
      res.per_worker_cpu_s, 100 * res.per_worker_cpu_s / ceil_resumed, res.wall_per_s,
      100 * res.server_cpu_util, res.resumed, res.total);
  printf(
      "with a client certificate: full %8.0f /s per worker CPU-second (%.0f%% of its "
      "ceiling), resumed %8.0f (%.0f%% of its ceiling, %ld of %ld resumed)\n",
      full_mtls.per_worker_cpu_s, 100 * full_mtls.per_worker_cpu_s / ceil_mtls,
      res_mtls.per_worker_cpu_s, 100 * res_mtls.per_worker_cpu_s / ceil_mtls_resumed,
      res_mtls.resumed, res_mtls.total);
  printf(
      "bulk, 16 KiB records:          %8.0f MB/s per worker CPU-second; wall %.0f MB/s, "
      "server worker %.0f%% busy\n",
      bulk.per_worker_mbps, bulk.wall_mbps, 100 * bulk.server_cpu_util);
  return 0;
}
