// router_test.c: hosted-domain lookup and rendezvous-hashed backend choice.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/server/router.h"

static fg_config_target kMainAddrs[] = {
    {"10.0.0.1", 5269}, {"10.0.0.2", 5269},           {"10.0.0.3", 5269},
    {"10.0.0.4", 5269}, {"prosody-5.internal", 5269},
};
static fg_config_target kMucAddrs[] = {{"10.0.1.1", 5269}, {"10.0.1.1", 5270}};
static fg_config_target kOneAddr[] = {{"::1", 15269}};

static fg_config_backend kBackends[] = {
    {"main", kMainAddrs, 5},
    {"muc", kMucAddrs, 2},
    {"legacy", kOneAddr, 1},
};

static fg_config_domain kDomains[] = {
    {"example.com", 0, 0, NULL, NULL},
    {"chat.example.com", 1, 1, NULL, NULL},        // *.chat.example.com
    {"example.com", 1, 2, NULL, NULL},             // *.example.com
    {"rooms.chat.example.com", 1, 0, NULL, NULL},  // *.rooms.chat.example.com
    {"pinned.chat.example.com", 0, 2, NULL, NULL},
    {"xn--mnchen-3ya.example", 0, 2, NULL, NULL},  // münchen.example
};

static fg_config make_config(void) {
  fg_config c;
  memset(&c, 0, sizeof(c));
  c.domains = kDomains;
  c.n_domains = sizeof(kDomains) / sizeof(kDomains[0]);
  c.backends = kBackends;
  c.n_backends = sizeof(kBackends) / sizeof(kBackends[0]);
  return c;
}

static int setup(void **state) {
  fg_config c = make_config();
  *state = fg_router_new(&c);
  return *state == NULL ? -1 : 0;
}

static int teardown(void **state) {
  fg_router_free(*state);
  return 0;
}

static long backend_of(const fg_router *r, const char *d) {
  size_t b;
  if (!fg_router_lookup(r, d, strlen(d), &b)) return -1;
  return (long)b;
}

// RFC 6120 §4.9.3.6 (host-unknown) is decided by this lookup: exact names.
static void test_rfc6120_4_9_3_6_exact_and_unknown(void **state) {
  const fg_router *r = *state;
  assert_int_equal(backend_of(r, "example.com"), 0);
  assert_int_equal(backend_of(r, "pinned.chat.example.com"), 2);
  assert_int_equal(backend_of(r, "example.org"), -1);
  assert_int_equal(backend_of(r, "com"), -1);
  assert_int_equal(backend_of(r, ""), -1);
  assert_int_equal(backend_of(r, "."), -1);
  assert_int_equal(backend_of(r, "example.com.evil"), -1);
  assert_int_equal(backend_of(r, "xample.com"), -1);
  // Embedded NUL: the length is what counts.
  size_t b;
  assert_int_equal(fg_router_lookup(r, "example.com\0x", 13, &b), 0);
  assert_int_equal(fg_router_lookup(r, "example.comXYZ", 11, &b), 1);
}

// Wildcards: `*.suffix` matches names below the suffix at any depth, not the
// suffix itself; the longest matching suffix wins; exact beats wildcard.
static void test_wildcard_longest_suffix_wins(void **state) {
  const fg_router *r = *state;
  assert_int_equal(backend_of(r, "conference.example.com"), 2);  // *.example.com
  assert_int_equal(backend_of(r, "a.b.c.example.com"), 2);       // any depth
  assert_int_equal(backend_of(r, "chat.example.com"), 2);        // not *.chat itself
  assert_int_equal(backend_of(r, "room1.chat.example.com"), 1);  // *.chat beats *.example
  assert_int_equal(backend_of(r, "x.y.chat.example.com"), 1);
  assert_int_equal(backend_of(r, "rooms.chat.example.com"), 1);       // *.chat.example.com
  assert_int_equal(backend_of(r, "a.rooms.chat.example.com"), 0);     // longer suffix
  assert_int_equal(backend_of(r, "pinned.chat.example.com"), 2);      // exact beats wildcard
  assert_int_equal(backend_of(r, "sub.pinned.chat.example.com"), 1);  // exact is not a suffix
  assert_int_equal(backend_of(r, ".example.com"), 2);  // empty label: the caller validates JIDs
  assert_int_equal(backend_of(r, "example.co"), -1);
  assert_int_equal(backend_of(r, "badexample.com"), -1);  // label boundary respected
}

// RFC 7622 §3.2.1 / RFC 6120 §13.7.1: domain comparison is ASCII
// case-insensitive and one trailing dot is ignored.
static void test_rfc7622_3_2_case_and_trailing_dot(void **state) {
  const fg_router *r = *state;
  assert_int_equal(backend_of(r, "EXAMPLE.com"), 0);
  assert_int_equal(backend_of(r, "Example.Com."), 0);
  assert_int_equal(backend_of(r, "example.com.."), -1);
  assert_int_equal(backend_of(r, "Room.CHAT.example.COM"), 1);
  assert_int_equal(backend_of(r, "XN--MNCHEN-3YA.example"), 2);
  // The canonical U-label spelling is indexed too (RFC 5890 §2.3.2.1).
  assert_int_equal(backend_of(r,
                              "m\xc3\xbc"
                              "nchen.example"),
                   2);
  assert_int_equal(backend_of(r,
                              "M\xc3\xbc"
                              "NCHEN.example"),
                   2);  // ASCII part folded
  assert_int_equal(fg_router_domain_count(r), 7);
}

static void route_all(const fg_router *r, size_t n, size_t *choice) {
  for (size_t i = 0; i < n; i++) {
    char d[64];
    // Names under *.rooms.chat.example.com go to "main" (five addresses).
    snprintf(d, sizeof(d), "h%zu.rooms.chat.example.com", i);
    fg_route rt;
    assert_int_equal(fg_router_route(r, d, strlen(d), &rt), FG_ROUTE_OK);
    assert_int_equal(rt.backend, 0);
    choice[i] = rt.address;
  }
}

// Rendezvous hashing: deterministic, spreads domains over all addresses,
// and marking one address down moves only the domains it served.
static void test_router_hrw_consistency_on_failover(void **state) {
  fg_router *r = *state;
  enum { N = 2000 };
  static size_t before[N], during[N], after[N];
  route_all(r, N, before);
  size_t per[5] = {0};
  for (size_t i = 0; i < N; i++) per[before[i]]++;
  for (size_t a = 0; a < 5; a++) assert_true(per[a] > N / 10);  // each gets a share

  assert_int_equal(fg_router_mark_down(r, 0, 2), 1);
  assert_int_equal(fg_router_is_up(r, 0, 2), 0);
  route_all(r, N, during);
  size_t moved = 0, per_moved[5] = {0};
  for (size_t i = 0; i < N; i++) {
    assert_int_not_equal(during[i], 2);
    if (before[i] != 2) {
      assert_int_equal(during[i], before[i]);  // the others keep their choice
    } else {
      moved++;
      per_moved[during[i]]++;
    }
  }
  assert_int_equal(moved, per[2]);
  // The moved domains spread over the remaining addresses.
  for (size_t a = 0; a < 5; a++) {
    if (a != 2) assert_true(per_moved[a] > 0);
  }

  assert_int_equal(fg_router_mark_up(r, 0, 2), 1);
  route_all(r, N, after);
  for (size_t i = 0; i < N; i++) assert_int_equal(after[i], before[i]);
}

// Failover walks down the preference order; all down gives none.
static void test_router_failover_and_all_down(void **state) {
  fg_router *r = *state;
  const char *d = "someone.rooms.chat.example.com";
  fg_route rt;
  int seen[5] = {0};
  for (int step = 0; step < 5; step++) {
    assert_int_equal(fg_router_route(r, d, strlen(d), &rt), FG_ROUTE_OK);
    assert_int_equal(seen[rt.address], 0);
    seen[rt.address] = 1;
    assert_string_equal(rt.backend_name, "main");
    assert_string_equal(rt.host, kMainAddrs[rt.address].host);
    assert_int_equal(rt.port, 5269);
    fg_router_mark_down(r, 0, rt.address);
  }
  assert_int_equal(fg_router_route(r, d, strlen(d), &rt), FG_ROUTE_BACKEND_DOWN);
  assert_int_equal(rt.backend, 0);
  // Other backends are unaffected.
  assert_int_equal(fg_router_route(r, "muc1.chat.example.com", 21, &rt), FG_ROUTE_OK);
  assert_int_equal(rt.backend, 1);
  assert_int_equal(fg_router_route(r, "nope.example", 12, &rt), FG_ROUTE_NOT_HOSTED);
  for (size_t a = 0; a < 5; a++) fg_router_mark_up(r, 0, a);
  assert_int_equal(fg_router_route(r, d, strlen(d), &rt), FG_ROUTE_OK);
  // Same address for the same domain in any letter case.
  fg_route rt2;
  assert_int_equal(fg_router_route(r, "SOMEONE.rooms.chat.example.com.", 31, &rt2), FG_ROUTE_OK);
  assert_int_equal(rt2.address, rt.address);
  // Out-of-range marks are refused.
  assert_int_equal(fg_router_mark_down(r, 0, 5), 0);
  assert_int_equal(fg_router_mark_down(r, 3, 0), 0);
  assert_int_equal(fg_router_is_up(r, 9, 0), 0);
}

// Two addresses on the same host differ by port and hash differently.
static void test_router_same_host_different_port(void **state) {
  fg_router *r = *state;
  int seen[2] = {0};
  for (int i = 0; i < 200; i++) {
    char d[64];
    snprintf(d, sizeof(d), "r%d.chat.example.com", i);
    fg_route rt;
    assert_int_equal(fg_router_route(r, d, strlen(d), &rt), FG_ROUTE_OK);
    seen[rt.address] = 1;
  }
  assert_true(seen[0] && seen[1]);
}

static void test_router_rejects_bad_backend_index(void **state) {
  (void)state;
  fg_config c = make_config();
  fg_config_domain bad[] = {{"x.example", 0, 7, NULL, NULL}};
  c.domains = bad;
  c.n_domains = 1;
  assert_null(fg_router_new(&c));
  fg_router_free(NULL);
}

// Draining one address moves only the domains it served, to the other
// addresses; undraining brings them back; draining every address of a
// backend answers FG_ROUTE_DRAINED, apart from health.
static void test_router_drain_address_and_backend(void **state) {
  fg_router *r = *state;
  fg_route before, after;
  assert_int_equal(fg_router_route(r, "a.chat.example.com", 18, &before), FG_ROUTE_OK);
  assert_int_equal(before.backend, 1);
  uint64_t epoch = fg_router_health_epoch(r);
  assert_int_equal(fg_router_set_drained(r, 1, before.address, 1), 1);
  assert_true(fg_router_health_epoch(r) != epoch);
  assert_int_equal(fg_router_is_drained(r, 1, before.address), 1);
  assert_int_equal(fg_router_route(r, "a.chat.example.com", 18, &after), FG_ROUTE_OK);
  assert_int_not_equal(after.address, before.address);
  // Draining twice changes nothing more.
  epoch = fg_router_health_epoch(r);
  assert_int_equal(fg_router_set_drained(r, 1, before.address, 1), 1);
  assert_true(fg_router_health_epoch(r) == epoch);
  // The other address drained too: the whole backend is drained.
  assert_int_equal(fg_router_set_drained(r, 1, after.address, 1), 1);
  assert_int_equal(fg_router_route(r, "a.chat.example.com", 18, &after), FG_ROUTE_DRAINED);
  assert_int_equal(after.backend, 1);
  // Other backends are untouched.
  assert_int_equal(fg_router_route(r, "example.com", 11, &after), FG_ROUTE_OK);
  assert_int_equal(fg_router_set_drained(r, 1, SIZE_MAX, 0), 1);
  assert_int_equal(fg_router_route(r, "a.chat.example.com", 18, &after), FG_ROUTE_OK);
  assert_int_equal(after.address, before.address);
  // Drained addresses and down addresses together: down wins when some
  // address is not drained.
  assert_int_equal(fg_router_set_drained(r, 2, SIZE_MAX, 1), 1);
  assert_int_equal(fg_router_route(r, "pinned.chat.example.com", 23, &after), FG_ROUTE_DRAINED);
  assert_int_equal(fg_router_set_drained(r, 2, SIZE_MAX, 0), 1);
  assert_int_equal(fg_router_mark_down(r, 2, 0), 1);
  assert_int_equal(fg_router_route(r, "pinned.chat.example.com", 23, &after),
                   FG_ROUTE_BACKEND_DOWN);
  assert_int_equal(fg_router_set_drained(r, 3, SIZE_MAX, 1), 0);
  assert_int_equal(fg_router_set_drained(r, 1, 2, 1), 0);
}

static void test_router_backend_names_and_addresses(void **state) {
  fg_router *r = *state;
  size_t b = 99;
  assert_int_equal(fg_router_backend_count(r), 3);
  assert_int_equal(fg_router_backend_find(r, "muc", &b), 1);
  assert_int_equal(b, 1);
  assert_int_equal(fg_router_backend_find(r, "nope", &b), 0);
  assert_string_equal(fg_router_backend_name(r, 2), "legacy");
  assert_null(fg_router_backend_name(r, 3));
  assert_int_equal(fg_router_address_count(r, 0), 5);
  const char *host;
  uint16_t port;
  assert_int_equal(fg_router_address(r, 1, 1, &host, &port), 1);
  assert_string_equal(host, "10.0.1.1");
  assert_int_equal(port, 5270);
  assert_int_equal(fg_router_address(r, 1, 2, &host, &port), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_rfc6120_4_9_3_6_exact_and_unknown, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wildcard_longest_suffix_wins, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rfc7622_3_2_case_and_trailing_dot, setup, teardown),
      cmocka_unit_test_setup_teardown(test_router_hrw_consistency_on_failover, setup, teardown),
      cmocka_unit_test_setup_teardown(test_router_failover_and_all_down, setup, teardown),
      cmocka_unit_test_setup_teardown(test_router_same_host_different_port, setup, teardown),
      cmocka_unit_test(test_router_rejects_bad_backend_index),
      cmocka_unit_test_setup_teardown(test_router_drain_address_and_backend, setup, teardown),
      cmocka_unit_test_setup_teardown(test_router_backend_names_and_addresses, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
