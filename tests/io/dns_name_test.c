// dns_name_test.c: io/dns_name: which host names io/dns accepts (RFC 1123
// §2.1 LDH labels, RFC 1035 §2.3.4 lengths) and the form it keeps them in.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "io/dns_name.h"

static void test_rfc1123_2_1_names_validated(void **state) {
  static const struct {
    const char *name;
    int ok;
  } kCases[] = {
      {"example.com", 1},
      {"example.com.", 1},
      {"a", 1},
      {"xn--bcher-kva.de", 1},
      {"1.2.3.4", 1},
      {"a-b.c", 1},
      {"", 0},
      {".", 0},
      {"a..b", 0},
      {"-a.b", 0},
      {"a-.b", 0},
      {"a_b.c", 0},
      {"a b.c", 0},
      {"ex\xc3\xa4mple.com", 0},
      {".example.com", 0},
      {"example.com..", 0},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    if (fg_dns_name_valid(kCases[i].name, strlen(kCases[i].name)) != kCases[i].ok) {
      fprintf(stderr, "case \"%s\"\n", kCases[i].name);
    }
    assert_int_equal(fg_dns_name_valid(kCases[i].name, strlen(kCases[i].name)), kCases[i].ok);
  }
  char label63[64], label64[65];
  memset(label63, 'a', 63);
  label63[63] = 0;
  memset(label64, 'a', 64);
  label64[64] = 0;
  assert_true(fg_dns_name_valid(label63, 63));
  assert_false(fg_dns_name_valid(label64, 64));
  // 253 bytes is the limit (4 x 63 + 3 dots = 255: too long).
  char name[300];
  snprintf(name, sizeof(name), "%s.%s.%s.%.61s", label63, label63, label63, label63);
  assert_int_equal(strlen(name), 253);
  assert_true(fg_dns_name_valid(name, 253));
  snprintf(name, sizeof(name), "%s.%s.%s.%.62s", label63, label63, label63, label63);
  assert_false(fg_dns_name_valid(name, 254));
}

static void test_names_normalized_lowercase_without_trailing_dot(void **state) {
  static const struct {
    const char *in, *out;
  } kCases[] = {
      {"example.com", "example.com"},
      {"Example.COM.", "example.com"},
      {"XN--BCHER-KVA.de", "xn--bcher-kva.de"},
      {"A-1.b", "a-1.b"},
  };
  char out[FG_DNS_NAME_MAX + 1];
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    assert_true(fg_dns_name_normalize(out, kCases[i].in));
    assert_string_equal(out, kCases[i].out);
  }
  // An invalid name leaves |out| alone.
  static const char *const kBad[] = {"", ".", "a..b", "bad_name.test", "-a.b"};
  for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
    strcpy(out, "untouched");
    assert_false(fg_dns_name_normalize(out, kBad[i]));
    assert_string_equal(out, "untouched");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc1123_2_1_names_validated),
      cmocka_unit_test(test_names_normalized_lowercase_without_trailing_dot),
  };
  return cmocka_run_group_tests_name("dns_name", tests, NULL, NULL);
}
