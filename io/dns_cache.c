// dns_cache.c: the answer cache of io/dns: (type, name) -> rrset with an
// expiry time, in a chained hash under one mutex, evicting the oldest
// insertion when full. See dns_cache.h for how long each kind of answer stays.
#include "io/dns_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/timer.h"

struct fg_dns_cache_entry {
  fg_dns_cache_entry *hnext;
  fg_dns_cache_entry *older, *newer;
  uint64_t expires_ns;
  uint16_t type;
  fg_dns_rrset set;
  char name[FG_DNS_NAME_MAX + 2];
};

int fg_dns_cache_init(fg_dns_cache *c, size_t max_entries, uint32_t max_ttl_s,
                      uint32_t negative_ttl_s, uint32_t failure_ttl_s) {
  memset(c, 0, sizeof(*c));
  c->max_entries = max_entries;
  c->max_ttl_s = max_ttl_s;
  c->negative_ttl_s = negative_ttl_s;
  c->failure_ttl_s = failure_ttl_s;
  if (max_entries > 0) {
    c->n_buckets = max_entries < 64 ? 64 : max_entries;
    c->buckets = calloc(c->n_buckets, sizeof(fg_dns_cache_entry *));
    if (c->buckets == NULL) return 0;
  }
  pthread_mutex_init(&c->lock, NULL);
  return 1;
}

void fg_dns_cache_cleanup(fg_dns_cache *c) {
  if (c->buckets != NULL) fg_dns_cache_clear(c);
  free(c->buckets);
  c->buckets = NULL;
  pthread_mutex_destroy(&c->lock);
}

static int rrset_copy(fg_dns_rrset *dst, const fg_dns_rrset *src) {
  *dst = *src;
  dst->srv = NULL;
  dst->addr = NULL;
  dst->tlsa = NULL;
  if (src->srv != NULL) {
    dst->srv = malloc(src->n * sizeof(fg_dns_srv));
    if (dst->srv == NULL) return 0;
    memcpy(dst->srv, src->srv, src->n * sizeof(fg_dns_srv));
  }
  if (src->addr != NULL) {
    dst->addr = malloc(src->n * 16);
    if (dst->addr == NULL) return 0;
    memcpy(dst->addr, src->addr, src->n * 16);
  }
  if (src->tlsa != NULL) {
    dst->tlsa = malloc(sizeof(*dst->tlsa));
    if (dst->tlsa == NULL) return 0;
    if (!fg_dane_rrset_copy(dst->tlsa, src->tlsa)) {
      free(dst->tlsa);
      dst->tlsa = NULL;
      return 0;
    }
  }
  return 1;
}

static size_t cache_hash(const fg_dns_cache *c, const char *name, uint16_t type) {
  uint64_t h = 1469598103934665603ull ^ type;
  for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
  return (size_t)(h % c->n_buckets);
}

static void cache_unlink(fg_dns_cache *c, fg_dns_cache_entry *e) {
  fg_dns_cache_entry **pp = &c->buckets[cache_hash(c, e->name, e->type)];
  while (*pp != e) pp = &(*pp)->hnext;
  *pp = e->hnext;
  if (e->older)
    e->older->newer = e->newer;
  else
    c->oldest = e->newer;
  if (e->newer)
    e->newer->older = e->older;
  else
    c->newest = e->older;
  c->n_entries--;
  fg_dns_rrset_cleanup(&e->set);
  free(e);
}

int fg_dns_cache_get(fg_dns_cache *c, const char *name, uint16_t type, fg_dns_rrset *out) {
  if (c->n_buckets == 0) return 0;
  int hit = 0;
  uint64_t now = fg_clock_ns();
  pthread_mutex_lock(&c->lock);
  fg_dns_cache_entry *e = c->buckets[cache_hash(c, name, type)];
  while (e != NULL && !(e->type == type && strcmp(e->name, name) == 0)) e = e->hnext;
  if (e != NULL && e->expires_ns <= now) {
    cache_unlink(c, e);
  } else if (e != NULL && rrset_copy(out, &e->set)) {
    out->ttl = (uint32_t)((e->expires_ns - now + 999999999ull) / 1000000000ull);
    hit = 1;
  } else if (e != NULL) {
    fg_dns_rrset_cleanup(out);
  }
  pthread_mutex_unlock(&c->lock);
  return hit;
}

static uint32_t ttl_for(const fg_dns_cache *c, const fg_dns_rrset *s) {
  switch (s->status) {
    case FG_DNS_RS_OK:
      return s->ttl < c->max_ttl_s ? s->ttl : c->max_ttl_s;
    case FG_DNS_RS_NXDOMAIN:
    case FG_DNS_RS_NODATA:
      return c->negative_ttl_s;
    case FG_DNS_RS_TIMEOUT:
    case FG_DNS_RS_SERVFAIL:
      return c->failure_ttl_s;
    case FG_DNS_RS_CANCELLED:
      break;
  }
  return 0;
}

void fg_dns_cache_put(fg_dns_cache *c, const char *name, uint16_t type, const fg_dns_rrset *s) {
  uint32_t ttl = ttl_for(c, s);
  if (c->n_buckets == 0 || ttl == 0) return;
  fg_dns_cache_entry *n = calloc(1, sizeof(*n));
  if (n == NULL) return;
  if (!rrset_copy(&n->set, s)) {
    fg_dns_rrset_cleanup(&n->set);
    free(n);
    return;
  }
  n->set.ttl = ttl;
  n->type = type;
  snprintf(n->name, sizeof(n->name), "%s", name);
  n->expires_ns = fg_clock_ns() + (uint64_t)ttl * 1000000000ull;
  pthread_mutex_lock(&c->lock);
  size_t b = cache_hash(c, name, type);
  for (fg_dns_cache_entry *e = c->buckets[b]; e != NULL; e = e->hnext) {
    if (e->type == type && strcmp(e->name, name) == 0) {
      cache_unlink(c, e);
      break;
    }
  }
  // Full: drop the oldest insertion (FIFO). Entries are short-lived and of
  // similar value; an LRU would need a write on every hit.
  while (c->n_entries >= c->max_entries && c->oldest != NULL) {
    cache_unlink(c, c->oldest);
  }
  n->hnext = c->buckets[b];
  c->buckets[b] = n;
  n->older = c->newest;
  if (c->newest)
    c->newest->newer = n;
  else
    c->oldest = n;
  c->newest = n;
  c->n_entries++;
  pthread_mutex_unlock(&c->lock);
}

void fg_dns_cache_clear(fg_dns_cache *c) {
  pthread_mutex_lock(&c->lock);
  while (c->oldest != NULL) cache_unlink(c, c->oldest);
  pthread_mutex_unlock(&c->lock);
}
