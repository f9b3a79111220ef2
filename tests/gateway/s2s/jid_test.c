// jid_test.c: domainpart extraction (RFC 7622 §3.1) and domain normalisation.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/s2s/jid.h"

static int dom(char *out, const char *jid) {
  return fg_jid_domain(out, (const uint8_t *)jid, strlen(jid));
}

static void test_rfc7622_3_1_domainpart_of_each_form(void **state) {
  char d[FG_DOMAIN_MAX + 1];
  assert_true(dom(d, "example.com"));
  assert_string_equal(d, "example.com");
  assert_true(dom(d, "user@Example.COM"));
  assert_string_equal(d, "example.com");
  assert_true(dom(d, "user@example.com/res"));
  assert_string_equal(d, "example.com");
  assert_true(dom(d, "example.com/res@with/slash"));
  assert_string_equal(d, "example.com");
  assert_true(dom(d, "user@example.com./r"));
  assert_string_equal(d, "example.com");
}

static void test_rfc7622_3_1_malformed_addresses(void **state) {
  char d[FG_DOMAIN_MAX + 1];
  assert_false(dom(d, ""));
  assert_false(dom(d, "@example.com"));
  assert_false(dom(d, "user@"));
  assert_false(dom(d, "user@example.com/"));
  assert_false(dom(d, "a..example"));
  assert_false(dom(d, ".example"));
  assert_false(dom(d, "exa mple.com"));
  assert_false(dom(d, "exa'mple.com"));
  assert_false(dom(d, "192.0.2.1"));
  assert_false(dom(d, "[::1]"));
  assert_false(fg_jid_domain(d, (const uint8_t *)"a\0b.example", 11));
}

static void test_domain_length_limits(void **state) {
  char d[FG_DOMAIN_MAX + 1];
  char label[80];
  memset(label, 'a', 64);
  label[64] = 0;
  assert_false(fg_domain_normalize(d, (const uint8_t *)label, 64));  // label > 63
  assert_true(fg_domain_normalize(d, (const uint8_t *)label, 63));
  char longname[300];
  memset(longname, 'a', sizeof(longname));
  for (int i = 50; i < 300; i += 51) longname[i] = '.';
  assert_false(fg_domain_normalize(d, (const uint8_t *)longname, 254));
  assert_true(fg_domain_normalize(d, (const uint8_t *)longname, 253));
}

// RFC 7622 §3.2 / RFC 6120 §13.12: every byte value, one at a time, is
// refused exactly when it is a control, space, DEL or one of @ / \ " & ' < > : [ ].
static void test_rfc7622_3_2_forbidden_bytes_each_value(void **state) {
  (void)state;
  for (int c = 1; c < 256; c++) {
    if (c == '.') continue;  // a label separator, tested above
    uint8_t in[] = {'a', 'b', (uint8_t)c, 'd', '.', 'e', 'x'};
    char out[FG_DOMAIN_MAX + 1];
    int refused = c <= 0x20 || c == 0x7f || (c < 0x80 && strchr("@/\\\"&'<>:[]", c) != NULL);
    assert_int_equal(fg_domain_normalize(out, in, sizeof(in)), !refused);
  }
}

// RFC 7622 §3.3.1 and §3.4.1: a localpart or resourcepart of more than
// 1023 bytes makes the whole address malformed, whatever its domainpart.
static void test_rfc7622_3_3_1_localpart_and_resourcepart_length_limits(void **state) {
  char d[FG_DOMAIN_MAX + 1], jid[2100];
  size_t start, dlen;
  memset(jid, 'u', 1023);
  memcpy(jid + 1023, "@example.com", 13);
  assert_true(dom(d, jid));
  assert_string_equal(d, "example.com");
  memset(jid, 'u', 1024);
  memcpy(jid + 1024, "@example.com", 13);
  assert_false(dom(d, jid));
  assert_false(fg_jid_domain_span((const uint8_t *)jid, strlen(jid), &start, &dlen));
  memcpy(jid, "example.com/", 12);
  memset(jid + 12, 'r', 1023);
  jid[12 + 1023] = 0;
  assert_true(dom(d, jid));
  memcpy(jid + 12 + 1023, "r", 2);
  assert_false(dom(d, jid));
  assert_false(fg_jid_domain_span((const uint8_t *)jid, strlen(jid), &start, &dlen));
}

// RFC 7622 §3.2, §3.3: one bare JID however it is spelled: the localpart's
// case, the domain's case and trailing dot, the resource do not matter.
static void test_rfc7622_3_2_bare_key_of_each_spelling(void **state) {
  static const char *const kSpellings[] = {"Mallory@Remote.Test./phone", "mallory@remote.test",
                                           "MALLORY@REMOTE.TEST/x@y", "mallory@remote.test."};
  for (size_t i = 0; i < sizeof(kSpellings) / sizeof(kSpellings[0]); i++) {
    char d[FG_DOMAIN_MAX + 1];
    uint8_t key[FG_BARE_JID_MAX];
    assert_true(dom(d, kSpellings[i]));
    size_t n =
        fg_jid_bare_key(key, sizeof(key), (const uint8_t *)kSpellings[i], strlen(kSpellings[i]), d);
    assert_int_equal(n, strlen("mallory@remote.test"));
    assert_memory_equal(key, "mallory@remote.test", n);
  }
  uint8_t key[FG_BARE_JID_MAX];
  assert_int_equal(
      fg_jid_bare_key(key, sizeof(key), (const uint8_t *)"Remote.Test/r@x", 15, "remote.test"), 11);
  assert_memory_equal(key, "remote.test", 11);
  assert_int_equal(fg_jid_bare_key(key, 10, (const uint8_t *)"a@remote.test", 13, "remote.test"),
                   0);  // does not fit
}

static void test_utf8_labels_are_kept(void **state) {
  char d[FG_DOMAIN_MAX + 1];
  assert_true(dom(d, "user@\xc3\xa9x.example"));
  assert_string_equal(d, "\xc3\xa9x.example");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc7622_3_1_domainpart_of_each_form),
      cmocka_unit_test(test_rfc7622_3_1_malformed_addresses),
      cmocka_unit_test(test_domain_length_limits),
      cmocka_unit_test(test_rfc7622_3_2_forbidden_bytes_each_value),
      cmocka_unit_test(test_rfc7622_3_3_1_localpart_and_resourcepart_length_limits),
      cmocka_unit_test(test_rfc7622_3_2_bare_key_of_each_spelling),
      cmocka_unit_test(test_utf8_labels_are_kept),
  };
  return cmocka_run_group_tests_name("gateway/jid", tests, NULL, NULL);
}
