// ocsp_cache.c: the shared OCSP response cache (see ocsp_cache.h): lock-free
// reads through epoch-based reclamation, writers under one mutex.
#include "crypto/ocsp_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "crypto/epoch.h"

// An entry keeps what lookups compare and return in one small block (the
// table's working set stays in cache); the response a handshake staples
// lives in a block of its own.
typedef struct entry {
  uint64_t hash;
  fg_ocsp_cache_value v;
  uint16_t key_len;
  uint32_t der_len;
  size_t bytes;  // accounted size
  uint8_t *der;
  uint8_t key[];
} entry;

static void entry_free(void *p) {
  entry *e = p;
  if (e != NULL) free(e->der);
  free(e);
}

// A way is one word: the entry's address in the low 48 bits and a 16-bit
// tag of its key's hash in the high bits, so that a lookup dereferences only
// the entry whose tag matches (x86-64 and AArch64 user addresses fit in 48
// bits; an address that does not is stored with tag 0, which always
// matches and is then checked on the entry itself).
typedef uint64_t way_word;

typedef struct bucket {
  _Atomic way_word way[FG_OCSP_CACHE_WAYS];
} bucket;

static way_word pack(entry *e) {
  uintptr_t p = (uintptr_t)e;
  if (e == NULL || (p >> 48) != 0) return (way_word)p;
  return (way_word)p | (((e->hash >> 48) | 1) << 48);
}

static entry *unpack(way_word w) {
  return (entry *)(uintptr_t)((w >> 48) != 0 ? w & ((1ull << 48) - 1) : w);
}

// may_match says whether way word |w| can hold the entry of hash |h|.
static int may_match(way_word w, uint64_t h) {
  uint64_t tag = w >> 48;
  return w != 0 && (tag == 0 || tag == ((h >> 48) | 1));
}

struct fg_ocsp_cache {
  bucket *buckets;
  size_t mask;
  size_t max_entries, max_bytes;
  fg_epoch_domain *epoch;
  pthread_mutex_t write_mu;  // writers only
  size_t entries, bytes, hand;
  uint64_t inserts, replaces, evictions;
};

fg_ocsp_cache *fg_ocsp_cache_new(size_t max_entries, size_t max_bytes) {
  fg_ocsp_cache *c = calloc(1, sizeof(*c));
  if (c == NULL) return NULL;
  size_t n = 1;
  while (n * FG_OCSP_CACHE_WAYS < max_entries) n <<= 1;
  c->buckets = calloc(n, sizeof(bucket));
  c->epoch = fg_epoch_domain_new();
  if (c->buckets == NULL || c->epoch == NULL) {
    fg_ocsp_cache_free(c);
    return NULL;
  }
  c->mask = n - 1;
  c->max_entries = max_entries ? max_entries : 1;
  c->max_bytes = max_bytes;
  pthread_mutex_init(&c->write_mu, NULL);
  return c;
}

void fg_ocsp_cache_free(fg_ocsp_cache *c) {
  if (c == NULL) return;
  if (c->buckets != NULL) {
    for (size_t b = 0; b <= c->mask; b++) {
      for (int w = 0; w < FG_OCSP_CACHE_WAYS; w++)
        entry_free(unpack(atomic_load(&c->buckets[b].way[w])));
    }
    pthread_mutex_destroy(&c->write_mu);
  }
  fg_epoch_domain_free(c->epoch);
  free(c->buckets);
  free(c);
}

static int matches(const entry *e, uint64_t h, const uint8_t *key, size_t key_len) {
  return e != NULL && e->hash == h && e->key_len == key_len && memcmp(e->key, key, key_len) == 0;
}

int fg_ocsp_cache_get(fg_ocsp_cache *c, const uint8_t *key, size_t key_len, int64_t now,
                      fg_ocsp_cache_value *out, uint8_t *der, size_t der_cap, size_t *der_len) {
  if (key_len > FG_OCSP_CACHE_KEY_MAX) return 0;
  uint64_t h = XXH3_64bits(key, key_len);
  bucket *b = &c->buckets[h & c->mask];
  if (!fg_epoch_enter(c->epoch)) return 0;
  int hit = 0;
  for (int w = 0; w < FG_OCSP_CACHE_WAYS; w++) {
    way_word word = atomic_load_explicit(&b->way[w], memory_order_acquire);
    if (!may_match(word, h)) continue;
    const entry *e = unpack(word);
    if (!matches(e, h, key, key_len)) continue;
    if (now < e->v.expires_at) {
      *out = e->v;
      if (der != NULL && e->der_len > 0) {
        memcpy(der, e->der, e->der_len < der_cap ? e->der_len : der_cap);
      }
      if (der_len != NULL) *der_len = e->der_len;
      hit = 1;
    }
    break;
  }
  fg_epoch_exit(c->epoch);
  return hit;
}

// unlink_way empties |way| (writer, under write_mu) and retires its entry.
static void unlink_way(fg_ocsp_cache *c, _Atomic way_word *way, int evicted) {
  entry *old = unpack(atomic_exchange(way, 0));
  if (old == NULL) return;
  c->entries--;
  c->bytes -= old->bytes;
  if (evicted) c->evictions++;
  fg_epoch_retire(c->epoch, old, entry_free);
}

// shrink evicts round the table (a clock hand over every way of every
// bucket) until the byte and entry bounds leave room for |incoming| bytes.
static void shrink(fg_ocsp_cache *c, size_t incoming) {
  size_t ways = (c->mask + 1) * FG_OCSP_CACHE_WAYS;
  for (size_t guard = 0; guard < ways && c->entries > 0 &&
                         (c->bytes + incoming > c->max_bytes || c->entries + 1 > c->max_entries);
       guard++) {
    size_t at = c->hand++ % ways;
    unlink_way(c, &c->buckets[at / FG_OCSP_CACHE_WAYS].way[at % FG_OCSP_CACHE_WAYS], 1);
  }
}

int fg_ocsp_cache_put(fg_ocsp_cache *c, const uint8_t *key, size_t key_len,
                      const fg_ocsp_cache_value *v, const uint8_t *der, size_t der_len) {
  if (key_len == 0 || key_len > FG_OCSP_CACHE_KEY_MAX || der_len > UINT32_MAX) return 0;
  size_t bytes = sizeof(entry) + key_len + der_len;
  if (bytes > c->max_bytes) return 0;
  entry *e = malloc(sizeof(entry) + key_len);
  if (e == NULL) return 0;
  e->der = NULL;
  if (der_len > 0 && (e->der = malloc(der_len)) == NULL) {
    free(e);
    return 0;
  }
  e->hash = XXH3_64bits(key, key_len);
  e->v = *v;
  e->key_len = (uint16_t)key_len;
  e->der_len = (uint32_t)der_len;
  e->bytes = bytes;
  memcpy(e->key, key, key_len);
  if (der_len) memcpy(e->der, der, der_len);
  bucket *b = &c->buckets[e->hash & c->mask];
  pthread_mutex_lock(&c->write_mu);
  // The same key: replace in place (one swap).
  for (int w = 0; w < FG_OCSP_CACHE_WAYS; w++) {
    entry *old = unpack(atomic_load_explicit(&b->way[w], memory_order_relaxed));
    if (!matches(old, e->hash, key, key_len)) continue;
    atomic_store_explicit(&b->way[w], pack(e), memory_order_release);
    c->bytes += bytes - old->bytes;
    c->replaces++;
    fg_epoch_retire(c->epoch, old, entry_free);
    pthread_mutex_unlock(&c->write_mu);
    return 1;
  }
  shrink(c, bytes);
  // An empty way, else the way whose entry expires first.
  int victim = 0;
  int64_t soonest = INT64_MAX;
  for (int w = 0; w < FG_OCSP_CACHE_WAYS; w++) {
    entry *old = unpack(atomic_load_explicit(&b->way[w], memory_order_relaxed));
    if (old == NULL) {
      victim = w;
      break;
    }
    if (old->v.expires_at < soonest) {
      soonest = old->v.expires_at;
      victim = w;
    }
  }
  unlink_way(c, &b->way[victim], 1);
  atomic_store_explicit(&b->way[victim], pack(e), memory_order_release);
  c->entries++;
  c->bytes += bytes;
  c->inserts++;
  pthread_mutex_unlock(&c->write_mu);
  return 1;
}

int fg_ocsp_cache_remove(fg_ocsp_cache *c, const uint8_t *key, size_t key_len) {
  if (key_len > FG_OCSP_CACHE_KEY_MAX) return 0;
  uint64_t h = XXH3_64bits(key, key_len);
  bucket *b = &c->buckets[h & c->mask];
  int found = 0;
  pthread_mutex_lock(&c->write_mu);
  for (int w = 0; w < FG_OCSP_CACHE_WAYS && !found; w++) {
    if (matches(unpack(atomic_load_explicit(&b->way[w], memory_order_relaxed)), h, key, key_len)) {
      unlink_way(c, &b->way[w], 0);
      found = 1;
    }
  }
  pthread_mutex_unlock(&c->write_mu);
  return found;
}

void fg_ocsp_cache_stats_get(fg_ocsp_cache *c, fg_ocsp_cache_stats *out) {
  pthread_mutex_lock(&c->write_mu);
  out->entries = c->entries;
  out->bytes = c->bytes;
  out->inserts = c->inserts;
  out->replaces = c->replaces;
  out->evictions = c->evictions;
  out->retired_pending = fg_epoch_pending(c->epoch);
  pthread_mutex_unlock(&c->write_mu);
}
