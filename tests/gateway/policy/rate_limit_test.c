// rate_limit_test.c: gateway/policy/rate_limit: token bucket arithmetic on a
// clock the test moves, keys that never share a bucket, bounded memory with
// eviction of the least recently used, and exact accounting under threads.
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/policy/rate_limit.h"

#define SEC 1000000000ull

static void test_burst_then_rate(void **state) {
  (void)state;
  fg_rate_limits *t = fg_rate_limits_new(1024);
  fg_rate r = {10, 20};  // 10 a second, bursts of 20
  fg_rate_verdict v;
  uint64_t now = 5 * SEC;
  for (int i = 0; i < 20; i++) assert_true(fg_rate_take(t, "a.example", 9, &r, 1, now, &v));
  assert_false(fg_rate_take(t, "a.example", 9, &r, 1, now, &v));
  assert_true(v.retry_after_s > 0.099 && v.retry_after_s < 0.101);
  assert_int_equal(v.over_since_ns, now);
  // 0.5 s later: five tokens back, no more.
  now += SEC / 2;
  for (int i = 0; i < 5; i++) assert_true(fg_rate_take(t, "a.example", 9, &r, 1, now, &v));
  assert_false(fg_rate_take(t, "a.example", 9, &r, 1, now, &v));
  // Refused again after an allowed take: the sustained period starts anew.
  assert_int_equal(v.over_since_ns, now);
  now += SEC / 10;
  assert_false(fg_rate_take(t, "a.example", 9, &r, 3, now, &v));
  assert_int_equal(v.over_since_ns, now - SEC / 10);  // still the same refused period
  // Idle for long: the bucket is full again, not fuller.
  now += 100 * SEC;
  for (int i = 0; i < 20; i++) assert_true(fg_rate_take(t, "a.example", 9, &r, 1, now, NULL));
  assert_false(fg_rate_take(t, "a.example", 9, &r, 1, now, NULL));
  // A cost above the burst never fits.
  assert_false(fg_rate_take(t, "b.example", 9, &r, 21, now, &v));
  assert_true(v.retry_after_s < 0);
  // Byte budgets: fractional costs.
  fg_rate bytes = {1000, 4096};
  assert_true(fg_rate_take(t, "bytes", 5, &bytes, 4000, now, NULL));
  assert_false(fg_rate_take(t, "bytes", 5, &bytes, 200, now, NULL));
  assert_true(fg_rate_take(t, "bytes", 5, &bytes, 96, now, NULL));
  fg_rate_limits_free(t);
}

// test_keys_never_share: 100 keys each using most of its own budget are all
// allowed (the failure of hashed slots: unrelated keys counted together).
static void test_keys_never_share(void **state) {
  (void)state;
  fg_rate_limits *t = fg_rate_limits_new(4096);
  fg_rate r = {1, 32};
  char key[32];
  for (int k = 0; k < 100; k++) {
    snprintf(key, sizeof(key), "192.0.2.%d", k);
    for (int i = 0; i < 20; i++) assert_true(fg_rate_take(t, key, strlen(key), &r, 1, SEC, NULL));
  }
  assert_int_equal(fg_rate_limits_keys(t), 100);
  assert_int_equal(fg_rate_limits_evictions(t), 0);
  fg_rate_limits_free(t);
}

// test_bounded_memory: a flood of new keys never grows the table, and never
// wipes out the debt of a key over its limit, even one that stays quiet.
static void test_bounded_memory(void **state) {
  (void)state;
  fg_rate_limits *t = fg_rate_limits_new(1024);
  size_t bytes = fg_rate_limits_bytes(t);
  fg_rate r = {1, 5};
  uint64_t now = SEC;
  for (int i = 0; i < 5; i++) assert_true(fg_rate_take(t, "abuser", 6, &r, 1, now, NULL));
  char key[32];
  for (int k = 0; k < 200000; k++) {
    now += 1000;
    snprintf(key, sizeof(key), "flood-%d", k);
    fg_rate_take(t, key, strlen(key), &r, 1, now, NULL);
    if (k % 1000 == 0) assert_false(fg_rate_take(t, "abuser", 6, &r, 1, now, NULL));
  }
  assert_true(fg_rate_limits_keys(t) <= 1024);
  assert_true(fg_rate_limits_evictions(t) > 100000);
  assert_int_equal(fg_rate_limits_bytes(t), bytes);
  printf("%zu keys in %zu bytes after 200,000 distinct keys, %llu evictions\n",
         fg_rate_limits_keys(t), bytes, (unsigned long long)fg_rate_limits_evictions(t));
  fg_rate_limits_free(t);
}

typedef struct shared {
  fg_rate_limits *t;
  atomic_long allowed;
} shared;

static void *taker(void *arg) {
  shared *s = arg;
  fg_rate r = {1, 10000};
  for (int i = 0; i < 20000; i++)
    if (fg_rate_take(s->t, "one", 3, &r, 1, SEC, NULL)) atomic_fetch_add(&s->allowed, 1);
  return NULL;
}

// test_threads_exact: four threads take from one bucket at a frozen time;
// exactly the burst is allowed.
static void test_threads_exact(void **state) {
  (void)state;
  shared s = {fg_rate_limits_new(1024), 0};
  pthread_t th[4];
  for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, taker, &s);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  assert_int_equal(atomic_load(&s.allowed), 10000);
  fg_rate_limits_free(s.t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_burst_then_rate),
      cmocka_unit_test(test_keys_never_share),
      cmocka_unit_test(test_bounded_memory),
      cmocka_unit_test(test_threads_exact),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
