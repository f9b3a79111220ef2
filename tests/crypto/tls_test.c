// tls_test.c: crypto/tls over memory: both roles, protocol and suite policy,
// ECDSA and RSA, the verify hook, optional client certificates, ALPN
// (XEP-0368), resumption, secrets for kTLS, 1-byte input, SNI among 1,000
// certificates, CRYPTO_BUFFER sharing.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pool.h>
#include <openssl/ssl.h>

#include "crypto/tls.h"
#include "crypto/tls_sni.h"
#include "crypto/tls_testcert.h"
#include "tests/crypto/tls_pair.h"

static fg_tls_cert *g_ecdsa, *g_rsa;
static fg_tls_sni *g_sni;
static int g_verify_calls;
static enum fg_tls_verify_result g_verify_answer = FG_TLS_VERIFY_UNTRUSTED;
static size_t g_verify_chain_len;

static enum fg_tls_verify_result hook(fg_tls_conn *t, const CRYPTO_BUFFER *const *chain, size_t n,
                                      void *arg) {
  g_verify_calls++;
  g_verify_chain_len = n;
  return g_verify_answer;
}

static fg_tls_ctx *server(const fg_tls_sni *sni, int direct, int capture) {
  fg_tls_ctx_config cfg = {0};
  cfg.role = FG_TLS_SERVER;
  cfg.sni = sni;
  cfg.direct_tls = direct;
  cfg.capture_secrets = capture;
  cfg.verify = hook;
  return fg_tls_ctx_new(&cfg);
}

static fg_tls_ctx *client(int direct, int cache, fg_tls_cert *cert, int capture) {
  fg_tls_ctx_config cfg = {0};
  cfg.role = FG_TLS_CLIENT;
  cfg.direct_tls = direct;
  cfg.session_cache = cache;
  cfg.client_cert = cert;
  cfg.capture_secrets = capture;
  cfg.verify = hook;
  return fg_tls_ctx_new(&cfg);
}

static int setup(void **state) {
  const char *names[] = {"example.net", "*.example.net"};
  g_ecdsa = fg_tls_testcert_new(NULL, names, 2, 0);
  const char *rsa_names[] = {"rsa.example.org"};
  g_rsa = fg_tls_testcert_new(NULL, rsa_names, 1, 2048);
  g_sni = fg_tls_sni_new();
  fg_tls_sni_add_cert(g_sni, g_ecdsa);
  fg_tls_sni_add_cert(g_sni, g_rsa);
  fg_tls_sni_set_default(g_sni, g_ecdsa);
  return g_ecdsa && g_rsa ? 0 : -1;
}

static int teardown(void **state) {
  fg_tls_sni_free(g_sni);
  fg_tls_cert_free(g_ecdsa);
  fg_tls_cert_free(g_rsa);
  return 0;
}

static void test_rfc8446_tls13_ecdsa_x25519_data_and_close_notify(void **state) {
  fg_tls_ctx *s = server(g_sni, 0, 0), *c = client(0, 0, NULL, 0);
  pair *p = pair_new(s, c, "example.net");
  g_verify_calls = 0;
  assert_true(handshake(p, 0));
  SSL *ssl = fg_tls_conn_ssl(p->c);
  assert_int_equal(SSL_version(ssl), TLS1_3_VERSION);
  assert_int_equal(SSL_get_curve_id(ssl), SSL_CURVE_X25519);
  assert_int_equal(g_verify_calls, 1);  // the client saw the server chain
  assert_int_equal(g_verify_chain_len, 1);
  assert_int_equal(fg_tls_conn_verify_result(p->c), FG_TLS_VERIFY_UNTRUSTED);
  assert_int_equal(fg_tls_conn_verify_result(p->s), 0);  // no client certificate
  assert_true(fg_tls_conn_write(p->c, (const uint8_t *)"<stream>", 8));
  assert_true(fg_tls_conn_write(p->s, (const uint8_t *)"<features/>", 11));
  pump(p, 0);
  assert_int_equal(p->got_s_len, 8);
  assert_memory_equal(p->got_s, "<stream>", 8);
  assert_int_equal(p->got_c_len, 11);
  assert_true(fg_tls_conn_shutdown(p->c));
  pump(p, 0);
  assert_true(p->closed_s);  // close_notify arrives as FG_TLS_CLOSED
  pair_free(p);
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(c);
}

static void test_one_byte_input_chunks(void **state) {
  fg_tls_ctx *s = server(g_sni, 0, 1), *c = client(0, 0, NULL, 1);
  pair *p = pair_new(s, c, "example.net");
  assert_true(handshake(p, 1));
  assert_true(fg_tls_conn_write(p->c, (const uint8_t *)"abc", 3));
  pump(p, 1);
  assert_int_equal(p->got_s_len, 3);
  pair_free(p);
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(c);
}

static SSL_CTX *raw_client(uint16_t min, uint16_t max, const char *ciphers) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  SSL_CTX_set_min_proto_version(ctx, min);
  SSL_CTX_set_max_proto_version(ctx, max);
  if (ciphers) SSL_CTX_set_strict_cipher_list(ctx, ciphers);
  return ctx;
}

// raw_handshake runs a plain BoringSSL client (memory BIO pair) against our
// server and returns 1 if the handshake succeeded.
static int raw_handshake(fg_tls_ctx *s, SSL_CTX *cctx, const char *sni, SSL **out_ssl) {
  pipe_buf to_c = {0};
  fg_tls_conn *srv = fg_tls_conn_new(s, NULL, tls_pair_pipe_write, &to_c);
  SSL *ssl = SSL_new(cctx);
  BIO *a, *b;
  BIO_new_bio_pair(&a, 0, &b, 0);
  SSL_set_bio(ssl, a, a);
  if (sni) SSL_set_tlsext_host_name(ssl, sni);
  SSL_set_connect_state(ssl);
  int ok = 0;
  uint8_t buf[65536];
  for (int i = 0; i < 10; i++) {
    int r = SSL_do_handshake(ssl);
    if (r == 1) ok = 1;
    int n;
    while ((n = BIO_read(b, buf, sizeof(buf))) > 0) {
      fg_tls_conn_set_input(srv, buf, (size_t)n);
      size_t len;
      enum fg_tls_status st;
      while ((st = fg_tls_conn_read(srv, buf, sizeof(buf), &len)) != FG_TLS_WANT_INPUT &&
             st != FG_TLS_ERROR && st != FG_TLS_CLOSED) {
      }
      fg_tls_conn_input_done(srv);
    }
    if (to_c.len) {
      BIO_write(b, to_c.p, (int)to_c.len);
      to_c.len = 0;
    }
    if (ok && fg_tls_conn_handshake_done(srv)) break;
  }
  ok = ok && fg_tls_conn_handshake_done(srv);
  ERR_clear_error();
  fg_tls_conn_free(srv);
  BIO_free(b);
  free(to_c.p);
  if (out_ssl)
    *out_ssl = ssl;
  else
    SSL_free(ssl);
  return ok;
}

static void test_rfc8996_old_versions_refused(void **state) {
  fg_tls_ctx *s = server(g_sni, 0, 0);
  SSL_CTX *c11 = raw_client(TLS1_VERSION, TLS1_1_VERSION, NULL);
  assert_false(raw_handshake(s, c11, "example.net", NULL));
  SSL_CTX_free(c11);
  fg_tls_ctx_free(s);
}

static void test_rfc7525_tls12_strong_suites_only(void **state) {
  fg_tls_ctx *s = server(g_sni, 0, 0);
  SSL_CTX *cbc = raw_client(TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA");
  assert_false(raw_handshake(s, cbc, "example.net", NULL));
  SSL_CTX_free(cbc);
  SSL_CTX *rsa_kx = raw_client(TLS1_2_VERSION, TLS1_2_VERSION, "AES128-GCM-SHA256");
  assert_false(raw_handshake(s, rsa_kx, "rsa.example.org", NULL));
  SSL_CTX_free(rsa_kx);
  SSL_CTX *gcm = raw_client(TLS1_2_VERSION, TLS1_2_VERSION, NULL);
  SSL *ssl;
  assert_true(raw_handshake(s, gcm, "example.net", &ssl));
  const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
  assert_true(SSL_CIPHER_is_aead(cipher));
  assert_int_equal(SSL_CIPHER_get_kx_nid(cipher), NID_kx_ecdhe);
  SSL_free(ssl);
  SSL_CTX_free(gcm);
  fg_tls_ctx_free(s);
}

static void test_rsa_certificate_by_sni(void **state) {
  fg_tls_ctx *s = server(g_sni, 0, 0), *c = client(0, 0, NULL, 0);
  pair *p = pair_new(s, c, "RSA.example.org.");
  assert_true(handshake(p, 0));
  const STACK_OF(CRYPTO_BUFFER) *chain = SSL_get0_peer_certificates(fg_tls_conn_ssl(p->c));
  const CRYPTO_BUFFER *leaf = sk_CRYPTO_BUFFER_value(chain, 0);
  const CRYPTO_BUFFER *want = fg_tls_cert_leaf(g_rsa);
  assert_int_equal(CRYPTO_BUFFER_len(leaf), CRYPTO_BUFFER_len(want));
  assert_memory_equal(CRYPTO_BUFFER_data(leaf), CRYPTO_BUFFER_data(want), CRYPTO_BUFFER_len(want));
  pair_free(p);
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(c);
}

static void test_verify_hook_reject_aborts_handshake(void **state) {
  fg_tls_ctx *s = server(g_sni, 0, 0), *c = client(0, 0, NULL, 0);
  pair *p = pair_new(s, c, "example.net");
  g_verify_answer = FG_TLS_VERIFY_REJECT;
  assert_false(handshake(p, 0));
  g_verify_answer = FG_TLS_VERIFY_UNTRUSTED;
  assert_true(p->err_c);
  assert_string_equal(fg_tls_conn_error(p->c), "peer certificate rejected");
  ERR_clear_error();
  pair_free(p);
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(c);
}

// staple_seen runs one handshake to rsa.example.org (TLS 1.3, or 1.2 when
// |tls12|) and returns the length of the OCSP response the client received.
static size_t staple_seen(int ask, int tls12) {
  fg_tls_ctx *s = server(g_sni, 0, 0);
  fg_tls_ctx_config cfg = {0};
  cfg.role = FG_TLS_CLIENT;
  cfg.verify = hook;
  cfg.ocsp_stapling = ask;
  cfg.tls13_only = 0;
  fg_tls_ctx *c = fg_tls_ctx_new(&cfg);
  if (tls12) SSL_CTX_set_max_proto_version(fg_tls_ctx_ssl_ctx(c), TLS1_2_VERSION);
  pair *p = pair_new(s, c, "rsa.example.org");
  assert_true(handshake(p, 0));
  const uint8_t *resp = NULL;
  size_t len = 0;
  SSL_get0_ocsp_response(fg_tls_conn_ssl(p->c), &resp, &len);
  pair_free(p);
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(c);
  return len;
}

// RFC 6066 §8 (TLS 1.2) and RFC 8446 §4.4.2.1 (TLS 1.3): the certificate's
// current staple goes to a client that sent status_request, and to no other;
// an expired or withdrawn staple is never sent.
static void test_rfc6066_8_ocsp_staple(void **state) {
  static const uint8_t kResp[] = {0x30, 0x03, 0x0a, 0x01, 0x00};
  int64_t now = (int64_t)time(NULL);
  assert_int_equal(staple_seen(1, 0), 0);
  assert_true(fg_tls_cert_set_ocsp(g_rsa, kResp, sizeof(kResp), now + 60));
  assert_true(fg_tls_cert_ocsp_current(g_rsa, now));
  assert_false(fg_tls_cert_ocsp_current(g_rsa, now + 60));
  assert_int_equal(staple_seen(1, 0), sizeof(kResp));
  assert_int_equal(staple_seen(1, 1), sizeof(kResp));
  assert_int_equal(staple_seen(0, 0), 0);
  assert_int_equal(staple_seen(0, 1), 0);
  assert_true(fg_tls_cert_set_ocsp(g_rsa, kResp, sizeof(kResp), now - 1));  // expired
  assert_int_equal(staple_seen(1, 0), 0);
  assert_true(fg_tls_cert_set_ocsp(g_rsa, kResp, sizeof(kResp), now + 60));
  assert_true(fg_tls_cert_set_ocsp(g_rsa, NULL, 0, 0));  // withdrawn
  assert_false(fg_tls_cert_ocsp_current(g_rsa, now));
  assert_int_equal(staple_seen(1, 1), 0);
}

// RFC 6120 §13.7.2 / XEP-0178: servers request a client certificate, but a
// peer without one (dialback) still completes the handshake.
static void test_client_certificate_requested_but_optional(void **state) {
  fg_tls_ctx *s = server(g_sni, 0, 0);
  fg_tls_ctx *anon = client(0, 0, NULL, 0);
  pair *p = pair_new(s, anon, "example.net");
  assert_true(handshake(p, 0));
  assert_int_equal(fg_tls_conn_verify_result(p->s), 0);
  pair_free(p);
  const char *names[] = {"remote.example"};
  fg_tls_cert *mine = fg_tls_testcert_new(NULL, names, 1, 0);
  fg_tls_ctx *with = client(0, 0, mine, 0);
  p = pair_new(s, with, "example.net");
  g_verify_calls = 0;
  g_verify_answer = FG_TLS_VERIFY_OK;
  assert_true(handshake(p, 0));
  g_verify_answer = FG_TLS_VERIFY_UNTRUSTED;
  assert_int_equal(g_verify_calls, 2);  // server checked the client, client the server
  assert_int_equal(fg_tls_conn_verify_result(p->s), FG_TLS_VERIFY_OK);
  pair_free(p);
  fg_tls_cert_free(mine);
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(anon);
  fg_tls_ctx_free(with);
}

static void test_xep0368_alpn(void **state) {
  fg_tls_ctx *s = server(g_sni, 1, 0), *c = client(1, 0, NULL, 0);
  pair *p = pair_new(s, c, "example.net");
  assert_true(handshake(p, 0));
  const uint8_t *proto;
  unsigned len;
  SSL_get0_alpn_selected(fg_tls_conn_ssl(p->s), &proto, &len);
  assert_int_equal(len, 11);
  assert_memory_equal(proto, "xmpp-server", 11);
  pair_free(p);
  fg_tls_ctx_free(c);
  // A STARTTLS-port client (no ALPN) is fine on a direct port too.
  c = client(0, 0, NULL, 0);
  p = pair_new(s, c, "example.net");
  assert_true(handshake(p, 0));
  pair_free(p);
  fg_tls_ctx_free(c);
  fg_tls_ctx_free(s);
}

static void test_renegotiation_refused(void **state) {
  fg_tls_ctx *s = server(g_sni, 0, 0);
  SSL_CTX *c12 = raw_client(TLS1_2_VERSION, TLS1_2_VERSION, NULL);
  SSL *ssl;
  assert_true(raw_handshake(s, c12, "example.net", &ssl));
  // BoringSSL clients may only renegotiate when the server asks and the
  // mode allows; our server never asks. Our client's mode is "never":
  fg_tls_ctx *c = client(0, 0, NULL, 0);
  pair *p = pair_new(s, c, "example.net");
  assert_int_equal(SSL_renegotiate(fg_tls_conn_ssl(p->c)), 0);
  ERR_clear_error();
  pair_free(p);
  fg_tls_ctx_free(c);
  SSL_free(ssl);
  SSL_CTX_free(c12);
  fg_tls_ctx_free(s);
}

static void test_rfc8446_2_2_resumption(void **state) {
  fg_tls_ctx *s = server(g_sni, 0, 0), *c = client(0, 1, NULL, 0);
  pair *p = pair_new(s, c, "example.net");
  assert_true(handshake(p, 0));
  assert_false(SSL_session_reused(fg_tls_conn_ssl(p->c)));
  pump(p, 0);  // tickets
  pair_free(p);
  p = pair_new(s, c, "example.net");
  assert_true(handshake(p, 0));
  assert_true(SSL_session_reused(fg_tls_conn_ssl(p->c)));
  pair_free(p);
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(c);
}

// A resumed session carries the client authentication of the handshake that
// made it (RFC 8446 §2.2): a client that presents different identities to
// one server (a hop link per remote domain) keys its sessions by identity
// too (gateway/server/link.c does), and resumes only its own.
static pair *scoped_pair(fg_tls_ctx *s, fg_tls_ctx *c, const char *identity) {
  pair *p = pair_new(s, c, "example.net");
  char key[128];
  snprintf(key, sizeof(key), "example.net %s", identity);
  fg_tls_conn_set_session_key(p->c, key);
  assert_true(handshake(p, 0));
  pump(p, 0);  // tickets
  return p;
}

static void test_rfc8446_2_2_sessions_resumed_only_by_the_same_client_identity(void **state) {
  fg_tls_ctx *s = server(g_sni, 0, 0), *c = client(0, 1, NULL, 0);
  pair *p = scoped_pair(s, c, "a.example");
  assert_false(SSL_session_reused(fg_tls_conn_ssl(p->c)));
  pair_free(p);
  p = scoped_pair(s, c, "b.example");
  assert_false(SSL_session_reused(fg_tls_conn_ssl(p->c)));
  pair_free(p);
  p = scoped_pair(s, c, "a.example");
  assert_true(SSL_session_reused(fg_tls_conn_ssl(p->c)));
  pair_free(p);
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(c);
}

static void test_traffic_secrets_match_between_peers(void **state) {
  fg_tls_ctx *s = server(g_sni, 0, 1), *c = client(0, 0, NULL, 1);
  pair *p = pair_new(s, c, "example.net");
  assert_true(handshake(p, 0));
  fg_tls_traffic_secrets a, b;
  assert_true(fg_tls_conn_traffic_secrets(p->s, &a));
  assert_true(fg_tls_conn_traffic_secrets(p->c, &b));
  assert_int_equal(a.cipher_suite, b.cipher_suite);
  assert_int_equal(a.secret_len, b.secret_len);
  assert_memory_equal(a.client, b.client, a.secret_len);
  assert_memory_equal(a.server, b.server, a.secret_len);
  assert_memory_not_equal(a.client, a.server, a.secret_len);
  fg_tls_conn_forget_secrets(p->s);
  assert_false(fg_tls_conn_traffic_secrets(p->s, &a));
  pair_free(p);
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(c);
}

// SNI selection among 1,000 hosted domains, with certificates interned in
// one CRYPTO_BUFFER_POOL.
static void test_rfc6066_3_sni_among_1000_certificates(void **state) {
  CRYPTO_BUFFER_POOL *pool = CRYPTO_BUFFER_POOL_new();
  fg_tls_sni *sni = fg_tls_sni_new();
  enum { kCerts = 1000 };
  fg_tls_cert **certs = calloc(kCerts, sizeof(*certs));
  for (int i = 0; i < kCerts; i++) {
    char name[64];
    snprintf(name, sizeof(name), "d%d.example", i);
    const char *names[] = {name};
    certs[i] = fg_tls_testcert_new(pool, names, 1, 0);
    assert_non_null(certs[i]);
    assert_int_equal(fg_tls_sni_add_cert(sni, certs[i]), 1);
  }
  fg_tls_sni_set_default(sni, certs[0]);
  assert_int_equal(fg_tls_sni_count(sni), kCerts);
  fg_tls_ctx *s = server(sni, 0, 0), *c = client(0, 0, NULL, 0);
  for (int k = 0; k < 40; k++) {
    int i = (k * 379 + 11) % kCerts;
    char name[64];
    snprintf(name, sizeof(name), "D%d.Example", i);
    pair *p = pair_new(s, c, name);
    assert_true(handshake(p, 0));
    const CRYPTO_BUFFER *leaf =
        sk_CRYPTO_BUFFER_value(SSL_get0_peer_certificates(fg_tls_conn_ssl(p->c)), 0);
    const CRYPTO_BUFFER *want = fg_tls_cert_leaf(certs[i]);
    assert_int_equal(CRYPTO_BUFFER_len(leaf), CRYPTO_BUFFER_len(want));
    assert_memory_equal(CRYPTO_BUFFER_data(leaf), CRYPTO_BUFFER_data(want),
                        CRYPTO_BUFFER_len(want));
    pair_free(p);
  }
  // The same DER interned twice is one buffer.
  const CRYPTO_BUFFER *leaf = fg_tls_cert_leaf(certs[5]);
  const uint8_t *der[] = {CRYPTO_BUFFER_data(leaf)};
  size_t der_len[] = {CRYPTO_BUFFER_len(leaf)};
  EVP_PKEY *key = EVP_PKEY_new();
  fg_tls_cert *again = fg_tls_cert_new(pool, der, der_len, 1, key);
  EVP_PKEY_free(key);
  assert_non_null(again);
  assert_ptr_equal(fg_tls_cert_leaf(again), leaf);
  fg_tls_cert_free(again);
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(c);
  fg_tls_sni_free(sni);
  for (int i = 0; i < kCerts; i++) fg_tls_cert_free(certs[i]);
  free(certs);
  CRYPTO_BUFFER_POOL_free(pool);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc8446_tls13_ecdsa_x25519_data_and_close_notify),
      cmocka_unit_test(test_one_byte_input_chunks),
      cmocka_unit_test(test_rfc8996_old_versions_refused),
      cmocka_unit_test(test_rfc7525_tls12_strong_suites_only),
      cmocka_unit_test(test_rsa_certificate_by_sni),
      cmocka_unit_test(test_rfc6066_8_ocsp_staple),
      cmocka_unit_test(test_verify_hook_reject_aborts_handshake),
      cmocka_unit_test(test_client_certificate_requested_but_optional),
      cmocka_unit_test(test_xep0368_alpn),
      cmocka_unit_test(test_renegotiation_refused),
      cmocka_unit_test(test_rfc8446_2_2_resumption),
      cmocka_unit_test(test_rfc8446_2_2_sessions_resumed_only_by_the_same_client_identity),
      cmocka_unit_test(test_traffic_secrets_match_between_peers),
      cmocka_unit_test(test_rfc6066_3_sni_among_1000_certificates),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
