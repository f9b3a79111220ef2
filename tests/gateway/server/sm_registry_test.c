// sm_registry_test.c: resumable inbound streams (gateway/server/sm_registry.c).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/server/sm_registry.h"

static void test_xep0198_5_parked_stream_resumes_once_with_its_h(void **state) {
  fg_sm_registry *r = fg_sm_registry_new(8, 1000);
  assert_true(fg_sm_registry_open(r, "id1", "a.example", "b.example"));
  uint32_t h = 0;
  // Its stream has not ended: not resumable yet.
  assert_int_equal(fg_sm_registry_resume(r, "id1", "a.example", "b.example", 0, &h, NULL, NULL),
                   FG_SM_RESUME_LIVE);
  fg_sm_registry_park(r, "id1", 42, 100);
  assert_int_equal(fg_sm_registry_resume(r, "id1", "a.example", "b.example", 200, &h, NULL, NULL),
                   FG_SM_RESUME_OK);
  assert_int_equal(h, 42);
  // Taken: live again, for the new stream.
  assert_int_equal(fg_sm_registry_resume(r, "id1", "a.example", "b.example", 200, &h, NULL, NULL),
                   FG_SM_RESUME_LIVE);
  fg_sm_registry_free(r);
}

static void test_xep0198_5_another_peer_cannot_resume(void **state) {
  fg_sm_registry *r = fg_sm_registry_new(8, 1000);
  assert_true(fg_sm_registry_open(r, "id1", "a.example", "b.example"));
  fg_sm_registry_park(r, "id1", 1, 0);
  uint32_t h = 7;
  assert_int_equal(fg_sm_registry_resume(r, "id1", "evil.example", "b.example", 1, &h, NULL, NULL),
                   FG_SM_RESUME_WRONG_PEER);
  assert_int_equal(fg_sm_registry_resume(r, "id1", "a.example", "c.example", 1, &h, NULL, NULL),
                   FG_SM_RESUME_WRONG_PEER);
  assert_int_equal(h, 7);
  assert_int_equal(fg_sm_registry_resume(r, "nope", "a.example", "b.example", 1, &h, NULL, NULL),
                   FG_SM_RESUME_UNKNOWN);
  fg_sm_registry_free(r);
}

static void test_xep0198_5_expired_stream_is_forgotten(void **state) {
  fg_sm_registry *r = fg_sm_registry_new(8, 1000);
  assert_true(fg_sm_registry_open(r, "id1", "a.example", "b.example"));
  fg_sm_registry_park(r, "id1", 3, 0);
  uint32_t h;
  assert_int_equal(fg_sm_registry_resume(r, "id1", "a.example", "b.example", 1000, &h, NULL, NULL),
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
  assert_int_equal(fg_sm_registry_resume(r, "back", "a.example", "b.example", 500, &h, NULL, NULL),
                   FG_SM_RESUME_OK);
  assert_int_equal(fg_sm_registry_resume(r, "again", "a.example", "b.example", 500, &h, NULL, NULL),
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
  assert_int_equal(fg_sm_registry_resume(r, "a", "a.example", "b.example", 1, &h, NULL, NULL),
                   FG_SM_RESUME_UNKNOWN);
  char long_id[80];
  memset(long_id, 'x', sizeof(long_id) - 1);
  long_id[sizeof(long_id) - 1] = 0;
  assert_false(fg_sm_registry_open(r, long_id, "a.example", "b.example"));
  assert_string_equal(fg_sm_resume_verdict_name(FG_SM_RESUME_WRONG_PEER), "wrong-peer");
  fg_sm_registry_free(r);
  fg_sm_registry_free(NULL);
}

// items builds a queue of |n| one-byte stanzas "0", "1", ... (oldest first).
static fg_sm_item *items(int n) {
  fg_sm_item *head = NULL, **tail = &head;
  for (int i = 0; i < n; i++) {
    fg_sm_item *it = calloc(1, sizeof(*it) + 1);
    it->len = it->cap = 1;
    it->data[0] = (uint8_t)('0' + i);
    *tail = it;
    tail = &it->next;
  }
  return head;
}

static int count_items(fg_sm_item *it) {
  int n = 0;
  for (fg_sm_item *next; it != NULL; it = next, n++) {
    next = it->next;
    free(it);
  }
  return n;
}

static void test_xep0198_5_parked_sent_back_go_to_the_resuming_stream(void **state) {
  fg_sm_registry *r = fg_sm_registry_new(4, 1000);
  assert_true(fg_sm_registry_open(r, "id1", "a.example", "b.example"));
  assert_true(fg_sm_registry_park_sent_back(r, "id1", 7, items(3), 40, 100));
  uint32_t h = 0, acked = 0;
  fg_sm_item *back = NULL;
  assert_int_equal(
      fg_sm_registry_resume(r, "id1", "a.example", "b.example", 500, &h, &back, &acked),
      FG_SM_RESUME_OK);
  assert_int_equal(h, 7);
  assert_int_equal(acked, 40);
  assert_non_null(back);
  assert_int_equal(back->data[0], '0');
  assert_int_equal(count_items(back), 3);
  // Parked again without new stanzas: nothing kept, nothing to take.
  fg_sm_registry_park(r, "id1", 9, 600);
  uint64_t wait = 0;
  assert_null(fg_sm_registry_take_expired(r, "id1", 2000, &wait));
  assert_int_equal(wait, 0);
  assert_false(fg_sm_registry_park_sent_back(r, "nope", 1, NULL, 0, 0));
  fg_sm_registry_free(r);
}

static void test_xep0198_5_sent_back_taken_when_the_window_passes(void **state) {
  fg_sm_registry *r = fg_sm_registry_new(1, 1000);
  assert_true(fg_sm_registry_open(r, "id1", "a.example", "b.example"));
  assert_true(fg_sm_registry_park_sent_back(r, "id1", 1, items(2), 0, 100));
  uint64_t wait = 0;
  assert_null(fg_sm_registry_take_expired(r, "id1", 600, &wait));  // window open
  assert_int_equal(wait, 500);
  // Full, but an entry keeping stanzas is never evicted for another.
  assert_false(fg_sm_registry_open(r, "id2", "a.example", "b.example"));
  // Past the window, a resumption fails, and the stanzas wait to be taken.
  uint32_t h;
  fg_sm_item *back = NULL;
  uint32_t acked;
  assert_int_equal(
      fg_sm_registry_resume(r, "id1", "a.example", "b.example", 1200, &h, &back, &acked),
      FG_SM_RESUME_UNKNOWN);
  assert_null(back);
  fg_sm_item *taken = fg_sm_registry_take_expired(r, "id1", 1200, &wait);
  assert_int_equal(count_items(taken), 2);
  assert_null(fg_sm_registry_take_expired(r, "id1", 1200, &wait));  // once
  assert_true(fg_sm_registry_open(r, "id2", "a.example", "b.example"));
  // Freed with the registry when never taken.
  assert_true(fg_sm_registry_park_sent_back(r, "id2", 1, items(2), 0, 100));
  fg_sm_registry_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_xep0198_5_parked_stream_resumes_once_with_its_h),
      cmocka_unit_test(test_xep0198_5_parked_sent_back_go_to_the_resuming_stream),
      cmocka_unit_test(test_xep0198_5_sent_back_taken_when_the_window_passes),
      cmocka_unit_test(test_xep0198_5_another_peer_cannot_resume),
      cmocka_unit_test(test_xep0198_5_expired_stream_is_forgotten),
      cmocka_unit_test(test_xep0198_5_recovered_only_when_resumed_in_its_window),
      cmocka_unit_test(test_registry_bounded_parked_evicted_first),
  };
  return cmocka_run_group_tests_name("gateway/server/sm_registry", tests, NULL, NULL);
}
