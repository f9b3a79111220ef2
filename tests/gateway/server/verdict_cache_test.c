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

// An inbound question with revocation off, trust store and configuration
// of generation 1.
static const fg_verdict_scope kIn = {
    .role = FG_VERDICT_INBOUND, .trust_generation = 1, .config_generation = 1};

static void test_only_the_same_chain_domain_and_scope_hit(void **state) {
  (void)state;
  fg_verdict_cache_clear();
  STACK_OF(CRYPTO_BUFFER) *c = chain_of("leaf-der", "intermediate-der");
  // The same bytes split differently are another chain (length-prefixed).
  STACK_OF(CRYPTO_BUFFER) *split = chain_of("leaf-derinter", "mediate-der");
  STACK_OF(CRYPTO_BUFFER) *leaf_only = chain_of("leaf-der", NULL);
  fg_verdict_key k, other;
  assert_true(fg_verdict_key_make(&k, c, "a.example", &kIn));
  assert_false(fg_verdict_cache_hit(&k, kNow));
  fg_verdict_cache_put(&k, kNow, kNow + 86400);
  assert_true(fg_verdict_cache_hit(&k, kNow));
  assert_true(fg_verdict_cache_hit(&k, kNow + 10));
  assert_true(fg_verdict_key_make(&other, c, "b.example", &kIn));
  assert_false(fg_verdict_cache_hit(&other, kNow));
  fg_verdict_scope internal = kIn;
  internal.internal = 1;  // the other trust store
  assert_true(fg_verdict_key_make(&other, c, "a.example", &internal));
  assert_false(fg_verdict_cache_hit(&other, kNow));
  assert_true(fg_verdict_key_make(&other, split, "a.example", &kIn));
  assert_false(fg_verdict_cache_hit(&other, kNow));
  assert_true(fg_verdict_key_make(&other, leaf_only, "a.example", &kIn));
  assert_false(fg_verdict_cache_hit(&other, kNow));
  assert_false(fg_verdict_key_make(&other, NULL, "a.example", &kIn));
  free_chain(c);
  free_chain(split);
  free_chain(leaf_only);
}

// Each field of the scope on its own gives another key, whatever the
// others hold: in particular an inbound verdict under one revocation mode
// never answers an outbound question under another, and a configuration,
// trust store or revocation generation never cancels another one's change.
static void test_rfc6120_13_7_each_scope_field_gives_another_key(void **state) {
  (void)state;
  fg_verdict_cache_clear();
  STACK_OF(CRYPTO_BUFFER) *c = chain_of("leaf-der", "intermediate-der");
  fg_verdict_scope base = {.role = FG_VERDICT_INBOUND,
                           .revocation_mode = 1,
                           .trust_generation = 7,
                           .revocation_generation = 0x100,
                           .config_generation = 3};
  fg_verdict_key k;
  assert_true(fg_verdict_key_make(&k, c, "a.example", &base));
  fg_verdict_cache_put(&k, kNow, kNow + 86400);
  fg_verdict_scope v[9];
  for (int i = 0; i < 9; i++) v[i] = base;
  v[0].role = FG_VERDICT_OUTBOUND;
  v[0].revocation_mode = 2;  // the combination the packed form of the scope once confused
  v[1].role = FG_VERDICT_INBOUND_CHAIN;
  v[2].internal = 1;
  v[3].identity_flags = 1;
  v[4].revocation_mode = 2;
  v[5].trust_generation = 8;
  v[6].revocation_generation = 0x101;
  v[7].config_generation = 4;
  v[8].config_generation = 3 + (1ull << 32);  // only the high bits differ
  for (int i = 0; i < 9; i++) {
    fg_verdict_key other;
    assert_true(fg_verdict_key_make(&other, c, "a.example", &v[i]));
    assert_memory_not_equal(other.b, k.b, sizeof(k.b));
    assert_false(fg_verdict_cache_hit(&other, kNow));
  }
  // Two fields changed so that a packed, XOR-ed form would cancel out.
  fg_verdict_scope both = base;
  both.config_generation = base.config_generation ^ 1;
  both.revocation_generation = base.revocation_generation ^ (1u << 8);
  fg_verdict_key other;
  assert_true(fg_verdict_key_make(&other, c, "a.example", &both));
  assert_false(fg_verdict_cache_hit(&other, kNow));
  assert_true(fg_verdict_cache_hit(&k, kNow));
  free_chain(c);
}

static void test_rfc5280_6_1_3_a_2_no_hit_after_not_after_or_ttl(void **state) {
  (void)state;
  fg_verdict_cache_clear();
  STACK_OF(CRYPTO_BUFFER) *c = chain_of("leaf", "ca");
  fg_verdict_key k;
  fg_verdict_scope out = kIn;
  out.role = FG_VERDICT_OUTBOUND;
  assert_true(fg_verdict_key_make(&k, c, "a.example", &out));
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
  assert_true(fg_verdict_key_make(&k, c, "a.example", &kIn));
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
      cmocka_unit_test(test_rfc6120_13_7_each_scope_field_gives_another_key),
      cmocka_unit_test(test_rfc5280_6_1_3_a_2_no_hit_after_not_after_or_ttl),
      cmocka_unit_test(test_each_worker_thread_has_its_own),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
