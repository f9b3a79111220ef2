// link_mux_test.c: which established stream may carry a further domain pair
// (gateway/server/link_mux.c; XEP-0220 §4.3, RFC 6120 §13.7.2).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec_key.h>
#include <openssl/mem.h>
#include <openssl/evp.h>
#include <openssl/obj.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "gateway/server/link_mux.h"

// mint returns the DER of a self-signed certificate naming |names| as
// dNSNames (caller frees), its length in |*len|.
static uint8_t *mint(const char *const *names, size_t n, size_t *len) {
  EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  EC_KEY_generate_key(ec);
  EVP_PKEY *key = EVP_PKEY_new();
  EVP_PKEY_assign_EC_KEY(key, ec);
  X509 *x = X509_new();
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_NAME *name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const uint8_t *)names[0], -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, key);
  GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
  for (size_t i = 0; i < n; i++) {
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, names[i], (int)strlen(names[i]));
    GENERAL_NAME_set0_value(g, GEN_DNS, s);
    sk_GENERAL_NAME_push(gens, g);
  }
  X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0);
  GENERAL_NAMES_free(gens);
  X509_sign(x, key, EVP_sha256());
  uint8_t *der = NULL;
  int n_der = i2d_X509(x, &der);
  X509_free(x);
  EVP_PKEY_free(key);
  *len = n_der > 0 ? (size_t)n_der : 0;
  return der;
}

static fg_mux_stream stream(void) {
  fg_mux_stream s = {
      .remote = "b.example",
      .same_address = 1,
      .pkix_ok = 1,
      .can_multiplex = 1,
      .pairs = 1,
      .max_pairs = 4,
  };
  return s;
}

static void test_xep0220_4_3_same_domain_same_address_fits(void **state) {
  fg_mux_stream s = stream();
  assert_int_equal(fg_link_mux_fits(&s, "b.example", 0, 0), FG_MUX_FITS);
  // Its own certificate is not consulted for its own domain.
  s.pkix_ok = 0;
  assert_int_equal(fg_link_mux_fits(&s, "b.example", 1, 0), FG_MUX_FITS);
}

static void test_xep0220_4_3_bounded_by_pairs_per_stream(void **state) {
  fg_mux_stream s = stream();
  s.pairs = 4;
  assert_int_equal(fg_link_mux_fits(&s, "b.example", 0, 0), FG_MUX_FULL);
  s.pairs = 3;
  assert_int_equal(fg_link_mux_fits(&s, "b.example", 0, 0), FG_MUX_FITS);
}

static void test_xep0220_2_1_needs_a_peer_that_takes_dialback(void **state) {
  fg_mux_stream s = stream();
  s.can_multiplex = 0;
  assert_int_equal(fg_link_mux_fits(&s, "b.example", 0, 0), FG_MUX_NO_DIALBACK);
}

static void test_xep0220_4_3_another_address_is_another_server(void **state) {
  fg_mux_stream s = stream();
  s.same_address = 0;
  assert_int_equal(fg_link_mux_fits(&s, "b.example", 0, 0), FG_MUX_OTHER_ADDRESS);
}

static void test_rfc6120_13_7_2_other_domain_needs_the_certificate(void **state) {
  const char *names[] = {"b.example", "c.example", "*.d.example"};
  size_t len;
  uint8_t *der = mint(names, 3, &len);
  assert_non_null(der);
  fg_mux_stream s = stream();
  s.leaf = der;
  s.leaf_len = len;
  assert_int_equal(fg_link_mux_fits(&s, "c.example", 0, 0), FG_MUX_FITS);
  assert_int_equal(fg_link_mux_fits(&s, "x.d.example", 0, 0), FG_MUX_FITS);  // wildcard
  assert_int_equal(fg_link_mux_fits(&s, "e.example", 0, 0), FG_MUX_NOT_PROVED);
  assert_int_equal(fg_link_mux_fits(&s, "y.x.d.example", 0, 0), FG_MUX_NOT_PROVED);
  // Named, but the chain did not pass PKIX: not proved.
  s.pkix_ok = 0;
  assert_int_equal(fg_link_mux_fits(&s, "c.example", 0, 0), FG_MUX_NOT_PROVED);
  // RFC 7673: a domain with TLSA records is judged by DANE on its own stream.
  s.pkix_ok = 1;
  assert_int_equal(fg_link_mux_fits(&s, "c.example", 1, 0), FG_MUX_NOT_PROVED);
  // Plaintext (no certificate): never another domain.
  s.leaf = NULL;
  s.leaf_len = 0;
  assert_int_equal(fg_link_mux_fits(&s, "c.example", 0, 0), FG_MUX_NOT_PROVED);
  OPENSSL_free(der);
}

static void test_cert_names_rejects_garbage(void **state) {
  const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
  assert_false(fg_link_mux_cert_names(junk, sizeof(junk), "b.example", 0));
  assert_false(fg_link_mux_cert_names(NULL, 0, "b.example", 0));
  assert_string_equal(fg_link_mux_fit_name(FG_MUX_FULL), "pairs_per_stream reached");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_xep0220_4_3_same_domain_same_address_fits),
      cmocka_unit_test(test_xep0220_4_3_bounded_by_pairs_per_stream),
      cmocka_unit_test(test_xep0220_2_1_needs_a_peer_that_takes_dialback),
      cmocka_unit_test(test_xep0220_4_3_another_address_is_another_server),
      cmocka_unit_test(test_rfc6120_13_7_2_other_domain_needs_the_certificate),
      cmocka_unit_test(test_cert_names_rejects_garbage),
  };
  return cmocka_run_group_tests_name("gateway/link_mux", tests, NULL, NULL);
}
