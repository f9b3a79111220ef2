// blocklist.c: sharded immutable hash tables behind one atomic pointer
// (gateway/policy/blocklist.h).
#include "gateway/policy/blocklist.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <xxhash.h>

#include "crypto/epoch.h"
#include "io/dns_name.h"

// SHARDS tables; a change rebuilds one (1/256 of the list).
#define SHARDS 256

typedef struct bl_entry {
  uint64_t hash;  // keyed hash of (kind, key); its top byte picks the shard
  uint32_t key_off, reason_off;
  uint16_t key_len, reason_len;
  uint8_t kind, source;
} bl_entry;

// shard is one immutable open-addressing table in a single allocation:
// this header, the slots, the entries, then the strings.
typedef struct shard {
  uint32_t n;
  uint32_t mask;  // slots - 1
  size_t bytes;   // the allocation
  uint32_t *slots;
  bl_entry *entries;
  char *strings;
} shard;

typedef struct table {
  shard *shards[SHARDS];
} table;

struct fg_blocklist {
  _Atomic(table *) cur;
  fg_epoch_domain *epoch;
  pthread_mutex_t mu;  // writers
  uint64_t seed;
  _Atomic uint64_t generation;
  _Atomic size_t n_jid;
  // Source names, append-only: an id is published (in an entry) only after
  // its name is written, and names never change.
  char *sources[FG_BLOCK_SOURCES_MAX];
  size_t n_sources;
};

// view is an entry being placed into a new shard.
typedef struct view {
  uint64_t hash;
  uint8_t kind, source;
  const char *key, *reason;
  size_t key_len, reason_len;
} view;

static uint64_t key_hash(const fg_blocklist *bl, fg_block_kind kind, const char *key, size_t len) {
  return XXH3_64bits_withSeed(key, len, bl->seed + 0x9E3779B97F4A7C15ull * (uint64_t)(kind + 1));
}

static unsigned shard_of(uint64_t h) {
  return (unsigned)(h >> 56);
}

static const char *entry_key(const shard *s, const bl_entry *e) {
  return s->strings + e->key_off;
}

static int same_entry(const view *v, const view *w) {
  return v->hash == w->hash && v->kind == w->kind && v->source == w->source &&
         v->key_len == w->key_len && memcmp(v->key, w->key, v->key_len) == 0;
}

static view view_of(const shard *s, const bl_entry *e) {
  view v = {e->hash,    e->kind,      e->source, entry_key(s, e), s->strings + e->reason_off,
            e->key_len, e->reason_len};
  return v;
}

// shard_build makes a shard holding |v| (the first of duplicates kept), or
// sets |*oom| and returns NULL; NULL without |*oom| for an empty shard.
static shard *shard_build(const view *v, size_t n, int *oom) {
  if (n == 0) return NULL;
  uint32_t slots = 4;
  while (slots < 2 * n) slots <<= 1;
  size_t strings = 1;  // strings[0] = "": the empty reason
  for (size_t i = 0; i < n; i++)
    strings += v[i].key_len + 1 + (v[i].reason_len ? v[i].reason_len + 1 : 0);
  size_t bytes = sizeof(shard) + slots * sizeof(uint32_t) + n * sizeof(bl_entry) + strings;
  shard *s = calloc(1, bytes);
  if (s == NULL) {
    *oom = 1;
    return NULL;
  }
  s->bytes = bytes;
  s->mask = slots - 1;
  s->slots = (uint32_t *)(s + 1);
  s->entries = (bl_entry *)(s->slots + slots);
  s->strings = (char *)(s->entries + n);
  size_t str = 1;
  for (size_t i = 0; i < n; i++) {
    uint32_t at = (uint32_t)(v[i].hash & s->mask);
    int dup = 0;
    for (; s->slots[at] != 0; at = (at + 1) & s->mask) {
      view w = view_of(s, &s->entries[s->slots[at] - 1]);
      if (same_entry(&v[i], &w)) {
        dup = 1;
        break;
      }
    }
    if (dup) continue;
    bl_entry *e = &s->entries[s->n];
    e->hash = v[i].hash;
    e->kind = v[i].kind;
    e->source = v[i].source;
    e->key_len = (uint16_t)v[i].key_len;
    e->key_off = (uint32_t)str;
    memcpy(s->strings + str, v[i].key, v[i].key_len);
    str += v[i].key_len + 1;
    if (v[i].reason_len) {
      e->reason_len = (uint16_t)v[i].reason_len;
      e->reason_off = (uint32_t)str;
      memcpy(s->strings + str, v[i].reason, v[i].reason_len);
      str += v[i].reason_len + 1;
    }
    s->slots[at] = ++s->n;
  }
  return s;
}

static void free_ptr(void *p) {
  free(p);
}

fg_blocklist *fg_blocklist_new(void) {
  fg_blocklist *bl = calloc(1, sizeof(*bl));
  table *t = calloc(1, sizeof(*t));
  if (bl == NULL || t == NULL || (bl->epoch = fg_epoch_domain_new()) == NULL) {
    free(bl);
    free(t);
    return NULL;
  }
  if (getrandom(&bl->seed, sizeof(bl->seed), 0) != (ssize_t)sizeof(bl->seed))
    bl->seed = (uint64_t)(uintptr_t)bl ^ 0xA5A5A5A5DEADBEEFull;
  pthread_mutex_init(&bl->mu, NULL);
  atomic_init(&bl->cur, t);
  return bl;
}

void fg_blocklist_free(fg_blocklist *bl) {
  if (bl == NULL) return;
  table *t = atomic_load(&bl->cur);
  for (int i = 0; i < SHARDS; i++) free(t->shards[i]);
  free(t);
  fg_epoch_domain_free(bl->epoch);
  for (size_t i = 0; i < bl->n_sources; i++) free(bl->sources[i]);
  pthread_mutex_destroy(&bl->mu);
  free(bl);
}

// --- keys -----------------------------------------------------------------

static int is_hex_digest(const char *s) {
  size_t i = 0;
  for (; s[i] != 0; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return 0;
  }
  return i == 64;
}

int fg_block_parse_key(const char *text, fg_block_kind *kind, char *key, const char **err) {
  const char *why = NULL;
  if (text == NULL || text[0] == 0) {
    why = "empty entry";
  } else if (is_hex_digest(text)) {
    *kind = FG_BLOCK_JID_SHA256;
    for (int i = 0; i <= 64; i++)
      key[i] = (char)(text[i] >= 'A' && text[i] <= 'F' ? text[i] + 32 : text[i]);
  } else if (text[0] == '*' && text[1] == '.') {
    *kind = FG_BLOCK_DOMAIN_SUFFIX;
    if (!fg_dns_name_normalize(key, text + 2)) why = "not a valid domain after '*.'";
  } else if (strchr(text, '*') != NULL) {
    why = "a wildcard must be the whole first label ('*.example')";
  } else {
    *kind = FG_BLOCK_DOMAIN;
    if (!fg_dns_name_normalize(key, text))
      why = "not a valid domain (LDH labels; convert U-labels to A-labels) or SHA-256 hex digest";
  }
  if (err != NULL) *err = why;
  return why == NULL;
}

static int key_valid(fg_block_kind kind, const char *key) {
  char norm[FG_BLOCK_KEY_MAX + 1];
  fg_block_kind k;
  if (kind == FG_BLOCK_DOMAIN_SUFFIX) {
    if (!fg_dns_name_normalize(norm, key)) return 0;
    return strcmp(norm, key) == 0;
  }
  if (!fg_block_parse_key(key, &k, norm, NULL) || k != kind) return 0;
  return strcmp(norm, key) == 0;
}

void fg_blocklist_jid_digest(const char *bare_jid, char hex[65]) {
  uint8_t d[SHA256_DIGEST_LENGTH];
  SHA256((const uint8_t *)bare_jid, strlen(bare_jid), d);
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
    hex[2 * i] = kHex[d[i] >> 4];
    hex[2 * i + 1] = kHex[d[i] & 15];
  }
  hex[64] = 0;
}

// --- writers (under bl->mu) -------------------------------------------------

// source_id finds or adds |name|; -1 when invalid or full.
static int source_id(fg_blocklist *bl, const char *name, int add) {
  size_t len = name != NULL ? strlen(name) : 0;
  if (len == 0 || len > FG_BLOCK_SOURCE_MAX) return -1;
  for (size_t i = 0; i < bl->n_sources; i++)
    if (strcmp(bl->sources[i], name) == 0) return (int)i;
  if (!add || bl->n_sources == FG_BLOCK_SOURCES_MAX) return -1;
  char *copy = strdup(name);
  if (copy == NULL) return -1;
  bl->sources[bl->n_sources] = copy;
  return (int)bl->n_sources++;
}

// publish swaps in |t|, filled as a copy of the current table with |fresh|
// replacing the marked shards, and retires what readers may still hold.
static void publish(fg_blocklist *bl, table *t, shard *const *fresh, const uint8_t *changed) {
  table *old = atomic_load(&bl->cur);
  for (int i = 0; i < SHARDS; i++) t->shards[i] = changed[i] ? fresh[i] : old->shards[i];
  atomic_store_explicit(&bl->cur, t, memory_order_release);
  atomic_fetch_add(&bl->generation, 1);
  for (int i = 0; i < SHARDS; i++)
    if (changed[i] && old->shards[i] != NULL) fg_epoch_retire(bl->epoch, old->shards[i], free_ptr);
  fg_epoch_retire(bl->epoch, old, free_ptr);
  fg_epoch_reclaim(bl->epoch);
}

static size_t count_jid(const table *t) {
  size_t n = 0;
  for (int i = 0; i < SHARDS; i++) {
    const shard *s = t->shards[i];
    for (uint32_t k = 0; s != NULL && k < s->n; k++) n += s->entries[k].kind == FG_BLOCK_JID_SHA256;
  }
  return n;
}

// change_one rebuilds the shard of (kind, key): without the entry of
// |source|, and with it again (new reason) when |add|. It returns 1, 0 when
// removing something absent, -1 when out of memory.
static int change_one(fg_blocklist *bl, fg_block_kind kind, const char *key, int src,
                      const char *reason, int add) {
  view me = {key_hash(bl, kind, key, strlen(key)),
             (uint8_t)kind,
             (uint8_t)src,
             key,
             reason != NULL ? reason : "",
             strlen(key),
             0};
  if (reason != NULL) {
    me.reason_len = strlen(reason);
    if (me.reason_len > FG_BLOCK_REASON_MAX) me.reason_len = FG_BLOCK_REASON_MAX;
  }
  unsigned si = shard_of(me.hash);
  table *cur = atomic_load(&bl->cur);
  const shard *old = cur->shards[si];
  size_t n_old = old != NULL ? old->n : 0;
  view *v = malloc((n_old + 1) * sizeof(view));
  if (v == NULL) return -1;
  size_t n = 0;
  int found = 0;
  if (add) v[n++] = me;
  for (size_t k = 0; k < n_old; k++) {
    view w = view_of(old, &old->entries[k]);
    if (same_entry(&me, &w)) {
      found = 1;
      continue;
    }
    v[n++] = w;
  }
  if (!add && !found) {
    free(v);
    return 0;
  }
  int oom = 0;
  shard *fresh[SHARDS] = {0};
  uint8_t changed[SHARDS] = {0};
  table *t = malloc(sizeof(*t));
  fresh[si] = t != NULL ? shard_build(v, n, &oom) : NULL;
  free(v);
  if (t == NULL || oom) {
    free(t);
    return -1;
  }
  changed[si] = 1;
  publish(bl, t, fresh, changed);
  if (kind == FG_BLOCK_JID_SHA256) atomic_store(&bl->n_jid, count_jid(atomic_load(&bl->cur)));
  return 1;
}

int fg_blocklist_add(fg_blocklist *bl, fg_block_kind kind, const char *key, const char *source,
                     const char *reason) {
  if (key == NULL || !key_valid(kind, key)) return 0;
  pthread_mutex_lock(&bl->mu);
  int src = source_id(bl, source, 1);
  int r = src < 0 ? 0 : change_one(bl, kind, key, src, reason, 1);
  pthread_mutex_unlock(&bl->mu);
  return r;
}

int fg_blocklist_remove(fg_blocklist *bl, fg_block_kind kind, const char *key, const char *source) {
  if (key == NULL || !key_valid(kind, key)) return 0;
  pthread_mutex_lock(&bl->mu);
  int src = source_id(bl, source, 0);
  int r = src < 0 ? 0 : change_one(bl, kind, key, src, NULL, 0);
  pthread_mutex_unlock(&bl->mu);
  return r;
}

int fg_blocklist_replace_source(fg_blocklist *bl, const char *source, const fg_block_entry *entries,
                                size_t n) {
  for (size_t i = 0; i < n; i++)
    if (entries[i].key == NULL || !key_valid(entries[i].kind, entries[i].key)) return 0;
  pthread_mutex_lock(&bl->mu);
  int r = 1;
  int src = source_id(bl, source, 1);
  table *cur = atomic_load(&bl->cur);
  // New entries by shard: counting sort of their indices.
  uint64_t *hash = malloc((n + 1) * sizeof(uint64_t));
  size_t *order = malloc((n + 1) * sizeof(size_t));
  size_t start[SHARDS + 1] = {0};
  shard *fresh[SHARDS] = {0};
  uint8_t changed[SHARDS] = {0};
  view *v = NULL;
  table *t = malloc(sizeof(*t));
  if (src < 0) r = 0;
  if (hash == NULL || order == NULL || t == NULL) r = -1;
  if (r != 1) goto out;
  for (size_t i = 0; i < n; i++) {
    hash[i] = key_hash(bl, entries[i].kind, entries[i].key, strlen(entries[i].key));
    start[shard_of(hash[i]) + 1]++;
  }
  for (int s = 0; s < SHARDS; s++) start[s + 1] += start[s];
  size_t fill[SHARDS];
  memcpy(fill, start, sizeof(fill));
  for (size_t i = 0; i < n; i++) order[fill[shard_of(hash[i])]++] = i;
  for (int s = 0; s < SHARDS && r == 1; s++) {
    const shard *old = cur->shards[s];
    size_t n_old = old != NULL ? old->n : 0, n_new = start[s + 1] - start[s];
    int had = 0;
    for (size_t k = 0; k < n_old && !had; k++) had = old->entries[k].source == src;
    if (!had && n_new == 0) continue;
    free(v);
    v = malloc((n_old + n_new + 1) * sizeof(view));
    if (v == NULL) {
      r = -1;
      break;
    }
    size_t m = 0;
    for (size_t j = start[s]; j < start[s + 1]; j++) {
      const fg_block_entry *e = &entries[order[j]];
      size_t rl = e->reason != NULL ? strlen(e->reason) : 0;
      view w = {hash[order[j]],
                (uint8_t)e->kind,
                (uint8_t)src,
                e->key,
                e->reason ? e->reason : "",
                strlen(e->key),
                rl > FG_BLOCK_REASON_MAX ? FG_BLOCK_REASON_MAX : rl};
      v[m++] = w;
    }
    for (size_t k = 0; k < n_old; k++)
      if (old->entries[k].source != src) v[m++] = view_of(old, &old->entries[k]);
    int oom = 0;
    fresh[s] = shard_build(v, m, &oom);
    if (oom) r = -1;
    changed[s] = 1;
  }
  if (r == 1) {
    publish(bl, t, fresh, changed);
    t = NULL;
    atomic_store(&bl->n_jid, count_jid(atomic_load(&bl->cur)));
  } else {
    for (int s = 0; s < SHARDS; s++) free(fresh[s]);
  }
out:
  free(t);
  free(v);
  free(hash);
  free(order);
  pthread_mutex_unlock(&bl->mu);
  return r;
}

// --- readers ----------------------------------------------------------------

static void fill_match(const fg_blocklist *bl, const shard *s, const bl_entry *e,
                       fg_block_match *out) {
  if (out == NULL) return;
  out->kind = (fg_block_kind)e->kind;
  size_t off = 0;
  if (e->kind == FG_BLOCK_DOMAIN_SUFFIX) {
    memcpy(out->key, "*.", 2);
    off = 2;
  }
  size_t kl = e->key_len;
  if (kl > FG_BLOCK_KEY_MAX - off) kl = FG_BLOCK_KEY_MAX - off;
  memcpy(out->key + off, entry_key(s, e), kl);
  out->key[off + kl] = 0;
  snprintf(out->source, sizeof(out->source), "%s", bl->sources[e->source]);
  memcpy(out->reason, s->strings + e->reason_off, e->reason_len);
  out->reason[e->reason_len] = 0;
}

// find looks (kind, key) up in |t|: the first entry of any source.
static int find(const fg_blocklist *bl, const table *t, fg_block_kind kind, const char *key,
                size_t len, fg_block_match *out) {
  uint64_t h = key_hash(bl, kind, key, len);
  const shard *s = t->shards[shard_of(h)];
  if (s == NULL) return 0;
  for (uint32_t at = (uint32_t)(h & s->mask); s->slots[at] != 0; at = (at + 1) & s->mask) {
    const bl_entry *e = &s->entries[s->slots[at] - 1];
    if (e->hash == h && e->kind == kind && e->key_len == len &&
        memcmp(entry_key(s, e), key, len) == 0) {
      fill_match(bl, s, e, out);
      return 1;
    }
  }
  return 0;
}

// read_begin enters a read-side section; without an epoch slot (more
// threads than FG_EPOCH_MAX_THREADS) it reads under the writers' mutex.
static table *read_begin(fg_blocklist *bl, int *locked) {
  *locked = !fg_epoch_enter(bl->epoch);
  if (*locked) pthread_mutex_lock(&bl->mu);
  return atomic_load_explicit(&bl->cur, memory_order_acquire);
}

static void read_end(fg_blocklist *bl, int locked) {
  if (locked)
    pthread_mutex_unlock(&bl->mu);
  else
    fg_epoch_exit(bl->epoch);
}

int fg_blocklist_check_domain(fg_blocklist *bl, const char *domain, fg_block_match *out) {
  size_t len = strlen(domain);
  if (len == 0) return 0;
  int locked;
  const table *t = read_begin(bl, &locked);
  int hit = find(bl, t, FG_BLOCK_DOMAIN, domain, len, out);
  // Suffixes from the longest (most specific) to the top-level label.
  for (const char *p = strchr(domain, '.'); !hit && p != NULL; p = strchr(p + 1, '.'))
    hit = find(bl, t, FG_BLOCK_DOMAIN_SUFFIX, p + 1, len - (size_t)(p + 1 - domain), out);
  read_end(bl, locked);
  return hit;
}

int fg_blocklist_check_jid(fg_blocklist *bl, const char *bare_jid, fg_block_match *out) {
  if (atomic_load_explicit(&bl->n_jid, memory_order_relaxed) == 0) return 0;
  char hex[65];
  fg_blocklist_jid_digest(bare_jid, hex);
  int locked;
  const table *t = read_begin(bl, &locked);
  int hit = find(bl, t, FG_BLOCK_JID_SHA256, hex, 64, out);
  read_end(bl, locked);
  return hit;
}

uint64_t fg_blocklist_generation(const fg_blocklist *bl) {
  return atomic_load_explicit(&bl->generation, memory_order_acquire);
}

void fg_blocklist_stats_get(fg_blocklist *bl, fg_blocklist_stats *out) {
  memset(out, 0, sizeof(*out));
  pthread_mutex_lock(&bl->mu);
  const table *t = atomic_load(&bl->cur);
  out->bytes = sizeof(*bl) + sizeof(*t);
  for (int i = 0; i < SHARDS; i++) {
    const shard *s = t->shards[i];
    if (s == NULL) continue;
    out->bytes += s->bytes;
    out->entries += s->n;
    for (uint32_t k = 0; k < s->n; k++) out->by_kind[s->entries[k].kind]++;
  }
  out->generation = fg_blocklist_generation(bl);
  pthread_mutex_unlock(&bl->mu);
}

void fg_blocklist_each(fg_blocklist *bl, int (*fn)(const fg_block_match *m, void *arg), void *arg) {
  fg_block_match m;
  pthread_mutex_lock(&bl->mu);
  const table *t = atomic_load(&bl->cur);
  for (int i = 0; i < SHARDS; i++) {
    const shard *s = t->shards[i];
    for (uint32_t k = 0; s != NULL && k < s->n; k++) {
      fill_match(bl, s, &s->entries[k], &m);
      if (!fn(&m, arg)) goto done;
    }
  }
done:
  pthread_mutex_unlock(&bl->mu);
}
