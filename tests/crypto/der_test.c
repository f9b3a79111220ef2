// der_test.c: crypto/der: times (RFC 5280 §4.1.2.5), extension lists
// (§4.2) and certificate cutting (§4.1).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/mem.h>

#include "crypto/der.h"
#include "tests/crypto/revocation_testpki.h"

// time_of encodes |text| with |tag| and parses it; it returns 1 on success.
static int time_of(unsigned tag, const char *text, int64_t *out) {
  uint8_t buf[64];
  size_t n = strlen(text);
  buf[0] = (uint8_t)tag;
  buf[1] = (uint8_t)n;
  memcpy(buf + 2, text, n);
  CBS cbs;
  CBS_init(&cbs, buf, n + 2);
  return tag == CBS_ASN1_GENERALIZEDTIME ? fg_der_get_generalized_time(&cbs, out)
                                         : fg_der_get_time(&cbs, out);
}

// RFC 5280 §4.1.2.5.2: GeneralizedTime is YYYYMMDDHHMMSSZ, nothing else.
static void test_rfc5280_4_1_2_5_2_generalized_time(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int64_t want;  // -1: refused
  } kCases[] = {
      {"19700101000000Z", 0},
      {"20231114221320Z", 1700000000},
      {"20000229000000Z", 951782400},   // 2000 is a leap year
      {"20240229120000Z", 1709208000},  // so is 2024
      {"99991231235959Z", 253402300799},
      {"19000229000000Z", -1},  // 1900 is not
      {"20230230000000Z", -1},
      {"20231301000000Z", -1},
      {"20231100000000Z", -1},
      {"20231114240000Z", -1},
      {"20231114236000Z", -1},
      {"20231114235960Z", -1},  // no leap second
      {"20231114221320.5Z", -1},
      {"20231114221320+0000", -1},
      {"20231114221320", -1},
      {"202311142213Z", -1},
      {"2023111422132 Z", -1},
      {"20231114221320z", -1},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    int64_t t = -1;
    int ok = time_of(CBS_ASN1_GENERALIZEDTIME, kCases[i].text, &t);
    if (ok != (kCases[i].want >= 0) || (ok && t != kCases[i].want)) {
      fail_msg("%s: ok=%d t=%lld", kCases[i].text, ok, (long long)t);
    }
  }
}

// RFC 5280 §4.1.2.5.1: UTCTime YYMMDDHHMMSSZ, YY >= 50 is 19YY.
static void test_rfc5280_4_1_2_5_1_utc_time(void **state) {
  (void)state;
  int64_t t;
  assert_true(time_of(CBS_ASN1_UTCTIME, "231114221320Z", &t));
  assert_int_equal(t, 1700000000);
  assert_true(time_of(CBS_ASN1_UTCTIME, "491231235959Z", &t));
  assert_int_equal(t, 2524607999);
  assert_true(time_of(CBS_ASN1_UTCTIME, "500101000000Z", &t));
  assert_int_equal(t, -631152000);
  assert_false(time_of(CBS_ASN1_UTCTIME, "2311142213Z", &t));
  assert_false(time_of(CBS_ASN1_UTCTIME, "231114221320+0100", &t));
  // The Time CHOICE also takes GeneralizedTime.
  assert_true(time_of(CBS_ASN1_GENERALIZEDTIME, "20500101000000Z", &t));
  assert_int_equal(t, 2524608000);
}

// RFC 5280 §4.2: no extension twice; critical is DER TRUE or absent.
static void test_rfc5280_4_2_extension_lists(void **state) {
  (void)state;
  static const uint8_t kNull[] = {0x05, 0x00};
  CBB cbb;
  uint8_t *der;
  size_t len;
  CBS list;
  assert_true(CBB_init(&cbb, 64) && rt_add_ext(&cbb, "1.2.3", 1, kNull, 2) &&
              rt_add_ext(&cbb, "1.2.4", 0, kNull, 2));
  der = rt_finish(&cbb, &len);
  CBS_init(&list, der, len);
  assert_true(fg_der_extensions_check(&list));
  fg_der_ext ext;
  static const uint8_t kOid124[] = {0x2a, 0x04};
  assert_true(fg_der_find_ext(&list, kOid124, sizeof(kOid124), &ext));
  assert_false(ext.critical);
  free(der);
  assert_true(CBB_init(&cbb, 64) && rt_add_ext(&cbb, "1.2.3", 1, kNull, 2) &&
              rt_add_ext(&cbb, "1.2.3", 0, kNull, 2));
  der = rt_finish(&cbb, &len);
  CBS_init(&list, der, len);
  assert_false(fg_der_extensions_check(&list));
  free(der);
  // critical FALSE spelled out (DER forbids encoding the DEFAULT).
  static const uint8_t kFalse[] = {0x30, 0x0a, 0x06, 0x02, 0x2a, 0x03,
                                   0x01, 0x01, 0x00, 0x04, 0x01, 0x00};
  CBS_init(&list, kFalse, sizeof(kFalse));
  assert_false(fg_der_extensions_check(&list));
  CBS_init(&list, NULL, 0);
  assert_false(fg_der_extensions_check(&list));
}

// RFC 5280 §4.1: a minted certificate cuts into the fields BoringSSL sees.
static void test_rfc5280_4_1_cert_fields(void **state) {
  (void)state;
  rt_pair ca;
  assert_true(rt_pair_ca(&ca, "Der CA", fg_devpki_key_p256()));
  fg_der_cert c;
  uint8_t *der = fg_der_cert_from_x509(&c, ca.cert);
  assert_non_null(der);
  assert_int_equal(c.not_before, RT_NOW - 30 * RT_DAY);
  assert_int_equal(c.not_after, RT_NOW + 3650 * RT_DAY);
  assert_int_equal(CBS_len(&c.key_bits), 65);  // uncompressed P-256 point
  assert_true(CBS_len(&c.issuer) == CBS_len(&c.subject) &&
              memcmp(CBS_data(&c.issuer), CBS_data(&c.subject), CBS_len(&c.issuer)) == 0);
  assert_int_equal(
      fg_der_verify(&c.sig_alg, &c.signature, &c.spki, CBS_data(&c.tbs), CBS_len(&c.tbs)),
      FG_DER_SIG_OK);
  size_t len = (size_t)i2d_X509(ca.cert, NULL);
  for (size_t n = 0; n < len; n++) {
    fg_der_cert t;
    if (fg_der_cert_parse(&t, der, n)) fail_msg("prefix of %zu bytes parsed", n);
  }
  OPENSSL_free(der);
  rt_pair_free(&ca);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc5280_4_1_2_5_2_generalized_time),
      cmocka_unit_test(test_rfc5280_4_1_2_5_1_utc_time),
      cmocka_unit_test(test_rfc5280_4_2_extension_lists),
      cmocka_unit_test(test_rfc5280_4_1_cert_fields),
  };
  return cmocka_run_group_tests_name("der", tests, NULL, NULL);
}
