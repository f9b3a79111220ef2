// cert_expiry_test.c: tests for gateway/server/cert_expiry.c's verdict: when
// a certificate of ours is warned about, and the days left it names.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gateway/server/cert_expiry.h"

static const int64_t kNow = 1795316055, kDay = 86400;

static void test_far_expiry_is_quiet(void **state) {
  (void)state;
  int64_t days;
  assert_int_equal(fg_cert_expiry_judge(kNow + 90 * kDay, kNow, &days), FG_CERT_EXPIRY_OK);
  assert_int_equal(days, 90);
  assert_int_equal(fg_cert_expiry_judge(kNow + 14 * kDay + 1, kNow, &days), FG_CERT_EXPIRY_OK);
}

static void test_within_14_days_is_soon_with_whole_days_left(void **state) {
  (void)state;
  int64_t days;
  assert_int_equal(fg_cert_expiry_judge(kNow + 14 * kDay, kNow, &days), FG_CERT_EXPIRY_SOON);
  assert_int_equal(days, 14);
  assert_int_equal(fg_cert_expiry_judge(kNow + 5 * kDay - 1, kNow, &days), FG_CERT_EXPIRY_SOON);
  assert_int_equal(days, 4);  // 4 days and 23:59:59 left: 4 whole days
  assert_int_equal(fg_cert_expiry_judge(kNow + 1, kNow, &days), FG_CERT_EXPIRY_SOON);
  assert_int_equal(days, 0);
}

static void test_past_not_after_is_expired_with_days_since(void **state) {
  (void)state;
  int64_t days;
  assert_int_equal(fg_cert_expiry_judge(kNow, kNow, &days), FG_CERT_EXPIRY_EXPIRED);
  assert_int_equal(days, 0);
  assert_int_equal(fg_cert_expiry_judge(kNow - 1, kNow, &days), FG_CERT_EXPIRY_EXPIRED);
  assert_int_equal(days, -1);  // expired during the last day: "1 day ago"
  assert_int_equal(fg_cert_expiry_judge(kNow - 3 * kDay, kNow, &days), FG_CERT_EXPIRY_EXPIRED);
  assert_int_equal(days, -3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_far_expiry_is_quiet),
      cmocka_unit_test(test_within_14_days_is_soon_with_whole_days_left),
      cmocka_unit_test(test_past_not_after_is_expired_with_days_since),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
