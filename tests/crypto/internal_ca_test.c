// internal_ca_test.c: the internal hop's CA (crypto/internal_ca.c) mints
// certificates the internal servers accept for SASL EXTERNAL (XEP-0178):
// signed by the CA, naming the remote domain as DNS-ID and SRV-ID (RFC 6120
// §13.7.1.2) and not as XmppAddr (ejabberd 23.01 crashes on a bare-domain
// XmppAddr), cached and renewed before they expire.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/mem.h>
#include <openssl/x509.h>

#include "crypto/devpki.h"
#include "crypto/identity.h"
#include "crypto/internal_ca.h"
#include "crypto/san.h"

static X509 *g_ca;
static EVP_PKEY *g_key;

static int setup(void **state) {
  g_key = fg_devpki_key_p256();
  g_ca = fg_devpki_mint_ca(g_key, "test internal CA", time(NULL) - 60, time(NULL) + 86400 * 30);
  return g_ca != NULL ? 0 : -1;
}

static int teardown(void **state) {
  X509_free(g_ca);
  EVP_PKEY_free(g_key);
  return 0;
}

static int matches(X509 *cert, const char *domain) {
  uint8_t *der = NULL;
  int len = i2d_X509(cert, &der);
  fg_cert_ids ids;
  fg_cert_ids_init(&ids);
  const char *why = NULL;
  int ok = fg_san_parse_cert(&ids, der, (size_t)len, &why);
  fg_identity_ref ref;
  fg_identity_ref_init(&ref, (const uint8_t *)domain, strlen(domain), "xmpp-server");
  ok = ok && fg_identity_match(NULL, &ids, &ref, 0) == FG_IDENTITY_MATCH;
  // DNS-ID (Prosody, ejabberd) and SRV-ID; no XmppAddr.
  int dns = 0, srv = 0, xmpp = 0;
  for (size_t i = 0; i < ids.num_ids; i++) {
    dns |= ids.ids[i].type == FG_ID_DNS;
    srv |= ids.ids[i].type == FG_ID_SRV;
    xmpp |= ids.ids[i].type == FG_ID_XMPP;
  }
  fg_cert_ids_cleanup(&ids);
  OPENSSL_free(der);
  return ok && dns && srv && !xmpp;
}

static void test_xep0178_minted_certificate_names_the_remote_domain(void **state) {
  fg_internal_ca *ca = fg_internal_ca_new(g_ca, g_key, 3600);
  assert_non_null(ca);
  X509 *cert = NULL;
  EVP_PKEY *key = NULL;
  int64_t now = time(NULL);
  assert_true(fg_internal_ca_get(ca, "remote.example", now, &cert, &key));
  assert_int_equal(X509_verify(cert, g_key), 1);  // signed by the internal CA
  assert_int_equal(X509_check_private_key(cert, key), 1);
  assert_true(matches(cert, "remote.example"));
  assert_false(matches(cert, "other.example"));
  assert_true(X509_cmp_time(X509_get0_notBefore(cert), NULL) < 0);
  X509_free(cert);
  EVP_PKEY_free(key);
  fg_internal_ca_free(ca);
}

static void test_certificates_are_cached_then_renewed_before_expiry(void **state) {
  fg_internal_ca *ca = fg_internal_ca_new(g_ca, g_key, 3000);
  int64_t now = time(NULL);
  X509 *a = NULL, *b = NULL, *c = NULL, *d = NULL;
  EVP_PKEY *ka = NULL, *kb = NULL, *kc = NULL, *kd = NULL;
  assert_true(fg_internal_ca_get(ca, "remote.example", now, &a, &ka));
  assert_true(fg_internal_ca_get(ca, "remote.example", now + 1000, &b, &kb));
  assert_ptr_equal(a, b);  // two thirds of the lifetime left: the same one
  assert_int_equal(fg_internal_ca_minted(ca), 1);
  assert_true(fg_internal_ca_get(ca, "remote.example", now + 2100, &c, &kc));
  assert_ptr_not_equal(a, c);  // less than a third left: a fresh one
  assert_int_equal(fg_internal_ca_minted(ca), 2);
  assert_true(fg_internal_ca_get(ca, "second.example", now, &d, &kd));
  assert_ptr_not_equal(c, d);
  assert_true(matches(d, "second.example"));
  assert_int_equal(fg_internal_ca_minted(ca), 3);
  X509 *xs[] = {a, b, c, d};
  EVP_PKEY *ks[] = {ka, kb, kc, kd};
  for (int i = 0; i < 4; i++) {
    X509_free(xs[i]);
    EVP_PKEY_free(ks[i]);
  }
  fg_internal_ca_free(ca);
}

static void test_key_must_match_the_ca_certificate(void **state) {
  EVP_PKEY *other = fg_devpki_key_p256();
  assert_null(fg_internal_ca_new(g_ca, other, 3600));
  EVP_PKEY_free(other);
}

static void test_load_errors_name_the_file(void **state) {
  char err[256] = "";
  assert_null(
      fg_internal_ca_load("/nonexistent/ca.crt", "/nonexistent/ca.key", 0, err, sizeof(err)));
  assert_non_null(strstr(err, "/nonexistent/ca.crt"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_xep0178_minted_certificate_names_the_remote_domain),
      cmocka_unit_test(test_certificates_are_cached_then_renewed_before_expiry),
      cmocka_unit_test(test_key_must_match_the_ca_certificate),
      cmocka_unit_test(test_load_errors_name_the_file),
  };
  return cmocka_run_group_tests_name("crypto/internal_ca", tests, setup, teardown);
}
