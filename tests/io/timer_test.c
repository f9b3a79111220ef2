// timer_test.c: the timer heap.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>

#include "io/timer.h"

static int g_order[1000], g_n;

static void record(fg_timer *t, void *arg) {
  g_order[g_n++] = (int)(intptr_t)arg;
}

static void test_timers_fire_in_deadline_order(void **state) {
  fg_timer_heap h;
  fg_timer_heap_init(&h);
  fg_timer t[500];
  g_n = 0;
  srand(7);
  for (int i = 0; i < 500; i++) {
    fg_timer_init(&t[i], record, (void *)(intptr_t)i);
    assert_true(fg_timer_heap_arm(&h, &t[i], 1000 + (uint64_t)(rand() % 10000)));
  }
  // Cancel every third, re-arm every fifth later.
  for (int i = 0; i < 500; i += 3) fg_timer_heap_cancel(&h, &t[i]);
  for (int i = 0; i < 500; i += 5) assert_true(fg_timer_heap_arm(&h, &t[i], 20000 + (uint64_t)i));
  assert_int_equal(fg_timer_heap_run(&h, 999), 0);
  size_t fired = fg_timer_heap_run(&h, UINT64_MAX - 1);
  int expect = 0;
  for (int i = 0; i < 500; i++) expect += (i % 3 != 0) || (i % 5 == 0);
  assert_int_equal(fired, expect);
  for (int k = 1; k < g_n; k++) {
    assert_true(t[g_order[k - 1]].deadline_ns <= t[g_order[k]].deadline_ns);
  }
  for (int i = 0; i < 500; i++) assert_false(fg_timer_armed(&t[i]));
  assert_int_equal(fg_timer_heap_next(&h), UINT64_MAX);
  fg_timer_heap_cleanup(&h);
}

static fg_timer_heap *g_heap;

static void rearm_self(fg_timer *t, void *arg) {
  int *count = arg;
  if (++*count < 3) fg_timer_heap_arm(g_heap, t, t->deadline_ns + 10);
}

static void test_timer_may_rearm_itself(void **state) {
  fg_timer_heap h;
  fg_timer_heap_init(&h);
  g_heap = &h;
  int count = 0;
  fg_timer t;
  fg_timer_init(&t, rearm_self, &count);
  fg_timer_heap_arm(&h, &t, 10);
  fg_timer_heap_run(&h, 100);
  assert_int_equal(count, 3);
  fg_timer_heap_cleanup(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timers_fire_in_deadline_order),
      cmocka_unit_test(test_timer_may_rearm_itself),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
