// verdict_cache.c: a direct-mapped table per thread (no locks: each worker
// owns its own); a newer verdict replaces whatever shared its slot.
#include "gateway/server/verdict_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/mem.h>
#include <openssl/sha.h>

enum { kSlots = 1024 };  // 40 KiB per worker

typedef struct slot {
  fg_verdict_key key;
  int64_t expires;  // 0: empty
} slot;

static _Thread_local slot *t_slots;

// The table goes with its thread (a pthread key's destructor).
static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_key_ok;

static void make_key(void) {
  g_key_ok = pthread_key_create(&g_key, free) == 0;
}

static uint8_t *put_be(uint8_t *p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; i--) *p++ = (uint8_t)(v >> (8 * i));
  return p;
}

int fg_verdict_key_make(fg_verdict_key *k, const STACK_OF(CRYPTO_BUFFER) * chain,
                        const char *domain, const fg_verdict_scope *scope) {
  size_t n = chain != NULL ? sk_CRYPTO_BUFFER_num(chain) : 0;
  if (n == 0) return 0;
  SHA256_CTX h;
  SHA256_Init(&h);
  // Every field at a fixed place of its own, then the chain's length.
  uint8_t hdr[28], *p = hdr;
  p = put_be(p, (uint32_t)scope->role, 4);
  p = put_be(p, scope->internal, 1);
  p = put_be(p, scope->identity_flags, 1);
  p = put_be(p, scope->revocation_mode, 1);
  p = put_be(p, 0, 1);
  p = put_be(p, scope->trust_generation, 4);
  p = put_be(p, scope->revocation_generation, 4);
  p = put_be(p, scope->config_generation, 8);
  p = put_be(p, n, 4);
  SHA256_Update(&h, hdr, (size_t)(p - hdr));
  for (size_t i = 0; i < n; i++) {
    const CRYPTO_BUFFER *b = sk_CRYPTO_BUFFER_value(chain, i);
    size_t len = CRYPTO_BUFFER_len(b);
    uint8_t l[4];
    put_be(l, len, 4);  // length-prefixed: no two chains share a byte string
    SHA256_Update(&h, l, sizeof(l));
    SHA256_Update(&h, CRYPTO_BUFFER_data(b), len);
  }
  SHA256_Update(&h, domain, strlen(domain) + 1);
  SHA256_Final(k->b, &h);
  return 1;
}

static slot *slot_of(const fg_verdict_key *k) {
  uint32_t i = ((uint32_t)k->b[0] | (uint32_t)k->b[1] << 8) % kSlots;
  return &t_slots[i];
}

int fg_verdict_cache_hit(const fg_verdict_key *k, int64_t now) {
  if (t_slots == NULL) return 0;
  const slot *s = slot_of(k);
  return s->expires > now && CRYPTO_memcmp(s->key.b, k->b, sizeof(k->b)) == 0;
}

void fg_verdict_cache_put(const fg_verdict_key *k, int64_t now, int64_t valid_until) {
  int64_t expires = now + FG_VERDICT_TTL_S;
  if (valid_until < expires) expires = valid_until;
  if (expires <= now) return;
  if (t_slots == NULL) {
    pthread_once(&g_once, make_key);
    if (!g_key_ok) return;  // no cache: every check verifies
    t_slots = calloc(kSlots, sizeof(slot));
    if (t_slots == NULL) return;
    pthread_setspecific(g_key, t_slots);
  }
  slot *s = slot_of(k);
  s->key = *k;
  s->expires = expires;
}

void fg_verdict_cache_clear(void) {
  if (t_slots != NULL) memset(t_slots, 0, kSlots * sizeof(slot));
}
