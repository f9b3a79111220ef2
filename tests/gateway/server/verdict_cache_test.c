// verdict_cache_test.c: the per-worker cache of positive certificate
// verdicts (gateway/server/verdict_cache.h): only an identical question hits, and
// no verdict outlives its path's notAfter (RFC 5280 §6.1.3 (a)(2)) or the
// cache's TTL.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include <openssl/pool.h>

#include "gateway/server/verdict_cache.h"

static STACK_OF(CRYPTO_BUFFER) * chain_of(const char *a, const char *b) {
  STACK_OF(CRYPTO_BUFFER) *sk = sk_CRYPTO_BUFFER_new_null();
  sk_CRYPTO_BUFFER_push(sk, CRYPTO_BUFFER_new((const uint8_t *)a, strlen(a), NULL));
  if (b != NULL) sk_CRYPTO_BUFFER_push(sk, CRYPTO_BUFFER_new((const uint8_t *)b, strlen(b), NULL));
  return sk;
}

static void free_chain(STACK_OF(CRYPTO_BUFFER) * sk) {
  sk_CRYPTO_BUFFER_pop_free(sk, CRYPTO_BUFFER_free);
}

static const int64_t kNow = 1700000000;

static void test_only_the_same_chain_domain_and_scope_hit(void **state) {
  (void)state;
  fg_verdict_cache_clear();
  STACK_OF(CRYPTO_BUFFER) *c = chain_of("leaf-der", "intermediate-der");
  // The same bytes split differently are another chain (length-prefixed).
  STACK_OF(CRYPTO_BUFFER) *split = chain_of("leaf-derinter", "mediate-der");
  STACK_OF(CRYPTO_BUFFER) *leaf_only = chain_of("leaf-der", NULL);
  fg_verdict_key k, other;
  assert_true(fg_verdict_key_make(&k, c, "a.example", 0x100));
  assert_false(fg_verdict_cache_hit(&k, kNow));
  fg_verdict_cache_put(&k, kNow, kNow + 86400);
  assert_true(fg_verdict_cache_hit(&k, kNow));
  assert_true(fg_verdict_cache_hit(&k, kNow + 10));
  assert_true(fg_verdict_key_make(&other, c, "b.example", 0x100));
  assert_false(fg_verdict_cache_hit(&other, kNow));
  assert_true(fg_verdict_key_make(&other, c, "a.example", 0x101));  // other trust store
  assert_false(fg_verdict_cache_hit(&other, kNow));
  assert_true(fg_verdict_key_make(&other, split, "a.example", 0x100));
  assert_false(fg_verdict_cache_hit(&other, kNow));
  assert_true(fg_verdict_key_make(&other, leaf_only, "a.example", 0x100));
  assert_false(fg_verdict_cache_hit(&other, kNow));
  assert_false(fg_verdict_key_make(&other, NULL, "a.example", 0x100));
  free_chain(c);
  free_chain(split);
  free_chain(leaf_only);
}

static void test_rfc5280_6_1_3_a_2_no_hit_after_not_after_or_ttl(void **state) {
  (void)state;
  fg_verdict_cache_clear();
  STACK_OF(CRYPTO_BUFFER) *c = chain_of("leaf", "ca");
  fg_verdict_key k;
  assert_true(fg_verdict_key_make(&k, c, "a.example", 0x200));
  fg_verdict_cache_put(&k, kNow, kNow + 60);  // the path expires in a minute
  assert_true(fg_verdict_cache_hit(&k, kNow + 59));
  assert_false(fg_verdict_cache_hit(&k, kNow + 60));
  fg_verdict_cache_put(&k, kNow, kNow + 10 * 86400);  // the TTL ends first
  assert_true(fg_verdict_cache_hit(&k, kNow + FG_VERDICT_TTL_S - 1));
  assert_false(fg_verdict_cache_hit(&k, kNow + FG_VERDICT_TTL_S));
  fg_verdict_cache_clear();
  fg_verdict_cache_put(&k, kNow, kNow);  // already expired: never stored
  assert_false(fg_verdict_cache_hit(&k, kNow));
  free_chain(c);
}

static void *other_thread(void *arg) {
  return (void *)(long)fg_verdict_cache_hit((const fg_verdict_key *)arg, kNow);
}

static void test_each_worker_thread_has_its_own(void **state) {
  (void)state;
  STACK_OF(CRYPTO_BUFFER) *c = chain_of("leaf", NULL);
  fg_verdict_key k;
  assert_true(fg_verdict_key_make(&k, c, "a.example", 0x100));
  fg_verdict_cache_put(&k, kNow, kNow + 100);
  pthread_t t;
  void *hit = (void *)1;
  assert_int_equal(pthread_create(&t, NULL, other_thread, &k), 0);
  pthread_join(t, &hit);
  assert_null(hit);
  assert_true(fg_verdict_cache_hit(&k, kNow));
  free_chain(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_only_the_same_chain_domain_and_scope_hit),
      cmocka_unit_test(test_rfc5280_6_1_3_a_2_no_hit_after_not_after_or_ttl),
      cmocka_unit_test(test_each_worker_thread_has_its_own),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
