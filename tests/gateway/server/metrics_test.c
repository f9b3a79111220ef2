// metrics_test.c: counters counted per thread shard and summed on reading
// (gateway/server/metrics.h), including more threads than shards, and their
// Prometheus rendering.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/server/metrics.h"

enum { kThreads = FG_METRICS_SHARDS + 6, kPerThread = 20000 };

static void *count(void *arg) {
  fg_metrics *ms = arg;
  for (int i = 0; i < kPerThread; i++) {
    fg_metrics_inc(ms, FG_M_STANZAS_IN);
    if (i % 2 == 0) fg_metrics_inc(ms, FG_M_STANZAS_DELIVERED);
  }
  return NULL;
}

static void test_no_increment_lost_across_threads_and_shards(void **state) {
  (void)state;
  fg_metrics *ms = calloc(1, sizeof(*ms));
  pthread_t t[kThreads];
  for (int i = 0; i < kThreads; i++) assert_int_equal(pthread_create(&t[i], NULL, count, ms), 0);
  for (int i = 0; i < kThreads; i++) pthread_join(t[i], NULL);
  assert_int_equal(fg_metrics_get(ms, FG_M_STANZAS_IN), (uint64_t)kThreads * kPerThread);
  assert_int_equal(fg_metrics_get(ms, FG_M_STANZAS_DELIVERED), (uint64_t)kThreads * kPerThread / 2);
  assert_int_equal(fg_metrics_get(ms, FG_M_STANZAS_BOUNCED), 0);
  free(ms);
}

static void test_set_and_render(void **state) {
  (void)state;
  fg_metrics *ms = calloc(1, sizeof(*ms));
  fg_metrics_set(ms, FG_M_INTERNAL_CERTS_MINTED, 41);
  fg_metrics_set(ms, FG_M_INTERNAL_CERTS_MINTED, 42);
  fg_metrics_inc(ms, FG_M_STANZAS_IN);
  assert_int_equal(fg_metrics_get(ms, FG_M_INTERNAL_CERTS_MINTED), 42);
  static char out[65536];
  size_t n = fg_metrics_render(ms, out, sizeof(out) - 1);
  out[n] = 0;
  assert_non_null(strstr(out, "\nfedgate_internal_certs_minted_total 42\n"));
  assert_non_null(strstr(out, "\nfedgate_stanzas_in_total 1\n"));
  free(ms);
}

// PROXY protocol refusals are counted by reason, every reason rendered.
static void test_proxy_refusals_by_reason(void **state) {
  (void)state;
  fg_metrics *ms = calloc(1, sizeof(*ms));
  fg_metrics_proxy_refused(ms, FG_PROXY_ERR_UNTRUSTED);
  fg_metrics_proxy_refused(ms, FG_PROXY_ERR_UNTRUSTED);
  fg_metrics_proxy_refused(ms, FG_PROXY_ERR_BAD_TLV);
  fg_metrics_proxy_refused(ms, FG_PROXY_ERR_COUNT);  // out of range: ignored
  fg_metrics_inc(ms, FG_M_PROXY_HEADERS_ACCEPTED);
  static char out[65536];
  size_t n = fg_metrics_render(ms, out, sizeof(out) - 1);
  out[n] = 0;
  assert_non_null(
      strstr(out, "\nfedgate_proxy_header_refused_total{reason=\"untrusted-source\"} 2\n"));
  assert_non_null(strstr(out, "\nfedgate_proxy_header_refused_total{reason=\"bad-tlv\"} 1\n"));
  assert_non_null(strstr(out, "\nfedgate_proxy_header_refused_total{reason=\"timeout\"} 0\n"));
  assert_null(strstr(out, "reason=\"ok\""));
  assert_non_null(strstr(out, "\nfedgate_proxy_header_accepted_total 1\n"));
  free(ms);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_increment_lost_across_threads_and_shards),
      cmocka_unit_test(test_set_and_render),
      cmocka_unit_test(test_proxy_refusals_by_reason),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
