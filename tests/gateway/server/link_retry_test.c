// link_retry_test.c: the reconnect schedule of links keeping a broken
// stream's stanzas (gateway/server/link_retry.h).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gateway/server/link_retry.h"

static const uint64_t kMs = 1000000ull;

// The delays of the first seven failures of a link under |schedule|, with
// plenty of time left before its give-up time.
static const struct {
  const fg_link_retry_schedule *schedule;
  uint64_t want[7];
} kBackoff[] = {
    // To a remote domain: 250 ms doubling to 4 s.
    {&fg_link_retry_remote, {250, 500, 1000, 2000, 4000, 4000, 4000}},
    // To an internal server on the provider's network: sooner and more
    // often, 100 ms doubling to 1 s.
    {&fg_link_retry_hop, {100, 200, 400, 800, 1000, 1000, 1000}},
};

static void test_backoff_doubles_up_to_the_cap(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof(kBackoff) / sizeof(kBackoff[0]); k++) {
    fg_link_retry r;
    fg_link_retry_start(&r, kBackoff[k].schedule, 0, 60000);
    for (size_t i = 0; i < 7; i++) {
      assert_int_equal(fg_link_retry_next(&r, i * kMs), kBackoff[k].want[i]);
    }
    assert_int_equal(r.attempts, 7);
  }
}

// The hop schedule is bounded by the same give-up time: the last attempt
// starts at it, none after it.
static void test_hop_backoff_stops_at_the_give_up_time(void **state) {
  (void)state;
  fg_link_retry r;
  fg_link_retry_start(&r, &fg_link_retry_hop, 0, 1500);
  uint64_t now = 0, d;
  unsigned n = 0;
  while ((d = fg_link_retry_next(&r, now * kMs)) != 0) {
    now += d;
    n++;
    assert_true(now <= 1500);
  }
  // 100 + 200 + 400 + 800 = 1500: four attempts, the last at the give-up time.
  assert_int_equal(n, 4);
  assert_int_equal(now, 1500);
}

// A schedule is the link's own: starting a hop retry after a remote one
// does not carry the remote delays over.
static void test_schedule_is_per_link(void **state) {
  (void)state;
  fg_link_retry remote, hop;
  fg_link_retry_start(&remote, &fg_link_retry_remote, 0, 60000);
  fg_link_retry_start(&hop, &fg_link_retry_hop, 0, 60000);
  assert_int_equal(fg_link_retry_next(&remote, 0), 250);
  assert_int_equal(fg_link_retry_next(&hop, 0), 100);
  assert_int_equal(fg_link_retry_next(&remote, kMs), 500);
  assert_int_equal(fg_link_retry_next(&hop, kMs), 200);
}

static void test_last_attempt_starts_at_the_give_up_time(void **state) {
  (void)state;
  fg_link_retry r;
  fg_link_retry_start(&r, &fg_link_retry_remote, 1000 * kMs, 3000);
  r.attempts = 4;  // the next delay would be 4 s
  assert_int_equal(fg_link_retry_next(&r, 2000 * kMs), 2000);
  assert_int_equal(fg_link_retry_next(&r, 3999 * kMs), 1);
}

static void test_no_attempt_after_the_give_up_time(void **state) {
  (void)state;
  fg_link_retry r;
  fg_link_retry_start(&r, &fg_link_retry_remote, 1000 * kMs, 3000);
  assert_int_equal(fg_link_retry_next(&r, 4000 * kMs), 0);
  assert_int_equal(fg_link_retry_next(&r, 9000 * kMs), 0);
  assert_int_equal(r.attempts, 0);
}

static void test_zero_give_up_bounces_at_the_first_failure(void **state) {
  (void)state;
  fg_link_retry r;
  fg_link_retry_start(&r, &fg_link_retry_remote, 5 * kMs, 0);
  assert_int_equal(fg_link_retry_next(&r, 5 * kMs), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backoff_doubles_up_to_the_cap),
      cmocka_unit_test(test_hop_backoff_stops_at_the_give_up_time),
      cmocka_unit_test(test_schedule_is_per_link),
      cmocka_unit_test(test_last_attempt_starts_at_the_give_up_time),
      cmocka_unit_test(test_no_attempt_after_the_give_up_time),
      cmocka_unit_test(test_zero_give_up_bounces_at_the_first_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
