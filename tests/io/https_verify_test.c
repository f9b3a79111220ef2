// https_verify_test.c: io/https_verify: in-memory handshakes of its client
// context against servers presenting certificates minted here: accepted
// only with a PKIX-valid chain and a DNS-ID for the host (RFC 9110 §4.3.4,
// RFC 9525 §6.3); every refusal says why.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/mem.h>
#include <openssl/x509.h>

#include "crypto/chain.h"
#include "crypto/devpki.h"
#include "crypto/tls.h"
#include "crypto/tls_sni.h"
#include "io/https_verify.h"

typedef struct pipe_buf {
  uint8_t p[65536];
  size_t len;
} pipe_buf;

static int pipe_write(void *arg, const uint8_t *d, size_t n) {
  pipe_buf *b = arg;
  if (b->len + n > sizeof(b->p)) return 0;
  memcpy(b->p + b->len, d, n);
  b->len += n;
  return 1;
}

// drive feeds |in| to |t|; it returns -1 on a TLS error, 1 once the
// handshake is done, 0 otherwise.
static int drive(fg_tls_conn *t, pipe_buf *in) {
  int r = 0;
  fg_tls_conn_set_input(t, in->p, in->len);
  for (;;) {
    uint8_t buf[4096];
    size_t n;
    enum fg_tls_status st = fg_tls_conn_read(t, buf, sizeof(buf), &n);
    if (st == FG_TLS_WANT_INPUT || st == FG_TLS_CLOSED) break;
    if (st == FG_TLS_ERROR) {
      r = -1;
      break;
    }
    if (st == FG_TLS_HANDSHAKE_DONE) r = 1;
  }
  fg_tls_conn_input_done(t);
  in->len = 0;
  return r;
}

static EVP_PKEY *g_ca_key;
static X509 *g_ca;
static fg_trust_store *g_trust;

static int setup(void **state) {
  (void)state;
  int64_t now = (int64_t)time(NULL);
  g_ca_key = fg_devpki_key_p256();
  g_ca = fg_devpki_mint_ca(g_ca_key, "https test CA", now - 3600, now + 86400);
  g_trust = fg_trust_store_new();
  return g_ca != NULL && fg_trust_store_add_cert(g_trust, g_ca) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  fg_trust_store_free(g_trust);
  X509_free(g_ca);
  EVP_PKEY_free(g_ca_key);
  return 0;
}

// handshake runs a client of fg_https_ctx_new for |host| against a server
// presenting a leaf for |name| with |ids| (signed by the test CA, or
// self-signed when |self_signed|). It returns 1 when the client accepted,
// filling |chk|.
static int handshake(const char *host, const char *name, unsigned ids, int self_signed,
                     fg_https_check *chk) {
  int64_t now = (int64_t)time(NULL);
  EVP_PKEY *key = fg_devpki_key_p256();
  X509 *leaf = self_signed
                   ? NULL
                   : fg_devpki_mint_leaf(key, name, ids, now - 60, now + 3600, g_ca, g_ca_key);
  if (self_signed) {
    fg_devpki_name n = {FG_DEVPKI_DNS, (const uint8_t *)name, strlen(name)};
    fg_devpki_spec spec = {.cn = name,
                           .eku = FG_DEVPKI_EKU_SERVER,
                           .not_before = now - 60,
                           .not_after = now + 3600,
                           .names = &n,
                           .num_names = 1};
    leaf = fg_devpki_mint(&spec, key, NULL, NULL);
  }
  assert_non_null(leaf);
  uint8_t *der = NULL;
  int der_len = i2d_X509(leaf, &der);
  const uint8_t *ders[1] = {der};
  size_t lens[1] = {(size_t)der_len};
  fg_tls_cert *cert = fg_tls_cert_new(NULL, ders, lens, 1, key);
  assert_non_null(cert);
  fg_tls_sni *sni = fg_tls_sni_new();
  fg_tls_sni_set_default(sni, cert);
  fg_tls_ctx_config sc = {.role = FG_TLS_SERVER, .sni = sni};
  fg_tls_ctx *sctx = fg_tls_ctx_new(&sc);
  fg_tls_ctx *cctx = fg_https_ctx_new(g_trust);
  static pipe_buf to_s, to_c;
  to_s.len = to_c.len = 0;
  fg_tls_conn *s = fg_tls_conn_new(sctx, NULL, pipe_write, &to_c);
  fg_tls_conn *c = fg_tls_conn_new(cctx, host, pipe_write, &to_s);
  memset(chk, 0, sizeof(*chk));
  fg_https_check_attach(c, chk);
  assert_true(fg_tls_conn_start(c));
  int done = 0;
  for (int i = 0; i < 10 && done == 0; i++) {
    if (drive(s, &to_s) < 0) break;
    done = drive(c, &to_c);
  }
  fg_tls_conn_free(c);
  fg_tls_conn_free(s);
  fg_tls_ctx_free(cctx);
  fg_tls_ctx_free(sctx);
  fg_tls_sni_free(sni);
  fg_tls_cert_free(cert);
  OPENSSL_free(der);
  X509_free(leaf);
  EVP_PKEY_free(key);
  return done == 1 && !chk->refused;
}

static void test_rfc9110_4_3_4_valid_chain_and_dns_id_accepted(void **state) {
  (void)state;
  fg_https_check chk;
  assert_true(handshake("posh.example", "posh.example", FG_DEVPKI_ID_DNS, 0, &chk));
  assert_int_equal(chk.refused, 0);
}

// Every refusal says why: another name (RFC 9110 §4.3.4), an XmppAddr or
// SRV-ID only (RFC 9525 §6.3: for HTTPS only DNS-IDs count), a chain
// without a trusted anchor (RFC 5280 §6).
static void test_rfc9110_4_3_4_refusals(void **state) {
  (void)state;
  static const struct {
    const char *name;
    unsigned ids;
    int self_signed;
    const char *why;
  } kCases[] = {
      {"other.example", FG_DEVPKI_ID_DNS, 0, "no DNS-ID matches the host"},
      {"posh.example", FG_DEVPKI_ID_XMPP | FG_DEVPKI_ID_SRV_SERVER, 0, "no DNS-ID"},
      {"posh.example", FG_DEVPKI_ID_DNS, 1, "chain"},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    fg_https_check chk;
    assert_false(
        handshake("posh.example", kCases[i].name, kCases[i].ids, kCases[i].self_signed, &chk));
    assert_true(chk.refused);
    if (strstr(chk.why, kCases[i].why) == NULL) fail_msg("case %zu: %s", i, chk.why);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc9110_4_3_4_valid_chain_and_dns_id_accepted),
      cmocka_unit_test(test_rfc9110_4_3_4_refusals),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
