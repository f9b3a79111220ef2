// posh_test.c: POSH documents (crypto/posh.c): the shapes RFC 7711 §3.2 and
// §3.3 show, matching, the writer, and every kind of bad document.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/base64.h>
#include <openssl/sha.h>

#include "crypto/posh.h"

static const uint8_t kCert[] = "stand-in DER certificate bytes: matching hashes the whole thing";
static const uint8_t kOther[] = "another certificate";

static fg_posh_status parse_str(fg_posh_doc *doc, const char *json, char *why, size_t why_len) {
  return fg_posh_parse(doc, (const uint8_t *)json, strlen(json), why, why_len);
}

static void b64(char *out, const uint8_t *in, size_t len) {
  EVP_EncodeBlock((uint8_t *)out, in, len);
}

// RFC 7711 §3.2: the primary document's shape (fingerprints with sha-256
// and sha-512 members, expires in seconds).
static void test_rfc7711_3_2_primary_document(void **state) {
  (void)state;
  const char *json =
      "{\n  \"fingerprints\": [\n    {\n"
      "      \"sha-256\": \"4/mggdlVx8A3pvHAWW5sD+qJyMtUHgiRuPjVC48N0XQ=\",\n"
      "      \"sha-512\": "
      "\"25N+1hB2Vo42l9lSGqw+n3BKFhDHsyork8ou+D9B43TXeJ1J81mdQEDqm39oR/EHkPBDDG1y5+"
      "AG94Kec0xVqA==\"\n    }\n  ],\n  \"expires\": 604800\n}\n";
  fg_posh_doc doc;
  char why[200];
  assert_int_equal(parse_str(&doc, json, why, sizeof(why)), FG_POSH_OK);
  assert_int_equal(doc.n_fingerprints, 2);
  assert_true(doc.primary);
  assert_true(doc.has_expires);
  assert_int_equal(doc.expires, 604800);
  assert_string_equal(doc.url, "");
  assert_int_equal(doc.fingerprints[0].hash, FG_POSH_SHA256);
  assert_int_equal(doc.fingerprints[1].hash, FG_POSH_SHA512);
  assert_int_equal(doc.fingerprints[0].digest[0], 0xe3);  // '4/m' = e3 f9 a0
  assert_false(fg_posh_match(&doc, kCert, sizeof(kCert)));
}

// RFC 7711 §3.3: a reference document names another POSH file.
static void test_rfc7711_3_3_reference_document(void **state) {
  (void)state;
  fg_posh_doc doc;
  char why[200];
  assert_int_equal(parse_str(&doc,
                             "{\"url\":\"https://hosting.example.net/.well-known/posh/"
                             "xmpp-server.json\",\"expires\":86400}",
                             why, sizeof(why)),
                   FG_POSH_OK);
  assert_false(doc.primary);
  assert_int_equal(doc.n_fingerprints, 0);
  assert_string_equal(doc.url, "https://hosting.example.net/.well-known/posh/xmpp-server.json");
  assert_int_equal(doc.expires, 86400);
}

// RFC 7711 §3.2: the hash is over the whole certificate; any one listed
// fingerprint suffices (key rollover lists the old and the new one).
static void test_rfc7711_3_2_match_whole_certificate(void **state) {
  (void)state;
  uint8_t d[64];
  char a[100], b[100], json[600];
  SHA256(kOther, sizeof(kOther), d);
  b64(a, d, 32);
  SHA512(kCert, sizeof(kCert), d);
  b64(b, d, 64);
  snprintf(json, sizeof(json),
           "{\"fingerprints\":[{\"sha-256\":\"%s\"},{\"sha-1\":\"AAAA\",\"sha-512\":\"%s\"}]}", a,
           b);
  fg_posh_doc doc;
  assert_int_equal(parse_str(&doc, json, NULL, 0), FG_POSH_OK);
  assert_int_equal(doc.n_fingerprints, 2);
  assert_false(doc.has_expires);
  assert_true(fg_posh_match(&doc, kCert, sizeof(kCert)));
  assert_true(fg_posh_match(&doc, kOther, sizeof(kOther)));
  assert_false(fg_posh_match(&doc, kCert, sizeof(kCert) - 1));
}

static void test_rfc7711_3_2_sha384(void **state) {
  (void)state;
  uint8_t d[48];
  char a[100], json[300];
  SHA384(kCert, sizeof(kCert), d);
  b64(a, d, 48);
  snprintf(json, sizeof(json), "{\"fingerprints\":[{\"sha-384\":\"%s\"}],\"expires\":0}", a);
  fg_posh_doc doc;
  assert_int_equal(parse_str(&doc, json, NULL, 0), FG_POSH_OK);
  assert_true(doc.has_expires);
  assert_int_equal(doc.expires, 0);
  assert_true(fg_posh_match(&doc, kCert, sizeof(kCert)));
}

// The writer's document parses back and matches the certificate.
static void test_write_roundtrip(void **state) {
  (void)state;
  char out[1024];
  size_t n = fg_posh_write(out, sizeof(out), kCert, sizeof(kCert), 3600);
  assert_true(n > 0);
  assert_non_null(strstr(out, "\"expires\": 3600"));
  fg_posh_doc doc;
  assert_int_equal(fg_posh_parse(&doc, (const uint8_t *)out, n, NULL, 0), FG_POSH_OK);
  assert_int_equal(doc.n_fingerprints, 2);
  assert_true(fg_posh_match(&doc, kCert, sizeof(kCert)));
  assert_false(fg_posh_match(&doc, kOther, sizeof(kOther)));
  n = fg_posh_write(out, sizeof(out), kCert, sizeof(kCert), 0);
  assert_null(strstr(out, "expires"));
  assert_int_equal(fg_posh_parse(&doc, (const uint8_t *)out, n, NULL, 0), FG_POSH_OK);
  assert_false(doc.has_expires);
  assert_int_equal(fg_posh_write(out, 50, kCert, sizeof(kCert), 0), 0);
}

// Fingerprints win over url in one document (no second fetch).
static void test_rfc7711_fingerprints_win_over_url(void **state) {
  (void)state;
  char out[1024], json[1200];
  fg_posh_write(out, sizeof(out), kCert, sizeof(kCert), 0);
  out[strlen(out) - 2] = 0;  // drop "}\n"
  snprintf(json, sizeof(json), "%s, \"url\": \"https://elsewhere.example/x.json\"}", out);
  fg_posh_doc doc;
  char why[200];
  assert_int_equal(parse_str(&doc, json, why, sizeof(why)), FG_POSH_OK);
  assert_string_equal(doc.url, "");
  assert_true(fg_posh_match(&doc, kCert, sizeof(kCert)));
}

// Unknown members, nested values and escapes are checked and skipped.
static void test_unknown_members_skipped(void **state) {
  (void)state;
  const char *json =
      "\xef\xbb\xbf {\"comment\": \"caf\\u00e9 \\ud83d\\ude00 \xc3\xa9\", \"x\": [1, -2.5e+3, "
      "true, false, null, {\"a\": {}}], \"url\": \"https://h.example/p\"}";
  fg_posh_doc doc;
  char why[200];
  assert_int_equal(parse_str(&doc, json, why, sizeof(why)), FG_POSH_OK);
  assert_string_equal(doc.url, "https://h.example/p");
}

typedef struct bad_case {
  const char *json;
  fg_posh_status want;
} bad_case;

static void test_bad_documents(void **state) {
  (void)state;
  static const bad_case kCases[] = {
      {"", FG_POSH_ERR_SYNTAX},
      {"[]", FG_POSH_ERR_NOT_OBJECT},
      {"\"x\"", FG_POSH_ERR_NOT_OBJECT},
      {"{}", FG_POSH_ERR_EMPTY},
      {"{\"fingerprints\": []}", FG_POSH_ERR_EMPTY},
      {"{\"fingerprints\": [{\"sha-1\": \"AAAA\"}]}", FG_POSH_ERR_EMPTY},
      {"{\"url\": \"https://a.example/\"} x", FG_POSH_ERR_SYNTAX},
      {"{\"url\": \"https://a.example/\"", FG_POSH_ERR_SYNTAX},
      {"{\"url\": \"https://a.example/}", FG_POSH_ERR_SYNTAX},
      {"{\"url\": \"http://a.example/\"}", FG_POSH_ERR_URL},
      {"{\"url\": 5}", FG_POSH_ERR_URL},
      {"{\"url\": \"https://\"}", FG_POSH_ERR_URL},
      {"{\"url\": \"https://a\\u0000b\"}", FG_POSH_ERR_URL},
      {"{\"url\": \"https://a.example/\", \"url\": \"https://b.example/\"}",
       FG_POSH_ERR_DUPLICATE_KEY},
      {"{\"url\": \"https://a.example/\", \"expires\": -1}", FG_POSH_ERR_EXPIRES},
      {"{\"url\": \"https://a.example/\", \"expires\": 1.5}", FG_POSH_ERR_EXPIRES},
      {"{\"url\": \"https://a.example/\", \"expires\": 1e3}", FG_POSH_ERR_EXPIRES},
      {"{\"url\": \"https://a.example/\", \"expires\": 99999999999}", FG_POSH_ERR_EXPIRES},
      {"{\"url\": \"https://a.example/\", \"expires\": \"60\"}", FG_POSH_ERR_EXPIRES},
      {"{\"url\": \"https://a.example/\", \"expires\": 01}", FG_POSH_ERR_SYNTAX},
      {"{\"fingerprints\": {}}", FG_POSH_ERR_FINGERPRINTS},
      {"{\"fingerprints\": [\"x\"]}", FG_POSH_ERR_FINGERPRINTS},
      {"{\"fingerprints\": [{\"sha-256\": 1}]}", FG_POSH_ERR_FINGERPRINTS},
      {"{\"fingerprints\": [{\"sha-256\": \"not base64!\"}]}", FG_POSH_ERR_FINGERPRINTS},
      {"{\"fingerprints\": [{\"sha-256\": \"AAAA\"}]}", FG_POSH_ERR_FINGERPRINTS},
      {"{\"fingerprints\": [{\"sha-256\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\", "
       "\"sha-256\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}]}",
       FG_POSH_ERR_DUPLICATE_KEY},
      {"{\"x\": \"\x01\"}", FG_POSH_ERR_SYNTAX},
      {"{\"x\": \"\xc0\xaf\"}", FG_POSH_ERR_SYNTAX},
      {"{\"x\": \"\xed\xa0\x80\"}", FG_POSH_ERR_SYNTAX},
      {"{\"x\": \"\\ud800\"}", FG_POSH_ERR_SYNTAX},
      {"{\"x\": \"\\udc00\"}", FG_POSH_ERR_SYNTAX},
      {"{\"x\": \"\\q\"}", FG_POSH_ERR_SYNTAX},
      {"{\"x\": tru}", FG_POSH_ERR_SYNTAX},
      {"{\"x\": 1,}", FG_POSH_ERR_SYNTAX},
      {"{\"x\": [1,]}", FG_POSH_ERR_SYNTAX},
      {"{\"x\": -}", FG_POSH_ERR_SYNTAX},
      {"{'x': 1}", FG_POSH_ERR_SYNTAX},
      {"{\"x\": [[[[[[[[[[1]]]]]]]]]]}", FG_POSH_ERR_TOO_DEEP},
      {"{\"fingerprints\": [{\"sha-256\": ", FG_POSH_ERR_SYNTAX},
      {"{\"fingerprints\": [", FG_POSH_ERR_SYNTAX},
      {"{\"fingerprints\": ", FG_POSH_ERR_SYNTAX},
      {"{\"expires\": ", FG_POSH_ERR_SYNTAX},
      {"{\"url\": ", FG_POSH_ERR_SYNTAX},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    fg_posh_doc doc;
    char why[200];
    fg_posh_status s = parse_str(&doc, kCases[i].json, why, sizeof(why));
    if (s != kCases[i].want) {
      fail_msg("case %zu (%s): got %s (%s), want %s", i, kCases[i].json, fg_posh_status_name(s),
               why, fg_posh_status_name(kCases[i].want));
    }
    assert_true(why[0] != 0);  // every refusal says why
    assert_int_equal(doc.n_fingerprints, 0);
  }
}

// Huge and deeply nested input: refused by size or depth, never a crash.
static void test_huge_and_deep(void **state) {
  (void)state;
  size_t n = 1 << 20;
  uint8_t *big = malloc(n);
  memset(big, '[', n);
  fg_posh_doc doc;
  char why[200];
  assert_int_equal(fg_posh_parse(&doc, big, n, why, sizeof(why)), FG_POSH_ERR_TOO_LARGE);
  big[0] = '{';
  memcpy(big + 1, "\"x\":", 4);
  assert_int_equal(fg_posh_parse(&doc, big, FG_POSH_MAX_DOCUMENT, why, sizeof(why)),
                   FG_POSH_ERR_TOO_DEEP);
  free(big);
}

static void test_too_many_fingerprints(void **state) {
  (void)state;
  char json[8192] = "{\"fingerprints\":[";
  for (int i = 0; i <= FG_POSH_MAX_FINGERPRINTS; i++) {
    strcat(json, i ? "," : "");
    strcat(json, "{\"sha-256\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}");
  }
  strcat(json, "]}");
  fg_posh_doc doc;
  char why[200];
  assert_int_equal(parse_str(&doc, json, why, sizeof(why)), FG_POSH_ERR_FINGERPRINTS);
  assert_non_null(strstr(why, "more than"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc7711_3_2_primary_document),
      cmocka_unit_test(test_rfc7711_3_3_reference_document),
      cmocka_unit_test(test_rfc7711_3_2_match_whole_certificate),
      cmocka_unit_test(test_rfc7711_3_2_sha384),
      cmocka_unit_test(test_write_roundtrip),
      cmocka_unit_test(test_rfc7711_fingerprints_win_over_url),
      cmocka_unit_test(test_unknown_members_skipped),
      cmocka_unit_test(test_bad_documents),
      cmocka_unit_test(test_huge_and_deep),
      cmocka_unit_test(test_too_many_fingerprints),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
