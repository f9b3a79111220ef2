// crl_test.c: crypto/crl on CRLs built here with CBB and made by
// `openssl ca -gencrl`, and the revocation URLs of certificates. Tests name
// the RFC 5280 section they check.
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

#include "crypto/crl.h"
#include "crypto/der.h"
#include "tests/crypto/revocation_testpki.h"

static struct { rt_pair ca, other_ca, no_crl_sign_ca, leaf, leaf2, leaf3; } g;

static int setup(void **state) {
  (void)state;
  fg_devpki_spec leaf = {.cn = "leaf.example"};
  fg_devpki_spec no_crl_sign = {.cn = "Test CA", .is_ca = 1, .key_usage = 0x04};
  assert_true(rt_pair_ca(&g.ca, "Test CA", fg_devpki_key_p256()));
  assert_true(rt_pair_ca(&g.other_ca, "Other CA", fg_devpki_key_p256()));
  // Same name as the CA, keyUsage keyCertSign only, same key.
  no_crl_sign.not_before = RT_NOW - RT_DAY;
  no_crl_sign.not_after = RT_NOW + RT_DAY;
  no_crl_sign.path_len = -1;
  g.no_crl_sign_ca.cert = fg_devpki_mint(&no_crl_sign, g.ca.key, NULL, NULL);
  assert_non_null(g.no_crl_sign_ca.cert);
  assert_true(rt_pair_leaf(&g.leaf, fg_devpki_key_p256(), leaf, &g.ca));
  assert_true(rt_pair_leaf(&g.leaf2, fg_devpki_key_p256(), leaf, &g.ca));
  assert_true(rt_pair_leaf(&g.leaf3, fg_devpki_key_p256(), leaf, &g.ca));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  rt_pair_free(&g.ca);
  rt_pair_free(&g.other_ca);
  X509_free(g.no_crl_sign_ca.cert);
  rt_pair_free(&g.leaf);
  rt_pair_free(&g.leaf2);
  rt_pair_free(&g.leaf3);
  return 0;
}

typedef struct entry_spec {
  X509 *cert;
  int64_t date;
  int reason;           // -1: no reasonCode
  const char *ext_oid;  // an extra entry extension
  int ext_critical;
} entry_spec;

typedef struct crl_spec {
  EVP_PKEY *signer;
  rt_sig sig;
  int corrupt;
  int v1;                            // omit the version
  int utc;                           // UTCTime instead of GeneralizedTime
  int other_alg;                     // the inner algorithm differs from the outer one
  int64_t this_update, next_update;  // next_update 0: absent
  entry_spec entries[3];
  size_t num_entries;
  const char *ext_oid;  // an extra CRL extension
  int ext_critical;
} crl_spec;

static crl_spec default_spec(void) {
  crl_spec s = {.signer = g.ca.key,
                .this_update = RT_NOW - 3600,
                .next_update = RT_NOW + 7 * RT_DAY,
                .num_entries = 3};
  s.entries[0] = (entry_spec){g.leaf3.cert, RT_NOW - 2 * RT_DAY, 5, NULL, 0};
  s.entries[1] = (entry_spec){g.leaf.cert, RT_NOW - RT_DAY, 1, NULL, 0};
  s.entries[2] = (entry_spec){g.ca.cert, RT_NOW - 3 * RT_DAY, -1, NULL, 0};
  return s;
}

static void add_serial(CBB *cbb, X509 *cert) {
  uint8_t *der = NULL;
  int n = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &der);
  assert_true(n > 0 && CBB_add_bytes(cbb, der, (size_t)n));
  OPENSSL_free(der);
}

static uint8_t *build(size_t *out_len, const crl_spec *s) {
  static const uint8_t kNull[] = {0x05, 0x00};
  CBB cbb, tbs, list, e, exts, tag;
  assert_true(CBB_init(&cbb, 1024) && CBB_add_asn1(&cbb, &tbs, CBS_ASN1_SEQUENCE));
  if (!s->v1) assert_true(CBB_add_asn1_uint64(&tbs, 1));
  assert_true(rt_add_alg(&tbs, s->signer, s->other_alg ? RT_SIG_SHA384 : s->sig));
  uint8_t *name = NULL;
  int n = i2d_X509_NAME(X509_get_subject_name(g.ca.cert), &name);
  assert_true(n > 0 && CBB_add_bytes(&tbs, name, (size_t)n));
  OPENSSL_free(name);
  assert_true(rt_add_time(&tbs, s->this_update, !s->utc));
  if (s->next_update != 0) assert_true(rt_add_time(&tbs, s->next_update, !s->utc));
  if (s->num_entries > 0) assert_true(CBB_add_asn1(&tbs, &list, CBS_ASN1_SEQUENCE));
  for (size_t i = 0; i < s->num_entries; i++) {
    const entry_spec *en = &s->entries[i];
    assert_true(CBB_add_asn1(&list, &e, CBS_ASN1_SEQUENCE));
    add_serial(&e, en->cert);
    assert_true(rt_add_time(&e, en->date, !s->utc));
    if (en->reason >= 0 || en->ext_oid != NULL) {
      assert_true(CBB_add_asn1(&e, &exts, CBS_ASN1_SEQUENCE));
      const uint8_t reason[] = {0x0a, 0x01, (uint8_t)en->reason};
      if (en->reason >= 0) assert_true(rt_add_ext(&exts, "2.5.29.21", 0, reason, 3));
      if (en->ext_oid != NULL) {
        assert_true(rt_add_ext(&exts, en->ext_oid, en->ext_critical, kNull, sizeof(kNull)));
      }
    }
    assert_true(CBB_flush(&list));
  }
  if (s->ext_oid != NULL) {
    assert_true(CBB_add_asn1(&tbs, &tag, FG_DER_TAG_CTX_CONS(0)) &&
                CBB_add_asn1(&tag, &exts, CBS_ASN1_SEQUENCE) &&
                rt_add_ext(&exts, s->ext_oid, s->ext_critical, kNull, sizeof(kNull)));
  }
  size_t tbs_len;
  uint8_t *tbs_der = rt_finish(&cbb, &tbs_len);
  uint8_t *crl = rt_sign(out_len, tbs_der, tbs_len, s->signer, s->sig, s->corrupt, NULL, 0);
  free(tbs_der);
  assert_non_null(crl);
  return crl;
}

// parse_spec builds and parses |s|; |*why| gets the reason when refused.
static fg_crl *parse_spec(const crl_spec *s, const char **why) {
  size_t len;
  uint8_t *der = build(&len, s);
  fg_crl *crl = fg_crl_parse(der, len, 0, why);
  free(der);
  return crl;
}

static fg_crl_status status_of(const crl_spec *s, X509 *issuer, int64_t now) {
  fg_crl *crl = parse_spec(s, NULL);
  assert_non_null(crl);
  fg_crl_status st = fg_crl_check(crl, issuer, now, 300, RT_DAY);
  fg_crl_free(crl);
  return st;
}

// RFC 5280 §5.1.2.6, §5.3.1: revoked serials are found with their date and
// reason, others are not, whatever the order in the CRL.
static void test_rfc5280_5_1_2_6_lookup(void **state) {
  (void)state;
  crl_spec s = default_spec();
  fg_crl *crl = parse_spec(&s, NULL);
  assert_non_null(crl);
  assert_int_equal(crl->num_entries, 3);
  assert_int_equal(fg_crl_check(crl, g.ca.cert, RT_NOW, 300, RT_DAY), FG_CRL_OK);
  int64_t date;
  int reason;
  assert_true(fg_crl_lookup_cert(crl, g.leaf.cert, &date, &reason));
  assert_int_equal(date, RT_NOW - RT_DAY);
  assert_int_equal(reason, 1);
  assert_true(fg_crl_lookup_cert(crl, g.leaf3.cert, &date, &reason));
  assert_int_equal(reason, 5);
  assert_true(fg_crl_lookup_cert(crl, g.ca.cert, NULL, &reason));
  assert_int_equal(reason, FG_CRL_REASON_NONE);
  assert_false(fg_crl_lookup_cert(crl, g.leaf2.cert, NULL, NULL));
  static const uint8_t kOne[] = {0x01};
  assert_false(fg_crl_lookup(crl, kOne, 1, NULL, NULL));
  fg_crl_free(crl);
  // No revokedCertificates at all (the field is then absent).
  s.num_entries = 0;
  crl = parse_spec(&s, NULL);
  assert_non_null(crl);
  assert_false(fg_crl_lookup_cert(crl, g.leaf.cert, NULL, NULL));
  fg_crl_free(crl);
}

// RFC 5280 §5.1.1.3, §6.3.3 (f), (g): the issuer's signature, name and
// cRLSign; SHA-1 refused.
static void test_rfc5280_5_1_1_3_signature(void **state) {
  (void)state;
  crl_spec s = default_spec();
  assert_int_equal(status_of(&s, g.other_ca.cert, RT_NOW), FG_CRL_ERR_WRONG_ISSUER);
  assert_int_equal(status_of(&s, g.no_crl_sign_ca.cert, RT_NOW), FG_CRL_ERR_NOT_CRL_SIGNER);
  s.corrupt = 1;
  assert_int_equal(status_of(&s, g.ca.cert, RT_NOW), FG_CRL_ERR_BAD_SIGNATURE);
  s.corrupt = 0;
  s.signer = g.other_ca.key;
  assert_int_equal(status_of(&s, g.ca.cert, RT_NOW), FG_CRL_ERR_BAD_SIGNATURE);
  s = default_spec();
  s.sig = RT_SIG_SHA1;
  assert_int_equal(status_of(&s, g.ca.cert, RT_NOW), FG_CRL_ERR_UNSUPPORTED_ALG);
  s.sig = RT_SIG_SHA384;
  assert_int_equal(status_of(&s, g.ca.cert, RT_NOW), FG_CRL_OK);
  // §5.1.1.2: the inner signature algorithm must equal the outer one.
  s = default_spec();
  s.other_alg = 1;
  const char *why = NULL;
  assert_null(parse_spec(&s, &why));
  assert_string_equal(why, "signature algorithms differ");
}

// RFC 5280 §5.1.2.4, §5.1.2.5: thisUpdate / nextUpdate, UTCTime or
// GeneralizedTime, and the caller's max age without nextUpdate.
static void test_rfc5280_5_1_2_4_times(void **state) {
  (void)state;
  crl_spec s = default_spec();
  assert_int_equal(status_of(&s, g.ca.cert, RT_NOW + 7 * RT_DAY + 300), FG_CRL_OK);
  assert_int_equal(status_of(&s, g.ca.cert, RT_NOW + 7 * RT_DAY + 301), FG_CRL_ERR_EXPIRED);
  assert_int_equal(status_of(&s, g.ca.cert, RT_NOW - 3600 - 301), FG_CRL_ERR_NOT_YET_VALID);
  s.utc = 1;
  assert_int_equal(status_of(&s, g.ca.cert, RT_NOW), FG_CRL_OK);
  s.next_update = 0;
  fg_crl *crl = parse_spec(&s, NULL);
  assert_non_null(crl);
  assert_false(crl->has_next_update);
  assert_int_equal(crl->this_update, RT_NOW - 3600);
  assert_int_equal(fg_crl_check(crl, g.ca.cert, RT_NOW, 0, 3600), FG_CRL_OK);
  assert_int_equal(fg_crl_check(crl, g.ca.cert, RT_NOW, 0, 3599), FG_CRL_ERR_EXPIRED);
  fg_crl_free(crl);
}

// RFC 5280 §5.2, §5.3: unknown critical extensions refused, unknown
// non-critical ignored; delta, scoped and indirect CRLs unsupported.
static void test_rfc5280_5_2_extensions(void **state) {
  (void)state;
  static const struct {
    const char *oid;
    int critical;
    int entry;
    const char *why;  // NULL: accepted
  } kCases[] = {
      {"1.2.3.4", 0, 0, NULL},
      {"1.2.3.4", 1, 0, "unknown critical CRL extension"},
      {"2.5.29.20", 1, 0, NULL},  // cRLNumber, known
      {"2.5.29.27", 1, 0, "delta CRLs are not supported"},
      {"2.5.29.28", 1, 0, "CRLs with an issuingDistributionPoint are not supported"},
      {"1.2.3.4", 0, 1, NULL},
      {"1.2.3.4", 1, 1, "unknown critical CRL entry extension"},
      {"2.5.29.29", 1, 1, "indirect CRLs (certificateIssuer) are not supported"},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    crl_spec s = default_spec();
    if (kCases[i].entry) {
      s.entries[1].ext_oid = kCases[i].oid;
      s.entries[1].ext_critical = kCases[i].critical;
    } else {
      s.ext_oid = kCases[i].oid;
      s.ext_critical = kCases[i].critical;
    }
    const char *why = NULL;
    fg_crl *crl = parse_spec(&s, &why);
    if (kCases[i].why == NULL) {
      if (crl == NULL) fail_msg("case %zu refused: %s", i, why);
      assert_int_equal(fg_crl_check(crl, g.ca.cert, RT_NOW, 300, RT_DAY), FG_CRL_OK);
    } else {
      assert_null(crl);
      assert_string_equal(why, kCases[i].why);
    }
    fg_crl_free(crl);
  }
  // §5.1.2.1: extensions need v2.
  crl_spec s = default_spec();
  s.v1 = 1;
  assert_null(parse_spec(&s, NULL));
  s.num_entries = 0;
  crl_spec v1 = s;
  fg_crl *crl = parse_spec(&v1, NULL);
  assert_non_null(crl);
  fg_crl_free(crl);
}

// Bounded input and strict DER: the size cap, every truncation refused.
static void test_size_cap_and_truncations(void **state) {
  (void)state;
  crl_spec s = default_spec();
  size_t len;
  uint8_t *der = build(&len, &s);
  const char *why = NULL;
  assert_null(fg_crl_parse(der, len, len - 1, &why));
  assert_string_equal(why, "CRL larger than the limit");
  fg_crl *crl = fg_crl_parse(der, len, len, NULL);
  assert_non_null(crl);
  fg_crl_free(crl);
  for (size_t n = 0; n < len; n++) {
    crl = fg_crl_parse(der, n, 0, NULL);
    if (crl != NULL) fail_msg("prefix of %zu bytes parsed", n);
  }
  free(der);
}

// RFC 5280 §5: a CRL made by `openssl ca -gencrl` from an index file.
static void test_rfc5280_5_openssl_gencrl(void **state) {
  (void)state;
  if (!rt_have_openssl()) skip();
  const char *dir = rt_tmpdir();
  assert_non_null(dir);
  int64_t now = time(NULL);
  rt_pair ca = {fg_devpki_key_p256(), NULL};
  ca.cert = fg_devpki_mint_ca(ca.key, "Gencrl CA", now - RT_DAY, now + 365 * RT_DAY);
  assert_non_null(ca.cert);
  assert_true(rt_write_pem(dir, "ca", &ca));
  char revoked_hex[64], good_hex[64], path[512];
  rt_serial_hex(revoked_hex, sizeof(revoked_hex), g.leaf.cert);
  rt_serial_hex(good_hex, sizeof(good_hex), g.leaf2.cert);
  snprintf(path, sizeof(path), "%s/index.txt", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "R\t991231235959Z\t230101000000Z,keyCompromise\t%s\tunknown\t/CN=leaf.example\n",
          revoked_hex);
  fprintf(f, "V\t991231235959Z\t\t%s\tunknown\t/CN=leaf.example\n", good_hex);
  fclose(f);
  snprintf(path, sizeof(path), "%s/ca.cnf", dir);
  f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f,
          "[ca]\ndefault_ca = d\n[d]\ndatabase = %s/index.txt\ncrlnumber = %s/crlnumber\n"
          "default_md = sha256\ndefault_crl_days = 7\n",
          dir, dir);
  fclose(f);
  int rc = rt_sh(
      "cd %s && echo 01 >crlnumber && openssl ca -gencrl -config ca.cnf -keyfile ca.key "
      "-cert ca.crt -out crl.pem >out.txt 2>&1 && openssl crl -in crl.pem -outform DER "
      "-out crl.der >>out.txt 2>&1",
      dir);
  if (rc != 0) {
    rt_sh("cat %s/out.txt", dir);
    fail_msg("openssl ca -gencrl failed (%d)", rc);
  }
  snprintf(path, sizeof(path), "%s/crl.der", dir);
  size_t len;
  uint8_t *der = NULL;
  f = fopen(path, "rb");
  assert_non_null(f);
  der = malloc(65536);
  len = fread(der, 1, 65536, f);
  fclose(f);
  const char *why = NULL;
  fg_crl *crl = fg_crl_parse(der, len, 0, &why);
  if (crl == NULL) fail_msg("openssl CRL refused: %s", why);
  assert_int_equal(fg_crl_check(crl, ca.cert, now, 300, RT_DAY), FG_CRL_OK);
  assert_int_equal(fg_crl_check(crl, ca.cert, now + 8 * RT_DAY, 300, RT_DAY), FG_CRL_ERR_EXPIRED);
  assert_int_equal(fg_crl_check(crl, g.ca.cert, now, 300, RT_DAY), FG_CRL_ERR_WRONG_ISSUER);
  int64_t date;
  int reason;
  assert_true(fg_crl_lookup_cert(crl, g.leaf.cert, &date, &reason));
  assert_int_equal(date, 1672531200);
  assert_int_equal(reason, 1);
  assert_false(fg_crl_lookup_cert(crl, g.leaf2.cert, NULL, NULL));
  fg_crl_free(crl);
  free(der);
  rt_pair_free(&ca);
  rt_sh("rm -rf %s", dir);
}

// RFC 5280 §4.2.1.13 and §4.2.2.1: http URLs of complete, direct CRLs and
// of OCSP responders; ldap, caIssuers and cRLIssuer-scoped points skipped.
static void test_rfc5280_4_2_1_13_urls(void **state) {
  (void)state;
  // cRLDistributionPoints: [http://crl.example/a.crl, ldap://x] ,
  // [http://crl.example/indirect.crl with cRLIssuer], [HTTP://CRL.example/b.crl]
  CBB cbb, dps, dp, name, full, uri, issuer, dn;
  const char *uris[] = {"http://crl.example/a.crl", "ldap://ldap.example/cn=x"};
  assert_true(CBB_init(&cbb, 256) && CBB_add_asn1(&cbb, &dps, CBS_ASN1_SEQUENCE) &&
              CBB_add_asn1(&dps, &dp, CBS_ASN1_SEQUENCE) &&
              CBB_add_asn1(&dp, &name, FG_DER_TAG_CTX_CONS(0)) &&
              CBB_add_asn1(&name, &full, FG_DER_TAG_CTX_CONS(0)));
  for (int i = 0; i < 2; i++) {
    assert_true(CBB_add_asn1(&full, &uri, FG_DER_TAG_CTX(6)) &&
                CBB_add_bytes(&uri, (const uint8_t *)uris[i], strlen(uris[i])));
  }
  assert_true(CBB_add_asn1(&dps, &dp, CBS_ASN1_SEQUENCE) &&
              CBB_add_asn1(&dp, &name, FG_DER_TAG_CTX_CONS(0)) &&
              CBB_add_asn1(&name, &full, FG_DER_TAG_CTX_CONS(0)) &&
              CBB_add_asn1(&full, &uri, FG_DER_TAG_CTX(6)) &&
              CBB_add_bytes(&uri, (const uint8_t *)"http://crl.example/i.crl", 24) &&
              CBB_add_asn1(&dp, &issuer, FG_DER_TAG_CTX_CONS(2)) &&
              CBB_add_asn1(&issuer, &dn, FG_DER_TAG_CTX_CONS(4)) &&
              CBB_add_asn1(&dn, &uri, CBS_ASN1_SEQUENCE));
  assert_true(CBB_add_asn1(&dps, &dp, CBS_ASN1_SEQUENCE) &&
              CBB_add_asn1(&dp, &name, FG_DER_TAG_CTX_CONS(0)) &&
              CBB_add_asn1(&name, &full, FG_DER_TAG_CTX_CONS(0)) &&
              CBB_add_asn1(&full, &uri, FG_DER_TAG_CTX(6)) &&
              CBB_add_bytes(&uri, (const uint8_t *)"HTTP://CRL.example/b.crl", 24));
  size_t dp_len, aia_len;
  uint8_t *dp_der = rt_finish(&cbb, &dp_len);
  // authorityInfoAccess: caIssuers http, ocsp http, ocsp ldap.
  CBB seq, ad, o;
  const char *methods[] = {"1.3.6.1.5.5.7.48.2", "1.3.6.1.5.5.7.48.1", "1.3.6.1.5.5.7.48.1"};
  const char *locs[] = {"http://ca.example/ca.crt", "http://ocsp.example", "ldap://ocsp.example"};
  assert_true(CBB_init(&cbb, 256) && CBB_add_asn1(&cbb, &seq, CBS_ASN1_SEQUENCE));
  for (int i = 0; i < 3; i++) {
    assert_true(CBB_add_asn1(&seq, &ad, CBS_ASN1_SEQUENCE) &&
                CBB_add_asn1(&ad, &o, CBS_ASN1_OBJECT) &&
                CBB_add_asn1_oid_from_text(&o, methods[i], strlen(methods[i])) &&
                CBB_add_asn1(&ad, &uri, FG_DER_TAG_CTX(6)) &&
                CBB_add_bytes(&uri, (const uint8_t *)locs[i], strlen(locs[i])));
  }
  uint8_t *aia_der = rt_finish(&cbb, &aia_len);
  fg_devpki_ext exts[] = {{"2.5.29.31", 0, dp_der, dp_len},
                          {"1.3.6.1.5.5.7.1.1", 0, aia_der, aia_len}};
  fg_devpki_spec spec = {.cn = "urls.example", .exts = exts, .num_exts = 2};
  rt_pair leaf;
  assert_true(rt_pair_leaf(&leaf, fg_devpki_key_p256(), spec, &g.ca));
  uint8_t *der = NULL;
  int n = i2d_X509(leaf.cert, &der);
  fg_crl_urls urls;
  assert_true(fg_crl_urls_from_cert(&urls, der, (size_t)n));
  assert_int_equal(urls.num_crl, 2);
  assert_string_equal(urls.crl[0], "http://crl.example/a.crl");
  assert_string_equal(urls.crl[1], "HTTP://CRL.example/b.crl");
  assert_int_equal(urls.num_ocsp, 1);
  assert_string_equal(urls.ocsp[0], "http://ocsp.example");
  OPENSSL_free(der);
  // A certificate without either extension has no URL.
  der = NULL;
  n = i2d_X509(g.leaf.cert, &der);
  assert_true(fg_crl_urls_from_cert(&urls, der, (size_t)n));
  assert_int_equal(urls.num_crl + urls.num_ocsp, 0);
  assert_false(fg_crl_urls_from_cert(&urls, der, (size_t)n - 1));
  OPENSSL_free(der);
  rt_pair_free(&leaf);
  free(dp_der);
  free(aia_der);
}

// RFC 5280 §5.3.1: CRLReason names, shared with OCSP's revokedInfo.
static void test_rfc5280_5_3_1_reason_names(void **state) {
  (void)state;
  static const struct {
    int reason;
    const char *name;
  } kCases[] = {
      {0, "unspecified"},
      {1, "keyCompromise"},
      {2, "cACompromise"},
      {3, "affiliationChanged"},
      {4, "superseded"},
      {5, "cessationOfOperation"},
      {6, "certificateHold"},
      {7, "?"},
      {8, "removeFromCRL"},
      {9, "privilegeWithdrawn"},
      {10, "aACompromise"},
      {11, "?"},
      {FG_CRL_REASON_NONE, "none"},
      {-2, "?"},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    assert_string_equal(fg_crl_reason_string(kCases[i].reason), kCases[i].name);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc5280_5_1_2_6_lookup),
      cmocka_unit_test(test_rfc5280_5_3_1_reason_names),
      cmocka_unit_test(test_rfc5280_5_1_1_3_signature),
      cmocka_unit_test(test_rfc5280_5_1_2_4_times),
      cmocka_unit_test(test_rfc5280_5_2_extensions),
      cmocka_unit_test(test_size_cap_and_truncations),
      cmocka_unit_test(test_rfc5280_5_openssl_gencrl),
      cmocka_unit_test(test_rfc5280_4_2_1_13_urls),
  };
  return cmocka_run_group_tests_name("crl", tests, setup, teardown);
}
