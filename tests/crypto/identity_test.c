// identity_test.c: crypto/identity against every row of
// ../shared/vectors/identity/names.tsv (default and legacy CN policy), plus
// hand-written cases for IDN references, the explanation text and bounds.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/identity.h"
#include "tests/testutil.h"

static fg_id_type type_of(const char *s) {
  if (strcmp(s, "dns") == 0) return FG_ID_DNS;
  if (strcmp(s, "srv") == 0) return FG_ID_SRV;
  if (strcmp(s, "xmpp") == 0) return FG_ID_XMPP;
  if (strcmp(s, "cn") == 0) return FG_ID_CN;
  return 0;
}

// split_tabs splits |line| in place into at most |max| fields.
static int split_tabs(char *line, char **fields, int max) {
  int n = 0;
  char *p = line;
  while (n < max) {
    fields[n++] = p;
    char *tab = strchr(p, '\t');
    if (tab == NULL) break;
    *tab = 0;
    p = tab + 1;
  }
  return n;
}

// RFC 6120 §13.7.1.2 / RFC 9525 §6: the whole public vector table.
static void test_rfc9525_6_names_tsv_vectors(void **state) {
  (void)state;
  char path[1024];
  assert_true(fg_test_vector_path(path, sizeof(path), "identity/names.tsv"));
  size_t len;
  uint8_t *data = fg_test_read_file(path, &len);
  assert_non_null(data);
  char *save = NULL;
  char *line = strtok_r((char *)data, "\n", &save);  // header
  assert_non_null(line);
  int rows = 0, failures = 0;
  while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
    size_t l = strlen(line);
    if (l > 0 && line[l - 1] == '\r') line[l - 1] = 0;
    char *f[10];
    int nf = split_tabs(line, f, 10);
    assert_int_equal(nf, 10);
    fg_id_type type = type_of(f[1]);
    assert_true(type != 0);
    uint8_t presented[1024], reference[1024];
    size_t plen = fg_test_unescape(presented, f[2]);
    size_t rlen = fg_test_unescape(reference, f[3]);

    fg_cert_ids ids;
    fg_cert_ids_init(&ids);
    assert_true(fg_cert_ids_add(&ids, type, presented, plen));
    switch (type) {
      case FG_ID_DNS:
        ids.num_san_dns++;
        break;
      case FG_ID_SRV:
        ids.num_san_srv++;
        break;
      case FG_ID_XMPP:
        ids.num_san_xmpp++;
        break;
      default:
        break;
    }
    // A cn row whose certificate also had a dNSName (the note says the
    // fallback is suppressed) gets that SAN too.
    if (type == FG_ID_CN && strstr(f[7], "suppressed") != NULL) {
      assert_true(fg_cert_ids_add(&ids, FG_ID_DNS, (const uint8_t *)"other.example", 13));
      ids.num_san_dns++;
    }
    fg_identity_ref ref;
    fg_identity_ref_init(&ref, reference, rlen, f[4]);
    int want = strcmp(f[5], "match") == 0;
    int want_legacy = strcmp(f[9], "match") == 0;
    int got = fg_identity_match(NULL, &ids, &ref, 0) == FG_IDENTITY_MATCH;
    int got_legacy =
        fg_identity_match(NULL, &ids, &ref, FG_IDENTITY_LEGACY_CN_ID) == FG_IDENTITY_MATCH;
    if (got != want || got_legacy != want_legacy) {
      char why[1024];
      fg_identity_result r;
      fg_identity_match(&r, &ids, &ref, 0);
      fg_identity_explain(why, sizeof(why), &ids, &ref, 0, &r);
      fprintf(stderr, "%s: %s '%s' vs '%s': want %s/%s got %d/%d (%s)\n", f[0], f[1], f[2], f[3],
              f[5], f[9], got, got_legacy, why);
      failures++;
    }
    fg_cert_ids_cleanup(&ids);
    rows++;
  }
  free(data);
  assert_int_equal(rows, 248);
  assert_int_equal(failures, 0);
}

static fg_identity_status match1(fg_id_type type, const char *presented, const char *reference,
                                 const char *service, unsigned flags) {
  fg_cert_ids ids;
  fg_cert_ids_init(&ids);
  assert_true(fg_cert_ids_add(&ids, type, (const uint8_t *)presented, strlen(presented)));
  fg_identity_ref ref;
  fg_identity_ref_init(&ref, (const uint8_t *)reference, strlen(reference), service);
  fg_identity_status s = fg_identity_match(NULL, &ids, &ref, flags);
  fg_cert_ids_cleanup(&ids);
  return s;
}

// RFC 9525 §6.3 / RFC 5891: a U-label reference is compared as its A-label.
static void test_rfc9525_6_3_idn_reference_to_alabel(void **state) {
  (void)state;
  fg_identity_ref ref;
  const char *u =
      "b\xc3\xbc"
      "cher.example";
  assert_true(fg_identity_ref_init(&ref, (const uint8_t *)u, strlen(u), NULL));
  assert_string_equal(ref.name, "xn--bcher-kva.example");
  assert_int_equal(ref.first_label_is_alabel, 1);
  assert_int_equal(match1(FG_ID_DNS, "xn--bcher-kva.example", u, NULL, 0), FG_IDENTITY_MATCH);
  assert_int_equal(match1(FG_ID_DNS, "XN--BCHER-KVA.example", u, NULL, 0), FG_IDENTITY_MATCH);
  // A wildcard never covers an A-label left-most label.
  const char *sub =
      "b\xc3\xbc"
      "cher.chat.example";
  assert_int_equal(match1(FG_ID_DNS, "*.chat.example", sub, NULL, 0), FG_IDENTITY_NOMATCH);
  // UTS #46 mapping lower-cases the U-label: "BÜCHER" is the same domain.
  const char *upper =
      "B\xc3\x9c"
      "CHER.example";
  assert_int_equal(match1(FG_ID_DNS, "xn--bcher-kva.example", upper, NULL, 0), FG_IDENTITY_MATCH);
}

// RFC 6120 §13.7.1.4: an XmppAddr in U-labels matches the A-label reference.
static void test_rfc6120_13_7_1_4_xmppaddr_ulabel(void **state) {
  (void)state;
  const char *u =
      "b\xc3\xbc"
      "cher.example";
  assert_int_equal(match1(FG_ID_XMPP, u, "xn--bcher-kva.example", NULL, 0), FG_IDENTITY_MATCH);
  assert_int_equal(match1(FG_ID_XMPP, u, "bucher.example", NULL, 0), FG_IDENTITY_NOMATCH);
  // Non-transitional UTS #46: "ß" stays "ß" (xn--fa-hia), never "ss".
  const char *fass = "fa\xc3\x9f.example";
  assert_int_equal(match1(FG_ID_XMPP, fass, "xn--fa-hia.example", NULL, 0), FG_IDENTITY_MATCH);
  assert_int_equal(match1(FG_ID_XMPP, fass, "fass.example", NULL, 0), FG_IDENTITY_NOMATCH);
  // A dNSName is an IA5String: U-labels there never match.
  assert_int_equal(match1(FG_ID_DNS, u, "xn--bcher-kva.example", NULL, 0),
                   FG_IDENTITY_NOMATCH_NO_IDS);
}

// RFC 1035 §2.3.4: labels of at most 63 octets, names of at most 253.
static void test_rfc1035_2_3_4_length_limits(void **state) {
  (void)state;
  char label63[64], label64[65], longname[300];
  memset(label63, 'a', 63);
  label63[63] = 0;
  memset(label64, 'a', 64);
  label64[64] = 0;
  char n63[100], n64[100];
  snprintf(n63, sizeof(n63), "%s.example", label63);
  snprintf(n64, sizeof(n64), "%s.example", label64);
  assert_int_equal(match1(FG_ID_DNS, n63, n63, NULL, 0), FG_IDENTITY_MATCH);
  assert_int_equal(match1(FG_ID_DNS, n64, n64, NULL, 0), FG_IDENTITY_NOMATCH_BAD_REFERENCE);
  // 4 * 63 + 3 dots = 255 > 253.
  snprintf(longname, sizeof(longname), "%s.%s.%s.%s", label63, label63, label63, label63);
  assert_int_equal(match1(FG_ID_DNS, longname, longname, NULL, 0),
                   FG_IDENTITY_NOMATCH_BAD_REFERENCE);
}

// RFC 9525 §6.2.1: the CN is used only when no DNS-ID/SRV-ID/XmppAddr is
// present; other SAN types do not turn the fallback off.
static void test_rfc9525_6_2_1_cn_fallback_rules(void **state) {
  (void)state;
  fg_cert_ids ids;
  fg_cert_ids_init(&ids);
  assert_true(fg_cert_ids_add(&ids, FG_ID_CN, (const uint8_t *)"example.com", 11));
  ids.num_san_other = 2;  // e.g. rfc822Name and URI
  fg_identity_ref ref;
  assert_true(fg_identity_ref_init(&ref, (const uint8_t *)"example.com", 11, NULL));
  assert_int_equal(fg_identity_match(NULL, &ids, &ref, 0), FG_IDENTITY_NOMATCH_NO_IDS);
  fg_identity_result r;
  assert_int_equal(fg_identity_match(&r, &ids, &ref, FG_IDENTITY_LEGACY_CN_ID), FG_IDENTITY_MATCH);
  assert_ptr_equal(r.matched, &ids.ids[0]);
  // An SRV-ID for another domain turns it off.
  assert_true(fg_cert_ids_add(&ids, FG_ID_SRV, (const uint8_t *)"_xmpp-server.other.example", 26));
  ids.num_san_srv++;
  assert_int_equal(fg_identity_match(NULL, &ids, &ref, FG_IDENTITY_LEGACY_CN_ID),
                   FG_IDENTITY_NOMATCH);
  fg_cert_ids_cleanup(&ids);
}

// RFC 9525 §6: the result names the identifier that matched or explains
// every mismatch.
static void test_rfc9525_6_explanation_lists_presented(void **state) {
  (void)state;
  fg_cert_ids ids;
  fg_cert_ids_init(&ids);
  assert_true(fg_cert_ids_add(&ids, FG_ID_DNS, (const uint8_t *)"a.example\0b", 11));
  assert_true(fg_cert_ids_add(&ids, FG_ID_SRV, (const uint8_t *)"_xmpp-client.b.example", 22));
  assert_true(fg_cert_ids_add(&ids, FG_ID_DNS, (const uint8_t *)"*.example", 9));
  ids.num_san_dns = 2;
  ids.num_san_srv = 1;
  fg_identity_ref ref;
  assert_true(fg_identity_ref_init(&ref, (const uint8_t *)"b.example", 9, "xmpp-server"));
  fg_identity_result r;
  assert_int_equal(fg_identity_match(&r, &ids, &ref, 0), FG_IDENTITY_NOMATCH);
  assert_null(r.matched);
  char buf[1024];
  fg_identity_explain(buf, sizeof(buf), &ids, &ref, 0, &r);
  assert_non_null(strstr(buf, "dns:a.example\\x00b (NUL byte in name)"));
  assert_non_null(strstr(buf, "srv:_xmpp-client.b.example (different service)"));
  assert_non_null(strstr(buf, "dns:*.example (wildcard needs at least three labels)"));
  // Truncation keeps the buffer terminated and reports the full length.
  char small[8];
  size_t want = fg_identity_explain(small, sizeof(small), &ids, &ref, 0, &r);
  assert_true(want > sizeof(small));
  assert_int_equal(strlen(small), sizeof(small) - 1);
  fg_cert_ids_cleanup(&ids);
}

// RFC 9525 §6.3: a matched wildcard reports itself.
static void test_rfc9525_6_3_match_reports_identifier(void **state) {
  (void)state;
  fg_cert_ids ids;
  fg_cert_ids_init(&ids);
  assert_true(fg_cert_ids_add(&ids, FG_ID_DNS, (const uint8_t *)"other.example", 13));
  assert_true(fg_cert_ids_add(&ids, FG_ID_DNS, (const uint8_t *)"*.Chat.example", 14));
  ids.num_san_dns = 2;
  fg_identity_ref ref;
  assert_true(fg_identity_ref_init(&ref, (const uint8_t *)"muc.chat.example.", 17, NULL));
  fg_identity_result r;
  assert_int_equal(fg_identity_match(&r, &ids, &ref, 0), FG_IDENTITY_MATCH);
  char buf[256];
  fg_identity_explain(buf, sizeof(buf), &ids, &ref, 0, &r);
  assert_string_equal(buf, "dns:*.Chat.example");
  fg_cert_ids_cleanup(&ids);
}

// Bounds: no more than FG_CERT_IDS_MAX identifiers are held.
static void test_rfc5280_4_2_1_6_identifier_count_bounded(void **state) {
  (void)state;
  fg_cert_ids ids;
  fg_cert_ids_init(&ids);
  for (int i = 0; i < FG_CERT_IDS_MAX; i++) {
    assert_true(fg_cert_ids_add(&ids, FG_ID_DNS, (const uint8_t *)"a.example", 9));
  }
  assert_false(fg_cert_ids_add(&ids, FG_ID_DNS, (const uint8_t *)"a.example", 9));
  fg_cert_ids_cleanup(&ids);
  fg_cert_ids_cleanup(&ids);  // cleanup twice is harmless
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc9525_6_names_tsv_vectors),
      cmocka_unit_test(test_rfc9525_6_3_idn_reference_to_alabel),
      cmocka_unit_test(test_rfc6120_13_7_1_4_xmppaddr_ulabel),
      cmocka_unit_test(test_rfc1035_2_3_4_length_limits),
      cmocka_unit_test(test_rfc9525_6_2_1_cn_fallback_rules),
      cmocka_unit_test(test_rfc9525_6_explanation_lists_presented),
      cmocka_unit_test(test_rfc9525_6_3_match_reports_identifier),
      cmocka_unit_test(test_rfc5280_4_2_1_6_identifier_count_bounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
