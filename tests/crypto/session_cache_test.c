// session_cache_test.c: the shared client session cache (crypto/session_cache.c):
// hits carry the verdict, misses for expiry (lifetime and ticket hint), for a
// verdict reached under another scope, TLS 1.3 sessions handed out once
// (RFC 8446 appendix C.4), the entry bound, replacement and removal, and
// workers racing a writer (run it under --config=tsan too).
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/ssl.h>

#include "crypto/session_cache.h"

static SSL_CTX *g_ctx;

// Under ThreadSanitizer: BoringSSL is not instrumented, so TSan does not see
// that SSL_SESSION's reference count (an atomic inside libcrypto) orders a
// reader's last use of a session before the free by whichever thread drops
// the last reference. Frees by OPENSSL_free are therefore not reported; the
// cache's own publication and reclamation (crypto/epoch.c) stay checked.
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void) {
  return "race:OPENSSL_free\n";
}

static int setup(void **state) {
  g_ctx = SSL_CTX_new(TLS_method());
  return g_ctx ? 0 : -1;
}

static int teardown(void **state) {
  SSL_CTX_free(g_ctx);
  return 0;
}

// session makes a resumable session of |version| created at |t| living
// |timeout| seconds, with a ticket whose first byte is |tag|.
static SSL_SESSION *session(uint16_t version, uint64_t t, uint32_t timeout, uint8_t tag) {
  SSL_SESSION *s = SSL_SESSION_new(g_ctx);
  uint8_t ticket[32];
  memset(ticket, tag, sizeof(ticket));
  assert_true(SSL_SESSION_set_protocol_version(s, version));
  assert_true(SSL_SESSION_set_ticket(s, ticket, sizeof(ticket)));
  SSL_SESSION_set_time(s, t);
  SSL_SESSION_set_timeout(s, timeout);
  return s;
}

static uint8_t tag_of(const SSL_SESSION *s) {
  const uint8_t *t;
  size_t n;
  SSL_SESSION_get0_ticket(s, &t, &n);
  return n ? t[0] : 0;
}

static fg_tls_verdict verdict(int result, uint64_t scope, const char *domain) {
  fg_tls_verdict v = {0};
  v.result = result;
  v.chain = 7;
  v.identity = 3;
  v.revocation = 2;
  v.scope = scope;
  snprintf(v.domain, sizeof(v.domain), "%s", domain);
  return v;
}

// put stores a new session of |version|, created at 1000 and living
// |timeout| seconds, tagged |tag|, under |key| at time 1000.
static void put(fg_session_cache *c, const char *key, uint16_t version, uint32_t timeout,
                uint8_t tag, const fg_tls_verdict *v) {
  SSL_SESSION *s = session(version, 1000, timeout, tag);
  assert_true(fg_session_cache_put(c, key, s, v, 1000));
  SSL_SESSION_free(s);  // the cache holds its own reference
}

// hit looks |key| up and returns the tag of the session found, 0 for none.
static uint8_t hit(fg_session_cache *c, const char *key, uint64_t scope, int64_t now,
                   fg_tls_verdict *out) {
  SSL_SESSION *got = fg_session_cache_get(c, key, scope, now, out);
  uint8_t tag = got != NULL ? tag_of(got) : 0;
  SSL_SESSION_free(got);
  return tag;
}

static void test_hit_carries_verdict_and_expiry(void **state) {
  fg_session_cache *c = fg_session_cache_new(64);
  SSL_SESSION *s = session(TLS1_2_VERSION, 1000, 300, 0x41);
  fg_tls_verdict v = verdict(1, 9, "a.example"), out;
  assert_null(fg_session_cache_get(c, "a.example 192.0.2.1:5269", 9, 1000, &out));
  assert_true(fg_session_cache_put(c, "a.example 192.0.2.1:5269", s, &v, 1000));
  SSL_SESSION_free(s);  // the cache holds its own reference
  SSL_SESSION *got = fg_session_cache_get(c, "a.example 192.0.2.1:5269", 9, 1200, &out);
  assert_non_null(got);
  assert_int_equal(tag_of(got), 0x41);
  assert_int_equal(out.result, 1);
  assert_int_equal(out.chain, 7);
  assert_int_equal(out.identity, 3);
  assert_int_equal(out.revocation, 2);
  assert_string_equal(out.domain, "a.example");
  SSL_SESSION_free(got);
  // TLS 1.2: may be offered again.
  assert_true(hit(c, "a.example 192.0.2.1:5269", 9, 1200, &out));
  // Another target of the same domain, or another domain: misses.
  assert_null(fg_session_cache_get(c, "a.example 192.0.2.2:5269", 9, 1200, &out));
  assert_null(fg_session_cache_get(c, "b.example 192.0.2.1:5269", 9, 1200, &out));
  // Expired: the session's own lifetime.
  assert_null(fg_session_cache_get(c, "a.example 192.0.2.1:5269", 9, 1300, &out));
  // Already expired at insertion: refused.
  s = session(TLS1_2_VERSION, 1000, 300, 0x42);
  assert_false(fg_session_cache_put(c, "x", s, &v, 1400));
  SSL_SESSION_free(s);
  fg_session_cache_free(c);
}

static void test_verdict_under_another_scope_is_not_offered(void **state) {
  fg_session_cache *c = fg_session_cache_new(64);
  fg_tls_verdict v = verdict(1, 5, "a.example"), out;
  put(c, "k", TLS1_2_VERSION, 300, 0x43, &v);
  // The trust store or the revocation knowledge changed: scope 6.
  assert_null(fg_session_cache_get(c, "k", 6, 1001, &out));
  assert_true(hit(c, "k", 5, 1001, &out));
  fg_session_cache_free(c);
}

static void test_rfc8446_c_4_tls13_session_used_once(void **state) {
  fg_session_cache *c = fg_session_cache_new(64);
  fg_tls_verdict v = verdict(1, 0, "a.example"), out;
  put(c, "k", TLS1_3_VERSION, 300, 0x44, &v);
  assert_true(hit(c, "k", 0, 1001, &out));
  assert_null(fg_session_cache_get(c, "k", 0, 1001, &out));
  // The resumed handshake's fresh ticket replaces it.
  put(c, "k", TLS1_3_VERSION, 300, 0x45, &v);
  assert_int_equal(hit(c, "k", 0, 1002, &out), 0x45);
  fg_session_cache_stats st;
  fg_session_cache_stats_get(c, &st);
  assert_int_equal(st.entries, 1);
  assert_int_equal(st.replaces, 1);
  fg_session_cache_free(c);
}

static void test_rfc8446_c_4_tls13_sessions_kept_several_per_key(void **state) {
  fg_session_cache *c = fg_session_cache_new(64);
  fg_tls_verdict v = verdict(1, 0, "a.example"), out;
  // Ten tickets arrive (handshakes that ran together): the newest eight wait.
  for (int i = 0; i < 10; i++) put(c, "k", TLS1_3_VERSION, 300, (uint8_t)(0x50 + i), &v);
  for (int i = 9; i >= 10 - FG_SESSION_CACHE_PER_KEY; i--) {
    assert_int_equal(hit(c, "k", 0, 1001, &out), 0x50 + i);  // newest first, each once
  }
  assert_null(fg_session_cache_get(c, "k", 0, 1001, &out));
  // A reusable TLS 1.2 session replaces a key's sessions.
  put(c, "k", TLS1_3_VERSION, 300, 0x61, &v);
  put(c, "k", TLS1_2_VERSION, 300, 0x62, &v);
  for (int i = 0; i < 2; i++) assert_int_equal(hit(c, "k", 0, 1001, &out), 0x62);
  fg_session_cache_stats st;
  fg_session_cache_stats_get(c, &st);
  assert_int_equal(st.entries, 1);
  fg_session_cache_free(c);
}

static void test_session_lifetime_bounds_expiry(void **state) {
  // The ticket lifetime hint's bound is checked with real handshakes in
  // tls_resume_test (a synthetic session has no hint).
  fg_session_cache *c = fg_session_cache_new(64);
  fg_tls_verdict v = verdict(1, 0, "a.example"), out;
  put(c, "k", TLS1_2_VERSION, 10, 0x46, &v);
  assert_true(hit(c, "k", 0, 1009, &out));
  assert_null(fg_session_cache_get(c, "k", 0, 1010, &out));
  fg_session_cache_free(c);
}

static void test_bound_replace_remove(void **state) {
  fg_session_cache *c = fg_session_cache_new(16);
  fg_tls_verdict v = verdict(1, 0, "d"), out;
  for (int i = 0; i < 200; i++) {
    char key[32];
    snprintf(key, sizeof(key), "d%d.example", i);
    put(c, key, TLS1_2_VERSION, 300 + (uint32_t)i, (uint8_t)i, &v);
  }
  fg_session_cache_stats st;
  fg_session_cache_stats_get(c, &st);
  assert_int_equal(st.capacity, 16);
  assert_true(st.entries <= 16);
  assert_int_equal(st.inserts, 200);
  assert_true(st.evictions >= 200 - 16);
  // The newest is there; remove drops it.
  assert_true(hit(c, "d199.example", 0, 1001, &out));
  assert_true(fg_session_cache_remove(c, "d199.example"));
  assert_false(fg_session_cache_remove(c, "d199.example"));
  assert_null(fg_session_cache_get(c, "d199.example", 0, 1001, &out));
  // Keys: empty and too long are refused.
  SSL_SESSION *s = session(TLS1_2_VERSION, 1000, 300, 1);
  char longkey[FG_SESSION_CACHE_KEY_MAX + 2];
  memset(longkey, 'a', sizeof(longkey) - 1);
  longkey[sizeof(longkey) - 1] = 0;
  assert_false(fg_session_cache_put(c, "", s, &v, 1000));
  assert_false(fg_session_cache_put(c, longkey, s, &v, 1000));
  // A session without ticket or id cannot be resumed: refused.
  SSL_SESSION *blank = SSL_SESSION_new(g_ctx);
  assert_false(fg_session_cache_put(c, "blank", blank, &v, 1000));
  SSL_SESSION_free(blank);
  SSL_SESSION_free(s);
  fg_session_cache_free(c);
  assert_non_null(c = fg_session_cache_new(0));
  fg_session_cache_stats_get(c, &st);
  assert_int_equal(st.capacity, FG_SESSION_CACHE_DEFAULT);
  fg_session_cache_free(c);
}

// --- workers racing a writer ---

enum { kKeys = 64, kReaders = 3 };

typedef struct race {
  fg_session_cache *c;
  atomic_int stop;
  atomic_long hits, claimed13, torn;
} race;

static void key_of(char *out, size_t cap, int i) {
  snprintf(out, cap, "peer%d.example 198.51.100.%d:5269", i, i);
}

// reader looks sessions up like outbound handshakes on every worker: every
// hit is whole (the verdict names the key's domain, the ticket its number).
static void *reader(void *arg) {
  race *r = arg;
  unsigned i = 0;
  while (!atomic_load(&r->stop)) {
    char key[64], want[32];
    int k = (int)(i++ % kKeys);
    key_of(key, sizeof(key), k);
    snprintf(want, sizeof(want), "peer%d.example", k);
    fg_tls_verdict v;
    SSL_SESSION *s = fg_session_cache_get(r->c, key, 0, 1001, &v);
    if (s == NULL) continue;
    atomic_fetch_add(&r->hits, 1);
    if (strcmp(v.domain, want) != 0 || (tag_of(s) & 0x3f) != k) atomic_fetch_add(&r->torn, 1);
    if (SSL_SESSION_should_be_single_use(s)) atomic_fetch_add(&r->claimed13, 1);
    SSL_SESSION_free(s);
  }
  return NULL;
}

static void test_readers_race_writer(void **state) {
  race r = {.c = fg_session_cache_new(32)};  // fewer ways than keys: evictions too
  pthread_t th[kReaders];
  for (int i = 0; i < kReaders; i++) pthread_create(&th[i], NULL, reader, &r);
  long puts13 = 0;
  for (int round = 0; round < 20000; round++) {
    int k = round % kKeys;
    char key[64];
    key_of(key, sizeof(key), k);
    fg_tls_verdict v = verdict(1, 0, "");
    snprintf(v.domain, sizeof(v.domain), "peer%d.example", k);
    uint16_t version = round & 1 ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_SESSION *s = session(version, 1000, 300, (uint8_t)k);
    assert_true(fg_session_cache_put(r.c, key, s, &v, 1000));
    puts13 += version == TLS1_3_VERSION;
    SSL_SESSION_free(s);
    if (round % 7 == 0) fg_session_cache_remove(r.c, key);
  }
  atomic_store(&r.stop, 1);
  for (int i = 0; i < kReaders; i++) pthread_join(th[i], NULL);
  assert_int_equal(atomic_load(&r.torn), 0);
  // A TLS 1.3 session is handed out at most once, whatever the readers.
  assert_true(atomic_load(&r.claimed13) <= puts13);
  fg_session_cache_stats st;
  fg_session_cache_stats_get(r.c, &st);
  assert_true(st.entries <= 32);
  fg_session_cache_free(r.c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hit_carries_verdict_and_expiry),
      cmocka_unit_test(test_verdict_under_another_scope_is_not_offered),
      cmocka_unit_test(test_rfc8446_c_4_tls13_session_used_once),
      cmocka_unit_test(test_rfc8446_c_4_tls13_sessions_kept_several_per_key),
      cmocka_unit_test(test_session_lifetime_bounds_expiry),
      cmocka_unit_test(test_bound_replace_remove),
      cmocka_unit_test(test_readers_race_writer),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
