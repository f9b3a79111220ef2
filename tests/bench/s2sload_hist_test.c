// s2sload_hist_test.c: the latency histogram against exact percentiles of
// sorted samples, its bucket layout, merging and edge cases.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/s2sload_hist.h"

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

// exact returns the sample of rank ceil(p/100 * n) of the sorted |v|.
static uint64_t exact(const uint64_t *v, size_t n, double p) {
  size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999999);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return v[rank - 1];
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t next_rand(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

// check_against_sorted records |n| samples and compares every reported
// percentile with the exact one: within 1 % (plus 1 ns for tiny values).
static void check_against_sorted(uint64_t *v, size_t n) {
  static fg_hist h;
  fg_hist_init(&h);
  for (size_t i = 0; i < n; i++) fg_hist_record(&h, v[i]);
  qsort(v, n, sizeof(v[0]), cmp_u64);
  const double ps[] = {1, 10, 25, 50, 75, 90, 99, 99.9, 99.99};
  for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
    uint64_t want = exact(v, n, ps[i]);
    uint64_t got = fg_hist_percentile(&h, ps[i]);
    double err = got > want ? (double)(got - want) : (double)(want - got);
    if (err > 0.01 * (double)want + 1) {
      fail_msg("p%.2f: got %llu, exact %llu", ps[i], (unsigned long long)got,
               (unsigned long long)want);
    }
  }
  assert_int_equal(fg_hist_percentile(&h, 100), v[n - 1]);
  assert_int_equal(h.max, v[n - 1]);
  assert_int_equal(h.min, v[0]);
  assert_int_equal(h.total, n);
}

static void test_percentiles_uniform_1us_to_60s(void **state) {
  (void)state;
  size_t n = 200000;
  uint64_t *v = malloc(n * sizeof(*v));
  for (size_t i = 0; i < n; i++) v[i] = 1000 + next_rand() % UINT64_C(60000000000);
  check_against_sorted(v, n);
  free(v);
}

static void test_percentiles_log_uniform(void **state) {
  (void)state;
  // Latencies spread over many decades (1 us .. 60 s), the hard case for a
  // linear histogram.
  size_t n = 100000;
  uint64_t *v = malloc(n * sizeof(*v));
  for (size_t i = 0; i < n; i++) {
    unsigned shift = 10 + (unsigned)(next_rand() % 26);
    v[i] = (UINT64_C(1) << shift) + next_rand() % (UINT64_C(1) << shift);
  }
  check_against_sorted(v, n);
  free(v);
}

static void test_percentiles_small_values_exact(void **state) {
  (void)state;
  size_t n = 1000;
  uint64_t v[1000];
  for (size_t i = 0; i < n; i++) v[i] = next_rand() % 256;
  check_against_sorted(v, n);
}

static void test_percentiles_few_samples(void **state) {
  (void)state;
  uint64_t v[3] = {50000, 7000, 123456789};
  check_against_sorted(v, 3);
  uint64_t one[1] = {42000};
  check_against_sorted(one, 1);
}

static void test_bucket_layout(void **state) {
  (void)state;
  for (unsigned i = 0; i < FG_HIST_BUCKETS; i++) {
    uint64_t lo = fg_hist_bucket_low(i), hi = fg_hist_bucket_high(i);
    assert_true(lo <= hi);
    assert_int_equal(fg_hist_bucket_index(lo), i);
    assert_int_equal(fg_hist_bucket_index(hi), i);
    if (i + 1 < FG_HIST_BUCKETS) assert_int_equal(fg_hist_bucket_low(i + 1), hi + 1);
    // A bucket is at most 1/128 of its smallest value wide.
    if (lo >= 256) assert_true((double)(hi - lo + 1) <= (double)lo / 128.0);
  }
  assert_int_equal(fg_hist_bucket_high(FG_HIST_BUCKETS - 1), FG_HIST_MAX_VALUE);
}

static void test_clamps_above_range(void **state) {
  (void)state;
  static fg_hist h;
  fg_hist_init(&h);
  fg_hist_record(&h, UINT64_MAX);
  assert_int_equal(h.counts[FG_HIST_BUCKETS - 1], 1);
  assert_int_equal(h.max, UINT64_MAX);
  assert_int_equal(fg_hist_percentile(&h, 50), UINT64_MAX);
}

static void test_empty_and_merge(void **state) {
  (void)state;
  static fg_hist a, b;
  fg_hist_init(&a);
  fg_hist_init(&b);
  assert_int_equal(fg_hist_percentile(&a, 99), 0);
  for (uint64_t i = 1; i <= 100; i++) fg_hist_record(&a, i * 1000);
  for (uint64_t i = 101; i <= 200; i++) fg_hist_record(&b, i * 1000);
  fg_hist_merge(&a, &b);
  assert_int_equal(a.total, 200);
  assert_int_equal(a.min, 1000);
  assert_int_equal(a.max, 200000);
  uint64_t p50 = fg_hist_percentile(&a, 50);
  assert_true(p50 >= 99000 && p50 <= 101000);
  fg_hist_merge(&a, &b);  // merging an empty-min histogram keeps min
  assert_int_equal(a.min, 1000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_percentiles_uniform_1us_to_60s),
      cmocka_unit_test(test_percentiles_log_uniform),
      cmocka_unit_test(test_percentiles_small_values_exact),
      cmocka_unit_test(test_percentiles_few_samples),
      cmocka_unit_test(test_bucket_layout),
      cmocka_unit_test(test_clamps_above_range),
      cmocka_unit_test(test_empty_and_merge),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
