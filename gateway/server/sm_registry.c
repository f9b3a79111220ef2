// sm_registry.c: resumable XEP-0198 streams, a mutex-guarded hash table.
#include "gateway/server/sm_registry.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

enum { kBuckets = 1024, kIdMax = 64, kDomainMax = 255 };

typedef struct entry {
  struct entry *next;  // in its bucket
  char id[kIdMax + 1];
  char peer[kDomainMax + 1], local[kDomainMax + 1];
  int live;
  uint32_t h;
  uint64_t expires_ms;
  fg_sm_item *sent_back;  // parked: stanzas written back, unacknowledged
  uint32_t sent_back_acked;
} entry;

struct fg_sm_registry {
  pthread_mutex_t mu;
  entry *buckets[kBuckets];
  size_t n, max;
  uint64_t keep_ms;
};

static void free_items(fg_sm_item *it) {
  for (fg_sm_item *n; it != NULL; it = n) {
    n = it->next;
    free(it);
  }
}

fg_sm_registry *fg_sm_registry_new(size_t max_entries, uint64_t keep_ms) {
  fg_sm_registry *r = calloc(1, sizeof(*r));
  if (r == NULL) return NULL;
  pthread_mutex_init(&r->mu, NULL);
  r->max = max_entries;
  r->keep_ms = keep_ms;
  return r;
}

void fg_sm_registry_free(fg_sm_registry *r) {
  if (r == NULL) return;
  for (size_t b = 0; b < kBuckets; b++) {
    for (entry *e = r->buckets[b], *n; e != NULL; e = n) {
      n = e->next;
      free_items(e->sent_back);
      free(e);
    }
  }
  pthread_mutex_destroy(&r->mu);
  free(r);
}

static entry **slot_of(fg_sm_registry *r, const char *id) {
  entry **pp = &r->buckets[XXH3_64bits(id, strlen(id)) % kBuckets];
  while (*pp != NULL && strcmp((*pp)->id, id) != 0) pp = &(*pp)->next;
  return pp;
}

static void drop(fg_sm_registry *r, entry **pp) {
  entry *e = *pp;
  *pp = e->next;
  free_items(e->sent_back);
  free(e);
  r->n--;
}

// evict forgets the parked entry that expires first (the table is full).
// An entry that keeps stanzas written back stays: they are taken when its
// window ends (fg_sm_registry_take_expired), never dropped here.
static int evict(fg_sm_registry *r) {
  entry **victim = NULL;
  for (size_t b = 0; b < kBuckets; b++) {
    for (entry **pp = &r->buckets[b]; *pp != NULL; pp = &(*pp)->next) {
      if (!(*pp)->live && (*pp)->sent_back == NULL &&
          (victim == NULL || (*pp)->expires_ms < (*victim)->expires_ms)) {
        victim = pp;
      }
    }
  }
  if (victim == NULL) return 0;
  drop(r, victim);
  return 1;
}

int fg_sm_registry_open(fg_sm_registry *r, const char *id, const char *peer, const char *local) {
  if (strlen(id) > kIdMax || strlen(peer) > kDomainMax || strlen(local) > kDomainMax) return 0;
  pthread_mutex_lock(&r->mu);
  int ok = 0;
  entry **pp = slot_of(r, id);
  if (*pp == NULL && (r->n < r->max || evict(r))) {
    entry *e = calloc(1, sizeof(*e));
    if (e != NULL) {
      strcpy(e->id, id);
      strcpy(e->peer, peer);
      strcpy(e->local, local);
      e->live = 1;
      *slot_of(r, id) = e;  // the bucket may have changed with the eviction
      r->n++;
      ok = 1;
    }
  }
  pthread_mutex_unlock(&r->mu);
  return ok;
}

int fg_sm_registry_park_sent_back(fg_sm_registry *r, const char *id, uint32_t h, fg_sm_item *items,
                                  uint32_t acked, uint64_t now_ms) {
  pthread_mutex_lock(&r->mu);
  entry *e = *slot_of(r, id);
  if (e != NULL) {
    e->live = 0;
    e->h = h;
    e->expires_ms = now_ms + r->keep_ms;
    if (items != NULL) {  // a live entry holds none: they went to its stream
      free_items(e->sent_back);
      e->sent_back = items;
      e->sent_back_acked = acked;
    }
  }
  pthread_mutex_unlock(&r->mu);
  return e != NULL;
}

void fg_sm_registry_park(fg_sm_registry *r, const char *id, uint32_t h, uint64_t now_ms) {
  fg_sm_registry_park_sent_back(r, id, h, NULL, 0, now_ms);
}

fg_sm_item *fg_sm_registry_take_expired(fg_sm_registry *r, const char *id, uint64_t now_ms,
                                        uint64_t *out_wait_ms) {
  pthread_mutex_lock(&r->mu);
  fg_sm_item *items = NULL;
  entry **pp = slot_of(r, id);
  entry *e = *pp;
  *out_wait_ms = 0;
  if (e != NULL && !e->live && e->expires_ms <= now_ms) {
    items = e->sent_back;
    e->sent_back = NULL;
    drop(r, pp);
  } else if (e != NULL && !e->live && e->sent_back != NULL) {
    *out_wait_ms = e->expires_ms - now_ms;
  }
  pthread_mutex_unlock(&r->mu);
  return items;
}

fg_sm_resume_verdict fg_sm_registry_resume(fg_sm_registry *r, const char *id, const char *peer,
                                           const char *local, uint64_t now_ms, uint32_t *out_h,
                                           fg_sm_item **out_sent_back, uint32_t *out_acked) {
  pthread_mutex_lock(&r->mu);
  fg_sm_resume_verdict v = FG_SM_RESUME_UNKNOWN;
  entry **pp = slot_of(r, id);
  entry *e = *pp;
  if (out_sent_back != NULL) *out_sent_back = NULL;
  if (e != NULL && !e->live && e->expires_ms <= now_ms) {
    // Expired; what it keeps waits for fg_sm_registry_take_expired.
    if (e->sent_back == NULL) drop(r, pp);
  } else if (e != NULL && e->live) {
    v = FG_SM_RESUME_LIVE;
  } else if (e != NULL && (strcmp(e->peer, peer) != 0 || strcmp(e->local, local) != 0)) {
    v = FG_SM_RESUME_WRONG_PEER;  // never handed to another domain (XEP-0198 §5)
  } else if (e != NULL) {
    e->live = 1;
    *out_h = e->h;
    if (out_sent_back != NULL) {
      *out_sent_back = e->sent_back;
      *out_acked = e->sent_back_acked;
      e->sent_back = NULL;
    }
    v = FG_SM_RESUME_OK;
  }
  pthread_mutex_unlock(&r->mu);
  return v;
}

int fg_sm_registry_recovered(fg_sm_registry *r, const char *id, uint64_t now_ms) {
  pthread_mutex_lock(&r->mu);
  entry *e = *slot_of(r, id);
  int recovered = e != NULL && (e->live || e->expires_ms > now_ms);
  pthread_mutex_unlock(&r->mu);
  return recovered;
}

const char *fg_sm_resume_verdict_name(fg_sm_resume_verdict v) {
  static const char *const kNames[] = {"ok", "unknown", "live", "wrong-peer"};
  return (size_t)v < sizeof(kNames) / sizeof(kNames[0]) ? kNames[v] : "?";
}
