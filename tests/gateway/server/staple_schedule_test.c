// staple_schedule_test.c: gateway/server/staple_schedule.c, when fedgate
// fetches its own certificates' OCSP responses again (RFC 6960 §4.2.1
// thisUpdate/nextUpdate; RFC 5019 §6 leaves the refresh to the client).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gateway/server/staple_schedule.h"

enum { kT = 1700000000 };

// Half of thisUpdate..nextUpdate, jitter ±10 % of that delay.
static void test_refresh_at_half_of_window_with_jitter(void **state) {
  (void)state;
  static const struct {
    int64_t window;
    double jitter;
    int64_t want;
  } kCases[] = {
      {86400, 0, 43200},   {86400, 1, 47520},   {86400, -1, 38880},
      {86400, 0.5, 45360}, {604800, 0, 302400}, {60, 0, 30},
      {60, -1, 27},        {60, 1, 33},         {60, 7, 33},  // jitter clamped to [-1, 1]
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    int64_t at = fg_staple_refresh_at(kT, 1, kT + kCases[i].window, kT, 0.5, kCases[i].jitter);
    assert_int_equal(at - kT, kCases[i].want);
  }
}

// Without nextUpdate the window is one hour: refresh after 30 minutes,
// stapled for the hour.
static void test_no_next_update_window_is_one_hour(void **state) {
  (void)state;
  assert_int_equal(fg_staple_not_after(kT, 0, 0), kT + 3600);
  assert_int_equal(fg_staple_refresh_at(kT, 0, 0, kT, 0.5, 0), kT + 1800);
  assert_int_equal(fg_staple_not_after(kT, 1, kT + 99), kT + 99);
}

// A response loaded late (persisted, or the clock moved) is refreshed now,
// never in the past; and never after it ends.
static void test_refresh_never_before_now_nor_after_end(void **state) {
  (void)state;
  assert_int_equal(fg_staple_refresh_at(kT, 1, kT + 100, kT + 80, 0.5, 0), kT + 80);
  assert_int_equal(fg_staple_refresh_at(kT, 1, kT + 100, kT + 500, 0.5, 0), kT + 500);
  assert_int_equal(fg_staple_refresh_at(kT, 1, kT + 100, kT, 1.0, 1), kT + 100);
  // nextUpdate before thisUpdate (a broken responder): no window, now.
  assert_int_equal(fg_staple_refresh_at(kT, 1, kT - 10, kT, 0.5, 0), kT);
}

// 10 s doubling to 10 minutes.
static void test_backoff_doubles_to_ten_minutes(void **state) {
  (void)state;
  static const int64_t kWant[] = {10, 10, 20, 40, 80, 160, 320, 600, 600};
  for (unsigned f = 0; f < sizeof(kWant) / sizeof(kWant[0]); f++) {
    assert_int_equal(fg_staple_backoff(f), kWant[f]);
  }
  assert_int_equal(fg_staple_backoff(1000000), 600);
}

static void test_fraction_parse(void **state) {
  (void)state;
  assert_true(fg_staple_fraction_parse(NULL) == 0.5);
  assert_true(fg_staple_fraction_parse("") == 0.5);
  assert_true(fg_staple_fraction_parse("0.1") == 0.1);
  assert_true(fg_staple_fraction_parse("1") == 1.0);
  assert_true(fg_staple_fraction_parse("0") == 0.5);
  assert_true(fg_staple_fraction_parse("1.5") == 0.5);
  assert_true(fg_staple_fraction_parse("-0.2") == 0.5);
  assert_true(fg_staple_fraction_parse("0.2x") == 0.5);
  assert_true(fg_staple_fraction_parse("nan") == 0.5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_refresh_at_half_of_window_with_jitter),
      cmocka_unit_test(test_no_next_update_window_is_one_hour),
      cmocka_unit_test(test_refresh_never_before_now_nor_after_end),
      cmocka_unit_test(test_backoff_doubles_to_ten_minutes),
      cmocka_unit_test(test_fraction_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
