// dns_test.c: the resolver of io/dns (dns.c) against a real DNS server
// (dnsmasq) on loopback, plus a silent UDP socket (timeouts) and a scripted
// UDP server (SERVFAIL, spoofed answers). The parser, the cache and the name
// rules have their own tests: dns_wire_test.c, dns_cache_test.c, dns_name_test.c.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/dns.h"

static char g_dir[256];
static char g_hosts[300];
static char g_ns[64];  // "127.0.0.1:PORT" of dnsmasq
static pid_t g_dnsmasq = -1;

// --- helpers ---

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

typedef struct waiter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  fg_dns_result *res;
  int calls;
} waiter;

static void on_result(void *arg, fg_dns_result *res) {
  waiter *w = arg;
  pthread_mutex_lock(&w->mu);
  w->res = res;
  w->calls++;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

static fg_dns_result *wait_result(waiter *wp);

// resolve runs one request and waits for its callback.
static fg_dns_result *resolve(fg_dns *dns, const char *domain) {
  waiter w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
  assert_int_equal(fg_dns_resolve_xmpp_server(dns, domain, on_result, &w), FG_DNS_QUEUED);
  return wait_result(&w);
}

// resolve_host is resolve for fg_dns_resolve_host.
static fg_dns_result *resolve_host(fg_dns *dns, const char *host, uint16_t port) {
  waiter w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
  assert_int_equal(fg_dns_resolve_host(dns, host, port, on_result, &w), FG_DNS_QUEUED);
  return wait_result(&w);
}

// wait_result waits (at most 20 s) for |wp|'s one callback.
static fg_dns_result *wait_result(waiter *wp) {
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 20;
  pthread_mutex_lock(&wp->mu);
  while (wp->res == NULL) {
    if (pthread_cond_timedwait(&wp->cv, &wp->mu, &dl) != 0) break;
  }
  pthread_mutex_unlock(&wp->mu);
  assert_non_null(wp->res);
  assert_int_equal(wp->calls, 1);
  return wp->res;
}

static fg_dns *new_dns(const char *const *ns, size_t n, uint64_t seed) {
  fg_dns_config c;
  fg_dns_config_init(&c);
  c.nameservers = ns;
  c.n_nameservers = n;
  c.rng_seed = seed;
  c.timeout_ms = 1000;
  char err[256] = "";
  fg_dns *dns = fg_dns_new(&c, err, sizeof(err));
  if (dns == NULL) fprintf(stderr, "fg_dns_new: %s\n", err);
  assert_non_null(dns);
  return dns;
}

static fg_dns *dnsmasq_resolver(uint64_t seed) {
  static const char *ns[1];
  ns[0] = g_ns;
  return new_dns(ns, 1, seed);
}

// addr_text formats a candidate as "IP:port" or "[IPv6]:port".
static const char *addr_text(const fg_dns_candidate *c, char *buf, size_t cap) {
  char ip[INET6_ADDRSTRLEN];
  if (c->addr.ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&c->addr;
    inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
    assert_int_equal(ntohs(s6->sin6_port), c->port);
    snprintf(buf, cap, "[%s]:%u", ip, c->port);
  } else {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&c->addr;
    assert_int_equal(c->addr.ss_family, AF_INET);
    inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
    assert_int_equal(ntohs(s4->sin_port), c->port);
    snprintf(buf, cap, "%s:%u", ip, c->port);
  }
  return buf;
}

// expect_candidates checks the whole ordered list: "host addr tls|plain".
static void expect_candidates(const fg_dns_result *r, const char *const *want, size_t n) {
  if (r->status != FG_DNS_OK) fprintf(stderr, "%s: %s\n", r->domain, r->reason);
  assert_int_equal(r->status, FG_DNS_OK);
  for (size_t i = 0; i < r->num_candidates; i++) {
    char a[80], line[400];
    snprintf(line, sizeof(line), "%s %s %s", r->candidates[i].host,
             addr_text(&r->candidates[i], a, sizeof(a)),
             r->candidates[i].direct_tls ? "tls" : "plain");
    if (i >= n || strcmp(line, want[i]) != 0) {
      fprintf(stderr, "candidate %zu: got \"%s\", want \"%s\"\n", i, line, i < n ? want[i] : "-");
    }
    assert_true(i < n);
    assert_string_equal(line, want[i]);
  }
  assert_int_equal(r->num_candidates, n);
}

static uint16_t free_port(void) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t l = sizeof(a);
  getsockname(fd, (struct sockaddr *)&a, &l);
  close(fd);
  return ntohs(a.sin_port);
}

// udp_socket opens a bound loopback UDP socket and writes its "IP:port".
static int udp_socket(char *text, size_t cap) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t l = sizeof(a);
  getsockname(fd, (struct sockaddr *)&a, &l);
  snprintf(text, cap, "127.0.0.1:%u", ntohs(a.sin_port));
  return fd;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

// --- the zone (dnsmasq) ---

static const char kZone[] =
    "local=/test/\n"
    // RFC 2782 priorities, XEP-0368 mixing: prio.test
    "srv-host=_xmpp-server._tcp.prio.test,plain-b.prio.test,5269,20,0\n"
    "srv-host=_xmpp-server._tcp.prio.test,plain-a.prio.test,5269,5,0\n"
    "srv-host=_xmpps-server._tcp.prio.test,tls.prio.test,5270,10,0\n"
    "host-record=plain-a.prio.test,127.0.1.1\n"
    "host-record=plain-b.prio.test,127.0.1.2\n"
    "host-record=tls.prio.test,127.0.1.3\n"
    // Weights within one priority: weights.test
    "srv-host=_xmpp-server._tcp.weights.test,w10.weights.test,5269,10,10\n"
    "srv-host=_xmpp-server._tcp.weights.test,w30.weights.test,5269,10,30\n"
    "srv-host=_xmpp-server._tcp.weights.test,w60.weights.test,5269,10,60\n"
    "host-record=w10.weights.test,127.0.2.10\n"
    "host-record=w30.weights.test,127.0.2.30\n"
    "host-record=w60.weights.test,127.0.2.60\n"
    // A zero weight beside a non-zero one: zero.test
    "srv-host=_xmpp-server._tcp.zero.test,z0.zero.test,5269,1,0\n"
    "srv-host=_xmpp-server._tcp.zero.test,z100.zero.test,5269,1,100\n"
    "host-record=z0.zero.test,127.0.3.1\n"
    "host-record=z100.zero.test,127.0.3.2\n"
    // Both services at one priority, weights mixed (XEP-0368 §3): mixw.test
    "srv-host=_xmpps-server._tcp.mixw.test,tls.mixw.test,5270,0,75\n"
    "srv-host=_xmpp-server._tcp.mixw.test,plain.mixw.test,5269,0,25\n"
    "host-record=tls.mixw.test,127.0.4.1\n"
    "host-record=plain.mixw.test,127.0.4.2\n"
    // "." targets: dot.test (both services), halfdot.test (direct TLS only)
    "srv-host=_xmpp-server._tcp.dot.test\n"
    "srv-host=_xmpps-server._tcp.dot.test\n"
    "host-record=dot.test,127.0.5.1\n"
    "srv-host=_xmpps-server._tcp.halfdot.test\n"
    "srv-host=_xmpp-server._tcp.halfdot.test,xmpp.halfdot.test,5269,0,0\n"
    "host-record=xmpp.halfdot.test,127.0.5.2\n"
    // No SRV at all: nosrv.test has A and AAAA, v4only.test only A,
    // noaddr.test exists (a TXT record) with neither.
    "host-record=nosrv.test,127.0.6.1,fd00::6:1\n"
    "host-record=v4only.test,127.0.6.2\n"
    "txt-record=noaddr.test,\"v=none\"\n"
    // Several addresses per target, two targets: multi.test
    "srv-host=_xmpp-server._tcp.multi.test,one.multi.test,5269,1,0\n"
    "srv-host=_xmpp-server._tcp.multi.test,two.multi.test,5299,2,0\n"
    "host-record=one.multi.test,127.0.7.1,fd00::7:1\n"
    "host-record=one.multi.test,127.0.7.2,fd00::7:2\n"
    "host-record=one.multi.test,127.0.7.3\n"
    "host-record=two.multi.test,127.0.7.9\n"
    // A target without an address: ghost.test
    "srv-host=_xmpp-server._tcp.ghost.test,gone.ghost.test,5269,0,0\n"
    // A CNAME'd target: alias.test
    "srv-host=_xmpp-server._tcp.alias.test,www.alias.test,5269,0,0\n"
    "cname=www.alias.test,real.alias.test\n"
    "host-record=real.alias.test,127.0.8.1\n"
    // Static override targets
    "host-record=pinned-host.test,127.0.9.1\n";

// big.test gets 40 SRV records: more than a 512-byte UDP answer holds.
static void append_big(FILE *f) {
  for (int i = 0; i < 40; i++) {
    fprintf(f, "srv-host=_xmpp-server._tcp.big.test,host.big.test,%d,0,0\n", 6000 + i);
  }
  fprintf(f, "host-record=host.big.test,127.0.10.1\n");
}

static const char *find_dnsmasq(void) {
  static const char *const kPaths[] = {"/usr/sbin/dnsmasq", "/sbin/dnsmasq", "/usr/bin/dnsmasq"};
  for (size_t i = 0; i < sizeof(kPaths) / sizeof(kPaths[0]); i++) {
    if (access(kPaths[i], X_OK) == 0) return kPaths[i];
  }
  return NULL;
}

static int start_dnsmasq(void **state) {
  const char *bin = find_dnsmasq();
  if (bin == NULL) {
    fprintf(stderr, "dnsmasq not installed (Debian package dnsmasq-base)\n");
    return -1;
  }
  const char *tmp = getenv("TEST_TMPDIR");
  snprintf(g_dir, sizeof(g_dir), "%s/dnsXXXXXX", tmp ? tmp : "/tmp");
  if (mkdtemp(g_dir) == NULL) return -1;
  chmod(g_dir, 0755);  // dnsmasq re-reads the hosts file after dropping root
  char conf[300];
  snprintf(conf, sizeof(conf), "%s/zone.conf", g_dir);
  snprintf(g_hosts, sizeof(g_hosts), "%s/hosts", g_dir);
  FILE *f = fopen(conf, "w");
  if (f == NULL) return -1;
  fputs(kZone, f);
  append_big(f);
  fclose(f);
  write_file(g_hosts, "127.0.11.1 ttl.test\n");
  chmod(g_hosts, 0644);
  chmod(conf, 0644);

  for (int attempt = 0; attempt < 5; attempt++) {
    uint16_t port = free_port();
    char a_port[32], a_conf[320], a_hosts[320];
    snprintf(a_port, sizeof(a_port), "--port=%u", port);
    snprintf(a_conf, sizeof(a_conf), "--conf-file=%s", conf);
    snprintf(a_hosts, sizeof(a_hosts), "--addn-hosts=%s", g_hosts);
    // As root, stay root: the hosts file under Bazel's private tmp is
    // re-read on SIGHUP, after dnsmasq would have become nobody.
    const char *user = geteuid() == 0 ? "--user=root" : "--no-poll";
    pid_t pid = fork();
    if (pid == 0) {
      execl(bin, bin, user, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll",
            "--bind-interfaces", "--listen-address=127.0.0.1", "--pid-file", "--local-ttl=2",
            "--log-facility=/dev/null", a_port, a_conf, a_hosts, (char *)NULL);
      _exit(127);
    }
    g_dnsmasq = pid;
    snprintf(g_ns, sizeof(g_ns), "127.0.0.1:%u", port);
    // Wait until it answers.
    fg_dns *dns = dnsmasq_resolver(1);
    for (int i = 0; i < 50; i++) {
      int st;
      if (waitpid(pid, &st, WNOHANG) == pid) {
        g_dnsmasq = -1;
        break;
      }
      fg_dns_cache_flush(dns);
      fg_dns_result *r = resolve(dns, "nosrv.test");
      int ok = r->status == FG_DNS_OK;
      fg_dns_result_free(r);
      if (ok) {
        fg_dns_free(dns);
        return 0;
      }
      sleep_ms(100);
    }
    fg_dns_free(dns);
    if (g_dnsmasq > 0) {
      kill(g_dnsmasq, SIGTERM);
      waitpid(g_dnsmasq, NULL, 0);
      g_dnsmasq = -1;
    }
  }
  fprintf(stderr, "dnsmasq did not start\n");
  return -1;
}

static int stop_dnsmasq(void **state) {
  if (g_dnsmasq > 0) {
    kill(g_dnsmasq, SIGTERM);
    waitpid(g_dnsmasq, NULL, 0);
    g_dnsmasq = -1;
  }
  char path[400];
  snprintf(path, sizeof(path), "%s/zone.conf", g_dir);
  unlink(path);
  unlink(g_hosts);
  rmdir(g_dir);
  return 0;
}

// --- RFC 6120 §3.2.1 / RFC 2782 / XEP-0368 ordering ---

static void test_rfc2782_priority_orders_targets_xep0368_3_services_merged(void **state) {
  fg_dns *dns = dnsmasq_resolver(7);
  fg_dns_result *r = resolve(dns, "prio.test");
  static const char *const want[] = {
      "plain-a.prio.test 127.0.1.1:5269 plain",
      "tls.prio.test 127.0.1.3:5270 tls",
      "plain-b.prio.test 127.0.1.2:5269 plain",
  };
  expect_candidates(r, want, 3);
  assert_int_equal(r->candidates[0].priority, 5);
  assert_int_equal(r->candidates[1].priority, 10);
  assert_int_equal(r->candidates[2].priority, 20);
  assert_false(r->from_static);
  // Trailing dot and upper case name the same domain.
  fg_dns_result *r2 = resolve(dns, "PRIO.test.");
  expect_candidates(r2, want, 3);
  assert_string_equal(r2->domain, "prio.test");
  fg_dns_result_free(r);
  fg_dns_result_free(r2);
  fg_dns_free(dns);
}

static void test_rfc2782_weighted_random_within_priority(void **state) {
  fg_dns *dns = dnsmasq_resolver(12345);
  const int runs = 3000;
  int first[3] = {0, 0, 0};
  for (int i = 0; i < runs; i++) {
    fg_dns_result *r = resolve(dns, "weights.test");
    assert_int_equal(r->status, FG_DNS_OK);
    assert_int_equal(r->num_candidates, 3);
    int seen = 0;
    for (size_t k = 0; k < 3; k++) {
      const char *h = r->candidates[k].host;
      int idx = strncmp(h, "w10.", 4) == 0 ? 0 : strncmp(h, "w30.", 4) == 0 ? 1 : 2;
      seen |= 1 << idx;
      if (k == 0) first[idx]++;
    }
    assert_int_equal(seen, 7);  // every target, once
    fg_dns_result_free(r);
  }
  // Expected 10% / 30% / 60% first; 4 points is over 5 standard deviations.
  fprintf(stderr, "first choice: w10 %d, w30 %d, w60 %d of %d\n", first[0], first[1], first[2],
          runs);
  assert_in_range(first[0], runs * 6 / 100, runs * 14 / 100);
  assert_in_range(first[1], runs * 26 / 100, runs * 34 / 100);
  assert_in_range(first[2], runs * 56 / 100, runs * 64 / 100);
  fg_dns_free(dns);
}

static void test_rfc2782_zero_weight_rarely_first(void **state) {
  fg_dns *dns = dnsmasq_resolver(99);
  const int runs = 3000;
  int zero_first = 0;
  for (int i = 0; i < runs; i++) {
    fg_dns_result *r = resolve(dns, "zero.test");
    assert_int_equal(r->num_candidates, 2);
    zero_first += strcmp(r->candidates[0].host, "z0.zero.test") == 0;
    fg_dns_result_free(r);
  }
  // RFC 2782: a weight-0 record has a very small chance (1/101 here).
  fprintf(stderr, "zero weight first %d of %d\n", zero_first, runs);
  assert_in_range(zero_first, 5, 80);
  fg_dns_free(dns);
}

static void test_xep0368_3_weights_mixed_across_services(void **state) {
  fg_dns *dns = dnsmasq_resolver(4242);
  const int runs = 2000;
  int tls_first = 0;
  for (int i = 0; i < runs; i++) {
    fg_dns_result *r = resolve(dns, "mixw.test");
    assert_int_equal(r->num_candidates, 2);
    assert_true(r->candidates[0].direct_tls != r->candidates[1].direct_tls);
    for (int k = 0; k < 2; k++) {
      // _xmpps-server targets are direct TLS on their own port.
      assert_int_equal(r->candidates[k].port, r->candidates[k].direct_tls ? 5270 : 5269);
    }
    tls_first += r->candidates[0].direct_tls;
    fg_dns_result_free(r);
  }
  fprintf(stderr, "direct TLS first %d of %d (weights 75:25)\n", tls_first, runs);
  assert_in_range(tls_first, runs * 70 / 100, runs * 80 / 100);
  fg_dns_free(dns);
}

static void test_rfc2782_seed_makes_order_reproducible(void **state) {
  char a[64][3], b[64][3];
  for (int pass = 0; pass < 2; pass++) {
    fg_dns *dns = dnsmasq_resolver(777);
    for (int i = 0; i < 64; i++) {
      fg_dns_result *r = resolve(dns, "weights.test");
      for (int k = 0; k < 3; k++) (pass ? b : a)[i][k] = r->candidates[k].host[1];
      fg_dns_result_free(r);
    }
    fg_dns_free(dns);
  }
  assert_memory_equal(a, b, sizeof(a));
}

static void test_rfc6120_3_2_1_every_address_of_a_target_before_the_next(void **state) {
  fg_dns *dns = dnsmasq_resolver(1);
  fg_dns_result *r = resolve(dns, "multi.test");
  assert_int_equal(r->status, FG_DNS_OK);
  assert_int_equal(r->num_candidates, 6);
  // one.multi.test: 2 AAAA and 3 A, interleaved IPv6 first; then two.
  int v6 = 0, v4 = 0;
  for (int k = 0; k < 5; k++) {
    assert_string_equal(r->candidates[k].host, "one.multi.test");
    assert_int_equal(r->candidates[k].port, 5269);
    int fam = r->candidates[k].addr.ss_family;
    if (k < 4) assert_int_equal(fam, (k % 2) == 0 ? AF_INET6 : AF_INET);
    v6 += fam == AF_INET6;
    v4 += fam == AF_INET;
  }
  assert_int_equal(v6, 2);
  assert_int_equal(v4, 3);
  char a[80];
  assert_string_equal(r->candidates[5].host, "two.multi.test");
  assert_string_equal(addr_text(&r->candidates[5], a, sizeof(a)), "127.0.7.9:5299");
  fg_dns_result_free(r);
  fg_dns_free(dns);
}

static void test_rfc6120_3_2_1_cname_target_followed(void **state) {
  fg_dns *dns = dnsmasq_resolver(1);
  fg_dns_result *r = resolve(dns, "alias.test");
  static const char *const want[] = {"www.alias.test 127.0.8.1:5269 plain"};
  expect_candidates(r, want, 1);
  fg_dns_result_free(r);
  fg_dns_free(dns);
}

static void test_rfc2782_dot_target_means_no_service(void **state) {
  fg_dns *dns = dnsmasq_resolver(1);
  fg_dns_result *r = resolve(dns, "dot.test");
  // dot.test has an A record: "." must not fall back to it.
  assert_int_equal(r->status, FG_DNS_NO_SERVICE);
  assert_int_equal(r->num_candidates, 0);
  assert_false(fg_dns_status_is_temporary(r->status));
  assert_non_null(strstr(r->reason, "not available"));
  fg_dns_result_free(r);
  // "." for _xmpps-server only: the STARTTLS service is still offered.
  r = resolve(dns, "halfdot.test");
  static const char *const want[] = {"xmpp.halfdot.test 127.0.5.2:5269 plain"};
  expect_candidates(r, want, 1);
  fg_dns_result_free(r);
  fg_dns_free(dns);
}

static void test_rfc6120_3_2_2_no_srv_falls_back_to_domain_5269(void **state) {
  fg_dns *dns = dnsmasq_resolver(1);
  fg_dns_result *r = resolve(dns, "nosrv.test");
  static const char *const want[] = {
      "nosrv.test [fd00::6:1]:5269 plain",
      "nosrv.test 127.0.6.1:5269 plain",
  };
  expect_candidates(r, want, 2);
  fg_dns_result_free(r);
  r = resolve(dns, "v4only.test");
  static const char *const want4[] = {"v4only.test 127.0.6.2:5269 plain"};
  expect_candidates(r, want4, 1);
  fg_dns_result_free(r);
  // The name exists, without addresses.
  r = resolve(dns, "noaddr.test");
  assert_int_equal(r->status, FG_DNS_NO_ADDRESS);
  fg_dns_result_free(r);
  fg_dns_free(dns);
}

static void test_rfc6120_3_2_1_target_without_address(void **state) {
  fg_dns *dns = dnsmasq_resolver(1);
  fg_dns_result *r = resolve(dns, "ghost.test");
  assert_int_equal(r->status, FG_DNS_NO_ADDRESS);
  assert_non_null(strstr(r->reason, "gone.ghost.test"));
  fg_dns_result_free(r);
  fg_dns_free(dns);
}

static void test_rfc6120_3_2_nxdomain(void **state) {
  fg_dns *dns = dnsmasq_resolver(1);
  fg_dns_result *r = resolve(dns, "nowhere.test");
  assert_int_equal(r->status, FG_DNS_NXDOMAIN);
  assert_int_equal(r->num_candidates, 0);
  assert_false(fg_dns_status_is_temporary(r->status));
  assert_string_equal(fg_dns_status_name(r->status), "nxdomain");
  fg_dns_result_free(r);
  fg_dns_free(dns);
}

// A plain host lookup (HTTP clients): the name's own AAAA and A on the given
// port, IPv6 first (RFC 8305 §4); SRV records play no part.
static void test_rfc8305_4_host_lookup_ignores_srv(void **state) {
  fg_dns *dns = dnsmasq_resolver(1);
  fg_dns_result *r = resolve_host(dns, "nosrv.test", 80);
  assert_int_equal(r->status, FG_DNS_OK);
  assert_int_equal(r->num_candidates, 2);
  assert_int_equal(r->candidates[0].addr.ss_family, AF_INET6);
  assert_int_equal(r->candidates[1].addr.ss_family, AF_INET);
  assert_int_equal(r->candidates[1].port, 80);
  assert_int_equal(ntohs(((struct sockaddr_in *)&r->candidates[1].addr)->sin_port), 80);
  fg_dns_result_free(r);
  r = resolve_host(dns, "dot.test", 8080);  // its SRV target "." is not consulted
  assert_int_equal(r->status, FG_DNS_OK);
  assert_int_equal(r->num_candidates, 1);
  assert_string_equal(r->candidates[0].host, "dot.test");
  fg_dns_result_free(r);
  r = resolve_host(dns, "nowhere.test", 80);
  assert_int_equal(r->status, FG_DNS_NXDOMAIN);
  fg_dns_result_free(r);
  assert_int_equal(fg_dns_resolve_host(dns, "nosrv.test", 0, on_result, NULL),
                   FG_DNS_SUBMIT_BAD_NAME);
  assert_int_equal(fg_dns_resolve_host(dns, "bad..name", 80, on_result, NULL),
                   FG_DNS_SUBMIT_BAD_NAME);
  fg_dns_free(dns);
}

static void test_rfc7766_5_truncated_answer_retried_over_tcp(void **state) {
  fg_dns *dns = dnsmasq_resolver(1);
  fg_dns_result *r = resolve(dns, "big.test");
  assert_int_equal(r->status, FG_DNS_OK);
  // 40 SRV records: bounded to max_candidates (32).
  assert_int_equal(r->num_candidates, 32);
  for (size_t i = 0; i < r->num_candidates; i++) {
    assert_in_range(r->candidates[i].port, 6000, 6039);
  }
  fg_dns_stats st;
  fg_dns_get_stats(dns, &st);
  assert_true(st.tcp_fallbacks >= 1);
  fg_dns_result_free(r);
  fg_dns_free(dns);
}

// --- caching ---

static void test_rfc2181_8_ttl_honoured(void **state) {
  fg_dns *dns = dnsmasq_resolver(1);
  write_file(g_hosts, "127.0.11.1 ttl.test\n");
  kill(g_dnsmasq, SIGHUP);
  sleep_ms(200);
  uint64_t t0 = now_ms();
  fg_dns_result *r = resolve(dns, "ttl.test");
  static const char *const old[] = {"ttl.test 127.0.11.1:5269 plain"};
  expect_candidates(r, old, 1);
  assert_false(r->from_cache);
  assert_in_range(r->ttl_s, 1, 2);  // dnsmasq --local-ttl=2
  fg_dns_result_free(r);
  // The zone changes; within the TTL the cached answer stands, no query.
  write_file(g_hosts, "127.0.11.2 ttl.test\n");
  kill(g_dnsmasq, SIGHUP);
  sleep_ms(200);
  fg_dns_stats s1, s2;
  fg_dns_get_stats(dns, &s1);
  r = resolve(dns, "ttl.test");
  fg_dns_get_stats(dns, &s2);
  if (now_ms() - t0 < 1900) {
    expect_candidates(r, old, 1);
    assert_true(r->from_cache);
    assert_int_equal(s2.queries_sent, s1.queries_sent);
    assert_true(s2.cache_hits > s1.cache_hits);
  } else {
    fprintf(stderr, "slow machine: the within-TTL check was not made\n");
  }
  fg_dns_result_free(r);
  // After the TTL: asked again, the new address.
  sleep_ms((unsigned)(2300 - (now_ms() - t0 < 2300 ? now_ms() - t0 : 2300)));
  r = resolve(dns, "ttl.test");
  static const char *const now[] = {"ttl.test 127.0.11.2:5269 plain"};
  expect_candidates(r, now, 1);
  assert_false(r->from_cache);
  fg_dns_result_free(r);
  fg_dns_free(dns);
}

static void test_rfc2181_8_ttl_capped_by_max_ttl(void **state) {
  static const char *ns[1];
  ns[0] = g_ns;
  fg_dns_config c;
  fg_dns_config_init(&c);
  c.nameservers = ns;
  c.n_nameservers = 1;
  c.max_ttl_s = 1;
  char err[128];
  fg_dns *dns = fg_dns_new(&c, err, sizeof(err));
  assert_non_null(dns);
  fg_dns_result *r = resolve(dns, "v4only.test");
  assert_int_equal(r->ttl_s, 1);
  fg_dns_result_free(r);
  r = resolve(dns, "v4only.test");
  assert_true(r->from_cache);
  fg_dns_result_free(r);
  sleep_ms(1200);
  r = resolve(dns, "v4only.test");
  assert_false(r->from_cache);
  fg_dns_result_free(r);
  fg_dns_free(dns);
}

static void test_rfc2308_5_negative_answers_cached_briefly(void **state) {
  static const char *ns[1];
  ns[0] = g_ns;
  fg_dns_config c;
  fg_dns_config_init(&c);
  c.nameservers = ns;
  c.n_nameservers = 1;
  c.negative_ttl_s = 2;
  char err[128];
  fg_dns *dns = fg_dns_new(&c, err, sizeof(err));
  assert_non_null(dns);
  write_file(g_hosts, "127.0.11.1 ttl.test\n");
  kill(g_dnsmasq, SIGHUP);
  sleep_ms(200);
  uint64_t t0 = now_ms();
  fg_dns_result *r = resolve(dns, "late.test");
  assert_int_equal(r->status, FG_DNS_NXDOMAIN);
  assert_false(r->from_cache);
  fg_dns_result_free(r);
  // The name appears; the NXDOMAIN stays cached for negative_ttl_s.
  write_file(g_hosts, "127.0.11.1 ttl.test\n127.0.12.1 late.test\n");
  kill(g_dnsmasq, SIGHUP);
  sleep_ms(200);
  fg_dns_stats s1, s2;
  fg_dns_get_stats(dns, &s1);
  r = resolve(dns, "late.test");
  fg_dns_get_stats(dns, &s2);
  if (now_ms() - t0 < 1900) {
    assert_int_equal(r->status, FG_DNS_NXDOMAIN);
    assert_true(r->from_cache);
    assert_int_equal(s2.queries_sent, s1.queries_sent);
  } else {
    fprintf(stderr, "slow machine: the within-TTL check was not made\n");
  }
  fg_dns_result_free(r);
  sleep_ms((unsigned)(2300 - (now_ms() - t0 < 2300 ? now_ms() - t0 : 2300)));
  r = resolve(dns, "late.test");
  static const char *const want[] = {"late.test 127.0.12.1:5269 plain"};
  expect_candidates(r, want, 1);
  fg_dns_result_free(r);
  fg_dns_free(dns);
}

// --- nameserver failures ---

static void test_rfc1035_4_2_1_silent_server_times_out(void **state) {
  char dead[64];
  int fd = udp_socket(dead, sizeof(dead));  // bound, never read
  const char *ns[1] = {dead};
  fg_dns_config c;
  fg_dns_config_init(&c);
  c.nameservers = ns;
  c.n_nameservers = 1;
  c.timeout_ms = 150;
  c.retries = 1;
  char err[128];
  fg_dns *dns = fg_dns_new(&c, err, sizeof(err));
  assert_non_null(dns);
  uint64_t t0 = now_ms();
  fg_dns_result *r = resolve(dns, "prio.test");
  uint64_t took = now_ms() - t0;
  assert_int_equal(r->status, FG_DNS_TIMEOUT);
  assert_true(fg_dns_status_is_temporary(r->status));
  assert_non_null(strstr(r->reason, "no answer"));
  // Two passes of 150 ms, both SRV questions in parallel.
  assert_true(took >= 290);
  fg_dns_result_free(r);
  fg_dns_stats st;
  fg_dns_get_stats(dns, &st);
  assert_int_equal(st.queries_sent, 4);
  assert_int_equal(st.timeouts, 2);
  // A timeout is cached briefly (failure_ttl_s): no new query.
  r = resolve(dns, "prio.test");
  assert_int_equal(r->status, FG_DNS_TIMEOUT);
  assert_true(r->from_cache);
  fg_dns_get_stats(dns, &st);
  assert_int_equal(st.queries_sent, 4);
  fg_dns_result_free(r);
  fg_dns_free(dns);
  close(fd);
}

static void test_rfc1035_4_2_1_next_server_after_timeout(void **state) {
  char dead[64];
  int fd = udp_socket(dead, sizeof(dead));
  const char *ns[2] = {dead, g_ns};
  fg_dns_config c;
  fg_dns_config_init(&c);
  c.nameservers = ns;
  c.n_nameservers = 2;
  c.timeout_ms = 150;
  char err[128];
  fg_dns *dns = fg_dns_new(&c, err, sizeof(err));
  assert_non_null(dns);
  fg_dns_result *r = resolve(dns, "v4only.test");
  static const char *const want[] = {"v4only.test 127.0.6.2:5269 plain"};
  expect_candidates(r, want, 1);
  fg_dns_result_free(r);
  fg_dns_free(dns);
  close(fd);
}

// A scripted nameserver: answers every question with |rcode|, or with a
// wrong transaction ID when |spoof| is set.
typedef struct fake_ns {
  int fd;
  int rcode;
  int spoof;
  int ad;  // set the AD bit in answers
  atomic_int stop;
  atomic_int seen;
  atomic_int saw_do;  // questions that carried an OPT record with the DO bit
  pthread_t tid;
} fake_ns;

static void *fake_main(void *p) {
  fake_ns *f = p;
  uint8_t buf[1500];
  while (!atomic_load(&f->stop)) {
    struct sockaddr_storage from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(f->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
    if (n < 12) continue;
    atomic_fetch_add(&f->seen, 1);
    // The OPT record is the query's last 11 bytes: flags DO at offset 7.
    if (buf[11] == 1 && n >= 23 && buf[n - 10] == 0 && buf[n - 9] == 41 && (buf[n - 4] & 0x80)) {
      atomic_fetch_add(&f->saw_do, 1);
    }
    buf[2] |= 0x80;  // QR
    buf[3] = (uint8_t)((buf[3] & 0xd0) | f->rcode | (f->ad ? 0x20 : 0));
    if (f->spoof) buf[1] ^= 0x5a;
    sendto(f->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
  }
  return NULL;
}

static void fake_start(fake_ns *f, char *text, size_t cap) {
  f->fd = udp_socket(text, cap);
  struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
  setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  pthread_create(&f->tid, NULL, fake_main, f);
}

static void fake_stop(fake_ns *f) {
  atomic_store(&f->stop, 1);
  pthread_join(f->tid, NULL);
  close(f->fd);
}

static void test_rfc1035_4_1_1_servfail_is_temporary(void **state) {
  fake_ns f = {.rcode = 2};
  char text[64];
  fake_start(&f, text, sizeof(text));
  const char *ns[1] = {text};
  fg_dns *dns = new_dns(ns, 1, 1);
  fg_dns_result *r = resolve(dns, "prio.test");
  assert_int_equal(r->status, FG_DNS_SERVFAIL);
  assert_true(fg_dns_status_is_temporary(r->status));
  assert_non_null(strstr(r->reason, "SERVFAIL"));
  // Two SRV questions, each tried twice (retries 1).
  assert_int_equal(atomic_load(&f.seen), 4);
  fg_dns_result_free(r);
  fg_dns_free(dns);
  fake_stop(&f);
  // REFUSED is treated the same way.
  fake_ns g = {.rcode = 5};
  fake_start(&g, text, sizeof(text));
  dns = new_dns(ns, 1, 1);
  r = resolve(dns, "prio.test");
  assert_int_equal(r->status, FG_DNS_SERVFAIL);
  assert_non_null(strstr(r->reason, "REFUSED"));
  fg_dns_result_free(r);
  fg_dns_free(dns);
  fake_stop(&g);
}

// dnssec_resolver is a resolver asking the fake server |text| only, which is
// a trusted validating resolver when |trusted|.
static fg_dns *dnssec_resolver(const char *text, int trusted) {
  const char *ns[1] = {text};
  fg_dns_config c;
  fg_dns_config_init(&c);
  c.nameservers = ns;
  c.n_nameservers = 1;
  c.timeout_ms = 300;
  c.retries = 0;
  c.cache_max_entries = 0;
  c.trusted_resolvers = trusted ? ns : NULL;
  c.n_trusted_resolvers = trusted ? 1 : 0;
  c.dane = 1;
  char err[128];
  fg_dns *dns = fg_dns_new(&c, err, sizeof(err));
  assert_non_null(dns);
  return dns;
}

// RFC 4035 §3.2.3 and RFC 6840 §5.7: the AD bit counts only from a trusted
// validating resolver, which is asked with the DO bit (RFC 3225 §3); its
// SERVFAIL makes the answer bogus (RFC 4035 §5.5).
static void test_rfc6840_5_7_ad_bit_trusted_only_from_configured_resolvers(void **state) {
  (void)state;
  fake_ns f = {.rcode = 0, .ad = 1};
  char text[64];
  fake_start(&f, text, sizeof(text));
  fg_dns_stats st;
  fg_dns *dns = dnssec_resolver(text, 0);
  fg_dns_result *r = resolve(dns, "secure.test");
  fg_dns_get_stats(dns, &st);
  assert_int_equal(st.secure, 0);
  assert_int_equal(atomic_load(&f.saw_do), 0);
  fg_dns_result_free(r);
  fg_dns_free(dns);

  dns = dnssec_resolver(text, 1);
  r = resolve(dns, "secure.test");
  fg_dns_get_stats(dns, &st);
  assert_true(st.secure >= 2);  // both SRV questions, then the fallback's
  assert_int_equal(st.bogus, 0);
  assert_true(atomic_load(&f.saw_do) >= 2);
  fg_dns_result_free(r);
  fg_dns_free(dns);
  fake_stop(&f);

  fake_ns g = {.rcode = 2};
  fake_start(&g, text, sizeof(text));
  dns = dnssec_resolver(text, 1);
  r = resolve(dns, "bogus.test");
  assert_int_equal(r->status, FG_DNS_SERVFAIL);
  assert_non_null(strstr(r->reason, "DNSSEC bogus"));
  assert_int_equal(r->dnssec_refused, 2);
  fg_dns_get_stats(dns, &st);
  assert_int_equal(st.bogus, 2);
  fg_dns_result_free(r);
  fg_dns_free(dns);
  // Untrusted, the same SERVFAIL is only a server failure.
  dns = dnssec_resolver(text, 0);
  r = resolve(dns, "bogus.test");
  assert_int_equal(r->status, FG_DNS_SERVFAIL);
  assert_null(strstr(r->reason, "DNSSEC"));
  fg_dns_result_free(r);
  fg_dns_free(dns);
  fake_stop(&g);

  // A trusted resolver must be one of the nameservers.
  const char *ns[1] = {"127.0.0.1:5353"};
  const char *tr[1] = {"127.0.0.1:5354"};
  fg_dns_config c;
  fg_dns_config_init(&c);
  c.nameservers = ns;
  c.n_nameservers = 1;
  c.trusted_resolvers = tr;
  c.n_trusted_resolvers = 1;
  char err[128];
  assert_null(fg_dns_new(&c, err, sizeof(err)));
  assert_non_null(strstr(err, "not one of the nameservers"));
}

static void test_rfc5452_9_1_answer_with_wrong_id_ignored(void **state) {
  fake_ns f = {.rcode = 3, .spoof = 1};  // an NXDOMAIN that must not count
  char text[64];
  fake_start(&f, text, sizeof(text));
  const char *ns[1] = {text};
  fg_dns_config c;
  fg_dns_config_init(&c);
  c.nameservers = ns;
  c.n_nameservers = 1;
  c.timeout_ms = 150;
  c.retries = 0;
  char err[128];
  fg_dns *dns = fg_dns_new(&c, err, sizeof(err));
  assert_non_null(dns);
  fg_dns_result *r = resolve(dns, "prio.test");
  assert_int_equal(r->status, FG_DNS_TIMEOUT);
  assert_true(atomic_load(&f.seen) >= 2);
  fg_dns_result_free(r);
  fg_dns_free(dns);
  fake_stop(&f);
}

// --- static overrides (config dns.static) ---

static void test_config_dns_static_overrides(void **state) {
  fg_dns *dns = dnsmasq_resolver(1);
  const fg_dns_static_target t[] = {
      {.host = "127.0.0.30", .port = 5300},
      {.host = "::1", .port = 5301, .direct_tls = 1},
      {.host = "pinned-host.test", .port = 5302},
  };
  // prio.test has SRV records; the override wins.
  assert_true(fg_dns_set_static(dns, "prio.test", t, 3));
  fg_dns_result *r = resolve(dns, "prio.test");
  static const char *const want[] = {
      "127.0.0.30 127.0.0.30:5300 plain",
      "::1 [::1]:5301 tls",
      "pinned-host.test 127.0.9.1:5302 plain",
  };
  expect_candidates(r, want, 3);
  assert_true(r->from_static);
  fg_dns_result_free(r);
  // A pinned host that does not resolve.
  const fg_dns_static_target bad[] = {{.host = "missing.test", .port = 5269}};
  assert_true(fg_dns_set_static(dns, "other.test", bad, 1));
  r = resolve(dns, "other.test");
  assert_int_equal(r->status, FG_DNS_NO_ADDRESS);
  assert_true(r->from_static);
  fg_dns_result_free(r);
  // Invalid entries are refused and change nothing.
  const fg_dns_static_target inval[] = {{.host = "bad_name.test", .port = 5269}};
  assert_false(fg_dns_set_static(dns, "prio.test", inval, 1));
  const fg_dns_static_target port0[] = {{.host = "127.0.0.1", .port = 0}};
  assert_false(fg_dns_set_static(dns, "prio.test", port0, 1));
  assert_false(fg_dns_set_static(dns, "-bad.test", t, 1));
  r = resolve(dns, "prio.test");
  assert_true(r->from_static);
  fg_dns_result_free(r);
  // Removing the override restores DNS.
  assert_true(fg_dns_set_static(dns, "prio.test", NULL, 0));
  r = resolve(dns, "prio.test");
  assert_false(r->from_static);
  assert_int_equal(r->num_candidates, 3);
  fg_dns_result_free(r);
  fg_dns_clear_static(dns);
  r = resolve(dns, "other.test");
  assert_int_equal(r->status, FG_DNS_NXDOMAIN);
  fg_dns_result_free(r);
  fg_dns_stats st;
  fg_dns_get_stats(dns, &st);
  assert_int_equal(st.static_hits, 3);
  fg_dns_free(dns);
}

// --- bounds ---

// The name rules themselves are tests/io/dns_name_test.c's; here, the
// resolver applies them to what it is asked.
static void test_rfc1123_2_1_invalid_domains_refused(void **state) {
  char label63[64];
  memset(label63, 'a', 63);
  label63[63] = 0;
  char name[300];
  snprintf(name, sizeof(name), "%s.%s.%s.%.62s", label63, label63, label63, label63);
  assert_int_equal(strlen(name), 254);

  fg_dns *dns = dnsmasq_resolver(1);
  waiter w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
  assert_int_equal(fg_dns_resolve_xmpp_server(dns, "bad_name.test", on_result, &w),
                   FG_DNS_SUBMIT_BAD_NAME);
  assert_int_equal(fg_dns_resolve_xmpp_server(dns, name, on_result, &w), FG_DNS_SUBMIT_BAD_NAME);
  assert_int_equal(w.calls, 0);
  // A 253-byte domain is valid, but its SRV names cannot be asked.
  snprintf(name, sizeof(name), "%s.%s.%s.%.56s.test", label63, label63, label63, label63);
  assert_int_equal(strlen(name), 253);
  fg_dns_result *r = resolve(dns, name);
  assert_int_equal(r->status, FG_DNS_NXDOMAIN);
  fg_dns_result_free(r);
  fg_dns_free(dns);
}

typedef struct counter {
  atomic_int calls, cancelled;
} counter;

static void count_cb(void *arg, fg_dns_result *res) {
  counter *c = arg;
  if (res->status == FG_DNS_CANCELLED) atomic_fetch_add(&c->cancelled, 1);
  atomic_fetch_add(&c->calls, 1);
  fg_dns_result_free(res);
}

static void test_bounded_pending_and_cancel_on_free(void **state) {
  char dead[64];
  int fd = udp_socket(dead, sizeof(dead));
  const char *ns[1] = {dead};
  fg_dns_config c;
  fg_dns_config_init(&c);
  c.nameservers = ns;
  c.n_nameservers = 1;
  c.timeout_ms = 10000;
  c.threads = 1;
  c.max_pending = 3;
  char err[128];
  fg_dns *dns = fg_dns_new(&c, err, sizeof(err));
  assert_non_null(dns);
  counter cnt = {0};
  assert_int_equal(fg_dns_resolve_xmpp_server(dns, "a.test", count_cb, &cnt), FG_DNS_QUEUED);
  assert_int_equal(fg_dns_resolve_xmpp_server(dns, "b.test", count_cb, &cnt), FG_DNS_QUEUED);
  assert_int_equal(fg_dns_resolve_xmpp_server(dns, "c.test", count_cb, &cnt), FG_DNS_QUEUED);
  assert_int_equal(fg_dns_resolve_xmpp_server(dns, "d.test", count_cb, &cnt), FG_DNS_SUBMIT_BUSY);
  sleep_ms(100);  // the first is now waiting on the silent server
  uint64_t t0 = now_ms();
  fg_dns_free(dns);  // interrupts the wait and cancels the queue
  assert_true(now_ms() - t0 < 2000);
  assert_int_equal(atomic_load(&cnt.calls), 3);
  assert_int_equal(atomic_load(&cnt.cancelled), 3);
  close(fd);
}

static void test_config_nameserver_syntax(void **state) {
  static const struct {
    const char *ns;
    int ok;
  } kCases[] = {
      {"127.0.0.1", 1}, {"127.0.0.1:5353", 1}, {"::1", 1},        {"[::1]:53", 1},
      {"[::1]", 1},     {"127.0.0.1:0", 0},    {"127.0.0.1:", 0}, {"localhost", 0},
      {"[::1", 0},      {"1.2.3.4:70000", 0},  {"[::1]x", 0},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    const char *ns[1] = {kCases[i].ns};
    fg_dns_config c;
    fg_dns_config_init(&c);
    c.nameservers = ns;
    c.n_nameservers = 1;
    c.threads = 1;
    char err[128] = "";
    fg_dns *dns = fg_dns_new(&c, err, sizeof(err));
    if ((dns != NULL) != kCases[i].ok) fprintf(stderr, "nameserver \"%s\"\n", kCases[i].ns);
    assert_int_equal(dns != NULL, kCases[i].ok);
    if (!kCases[i].ok) assert_non_null(strstr(err, kCases[i].ns));
    fg_dns_free(dns);
  }
}

static void test_config_default_nameservers_from_resolv_conf(void **state) {
  char err[128] = "";
  fg_dns *dns = fg_dns_new(NULL, err, sizeof(err));
  if (dns == NULL) fprintf(stderr, "fg_dns_new(NULL): %s\n", err);
  assert_non_null(dns);
  fg_dns_free(dns);
}

// An IPv6 nameserver: dnsmasq also listens on ::1 only if started so; use a
// scripted one on [::1] to check the IPv6 transport.
static void test_config_ipv6_nameserver(void **state) {
  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
    if (fd >= 0) close(fd);
    skip();  // no IPv6 loopback in this sandbox
  }
  socklen_t l = sizeof(a);
  getsockname(fd, (struct sockaddr *)&a, &l);
  fake_ns f = {.fd = fd, .rcode = 3};  // NXDOMAIN for everything
  struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  pthread_create(&f.tid, NULL, fake_main, &f);
  char text[64];
  snprintf(text, sizeof(text), "[::1]:%u", ntohs(a.sin6_port));
  const char *ns[1] = {text};
  fg_dns *dns = new_dns(ns, 1, 1);
  fg_dns_result *r = resolve(dns, "anything.test");
  assert_int_equal(r->status, FG_DNS_NXDOMAIN);
  // Two SRV questions, then A and AAAA of the domain.
  assert_int_equal(atomic_load(&f.seen), 4);
  fg_dns_result_free(r);
  fg_dns_free(dns);
  fake_stop(&f);
}

int main(void) {
  const struct CMUnitTest with_dnsmasq[] = {
      cmocka_unit_test(test_rfc2782_priority_orders_targets_xep0368_3_services_merged),
      cmocka_unit_test(test_rfc2782_weighted_random_within_priority),
      cmocka_unit_test(test_rfc2782_zero_weight_rarely_first),
      cmocka_unit_test(test_xep0368_3_weights_mixed_across_services),
      cmocka_unit_test(test_rfc2782_seed_makes_order_reproducible),
      cmocka_unit_test(test_rfc6120_3_2_1_every_address_of_a_target_before_the_next),
      cmocka_unit_test(test_rfc6120_3_2_1_cname_target_followed),
      cmocka_unit_test(test_rfc2782_dot_target_means_no_service),
      cmocka_unit_test(test_rfc6120_3_2_2_no_srv_falls_back_to_domain_5269),
      cmocka_unit_test(test_rfc6120_3_2_1_target_without_address),
      cmocka_unit_test(test_rfc6120_3_2_nxdomain),
      cmocka_unit_test(test_rfc8305_4_host_lookup_ignores_srv),
      cmocka_unit_test(test_rfc7766_5_truncated_answer_retried_over_tcp),
      cmocka_unit_test(test_rfc2181_8_ttl_honoured),
      cmocka_unit_test(test_rfc2181_8_ttl_capped_by_max_ttl),
      cmocka_unit_test(test_rfc2308_5_negative_answers_cached_briefly),
      cmocka_unit_test(test_rfc1035_4_2_1_next_server_after_timeout),
      cmocka_unit_test(test_config_dns_static_overrides),
      cmocka_unit_test(test_rfc1123_2_1_invalid_domains_refused),
  };
  const struct CMUnitTest standalone[] = {
      cmocka_unit_test(test_rfc1035_4_2_1_silent_server_times_out),
      cmocka_unit_test(test_rfc1035_4_1_1_servfail_is_temporary),
      cmocka_unit_test(test_rfc5452_9_1_answer_with_wrong_id_ignored),
      cmocka_unit_test(test_rfc6840_5_7_ad_bit_trusted_only_from_configured_resolvers),
      cmocka_unit_test(test_bounded_pending_and_cancel_on_free),
      cmocka_unit_test(test_config_nameserver_syntax),
      cmocka_unit_test(test_config_ipv6_nameserver),
      cmocka_unit_test(test_config_default_nameservers_from_resolv_conf),
  };
  int failed = cmocka_run_group_tests_name("dns_standalone", standalone, NULL, NULL);
  failed += cmocka_run_group_tests_name("dns_dnsmasq", with_dnsmasq, start_dnsmasq, stop_dnsmasq);
  return failed;
}
