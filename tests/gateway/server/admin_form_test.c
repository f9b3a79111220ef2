// admin_form_test.c: the admin actions' form bodies
// (application/x-www-form-urlencoded), decoding and encoding.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/server/admin_form.h"

typedef struct get_case {
  const char *body;
  const char *key;
  fg_form_result want;
  const char *value;
} get_case;

static const get_case kGetCases[] = {
    {"id=abc", "id", FG_FORM_FOUND, "abc"},
    {"name=pool&id=x1", "id", FG_FORM_FOUND, "x1"},
    {"ids=1&id=2", "id", FG_FORM_FOUND, "2"},  // whole key names only
    {"id=1&id=2", "id", FG_FORM_FOUND, "1"},   // the first wins
    {"reason=a+b%20c%2Bd", "reason", FG_FORM_FOUND, "a b c+d"},
    {"name=pool%2F127.0.0.1%3A5269", "name", FG_FORM_FOUND, "pool/127.0.0.1:5269"},
    {"d=%c3%bc", "d", FG_FORM_FOUND, "\xc3\xbc"},  // UTF-8 bytes pass
    {"id", "id", FG_FORM_FOUND, ""},               // a key without '='
    {"id=", "id", FG_FORM_FOUND, ""},
    {"&&id=z&", "id", FG_FORM_FOUND, "z"},
    {"name=pool", "id", FG_FORM_ABSENT, NULL},
    {"", "id", FG_FORM_ABSENT, NULL},
    {"id=%z1", "id", FG_FORM_BAD, NULL},  // not hex
    {"id=%4", "id", FG_FORM_BAD, NULL},   // truncated escape
    {"id=ab%", "id", FG_FORM_BAD, NULL},
    {"id=a%00b", "id", FG_FORM_BAD, NULL},                             // NUL never passes
    {"id=0123456789abcdef0123456789abcdef", "id", FG_FORM_BAD, NULL},  // longer than the buffer
};

static void test_form_get_cases(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(kGetCases) / sizeof(kGetCases[0]); i++) {
    const get_case *c = &kGetCases[i];
    char out[32];
    fg_form_result r = fg_form_get(c->body, strlen(c->body), c->key, out, sizeof(out));
    if (r != c->want) fail_msg("case %zu (%s): got %d, want %d", i, c->body, r, c->want);
    if (c->value != NULL) assert_string_equal(out, c->value);
  }
}

// The body is read by length: bytes after it are not part of it.
static void test_form_get_honours_length(void **state) {
  (void)state;
  char out[16];
  const char body[] = "id=abc&reason=x";
  assert_int_equal(fg_form_get(body, 6, "reason", out, sizeof(out)), FG_FORM_ABSENT);
  assert_int_equal(fg_form_get(body, 5, "id", out, sizeof(out)), FG_FORM_FOUND);
  assert_string_equal(out, "ab");
}

static void test_form_add_encodes_and_round_trips(void **state) {
  (void)state;
  char body[128];
  size_t len = 0;
  assert_int_equal(fg_form_add(body, sizeof(body), &len, "name", "pool/[::1]:5269"), 1);
  assert_int_equal(fg_form_add(body, sizeof(body), &len, "reason", "a b&c=d~_.-"), 1);
  assert_string_equal(body, "name=pool%2F%5B%3A%3A1%5D%3A5269&reason=a%20b%26c%3Dd~_.-");
  assert_int_equal(len, strlen(body));
  char out[64];
  assert_int_equal(fg_form_get(body, len, "name", out, sizeof(out)), FG_FORM_FOUND);
  assert_string_equal(out, "pool/[::1]:5269");
  assert_int_equal(fg_form_get(body, len, "reason", out, sizeof(out)), FG_FORM_FOUND);
  assert_string_equal(out, "a b&c=d~_.-");
}

static void test_form_add_refuses_what_does_not_fit(void **state) {
  (void)state;
  char body[16];
  size_t len = 0;
  assert_int_equal(fg_form_add(body, sizeof(body), &len, "id", "abc"), 1);
  assert_int_equal(fg_form_add(body, sizeof(body), &len, "reason", "x y z"), 0);
  assert_int_equal(len, 6);
  assert_string_equal(body, "id=abc");
  // Exactly full: 15 bytes and the NUL.
  assert_int_equal(fg_form_add(body, sizeof(body), &len, "k", "1234567"), 0);
  assert_int_equal(fg_form_add(body, sizeof(body), &len, "k", "123456"), 1);
  assert_string_equal(body, "id=abc&k=123456");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_form_get_cases),
      cmocka_unit_test(test_form_get_honours_length),
      cmocka_unit_test(test_form_add_encodes_and_round_trips),
      cmocka_unit_test(test_form_add_refuses_what_does_not_fit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
