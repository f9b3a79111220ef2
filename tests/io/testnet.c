// testnet.c: see testnet.h.
#include "tests/io/testnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "crypto/tls_testcert.h"

atomic_int tn_verify_calls;
atomic_long tn_echo_open, tn_echo_closed, tn_echo_bytes;
atomic_long tn_echo_reason[16];

long tn_raise_nofile(void) {
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  return (long)rl.rlim_cur;
}

fg_tls_ctx *tn_server_ctx(const char *name, int direct_tls, int capture_secrets) {
  // The index and certificate live for the whole test process.
  static fg_tls_sni *sni;
  static char sni_name[256];
  if (sni == NULL || strcmp(sni_name, name) != 0) {
    const char *names[1] = {name};
    fg_tls_cert *cert = fg_tls_testcert_new(NULL, names, 1, 0);
    if (cert == NULL) return NULL;
    sni = fg_tls_sni_new();
    fg_tls_sni_add_cert(sni, cert);
    fg_tls_sni_set_default(sni, cert);
    fg_tls_cert_free(cert);
    snprintf(sni_name, sizeof(sni_name), "%s", name);
  }
  fg_tls_ctx_config cfg = {0};
  cfg.role = FG_TLS_SERVER;
  cfg.direct_tls = direct_tls;
  cfg.capture_secrets = capture_secrets;
  cfg.sni = sni;
  return fg_tls_ctx_new(&cfg);
}

static enum fg_tls_verify_result accept_any(fg_tls_conn *t, const CRYPTO_BUFFER *const *chain,
                                            size_t n, void *arg) {
  atomic_fetch_add(&tn_verify_calls, 1);
  return FG_TLS_VERIFY_UNTRUSTED;
}

fg_tls_ctx *tn_client_ctx(int direct_tls, int session_cache) {
  fg_tls_ctx_config cfg = {0};
  cfg.role = FG_TLS_CLIENT;
  cfg.direct_tls = direct_tls;
  cfg.session_cache = session_cache;
  cfg.verify = accept_any;
  return fg_tls_ctx_new(&cfg);
}

int tn_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in sin = {0};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  struct timeval tv = {.tv_sec = 10};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

static SSL_CTX *client_ssl_ctx(void) {
  static SSL_CTX *ctx;
  if (ctx == NULL) {
    ctx = SSL_CTX_new(TLS_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  }
  return ctx;
}

SSL *tn_ssl_client(int fd, const char *name, int alpn) {
  SSL *ssl = SSL_new(client_ssl_ctx());
  SSL_set_fd(ssl, fd);
  if (name) SSL_set_tlsext_host_name(ssl, name);
  if (alpn) SSL_set_alpn_protos(ssl, (const uint8_t *)"\x0bxmpp-server", 12);
  if (SSL_connect(ssl) != 1) {
    SSL_free(ssl);
    return NULL;
  }
  return ssl;
}

int tn_read_full(int fd, uint8_t *out, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = recv(fd, out + got, n - got, 0);
    if (r <= 0) return 0;
    got += (size_t)r;
  }
  return 1;
}

int tn_ssl_read_full(SSL *ssl, uint8_t *out, size_t n) {
  size_t got = 0;
  while (got < n) {
    int r = SSL_read(ssl, out + got, (int)(n - got));
    if (r <= 0) return 0;
    got += (size_t)r;
  }
  return 1;
}

int tn_wait_until(atomic_long *v, long target, unsigned ms) {
  for (unsigned waited = 0; waited < ms; waited += 5) {
    if (atomic_load(v) >= target) return 1;
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return atomic_load(v) >= target;
}

static void echo_open(fg_conn *c) {
  atomic_fetch_add(&tn_echo_open, 1);
}

static size_t echo_data(fg_conn *c, const uint8_t *data, size_t len) {
  atomic_fetch_add(&tn_echo_bytes, (long)len);
  if (!fg_conn_send(c, data, len)) return len;
  if (fg_conn_write_blocked(c)) fg_conn_pause_reading(c);
  return len;
}

static void echo_drain(fg_conn *c) {
  fg_conn_resume_reading(c);
}

static void echo_close(fg_conn *c, enum fg_close_reason reason) {
  atomic_fetch_add(&tn_echo_reason[reason & 15], 1);
  atomic_fetch_add(&tn_echo_closed, 1);
}

const fg_conn_handler tn_echo_handler = {
    .on_open = echo_open,
    .on_data = echo_data,
    .on_drain = echo_drain,
    .on_close = echo_close,
};

void tn_echo_reset(void) {
  atomic_store(&tn_echo_open, 0);
  atomic_store(&tn_echo_closed, 0);
  atomic_store(&tn_echo_bytes, 0);
  for (int i = 0; i < 16; i++) atomic_store(&tn_echo_reason[i], 0);
}

int tn_echo_once(uint16_t port) {
  int fd = tn_connect(port);
  if (fd < 0) return 0;
  uint8_t buf[4];
  int ok = send(fd, "ping", 4, 0) == 4 && tn_read_full(fd, buf, 4) && memcmp(buf, "ping", 4) == 0;
  close(fd);
  return ok;
}

void tn_sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static pthread_mutex_t g_notice_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_notices[8192];

void tn_notice(const char *text) {
  pthread_mutex_lock(&g_notice_mu);
  size_t n = strlen(g_notices);
  snprintf(g_notices + n, sizeof(g_notices) - n, "%s\n", text);
  pthread_mutex_unlock(&g_notice_mu);
}

int tn_notice_count(const char *what) {
  pthread_mutex_lock(&g_notice_mu);
  int n = 0;
  for (const char *p = g_notices; (p = strstr(p, what)) != NULL; p++) n++;
  pthread_mutex_unlock(&g_notice_mu);
  return n;
}

void tn_notices_print(void) {
  pthread_mutex_lock(&g_notice_mu);
  printf("%s", g_notices);
  pthread_mutex_unlock(&g_notice_mu);
}

fg_runtime *tn_runtime_new(unsigned workers) {
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = workers;
  o.notice = tn_notice;
  tn_echo_reset();
  return fg_runtime_new(&o);
}
