// ocsp_cache_test.c: the shared OCSP response cache (crypto/ocsp_cache.c):
// hits, misses, expiry, replacement, bounds, and readers on several threads
// racing writers (run it under --config=tsan too: docs/revocation.md).
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "crypto/ocsp_cache.h"

static fg_ocsp_cache_value value(int status, int64_t expires) {
  fg_ocsp_cache_value v = {0};
  v.status = status;
  v.this_update = 1000;
  v.next_update = 2000;
  v.expires_at = expires;
  return v;
}

static void test_hit_miss_expiry_replace_remove(void **state) {
  (void)state;
  fg_ocsp_cache *c = fg_ocsp_cache_new(64, 1 << 20);
  const uint8_t k1[] = "certid-1", k2[] = "certid-2";
  fg_ocsp_cache_value v = value(1, 500), out;
  const uint8_t der[] = {0x30, 0x03, 0x0a, 0x01, 0x00};
  uint8_t buf[16];
  size_t len = 0;
  assert_false(fg_ocsp_cache_get(c, k1, sizeof(k1), 100, &out, NULL, 0, NULL));
  assert_true(fg_ocsp_cache_put(c, k1, sizeof(k1), &v, der, sizeof(der)));
  assert_true(fg_ocsp_cache_get(c, k1, sizeof(k1), 100, &out, buf, sizeof(buf), &len));
  assert_int_equal(out.status, 1);
  assert_int_equal(len, sizeof(der));
  assert_memory_equal(buf, der, sizeof(der));
  assert_false(fg_ocsp_cache_get(c, k2, sizeof(k2), 100, &out, NULL, 0, NULL));
  assert_false(fg_ocsp_cache_get(c, k1, sizeof(k1), 500, &out, NULL, 0, NULL));  // expired
  // A short buffer gets the start and the full length.
  assert_true(fg_ocsp_cache_get(c, k1, sizeof(k1), 100, &out, buf, 2, &len));
  assert_int_equal(len, sizeof(der));
  v = value(2, 900);
  v.negative = 1;
  assert_true(fg_ocsp_cache_put(c, k1, sizeof(k1), &v, NULL, 0));
  assert_true(fg_ocsp_cache_get(c, k1, sizeof(k1), 600, &out, buf, sizeof(buf), &len));
  assert_int_equal(out.status, 2);
  assert_true(out.negative);
  assert_int_equal(len, 0);
  fg_ocsp_cache_stats st;
  fg_ocsp_cache_stats_get(c, &st);
  assert_int_equal(st.entries, 1);
  assert_int_equal(st.replaces, 1);
  assert_true(fg_ocsp_cache_remove(c, k1, sizeof(k1)));
  assert_false(fg_ocsp_cache_remove(c, k1, sizeof(k1)));
  assert_false(fg_ocsp_cache_get(c, k1, sizeof(k1), 600, &out, NULL, 0, NULL));
  uint8_t long_key[FG_OCSP_CACHE_KEY_MAX + 1] = {0};
  assert_false(fg_ocsp_cache_put(c, long_key, sizeof(long_key), &v, NULL, 0));
  assert_false(fg_ocsp_cache_put(c, k1, 0, &v, NULL, 0));
  fg_ocsp_cache_free(c);
}

// The entry and byte bounds hold whatever is put; the newest entry is there.
static void test_bounds_hold(void **state) {
  (void)state;
  fg_ocsp_cache *c = fg_ocsp_cache_new(100, 64 * 1024);
  uint8_t der[1000];
  memset(der, 0x5a, sizeof(der));
  fg_ocsp_cache_value v = value(1, 1 << 30), out;
  char key[32];
  for (int i = 0; i < 5000; i++) {
    int n = snprintf(key, sizeof(key), "key-%d", i);
    assert_true(
        fg_ocsp_cache_put(c, (const uint8_t *)key, (size_t)n, &v, der, (size_t)(i % 7) * 100));
    fg_ocsp_cache_stats st;
    fg_ocsp_cache_stats_get(c, &st);
    assert_true(st.entries <= 100);
    assert_true(st.bytes <= 64 * 1024);
    assert_true(fg_ocsp_cache_get(c, (const uint8_t *)key, (size_t)n, 1, &out, NULL, 0, NULL));
  }
  fg_ocsp_cache_stats st;
  fg_ocsp_cache_stats_get(c, &st);
  assert_true(st.evictions >= 4900);
  // An entry larger than the whole bound is refused.
  uint8_t big[70000] = {0};
  assert_false(fg_ocsp_cache_put(c, (const uint8_t *)"big", 3, &v, big, sizeof(big)));
  fg_ocsp_cache_free(c);
}

// --- readers racing writers ---

enum { kKeys = 64, kReaders = 3 };

typedef struct race {
  fg_ocsp_cache *c;
  _Atomic int stop;
  _Atomic uint64_t reads, hits, bad;
} race;

static void key_of(int id, uint8_t *k) {
  memset(k, 0, 20);
  memcpy(k, &id, sizeof(id));
}

// Every entry the writer stores is self-consistent: version v for key id has
// next_update = 7 v + id and a response of 64 + v % 64 bytes all equal to
// (id + v) & 0xff. A reader that sees anything else saw freed or torn memory.
static void *racing_reader(void *arg) {
  race *r = arg;
  uint8_t k[20], der[256];
  uint64_t n = 0, hits = 0, bad = 0;
  while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
    int id = (int)(n % kKeys);
    key_of(id, k);
    fg_ocsp_cache_value v;
    size_t len = 0;
    if (fg_ocsp_cache_get(r->c, k, sizeof(k), 0, &v, der, sizeof(der), &len)) {
      hits++;
      int64_t ver = v.this_update;
      if (v.next_update != 7 * ver + id || len != (size_t)(64 + ver % 64)) bad++;
      for (size_t i = 0; i < len && i < sizeof(der); i++) {
        if (der[i] != (uint8_t)((id + ver) & 0xff)) {
          bad++;
          break;
        }
      }
    }
    n++;
  }
  atomic_fetch_add(&r->reads, n);
  atomic_fetch_add(&r->hits, hits);
  atomic_fetch_add(&r->bad, bad);
  return NULL;
}

static void test_readers_racing_writers_see_whole_entries(void **state) {
  (void)state;
  race r = {fg_ocsp_cache_new(kKeys / 2, 1 << 20), 0, 0, 0, 0};
  pthread_t t[kReaders];
  for (int i = 0; i < kReaders; i++) pthread_create(&t[i], NULL, racing_reader, &r);
  uint8_t k[20], der[256];
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  uint64_t writes = 0;
  size_t max_pending = 0;
  for (int64_t ver = 1;; ver++) {
    int id = (int)(ver * 31 % kKeys);
    key_of(id, k);
    fg_ocsp_cache_value v = {0};
    v.this_update = ver;
    v.next_update = 7 * ver + id;
    v.expires_at = INT64_MAX;
    size_t len = (size_t)(64 + ver % 64);
    memset(der, (id + ver) & 0xff, len);
    fg_ocsp_cache_put(r.c, k, sizeof(k), &v, der, len);
    if (ver % 13 == 0) fg_ocsp_cache_remove(r.c, k, sizeof(k));
    writes++;
    fg_ocsp_cache_stats st;
    fg_ocsp_cache_stats_get(r.c, &st);
    if (st.retired_pending > max_pending) max_pending = st.retired_pending;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 > 1500) break;
  }
  atomic_store(&r.stop, 1);
  for (int i = 0; i < kReaders; i++) pthread_join(t[i], NULL);
  print_message("%llu writes, %llu reads, %llu hits, at most %zu retired waiting\n",
                (unsigned long long)writes, (unsigned long long)atomic_load(&r.reads),
                (unsigned long long)atomic_load(&r.hits), max_pending);
  assert_int_equal(atomic_load(&r.bad), 0);
  assert_true(atomic_load(&r.hits) > 0);
  assert_true(writes > 1000);
  // Reclamation keeps up while readers run: what waits stays bounded.
  assert_true(max_pending < 100000);
  fg_ocsp_cache_free(r.c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hit_miss_expiry_replace_remove),
      cmocka_unit_test(test_bounds_hold),
      cmocka_unit_test(test_readers_racing_writers_see_whole_entries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
