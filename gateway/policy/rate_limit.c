// rate_limit.c: striped open-addressing table of token buckets
// (gateway/policy/rate_limit.h).
#include "gateway/policy/rate_limit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <xxhash.h>

#define STRIPES 64
// A key is looked for, and a free or stale slot found, among this many
// neighbours of its home slot.
#define WINDOW 16

typedef struct bucket {
  uint64_t h_lo, h_hi;  // the key's 128-bit keyed hash; both 0: free slot
  double tokens;
  uint64_t last_ns;        // last refill
  uint64_t over_since_ns;  // first refusal since the last allowed take; 0: none
} bucket;

// One cache line (or more) per stripe: workers taking from different
// stripes do not share lines.
typedef struct stripe {
  _Alignas(64) pthread_mutex_t mu;
  size_t used;
  bucket *slots;
} stripe;

struct fg_rate_limits {
  stripe stripes[STRIPES];
  size_t slots_per_stripe;  // power of two
  uint64_t seed;
  _Atomic uint64_t evictions;
};

fg_rate_limits *fg_rate_limits_new(size_t max_keys) {
  if (max_keys < 64) max_keys = 64;
  size_t per = 16;
  while (per * STRIPES < max_keys) per <<= 1;
  fg_rate_limits *t = calloc(1, sizeof(*t));
  if (t == NULL) return NULL;
  t->slots_per_stripe = per;
  for (int i = 0; i < STRIPES; i++) {
    t->stripes[i].slots = calloc(per, sizeof(bucket));
    if (t->stripes[i].slots == NULL) {
      for (int j = 0; j < i; j++) free(t->stripes[j].slots);
      free(t);
      return NULL;
    }
    pthread_mutex_init(&t->stripes[i].mu, NULL);
  }
  if (getrandom(&t->seed, sizeof(t->seed), 0) != (ssize_t)sizeof(t->seed))
    t->seed = (uint64_t)(uintptr_t)t * 0x9E3779B97F4A7C15ull;
  return t;
}

void fg_rate_limits_free(fg_rate_limits *t) {
  if (t == NULL) return;
  for (int i = 0; i < STRIPES; i++) {
    free(t->stripes[i].slots);
    pthread_mutex_destroy(&t->stripes[i].mu);
  }
  free(t);
}

// refill brings |b| to |now_ns| under |rate|.
static void refill(bucket *b, const fg_rate *rate, uint64_t now_ns) {
  if (now_ns > b->last_ns) {
    b->tokens += (double)(now_ns - b->last_ns) * 1e-9 * rate->per_second;
    b->last_ns = now_ns;
  }
  if (b->tokens > rate->burst) b->tokens = rate->burst;
}

// projected returns the tokens |b| would hold at |now_ns| under |rate|.
static double projected(const bucket *b, const fg_rate *rate, uint64_t now_ns) {
  double tokens = b->tokens;
  if (now_ns > b->last_ns) tokens += (double)(now_ns - b->last_ns) * 1e-9 * rate->per_second;
  return tokens > rate->burst ? rate->burst : tokens;
}

// find_slot returns the bucket of (lo, hi) in |s|, claiming a free slot when
// the key is new, or else forgetting the neighbour that carries the least
// information: the one with the most tokens (a full bucket is what a new
// key gets anyway), the least recently used among equals. A key in debt is
// thus kept while a flood of new keys passes.
static bucket *find_slot(fg_rate_limits *t, stripe *s, uint64_t lo, uint64_t hi,
                         const fg_rate *rate, uint64_t now_ns) {
  size_t mask = t->slots_per_stripe - 1;
  size_t home = (size_t)(hi & mask);
  bucket *free_slot = NULL, *victim = NULL;
  double victim_tokens = -1;
  for (size_t k = 0; k < WINDOW && k <= mask; k++) {
    bucket *b = &s->slots[(home + k) & mask];
    if (b->h_lo == lo && b->h_hi == hi) return b;
    if (b->h_lo == 0 && b->h_hi == 0) {
      if (free_slot == NULL) free_slot = b;
      continue;
    }
    double p = projected(b, rate, now_ns);
    if (victim == NULL || p > victim_tokens ||
        (p == victim_tokens && b->last_ns < victim->last_ns)) {
      victim = b;
      victim_tokens = p;
    }
  }
  bucket *b = free_slot;
  if (b == NULL) {
    b = victim;
    atomic_fetch_add_explicit(&t->evictions, 1, memory_order_relaxed);
  } else {
    s->used++;
  }
  b->h_lo = lo;
  b->h_hi = hi;
  b->tokens = rate->burst;
  b->last_ns = now_ns;
  b->over_since_ns = 0;
  return b;
}

int fg_rate_take(fg_rate_limits *t, const void *key, size_t key_len, const fg_rate *rate,
                 double cost, uint64_t now_ns, fg_rate_verdict *out) {
  XXH128_hash_t h = XXH3_128bits_withSeed(key, key_len, t->seed);
  if (h.low64 == 0 && h.high64 == 0) h.low64 = 1;  // 0/0 marks a free slot
  stripe *s = &t->stripes[h.low64 % STRIPES];
  pthread_mutex_lock(&s->mu);
  bucket *b = find_slot(t, s, h.low64, h.high64, rate, now_ns);
  refill(b, rate, now_ns);
  fg_rate_verdict v = {0, 0, 0};
  if (cost <= b->tokens) {
    b->tokens -= cost;
    b->over_since_ns = 0;
    v.allowed = 1;
  } else {
    if (b->over_since_ns == 0) b->over_since_ns = now_ns != 0 ? now_ns : 1;
    v.over_since_ns = b->over_since_ns;
    v.retry_after_s = cost > rate->burst ? -1 : (cost - b->tokens) / rate->per_second;
  }
  pthread_mutex_unlock(&s->mu);
  if (out != NULL) *out = v;
  return v.allowed;
}

size_t fg_rate_limits_keys(fg_rate_limits *t) {
  size_t n = 0;
  for (int i = 0; i < STRIPES; i++) {
    pthread_mutex_lock(&t->stripes[i].mu);
    n += t->stripes[i].used;
    pthread_mutex_unlock(&t->stripes[i].mu);
  }
  return n;
}

uint64_t fg_rate_limits_evictions(fg_rate_limits *t) {
  return atomic_load_explicit(&t->evictions, memory_order_relaxed);
}

size_t fg_rate_limits_bytes(const fg_rate_limits *t) {
  return sizeof(*t) + STRIPES * t->slots_per_stripe * sizeof(bucket);
}
