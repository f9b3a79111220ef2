// dns_cache_test.c: io/dns_cache on its own: what is kept, for how long, and
// what goes when it is full. tests/io/dns_test.c checks the same rules through
// the resolver against dnsmasq (TTL honoured and capped, negative caching).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/nameser.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/dns_cache.h"

// Every test but the last runs on a cache of these limits (setup/teardown).
#define MAX_ENTRIES 16
#define MAX_TTL 100
#define NEGATIVE_TTL 60
#define FAILURE_TTL 10

static int setup(void **state) {
  fg_dns_cache *c = calloc(1, sizeof(*c));
  if (c == NULL || !fg_dns_cache_init(c, MAX_ENTRIES, MAX_TTL, NEGATIVE_TTL, FAILURE_TTL)) {
    free(c);
    return -1;
  }
  *state = c;
  return 0;
}

static int teardown(void **state) {
  fg_dns_cache_cleanup(*state);
  free(*state);
  return 0;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// put_addrs stores an A answer of |n| addresses 192.0.2.1, .2, ... with |ttl|
// for |name|.
static void put_addrs(fg_dns_cache *c, const char *name, size_t n, uint32_t ttl) {
  fg_dns_rrset s = {.status = FG_DNS_RS_OK, .ttl = ttl, .n = n};
  s.addr = calloc(n, 16);
  assert_non_null(s.addr);
  for (size_t i = 0; i < n; i++) {
    s.addr[i][0] = 192;
    s.addr[i][2] = 2;
    s.addr[i][3] = (uint8_t)(i + 1);
  }
  fg_dns_cache_put(c, name, ns_t_a, &s);
  fg_dns_rrset_cleanup(&s);
}

// left returns the seconds (|name|, |type|) has left in |c|, or -1 on a
// miss. With |out| the hit is copied there, else dropped.
static long left(fg_dns_cache *c, const char *name, uint16_t type, fg_dns_rrset *out) {
  fg_dns_rrset got;
  memset(&got, 0, sizeof(got));
  if (!fg_dns_cache_get(c, name, type, &got)) return -1;
  long ttl = (long)got.ttl;
  if (out != NULL)
    *out = got;
  else
    fg_dns_rrset_cleanup(&got);
  return ttl;
}

static void test_cache_hit_is_a_copy_keyed_by_type_and_name(void **state) {
  fg_dns_cache *c = *state;
  put_addrs(c, "xmpp.example.com", 2, 30);
  fg_dns_rrset a, b;
  long ttl = left(c, "xmpp.example.com", ns_t_a, &a);
  assert_true(ttl >= 29 && ttl <= 30);
  assert_int_equal(a.status, FG_DNS_RS_OK);
  assert_int_equal(a.n, 2);
  assert_null(a.srv);
  assert_memory_equal(a.addr[0], "\xc0\x00\x02\x01\0\0\0\0\0\0\0\0\0\0\0\0", 16);
  assert_memory_equal(a.addr[1], "\xc0\x00\x02\x02\0\0\0\0\0\0\0\0\0\0\0\0", 16);
  // Each hit is the caller's own copy.
  a.addr[0][3] = 99;
  assert_true(left(c, "xmpp.example.com", ns_t_a, &b) > 0);
  assert_ptr_not_equal(a.addr, b.addr);
  assert_int_equal(b.addr[0][3], 1);
  fg_dns_rrset_cleanup(&a);
  fg_dns_rrset_cleanup(&b);
  assert_int_equal(left(c, "xmpp.example.com", ns_t_aaaa, NULL), -1);
  assert_int_equal(left(c, "other.example.com", ns_t_a, NULL), -1);
}

// RFC 2181 §8 / RFC 2308 §5: records for their TTL (capped here), negative
// answers and failures for fixed, shorter times; TTL 0 and cancelled
// questions are not kept.
static void test_rfc2308_5_time_kept_follows_the_answer(void **state) {
  fg_dns_cache *c = *state;
  put_addrs(c, "long.test", 1, 3600);
  put_addrs(c, "short.test", 1, 30);
  put_addrs(c, "zero.test", 1, 0);
  static const struct {
    const char *name;
    fg_dns_rstatus status;
    long ttl;  // -1: not kept
  } kFailures[] = {
      {"nx.test", FG_DNS_RS_NXDOMAIN, NEGATIVE_TTL},
      {"nodata.test", FG_DNS_RS_NODATA, NEGATIVE_TTL},
      {"slow.test", FG_DNS_RS_TIMEOUT, FAILURE_TTL},
      {"broken.test", FG_DNS_RS_SERVFAIL, FAILURE_TTL},
      {"stop.test", FG_DNS_RS_CANCELLED, -1},
  };
  for (size_t i = 0; i < sizeof(kFailures) / sizeof(kFailures[0]); i++) {
    fg_dns_rrset f = {.status = kFailures[i].status};
    fg_dns_cache_put(c, kFailures[i].name, ns_t_srv, &f);
  }
  long ttl = left(c, "long.test", ns_t_a, NULL);
  assert_true(ttl >= MAX_TTL - 1 && ttl <= MAX_TTL);
  ttl = left(c, "short.test", ns_t_a, NULL);
  assert_true(ttl >= 29 && ttl <= 30);
  assert_int_equal(left(c, "zero.test", ns_t_a, NULL), -1);
  for (size_t i = 0; i < sizeof(kFailures) / sizeof(kFailures[0]); i++) {
    fg_dns_rrset got;
    ttl = left(c, kFailures[i].name, ns_t_srv, &got);
    if (kFailures[i].ttl < 0) {
      assert_int_equal(ttl, -1);
      continue;
    }
    assert_true(ttl >= kFailures[i].ttl - 1 && ttl <= kFailures[i].ttl);
    assert_int_equal(got.status, kFailures[i].status);
    assert_int_equal(got.n, 0);
    fg_dns_rrset_cleanup(&got);
  }
}

static void test_rfc2181_8_entry_expires_after_its_ttl(void **state) {
  fg_dns_cache *c = *state;
  put_addrs(c, "brief.test", 1, 1);
  assert_int_equal(left(c, "brief.test", ns_t_a, NULL), 1);
  sleep_ms(1100);
  assert_int_equal(left(c, "brief.test", ns_t_a, NULL), -1);
  // The expired entry is gone, not only hidden: a new answer takes its place.
  put_addrs(c, "brief.test", 1, 1);
  assert_int_equal(left(c, "brief.test", ns_t_a, NULL), 1);
}

// fill stores MAX_ENTRIES - |skip| answers n0.test, n1.test, ...
static void fill(fg_dns_cache *c, size_t skip) {
  for (size_t i = 0; i + skip < MAX_ENTRIES; i++) {
    char name[32];
    snprintf(name, sizeof(name), "n%zu.test", i);
    put_addrs(c, name, 1, 30);
  }
}

static void test_cache_full_drops_oldest_insertion(void **state) {
  fg_dns_cache *c = *state;
  put_addrs(c, "first.test", 1, 30);
  fill(c, 1);
  // A hit does not make an entry younger (insertion order, not LRU).
  assert_true(left(c, "first.test", ns_t_a, NULL) > 0);
  put_addrs(c, "last.test", 1, 30);
  assert_int_equal(left(c, "first.test", ns_t_a, NULL), -1);
  assert_true(left(c, "n0.test", ns_t_a, NULL) > 0);
  assert_true(left(c, "last.test", ns_t_a, NULL) > 0);
}

static void test_cache_put_replaces_same_key(void **state) {
  fg_dns_cache *c = *state;
  put_addrs(c, "first.test", 1, 30);
  put_addrs(c, "twice.test", 1, 30);
  put_addrs(c, "twice.test", 2, 20);
  fg_dns_rrset got;
  long ttl = left(c, "twice.test", ns_t_a, &got);
  assert_true(ttl >= 19 && ttl <= 20);
  assert_int_equal(got.n, 2);
  fg_dns_rrset_cleanup(&got);
  // The replacement took no second slot: with the cache now full, the
  // oldest entry is still there.
  fill(c, 2);
  assert_true(left(c, "first.test", ns_t_a, NULL) > 0);
}

static void test_cache_cleared(void **state) {
  fg_dns_cache *c = *state;
  put_addrs(c, "a.test", 1, 30);
  fg_dns_rrset f = {.status = FG_DNS_RS_NXDOMAIN};
  fg_dns_cache_put(c, "b.test", ns_t_srv, &f);
  fg_dns_cache_clear(c);
  assert_int_equal(left(c, "a.test", ns_t_a, NULL), -1);
  assert_int_equal(left(c, "b.test", ns_t_srv, NULL), -1);
  put_addrs(c, "a.test", 1, 30);
  assert_true(left(c, "a.test", ns_t_a, NULL) > 0);
}

// RFC 6698 §2.1 with RFC 4035 §3.2.3: a TLSA answer keeps its records (a
// deep copy per hit) and its DNSSEC status; a bogus failure stays bogus.
static void test_rfc6698_tlsa_answer_and_dnssec_status_cached(void **state) {
  fg_dns_cache *c = *state;
  fg_dns_rrset s = {.status = FG_DNS_RS_OK, .ttl = 30, .n = 2, .dnssec = FG_DNSSEC_SECURE};
  s.tlsa = calloc(1, sizeof(*s.tlsa));
  assert_non_null(s.tlsa);
  static const uint8_t kEe[] = {3, 1, 1, 0xaa, 0xbb}, kTa[] = {2, 0, 0, 0x30, 0x01, 0x02};
  assert_true(fg_dane_rrset_add(s.tlsa, kEe, sizeof(kEe)));
  assert_true(fg_dane_rrset_add(s.tlsa, kTa, sizeof(kTa)));
  fg_dns_cache_put(c, "_5269._tcp.xmpp.example.com", 52, &s);
  fg_dns_rrset_cleanup(&s);
  fg_dns_rrset a, b;
  assert_true(left(c, "_5269._tcp.xmpp.example.com", 52, &a) > 0);
  assert_true(left(c, "_5269._tcp.xmpp.example.com", 52, &b) > 0);
  assert_int_equal(a.dnssec, FG_DNSSEC_SECURE);
  assert_non_null(a.tlsa);
  assert_int_equal(a.tlsa->n, 2);
  assert_int_equal(a.tlsa->rec[1].usage, 2);
  assert_int_equal(a.tlsa->rec[1].len, 3);
  assert_memory_equal(a.tlsa->rec[1].data, "\x30\x01\x02", 3);
  assert_ptr_not_equal(a.tlsa->data, b.tlsa->data);
  fg_dns_rrset_cleanup(&a);
  fg_dns_rrset_cleanup(&b);
  fg_dns_rrset bogus = {.status = FG_DNS_RS_SERVFAIL, .dnssec = FG_DNSSEC_BOGUS};
  fg_dns_cache_put(c, "bad.example.com", ns_t_a, &bogus);
  assert_true(left(c, "bad.example.com", ns_t_a, &a) > 0);
  assert_int_equal(a.dnssec, FG_DNSSEC_BOGUS);
  fg_dns_rrset_cleanup(&a);
}

static void test_cache_disabled(void **state) {
  fg_dns_cache c;
  assert_true(fg_dns_cache_init(&c, 0, MAX_TTL, NEGATIVE_TTL, FAILURE_TTL));
  put_addrs(&c, "a.test", 1, 30);
  assert_int_equal(left(&c, "a.test", ns_t_a, NULL), -1);
  fg_dns_cache_clear(&c);
  fg_dns_cache_cleanup(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_cache_hit_is_a_copy_keyed_by_type_and_name, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rfc2308_5_time_kept_follows_the_answer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rfc2181_8_entry_expires_after_its_ttl, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cache_full_drops_oldest_insertion, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cache_put_replaces_same_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cache_cleared, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rfc6698_tlsa_answer_and_dnssec_status_cached, setup,
                                      teardown),
      cmocka_unit_test(test_cache_disabled),
  };
  return cmocka_run_group_tests_name("dns_cache", tests, NULL, NULL);
}
