// restart_keys_test.c: gateway/server/restart_keys.c, the keys a reload
// refuses because only a restart applies them; every other key reloads.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/server/restart_keys.h"

static char kPath[] = "/etc/fedgate/fedgate.yaml";
static char kNs1[] = "192.0.2.53", kNs2[] = "192.0.2.54";

static void base(fg_config *c) {
  memset(c, 0, sizeof(*c));
  c->path = kPath;
  c->workers = 2;
  for (int id = 0; id < FG_LISTENER_COUNT; id++) {
    c->listeners[id].enabled = 1;
    snprintf(c->listeners[id].address, sizeof(c->listeners[id].address), "127.0.0.1");
    c->listeners[id].port = (uint16_t)(5269 + id);
  }
  c->limits.ipv6_prefix = 64;
  c->limits.queue_stanzas = 1000;
  c->revocation.timeout_ms = 5000;
}

static char *g_ns_a[1] = {kNs1};
static char *g_ns_b[1] = {kNs2};

static void port(fg_config *c) {
  c->listeners[FG_LISTENER_S2S].port = 5999;
}
static void address(fg_config *c) {
  snprintf(c->listeners[FG_LISTENER_ADMIN].address, 64, "::1");
}
static void disabled(fg_config *c) {
  c->listeners[FG_LISTENER_S2S_TLS].enabled = 0;
}
static void workers(fg_config *c) {
  c->workers = 4;
}
static void prefix(fg_config *c) {
  c->limits.ipv6_prefix = 56;
}
static void nameservers(fg_config *c) {
  c->dns_nameservers = g_ns_b;
  c->n_dns_nameservers = 1;
}
static void rev_cache(fg_config *c) {
  c->revocation.cache_entries = 10;
}
static char kLogFile[] = "/var/log/fedgate.log";
static void log_file(fg_config *c) {
  c->log.file = kLogFile;
}
static void stapling(fg_config *c) {
  c->revocation.stapling.enabled = 1;
}

// listeners.*.proxy_protocol: turning it on or off changes what the first
// bytes of every connection are and takes a restart; the balancers'
// networks reload (each worker's listener takes them with the snapshot).
static fg_cidr g_lb_a[1] = {{.family = 2 /* AF_INET */, .addr = {10, 0, 1}, .bits = 24}};
static fg_cidr g_lb_b[1] = {{.family = 2 /* AF_INET */, .addr = {10, 0, 2}, .bits = 24}};
static void proxy_on(fg_config *c) {
  c->listeners[FG_LISTENER_S2S].proxy_trusted = g_lb_a;
  c->listeners[FG_LISTENER_S2S].n_proxy_trusted = 1;
}
static void proxy_other(fg_config *c) {
  c->listeners[FG_LISTENER_S2S_TLS].proxy_trusted = g_lb_b;
  c->listeners[FG_LISTENER_S2S_TLS].n_proxy_trusted = 1;
}

static void resume_timeout(fg_config *c) {
  c->sm.resume_timeout_s = 120;
}

static void test_restart_keys_each_named(void **state) {
  (void)state;
  static const struct {
    void (*change)(fg_config *);
    const char *want;
  } kCases[] = {
      {port,
       "/etc/fedgate/fedgate.yaml: listeners.s2s.port: changed from '5269' to '5999': "
       "needs a restart\n"},
      {address, "listeners.admin.address: changed from '127.0.0.1' to '::1'"},
      {disabled, "listeners.s2s-tls.enabled: changed from 'true' to 'false'"},
      {workers, "workers: changed from '2' to '4'"},
      {prefix, "limits.ipv6_prefix: changed from '64' to '56'"},
      {nameservers, "dns.nameservers: changed from '1 entry' to '1 entry, different'"},
      {rev_cache, "revocation.cache_entries: changed from '0' to '10'"},
      {stapling, "revocation.stapling.enabled: changed from 'false' to 'true'"},
      {log_file, "log.file: changed from '' to '/var/log/fedgate.log'"},
      {resume_timeout, "stream_management.resume_timeout (s): changed from '0' to '120'"},
      {proxy_on, "listeners.s2s.proxy_protocol: changed from 'off' to 'on': needs a restart"},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    fg_config a, b;
    base(&a);
    base(&b);
    a.dns_nameservers = g_ns_a;
    a.n_dns_nameservers = 1;
    b.dns_nameservers = g_ns_a;
    b.n_dns_nameservers = 1;
    kCases[i].change(&b);
    fg_text out = {0};
    assert_int_equal(fg_restart_keys_check(&a, &b, &out), 1);
    if (out.data == NULL || strstr(out.data, kCases[i].want) == NULL) {
      print_error("case %zu: want '%s', got '%s'\n", i, kCases[i].want, out.data);
      fail();
    }
    free(out.data);
  }
}

// What reloads (limits, domains, routes, certificates, policies) is not
// listed, and several changes are all listed.
static void test_restart_keys_reloadable_and_several(void **state) {
  (void)state;
  fg_config a, b;
  base(&a);
  base(&b);
  b.limits.queue_stanzas = 10;
  b.log_level = FG_LOG_DEBUG;
  b.revocation.mode = FG_REVOCATION_HARD_FAIL;
  b.revocation.timeout_ms = 1000;
  b.revocation.leaf_only = 1;
  b.sm.request_every = 3;  // XEP-0198 requests: the next link follows
  b.sm.enabled = 1;
  fg_text out = {0};
  assert_int_equal(fg_restart_keys_check(&a, &b, &out), 0);
  assert_null(out.data);
  port(&b);
  workers(&b);
  assert_int_equal(fg_restart_keys_check(&a, &b, &out), 2);
  assert_non_null(strstr(out.data, "listeners.s2s.port"));
  assert_non_null(strstr(out.data, "workers"));
  free(out.data);
}

// The PROXY protocol's balancers, listed the same: nothing to restart for;
// another network in their place: a restart, named.
static void test_restart_keys_proxy_protocol_trusted_networks(void **state) {
  (void)state;
  fg_config a, b;
  base(&a);
  base(&b);
  proxy_other(&a);
  proxy_other(&b);
  fg_text out = {0};
  assert_int_equal(fg_restart_keys_check(&a, &b, &out), 0);
  assert_null(out.data);
  b.listeners[FG_LISTENER_S2S_TLS].proxy_trusted = g_lb_a;  // other networks: they reload
  assert_int_equal(fg_restart_keys_check(&a, &b, &out), 0);
  assert_null(out.data);
  b.listeners[FG_LISTENER_S2S_TLS].n_proxy_trusted = 0;  // off: a restart
  assert_int_equal(fg_restart_keys_check(&a, &b, &out), 1);
  assert_non_null(out.data);
  assert_non_null(strstr(
      out.data, "listeners.s2s-tls.proxy_protocol: changed from 'on' to 'off': needs a restart"));
  free(out.data);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_restart_keys_each_named),
      cmocka_unit_test(test_restart_keys_reloadable_and_several),
      cmocka_unit_test(test_restart_keys_proxy_protocol_trusted_networks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
