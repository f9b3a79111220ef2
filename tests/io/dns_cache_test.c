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
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/dns_cache.h"

static void sleep_ms(unsigned ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// addrs makes an A answer of |n| addresses 192.0.2.1, .2, ... (freed by the
// caller with fg_dns_rrset_cleanup).
static fg_dns_rrset addrs(size_t n, uint32_t ttl) {
  fg_dns_rrset s = {.status = FG_DNS_RS_OK, .ttl = ttl, .n = n};
  s.addr = calloc(n, 16);
  assert_non_null(s.addr);
  for (size_t i = 0; i < n; i++) {
    s.addr[i][0] = 192;
    s.addr[i][2] = 2;
    s.addr[i][3] = (uint8_t)(i + 1);
  }
  return s;
}

static fg_dns_rrset failed(fg_dns_rstatus st) {
  fg_dns_rrset s = {.status = st};
  return s;
}

// lookup returns the seconds left of (|name|, |type|), or -1 on a miss.
static long lookup(fg_dns_cache *c, const char *name, uint16_t type, fg_dns_rrset *out) {
  memset(out, 0, sizeof(*out));
  if (!fg_dns_cache_get(c, name, type, out)) return -1;
  return (long)out->ttl;
}

static void test_cache_hit_is_a_copy_keyed_by_type_and_name(void **state) {
  fg_dns_cache c;
  assert_true(fg_dns_cache_init(&c, 100, 3600, 60, 10));
  fg_dns_rrset s = addrs(2, 300);
  fg_dns_cache_put(&c, "xmpp.example.com", ns_t_a, &s);
  s.addr[0][3] = 99;  // the cache kept its own copy
  fg_dns_rrset got;
  long ttl = lookup(&c, "xmpp.example.com", ns_t_a, &got);
  assert_true(ttl >= 299 && ttl <= 300);
  assert_int_equal(got.status, FG_DNS_RS_OK);
  assert_int_equal(got.n, 2);
  assert_ptr_not_equal(got.addr, s.addr);
  assert_memory_equal(got.addr[0], "\xc0\x00\x02\x01\0\0\0\0\0\0\0\0\0\0\0\0", 16);
  assert_memory_equal(got.addr[1], "\xc0\x00\x02\x02\0\0\0\0\0\0\0\0\0\0\0\0", 16);
  assert_null(got.srv);
  fg_dns_rrset_cleanup(&got);
  fg_dns_rrset miss;
  assert_int_equal(lookup(&c, "xmpp.example.com", ns_t_aaaa, &miss), -1);
  assert_int_equal(lookup(&c, "other.example.com", ns_t_a, &miss), -1);
  fg_dns_rrset_cleanup(&s);
  fg_dns_cache_cleanup(&c);
}

// RFC 2181 §8 / RFC 2308 §5: records for their TTL (capped here), negative
// answers and failures for fixed, shorter times; TTL 0 and cancelled
// questions are not kept.
static void test_rfc2308_5_time_kept_follows_the_answer(void **state) {
  fg_dns_cache c;
  assert_true(fg_dns_cache_init(&c, 100, 100, 60, 10));
  fg_dns_rrset got;
  fg_dns_rrset long_ttl = addrs(1, 3600), short_ttl = addrs(1, 30), zero = addrs(1, 0);
  fg_dns_cache_put(&c, "long.test", ns_t_a, &long_ttl);
  fg_dns_cache_put(&c, "short.test", ns_t_a, &short_ttl);
  fg_dns_cache_put(&c, "zero.test", ns_t_a, &zero);
  static const struct {
    const char *name;
    fg_dns_rstatus status;
    long ttl;  // -1: not kept
  } kFailures[] = {
      {"nx.test", FG_DNS_RS_NXDOMAIN, 60},    {"nodata.test", FG_DNS_RS_NODATA, 60},
      {"slow.test", FG_DNS_RS_TIMEOUT, 10},   {"broken.test", FG_DNS_RS_SERVFAIL, 10},
      {"stop.test", FG_DNS_RS_CANCELLED, -1},
  };
  for (size_t i = 0; i < sizeof(kFailures) / sizeof(kFailures[0]); i++) {
    fg_dns_rrset f = failed(kFailures[i].status);
    fg_dns_cache_put(&c, kFailures[i].name, ns_t_srv, &f);
  }
  long ttl = lookup(&c, "long.test", ns_t_a, &got);
  assert_true(ttl >= 99 && ttl <= 100);
  fg_dns_rrset_cleanup(&got);
  ttl = lookup(&c, "short.test", ns_t_a, &got);
  assert_true(ttl >= 29 && ttl <= 30);
  fg_dns_rrset_cleanup(&got);
  assert_int_equal(lookup(&c, "zero.test", ns_t_a, &got), -1);
  for (size_t i = 0; i < sizeof(kFailures) / sizeof(kFailures[0]); i++) {
    ttl = lookup(&c, kFailures[i].name, ns_t_srv, &got);
    if (kFailures[i].ttl < 0) {
      assert_int_equal(ttl, -1);
      continue;
    }
    assert_true(ttl >= kFailures[i].ttl - 1 && ttl <= kFailures[i].ttl);
    assert_int_equal(got.status, kFailures[i].status);
    assert_int_equal(got.n, 0);
    fg_dns_rrset_cleanup(&got);
  }
  fg_dns_rrset_cleanup(&long_ttl);
  fg_dns_rrset_cleanup(&short_ttl);
  fg_dns_rrset_cleanup(&zero);
  fg_dns_cache_cleanup(&c);
}

static void test_rfc2181_8_entry_expires_after_its_ttl(void **state) {
  fg_dns_cache c;
  assert_true(fg_dns_cache_init(&c, 100, 3600, 60, 10));
  fg_dns_rrset s = addrs(1, 1);
  fg_dns_cache_put(&c, "brief.test", ns_t_a, &s);
  fg_dns_rrset got;
  assert_int_equal(lookup(&c, "brief.test", ns_t_a, &got), 1);
  fg_dns_rrset_cleanup(&got);
  sleep_ms(1100);
  assert_int_equal(lookup(&c, "brief.test", ns_t_a, &got), -1);
  // The expired entry is gone, not only hidden: a new answer takes its place.
  fg_dns_cache_put(&c, "brief.test", ns_t_a, &s);
  assert_int_equal(lookup(&c, "brief.test", ns_t_a, &got), 1);
  fg_dns_rrset_cleanup(&got);
  fg_dns_rrset_cleanup(&s);
  fg_dns_cache_cleanup(&c);
}

static void test_cache_full_drops_oldest_insertion(void **state) {
  fg_dns_cache c;
  assert_true(fg_dns_cache_init(&c, 3, 3600, 60, 10));
  fg_dns_rrset s = addrs(1, 300), got;
  fg_dns_cache_put(&c, "a.test", ns_t_a, &s);
  fg_dns_cache_put(&c, "b.test", ns_t_a, &s);
  fg_dns_cache_put(&c, "c.test", ns_t_a, &s);
  // A hit does not make an entry younger (insertion order, not LRU).
  assert_true(lookup(&c, "a.test", ns_t_a, &got) > 0);
  fg_dns_rrset_cleanup(&got);
  fg_dns_cache_put(&c, "d.test", ns_t_a, &s);
  assert_int_equal(lookup(&c, "a.test", ns_t_a, &got), -1);
  static const char *const kKept[] = {"b.test", "c.test", "d.test"};
  for (size_t i = 0; i < 3; i++) {
    assert_true(lookup(&c, kKept[i], ns_t_a, &got) > 0);
    fg_dns_rrset_cleanup(&got);
  }
  fg_dns_rrset_cleanup(&s);
  fg_dns_cache_cleanup(&c);
}

static void test_cache_put_replaces_same_key(void **state) {
  fg_dns_cache c;
  assert_true(fg_dns_cache_init(&c, 2, 3600, 60, 10));
  fg_dns_rrset one = addrs(1, 300), two = addrs(2, 200), got;
  fg_dns_cache_put(&c, "a.test", ns_t_a, &one);
  fg_dns_cache_put(&c, "b.test", ns_t_a, &one);
  fg_dns_cache_put(&c, "b.test", ns_t_a, &two);
  long ttl = lookup(&c, "b.test", ns_t_a, &got);
  assert_true(ttl >= 199 && ttl <= 200);
  assert_int_equal(got.n, 2);
  fg_dns_rrset_cleanup(&got);
  // The replacement took no second slot: a.test is still there.
  assert_true(lookup(&c, "a.test", ns_t_a, &got) > 0);
  fg_dns_rrset_cleanup(&got);
  fg_dns_rrset_cleanup(&one);
  fg_dns_rrset_cleanup(&two);
  fg_dns_cache_cleanup(&c);
}

static void test_cache_disabled_and_cleared(void **state) {
  fg_dns_cache c;
  fg_dns_rrset s = addrs(1, 300), got;
  assert_true(fg_dns_cache_init(&c, 0, 3600, 60, 10));
  fg_dns_cache_put(&c, "a.test", ns_t_a, &s);
  assert_int_equal(lookup(&c, "a.test", ns_t_a, &got), -1);
  fg_dns_cache_clear(&c);
  fg_dns_cache_cleanup(&c);

  assert_true(fg_dns_cache_init(&c, 10, 3600, 60, 10));
  fg_dns_cache_put(&c, "a.test", ns_t_a, &s);
  fg_dns_cache_put(&c, "b.test", ns_t_aaaa, &s);
  fg_dns_cache_clear(&c);
  assert_int_equal(lookup(&c, "a.test", ns_t_a, &got), -1);
  assert_int_equal(lookup(&c, "b.test", ns_t_aaaa, &got), -1);
  fg_dns_rrset_cleanup(&s);
  fg_dns_cache_cleanup(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cache_hit_is_a_copy_keyed_by_type_and_name),
      cmocka_unit_test(test_rfc2308_5_time_kept_follows_the_answer),
      cmocka_unit_test(test_rfc2181_8_entry_expires_after_its_ttl),
      cmocka_unit_test(test_cache_full_drops_oldest_insertion),
      cmocka_unit_test(test_cache_put_replaces_same_key),
      cmocka_unit_test(test_cache_disabled_and_cleared),
  };
  return cmocka_run_group_tests_name("dns_cache", tests, NULL, NULL);
}
