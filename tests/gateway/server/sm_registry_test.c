// sm_registry_test.c: resumable inbound streams (gateway/server/sm_registry.c).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/server/sm_registry.h"

static void test_xep0198_5_parked_stream_resumes_once_with_its_h(void **state) {
  fg_sm_registry *r = fg_sm_registry_new(8, 1000);
  assert_true(fg_sm_registry_open(r, "id1", "a.example", "b.example"));
  uint32_t h = 0;
  // Its stream has not ended: not resumable yet.
  assert_int_equal(fg_sm_registry_resume(r, "id1", "a.example", "b.example", 0, &h),
                   FG_SM_RESUME_LIVE);
  fg_sm_registry_park(r, "id1", 42, 100);
  assert_int_equal(fg_sm_registry_resume(r, "id1", "a.example", "b.example", 200, &h),
                   FG_SM_RESUME_OK);
  assert_int_equal(h, 42);
  // Taken: live again, for the new stream.
  assert_int_equal(fg_sm_registry_resume(r, "id1", "a.example", "b.example", 200, &h),
                   FG_SM_RESUME_LIVE);
  fg_sm_registry_free(r);
}

static void test_xep0198_5_another_peer_cannot_resume(void **state) {
  fg_sm_registry *r = fg_sm_registry_new(8, 1000);
  assert_true(fg_sm_registry_open(r, "id1", "a.example", "b.example"));
  fg_sm_registry_park(r, "id1", 1, 0);
  uint32_t h = 7;
  assert_int_equal(fg_sm_registry_resume(r, "id1", "evil.example", "b.example", 1, &h),
                   FG_SM_RESUME_WRONG_PEER);
  assert_int_equal(fg_sm_registry_resume(r, "id1", "a.example", "c.example", 1, &h),
                   FG_SM_RESUME_WRONG_PEER);
  assert_int_equal(h, 7);
  assert_int_equal(fg_sm_registry_resume(r, "nope", "a.example", "b.example", 1, &h),
                   FG_SM_RESUME_UNKNOWN);
  fg_sm_registry_free(r);
}

static void test_xep0198_5_expired_stream_is_forgotten(void **state) {
  fg_sm_registry *r = fg_sm_registry_new(8, 1000);
  assert_true(fg_sm_registry_open(r, "id1", "a.example", "b.example"));
  fg_sm_registry_park(r, "id1", 3, 0);
  uint32_t h;
  assert_int_equal(fg_sm_registry_resume(r, "id1", "a.example", "b.example", 1000, &h),
                   FG_SM_RESUME_UNKNOWN);
  fg_sm_registry_free(r);
}

static void test_xep0198_5_recovered_only_when_resumed_in_its_window(void **state) {
  fg_sm_registry *r = fg_sm_registry_new(8, 1000);
  assert_true(fg_sm_registry_open(r, "gone", "a.example", "b.example"));
  assert_true(fg_sm_registry_open(r, "back", "a.example", "b.example"));
  assert_true(fg_sm_registry_open(r, "again", "a.example", "b.example"));
  fg_sm_registry_park(r, "gone", 1, 0);
  fg_sm_registry_park(r, "back", 1, 0);
  fg_sm_registry_park(r, "again", 1, 0);
  uint32_t h;
  assert_int_equal(fg_sm_registry_resume(r, "back", "a.example", "b.example", 500, &h),
                   FG_SM_RESUME_OK);
  assert_int_equal(fg_sm_registry_resume(r, "again", "a.example", "b.example", 500, &h),
                   FG_SM_RESUME_OK);
  fg_sm_registry_park(r, "again", 2, 600);  // the resumed stream ended too
  assert_false(fg_sm_registry_recovered(r, "gone", 1000));
  assert_true(fg_sm_registry_recovered(r, "back", 1000));
  assert_true(fg_sm_registry_recovered(r, "again", 1000));   // its own window is open
  assert_false(fg_sm_registry_recovered(r, "again", 1600));  // and passed
  assert_false(fg_sm_registry_recovered(r, "never", 1000));
  fg_sm_registry_free(r);
}

static void test_registry_bounded_parked_evicted_first(void **state) {
  fg_sm_registry *r = fg_sm_registry_new(2, 1000);
  assert_true(fg_sm_registry_open(r, "a", "a.example", "b.example"));
  assert_true(fg_sm_registry_open(r, "b", "a.example", "b.example"));
  assert_false(fg_sm_registry_open(r, "c", "a.example", "b.example"));  // both live
  assert_false(fg_sm_registry_open(r, "a", "a.example", "b.example"));  // taken
  fg_sm_registry_park(r, "a", 1, 0);
  assert_true(fg_sm_registry_open(r, "c", "a.example", "b.example"));  // "a" evicted
  uint32_t h;
  assert_int_equal(fg_sm_registry_resume(r, "a", "a.example", "b.example", 1, &h),
                   FG_SM_RESUME_UNKNOWN);
  char long_id[80];
  memset(long_id, 'x', sizeof(long_id) - 1);
  long_id[sizeof(long_id) - 1] = 0;
  assert_false(fg_sm_registry_open(r, long_id, "a.example", "b.example"));
  assert_string_equal(fg_sm_resume_verdict_name(FG_SM_RESUME_WRONG_PEER), "wrong-peer");
  fg_sm_registry_free(r);
  fg_sm_registry_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_xep0198_5_parked_stream_resumes_once_with_its_h),
      cmocka_unit_test(test_xep0198_5_another_peer_cannot_resume),
      cmocka_unit_test(test_xep0198_5_expired_stream_is_forgotten),
      cmocka_unit_test(test_xep0198_5_recovered_only_when_resumed_in_its_window),
      cmocka_unit_test(test_registry_bounded_parked_evicted_first),
  };
  return cmocka_run_group_tests_name("gateway/server/sm_registry", tests, NULL, NULL);
}
