// ip_limits.c: streams per source address (see ip_limits.h): a chained hash
// table under one mutex, keyed by the exact address bytes; the bucket hash
// is seeded with a random secret so that nobody can aim at one bucket.
#include "gateway/server/ip_limits.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <xxhash.h>

#include "io/addr_policy.h"

enum { kBuckets = 4096 };

typedef struct counted {
  struct counted *next;
  uint8_t key[17];  // family byte, then 4 or 16 address bytes
  unsigned open;
} counted;

struct fg_ip_limits {
  pthread_mutex_t mu;
  unsigned v6_prefix;
  uint64_t seed;
  size_t tracked;
  counted *buckets[kBuckets];
};

fg_ip_limits *fg_ip_limits_new(unsigned ipv6_prefix) {
  fg_ip_limits *l = calloc(1, sizeof(*l));
  if (l == NULL) return NULL;
  pthread_mutex_init(&l->mu, NULL);
  l->v6_prefix = ipv6_prefix == 0 || ipv6_prefix > 128 ? 128 : ipv6_prefix;
  RAND_bytes((uint8_t *)&l->seed, sizeof(l->seed));
  return l;
}

void fg_ip_limits_free(fg_ip_limits *l) {
  if (l == NULL) return;
  for (size_t b = 0; b < kBuckets; b++) {
    for (counted *c = l->buckets[b], *n; c != NULL; c = n) {
      n = c->next;
      free(c);
    }
  }
  pthread_mutex_destroy(&l->mu);
  free(l);
}

// key_of writes |sa|'s key: its family's length byte, then its budget key
// (io/addr_policy.h). It returns 0 for other families.
static int key_of(const fg_ip_limits *l, const struct sockaddr *sa, uint8_t key[17]) {
  size_t n = fg_addr_budget_key(sa, l->v6_prefix, key + 1);
  key[0] = (uint8_t)n;
  return n != 0;
}

static counted **find(fg_ip_limits *l, const uint8_t key[17]) {
  counted **pp = &l->buckets[XXH3_64bits_withSeed(key, 17, l->seed) % kBuckets];
  while (*pp != NULL && memcmp((*pp)->key, key, 17) != 0) pp = &(*pp)->next;
  return pp;
}

int fg_ip_limits_acquire(fg_ip_limits *l, const struct sockaddr *sa, unsigned max, unsigned *open) {
  uint8_t key[17];
  if (!key_of(l, sa, key)) {
    if (open != NULL) *open = 1;
    return 1;  // not an IP connection: nothing to count
  }
  pthread_mutex_lock(&l->mu);
  counted **pp = find(l, key);
  unsigned now = *pp != NULL ? (*pp)->open : 0;
  if (open != NULL) *open = now + 1;
  int ok = now < max;
  if (ok && *pp == NULL) {
    counted *c = calloc(1, sizeof(*c));
    if (c == NULL) {
      ok = 0;  // out of memory: refuse rather than lose count
    } else {
      memcpy(c->key, key, sizeof(c->key));
      *pp = c;
      l->tracked++;
    }
  }
  if (ok) (*pp)->open++;
  pthread_mutex_unlock(&l->mu);
  return ok;
}

void fg_ip_limits_release(fg_ip_limits *l, const struct sockaddr *sa) {
  uint8_t key[17];
  if (!key_of(l, sa, key)) return;
  pthread_mutex_lock(&l->mu);
  counted **pp = find(l, key);
  if (*pp != NULL && --(*pp)->open == 0) {
    counted *c = *pp;
    *pp = c->next;
    free(c);
    l->tracked--;
  }
  pthread_mutex_unlock(&l->mu);
}

size_t fg_ip_limits_tracked(fg_ip_limits *l) {
  pthread_mutex_lock(&l->mu);
  size_t n = l->tracked;
  pthread_mutex_unlock(&l->mu);
  return n;
}
