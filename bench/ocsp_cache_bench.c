// ocsp_cache_bench.c: lookups per second per core in the shared OCSP
// response cache (crypto/ocsp_cache.h: lock-free reads, epoch reclamation)
// while a writer thread keeps replacing entries, against the same table
// behind one mutex, rounds interleaved in one run. Reader CPU time is the
// threads' own (CLOCK_THREAD_CPUTIME_ID), so the ratio holds on a busy
// machine. Cases: the hot set a gateway mostly sees (the CertIDs of peers
// reconnecting: 256 entries) with one reader and with one reader per core,
// and 10,000 entries looked up at random (memory-bound: every lookup misses
// the CPU caches). Prints one human line per case, or JSON with --json.
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

#include "bench/bench_time.h"
#include "crypto/ocsp_cache.h"

enum { kEntries = 10000, kKeyLen = 24, kDerLen = 1500, kRounds = 3, kRoundMs = 250 };

static void key_of(uint32_t id, uint8_t *k) {
  memset(k, 0xa5, kKeyLen);
  memcpy(k, &id, sizeof(id));
}

// --- the comparison: the same lookups in a table behind one mutex ---

typedef struct mentry {
  uint8_t key[kKeyLen];
  fg_ocsp_cache_value v;
  uint8_t *der;
} mentry;

typedef struct mtable {
  pthread_mutex_t mu;
  mentry *slots;  // open addressing, twice the entries
  size_t mask;
} mtable;

static mentry *mfind(mtable *t, const uint8_t *k) {
  for (size_t i = XXH3_64bits(k, kKeyLen) & t->mask;; i = (i + 1) & t->mask) {
    if (t->slots[i].der == NULL || memcmp(t->slots[i].key, k, kKeyLen) == 0) return &t->slots[i];
  }
}

static int mtable_get(mtable *t, const uint8_t *k, fg_ocsp_cache_value *out) {
  pthread_mutex_lock(&t->mu);
  mentry *e = mfind(t, k);
  int hit = e->der != NULL;
  if (hit) *out = e->v;
  pthread_mutex_unlock(&t->mu);
  return hit;
}

static void mtable_put(mtable *t, const uint8_t *k, const fg_ocsp_cache_value *v,
                       const uint8_t *der) {
  uint8_t *copy = malloc(kDerLen);
  memcpy(copy, der, kDerLen);
  pthread_mutex_lock(&t->mu);
  mentry *e = mfind(t, k);
  uint8_t *old = e->der;
  memcpy(e->key, k, kKeyLen);
  e->v = *v;
  e->der = copy;
  pthread_mutex_unlock(&t->mu);
  free(old);
}

// --- one round: a reader on this thread, a writer on another ---

typedef struct bench {
  fg_ocsp_cache *cache;
  mtable *mt;  // NULL: the lock-free cache
  _Atomic int stop;
  uint64_t writes;
  uint32_t keys;
} bench;

static void *writer(void *arg) {
  bench *b = arg;
  uint8_t k[kKeyLen], der[kDerLen];
  memset(der, 0x30, sizeof(der));
  fg_ocsp_cache_value v = {0};
  v.expires_at = INT64_MAX;
  uint32_t x = 12345;
  while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
    x = x * 1103515245u + 12345u;
    key_of(x % b->keys, k);
    v.this_update++;
    if (b->mt != NULL) {
      mtable_put(b->mt, k, &v, der);
    } else {
      fg_ocsp_cache_put(b->cache, k, kKeyLen, &v, der, sizeof(der));
    }
    b->writes++;
    // A busy but realistic writer: responses arrive far less often than
    // handshakes look them up.
    struct timespec pause = {0, 20000};
    nanosleep(&pause, NULL);
  }
  return NULL;
}

typedef struct reader {
  fg_ocsp_cache *cache;
  mtable *mt;
  uint32_t keys, seed;
  double per_cpu_s;
  uint64_t misses;
} reader;

static void *read_loop(void *arg) {
  reader *r = arg;
  uint8_t k[kKeyLen];
  fg_ocsp_cache_value v;
  uint64_t n = 0, hits = 0;
  uint32_t x = r->seed;
  double t0 = bench_thread_cpu_s(), end = bench_wall_ms() + kRoundMs;
  while (bench_wall_ms() < end) {
    for (int i = 0; i < 1024; i++) {
      x = x * 1664525u + 1013904223u;
      key_of(x % r->keys, k);
      hits += r->mt != NULL ? mtable_get(r->mt, k, &v)
                            : fg_ocsp_cache_get(r->cache, k, kKeyLen, 1, &v, NULL, 0, NULL);
      n++;
    }
  }
  r->per_cpu_s = (double)n / (bench_thread_cpu_s() - t0);
  r->misses = n - hits;
  return NULL;
}

// round runs |readers| reader threads over the first |keys| keys while the
// writer replaces entries; it returns lookups per reader CPU-second (the
// mean over the readers).
static double round_lookups_per_cpu_s(fg_ocsp_cache *cache, mtable *mt, uint32_t keys, int readers,
                                      uint64_t *writes) {
  bench b = {cache, mt, 0, 0, keys};
  pthread_t w, t[4];
  reader r[4];
  pthread_create(&w, NULL, writer, &b);
  for (int i = 0; i < readers; i++) {
    r[i] = (reader){cache, mt, keys, 777u + (uint32_t)i * 7919u, 0, 0};
    pthread_create(&t[i], NULL, read_loop, &r[i]);
  }
  double sum = 0;
  for (int i = 0; i < readers; i++) {
    pthread_join(t[i], NULL);
    sum += r[i].per_cpu_s;
  }
  atomic_store(&b.stop, 1);
  pthread_join(w, NULL);
  *writes = b.writes;
  return sum / readers;
}

int main(int argc, char **argv) {
  int json = argc > 1 && strcmp(argv[1], "--json") == 0;
  fg_ocsp_cache *cache = fg_ocsp_cache_new(kEntries * 4, (size_t)kEntries * 4 * (kDerLen + 256));
  mtable mt;
  pthread_mutex_init(&mt.mu, NULL);
  mt.mask = 32768 - 1;
  mt.slots = calloc(mt.mask + 1, sizeof(mentry));
  uint8_t k[kKeyLen], der[kDerLen];
  memset(der, 0x30, sizeof(der));
  fg_ocsp_cache_value v = {0};
  v.expires_at = INT64_MAX;
  for (uint32_t i = 0; i < kEntries; i++) {
    key_of(i, k);
    fg_ocsp_cache_put(cache, k, kKeyLen, &v, der, sizeof(der));
    mtable_put(&mt, k, &v, der);
  }
  static const struct {
    const char *name;
    uint32_t keys;
    int readers;
  } kCases[] = {{"hot_1reader", 256, 1}, {"hot_per_core", 256, 2}, {"cold_1reader", kEntries, 1}};
  if (json) printf("{");
  for (size_t c = 0; c < sizeof(kCases) / sizeof(kCases[0]); c++) {
    double lockfree[kRounds], mutex[kRounds];
    uint64_t w;
    for (int r = 0; r < kRounds; r++) {
      lockfree[r] = round_lookups_per_cpu_s(cache, NULL, kCases[c].keys, kCases[c].readers, &w);
      mutex[r] = round_lookups_per_cpu_s(NULL, &mt, kCases[c].keys, kCases[c].readers, &w);
    }
    double a = bench_median(lockfree, kRounds), b = bench_median(mutex, kRounds);
    if (json) {
      printf(
          "%s\"%s\":{\"lockfree_lookups_per_cpu_s\":%.0f,\"mutex_lookups_per_cpu_s\":%.0f,"
          "\"ratio\":%.2f}",
          c ? "," : "", kCases[c].name, a, b, a / b);
    } else {
      printf(
          "%-13s %u entries, %d reader(s): lock-free %.1f M/s per reader CPU-second, one mutex "
          "%.1f M/s, ratio %.2f\n",
          kCases[c].name, kCases[c].keys, kCases[c].readers, a / 1e6, b / 1e6, a / b);
    }
  }
  if (json) printf("}\n");
  fg_ocsp_cache_free(cache);
  for (size_t i = 0; i <= mt.mask; i++) free(mt.slots[i].der);
  free(mt.slots);
  return 0;
}
