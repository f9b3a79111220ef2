// session_cache_bench.c: outbound session lookups per reader CPU-second in
// the shared client session cache (crypto/session_cache.h: lock-free reads,
// epoch reclamation, a reference taken per hit) while a writer thread keeps
// storing fresh sessions (the tickets servers send), against the table it
// replaced in crypto/tls.c (64 slots keyed by server name behind one mutex),
// rounds interleaved in one run. Reader CPU time is the threads' own
// (CLOCK_THREAD_CPUTIME_ID), so the ratio holds on a busy machine. Cases: 48
// remote domains (fit in the old table) with one reader and with a reader
// per core, and 2,000 domains (the old table holds 64: most of its lookups
// miss, so a hit rate is printed beside each rate). Prints one human line
// per case, or JSON with --json.
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>

#include "bench/bench_time.h"
#include "crypto/session_cache.h"

enum { kRounds = 3, kRoundMs = 250, kOldSlots = 64 };

static SSL_CTX *g_ctx;

static void name_of(uint32_t i, char *out, size_t cap) {
  snprintf(out, cap, "peer%u.example.org 203.0.113.%u:5269", i, i % 250);
}

static SSL_SESSION *fresh_session(uint32_t i) {
  SSL_SESSION *s = SSL_SESSION_new(g_ctx);
  uint8_t ticket[200];
  memset(ticket, (int)(i & 0xff), sizeof(ticket));
  SSL_SESSION_set_protocol_version(s, TLS1_2_VERSION);  // reusable: every lookup can hit
  SSL_SESSION_set_ticket(s, ticket, sizeof(ticket));
  SSL_SESSION_set_time(s, (uint64_t)time(NULL));
  SSL_SESSION_set_timeout(s, 7200);
  return s;
}

// --- the comparison: crypto/tls.c's former table, as it was ---

typedef struct old_slot {
  char name[256];
  SSL_SESSION *session;
} old_slot;

typedef struct old_table {
  pthread_mutex_t mu;
  old_slot slots[kOldSlots];
} old_table;

static old_slot *old_slot_of(old_table *t, const char *name) {
  uint64_t h = 1469598103934665603ull;
  for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
  return &t->slots[h % kOldSlots];
}

static SSL_SESSION *old_get(old_table *t, const char *name) {
  old_slot *slot = old_slot_of(t, name);
  SSL_SESSION *s = NULL;
  pthread_mutex_lock(&t->mu);
  if (slot->session != NULL && strcmp(slot->name, name) == 0) {
    s = slot->session;
    SSL_SESSION_up_ref(s);
  }
  pthread_mutex_unlock(&t->mu);
  return s;
}

static void old_put(old_table *t, const char *name, SSL_SESSION *s) {
  old_slot *slot = old_slot_of(t, name);
  SSL_SESSION_up_ref(s);
  pthread_mutex_lock(&t->mu);
  SSL_SESSION_free(slot->session);
  slot->session = s;
  snprintf(slot->name, sizeof(slot->name), "%s", name);
  pthread_mutex_unlock(&t->mu);
}

// --- one round: readers on their threads, a writer on another ---

typedef struct side {
  fg_session_cache *cache;  // the new cache, or
  old_table *old;           // the old table
} side;

static SSL_SESSION *side_get(const side *s, const char *name) {
  fg_tls_verdict v;
  return s->cache != NULL ? fg_session_cache_get(s->cache, name, 0, (int64_t)time(NULL), &v)
                          : old_get(s->old, name);
}

static void side_put(const side *s, const char *name, SSL_SESSION *sess) {
  fg_tls_verdict v = {0};
  if (s->cache != NULL) {
    fg_session_cache_put(s->cache, name, sess, &v, (int64_t)time(NULL));
  } else {
    old_put(s->old, name, sess);
  }
}

typedef struct round_state {
  side s;
  uint32_t domains;
  _Atomic int stop;
} round_state;

static void *writer(void *arg) {
  round_state *r = arg;
  uint32_t x = 12345;
  char name[96];
  while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
    x = x * 1103515245u + 12345u;
    name_of(x % r->domains, name, sizeof(name));
    SSL_SESSION *s = fresh_session(x);
    side_put(&r->s, name, s);
    SSL_SESSION_free(s);
    // New tickets arrive once per handshake: far less often than lookups.
    struct timespec pause = {0, 50000};
    nanosleep(&pause, NULL);
  }
  return NULL;
}

typedef struct reader {
  round_state *r;
  uint32_t seed;
  double per_cpu_s, hit_rate;
} reader;

static void *read_loop(void *arg) {
  reader *rd = arg;
  char names[64][96];
  uint64_t n = 0, hits = 0;
  uint32_t x = rd->seed;
  double t0 = bench_thread_cpu_s(), end = bench_wall_ms() + kRoundMs;
  while (bench_wall_ms() < end) {
    for (int i = 0; i < 64; i++) {
      x = x * 1664525u + 1013904223u;
      name_of(x % rd->r->domains, names[i], sizeof(names[i]));
    }
    for (int i = 0; i < 64; i++) {
      SSL_SESSION *s = side_get(&rd->r->s, names[i]);
      hits += s != NULL;
      SSL_SESSION_free(s);
      n++;
    }
  }
  rd->per_cpu_s = (double)n / (bench_thread_cpu_s() - t0);
  rd->hit_rate = (double)hits / (double)n;
  return NULL;
}

static double run_round(side s, uint32_t domains, int readers, double *hit_rate) {
  round_state r = {s, domains, 0};
  char name[96];
  for (uint32_t i = 0; i < domains; i++) {  // warm: every domain has a session
    name_of(i, name, sizeof(name));
    SSL_SESSION *sess = fresh_session(i);
    side_put(&s, name, sess);
    SSL_SESSION_free(sess);
  }
  pthread_t w, t[4];
  reader rd[4];
  pthread_create(&w, NULL, writer, &r);
  for (int i = 0; i < readers; i++) {
    rd[i] = (reader){&r, 777u + (uint32_t)i * 7919u, 0, 0};
    pthread_create(&t[i], NULL, read_loop, &rd[i]);
  }
  double sum = 0, hits = 0;
  for (int i = 0; i < readers; i++) {
    pthread_join(t[i], NULL);
    sum += rd[i].per_cpu_s;
    hits += rd[i].hit_rate;
  }
  atomic_store(&r.stop, 1);
  pthread_join(w, NULL);
  *hit_rate = hits / readers;
  return sum / readers;
}

int main(int argc, char **argv) {
  int json = argc > 1 && strcmp(argv[1], "--json") == 0;
  g_ctx = SSL_CTX_new(TLS_method());
  fg_session_cache *cache = fg_session_cache_new(FG_SESSION_CACHE_DEFAULT);
  old_table old;
  memset(&old, 0, sizeof(old));
  pthread_mutex_init(&old.mu, NULL);
  static const struct {
    const char *name;
    uint32_t domains;
    int readers;
  } kCases[] = {{"hot_1reader", 48, 1}, {"hot_per_core", 48, 2}, {"many_1reader", 2000, 1}};
  if (json) printf("{");
  for (size_t c = 0; c < sizeof(kCases) / sizeof(kCases[0]); c++) {
    double fresh[kRounds], former[kRounds], hit_new = 0, hit_old = 0;
    for (int r = 0; r < kRounds; r++) {
      fresh[r] = run_round((side){cache, NULL}, kCases[c].domains, kCases[c].readers, &hit_new);
      former[r] = run_round((side){NULL, &old}, kCases[c].domains, kCases[c].readers, &hit_old);
    }
    double a = bench_median(fresh, kRounds), b = bench_median(former, kRounds);
    if (json) {
      printf(
          "%s\"%s\":{\"lockfree_lookups_per_cpu_s\":%.0f,\"mutex_table_lookups_per_cpu_s\":%.0f,"
          "\"ratio\":%.2f,\"lockfree_hit_rate\":%.3f,\"mutex_table_hit_rate\":%.3f}",
          c ? "," : "", kCases[c].name, a, b, a / b, hit_new, hit_old);
    } else {
      printf(
          "%-13s %u domains, %d reader(s): lock-free %.2f M/s per reader CPU-second (hits "
          "%.0f%%), former mutex table %.2f M/s (hits %.0f%%), ratio %.2f\n",
          kCases[c].name, kCases[c].domains, kCases[c].readers, a / 1e6, hit_new * 100, b / 1e6,
          hit_old * 100, a / b);
    }
  }
  if (json) printf("}\n");
  fg_session_cache_free(cache);
  for (int i = 0; i < kOldSlots; i++) SSL_SESSION_free(old.slots[i].session);
  SSL_CTX_free(g_ctx);
  return 0;
}
