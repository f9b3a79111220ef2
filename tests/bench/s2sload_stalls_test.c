// s2sload_stalls_test.c: the worst distinct latency events: overlapping
// stanzas join one event, the set keeps the worst when full, merging
// across workers joins events too, and sorting puts the worst first.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bench/s2sload_stalls.h"

static const uint64_t kUs = 1000;

static void test_below_floor_not_kept(void **state) {
  (void)state;
  static fg_stalls s;
  fg_stalls_init(&s, 200 * kUs);
  fg_stalls_note(&s, 1000 * kUs, 1100 * kUs);  // 100 us
  fg_stalls_note(&s, 5000 * kUs, 4000 * kUs);  // arrived "before" it was due
  assert_int_equal(s.n, 0);
  fg_stalls_note(&s, 1000 * kUs, 1300 * kUs);  // 300 us
  assert_int_equal(s.n, 1);
}

static void test_overlapping_stanzas_are_one_event(void **state) {
  (void)state;
  static fg_stalls s;
  fg_stalls_init(&s, 200 * kUs);
  // A 3 ms stall: stanzas due every 100 us all arrive at 13,000 us.
  for (uint64_t due = 10000; due < 12800; due += 100) fg_stalls_note(&s, due * kUs, 13000 * kUs);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.ev[0].stanzas, 28);
  assert_int_equal(s.ev[0].sched_ns, 10000 * kUs);  // the worst stanza
  assert_int_equal(s.ev[0].arrive_ns, 13000 * kUs);
  assert_int_equal(s.ev[0].from_ns, 10000 * kUs);
  assert_int_equal(s.ev[0].to_ns, 13000 * kUs);
  // A later, separate event.
  fg_stalls_note(&s, 20000 * kUs, 20500 * kUs);
  assert_int_equal(s.n, 2);
}

static void test_full_set_keeps_the_worst(void **state) {
  (void)state;
  static fg_stalls s;
  fg_stalls_init(&s, 0);
  // FG_STALLS_MAX + 8 disjoint events of growing latency, then smaller ones.
  for (uint64_t i = 0; i < FG_STALLS_MAX + 8; i++) {
    uint64_t at = i * 100000 * kUs;
    fg_stalls_note(&s, at, at + (i + 1) * kUs);
  }
  for (uint64_t i = 0; i < 8; i++) {
    uint64_t at = (i + 1000) * 100000 * kUs;
    fg_stalls_note(&s, at, at + 1);
  }
  assert_int_equal(s.n, FG_STALLS_MAX);
  fg_stalls_sort(&s);
  for (size_t i = 0; i < s.n; i++) {
    assert_int_equal(s.ev[i].arrive_ns - s.ev[i].sched_ns, (FG_STALLS_MAX + 8 - i) * kUs);
  }
}

static void test_merge_joins_events_of_two_workers(void **state) {
  (void)state;
  static fg_stalls a, b;
  fg_stalls_init(&a, 0);
  fg_stalls_init(&b, 0);
  fg_stalls_note(&a, 1000 * kUs, 3000 * kUs);  // one stall seen by both workers
  fg_stalls_note(&b, 1500 * kUs, 3200 * kUs);
  fg_stalls_note(&b, 9000 * kUs, 9400 * kUs);  // only b
  fg_stalls_merge(&a, &b);
  assert_int_equal(a.n, 2);
  fg_stalls_sort(&a);
  assert_int_equal(a.ev[0].sched_ns, 1000 * kUs);
  assert_int_equal(a.ev[0].to_ns, 3200 * kUs);
  assert_int_equal(a.ev[0].stanzas, 2);
  assert_int_equal(a.ev[1].arrive_ns - a.ev[1].sched_ns, 400 * kUs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_below_floor_not_kept),
      cmocka_unit_test(test_overlapping_stanzas_are_one_event),
      cmocka_unit_test(test_full_set_keeps_the_worst),
      cmocka_unit_test(test_merge_joins_events_of_two_workers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
