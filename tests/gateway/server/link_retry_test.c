// link_retry_test.c: the reconnect schedule of links keeping a broken
// stream's stanzas (gateway/server/link_retry.h).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gateway/server/link_retry.h"

static const uint64_t kMs = 1000000ull;

static void test_backoff_doubles_up_to_the_cap(void **state) {
  (void)state;
  fg_link_retry r;
  fg_link_retry_start(&r, 0, 60000);
  static const uint64_t want[] = {250, 500, 1000, 2000, 4000, 4000, 4000};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    assert_int_equal(fg_link_retry_next(&r, i * kMs), want[i]);
  }
  assert_int_equal(r.attempts, 7);
}

static void test_last_attempt_starts_at_the_give_up_time(void **state) {
  (void)state;
  fg_link_retry r;
  fg_link_retry_start(&r, 1000 * kMs, 3000);
  r.attempts = 4;  // the next delay would be 4 s
  assert_int_equal(fg_link_retry_next(&r, 2000 * kMs), 2000);
  assert_int_equal(fg_link_retry_next(&r, 3999 * kMs), 1);
}

static void test_no_attempt_after_the_give_up_time(void **state) {
  (void)state;
  fg_link_retry r;
  fg_link_retry_start(&r, 1000 * kMs, 3000);
  assert_int_equal(fg_link_retry_next(&r, 4000 * kMs), 0);
  assert_int_equal(fg_link_retry_next(&r, 9000 * kMs), 0);
  assert_int_equal(r.attempts, 0);
}

static void test_zero_give_up_bounces_at_the_first_failure(void **state) {
  (void)state;
  fg_link_retry r;
  fg_link_retry_start(&r, 5 * kMs, 0);
  assert_int_equal(fg_link_retry_next(&r, 5 * kMs), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backoff_doubles_up_to_the_cap),
      cmocka_unit_test(test_last_attempt_starts_at_the_give_up_time),
      cmocka_unit_test(test_no_attempt_after_the_give_up_time),
      cmocka_unit_test(test_zero_give_up_bounces_at_the_first_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
