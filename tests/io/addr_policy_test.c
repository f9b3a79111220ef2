// addr_policy_test.c: address classification (RFC 6890 and the IANA
// special-purpose registries), CIDR networks, address equality
// (io/addr_policy.c).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "io/addr_policy.h"

// sa_of fills |ss| with the numeric address |ip| (IPv4 or IPv6) and |port|.
static const struct sockaddr *sa_of(struct sockaddr_storage *ss, const char *ip, uint16_t port) {
  memset(ss, 0, sizeof(*ss));
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
  } else {
    assert_int_equal(inet_pton(AF_INET6, ip, &v6->sin6_addr), 1);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
  }
  return (const struct sockaddr *)ss;
}

// RFC 6890 §2.2.2 and §2.2.3 tables (with later additions): the block each
// address falls in, or NULL for global unicast.
static void test_rfc6890_special_purpose_blocks(void **state) {
  static const struct {
    const char *ip, *want;
  } kCases[] = {
      {"0.0.0.0", "unspecified"},
      {"0.1.2.3", "unspecified"},
      {"10.0.0.1", "private"},
      {"100.64.0.1", "shared"},
      {"100.127.255.255", "shared"},
      {"100.128.0.1", NULL},
      {"127.0.0.1", "loopback"},
      {"127.255.0.9", "loopback"},
      {"169.254.10.1", "link-local"},
      {"172.16.0.1", "private"},
      {"172.31.255.255", "private"},
      {"172.32.0.1", NULL},
      {"192.0.0.8", "ietf-protocol"},
      {"192.0.2.1", "documentation"},
      {"192.88.99.1", "6to4-relay"},
      {"192.168.1.1", "private"},
      {"198.18.0.1", "benchmarking"},
      {"198.19.255.255", "benchmarking"},
      {"198.20.0.1", NULL},
      {"198.51.100.7", "documentation"},
      {"203.0.113.9", "documentation"},
      {"224.0.0.1", "multicast"},
      {"239.255.255.255", "multicast"},
      {"240.0.0.1", "reserved"},
      {"255.255.255.255", "reserved"},
      {"8.8.8.8", NULL},
      {"193.0.14.129", NULL},
      {"::", "unspecified"},
      {"::1", "loopback"},
      {"::ffff:127.0.0.1", "loopback"},  // IPv4-mapped: the IPv4 rules
      {"::ffff:10.1.2.3", "private"},
      {"::ffff:8.8.8.8", NULL},
      {"64:ff9b::7f00:1", "loopback"},  // NAT64 well-known prefix
      {"64:ff9b::808:808", NULL},
      {"100::1", "discard"},
      {"2001::1", "teredo"},
      {"2001:2::1", "benchmarking"},
      {"2001:db8::1", "documentation"},
      {"2002:c000:0204::1", "6to4"},
      {"3fff::1", "documentation"},
      {"fc00::1", "unique-local"},
      {"fd12:3456::1", "unique-local"},
      {"fe80::1", "link-local"},
      {"fec0::1", "site-local"},
      {"ff02::1", "multicast"},
      {"4000::1", "reserved"},
      {"::2", "reserved"},
      {"2a00:1450:4001::1", NULL},
      {"2001:4860::8888", NULL},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    struct sockaddr_storage ss;
    const char *got = fg_addr_special_purpose(sa_of(&ss, kCases[i].ip, 5269));
    if (kCases[i].want == NULL) {
      if (got != NULL) fail_msg("%s: got %s, want global", kCases[i].ip, got);
    } else if (got == NULL || strcmp(got, kCases[i].want) != 0) {
      fail_msg("%s: got %s, want %s", kCases[i].ip, got ? got : "global", kCases[i].want);
    }
  }
}

static void test_cidr_parse_and_contains(void **state) {
  fg_cidr n;
  struct sockaddr_storage ss;
  assert_true(fg_cidr_parse(&n, "10.20.0.0/16"));
  assert_true(fg_cidr_contains(&n, sa_of(&ss, "10.20.3.4", 1)));
  assert_true(fg_cidr_contains(&n, sa_of(&ss, "::ffff:10.20.3.4", 1)));
  assert_false(fg_cidr_contains(&n, sa_of(&ss, "10.21.0.1", 1)));
  assert_false(fg_cidr_contains(&n, sa_of(&ss, "fd00::1", 1)));
  assert_true(fg_cidr_parse(&n, "fd00::/8"));
  assert_true(fg_cidr_contains(&n, sa_of(&ss, "fd12::1", 1)));
  assert_false(fg_cidr_contains(&n, sa_of(&ss, "fe80::1", 1)));
  assert_true(fg_cidr_parse(&n, "127.0.0.1"));  // a bare address is a /32
  assert_int_equal(n.bits, 32);
  assert_true(fg_cidr_contains(&n, sa_of(&ss, "127.0.0.1", 1)));
  assert_false(fg_cidr_contains(&n, sa_of(&ss, "127.0.0.2", 1)));
  assert_true(fg_cidr_parse(&n, "0.0.0.0/0"));
  assert_true(fg_cidr_contains(&n, sa_of(&ss, "8.8.8.8", 1)));
  assert_true(fg_cidr_parse(&n, "10.0.0.0/9"));  // a prefix not on a byte boundary
  assert_true(fg_cidr_contains(&n, sa_of(&ss, "10.127.0.1", 1)));
  assert_false(fg_cidr_contains(&n, sa_of(&ss, "10.128.0.1", 1)));
  static const char *const kBad[] = {
      "",           "10.0.0.0/33", "::/129",   "10.0.0.1/8", "10.0.0.0/",
      "10.0.0.0/x", "host.test",   "10.0.0/8", "fd00::1/8",  "10.0.0.0/8/8",
  };
  for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
    if (fg_cidr_parse(&n, kBad[i])) fail_msg("accepted '%s'", kBad[i]);
  }
  assert_false(fg_cidr_parse(&n, NULL));
}

static void test_same_ip_ignores_ports_and_ipv4_mapping(void **state) {
  struct sockaddr_storage a, b;
  assert_true(fg_addr_same_ip(sa_of(&a, "10.0.0.2", 1), sa_of(&b, "::ffff:10.0.0.2", 2)));
  assert_true(fg_addr_same_ip(sa_of(&a, "fd00::2", 1), sa_of(&b, "fd00::2", 5269)));
  assert_false(fg_addr_same_ip(sa_of(&a, "10.0.0.2", 1), sa_of(&b, "10.0.0.3", 1)));
  assert_false(fg_addr_same_ip(sa_of(&a, "::1", 1), sa_of(&b, "127.0.0.1", 1)));
  assert_true(fg_addr_is_unspecified(sa_of(&a, "0.0.0.0", 1)));
  assert_true(fg_addr_is_unspecified(sa_of(&a, "::", 1)));
  assert_false(fg_addr_is_unspecified(sa_of(&a, "127.0.0.1", 1)));
  assert_int_equal(fg_addr_port(sa_of(&a, "::1", 5271)), 5271);
  char text[64];
  fg_addr_text(sa_of(&a, "::ffff:192.0.2.1", 1), text, sizeof(text));
  assert_string_equal(text, "192.0.2.1");
  fg_addr_text(sa_of(&a, "2001:db8::1", 1), text, sizeof(text));
  assert_string_equal(text, "2001:db8::1");
}

// The key a per-source budget is kept under: IPv4 whole (mapped or not, the
// same key), IPv6 by its prefix, nothing else.
static void test_budget_key_ipv4_whole_ipv6_by_prefix(void **state) {
  struct sockaddr_storage a, b;
  uint8_t ka[16], kb[16];
  assert_int_equal(fg_addr_budget_key(sa_of(&a, "192.0.2.7", 1), 64, ka), 4);
  assert_int_equal(fg_addr_budget_key(sa_of(&b, "::ffff:192.0.2.7", 2), 64, kb), 4);
  assert_memory_equal(ka, kb, 4);
  assert_int_equal(fg_addr_budget_key(sa_of(&b, "192.0.2.8", 1), 64, kb), 4);
  assert_memory_not_equal(ka, kb, 4);
  // One /64 shares a key; the next /64 does not.
  assert_int_equal(fg_addr_budget_key(sa_of(&a, "2001:db8:1:2::1", 1), 64, ka), 16);
  assert_int_equal(fg_addr_budget_key(sa_of(&b, "2001:db8:1:2:ffff::9", 1), 64, kb), 16);
  assert_memory_equal(ka, kb, 16);
  fg_addr_budget_key(sa_of(&b, "2001:db8:1:3::1", 1), 64, kb);
  assert_memory_not_equal(ka, kb, 16);
  // A prefix that is not a whole number of bytes masks within the byte.
  fg_addr_budget_key(sa_of(&a, "2001:db8:1:20::1", 1), 60, ka);
  fg_addr_budget_key(sa_of(&b, "2001:db8:1:2f::1", 1), 60, kb);
  assert_memory_equal(ka, kb, 16);
  fg_addr_budget_key(sa_of(&b, "2001:db8:1:30::1", 1), 60, kb);
  assert_memory_not_equal(ka, kb, 16);
  // 128: the exact address.
  fg_addr_budget_key(sa_of(&a, "2001:db8::1", 1), 128, ka);
  fg_addr_budget_key(sa_of(&b, "2001:db8::2", 1), 128, kb);
  assert_memory_not_equal(ka, kb, 16);
  struct sockaddr other = {.sa_family = AF_UNIX};
  assert_int_equal(fg_addr_budget_key(&other, 64, ka), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc6890_special_purpose_blocks),
      cmocka_unit_test(test_cidr_parse_and_contains),
      cmocka_unit_test(test_same_ip_ignores_ports_and_ipv4_mapping),
      cmocka_unit_test(test_budget_key_ipv4_whole_ipv6_by_prefix),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
