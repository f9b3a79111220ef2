// dane_test.c: crypto/dane against vectors written by the openssl command
// line (tests/crypto/dane_vectors/gen.sh): association data for every
// selector and matching type, each usage's rules, unusable records.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/pool.h>
#include <openssl/x509.h>

#include "crypto/dane.h"

#define DIR "tests/crypto/dane_vectors/"
#define YEAR (365LL * 86400)

static CRYPTO_BUFFER *g_ee, *g_leaf, *g_ca;

static CRYPTO_BUFFER *load(const char *name) {
  char path[256];
  snprintf(path, sizeof(path), DIR "%s.pem", name);
  BIO *b = BIO_new_file(path, "r");
  assert_non_null(b);
  X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  assert_non_null(x);
  uint8_t *der = NULL;
  int len = i2d_X509(x, &der);
  assert_true(len > 0);
  CRYPTO_BUFFER *cb = CRYPTO_BUFFER_new(der, (size_t)len, NULL);
  OPENSSL_free(der);
  X509_free(x);
  return cb;
}

static int setup(void **state) {
  (void)state;
  g_ee = load("ee");
  g_leaf = load("leaf");
  g_ca = load("ca");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  CRYPTO_BUFFER_free(g_ee);
  CRYPTO_BUFFER_free(g_leaf);
  CRYPTO_BUFFER_free(g_ca);
  return 0;
}

static size_t unhex(uint8_t *out, size_t cap, const char *hex) {
  size_t n = 0;
  for (; hex[0] && hex[1] && hex[0] != '\n' && n < cap; hex += 2) {
    unsigned v;
    assert_int_equal(sscanf(hex, "%2x", &v), 1);
    out[n++] = (uint8_t)v;
  }
  return n;
}

// expected reads association.txt's data for (cert, selector, mtype).
static size_t expected(uint8_t *out, size_t cap, const char *cert, int sel, int mt) {
  FILE *f = fopen(DIR "association.txt", "r");
  assert_non_null(f);
  static char line[20000];
  size_t n = 0;
  while (fgets(line, sizeof(line), f) != NULL) {
    char name[16];
    int s, m, off;
    if (sscanf(line, "%15s %d %d %n", name, &s, &m, &off) != 3) continue;
    if (strcmp(name, cert) == 0 && s == sel && m == mt) {
      n = unhex(out, cap, line + off);
      break;
    }
  }
  fclose(f);
  assert_true(n > 0);
  return n;
}

static void add(fg_dane_rrset *s, uint8_t u, uint8_t sel, uint8_t mt, const uint8_t *d, size_t n) {
  uint8_t rdata[3 + FG_DANE_MAX_DATA];
  rdata[0] = u;
  rdata[1] = sel;
  rdata[2] = mt;
  memcpy(rdata + 3, d, n);
  assert_int_equal(fg_dane_rrset_add(s, rdata, 3 + n), 1);
}

// add_for adds a record (u, sel, mt) made from |cert|'s vector.
static void add_for(fg_dane_rrset *s, uint8_t u, uint8_t sel, uint8_t mt, const char *cert) {
  static uint8_t d[FG_DANE_MAX_DATA];
  size_t n = expected(d, sizeof(d), cert, sel, mt);
  add(s, u, sel, mt, d, n);
}

static fg_dane_status verify(fg_dane_verdict *v, const fg_dane_rrset *s,
                             const CRYPTO_BUFFER *const *chain, size_t n, const char *name,
                             int64_t at, int pkix_ok) {
  const char *names[1] = {name};
  fg_dane_params p = {
      .names = name ? names : NULL, .n_names = name ? 1 : 0, .at = at, .pkix_ok = pkix_ok};
  return fg_dane_verify(v, s, chain, n, &p);
}

// RFC 6698 §2.1.2-§2.1.3: selectors 0/1 and matching types 0/1/2 agree
// with openssl's own DER and digests, for every certificate.
static void test_rfc6698_2_1_association_data_matches_openssl(void **state) {
  (void)state;
  const char *names[] = {"ee", "leaf", "ca"};
  CRYPTO_BUFFER *bufs[] = {g_ee, g_leaf, g_ca};
  for (int c = 0; c < 3; c++) {
    for (int sel = 0; sel <= 1; sel++) {
      for (int mt = 0; mt <= 2; mt++) {
        uint8_t want[4096], got[4096];
        size_t wn = expected(want, sizeof(want), names[c], sel, mt), gn = 0;
        assert_int_equal(fg_dane_association(got, &gn, sizeof(got), CRYPTO_BUFFER_data(bufs[c]),
                                             CRYPTO_BUFFER_len(bufs[c]), (uint8_t)sel, (uint8_t)mt),
                         1);
        assert_int_equal(gn, wn);
        assert_memory_equal(got, want, wn);
      }
    }
  }
  uint8_t out[64];
  size_t n;
  assert_int_equal(fg_dane_association(out, &n, sizeof(out), CRYPTO_BUFFER_data(g_ee),
                                       CRYPTO_BUFFER_len(g_ee), 2, 1),
                   0);
  assert_int_equal(fg_dane_association(out, &n, sizeof(out), CRYPTO_BUFFER_data(g_ee),
                                       CRYPTO_BUFFER_len(g_ee), 1, 3),
                   0);
  // Not a certificate: no SPKI to find.
  static const uint8_t kJunk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
  assert_int_equal(fg_dane_association(out, &n, sizeof(out), kJunk, sizeof(kJunk), 1, 1), 0);
}

// RFC 7672 §3.1.1: DANE-EE(3) matches the leaf's key whatever its names and
// dates; a self-signed certificate PKIX would refuse is fine.
static void test_rfc7672_3_1_1_dane_ee_ignores_names_and_dates(void **state) {
  (void)state;
  for (int sel = 0; sel <= 1; sel++) {
    for (int mt = 0; mt <= 2; mt++) {
      fg_dane_rrset s = {0};
      add_for(&s, 3, (uint8_t)sel, (uint8_t)mt, "ee");
      const CRYPTO_BUFFER *chain[] = {g_ee};
      fg_dane_verdict v;
      assert_int_equal(verify(&v, &s, chain, 1, "unrelated.example", 4102444800LL + 100 * YEAR, 0),
                       FG_DANE_OK_EE);
      assert_int_equal(v.record, 0);
      assert_int_equal(v.depth, 0);
      fg_dane_rrset_cleanup(&s);
    }
  }
}

// RFC 6698 §2.1.1: a usable record that does not match is a mismatch (no
// fallback to PKIX is the caller's rule).
static void test_rfc6698_2_1_dane_ee_other_key_mismatch(void **state) {
  (void)state;
  fg_dane_rrset s = {0};
  add_for(&s, 3, 1, 1, "leaf");
  const CRYPTO_BUFFER *chain[] = {g_ee};
  fg_dane_verdict v;
  assert_int_equal(verify(&v, &s, chain, 1, NULL, 0, 1), FG_DANE_MISMATCH);
  assert_int_equal(v.n_usable, 1);
  assert_int_equal(v.record, -1);
  assert_non_null(strstr(v.reason, "none of 1 usable"));
  fg_dane_rrset_cleanup(&s);
}

// RFC 7671 §5.2.2: DANE-TA(2) with the private CA: the chain must lead to
// it and the leaf must name a reference identifier (RFC 7673 §4.2).
static void test_rfc7671_5_2_2_dane_ta_private_ca(void **state) {
  (void)state;
  const CRYPTO_BUFFER *chain[] = {g_leaf, g_ca};
  for (int sel = 0; sel <= 1; sel++) {
    fg_dane_rrset s = {0};
    add_for(&s, 2, (uint8_t)sel, 1, "ca");
    fg_dane_verdict v;
    assert_int_equal(verify(&v, &s, chain, 2, "example.net", 0, 0), FG_DANE_OK_TA);
    assert_int_equal(v.depth, 1);
    assert_int_equal(verify(&v, &s, chain, 2, "xmpp.example.net", 0, 0), FG_DANE_OK_TA);
    // Wrong name: the anchor matches but the reference identity does not.
    assert_int_equal(verify(&v, &s, chain, 2, "example.org", 0, 0), FG_DANE_MISMATCH);
    assert_non_null(strstr(v.reason, "the leaf names no reference identity"));
    // Dates count for DANE-TA: after the leaf's notAfter it fails.
    assert_int_equal(verify(&v, &s, chain, 2, "example.net", 4102444800LL + 100 * YEAR, 0),
                     FG_DANE_MISMATCH);
    assert_non_null(strstr(v.reason, "does not validate to it"));
    // The anchor must be presented: the leaf alone does not chain to it.
    assert_int_equal(verify(&v, &s, chain, 1, "example.net", 0, 0), FG_DANE_MISMATCH);
    fg_dane_rrset_cleanup(&s);
  }
}

// RFC 7671 §5.2.2: the leaf is never its own trust anchor.
static void test_rfc7671_5_2_2_dane_ta_leaf_is_not_an_anchor(void **state) {
  (void)state;
  fg_dane_rrset s = {0};
  add_for(&s, 2, 0, 1, "ee");
  const CRYPTO_BUFFER *chain[] = {g_ee};
  fg_dane_verdict v;
  assert_int_equal(verify(&v, &s, chain, 1, "xmpp.example.net", 0, 0), FG_DANE_MISMATCH);
  fg_dane_rrset_cleanup(&s);
}

// RFC 6698 §2.1.1: PKIX-TA(0) and PKIX-EE(1) need PKIX validation too.
static void test_rfc6698_2_1_1_pkix_usages_need_pkix(void **state) {
  (void)state;
  const CRYPTO_BUFFER *chain[] = {g_leaf, g_ca};
  fg_dane_rrset ee = {0}, ta = {0};
  add_for(&ee, 1, 1, 1, "leaf");
  add_for(&ta, 0, 0, 2, "ca");
  fg_dane_verdict v;
  assert_int_equal(verify(&v, &ee, chain, 2, "example.net", 0, 1), FG_DANE_OK_PKIX_EE);
  assert_int_equal(verify(&v, &ee, chain, 2, "example.net", 0, 0), FG_DANE_MISMATCH);
  assert_int_equal(verify(&v, &ta, chain, 2, "example.net", 0, 1), FG_DANE_OK_PKIX_TA);
  assert_int_equal(verify(&v, &ta, chain, 2, "example.net", 0, 0), FG_DANE_MISMATCH);
  fg_dane_rrset_cleanup(&ee);
  fg_dane_rrset_cleanup(&ta);
}

// RFC 7671 §4.1 / RFC 6698 §4.1: unknown usage, selector or matching type,
// and digests of the wrong length make a record unusable; a set of only
// unusable records means DANE does not apply.
static void test_rfc7671_4_1_unusable_records_are_ignored(void **state) {
  (void)state;
  uint8_t d32[32] = {1}, d31[31] = {1}, d64[64] = {1};
  struct {
    uint8_t u, s, m;
    const uint8_t *d;
    size_t n;
    fg_dane_usability want;
  } cases[] = {
      {4, 1, 1, d32, 32, FG_DANE_UNKNOWN_USAGE},
      {255, 1, 1, d32, 32, FG_DANE_UNKNOWN_USAGE},
      {3, 2, 1, d32, 32, FG_DANE_UNKNOWN_SELECTOR},
      {3, 1, 3, d32, 32, FG_DANE_UNKNOWN_MTYPE},
      {3, 1, 1, d31, 31, FG_DANE_BAD_DIGEST_LENGTH},
      {3, 1, 2, d32, 32, FG_DANE_BAD_DIGEST_LENGTH},
      {3, 1, 1, d64, 64, FG_DANE_BAD_DIGEST_LENGTH},
      {3, 1, 2, d64, 64, FG_DANE_USABLE},
      {3, 0, 0, d31, 31, FG_DANE_USABLE},
  };
  fg_dane_rrset all = {0};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    fg_dane_rrset s = {0};
    add(&s, cases[i].u, cases[i].s, cases[i].m, cases[i].d, cases[i].n);
    assert_int_equal(fg_dane_tlsa_usability(&s.rec[0]), cases[i].want);
    assert_non_null(fg_dane_usability_name(cases[i].want));
    if (cases[i].want != FG_DANE_USABLE)
      add(&all, cases[i].u, cases[i].s, cases[i].m, cases[i].d, cases[i].n);
    fg_dane_rrset_cleanup(&s);
  }
  const CRYPTO_BUFFER *chain[] = {g_ee};
  fg_dane_verdict v;
  assert_int_equal(verify(&v, &all, chain, 1, NULL, 0, 0), FG_DANE_NO_USABLE);
  assert_int_equal(v.n_unusable, 7);
  // An unusable record beside a matching one does not spoil the set.
  add_for(&all, 3, 1, 1, "ee");
  assert_int_equal(verify(&v, &all, chain, 1, NULL, 0, 0), FG_DANE_OK_EE);
  assert_int_equal(v.record, 7);
  fg_dane_rrset_cleanup(&all);
}

// RFC 6698 §2.1: RDATA shorter than usage, selector, matching type and one
// byte of data is refused; copies are deep; the set is bounded.
static void test_rfc6698_2_1_rdata_bounds_and_copies(void **state) {
  (void)state;
  fg_dane_rrset s = {0};
  static const uint8_t kShort[] = {3, 1, 1};
  assert_int_equal(fg_dane_rrset_add(&s, kShort, sizeof(kShort)), 0);
  assert_int_equal(s.n, 0);
  for (int i = 0; i < FG_DANE_MAX_RECORDS; i++) add_for(&s, 3, 1, 1, i % 2 ? "ee" : "leaf");
  static const uint8_t kOne[] = {3, 1, 1, 0};
  assert_int_equal(fg_dane_rrset_add(&s, kOne, sizeof(kOne)), 0);
  fg_dane_rrset c;
  assert_int_equal(fg_dane_rrset_copy(&c, &s), 1);
  fg_dane_rrset_cleanup(&s);
  const CRYPTO_BUFFER *chain[] = {g_ee};
  fg_dane_verdict v;
  assert_int_equal(verify(&v, &c, chain, 1, NULL, 0, 0), FG_DANE_OK_EE);
  assert_int_equal(v.record, 1);
  fg_dane_rrset_cleanup(&c);
  fg_dane_rrset empty = {0};
  assert_int_equal(verify(&v, &empty, chain, 1, NULL, 0, 0), FG_DANE_NO_USABLE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc6698_2_1_association_data_matches_openssl),
      cmocka_unit_test(test_rfc7672_3_1_1_dane_ee_ignores_names_and_dates),
      cmocka_unit_test(test_rfc6698_2_1_dane_ee_other_key_mismatch),
      cmocka_unit_test(test_rfc7671_5_2_2_dane_ta_private_ca),
      cmocka_unit_test(test_rfc7671_5_2_2_dane_ta_leaf_is_not_an_anchor),
      cmocka_unit_test(test_rfc6698_2_1_1_pkix_usages_need_pkix),
      cmocka_unit_test(test_rfc7671_4_1_unusable_records_are_ignored),
      cmocka_unit_test(test_rfc6698_2_1_rdata_bounds_and_copies),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
