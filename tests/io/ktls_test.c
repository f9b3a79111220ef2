// ktls_test.c: kernel TLS. Key/IV derivation runs everywhere (RFC 8448
// vectors). The runtime tests run the real io/conn.c path (fg_runtime, echo
// handler) against a BoringSSL client and check, from the runtime's counters,
// that the connection went where it had to:
//   - kernel with the `tls` ULP: the connection must be handed to kTLS;
//   - FEDGATE_KTLS_EXPECT=fallback (the qemu guest before `insmod tls`): the
//     kernel must lack the ULP, every connection must fall back to user-space
//     TLS (counted) and the very same echo must pass;
//   - FEDGATE_KTLS_EXPECT=ktls: a missing ULP is a failure, not a skip;
//   - no variable and no ULP (this build machine): skip, with the reason.
// Lines starting "[ktls]" are the evidence tools/ktls-vm/ prints.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "crypto/tls.h"
#include "crypto/tls_sni.h"
#include "crypto/tls_testcert.h"
#include "io/conn.h"
#include "io/ktls.h"
#include "io/listener.h"
#include "io/worker.h"
#include "tests/io/testnet.h"

static void unhex(uint8_t *out, const char *hex) {
  for (size_t i = 0; hex[2 * i]; i++) {
    unsigned v;
    sscanf(hex + 2 * i, "%2x", &v);
    out[i] = (uint8_t)v;
  }
}

typedef struct vec {
  const char *what, *secret, *key, *iv;
} vec;

// RFC 8448 §3 (Simple 1-RTT Handshake, TLS_AES_128_GCM_SHA256).
static const vec kRfc8448[] = {
    {"server handshake", "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38",
     "3fce516009c21727d0f2e4e86ee403bc", "5d313eb2671276ee13000b30"},
    {"client handshake", "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21",
     "dbfaa693d1762c5b666af5d950258d01", "5bd3c71b836e0b76bb73265f"},
    {"server application", "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
     "9f02283b6c9c07efc26bb9f2ac92e356", "cf782b88dd83549aadf1e984"},
    {"client application", "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5",
     "17422dda596ed5d9acd890e3c63f5051", "5b78923dee08579033e523d9"},
};

static void test_rfc8448_3_traffic_key_and_iv(void **state) {
  for (size_t i = 0; i < sizeof(kRfc8448) / sizeof(kRfc8448[0]); i++) {
    uint8_t secret[32], want_key[16], want_iv[12], key[32], iv[12];
    size_t key_len = 0;
    unhex(secret, kRfc8448[i].secret);
    unhex(want_key, kRfc8448[i].key);
    unhex(want_iv, kRfc8448[i].iv);
    assert_true(fg_ktls_derive(0x1301, secret, sizeof(secret), key, &key_len, iv));
    assert_int_equal(key_len, 16);
    assert_memory_equal(key, want_key, 16);
    assert_memory_equal(iv, want_iv, 12);
  }
}

// RFC 8448 §3: "derive secret for handshake tls13 derived" is
// HKDF-Expand-Label(early_secret, "derived", SHA-256(""), 32).
static void test_rfc8448_3_expand_label_with_context(void **state) {
  uint8_t early[32], empty_hash[32], want[32], out[32];
  unhex(early, "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a");
  unhex(empty_hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  unhex(want, "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba");
  assert_true(
      fg_ktls_hkdf_expand_label(EVP_sha256(), early, 32, "derived", empty_hash, 32, out, 32));
  assert_memory_equal(out, want, 32);
}

static void test_rfc8446_7_2_next_secret_and_suites(void **state) {
  uint8_t secret[48] = {1}, next[48], again[48];
  assert_true(fg_ktls_next_secret(0x1301, secret, 32, next));
  assert_true(
      fg_ktls_hkdf_expand_label(EVP_sha256(), secret, 32, "traffic upd", NULL, 0, again, 32));
  assert_memory_equal(next, again, 32);
  assert_true(fg_ktls_next_secret(0x1302, secret, 48, next));
  assert_false(fg_ktls_next_secret(0x1302, secret, 32, next));  // wrong length for SHA-384
  assert_true(fg_ktls_suite_supported(0x1303));
  assert_false(fg_ktls_suite_supported(0xc02b));  // a TLS 1.2 suite: not for this path
  assert_true(fg_ktls_tls12_suite_supported(0xc02b));
  assert_true(fg_ktls_tls12_suite_supported(0xc030));
  assert_false(fg_ktls_tls12_suite_supported(0xcca9));  // TLS 1.2 ChaCha20: user space
  uint8_t key[32], iv[12];
  size_t key_len;
  assert_true(fg_ktls_derive(0x1303, secret, 32, key, &key_len, iv));
  assert_int_equal(key_len, 32);
}

// --- runtime tests -----------------------------------------------------------

// ktls_mode returns 1 when connections must end up in kTLS, 0 when they must
// fall back to user space, or skips.
static int ktls_mode(void) {
  char why[200];
  int have = fg_ktls_probe(why, sizeof(why));
  const char *e = getenv("FEDGATE_KTLS_EXPECT");
  if (e != NULL && strcmp(e, "ktls") == 0) {
    if (!have) fail_msg("FEDGATE_KTLS_EXPECT=ktls but %s", why);
    return 1;
  }
  if (e != NULL && strcmp(e, "fallback") == 0) {
    if (have) fail_msg("FEDGATE_KTLS_EXPECT=fallback but this kernel has the tls ULP");
    return 0;
  }
  if (!have) {
    print_message("skipping: %s\n", why);
    skip();
  }
  return 1;
}

typedef struct server {
  fg_runtime *rt;
  fg_tls_ctx *ctx;
  uint16_t port;
  int ktls;  // what ktls_mode said
} server;

static fg_tls_sni *test_sni(void) {
  static fg_tls_sni *sni;
  if (sni == NULL) {
    const char *names[1] = {"example.net"};
    fg_tls_cert *cert = fg_tls_testcert_new(NULL, names, 1, 0);
    assert_non_null(cert);
    sni = fg_tls_sni_new();
    fg_tls_sni_add_cert(sni, cert);
    fg_tls_sni_set_default(sni, cert);
    fg_tls_cert_free(cert);
  }
  return sni;
}

static void server_start(server *s, int num_tickets) {
  memset(s, 0, sizeof(*s));
  s->ktls = ktls_mode();
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = 1;
  o.ktls = 1;
  s->rt = fg_runtime_new(&o);
  assert_non_null(s->rt);
  tn_echo_reset();
  fg_tls_ctx_config cfg = {0};
  cfg.role = FG_TLS_SERVER;
  cfg.direct_tls = 1;
  cfg.capture_secrets = 1;
  cfg.sni = test_sni();
  cfg.num_tickets = num_tickets;
  s->ctx = fg_tls_ctx_new(&cfg);
  assert_non_null(s->ctx);
  fg_listener_config lc = {0};
  lc.tls = s->ctx;
  lc.handler = &tn_echo_handler;
  assert_true(fg_runtime_listen(s->rt, &lc, &s->port));
}

// server_stop waits for |conns| connections to have closed, stops the
// runtime and checks they all went the expected way (kTLS or fallback).
static fg_worker_stats server_stop(server *s, long conns, const char *what) {
  assert_true(tn_wait_until(&tn_echo_closed, conns, 10000));
  fg_runtime_shutdown(s->rt, 1000);
  fg_worker_stats st;
  fg_runtime_stats(s->rt, &st);
  fg_runtime_free(s->rt);
  fg_tls_ctx_free(s->ctx);
  const char *went = st.ktls_attached == 0    ? "stayed in user-space TLS"
                     : st.ktls_fallbacks == 0 ? "handed to kTLS"
                                              : "some handed to kTLS";
  print_message(
      "[ktls] %s: %s: ktls_attached=%llu ktls_fallbacks=%llu tail_reads=%llu "
      "rekeys=%llu rekey_closes=%llu\n",
      what, went, (unsigned long long)st.ktls_attached, (unsigned long long)st.ktls_fallbacks,
      (unsigned long long)st.ktls_tail_reads, (unsigned long long)st.ktls_rekeys,
      (unsigned long long)st.ktls_rekey_closes);
  return st;
}

static void expect_handoffs(const fg_worker_stats *st, int ktls, uint64_t n) {
  assert_int_equal(st->ktls_attached, ktls ? n : 0);
  assert_int_equal(st->ktls_fallbacks, ktls ? 0 : n);
}

static int g_tickets;
static SSL_SESSION *g_ticket;

static int count_ticket(SSL *ssl, SSL_SESSION *sess) {
  g_tickets++;
  SSL_SESSION_free(g_ticket);
  g_ticket = sess;  // ours now
  return 1;
}

// client_ctx: BoringSSL client, |max| TLS version, optional TLS 1.2 cipher
// list, session tickets counted by count_ticket.
static SSL_CTX *client_ctx(uint16_t max, const char *ciphers) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  assert_non_null(ctx);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, max);
  if (ciphers) assert_true(SSL_CTX_set_strict_cipher_list(ctx, ciphers));
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx, count_ticket);
  return ctx;
}

static SSL *client_connect(SSL_CTX *ctx, uint16_t port, int *fd_out, SSL_SESSION *resume) {
  int fd = tn_connect(port);
  assert_true(fd >= 0);
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "example.net");
  SSL_set_alpn_protos(ssl, (const uint8_t *)"\x0bxmpp-server", 12);
  if (resume) SSL_set_session(ssl, resume);
  assert_int_equal(SSL_connect(ssl), 1);
  *fd_out = fd;
  return ssl;
}

static void fill(uint8_t *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

// echo_check writes |n| patterned bytes and reads them back.
static void echo_check(SSL *ssl, size_t n, unsigned seed) {
  static uint8_t out[1 << 17], back[1 << 17];
  assert_true(n <= sizeof(out));
  fill(out, n, seed);
  assert_int_equal(SSL_write(ssl, out, (int)n), (int)n);
  assert_true(tn_ssl_read_full(ssl, back, n));
  assert_memory_equal(out, back, n);
}

// echo_sizes: 100 one-byte round trips, then records of every awkward size
// from 1 byte to 64 KiB, then a burst of 64 records written before reading.
static void echo_sizes(SSL *ssl) {
  for (unsigned i = 0; i < 100; i++) echo_check(ssl, 1, i);
  static const size_t sizes[] = {1,    2,     5,     13,    255,   256,   1000,  1400,  4095, 4096,
                                 8191, 16383, 16384, 16385, 16401, 32768, 40000, 65535, 65536};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) echo_check(ssl, sizes[i], i);
  static uint8_t burst[64 * 1000], back[64 * 1000];
  for (unsigned i = 0; i < 64; i++) {
    fill(burst + i * 1000, 1000, 100 + i);
    assert_int_equal(SSL_write(ssl, burst + i * 1000, 1000), 1000);
  }
  assert_true(tn_ssl_read_full(ssl, back, sizeof(back)));
  assert_memory_equal(burst, back, sizeof(back));
}

// close_both_ways: our close_notify, the runtime answers with its own (RFC
// 8446 §6.1), seen by the client as a clean end of stream.
static void close_both_ways(SSL *ssl, int fd) {
  assert_int_equal(SSL_shutdown(ssl), 0);  // sent ours, theirs not yet seen
  uint8_t b;
  int r = SSL_read(ssl, &b, 1);
  assert_int_equal(r, 0);
  assert_int_equal(SSL_get_error(ssl, r), SSL_ERROR_ZERO_RETURN);
  SSL_free(ssl);
  close(fd);
}

// TLS 1.3 handshake, handoff of TX and RX, echo both ways from 1 byte to
// 64 KiB, close_notify both ways.
static void test_rfc8446_handshake_handoff_echo_1b_to_64k(void **state) {
  server s;
  server_start(&s, 0);
  SSL_CTX *cctx = client_ctx(TLS1_3_VERSION, NULL);
  int fd;
  SSL *ssl = client_connect(cctx, s.port, &fd, NULL);
  print_message("[ktls] handshake: %s %s\n", SSL_get_version(ssl),
                SSL_CIPHER_standard_name(SSL_get_current_cipher(ssl)));
  echo_sizes(ssl);
  close_both_ways(ssl, fd);
  fg_worker_stats st = server_stop(&s, 1, "TLS 1.3 echo 1 B..64 KiB");
  expect_handoffs(&st, s.ktls, 1);
  assert_int_equal(atomic_load(&tn_echo_reason[FG_CLOSE_PEER]), 1);  // close_notify seen
  print_message("[ktls] close_notify both ways: ok\n");
  SSL_CTX_free(cctx);
}

// --- a client whose bytes we put on the wire ourselves -------------------------

typedef struct wire {
  SSL *ssl;
  BIO *net;  // our end of the BIO pair
  int fd;
} wire;

static void wire_out(wire *w, size_t limit) {
  static uint8_t buf[1 << 18];
  size_t n = BIO_ctrl_pending(w->net);
  if (n > limit) n = limit;
  if (n > sizeof(buf)) n = sizeof(buf);
  if (n == 0) return;
  assert_int_equal(BIO_read(w->net, buf, (int)n), (int)n);
  assert_int_equal(send(w->fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void wire_in(wire *w) {
  uint8_t buf[16384];
  size_t room = BIO_ctrl_get_write_guarantee(w->net);
  if (room > sizeof(buf)) room = sizeof(buf);
  ssize_t n = recv(w->fd, buf, room, 0);
  assert_true(n > 0);
  assert_int_equal(BIO_write(w->net, buf, (int)n), (int)n);
}

// wire_handshake runs the client handshake and returns with the client's
// last flight (Finished) still unsent.
static void wire_handshake(wire *w, SSL_CTX *ctx, uint16_t port) {
  w->fd = tn_connect(port);
  assert_true(w->fd >= 0);
  w->ssl = SSL_new(ctx);
  BIO *inner;
  assert_true(BIO_new_bio_pair(&inner, 1 << 18, &w->net, 1 << 18));
  SSL_set_bio(w->ssl, inner, inner);
  SSL_set_connect_state(w->ssl);
  SSL_set_tlsext_host_name(w->ssl, "example.net");
  SSL_set_alpn_protos(w->ssl, (const uint8_t *)"\x0bxmpp-server", 12);
  for (;;) {
    int r = SSL_do_handshake(w->ssl);
    if (r == 1) break;
    assert_int_equal(SSL_get_error(w->ssl, r), SSL_ERROR_WANT_READ);
    wire_out(w, SIZE_MAX);
    wire_in(w);
  }
}

static void wire_read_full(wire *w, uint8_t *out, size_t n) {
  size_t got = 0;
  while (got < n) {
    int r = SSL_read(w->ssl, out + got, (int)(n - got));
    if (r > 0) {
      got += (size_t)r;
      continue;
    }
    assert_int_equal(SSL_get_error(w->ssl, r), SSL_ERROR_WANT_READ);
    wire_out(w, SIZE_MAX);
    wire_in(w);
  }
}

static void wire_write(wire *w, const uint8_t *p, size_t n) {
  assert_int_equal(SSL_write(w->ssl, p, (int)n), (int)n);
  wire_out(w, SIZE_MAX);
}

// wire_close sends close_notify and expects the runtime's own back.
static void wire_close(wire *w) {
  assert_int_equal(SSL_shutdown(w->ssl), 0);
  wire_out(w, SIZE_MAX);
  for (;;) {
    uint8_t b;
    int r = SSL_read(w->ssl, &b, 1);
    assert_true(r <= 0);
    int err = SSL_get_error(w->ssl, r);
    if (err == SSL_ERROR_ZERO_RETURN) break;
    assert_int_equal(err, SSL_ERROR_WANT_READ);
    wire_in(w);
  }
  SSL_free(w->ssl);
  BIO_free(w->net);
  close(w->fd);
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

// Records written by the client right behind its Finished, cut on the wire
// inside a record header, inside a record body, and on a record boundary:
// whatever the runtime read before the handoff is delivered, in order, before
// what the kernel decrypts after it (the runtime reads the rest of a split
// record itself first: ktls_tail_reads).
static void test_rfc8446_5_records_before_handoff_in_order(void **state) {
  server s;
  server_start(&s, 0);
  SSL_CTX *cctx = client_ctx(TLS1_3_VERSION, NULL);
  static const size_t cuts[] = {2, 5 + 100, 0};  // bytes of the first data record sent early
  static uint8_t out[6 * 3000], back[6 * 3000];
  for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
    wire w;
    wire_handshake(&w, cctx, s.port);
    size_t finished = BIO_ctrl_pending(w.net);  // the client's Finished
    fill(out, sizeof(out), (unsigned)k);
    for (int i = 0; i < 6; i++) {
      assert_int_equal(SSL_write(w.ssl, out + i * 3000, 3000), 3000);
    }
    long opened = atomic_load(&tn_echo_open);
    wire_out(&w, finished + cuts[k]);
    // The runtime finishes its handshake (on_open) and prepares the handoff
    // before the rest arrives.
    assert_true(tn_wait_until(&tn_echo_open, opened + 1, 10000));
    sleep_ms(100);
    wire_out(&w, SIZE_MAX);
    wire_read_full(&w, back, sizeof(back));
    assert_memory_equal(out, back, sizeof(back));
    fill(out, sizeof(out), 99);
    wire_write(&w, out, sizeof(out));  // and after the handoff
    wire_read_full(&w, back, sizeof(back));
    assert_memory_equal(out, back, sizeof(back));
    wire_close(&w);
  }
  fg_worker_stats st = server_stop(&s, 3, "records split around the handoff");
  expect_handoffs(&st, s.ktls, 3);
  if (s.ktls)
    assert_true(st.ktls_tail_reads >= 3);  // header cut: 2 reads, body cut: 1
  else
    assert_int_equal(st.ktls_tail_reads, 0);
  SSL_CTX_free(cctx);
}

// The server's NewSessionTickets (RFC 8446 §4.6.1) are queued when the
// handshake completes: the handoff waits until they are on the wire, the
// client reads both intact (then kTLS data), and the ticket resumes a second
// connection that is handed to the kernel too.
static void test_rfc8446_4_6_1_tickets_pending_at_handoff(void **state) {
  server s;
  server_start(&s, 2);
  SSL_CTX *cctx = client_ctx(TLS1_3_VERSION, NULL);
  g_tickets = 0;
  int fd;
  SSL *ssl = client_connect(cctx, s.port, &fd, NULL);
  echo_check(ssl, 1, 1);  // SSL_read processes the tickets on its way
  echo_check(ssl, 16384, 2);
  assert_int_equal(g_tickets, 2);
  assert_non_null(g_ticket);
  close_both_ways(ssl, fd);
  SSL_SESSION *ticket = g_ticket;
  g_ticket = NULL;
  ssl = client_connect(cctx, s.port, &fd, ticket);
  assert_true(SSL_session_reused(ssl));
  echo_check(ssl, 40000, 3);
  close_both_ways(ssl, fd);
  SSL_SESSION_free(ticket);
  SSL_SESSION_free(g_ticket);
  g_ticket = NULL;
  print_message(
      "[ktls] tickets: %d NewSessionTickets read by the client over 2 connections, "
      "resumed: yes\n",
      g_tickets);
  fg_worker_stats st = server_stop(&s, 2, "tickets pending at handoff + resumption");
  expect_handoffs(&st, s.ktls, 2);
  SSL_CTX_free(cctx);
}

// A peer KeyUpdate (RFC 8446 §4.6.3) after the handoff, with and without
// update_requested. A kernel that can re-key (Linux >= 6.14) gets the new
// keys and the echo goes on; one that cannot (this guest's 6.1) makes the
// runtime close the connection cleanly: a fatal internal_error alert to the
// peer, counted in ktls_rekey_closes, no hang. In user-space fallback
// BoringSSL handles the KeyUpdate and the echo goes on.
// --- reading the server worker's counters on its own thread -------------------

typedef struct stats_msg {
  fg_msg m;
  fg_worker_stats st;
  atomic_int done;
} stats_msg;

static void stats_fn(fg_worker *w, fg_msg *m) {
  stats_msg *sm = (stats_msg *)m;
  fg_worker_stats_get(w, &sm->st);
  atomic_store(&sm->done, 1);
}

// wait_decided waits until |n| connections of |rt|'s only worker have gone
// to kTLS or fallen back. It returns 1, or 0 after 10 s.
static int wait_decided(fg_runtime *rt, uint64_t n) {
  for (int i = 0; i < 1000; i++) {
    stats_msg sm;
    memset(&sm, 0, sizeof(sm));
    sm.m.fn = stats_fn;
    fg_worker_post(fg_runtime_worker(rt, 0), &sm.m);
    while (!atomic_load(&sm.done)) sleep_ms(1);
    if (sm.st.ktls_attached + sm.st.ktls_fallbacks >= n) return 1;
    sleep_ms(10);
  }
  return 0;
}

static void key_update_case(int requested) {
  server s;
  server_start(&s, 0);
  int rekey = s.ktls && fg_ktls_rekey_probe();
  SSL_CTX *cctx = client_ctx(TLS1_3_VERSION, NULL);
  int fd;
  SSL *ssl = client_connect(cctx, s.port, &fd, NULL);
  echo_check(ssl, 100, 1);
  assert_true(wait_decided(s.rt, 1));  // the KeyUpdate must come after the handoff
  echo_check(ssl, 5000, 2);
  assert_true(
      SSL_key_update(ssl, requested ? SSL_KEY_UPDATE_REQUESTED : SSL_KEY_UPDATE_NOT_REQUESTED));
  const char *what = requested ? "KeyUpdate(update_requested)" : "KeyUpdate(update_not_requested)";
  if (!s.ktls || rekey) {
    echo_check(ssl, 3000, 3);  // sends the KeyUpdate first
    echo_check(ssl, 65536, 4);
    close_both_ways(ssl, fd);
    print_message("[ktls] %s: %s, echo continues\n", what,
                  s.ktls ? "kernel re-keyed" : "handled by BoringSSL in user space");
  } else {
    uint8_t b[64];
    assert_int_equal(SSL_write(ssl, "after", 5), 5);
    int r = SSL_read(ssl, b, sizeof(b));
    assert_true(r <= 0);
    assert_int_equal(SSL_get_error(ssl, r), SSL_ERROR_SSL);
    uint32_t e = ERR_peek_error();
    char es[200];
    ERR_error_string_n(e, es, sizeof(es));
    assert_int_equal(ERR_GET_REASON(e), SSL_R_TLSV1_ALERT_INTERNAL_ERROR);
    print_message(
        "[ktls] %s: kernel cannot re-key: runtime closed the connection cleanly "
        "(client saw: %s)\n",
        what, es);
    ERR_clear_error();
    SSL_free(ssl);
    close(fd);
  }
  fg_worker_stats st = server_stop(&s, 1, what);
  expect_handoffs(&st, s.ktls, 1);
  if (s.ktls && rekey) {
    assert_int_equal(st.ktls_rekeys, 1);
    assert_int_equal(st.ktls_rekey_closes, 0);
  } else if (s.ktls) {
    assert_int_equal(st.ktls_rekeys, 0);
    assert_int_equal(st.ktls_rekey_closes, 1);
    assert_int_equal(atomic_load(&tn_echo_reason[FG_CLOSE_TLS_ERROR]), 1);
  } else {
    assert_int_equal(st.ktls_rekeys + st.ktls_rekey_closes, 0);
  }
  SSL_CTX_free(cctx);
}

static void test_rfc8446_4_6_3_key_update_not_requested(void **state) {
  key_update_case(0);
}

static void test_rfc8446_4_6_3_key_update_requested(void **state) {
  key_update_case(1);
}

// A KeyUpdate that reaches BoringSSL before the handoff (sent in the same
// flight as the client's Finished) makes the captured secrets stale: the
// runtime keeps that connection in user space (a counted fallback) and the
// echo works.
static void test_rfc8446_4_6_3_key_update_before_handoff_stays_in_user_space(void **state) {
  server s;
  server_start(&s, 0);
  SSL_CTX *cctx = client_ctx(TLS1_3_VERSION, NULL);
  wire w;
  wire_handshake(&w, cctx, s.port);
  assert_true(SSL_key_update(w.ssl, SSL_KEY_UPDATE_NOT_REQUESTED));
  static uint8_t out[30000], back[30000];
  fill(out, sizeof(out), 7);
  wire_write(&w, out, sizeof(out));  // Finished + KeyUpdate + data in one send
  wire_read_full(&w, back, sizeof(back));
  assert_memory_equal(out, back, sizeof(back));
  wire_close(&w);
  fg_worker_stats st = server_stop(&s, 1, "KeyUpdate before the handoff");
  assert_int_equal(st.ktls_attached, 0);
  assert_int_equal(st.ktls_fallbacks, 1);
  SSL_CTX_free(cctx);
}

// TLS 1.2 AES-GCM (RFC 5288) goes to the kernel as well: keys and implicit
// IVs from the key block, sequence numbers from BoringSSL.
static void test_rfc5288_tls12_aes_gcm_handoff(void **state) {
  static const char *const ciphers[] = {"ECDHE-ECDSA-AES128-GCM-SHA256",
                                        "ECDHE-ECDSA-AES256-GCM-SHA384"};
  server s;
  server_start(&s, 0);
  for (size_t i = 0; i < 2; i++) {
    SSL_CTX *cctx = client_ctx(TLS1_2_VERSION, ciphers[i]);
    int fd;
    SSL *ssl = client_connect(cctx, s.port, &fd, NULL);
    assert_int_equal(SSL_version(ssl), TLS1_2_VERSION);
    print_message("[ktls] handshake: %s %s\n", SSL_get_version(ssl),
                  SSL_CIPHER_standard_name(SSL_get_current_cipher(ssl)));
    echo_sizes(ssl);
    close_both_ways(ssl, fd);
    SSL_CTX_free(cctx);
  }
  fg_worker_stats st = server_stop(&s, 2, "TLS 1.2 AES-128-GCM and AES-256-GCM");
  expect_handoffs(&st, s.ktls, 2);
}

// --- the runtime as the TLS client ---------------------------------------------

// A blocking BoringSSL echo server in a thread (the fedgate server context's
// SSL_CTX: certificate, ALPN; it sends two NewSessionTickets after the
// handshake, which reach the runtime's client around its handoff).
typedef struct bssl_server {
  int lfd;
  uint16_t port;
  SSL_CTX *ctx;
  pthread_t th;
  long echoed;
  int saw_close_notify;  // connections that ended with our close_notify
} bssl_server;

static void bssl_serve_one(bssl_server *s) {
  int fd = accept(s->lfd, NULL, NULL);
  if (fd < 0) return;
  struct timeval tv = {.tv_sec = 10};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  SSL *ssl = SSL_new(s->ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) == 1) {
    static uint8_t buf[65536];
    for (;;) {
      int r = SSL_read(ssl, buf, sizeof(buf));
      if (r <= 0) {
        if (SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN) {
          s->saw_close_notify++;
          SSL_shutdown(ssl);
        }
        break;
      }
      if (SSL_write(ssl, buf, r) != r) break;
      s->echoed += r;
    }
  }
  SSL_free(ssl);
  close(fd);
}

static void *bssl_server_main(void *arg) {
  bssl_serve_one(arg);  // two connections: the second resumes
  bssl_serve_one(arg);
  return NULL;
}

static struct {
  uint8_t out[100000], back[100000];
  atomic_long got;
  atomic_int closed, reason, resumed;
} g_cl;

// The client says one byte first and sends the rest once it is echoed, so
// the connection is settled (kTLS or not) before it closes.
static void cl_open(fg_conn *c) {
  if (SSL_session_reused(fg_tls_conn_ssl(fg_conn_tls(c)))) atomic_fetch_add(&g_cl.resumed, 1);
  fg_conn_send(c, g_cl.out, 1);
}

static size_t cl_data(fg_conn *c, const uint8_t *d, size_t n) {
  long got = atomic_load(&g_cl.got);
  if ((size_t)got + n > sizeof(g_cl.back)) n = sizeof(g_cl.back) - (size_t)got;
  memcpy(g_cl.back + got, d, n);
  atomic_store(&g_cl.got, got + (long)n);
  if (got == 0) {
    for (size_t off = 1; off < sizeof(g_cl.out); off += 9999) {
      size_t k = sizeof(g_cl.out) - off < 9999 ? sizeof(g_cl.out) - off : 9999;
      fg_conn_send(c, g_cl.out + off, k);
    }
  }
  if ((size_t)got + n == sizeof(g_cl.back)) fg_conn_close(c);
  return n;
}

static void cl_close(fg_conn *c, enum fg_close_reason r) {
  atomic_store(&g_cl.reason, (int)r);
  atomic_store(&g_cl.closed, 1);
}

static const fg_conn_handler cl_handler = {
    .on_open = cl_open, .on_data = cl_data, .on_close = cl_close};

typedef struct connect_msg {
  fg_msg m;
  fg_connect_config cc;
} connect_msg;

static void connect_fn(fg_worker *w, fg_msg *m) {
  assert_non_null(fg_conn_connect(w, &((connect_msg *)m)->cc));
}

static enum fg_tls_verify_result accept_untrusted(fg_tls_conn *t, const CRYPTO_BUFFER *const *chain,
                                                  size_t n, void *arg) {
  return FG_TLS_VERIFY_UNTRUSTED;
}

// fedgate dialling out: the runtime is the TLS 1.3 client. It lets BoringSSL
// read the server's NewSessionTickets (RFC 8446 §4.6.1) before handing the
// connection to the kernel, so the ticket is kept and the second connection
// resumes; both go to kTLS and no ticket arrives behind the handoff.
static void test_rfc8446_4_6_1_runtime_client_tickets_around_handoff(void **state) {
  int ktls = ktls_mode();
  fg_tls_ctx_config sc = {0};
  sc.role = FG_TLS_SERVER;
  sc.direct_tls = 1;
  sc.sni = test_sni();
  sc.num_tickets = 2;
  fg_tls_ctx *sctx = fg_tls_ctx_new(&sc);
  bssl_server bs = {0};
  bs.ctx = fg_tls_ctx_ssl_ctx(sctx);
  bs.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sin = {0};
  socklen_t sl = sizeof(sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(bs.lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  assert_int_equal(listen(bs.lfd, 4), 0);
  assert_int_equal(getsockname(bs.lfd, (struct sockaddr *)&sin, &sl), 0);
  assert_int_equal(pthread_create(&bs.th, NULL, bssl_server_main, &bs), 0);

  fg_tls_ctx_config cc = {0};
  cc.role = FG_TLS_CLIENT;
  cc.direct_tls = 1;
  cc.capture_secrets = 1;
  cc.session_cache = 1;
  cc.verify = accept_untrusted;
  fg_tls_ctx *cctx = fg_tls_ctx_new(&cc);
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = 1;
  o.ktls = 1;
  fg_runtime *rt = fg_runtime_new(&o);
  assert_non_null(rt);
  atomic_store(&g_cl.resumed, 0);
  for (int round = 0; round < 2; round++) {
    fill(g_cl.out, sizeof(g_cl.out), 42 + (unsigned)round);
    memset(g_cl.back, 0, sizeof(g_cl.back));
    atomic_store(&g_cl.got, 0);
    atomic_store(&g_cl.closed, 0);
    static connect_msg m;
    memset(&m, 0, sizeof(m));
    m.m.fn = connect_fn;
    m.cc.addr = (struct sockaddr *)&sin;
    m.cc.addr_len = sizeof(sin);
    m.cc.handler = &cl_handler;
    m.cc.tls = cctx;
    m.cc.server_name = "example.net";
    fg_worker_post(fg_runtime_worker(rt, 0), &m.m);
    for (int i = 0; i < 2000 && !atomic_load(&g_cl.closed); i++) sleep_ms(5);
    assert_true(atomic_load(&g_cl.closed));
    assert_int_equal(atomic_load(&g_cl.reason), FG_CLOSE_LOCAL);
    assert_int_equal(atomic_load(&g_cl.got), sizeof(g_cl.back));
    assert_memory_equal(g_cl.out, g_cl.back, sizeof(g_cl.back));
  }
  pthread_join(bs.th, NULL);
  close(bs.lfd);
  assert_int_equal(bs.echoed, 2 * sizeof(g_cl.out));
  assert_int_equal(bs.saw_close_notify, 2);  // the runtime's close_notify, kTLS or BoringSSL
  assert_int_equal(atomic_load(&g_cl.resumed), 1);
  fg_runtime_shutdown(rt, 1000);
  fg_worker_stats st;
  fg_runtime_stats(rt, &st);
  fg_runtime_free(rt);
  fg_tls_ctx_free(cctx);
  fg_tls_ctx_free(sctx);
  print_message(
      "[ktls] runtime as client: %s: ktls_attached=%llu ktls_fallbacks=%llu, "
      "tickets skipped behind the handoff: %llu, second connection resumed: yes, "
      "close_notify sent: yes\n",
      ktls ? "handoff to kTLS" : "user-space fallback", (unsigned long long)st.ktls_attached,
      (unsigned long long)st.ktls_fallbacks, (unsigned long long)st.ktls_tickets_skipped);
  expect_handoffs(&st, ktls, 2);
  assert_int_equal(st.ktls_tickets_skipped, 0);
}

// The kernel without the ULP (this build machine; the guest before `insmod
// tls`): a connection that asked for kTLS stays in user space, counted.
static void test_ktls_absent_falls_back_to_user_space(void **state) {
  char why[200];
  if (fg_ktls_probe(why, sizeof(why))) {
    print_message("skipping: this kernel has the tls ULP\n");
    skip();
  }
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = 1;
  fg_runtime *rt = fg_runtime_new(&o);
  tn_echo_reset();
  fg_tls_ctx *sctx = tn_server_ctx("example.net", 1, 1);
  fg_listener_config lc = {0};
  lc.tls = sctx;
  lc.handler = &tn_echo_handler;
  uint16_t port;
  assert_true(fg_runtime_listen(rt, &lc, &port));
  int fd = tn_connect(port);
  SSL *ssl = tn_ssl_client(fd, "example.net", 1);
  assert_non_null(ssl);
  uint8_t r;
  assert_int_equal(SSL_write(ssl, "k", 1), 1);
  assert_int_equal(SSL_read(ssl, &r, 1), 1);
  SSL_free(ssl);
  close(fd);
  assert_true(tn_wait_until(&tn_echo_closed, 1, 5000));
  fg_runtime_shutdown(rt, 1000);
  fg_worker_stats st;
  fg_runtime_stats(rt, &st);
  assert_int_equal(st.ktls_attached, 0);
  assert_int_equal(st.ktls_fallbacks, 1);
  print_message("[ktls] fallback control: no tls ULP (%s): ktls_fallbacks=1, echo ok\n", why);
  fg_runtime_free(rt);
  fg_tls_ctx_free(sctx);
}

int main(void) {
  struct utsname u;
  uname(&u);
  char why[200];
  int have = fg_ktls_probe(why, sizeof(why));
  print_message("[ktls] kernel %s: tls ULP %s%s%s; re-key after KeyUpdate: %s\n", u.release,
                have ? "present" : "absent", have ? "" : " - ", why,
                fg_ktls_rekey_probe() ? "supported" : "not supported");
  // The key schedule tests come first: they need no kernel feature and
  // give the same answer everywhere, so the kernel runs of the qemu guest
  // (FEDGATE_KTLS_EXPECT set, tools/ktls-vm) leave them to the host's run and
  // make test counts each of them once.
  enum { kKeyScheduleTests = 3 };
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc8448_3_traffic_key_and_iv),
      cmocka_unit_test(test_rfc8448_3_expand_label_with_context),
      cmocka_unit_test(test_rfc8446_7_2_next_secret_and_suites),
      cmocka_unit_test(test_rfc8446_handshake_handoff_echo_1b_to_64k),
      cmocka_unit_test(test_rfc8446_5_records_before_handoff_in_order),
      cmocka_unit_test(test_rfc8446_4_6_1_tickets_pending_at_handoff),
      cmocka_unit_test(test_rfc8446_4_6_3_key_update_not_requested),
      cmocka_unit_test(test_rfc8446_4_6_3_key_update_requested),
      cmocka_unit_test(test_rfc8446_4_6_3_key_update_before_handoff_stays_in_user_space),
      cmocka_unit_test(test_rfc5288_tls12_aes_gcm_handoff),
      cmocka_unit_test(test_rfc8446_4_6_1_runtime_client_tickets_around_handoff),
      cmocka_unit_test(test_ktls_absent_falls_back_to_user_space),
  };
  size_t first = getenv("FEDGATE_KTLS_EXPECT") != NULL ? kKeyScheduleTests : 0;
  return _cmocka_run_group_tests("tests", tests + first, sizeof(tests) / sizeof(tests[0]) - first,
                                 NULL, NULL);
}
