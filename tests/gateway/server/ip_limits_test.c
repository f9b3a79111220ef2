// ip_limits_test.c: streams per source address (gateway/server/ip_limits.c):
// exact IPv4 addresses, IPv4-mapped IPv6 as IPv4, IPv6 by prefix, and no
// address ever sharing another's budget.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/server/ip_limits.h"

static const struct sockaddr *addr(struct sockaddr_storage *ss, const char *ip) {
  memset(ss, 0, sizeof(*ss));
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
  } else {
    assert_int_equal(inet_pton(AF_INET6, ip, &v6->sin6_addr), 1);
    v6->sin6_family = AF_INET6;
  }
  return (const struct sockaddr *)ss;
}

static void test_limit_holds_per_exact_ipv4_address(void **state) {
  (void)state;
  fg_ip_limits *l = fg_ip_limits_new(64);
  struct sockaddr_storage a;
  unsigned open = 0;
  for (int i = 0; i < 3; i++) assert_true(fg_ip_limits_acquire(l, addr(&a, "192.0.2.1"), 3, &open));
  assert_int_equal(open, 3);
  assert_false(fg_ip_limits_acquire(l, addr(&a, "192.0.2.1"), 3, &open));
  assert_int_equal(open, 4);
  // The IPv4-mapped form is the same address.
  assert_false(fg_ip_limits_acquire(l, addr(&a, "::ffff:192.0.2.1"), 3, NULL));
  // Another address has its own budget.
  assert_true(fg_ip_limits_acquire(l, addr(&a, "192.0.2.2"), 3, NULL));
  fg_ip_limits_release(l, addr(&a, "192.0.2.1"));
  assert_true(fg_ip_limits_acquire(l, addr(&a, "::ffff:192.0.2.1"), 3, NULL));
  assert_int_equal(fg_ip_limits_tracked(l), 2);
  for (int i = 0; i < 3; i++) fg_ip_limits_release(l, addr(&a, "192.0.2.1"));
  fg_ip_limits_release(l, addr(&a, "192.0.2.2"));
  assert_int_equal(fg_ip_limits_tracked(l), 0);
  fg_ip_limits_free(l);
}

// Many addresses just under the limit: none is refused (a shared slot would
// have lumped some together).
static void test_many_addresses_never_share_a_budget(void **state) {
  (void)state;
  fg_ip_limits *l = fg_ip_limits_new(64);
  struct sockaddr_storage a;
  char ip[32];
  for (int n = 0; n < 20000; n++) {
    snprintf(ip, sizeof(ip), "10.%d.%d.%d", n / 65536, (n / 256) % 256, n % 256);
    for (int k = 0; k < 3; k++) assert_true(fg_ip_limits_acquire(l, addr(&a, ip), 3, NULL));
  }
  assert_int_equal(fg_ip_limits_tracked(l), 20000);
  fg_ip_limits_free(l);
}

static void test_ipv6_counted_by_prefix(void **state) {
  (void)state;
  fg_ip_limits *l = fg_ip_limits_new(64);
  struct sockaddr_storage a;
  assert_true(fg_ip_limits_acquire(l, addr(&a, "2001:db8:1:2::1"), 2, NULL));
  assert_true(fg_ip_limits_acquire(l, addr(&a, "2001:db8:1:2:ffff::9"), 2, NULL));
  assert_false(fg_ip_limits_acquire(l, addr(&a, "2001:db8:1:2:abcd::7"), 2, NULL));
  assert_true(fg_ip_limits_acquire(l, addr(&a, "2001:db8:1:3::1"), 2, NULL));  // another /64
  fg_ip_limits_free(l);
  l = fg_ip_limits_new(128);
  assert_true(fg_ip_limits_acquire(l, addr(&a, "2001:db8:1:2::1"), 1, NULL));
  assert_true(fg_ip_limits_acquire(l, addr(&a, "2001:db8:1:2::2"), 1, NULL));
  assert_false(fg_ip_limits_acquire(l, addr(&a, "2001:db8:1:2::1"), 1, NULL));
  fg_ip_limits_free(l);
  l = fg_ip_limits_new(60);  // not on a byte boundary
  assert_true(fg_ip_limits_acquire(l, addr(&a, "2001:db8:1:20::1"), 1, NULL));
  assert_false(fg_ip_limits_acquire(l, addr(&a, "2001:db8:1:2f::1"), 1, NULL));
  assert_true(fg_ip_limits_acquire(l, addr(&a, "2001:db8:1:30::1"), 1, NULL));
  fg_ip_limits_free(l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_limit_holds_per_exact_ipv4_address),
      cmocka_unit_test(test_many_addresses_never_share_a_budget),
      cmocka_unit_test(test_ipv6_counted_by_prefix),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
