// session_cache.c: the shared client session cache (see session_cache.h).
#include "crypto/session_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <xxhash.h>

#include "crypto/epoch.h"

// A ticket is one session offered for a key. TLS 1.3 sessions are used once
// each (RFC 8446 appendix C.4), so a key keeps several: every handshake the
// server answers brings fresh ones, and links opened together (several
// workers, a burst of reconnections) each find one.
typedef struct ticket {
  SSL_SESSION *session;
  int64_t expires_at;
  int single_use;
  _Atomic int used;  // a single-use session handed out already
  fg_tls_verdict verdict;
} ticket;

// An entry is a key's tickets, newest first. Entries are immutable: a new
// session publishes a new entry that carries the old one's unused tickets.
typedef struct entry {
  uint64_t hash;
  size_t n;
  ticket *t[FG_SESSION_CACHE_PER_KEY];
  size_t key_len;
  char key[];
} entry;

static void ticket_free(void *p) {
  ticket *t = p;
  if (t != NULL) SSL_SESSION_free(t->session);
  free(t);
}

// entry_free frees an entry and its tickets (evicted, removed).
static void entry_free(void *p) {
  entry *e = p;
  for (size_t i = 0; e != NULL && i < e->n; i++) ticket_free(e->t[i]);
  free(e);
}

// ticket_usable says whether |t| may be offered at |now|: not expired, and
// not handed out already if it may be used once only.
static int ticket_usable(const ticket *t, int64_t now) {
  return now < t->expires_at &&
         !(t->single_use && atomic_load_explicit(&t->used, memory_order_relaxed));
}

typedef struct bucket {
  _Atomic(entry *) way[FG_SESSION_CACHE_WAYS];
} bucket;

struct fg_session_cache {
  bucket *buckets;
  size_t mask;
  fg_epoch_domain *epoch;
  pthread_mutex_t write_mu;  // writers only
  uint64_t entries, inserts, replaces, evictions, removals;
};

fg_session_cache *fg_session_cache_new(size_t max_entries) {
  if (max_entries == 0) max_entries = FG_SESSION_CACHE_DEFAULT;
  fg_session_cache *c = calloc(1, sizeof(*c));
  if (c == NULL) return NULL;
  size_t n = 1;
  while (n * 2 * FG_SESSION_CACHE_WAYS <= max_entries) n <<= 1;
  c->buckets = calloc(n, sizeof(bucket));
  c->epoch = fg_epoch_domain_new();
  c->mask = n - 1;
  pthread_mutex_init(&c->write_mu, NULL);
  if (c->buckets == NULL || c->epoch == NULL) {
    fg_session_cache_free(c);
    return NULL;
  }
  return c;
}

void fg_session_cache_free(fg_session_cache *c) {
  if (c == NULL) return;
  for (size_t b = 0; c->buckets != NULL && b <= c->mask; b++) {
    for (int w = 0; w < FG_SESSION_CACHE_WAYS; w++) entry_free(atomic_load(&c->buckets[b].way[w]));
  }
  fg_epoch_domain_free(c->epoch);
  pthread_mutex_destroy(&c->write_mu);
  free(c->buckets);
  free(c);
}

static int key_is(const entry *e, uint64_t h, const char *key, size_t key_len) {
  return e != NULL && e->hash == h && e->key_len == key_len && memcmp(e->key, key, key_len) == 0;
}

// expiry is when |s| stops being worth offering: its lifetime, or the
// server's ticket lifetime hint when that is shorter (RFC 5077 §3.3, RFC 8446
// §4.6.1).
static int64_t expiry(const SSL_SESSION *s) {
  uint64_t life = SSL_SESSION_get_timeout(s);
  uint32_t hint = SSL_SESSION_get_ticket_lifetime_hint(s);
  if (hint != 0 && hint < life) life = hint;
  return (int64_t)SSL_SESSION_get_time(s) + (int64_t)life;
}

SSL_SESSION *fg_session_cache_get(fg_session_cache *c, const char *key, uint64_t scope, int64_t now,
                                  fg_tls_verdict *verdict_out) {
  size_t key_len = strlen(key);
  if (key_len == 0 || key_len > FG_SESSION_CACHE_KEY_MAX) return NULL;
  uint64_t h = XXH3_64bits(key, key_len);
  bucket *b = &c->buckets[h & c->mask];
  if (!fg_epoch_enter(c->epoch)) return NULL;
  SSL_SESSION *found = NULL;
  for (int w = 0; w < FG_SESSION_CACHE_WAYS; w++) {
    entry *e = atomic_load_explicit(&b->way[w], memory_order_acquire);
    if (!key_is(e, h, key, key_len)) continue;
    for (size_t i = 0; i < e->n && found == NULL; i++) {
      ticket *t = e->t[i];
      // A verdict reached under another trust store, other identity rules
      // or before a revocation was learned would carry trust the peer no
      // longer earns: such a session is not offered (a full handshake
      // verifies anew).
      if (now >= t->expires_at || t->verdict.scope != scope) continue;
      if (t->single_use && atomic_exchange_explicit(&t->used, 1, memory_order_relaxed)) continue;
      SSL_SESSION_up_ref(t->session);
      found = t->session;
      *verdict_out = t->verdict;
    }
    break;
  }
  fg_epoch_exit(c->epoch);
  return found;
}

// unlink_way empties |way| (writer, under write_mu) and retires its entry.
static void unlink_way(fg_session_cache *c, _Atomic(entry *) *way) {
  entry *old = atomic_exchange_explicit(way, NULL, memory_order_acq_rel);
  if (old == NULL) return;
  c->entries--;
  fg_epoch_retire(c->epoch, old, entry_free);
}

// victim picks the way of |b| a new key takes at |now|: an empty one, else
// one whose tickets are all used or expired, else the one whose newest
// ticket expires first.
static int victim(bucket *b, int64_t now) {
  int pick = 0;
  int64_t soonest = INT64_MAX;
  for (int w = 0; w < FG_SESSION_CACHE_WAYS; w++) {
    entry *e = atomic_load_explicit(&b->way[w], memory_order_relaxed);
    if (e == NULL) return w;
    int live = 0;
    for (size_t i = 0; i < e->n; i++) live |= ticket_usable(e->t[i], now);
    if (!live) return w;
    if (e->t[0]->expires_at < soonest) {
      soonest = e->t[0]->expires_at;
      pick = w;
    }
  }
  return pick;
}

int fg_session_cache_put(fg_session_cache *c, const char *key, SSL_SESSION *session,
                         const fg_tls_verdict *verdict, int64_t now) {
  size_t key_len = strlen(key);
  if (key_len == 0 || key_len > FG_SESSION_CACHE_KEY_MAX || !SSL_SESSION_is_resumable(session)) {
    return 0;
  }
  int64_t expires_at = expiry(session);
  if (expires_at <= now) return 0;
  ticket *t = calloc(1, sizeof(*t));
  entry *e = calloc(1, sizeof(entry) + key_len + 1);
  if (t == NULL || e == NULL) {
    free(t);
    free(e);
    return 0;
  }
  t->expires_at = expires_at;
  t->single_use = SSL_SESSION_should_be_single_use(session);
  t->verdict = *verdict;
  SSL_SESSION_up_ref(session);
  t->session = session;
  e->hash = XXH3_64bits(key, key_len);
  e->t[e->n++] = t;
  e->key_len = key_len;
  memcpy(e->key, key, key_len);
  bucket *b = &c->buckets[e->hash & c->mask];
  pthread_mutex_lock(&c->write_mu);
  int at = -1;
  for (int w = 0; w < FG_SESSION_CACHE_WAYS && at < 0; w++) {
    if (key_is(atomic_load_explicit(&b->way[w], memory_order_relaxed), e->hash, key, key_len)) {
      at = w;
    }
  }
  if (at < 0) {
    at = victim(b, now);
    if (atomic_load_explicit(&b->way[at], memory_order_relaxed) != NULL) c->evictions++;
    c->inserts++;
    unlink_way(c, &b->way[at]);
    atomic_store_explicit(&b->way[at], e, memory_order_release);
    c->entries++;
    pthread_mutex_unlock(&c->write_mu);
    return 1;
  }
  // The key's entry: single-use sessions join the unused ones still there
  // (newest first, the oldest beyond the bound dropped); a reusable session
  // (TLS 1.2) replaces them.
  entry *old = atomic_load_explicit(&b->way[at], memory_order_relaxed);
  ticket *dropped[FG_SESSION_CACHE_PER_KEY];
  size_t n_dropped = 0;
  for (size_t i = 0; i < old->n; i++) {
    ticket *o = old->t[i];
    if (t->single_use && o->single_use && ticket_usable(o, now) &&
        e->n < FG_SESSION_CACHE_PER_KEY) {
      e->t[e->n++] = o;
    } else {
      dropped[n_dropped++] = o;
    }
  }
  atomic_store_explicit(&b->way[at], e, memory_order_release);
  // Readers that still hold the old entry may reach its tickets until the
  // epoch moves on: both are retired now, after the new entry is published.
  fg_epoch_retire(c->epoch, old, free);
  for (size_t i = 0; i < n_dropped; i++) fg_epoch_retire(c->epoch, dropped[i], ticket_free);
  c->replaces++;
  pthread_mutex_unlock(&c->write_mu);
  return 1;
}

int fg_session_cache_remove(fg_session_cache *c, const char *key) {
  size_t key_len = strlen(key);
  if (key_len == 0 || key_len > FG_SESSION_CACHE_KEY_MAX) return 0;
  uint64_t h = XXH3_64bits(key, key_len);
  bucket *b = &c->buckets[h & c->mask];
  int found = 0;
  pthread_mutex_lock(&c->write_mu);
  for (int w = 0; w < FG_SESSION_CACHE_WAYS && !found; w++) {
    if (key_is(atomic_load_explicit(&b->way[w], memory_order_relaxed), h, key, key_len)) {
      unlink_way(c, &b->way[w]);
      c->removals++;
      found = 1;
    }
  }
  pthread_mutex_unlock(&c->write_mu);
  return found;
}

void fg_session_cache_stats_get(fg_session_cache *c, fg_session_cache_stats *out) {
  pthread_mutex_lock(&c->write_mu);
  out->capacity = (c->mask + 1) * FG_SESSION_CACHE_WAYS;
  out->entries = c->entries;
  out->inserts = c->inserts;
  out->replaces = c->replaces;
  out->evictions = c->evictions;
  out->removals = c->removals;
  out->retired_pending = fg_epoch_pending(c->epoch);
  pthread_mutex_unlock(&c->write_mu);
}
