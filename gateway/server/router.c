// router.c: two open-addressing hash tables (exact names, wildcard suffixes)
// keyed by XXH3-64 of the lowercase name, plus per-address atomic health.
#include "gateway/server/router.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>
#include <xxhash.h>

// Longest name looked up: a DNS name is at most 253 bytes in A-labels; the
// U-label spelling of one can be longer (up to 4 bytes per character).
#define MAX_NAME 1024

typedef struct entry {
  uint64_t hash;
  char *name;
  size_t len;
  size_t backend;
} entry;

typedef struct table {
  entry *slots;  // name == NULL: empty
  size_t mask;   // capacity - 1 (a power of two)
  size_t count;
} table;

typedef struct rbackend {
  char *name;
  size_t n_addresses;
  size_t first;  // index of its first address in fg_router.addresses
} rbackend;

typedef struct raddr {
  char *host;
  uint16_t port;
  uint64_t seed;  // XXH3-64 of "host:port"
} raddr;

struct fg_router {
  table exact;
  table wildcard;
  rbackend *backends;
  size_t n_backends;
  raddr *addresses;
  size_t n_addresses;
  _Atomic(uint8_t) *up;           // one per address
  _Atomic(uint8_t) *drained;      // one per address: the operator's drain
  _Atomic uint64_t health_epoch;  // bumped whenever an address changes health
};

static char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

static int table_init(table *t, size_t n) {
  size_t cap = 8;
  while (cap < 2 * n + 1) cap <<= 1;  // load factor below one half
  t->slots = calloc(cap, sizeof(entry));
  t->mask = cap - 1;
  t->count = 0;
  return t->slots != NULL;
}

static void table_free(table *t) {
  if (t->slots == NULL) return;
  for (size_t i = 0; i <= t->mask; i++) free(t->slots[i].name);
  free(t->slots);
}

static const entry *table_find(const table *t, const char *name, size_t len, uint64_t h) {
  for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
    const entry *e = &t->slots[i];
    if (e->name == NULL) return NULL;
    if (e->hash == h && e->len == len && memcmp(e->name, name, len) == 0) return e;
  }
}

// table_add inserts a lowercase name; a name already present keeps its first
// backend (the config rejects duplicates; U-label aliases never override).
static int table_add(table *t, const char *name, size_t len, size_t backend) {
  uint64_t h = XXH3_64bits(name, len);
  if (table_find(t, name, len, h) != NULL) return 1;
  size_t i = h & t->mask;
  while (t->slots[i].name != NULL) i = (i + 1) & t->mask;
  char *copy = malloc(len + 1);
  if (copy == NULL) return 0;
  memcpy(copy, name, len);
  copy[len] = 0;
  t->slots[i] = (entry){h, copy, len, backend};
  t->count++;
  return 1;
}

// add_name indexes |name| and, for an IDN, its canonical U-label spelling.
static int add_name(table *t, const char *name, size_t backend) {
  char buf[MAX_NAME];
  size_t len = strlen(name);
  if (len == 0 || len > 253) return 0;
  for (size_t i = 0; i < len; i++) buf[i] = lower(name[i]);
  if (!table_add(t, buf, len, backend)) return 0;
  if (strstr(buf, "xn--") == NULL) return 1;
  char *u = NULL;
  buf[len] = 0;
  if (idn2_to_unicode_8z8z(buf, &u, 0) == IDN2_OK && u != NULL && strlen(u) < MAX_NAME) {
    size_t ulen = strlen(u);
    for (size_t i = 0; i < ulen; i++) u[i] = lower(u[i]);
    int ok = table_add(t, u, ulen, backend);
    idn2_free(u);
    return ok;
  }
  idn2_free(u);
  return 1;  // no U-label spelling: the A-label entry alone serves
}

fg_router *fg_router_new(const fg_config *cfg) {
  fg_router *r = calloc(1, sizeof(*r));
  if (r == NULL) return NULL;
  size_t n_exact = 0, n_wild = 0;
  for (size_t i = 0; i < cfg->n_domains; i++) {
    if (cfg->domains[i].wildcard)
      n_wild++;
    else
      n_exact++;
  }
  // Twice the entries: room for the U-label spellings.
  if (!table_init(&r->exact, 2 * n_exact) || !table_init(&r->wildcard, 2 * n_wild)) goto fail;
  r->n_backends = cfg->n_backends;
  r->backends = calloc(cfg->n_backends + 1, sizeof(rbackend));
  if (r->backends == NULL) goto fail;
  for (size_t b = 0; b < cfg->n_backends; b++) r->n_addresses += cfg->backends[b].n_addresses;
  r->addresses = calloc(r->n_addresses + 1, sizeof(raddr));
  r->up = calloc(r->n_addresses + 1, sizeof(*r->up));
  r->drained = calloc(r->n_addresses + 1, sizeof(*r->drained));
  if (r->addresses == NULL || r->up == NULL || r->drained == NULL) goto fail;
  size_t k = 0;
  for (size_t b = 0; b < cfg->n_backends; b++) {
    const fg_config_backend *cb = &cfg->backends[b];
    r->backends[b].name = strdup(cb->name != NULL ? cb->name : "");
    if (r->backends[b].name == NULL) goto fail;
    r->backends[b].first = k;
    r->backends[b].n_addresses = cb->n_addresses;
    for (size_t a = 0; a < cb->n_addresses; a++, k++) {
      char hp[600];
      int n = snprintf(hp, sizeof(hp), "%s:%u", cb->addresses[a].host, cb->addresses[a].port);
      if (n < 0 || (size_t)n >= sizeof(hp)) goto fail;
      r->addresses[k].host = strdup(cb->addresses[a].host);
      if (r->addresses[k].host == NULL) goto fail;
      r->addresses[k].port = cb->addresses[a].port;
      r->addresses[k].seed = XXH3_64bits(hp, (size_t)n);
      atomic_init(&r->up[k], 1);
    }
  }
  for (size_t i = 0; i < cfg->n_domains; i++) {
    const fg_config_domain *d = &cfg->domains[i];
    if (d->backend >= cfg->n_backends) goto fail;
    if (!add_name(d->wildcard ? &r->wildcard : &r->exact, d->name, d->backend)) goto fail;
  }
  return r;
fail:
  fg_router_free(r);
  return NULL;
}

void fg_router_free(fg_router *r) {
  if (r == NULL) return;
  table_free(&r->exact);
  table_free(&r->wildcard);
  if (r->backends != NULL) {
    for (size_t b = 0; b < r->n_backends; b++) free(r->backends[b].name);
  }
  if (r->addresses != NULL) {
    for (size_t a = 0; a < r->n_addresses; a++) free(r->addresses[a].host);
  }
  free(r->backends);
  free(r->addresses);
  free((void *)r->up);
  free((void *)r->drained);
  free(r);
}

// normalize lowercases |domain| into |buf| and strips one trailing dot
// (RFC 7622 §3.2). It returns the length, or 0 when the name is unusable.
static size_t normalize(char buf[MAX_NAME], const char *domain, size_t len) {
  if (domain == NULL) return 0;
  if (len > 0 && domain[len - 1] == '.') len--;
  if (len == 0 || len >= MAX_NAME) return 0;
  for (size_t i = 0; i < len; i++) buf[i] = lower(domain[i]);
  return len;
}

static const entry *lookup(const fg_router *r, const char *buf, size_t len) {
  const entry *e = table_find(&r->exact, buf, len, XXH3_64bits(buf, len));
  if (e != NULL || r->wildcard.count == 0) return e;
  // Suffixes after each dot, longest first: the first hit is the longest match.
  for (size_t i = 0; i + 1 < len; i++) {
    if (buf[i] != '.') continue;
    const char *suffix = buf + i + 1;
    size_t slen = len - i - 1;
    e = table_find(&r->wildcard, suffix, slen, XXH3_64bits(suffix, slen));
    if (e != NULL) return e;
  }
  return NULL;
}

int fg_router_lookup(const fg_router *r, const char *domain, size_t len, size_t *backend) {
  char buf[MAX_NAME];
  size_t n = normalize(buf, domain, len);
  if (n == 0) return 0;
  const entry *e = lookup(r, buf, n);
  if (e == NULL) return 0;
  *backend = e->backend;
  return 1;
}

fg_route_result fg_router_route(const fg_router *r, const char *domain, size_t len, fg_route *out) {
  char buf[MAX_NAME];
  size_t n = normalize(buf, domain, len);
  const entry *e = n == 0 ? NULL : lookup(r, buf, n);
  if (e == NULL) return FG_ROUTE_NOT_HOSTED;
  const rbackend *b = &r->backends[e->backend];
  out->backend = e->backend;
  out->backend_name = b->name;
  size_t best = SIZE_MAX, undrained = 0;
  uint64_t best_score = 0;
  for (size_t a = 0; a < b->n_addresses; a++) {
    size_t k = b->first + a;
    if (atomic_load_explicit(&r->drained[k], memory_order_relaxed)) continue;
    undrained++;
    if (!atomic_load_explicit(&r->up[k], memory_order_relaxed)) continue;
    uint64_t score = XXH3_64bits_withSeed(buf, n, r->addresses[k].seed);
    if (best == SIZE_MAX || score > best_score) {
      best = a;
      best_score = score;
    }
  }
  if (best == SIZE_MAX) return undrained == 0 ? FG_ROUTE_DRAINED : FG_ROUTE_BACKEND_DOWN;
  out->address = best;
  out->host = r->addresses[b->first + best].host;
  out->port = r->addresses[b->first + best].port;
  return FG_ROUTE_OK;
}

// flip sets |flag| to |v|; a change moves the health epoch (routes chosen
// before are chosen again).
static int flip(fg_router *r, _Atomic(uint8_t) *flag, uint8_t v) {
  if (atomic_exchange_explicit(flag, v, memory_order_relaxed) == v) return 0;
  atomic_fetch_add_explicit(&r->health_epoch, 1, memory_order_release);
  return 1;
}

static int set_up(const fg_router *r, size_t backend, size_t address, uint8_t v) {
  if (r == NULL || backend >= r->n_backends || address >= r->backends[backend].n_addresses) {
    return 0;
  }
  flip((fg_router *)r, &r->up[r->backends[backend].first + address], v);
  return 1;
}

uint64_t fg_router_health_epoch(const fg_router *r) {
  return atomic_load_explicit(&((fg_router *)r)->health_epoch, memory_order_acquire);
}

int fg_router_mark_down(fg_router *r, size_t backend, size_t address) {
  return set_up(r, backend, address, 0);
}

int fg_router_mark_up(fg_router *r, size_t backend, size_t address) {
  return set_up(r, backend, address, 1);
}

int fg_router_is_up(const fg_router *r, size_t backend, size_t address) {
  if (r == NULL || backend >= r->n_backends || address >= r->backends[backend].n_addresses) {
    return 0;
  }
  return atomic_load_explicit(&r->up[r->backends[backend].first + address], memory_order_relaxed);
}

int fg_router_set_drained(fg_router *r, size_t backend, size_t address, int drained) {
  if (r == NULL || backend >= r->n_backends) return 0;
  const rbackend *b = &r->backends[backend];
  if (address != SIZE_MAX && address >= b->n_addresses) return 0;
  for (size_t a = 0; a < b->n_addresses; a++) {
    if (address == SIZE_MAX || a == address) flip(r, &r->drained[b->first + a], drained ? 1 : 0);
  }
  return 1;
}

int fg_router_is_drained(const fg_router *r, size_t backend, size_t address) {
  if (r == NULL || backend >= r->n_backends || address >= r->backends[backend].n_addresses) {
    return 0;
  }
  return atomic_load_explicit(&r->drained[r->backends[backend].first + address],
                              memory_order_relaxed);
}

size_t fg_router_backend_count(const fg_router *r) {
  return r->n_backends;
}

int fg_router_backend_find(const fg_router *r, const char *name, size_t *backend) {
  for (size_t b = 0; b < r->n_backends; b++) {
    if (strcmp(r->backends[b].name, name) != 0) continue;
    *backend = b;
    return 1;
  }
  return 0;
}

const char *fg_router_backend_name(const fg_router *r, size_t backend) {
  return backend < r->n_backends ? r->backends[backend].name : NULL;
}

size_t fg_router_address_count(const fg_router *r, size_t backend) {
  return backend < r->n_backends ? r->backends[backend].n_addresses : 0;
}

int fg_router_address(const fg_router *r, size_t backend, size_t address, const char **host,
                      uint16_t *port) {
  if (backend >= r->n_backends || address >= r->backends[backend].n_addresses) return 0;
  const raddr *a = &r->addresses[r->backends[backend].first + address];
  *host = a->host;
  *port = a->port;
  return 1;
}

size_t fg_router_domain_count(const fg_router *r) {
  return r->exact.count + r->wildcard.count;
}
