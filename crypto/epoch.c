// epoch.c: epoch-based reclamation (see epoch.h for the safety argument).
#include "crypto/epoch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct slot {
  _Alignas(64) _Atomic uint64_t local;  // epoch seen on entry; 0: outside
  _Atomic int claimed;
} slot;

typedef struct retired {
  void *ptr;
  void (*free_fn)(void *);
  uint64_t epoch;
} retired;

struct fg_epoch_domain {
  _Atomic uint64_t global;  // starts at 1: 0 in a slot means "outside"
  _Atomic unsigned used;    // slots ever claimed: the scan stops there
  uint64_t id;              // never reused: thread caches key on it
  retired *retired;         // writers only
  size_t n_retired, cap_retired;
  slot slots[FG_EPOCH_MAX_THREADS];
};

// Live domains, so that a thread leaving gives back its slots only in
// domains that still exist. Domains come and go rarely: a mutex is fine.
static pthread_mutex_t g_live_mu = PTHREAD_MUTEX_INITIALIZER;
static fg_epoch_domain **g_live;
static size_t g_n_live, g_cap_live;
static uint64_t g_next_id = 1;

// Each thread remembers its slot per domain (a few domains per process).
enum { kThreadCache = 16 };
typedef struct thread_slots {
  struct {
    uint64_t id;
    fg_epoch_domain *d;
    slot *s;
  } e[kThreadCache];
  unsigned next;  // round-robin replacement when full
} thread_slots;

static _Thread_local thread_slots t_slots;
// The slot of the domain this thread used last: the common case of one
// cache read over and over costs one comparison.
static _Thread_local fg_epoch_domain *t_last_d;
static _Thread_local uint64_t t_last_id;
static _Thread_local slot *t_last_s;
static pthread_key_t g_exit_key;
static pthread_once_t g_exit_once = PTHREAD_ONCE_INIT;

static int live_index(const fg_epoch_domain *d, uint64_t id) {
  for (size_t i = 0; i < g_n_live; i++) {
    if (g_live[i] == d && g_live[i]->id == id) return (int)i;
  }
  return -1;
}

// thread_exit gives back the slots of the leaving thread in live domains.
static void thread_exit(void *arg) {
  (void)arg;
  pthread_mutex_lock(&g_live_mu);
  for (unsigned i = 0; i < kThreadCache; i++) {
    if (t_slots.e[i].d != NULL && live_index(t_slots.e[i].d, t_slots.e[i].id) >= 0) {
      atomic_store(&t_slots.e[i].s->local, 0);
      atomic_store(&t_slots.e[i].s->claimed, 0);
    }
    t_slots.e[i].d = NULL;
  }
  t_last_d = NULL;
  pthread_mutex_unlock(&g_live_mu);
}

static void make_exit_key(void) {
  pthread_key_create(&g_exit_key, thread_exit);
}

fg_epoch_domain *fg_epoch_domain_new(void) {
  fg_epoch_domain *d = calloc(1, sizeof(*d));
  if (d == NULL) return NULL;
  atomic_store(&d->global, 1);
  pthread_mutex_lock(&g_live_mu);
  if (g_n_live == g_cap_live) {
    size_t cap = g_cap_live ? g_cap_live * 2 : 8;
    fg_epoch_domain **grown = realloc(g_live, cap * sizeof(*grown));
    if (grown == NULL) {
      pthread_mutex_unlock(&g_live_mu);
      free(d);
      return NULL;
    }
    g_live = grown;
    g_cap_live = cap;
  }
  d->id = g_next_id++;
  g_live[g_n_live++] = d;
  pthread_mutex_unlock(&g_live_mu);
  return d;
}

void fg_epoch_domain_free(fg_epoch_domain *d) {
  if (d == NULL) return;
  pthread_mutex_lock(&g_live_mu);
  int i = live_index(d, d->id);
  if (i >= 0) g_live[i] = g_live[--g_n_live];
  pthread_mutex_unlock(&g_live_mu);
  for (size_t k = 0; k < d->n_retired; k++) d->retired[k].free_fn(d->retired[k].ptr);
  free(d->retired);
  free(d);
}

// claim finds this thread's slot in |d|, claiming a free one the first time.
static slot *claim(fg_epoch_domain *d) {
  if (t_last_d == d && t_last_id == d->id) return t_last_s;
  for (unsigned i = 0; i < kThreadCache; i++) {
    if (t_slots.e[i].d == d && t_slots.e[i].id == d->id) {
      t_last_d = d;
      t_last_id = d->id;
      t_last_s = t_slots.e[i].s;
      return t_slots.e[i].s;
    }
  }
  pthread_once(&g_exit_once, make_exit_key);
  pthread_setspecific(g_exit_key, &t_slots);  // non-NULL: run thread_exit
  for (unsigned k = 0; k < FG_EPOCH_MAX_THREADS; k++) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&d->slots[k].claimed, &expected, 1)) continue;
    unsigned used = atomic_load(&d->used);
    while (used < k + 1 && !atomic_compare_exchange_weak(&d->used, &used, k + 1)) {
    }
    unsigned at = t_slots.next++ % kThreadCache;
    t_slots.e[at].id = d->id;
    t_slots.e[at].d = d;
    t_slots.e[at].s = &d->slots[k];
    t_last_d = d;
    t_last_id = d->id;
    t_last_s = &d->slots[k];
    return &d->slots[k];
  }
  return NULL;
}

int fg_epoch_enter(fg_epoch_domain *d) {
  slot *s = claim(d);
  if (s == NULL) return 0;
  // Record the epoch, then check it did not move meanwhile: a reclaimer
  // that did not see the record may have advanced it (epoch.h).
  for (;;) {
    uint64_t g = atomic_load_explicit(&d->global, memory_order_acquire);
    // A full barrier between the record and the reads that follow (an
    // exchange is one on x86, and cheaper than a separate fence).
    atomic_exchange_explicit(&s->local, g, memory_order_seq_cst);
    if (atomic_load_explicit(&d->global, memory_order_seq_cst) == g) return 1;
  }
}

void fg_epoch_exit(fg_epoch_domain *d) {
  slot *s = claim(d);
  if (s != NULL) atomic_store_explicit(&s->local, 0, memory_order_release);
}

size_t fg_epoch_reclaim(fg_epoch_domain *d) {
  uint64_t g = atomic_load(&d->global);
  unsigned used = atomic_load(&d->used);
  int may_advance = 1;
  for (unsigned k = 0; k < used && may_advance; k++) {
    uint64_t l = atomic_load(&d->slots[k].local);
    if (l != 0 && l != g) may_advance = 0;
  }
  if (may_advance) {
    atomic_store(&d->global, g + 1);
    g++;
  }
  size_t freed = 0, kept = 0;
  for (size_t k = 0; k < d->n_retired; k++) {
    if (d->retired[k].epoch + 2 <= g) {
      d->retired[k].free_fn(d->retired[k].ptr);
      freed++;
    } else {
      d->retired[kept++] = d->retired[k];
    }
  }
  d->n_retired = kept;
  return freed;
}

void fg_epoch_retire(fg_epoch_domain *d, void *ptr, void (*free_fn)(void *)) {
  if (ptr == NULL) return;
  if (d->n_retired == d->cap_retired) {
    size_t cap = d->cap_retired ? d->cap_retired * 2 : 64;
    retired *grown = realloc(d->retired, cap * sizeof(*grown));
    if (grown == NULL) abort();  // our own allocation: the one fatal error
    d->retired = grown;
    d->cap_retired = cap;
  }
  d->retired[d->n_retired].ptr = ptr;
  d->retired[d->n_retired].free_fn = free_fn;
  d->retired[d->n_retired].epoch = atomic_load(&d->global);
  d->n_retired++;
  if (d->n_retired >= 32) fg_epoch_reclaim(d);
}

size_t fg_epoch_pending(const fg_epoch_domain *d) {
  return d->n_retired;
}
