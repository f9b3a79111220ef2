// san_test.c: crypto/san on certificates minted in the test with crafted
// subjectAltNames (crypto/devpki), including NUL bytes, CN injection, IDNs
// and malformed encodings.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/x509v3.h>

#include "crypto/devpki.h"
#include "crypto/identity.h"
#include "crypto/san.h"

#define T0 1700000000LL

static EVP_PKEY *g_key;

static int setup(void **state) {
  (void)state;
  g_key = fg_devpki_key_p256();
  return g_key == NULL;
}

static int teardown(void **state) {
  (void)state;
  EVP_PKEY_free(g_key);
  return 0;
}

#define NAME(k, s) \
  { (k), (const uint8_t *)(s), sizeof(s) - 1 }

// mint_der returns the DER of a self-signed certificate for |spec|.
static uint8_t *mint_der(fg_devpki_spec *spec, size_t *len) {
  spec->not_before = T0;
  spec->not_after = T0 + 86400;
  spec->path_len = -1;
  X509 *x = fg_devpki_mint(spec, g_key, NULL, NULL);
  assert_non_null(x);
  uint8_t *der = NULL;
  int n = i2d_X509(x, &der);
  assert_true(n > 0);
  X509_free(x);
  *len = (size_t)n;
  return der;
}

// parse_spec mints |spec| and parses it into |ids|; it returns the parser's
// result and reason.
static int parse_spec(fg_cert_ids *ids, fg_devpki_spec *spec, const char **reason) {
  size_t len;
  uint8_t *der = mint_der(spec, &len);
  fg_cert_ids_init(ids);
  *reason = NULL;
  int ok = fg_san_parse_cert(ids, der, len, reason);
  OPENSSL_free(der);
  return ok;
}

static fg_identity_status match(const fg_cert_ids *ids, const char *domain, const char *service,
                                unsigned flags) {
  fg_identity_ref ref;
  fg_identity_ref_init(&ref, (const uint8_t *)domain, strlen(domain), service);
  return fg_identity_match(NULL, ids, &ref, flags);
}

// RFC 5280 §4.2.1.6, RFC 4985, RFC 6120 §13.7.1.4: every identifier type
// is extracted with its bytes; other GeneralName types are only counted.
static void test_rfc5280_4_2_1_6_extracts_all_types(void **state) {
  (void)state;
  fg_devpki_name names[] = {
      NAME(FG_DEVPKI_DNS, "chat.example"),    NAME(FG_DEVPKI_SRV, "_xmpp-server.example"),
      NAME(FG_DEVPKI_XMPP, "im.example"),     NAME(FG_DEVPKI_URI, "https://example/"),
      NAME(FG_DEVPKI_EMAIL, "admin@example"),
  };
  fg_devpki_spec spec = {.cn = "cn.example", .names = names, .num_names = 5};
  fg_cert_ids ids;
  const char *why;
  assert_true(parse_spec(&ids, &spec, &why));
  assert_int_equal(ids.num_ids, 4);  // CN, DNS, SRV, XMPP
  assert_int_equal(ids.num_san_dns, 1);
  assert_int_equal(ids.num_san_srv, 1);
  assert_int_equal(ids.num_san_xmpp, 1);
  assert_int_equal(ids.num_san_other, 2);
  assert_int_equal(ids.ids[0].type, FG_ID_CN);
  assert_string_equal(ids.ids[0].name, "cn.example");
  assert_int_equal(ids.ids[1].type, FG_ID_DNS);
  assert_string_equal(ids.ids[1].name, "chat.example");
  assert_int_equal(ids.ids[2].type, FG_ID_SRV);
  assert_string_equal(ids.ids[2].service, "xmpp-server");
  assert_string_equal(ids.ids[2].name, "example");
  assert_int_equal(ids.ids[3].type, FG_ID_XMPP);
  assert_string_equal(ids.ids[3].name, "im.example");
  assert_int_equal(match(&ids, "chat.example", NULL, 0), FG_IDENTITY_MATCH);
  assert_int_equal(match(&ids, "example", NULL, 0), FG_IDENTITY_MATCH);
  assert_int_equal(match(&ids, "example", "xmpp-client", 0), FG_IDENTITY_NOMATCH);
  assert_int_equal(match(&ids, "im.example", NULL, 0), FG_IDENTITY_MATCH);
  // The CN is ignored: there are SAN identifiers (RFC 9525 §6.2.1).
  assert_int_equal(match(&ids, "cn.example", NULL, FG_IDENTITY_LEGACY_CN_ID), FG_IDENTITY_NOMATCH);
  fg_cert_ids_cleanup(&ids);
}

// The parser agrees with BoringSSL's own SAN decoder on the dNSNames.
static void test_rfc5280_4_2_1_6_agrees_with_boringssl(void **state) {
  (void)state;
  fg_devpki_name names[] = {
      NAME(FG_DEVPKI_DNS, "a.example"),
      NAME(FG_DEVPKI_XMPP, "x.example"),
      NAME(FG_DEVPKI_DNS, "*.b.example"),
      NAME(FG_DEVPKI_DNS, "C.Example."),
  };
  fg_devpki_spec spec = {.names = names, .num_names = 4};
  size_t len;
  uint8_t *der = mint_der(&spec, &len);
  const uint8_t *p = der;
  X509 *x = d2i_X509(NULL, &p, (long)len);
  assert_non_null(x);
  GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  assert_non_null(gens);
  fg_cert_ids ids;
  fg_cert_ids_init(&ids);
  const char *why = NULL;
  assert_true(fg_san_parse_cert(&ids, der, len, &why));
  size_t k = 0;
  for (size_t i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
    GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
    if (g->type != GEN_DNS) continue;
    while (k < ids.num_ids && ids.ids[k].type != FG_ID_DNS) k++;
    assert_true(k < ids.num_ids);
    assert_int_equal(ids.ids[k].raw_len, (size_t)ASN1_STRING_length(g->d.dNSName));
    assert_memory_equal(ids.ids[k].raw, ASN1_STRING_get0_data(g->d.dNSName), ids.ids[k].raw_len);
    k++;
  }
  assert_int_equal(ids.num_san_dns, 3);
  GENERAL_NAMES_free(gens);
  X509_free(x);
  OPENSSL_free(der);
  fg_cert_ids_cleanup(&ids);
}

// RFC 9525 §6.3 / RFC 6125 §7.2 (the "null prefix" attack): a NUL inside a
// dNSName makes the name unusable; neither side of the NUL matches.
static void test_rfc9525_6_3_nul_in_dnsname(void **state) {
  (void)state;
  fg_devpki_name names[] = {NAME(FG_DEVPKI_DNS, "good.example\0.evil.example")};
  fg_devpki_spec spec = {.names = names, .num_names = 1};
  fg_cert_ids ids;
  const char *why;
  assert_true(parse_spec(&ids, &spec, &why));
  assert_int_equal(ids.num_ids, 1);
  assert_int_equal(ids.ids[0].raw_len, 26);
  assert_false(ids.ids[0].valid);
  assert_int_equal(match(&ids, "good.example", NULL, 0), FG_IDENTITY_NOMATCH_NO_IDS);
  assert_int_equal(match(&ids, "evil.example", NULL, 0), FG_IDENTITY_NOMATCH_NO_IDS);
  char buf[128];
  fg_presented_id_format(buf, sizeof(buf), &ids.ids[0]);
  assert_string_equal(buf, "dns:good.example\\x00.evil.example");
  fg_cert_ids_cleanup(&ids);
}

// RFC 9525 §6.2.1 / CN injection: the CN is read as one DER string, so a
// subject that prints as ".../CN=good.example" never yields good.example.
static void test_rfc9525_6_2_1_cn_injection_attempt(void **state) {
  (void)state;
  fg_devpki_spec spec = {.org = "Evil/CN=good.example", .cn = "evil.example/CN=good.example"};
  fg_cert_ids ids;
  const char *why;
  assert_true(parse_spec(&ids, &spec, &why));
  assert_int_equal(ids.num_ids, 1);
  assert_int_equal(ids.ids[0].type, FG_ID_CN);
  assert_false(ids.ids[0].valid);
  assert_int_equal(match(&ids, "good.example", NULL, FG_IDENTITY_LEGACY_CN_ID),
                   FG_IDENTITY_NOMATCH_NO_IDS);
  fg_cert_ids_cleanup(&ids);

  // Two CNs: which one the CA meant is ambiguous, so neither counts.
  fg_devpki_spec two = {.cn = "evil.example", .cn2 = "good.example"};
  assert_true(parse_spec(&ids, &two, &why));
  assert_int_equal(ids.num_ids, 2);
  assert_int_equal(match(&ids, "good.example", NULL, FG_IDENTITY_LEGACY_CN_ID),
                   FG_IDENTITY_NOMATCH_NO_IDS);
  fg_cert_ids_cleanup(&ids);

  // A single clean CN works in legacy mode only, and only without SANs.
  fg_devpki_spec one = {.cn = "good.example"};
  assert_true(parse_spec(&ids, &one, &why));
  assert_int_equal(match(&ids, "good.example", NULL, 0), FG_IDENTITY_NOMATCH_NO_IDS);
  assert_int_equal(match(&ids, "good.example", NULL, FG_IDENTITY_LEGACY_CN_ID), FG_IDENTITY_MATCH);
  fg_cert_ids_cleanup(&ids);
}

// RFC 6120 §13.7.1.4 + RFC 5891: an IDN XmppAddr (UTF-8 U-labels) matches
// the A-label reference and the U-label reference; a U-label dNSName
// (invalid IA5String content) never does.
static void test_rfc6120_13_7_1_4_idn_domains(void **state) {
  (void)state;
  fg_devpki_name names[] = {
      NAME(FG_DEVPKI_XMPP,
           "b\xc3\xbc"
           "cher.example"),
      NAME(FG_DEVPKI_DNS, "m\xc3\xbcnchen.example"),
      NAME(FG_DEVPKI_DNS, "xn--caf-dma.example"),
  };
  fg_devpki_spec spec = {.names = names, .num_names = 3};
  fg_cert_ids ids;
  const char *why;
  assert_true(parse_spec(&ids, &spec, &why));
  assert_string_equal(ids.ids[0].name, "xn--bcher-kva.example");
  assert_int_equal(match(&ids, "xn--bcher-kva.example", NULL, 0), FG_IDENTITY_MATCH);
  assert_int_equal(match(&ids,
                         "b\xc3\xbc"
                         "cher.example",
                         NULL, 0),
                   FG_IDENTITY_MATCH);
  assert_false(ids.ids[1].valid);
  assert_int_equal(match(&ids, "xn--mnchen-3ya.example", NULL, 0), FG_IDENTITY_NOMATCH);
  assert_int_equal(match(&ids, "caf\xc3\xa9.example", NULL, 0), FG_IDENTITY_MATCH);
  fg_cert_ids_cleanup(&ids);
}

// RFC 5280 §4.2.1.6: GeneralNames is SIZE (1..MAX).
static void test_rfc5280_4_2_1_6_rejects_empty_san(void **state) {
  (void)state;
  static const uint8_t empty[] = {0x30, 0x00};
  fg_devpki_spec spec = {.san_der = empty, .san_der_len = sizeof(empty)};
  fg_cert_ids ids;
  const char *why;
  assert_false(parse_spec(&ids, &spec, &why));
  assert_string_equal(why, "empty subjectAltName");
  fg_cert_ids_cleanup(&ids);
}

// RFC 4985 §2: an SRV-ID that is not an IA5String is malformed.
static void test_rfc4985_2_rejects_srv_not_ia5string(void **state) {
  (void)state;
  // SEQUENCE { [0] { OID 1.3.6.1.5.5.7.8.7, [0] { UTF8String "_x.a" } } }
  static const uint8_t bad[] = {0x30, 0x14, 0xa0, 0x12, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05,
                                0x07, 0x08, 0x07, 0xa0, 0x06, 0x0c, 0x04, '_',  'x',  '.',  'a'};
  fg_devpki_spec spec = {.san_der = bad, .san_der_len = sizeof(bad)};
  fg_cert_ids ids;
  const char *why;
  assert_false(parse_spec(&ids, &spec, &why));
  assert_string_equal(why, "SRV-ID is not an IA5String");
  fg_cert_ids_cleanup(&ids);
}

// RFC 6120 §13.7.1.4: an XmppAddr that is not a UTF8String is malformed.
static void test_rfc6120_13_7_1_4_rejects_xmppaddr_not_utf8string(void **state) {
  (void)state;
  static const uint8_t bad[] = {0x30, 0x14, 0xa0, 0x12, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05,
                                0x07, 0x08, 0x05, 0xa0, 0x06, 0x16, 0x04, 'a',  '.',  'b',  'c'};
  fg_devpki_spec spec = {.san_der = bad, .san_der_len = sizeof(bad)};
  fg_cert_ids ids;
  const char *why;
  assert_false(parse_spec(&ids, &spec, &why));
  assert_string_equal(why, "XmppAddr is not a UTF8String");
  fg_cert_ids_cleanup(&ids);
}

// RFC 5280 §4.2.1.6: unknown GeneralName tags and truncated encodings.
static void test_rfc5280_4_2_1_6_rejects_bad_generalname(void **state) {
  (void)state;
  static const uint8_t tag9[] = {0x30, 0x03, 0x89, 0x01, 'a'};
  static const uint8_t truncated[] = {0x30, 0x05, 0x82, 0x07, 'a', '.', 'b'};
  static const uint8_t trailing[] = {0x30, 0x03, 0x82, 0x01, 'a', 0x00};
  static const uint8_t constructed_dns[] = {0x30, 0x03, 0xa2, 0x01, 'a'};
  const uint8_t *cases[] = {tag9, truncated, trailing, constructed_dns};
  size_t lens[] = {sizeof(tag9), sizeof(truncated), sizeof(trailing), sizeof(constructed_dns)};
  for (size_t i = 0; i < 4; i++) {
    fg_devpki_spec spec = {.san_der = cases[i], .san_der_len = lens[i]};
    fg_cert_ids ids;
    const char *why;
    assert_false(parse_spec(&ids, &spec, &why));
    assert_non_null(why);
    fg_cert_ids_cleanup(&ids);
  }
}

// RFC 5280 §4.2: an extension appears at most once.
static void test_rfc5280_4_2_rejects_duplicate_san(void **state) {
  (void)state;
  fg_devpki_name names[] = {NAME(FG_DEVPKI_DNS, "a.example")};
  fg_devpki_spec spec = {.names = names, .num_names = 1, .not_before = T0, .not_after = T0 + 60};
  X509 *x = fg_devpki_mint(&spec, g_key, NULL, NULL);
  assert_non_null(x);
  static const uint8_t san[] = {0x30, 0x0b, 0x82, 0x09, 'b', '.', 'e',
                                'x',  'a',  'm',  'p',  'l', 'e'};
  ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
  assert_true(ASN1_OCTET_STRING_set(os, san, sizeof(san)));
  X509_EXTENSION *ext = X509_EXTENSION_create_by_NID(NULL, NID_subject_alt_name, 0, os);
  assert_true(X509_add_ext(x, ext, -1));
  assert_true(X509_sign(x, g_key, EVP_sha256()));
  uint8_t *der = NULL;
  int len = i2d_X509(x, &der);
  assert_true(len > 0);
  fg_cert_ids ids;
  fg_cert_ids_init(&ids);
  const char *why = NULL;
  assert_false(fg_san_parse_cert(&ids, der, (size_t)len, &why));
  assert_string_equal(why, "duplicate subjectAltName extension");
  fg_cert_ids_cleanup(&ids);
  OPENSSL_free(der);
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(os);
  X509_free(x);
}

// RFC 5280 §4.1: not a certificate at all, or with bytes after it.
static void test_rfc5280_4_1_rejects_non_certificates(void **state) {
  (void)state;
  fg_cert_ids ids;
  const char *why = NULL;
  fg_cert_ids_init(&ids);
  assert_false(fg_san_parse_cert(&ids, (const uint8_t *)"hello", 5, &why));
  assert_string_equal(why, "not a DER certificate");
  assert_false(fg_san_parse_cert(&ids, NULL, 0, &why));
  fg_devpki_spec spec = {.cn = "a.example"};
  size_t len;
  uint8_t *der = mint_der(&spec, &len);
  uint8_t *longer = malloc(len + 1);
  memcpy(longer, der, len);
  longer[len] = 0;
  assert_false(fg_san_parse_cert(&ids, longer, len + 1, &why));
  // Every truncation fails cleanly.
  for (size_t cut = 0; cut < len; cut++) {
    fg_cert_ids_cleanup(&ids);
    assert_false(fg_san_parse_cert(&ids, der, cut, &why));
  }
  fg_cert_ids_cleanup(&ids);
  assert_true(fg_san_parse_cert(&ids, der, len, &why));
  fg_cert_ids_cleanup(&ids);
  free(longer);
  OPENSSL_free(der);
}

// RFC 5280 §4.2.1.6: a certificate with 50 SAN names keeps them all.
static void test_rfc5280_4_2_1_6_many_names(void **state) {
  (void)state;
  char bufs[50][32];
  fg_devpki_name names[50];
  for (int i = 0; i < 50; i++) {
    snprintf(bufs[i], sizeof(bufs[i]), "host%d.example", i);
    names[i] = (fg_devpki_name){FG_DEVPKI_DNS, (const uint8_t *)bufs[i], strlen(bufs[i])};
  }
  fg_devpki_spec spec = {.names = names, .num_names = 50};
  fg_cert_ids ids;
  const char *why;
  assert_true(parse_spec(&ids, &spec, &why));
  assert_int_equal(ids.num_ids, 50);
  assert_int_equal(match(&ids, "host49.example", NULL, 0), FG_IDENTITY_MATCH);
  assert_int_equal(match(&ids, "host50.example", NULL, 0), FG_IDENTITY_NOMATCH);
  fg_cert_ids_cleanup(&ids);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc5280_4_2_1_6_extracts_all_types),
      cmocka_unit_test(test_rfc5280_4_2_1_6_agrees_with_boringssl),
      cmocka_unit_test(test_rfc9525_6_3_nul_in_dnsname),
      cmocka_unit_test(test_rfc9525_6_2_1_cn_injection_attempt),
      cmocka_unit_test(test_rfc6120_13_7_1_4_idn_domains),
      cmocka_unit_test(test_rfc5280_4_2_1_6_rejects_empty_san),
      cmocka_unit_test(test_rfc4985_2_rejects_srv_not_ia5string),
      cmocka_unit_test(test_rfc6120_13_7_1_4_rejects_xmppaddr_not_utf8string),
      cmocka_unit_test(test_rfc5280_4_2_1_6_rejects_bad_generalname),
      cmocka_unit_test(test_rfc5280_4_2_rejects_duplicate_san),
      cmocka_unit_test(test_rfc5280_4_1_rejects_non_certificates),
      cmocka_unit_test(test_rfc5280_4_2_1_6_many_names),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
