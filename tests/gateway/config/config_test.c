// config_test.c: gateway/config/config.c, the YAML configuration loader: defaults,
// every key, file:line diagnostics, semantic checks, and the examples.
#include <dirent.h>
#include <limits.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gateway/config/config.h"

static char g_dir[PATH_MAX];        // a fresh temporary directory
static char g_pki[PATH_MAX];        // absolute path of examples/pki
static char g_file[PATH_MAX + 64];  // the config file written by load()
static fg_config_diag g_diag;

static int group_setup(void **state) {
  (void)state;
  if (realpath("examples/pki", g_pki) == NULL) return -1;
  const char *tmp = getenv("TEST_TMPDIR");
  snprintf(g_dir, sizeof(g_dir), "%s/fgcfgXXXXXX", tmp ? tmp : "/tmp");
  if (mkdtemp(g_dir) == NULL) return -1;
  // A copy, not a link: git does not keep the keys' 0600 mode, and a
  // world-readable key is (rightly) warned about.
  char dst[PATH_MAX + 8];
  snprintf(dst, sizeof(dst), "%s/pki", g_dir);
  if (mkdir(dst, 0755) != 0) return -1;
  static const char *const kFiles[] = {"ca.crt", "example.com.crt", "example.com.key",
                                       "internal-ca.crt", "internal-ca.key"};
  for (size_t i = 0; i < sizeof(kFiles) / sizeof(kFiles[0]); i++) {
    char from[PATH_MAX + 64], to[PATH_MAX + 64], buf[8192];
    snprintf(from, sizeof(from), "%s/%s", g_pki, kFiles[i]);
    snprintf(to, sizeof(to), "%s/%s", dst, kFiles[i]);
    FILE *in = fopen(from, "rb");
    if (in == NULL) return -1;
    size_t n = fread(buf, 1, sizeof(buf), in);
    fclose(in);
    int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, strstr(kFiles[i], ".key") ? 0600 : 0644);
    if (fd < 0 || write(fd, buf, n) != (ssize_t)n) return -1;
    close(fd);
  }
  return 0;
}

static void write_file(const char *name, const char *content, mode_t mode) {
  char p[PATH_MAX + 64];
  snprintf(p, sizeof(p), "%s/%s", g_dir, name);
  unlink(p);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  fputs(content, f);
  fclose(f);
  chmod(p, mode);
}

// BASE with |extra| lines inside its tls: section, from line 11 on.
#define BASE_TLS(extra)                    \
  "domains:\n"                             \
  "  - name: example.com\n"                \
  "    backend: b\n"                       \
  "backends:\n"                            \
  "  - name: b\n"                          \
  "    addresses: [\"127.0.0.1:15269\"]\n" \
  "tls:\n"                                 \
  "  default_cert: pki/example.com.crt\n"  \
  "  default_key: pki/example.com.key\n"   \
  "  trust_file: pki/ca.crt\n" extra       \
  "internal_hop:\n"                        \
  "  ca_cert: pki/internal-ca.crt\n"       \
  "  ca_key: pki/internal-ca.key\n"

// The smallest valid file, with relative paths (resolved against g_dir).
#define BASE BASE_TLS("")
// BASE is 13 lines long: keys appended after it start on line 14.

static fg_config *load(const char *yaml) {
  write_file("secret", "0123456789abcdef0123456789abcdef\n", 0600);
  write_file("t.yaml", yaml, 0600);
  snprintf(g_file, sizeof(g_file), "%s/t.yaml", g_dir);
  fg_config_diag_cleanup(&g_diag);
  fg_config_diag_init(&g_diag);
  return fg_config_load(g_file, &g_diag);
}

// expect_diag asserts that the diagnostics contain |line_fmt| (formatted with
// the config file's path as the first argument).
static void expect_diag(const char *fmt, ...) {
  char want[PATH_MAX + 2200], tmp[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  snprintf(want, sizeof(want), "%s:%s", g_file, tmp);
  if (g_diag.text == NULL || strstr(g_diag.text, want) == NULL) {
    print_error("want: %s\ngot:\n%s", want, g_diag.text ? g_diag.text : "(nothing)");
    fail();
  }
}

static void expect_fail(const char *yaml, const char *fmt, ...) {
  fg_config *cfg = load(yaml);
  if (cfg != NULL) {
    print_error("loaded but should fail:\n%s", yaml);
    fg_config_free(cfg);
    fail();
  }
  assert_true(g_diag.errors > 0);
  char tmp[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  expect_diag("%s", tmp);
}

static void test_config_defaults(void **state) {
  (void)state;
  fg_config *cfg = load(BASE);
  assert_non_null(cfg);
  assert_int_equal(g_diag.errors, 0);
  assert_int_equal(cfg->listeners[FG_LISTENER_S2S].port, 5269);
  assert_string_equal(cfg->listeners[FG_LISTENER_S2S].address, "::");
  assert_int_equal(cfg->listeners[FG_LISTENER_S2S_TLS].port, 5270);
  assert_int_equal(cfg->listeners[FG_LISTENER_S2S_TLS].enabled, 1);
  assert_int_equal(cfg->listeners[FG_LISTENER_INTERNAL].port, 5271);
  assert_string_equal(cfg->listeners[FG_LISTENER_ADMIN].address, "127.0.0.1");
  assert_int_equal(cfg->log_level, FG_LOG_INFO);
  assert_int_equal(cfg->workers, 0);
  assert_int_equal(cfg->tls.required, 1);
  assert_int_equal(cfg->tls.legacy_cn_id, 0);
  assert_int_equal(cfg->dialback.enabled, 1);
  assert_null(cfg->dialback.secret_file);
  assert_int_equal(cfg->dialback.secret_len, 32);  // random: warned about
  assert_int_equal(g_diag.warnings, 1);
  assert_non_null(strstr(g_diag.text, "warning: dialback: no secret_file"));
  assert_int_equal(cfg->internal_hop.mode, FG_HOP_INTERNAL_CA);
  assert_int_equal(cfg->internal_hop.plaintext, 0);
  assert_int_equal(cfg->internal_hop.cert_lifetime_s, 86400);
  assert_int_equal(cfg->limits.element_bytes_before_auth, 16384);
  assert_int_equal(cfg->limits.element_bytes_after_auth, 262144);
  assert_int_equal(cfg->limits.handshake_timeout_ms, 30000);
  assert_int_equal(cfg->limits.idle_timeout_ms, 600000);
  assert_int_equal(cfg->n_domains, 1);
  assert_string_equal(cfg->domains[0].name, "example.com");
  char want[PATH_MAX + 64];
  snprintf(want, sizeof(want), "%s/pki/example.com.crt", g_dir);
  assert_string_equal(cfg->domains[0].cert_file, want);  // the default pair
  assert_int_equal(cfg->n_backends, 1);
  assert_string_equal(cfg->backends[0].addresses[0].host, "127.0.0.1");
  assert_int_equal(cfg->backends[0].addresses[0].port, 15269);
  assert_int_equal(cfg->n_dns_static, 0);
  fg_config_free(cfg);
}

static void test_config_every_key(void **state) {
  (void)state;
  fg_config *cfg =
      load(BASE
           "log_level: debug\n"
           "workers: 3\n"
           "listeners:\n"
           "  s2s: {address: 192.0.2.1, port: 15269}\n"
           "  s2s-tls: {enabled: false}\n"
           "  internal: {address: \"[fd00::1]\", port: 5999}\n"
           "  admin: {address: \"::1\", port: 8080}\n"
           "dialback:\n"
           "  enabled: yes\n"
           "  secret_file: secret\n"
           "limits:\n"
           "  element_bytes_before_auth: 10000\n"
           "  element_bytes_after_auth: 1048576\n"
           "  streams_per_ip: 7\n"
           "  handshake_timeout: 1500ms\n"
           "  idle_timeout: 2h\n"
           "  queue_stanzas: 5\n"
           "  queue_bytes: 4096\n"
           "dns:\n"
           "  static:\n"
           "    - domain: Peer.Example.\n"
           "      targets: [\"192.0.2.7\", \"[2001:db8::7]:5270\", \"xmpp.peer.example:5299\"]\n");
  if (cfg == NULL) print_error("%s", g_diag.text);
  assert_non_null(cfg);
  assert_int_equal(cfg->log_level, FG_LOG_DEBUG);
  assert_int_equal(cfg->workers, 3);
  assert_string_equal(cfg->listeners[FG_LISTENER_S2S].address, "192.0.2.1");
  assert_int_equal(cfg->listeners[FG_LISTENER_S2S].port, 15269);
  assert_int_equal(cfg->listeners[FG_LISTENER_S2S_TLS].enabled, 0);
  assert_string_equal(cfg->listeners[FG_LISTENER_INTERNAL].address, "fd00::1");
  assert_int_equal(cfg->listeners[FG_LISTENER_ADMIN].port, 8080);
  assert_int_equal(cfg->dialback.secret_len, 32);  // newline stripped
  assert_memory_equal(cfg->dialback.secret, "0123456789abcdef0123456789abcdef", 32);
  assert_non_null(cfg->dialback.secret_file);
  assert_int_equal(cfg->limits.element_bytes_before_auth, 10000);
  assert_int_equal(cfg->limits.element_bytes_after_auth, 1048576);
  assert_int_equal(cfg->limits.streams_per_ip, 7);
  assert_int_equal(cfg->limits.handshake_timeout_ms, 1500);
  assert_int_equal(cfg->limits.idle_timeout_ms, 7200000);
  assert_int_equal(cfg->limits.queue_stanzas, 5);
  assert_int_equal(cfg->limits.queue_bytes, 4096);
  assert_int_equal(cfg->n_dns_static, 1);
  assert_string_equal(cfg->dns_static[0].domain, "peer.example");
  assert_int_equal(cfg->dns_static[0].n_targets, 3);
  assert_int_equal(cfg->dns_static[0].targets[0].port, 5269);
  assert_string_equal(cfg->dns_static[0].targets[1].host, "2001:db8::7");
  assert_int_equal(cfg->dns_static[0].targets[1].port, 5270);
  assert_string_equal(cfg->dns_static[0].targets[2].host, "xmpp.peer.example");
  assert_int_equal(g_diag.warnings, 0);
  fg_config_free(cfg);
}

// RFC 6120 §13.12 item 4: stanzas of at least 10000 bytes must be accepted,
// so no element limit may be set below that.
static void test_rfc6120_13_12_element_limit_floor(void **state) {
  (void)state;
  expect_fail(BASE "limits:\n  element_bytes_before_auth: 9999\n",
              "15: limits.element_bytes_before_auth: must be between 10000 and 67108864"
              " (value '9999')");
  expect_fail(BASE "limits:\n  element_bytes_after_auth: 0\n",
              "15: limits.element_bytes_after_auth: must be between 10000");
  expect_fail(BASE "limits:\n  element_bytes_before_auth: 300000\n",
              "15: limits.element_bytes_before_auth: is larger than element_bytes_after_auth");
  fg_config *cfg = load(BASE "limits:\n  element_bytes_before_auth: 10000\n");
  assert_non_null(cfg);
  fg_config_free(cfg);
}

// Every diagnostic names the file, the line, the key path and the value.
static void test_config_errors_name_file_line_key_value(void **state) {
  (void)state;
  expect_fail(BASE "listeners:\n  s2s:\n    port: 70000\n",
              "16: listeners.s2s.port: must be between 1 and 65535 (value '70000')");
  expect_fail(BASE "listeners:\n  s2s:\n    port: 5269x\n",
              "16: listeners.s2s.port: expected a whole number (value '5269x')");
  expect_fail(BASE "listeners:\n  s2s:\n    port: -1\n",
              "16: listeners.s2s.port: expected a whole");
  expect_fail(BASE "listeners:\n  s2s:\n    prot: 5269\n",
              "16: listeners.s2s.prot: unknown key (see docs/configuration.md) (value '5269')");
  expect_fail(BASE "log_level: loud\n",
              "14: log_level: expected error, warn, info or debug (value 'loud')");
  expect_fail(BASE "log_level: [info]\n", "14: log_level: expected a single value, found a list");
  expect_fail(BASE "limits: 5\n", "14: limits: expected a mapping, found a single value");
  expect_fail(BASE "limits:\n  idle_timeout: 5 minutes\n",
              "15: limits.idle_timeout: expected a duration such as 500ms, 30s, 5m, 2h or 1d"
              " (value '5 minutes')");
  expect_fail(BASE "tls_required: true\n", "14: tls_required: unknown key");
  expect_fail(BASE "dialback:\n  enabled: maybe\n",
              "15: dialback.enabled: expected true or false (value 'maybe')");
  expect_fail(BASE "workers: 5000\n", "14: workers: must be between 0 and 1024 (value '5000')");
  expect_fail(BASE "backends:\n", "14: backends: duplicate key (first at line 4)");
  // A missing required key is reported at its parent's line.
  expect_fail(BASE "dns:\n  static:\n    - targets: [a.example]\n",
              "16: dns.static[0].domain: required key missing");
  // Values with control bytes are shown escaped.
  expect_fail(BASE "log_level: \"a\\tb\"\n",
              "14: log_level: expected error, warn, info or debug"
              " (value 'a\\x09b')");
}

// YAML 1.1 syntax errors and unsupported features carry the line too.
static void test_config_yaml_syntax(void **state) {
  (void)state;
  expect_fail("log_level: info\nlimits:\n\tidle_timeout: 5s\n", "3: YAML syntax error:");
  expect_fail("log_level: \"info\n", "2: YAML syntax error: found unexpected end of stream");
  expect_fail("a: &x 1\nb: *x\n", "1: YAML anchors (&x) are not supported");
  expect_fail("log_level: info\n---\nlog_level: warn\n", "2: only one YAML document is allowed");
  expect_fail("log_level: info\nlog_level: warn\n",
              "2: log_level: duplicate key (first at line 1)");
  expect_fail("", " the file holds no settings");
  expect_fail("# only a comment\n", " the file holds no settings");
  expect_fail("- a\n- b\n", "1: the top level must be a mapping of keys to values");
  expect_fail("{a: b}: c\n", "1: a key must be a plain string");
  fg_config_diag_cleanup(&g_diag);
  fg_config_diag_init(&g_diag);
  assert_null(fg_config_load("/nonexistent/fedgate.yaml", &g_diag));
  assert_non_null(strstr(g_diag.text, "/nonexistent/fedgate.yaml: cannot open:"));
  assert_null(fg_config_load("/nonexistent/fedgate.yaml", NULL));
}

// RFC 5890 / RFC 7622 §3.2: hosted domains are stored as lowercase A-labels
// without the trailing dot; U-labels are converted with libidn2.
static void test_rfc7622_3_2_domain_normalisation(void **state) {
  (void)state;
  fg_config *cfg = load(
      "domains:\n"
      "  - {name: Example.COM., backend: b}\n"
      "  - {name: \"m\xc3\xbcnchen.example\", backend: b}\n"
      "  - {name: \"*.Chat.Example.com\", backend: b}\n"
      "  - {name: xn--bcher-kva.example, backend: b}\n"
      "backends:\n"
      "  - {name: b, addresses: [\"prosody.internal\"]}\n"
      "tls: {default_cert: pki/example.com.crt, default_key: pki/example.com.key}\n"
      "internal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key}\n"
      "dialback: {secret_file: secret}\n");
  if (cfg == NULL) print_error("%s", g_diag.text);
  assert_non_null(cfg);
  assert_int_equal(cfg->n_domains, 4);
  assert_string_equal(cfg->domains[0].name, "example.com");
  assert_int_equal(cfg->domains[0].wildcard, 0);
  assert_string_equal(cfg->domains[1].name, "xn--mnchen-3ya.example");
  assert_string_equal(cfg->domains[2].name, "chat.example.com");
  assert_int_equal(cfg->domains[2].wildcard, 1);
  assert_string_equal(cfg->domains[3].name, "xn--bcher-kva.example");
  assert_string_equal(cfg->backends[0].addresses[0].host, "prosody.internal");
  assert_int_equal(cfg->backends[0].addresses[0].port, 5269);
  fg_config_free(cfg);
}

#define DOM_PREFIX "domains:\n  - {name: example.com, backend: b}\n  - {name: "
#define DOM_SUFFIX                                                               \
  ", backend: b}\nbackends:\n  - {name: b, addresses: [\"127.0.0.1\"]}\n"        \
  "tls: {default_cert: pki/example.com.crt, default_key: pki/example.com.key}\n" \
  "internal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key}\n"

// Domain syntax (LDH, RFC 1123 §2.1 / RFC 5890 §2.3.1) and duplicates.
static void test_rfc5890_2_3_1_domain_syntax_and_duplicates(void **state) {
  (void)state;
  expect_fail(DOM_PREFIX "EXAMPLE.com." DOM_SUFFIX,
              "3: domains[1].name: duplicate domain (first at line 2) (value 'EXAMPLE.com.')");
  expect_fail(DOM_PREFIX "a_b.example" DOM_SUFFIX, "3: domains[1].name: not a valid domain name");
  expect_fail(DOM_PREFIX "a..example" DOM_SUFFIX, "3: domains[1].name: not a valid domain name");
  expect_fail(DOM_PREFIX "-a.example" DOM_SUFFIX, "3: domains[1].name: not a valid domain name");
  expect_fail(DOM_PREFIX "\"192.0.2.1:5269\"" DOM_SUFFIX, "3: domains[1].name: not a valid");
  expect_fail(DOM_PREFIX "\"*.com\"" DOM_SUFFIX,
              "3: domains[1].name: a wildcard needs a suffix of two labels or more");
  expect_fail(DOM_PREFIX "\"a.*.example.com\"" DOM_SUFFIX,
              "3: domains[1].name: a wildcard is only allowed as the whole first label");
  expect_fail(DOM_PREFIX "\"*x.example.com\"" DOM_SUFFIX,
              "3: domains[1].name: a wildcard is only allowed");
  expect_fail(DOM_PREFIX "xn--zz.example" DOM_SUFFIX,
              "3: domains[1].name: not a valid domain "
              "name: bad A-label");
  char label64[1024];
  snprintf(label64, sizeof(label64), DOM_PREFIX "%s.example" DOM_SUFFIX,
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  expect_fail(label64, "3: domains[1].name: not a valid domain name");
  // An exact name and a wildcard on the same suffix are different entries.
  fg_config *cfg = load(DOM_PREFIX "\"*.example.com\"" DOM_SUFFIX);
  assert_non_null(cfg);
  fg_config_free(cfg);
  expect_fail(
      "domains:\n  - {name: a.example, backend: nope}\n"
      "backends:\n  - {name: b, addresses: [\"127.0.0.1\"]}\n"
      "tls: {default_cert: pki/example.com.crt, default_key: pki/example.com.key}\n"
      "internal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key}\n",
      "2: domains[0].backend: no backend has this name (value 'nope')");
}

static void test_config_backends_and_targets(void **state) {
  (void)state;
#define BK(addrs)                                                                                \
  "domains:\n  - {name: example.com, backend: b}\nbackends:\n  - name: b\n    addresses: " addrs \
  "\ntls: {default_cert: pki/example.com.crt, default_key: pki/example.com.key}\n"               \
  "internal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key}\n"
  expect_fail(BK("[\"::1\"]"), "5: backends[0].addresses[0]: IPv6 addresses need brackets");
  expect_fail(BK("[\"[::1]:0\"]"), "5: backends[0].addresses[0]: the port must be a number");
  expect_fail(BK("[\"[::1]:65536\"]"), "5: backends[0].addresses[0]: the port must be");
  expect_fail(BK("[\"[nothex]:1\"]"), "5: backends[0].addresses[0]: not a valid IPv6 address");
  expect_fail(BK("[\"a:1\", \"A:1\"]"),
              "5: backends[0].addresses[1]: this address is listed twice");
  expect_fail(BK("[]"), "5: backends[0].addresses: a backend needs at least one");
  expect_fail(BK("[\"h:\"]"), "5: backends[0].addresses[0]: the port must be");
  fg_config *cfg = load(BK("[\"[::1]:5270\", \"10.0.0.1\", \"Host.Internal:1\"]"));
  assert_non_null(cfg);
  assert_string_equal(cfg->backends[0].addresses[0].host, "::1");
  assert_int_equal(cfg->backends[0].addresses[1].port, 5269);
  assert_string_equal(cfg->backends[0].addresses[2].host, "host.internal");
  fg_config_free(cfg);
  expect_fail(
      "domains:\n  - {name: example.com, backend: b}\nbackends:\n  - {name: b, addresses: [x]}\n"
      "  - {name: b, addresses: [y]}\n"
      "tls: {default_cert: pki/example.com.crt, default_key: pki/example.com.key}\n"
      "internal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key}\n",
      "5: backends[1].name: duplicate backend name (first at line 4)");
  cfg = load(
      "domains:\n  - {name: example.com, backend: b}\nbackends:\n  - {name: b, addresses: [x]}\n"
      "  - {name: unused, addresses: [y]}\n"
      "tls: {default_cert: pki/example.com.crt, default_key: pki/example.com.key}\n"
      "internal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key}\n"
      "dialback: {secret_file: secret}\n");
  assert_non_null(cfg);
  expect_diag("5: warning: backends[1].name: no domain uses this backend (value 'unused')");
  fg_config_free(cfg);
}

// revocation: modes, durations, networks, responders, per-domain modes; each
// error at its line.
static void test_config_revocation(void **state) {
  (void)state;
  fg_config *cfg = load(BASE);
  assert_non_null(cfg);
  assert_int_equal(cfg->revocation.mode, FG_REVOCATION_SOFT_FAIL);
  assert_int_equal(cfg->revocation.leaf_only, 0);
  assert_int_equal(cfg->revocation.timeout_ms, 5000);
  assert_int_equal(cfg->revocation.clock_skew_s, 300);
  assert_int_equal(cfg->revocation.negative_ttl_s, 60);
  fg_config_free(cfg);
  cfg = load(BASE
             "revocation:\n  mode: hard-fail\n  leaf_only: true\n  timeout: 2s\n"
             "  allowed_networks: [\"127.0.0.0/8\"]\n"
             "  responders:\n    - {issuer: pki/ca.crt, url: \"http://ocsp.example:8080/\"}\n"
             "  domains:\n    - {domain: Legacy.Example, mode: \"off\"}\n");
  assert_non_null(cfg);
  assert_int_equal(cfg->revocation.mode, FG_REVOCATION_HARD_FAIL);
  assert_int_equal(cfg->revocation.leaf_only, 1);
  assert_int_equal(cfg->revocation.timeout_ms, 2000);
  assert_int_equal(cfg->revocation.n_allowed_networks, 1);
  assert_int_equal(cfg->revocation.n_responders, 1);
  assert_string_equal(cfg->revocation.responders[0].url, "http://ocsp.example:8080/");
  assert_int_equal(cfg->revocation.n_domains, 1);
  assert_string_equal(cfg->revocation.domains[0].domain, "legacy.example");
  assert_int_equal(cfg->revocation.domains[0].mode, FG_REVOCATION_OFF);
  assert_string_equal(fg_config_revocation_mode_name(cfg->revocation.mode), "hard-fail");
  fg_config_free(cfg);
  expect_fail(BASE "revocation:\n  mode: strict\n",
              "15: revocation.mode: expected off, soft-fail or hard-fail (value 'strict')");
  expect_fail(BASE
              "revocation:\n  responders:\n    - {issuer: pki/ca.crt, url: "
              "\"https://ocsp.example/\"}\n",
              "16: revocation.responders[0].url: expected an http:// URL");
  expect_fail(BASE
              "revocation:\n  responders:\n    - {issuer: missing.crt, url: "
              "\"http://ocsp.example/\"}\n",
              "16: revocation.responders[0].issuer:");
  cfg = load(BASE
             "revocation:\n  responders:\n    - {issuer: pki/ca.crt, crl: "
             "\"http://crl.example/ca.crl\"}\n");
  assert_non_null(cfg);
  assert_null(cfg->revocation.responders[0].url);
  assert_string_equal(cfg->revocation.responders[0].crl_url, "http://crl.example/ca.crl");
  fg_config_free(cfg);
  expect_fail(BASE "revocation:\n  responders:\n    - {issuer: pki/ca.crt}\n",
              "16: revocation.responders[0]: needs url (OCSP), crl, or both");
  expect_fail(BASE "revocation:\n  domains:\n    - {domain: a.example}\n",
              "16: revocation.domains[0].mode: required key missing");
  expect_fail(BASE "revocation:\n  timeout: 0s\n", "15: revocation.timeout:");
}

// revocation.stapling: on by default without persistence; state_dir must be
// a writable directory, relative to the file's directory.
static void test_config_revocation_stapling(void **state) {
  (void)state;
  fg_config *cfg = load(BASE);
  assert_non_null(cfg);
  assert_int_equal(cfg->revocation.stapling.enabled, 1);
  assert_null(cfg->revocation.stapling.state_dir);
  fg_config_free(cfg);
  char dir[PATH_MAX + 16];
  snprintf(dir, sizeof(dir), "%s/staples", g_dir);
  mkdir(dir, 0700);
  chmod(dir, 0700);
  cfg = load(BASE "revocation:\n  stapling:\n    enabled: false\n    state_dir: staples\n");
  assert_non_null(cfg);
  assert_int_equal(cfg->revocation.stapling.enabled, 0);
  assert_string_equal(cfg->revocation.stapling.state_dir, dir);
  fg_config_free(cfg);
  expect_fail(BASE "revocation:\n  stapling:\n    enabled: maybe\n",
              "16: revocation.stapling.enabled:");
  expect_fail(BASE "revocation:\n  stapling:\n    state_dir: nowhere\n",
              "16: revocation.stapling.state_dir: cannot open");
  expect_fail(BASE "revocation:\n  stapling:\n    state_dir: pki/ca.crt\n",
              "16: revocation.stapling.state_dir: ");
  expect_fail(BASE "revocation:\n  stapling:\n    refresh: 1h\n",
              "16: revocation.stapling.refresh: unknown key");
  if (geteuid() != 0) {  // root writes everywhere
    chmod(dir, 0500);
    expect_fail(BASE "revocation:\n  stapling:\n    state_dir: staples\n",
                "16: revocation.stapling.state_dir: cannot write in");
    chmod(dir, 0700);
  }
}

// WITH_POSH is BASE with |x| (lines from 11) inside the tls section.
#define WITH_POSH(x)                                                                  \
  "domains:\n  - name: example.com\n    backend: b\nbackends:\n  - name: b\n"         \
  "    addresses: [\"127.0.0.1:15269\"]\ntls:\n  default_cert: pki/example.com.crt\n" \
  "  default_key: pki/example.com.key\n  trust_file: pki/ca.crt\n" x                  \
  "internal_hop:\n  ca_cert: pki/internal-ca.crt\n  ca_key: pki/internal-ca.key\n"

// tls.posh (RFC 7711): off by default; each bad value at its line.
static void test_config_tls_posh(void **state) {
  (void)state;
  fg_config *cfg = load(BASE);
  assert_non_null(cfg);
  assert_int_equal(cfg->tls.posh.enabled, 0);
  assert_int_equal(cfg->tls.posh.timeout_ms, 5000);
  assert_int_equal(cfg->tls.posh.negative_ttl_s, 60);
  assert_int_equal(cfg->tls.posh.max_ttl_s, 86400);
  fg_config_free(cfg);
  cfg =
      load(WITH_POSH("  posh:\n    enabled: true\n    timeout: 1500ms\n    negative_ttl: 5s\n"
                     "    max_ttl: 2h\n    allowed_networks: [\"127.0.0.0/8\", \"::1/128\"]\n"));
  assert_non_null(cfg);
  assert_int_equal(cfg->tls.posh.enabled, 1);
  assert_int_equal(cfg->tls.posh.timeout_ms, 1500);
  assert_int_equal(cfg->tls.posh.negative_ttl_s, 5);
  assert_int_equal(cfg->tls.posh.max_ttl_s, 7200);
  assert_int_equal(cfg->tls.posh.n_allowed_networks, 2);
  fg_config_free(cfg);
  expect_fail(WITH_POSH("  posh:\n    enabled: sometimes\n"),
              "12: tls.posh.enabled: expected true or false (value 'sometimes')");
  expect_fail(WITH_POSH("  posh:\n    timeout: 2h\n"),
              "12: tls.posh.timeout: must be between 100ms and 60s (value '2h')");
  expect_fail(WITH_POSH("  posh:\n    allowed_networks: [\"posh.example\"]\n"),
              "12: tls.posh.allowed_networks[0]: expected a numeric network");
  expect_fail(WITH_POSH("  posh:\n    url: x\n"), "12: tls.posh.url: unknown key");
}

// abuse: block and allow lists, RTBL subscriptions, limits; every bad value
// at its line.
static void test_config_abuse(void **state) {
  (void)state;
  fg_config *cfg = load(BASE);
  assert_non_null(cfg);
  assert_int_equal(cfg->abuse.n_block, 0);
  assert_int_equal(cfg->abuse.n_allow_only, 0);
  assert_int_equal(cfg->abuse.n_rtbl, 0);
  assert_int_equal(cfg->abuse.limits.domain_stanzas, 0);
  assert_int_equal(cfg->abuse.limits.burst_ms, 2000);
  assert_int_equal(cfg->abuse.limits.sustained_ms, 10000);
  assert_int_equal(cfg->abuse.limits.max_keys, 100000);
  assert_int_equal(cfg->abuse.reports, 1);
  fg_config_free(cfg);
  cfg = load(BASE
             "abuse:\n  block: [Spam.Example., \"*.bad.example\", "
             "\"4924BB79B21A17DCA79A8AC424E51BD6F48604573EA95D39197785B12DB5DB97\"]\n"
             "  allow_only: [partner.example, \"*.corp.example\"]\n"
             "  rtbl:\n    - {service: Pubsub.RTBL.example, node: muc_bans_sha256, "
             "jid: RTBL@example.com}\n"
             "  limits:\n    domain_stanzas: 100\n    unsolicited_per_minute: 5\n"
             "    burst: 500ms\n    sustained: 30s\n"
             "  reports:\n    enabled: false\n");
  assert_non_null(cfg);
  assert_int_equal(cfg->abuse.n_block, 3);
  assert_string_equal(cfg->abuse.block[0], "spam.example");
  assert_string_equal(cfg->abuse.block[1], "*.bad.example");
  assert_string_equal(cfg->abuse.block[2],
                      "4924bb79b21a17dca79a8ac424e51bd6f48604573ea95d39197785b12db5db97");
  assert_int_equal(cfg->abuse.n_allow_only, 2);
  assert_int_equal(cfg->abuse.n_rtbl, 1);
  assert_string_equal(cfg->abuse.rtbl[0].service, "pubsub.rtbl.example");
  assert_string_equal(cfg->abuse.rtbl[0].node, "muc_bans_sha256");
  assert_string_equal(cfg->abuse.rtbl[0].jid, "rtbl@example.com");
  assert_int_equal(cfg->abuse.limits.domain_stanzas, 100);
  assert_int_equal(cfg->abuse.limits.unsolicited_per_minute, 5);
  assert_int_equal(cfg->abuse.limits.burst_ms, 500);
  assert_int_equal(cfg->abuse.limits.sustained_ms, 30000);
  assert_int_equal(cfg->abuse.reports, 0);
  fg_config_free(cfg);
  expect_fail(BASE "abuse:\n  block:\n    - ok.example\n    - \"bad..example\"\n",
              "17: abuse.block[1]: not a valid domain name");
  expect_fail(BASE "abuse:\n  block: [\"a.*.example\"]\n",
              "15: abuse.block[0]: a wildcard is only allowed as the whole first label");
  expect_fail(BASE
              "abuse:\n  allow_only: "
              "[4924bb79b21a17dca79a8ac424e51bd6f48604573ea95d39197785b12db5db97]\n",
              "15: abuse.allow_only[0]: a JID digest cannot be allowed");
  expect_fail(BASE
              "abuse:\n  rtbl:\n    - {service: rtbl.example, node: spam, jid: "
              "rtbl@elsewhere.example}\n",
              "16: abuse.rtbl[0].jid: must be on a hosted domain");
  expect_fail(BASE
              "abuse:\n  rtbl:\n    - {service: rtbl.example, node: spam, jid: "
              "example.com}\n",
              "16: abuse.rtbl[0].jid: a JID with a local part is required");
  expect_fail(BASE
              "abuse:\n  rtbl:\n    - {service: rtbl.example, node: \"a b\", jid: "
              "r@example.com}\n",
              "16: abuse.rtbl[0].node: node names are 1 to 255 of");
  expect_fail(BASE "abuse:\n  limits:\n    domain_stanzas: lots\n",
              "16: abuse.limits.domain_stanzas:");
  expect_fail(BASE "abuse:\n  limits:\n    sustained: 10ms\n",
              "16: abuse.limits.sustained: must be between");
  expect_fail(BASE "abuse:\n  blocks: [x.example]\n", "15: abuse.blocks: unknown key");
}

// stream_management (XEP-0198): on by default; each bad value at its line.
static void test_config_stream_management(void **state) {
  (void)state;
  fg_config *cfg = load(BASE);
  assert_non_null(cfg);
  assert_int_equal(cfg->sm.enabled, 1);
  assert_int_equal(cfg->sm.request_every, 16);
  assert_int_equal(cfg->sm.request_interval_ms, 1000);
  assert_int_equal(cfg->sm.resume_timeout_s, 60);
  assert_int_equal(cfg->sm.give_up_after_ms, 60000);
  fg_config_free(cfg);
  cfg = load(BASE
             "stream_management:\n  enabled: false\n  request_every: 3\n"
             "  request_interval: 250ms\n  resume_timeout: 0s\n  give_up_after: 5s\n");
  assert_non_null(cfg);
  assert_int_equal(cfg->sm.enabled, 0);
  assert_int_equal(cfg->sm.request_every, 3);
  assert_int_equal(cfg->sm.request_interval_ms, 250);
  assert_int_equal(cfg->sm.resume_timeout_s, 0);
  assert_int_equal(cfg->sm.give_up_after_ms, 5000);
  fg_config_free(cfg);
  expect_fail(BASE "stream_management:\n  enabled: maybe\n",
              "15: stream_management.enabled: expected true or false (value 'maybe')");
  expect_fail(BASE "stream_management:\n  request_every: 0\n",
              "15: stream_management.request_every: must be between 1 and 100000 (value '0')");
  expect_fail(BASE "stream_management:\n  request_interval: 1ms\n",
              "15: stream_management.request_interval: must be between 10ms and");
  expect_fail(BASE "stream_management:\n  resume_timeout: 2h\n",
              "15: stream_management.resume_timeout: must be between 0ms and 3600s (value '2h')");
  expect_fail(BASE "stream_management:\n  give_up_after: 2h\n",
              "15: stream_management.give_up_after: must be between 0ms and 3600s (value '2h')");
  expect_fail(BASE "stream_management:\n  resume: yes\n",
              "15: stream_management.resume: unknown key");
}

// bidi (XEP-0288): on by default; a bad value or key at its line.
static void test_config_bidi(void **state) {
  (void)state;
  fg_config *cfg = load(BASE);
  assert_non_null(cfg);
  assert_int_equal(cfg->bidi.enabled, 1);
  fg_config_free(cfg);
  cfg = load(BASE "bidi:\n  enabled: false\n");
  assert_non_null(cfg);
  assert_int_equal(cfg->bidi.enabled, 0);
  fg_config_free(cfg);
  expect_fail(BASE "bidi:\n  enabled: sometimes\n",
              "15: bidi.enabled: expected true or false (value 'sometimes')");
  expect_fail(BASE "bidi:\n  offer: true\n", "15: bidi.offer: unknown key");
}

// check_hop_flag checks an internal_hop boolean that is on by default (the
// int at |field| of fg_config): |off| turns it off, |bad| is refused with
// |error| at its line.
static void check_hop_flag(size_t field, const char *off, const char *bad, const char *error) {
  fg_config *cfg = load(BASE);
  assert_non_null(cfg);
  assert_int_equal(*(const int *)((const char *)cfg + field), 1);
  fg_config_free(cfg);
  cfg = load(off);
  assert_non_null(cfg);
  assert_int_equal(*(const int *)((const char *)cfg + field), 0);
  fg_config_free(cfg);
  expect_fail(bad, error);
}

// internal_hop.close_on_link_loss: on by default; a bad value at its line.
static void test_config_close_on_link_loss(void **state) {
  (void)state;
  check_hop_flag(offsetof(fg_config, internal_hop.close_on_link_loss),
                 BASE "  close_on_link_loss: false\n", BASE "  close_on_link_loss: sometimes\n",
                 "14: internal_hop.close_on_link_loss: expected true or false (value 'sometimes')");
}

// internal_hop.bidi (XEP-0288 on the hop): on by default; a bad value at its line.
static void test_config_internal_hop_bidi(void **state) {
  (void)state;
  check_hop_flag(offsetof(fg_config, internal_hop.bidi), BASE "  bidi: false\n",
                 BASE "  bidi: both\n",
                 "14: internal_hop.bidi: expected true or false (value 'both')");
}

// dns.allowed_networks: numeric networks only, each error at its line.
static void test_config_dns_allowed_networks(void **state) {
  (void)state;
  expect_fail(BASE "dns:\n  allowed_networks: [\"10.0.0.0/8\", \"10.0.0.1/8\"]\n",
              "15: dns.allowed_networks[1]: expected a numeric network such as 10.20.0.0/16 or "
              "fd00::/8 (value '10.0.0.1/8')");
  expect_fail(BASE "dns:\n  allowed_networks:\n    - gw.internal\n",
              "16: dns.allowed_networks[0]: expected a numeric network");
  fg_config *cfg =
      load(BASE "dns:\n  allowed_networks: [\"10.20.0.0/16\", \"fd00::/8\", 127.0.0.1]\n");
  assert_non_null(cfg);
  assert_int_equal(cfg->n_dns_allowed_networks, 3);
  assert_int_equal(cfg->dns_allowed_networks[0].bits, 16);
  assert_int_equal(cfg->dns_allowed_networks[1].bits, 8);
  assert_int_equal(cfg->dns_allowed_networks[2].bits, 32);
  fg_config_free(cfg);
  cfg = load(BASE);
  assert_non_null(cfg);
  assert_int_equal(cfg->n_dns_allowed_networks, 0);
  fg_config_free(cfg);
}

// listeners.s2s|s2s-tls.proxy_protocol.trusted_networks: the load balancers
// that may connect and name the peer (PROXY protocol); public listeners only,
// at least one network, each numeric.
static void test_config_listener_proxy_protocol(void **state) {
  (void)state;
  fg_config *cfg = load(BASE
                        "listeners:\n"
                        "  s2s: {proxy_protocol: {trusted_networks: [10.0.0.0/8, 127.0.0.1]}}\n"
                        "  s2s-tls:\n"
                        "    proxy_protocol:\n"
                        "      trusted_networks: [\"fd00::/8\"]\n");
  assert_non_null(cfg);
  assert_int_equal(cfg->listeners[FG_LISTENER_S2S].n_proxy_trusted, 2);
  assert_int_equal(cfg->listeners[FG_LISTENER_S2S].proxy_trusted[0].bits, 8);
  assert_int_equal(cfg->listeners[FG_LISTENER_S2S].proxy_trusted[1].bits, 32);
  assert_int_equal(cfg->listeners[FG_LISTENER_S2S_TLS].n_proxy_trusted, 1);
  assert_int_equal(cfg->listeners[FG_LISTENER_S2S_TLS].proxy_trusted[0].family, AF_INET6);
  assert_int_equal(cfg->listeners[FG_LISTENER_INTERNAL].n_proxy_trusted, 0);
  fg_config_free(cfg);
  cfg = load(BASE);
  assert_non_null(cfg);
  assert_int_equal(cfg->listeners[FG_LISTENER_S2S].n_proxy_trusted, 0);
  fg_config_free(cfg);
  expect_fail(BASE
              "listeners:\n  s2s:\n    proxy_protocol:\n      trusted_networks: [10.0.0.1/8]\n",
              "17: listeners.s2s.proxy_protocol.trusted_networks[0]: expected a numeric network "
              "such as 10.20.0.0/16 or fd00::/8 (value '10.0.0.1/8')");
  expect_fail(BASE "listeners:\n  s2s-tls:\n    proxy_protocol: {trusted_networks: []}\n",
              "16: listeners.s2s-tls.proxy_protocol.trusted_networks: list the load balancers' "
              "networks");
  expect_fail(BASE "listeners:\n  s2s-tls:\n    proxy_protocol: {}\n",
              "16: listeners.s2s-tls.proxy_protocol.trusted_networks: list the load balancers'");
  expect_fail(BASE "listeners:\n  internal:\n    proxy_protocol: {trusted_networks: [127.0.0.1]}\n",
              "16: listeners.internal.proxy_protocol: only the public listeners (s2s, s2s-tls) "
              "take the PROXY protocol");
  expect_fail(BASE "listeners:\n  admin:\n    proxy_protocol: {trusted_networks: [127.0.0.1]}\n",
              "16: listeners.admin.proxy_protocol: only the public listeners");
  expect_fail(BASE "listeners:\n  s2s:\n    proxy_protocol: {trusted: [127.0.0.1]}\n", "16:");
}

// admin.allowed_networks: loopback by default, numeric networks only.
static void test_config_admin_allowed_networks(void **state) {
  (void)state;
  fg_config *cfg = load(BASE);
  assert_non_null(cfg);
  assert_int_equal(cfg->n_admin_allowed_networks, 2);
  assert_int_equal(cfg->admin_allowed_networks[0].family, AF_INET);
  assert_int_equal(cfg->admin_allowed_networks[0].bits, 8);
  assert_int_equal(cfg->admin_allowed_networks[1].family, AF_INET6);
  assert_int_equal(cfg->admin_allowed_networks[1].bits, 128);
  fg_config_free(cfg);
  cfg = load(BASE "admin:\n  allowed_networks: [127.0.0.1/32, \"10.9.0.0/16\"]\n");
  assert_non_null(cfg);
  assert_int_equal(cfg->n_admin_allowed_networks, 2);
  assert_int_equal(cfg->admin_allowed_networks[1].bits, 16);
  fg_config_free(cfg);
  expect_fail(BASE "admin:\n  allowed_networks: [127.0.0.1/32, ops.internal]\n",
              "15: admin.allowed_networks[1]: expected a numeric network such as 10.20.0.0/16 "
              "or fd00::/8 (value 'ops.internal')");
  expect_fail(BASE "admin:\n  allowed: [127.0.0.1]\n", "15: admin.allowed: unknown key");
}

// listeners.admin.socket: admin only, short enough for a Unix socket
// address (relative names are resolved against the file's directory, whose
// name here is already too long), in a directory that exists; no TCP port
// clash counts for it.
static void test_config_admin_socket(void **state) {
  (void)state;
  fg_config *cfg = load(BASE "listeners:\n  admin: {socket: /tmp/fg-admin.sock, port: 5269}\n");
  if (cfg == NULL) print_error("%s", g_diag.text);
  assert_non_null(cfg);
  assert_string_equal(cfg->listeners[FG_LISTENER_ADMIN].socket_path, "/tmp/fg-admin.sock");
  assert_string_equal(cfg->listeners[FG_LISTENER_S2S].socket_path, "");
  fg_config_free(cfg);
  expect_fail(BASE "listeners:\n  s2s: {socket: s2s.sock}\n",
              "15: listeners.s2s.socket: only the admin listener can be a Unix socket");
  expect_fail(BASE "listeners:\n  admin: {socket: /no-such-dir/admin.sock}\n",
              "15: listeners.admin.socket: its directory");
  char longname[200];
  memset(longname, 'a', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = 0;
  char yaml[1024];
  snprintf(yaml, sizeof(yaml), BASE "listeners:\n  admin: {socket: %s}\n", longname);
  expect_fail(yaml, "15: listeners.admin.socket: expected a file name of at most 107 bytes");
}

// dns.dnssec.trusted_resolvers: numeric, loopback unless allowed, one of
// dns.nameservers; tls.dane and tls.dane_inbound.
static void test_config_dns_dnssec_trusted_resolvers(void **state) {
  (void)state;
  expect_fail(BASE
              "dns:\n  nameservers: [\"127.0.0.1:5300\"]\n  dnssec:\n"
              "    trusted_resolvers: [\"192.0.2.1\"]\n",
              "17: dns.dnssec.trusted_resolvers[0]: not a loopback address");
  expect_fail(BASE
              "dns:\n  nameservers: [\"127.0.0.1:5300\"]\n  dnssec:\n"
              "    trusted_resolvers: [\"127.0.0.1:5301\"]\n",
              "17: dns.dnssec.trusted_resolvers[0]: not one of dns.nameservers");
  expect_fail(BASE
              "dns:\n  nameservers: [\"127.0.0.1:5300\"]\n  dnssec:\n"
              "    trusted_resolvers: [\"resolver.example\"]\n",
              "17: dns.dnssec.trusted_resolvers[0]: expected a numeric address");
  expect_fail(BASE "dns:\n  dnssec:\n    allow_non_loopback: maybe\n",
              "16: dns.dnssec.allow_non_loopback: expected true or false (value 'maybe')");
  fg_config *cfg = load(BASE
                        "dns:\n  nameservers: [\"127.0.0.1:5300\", \"[::1]:53\", "
                        "\"192.0.2.1\"]\n  dnssec:\n"
                        "    trusted_resolvers: [\"127.0.0.1:5300\", \"[::1]\"]\n");
  if (cfg == NULL) print_error("%s", g_diag.text);
  assert_non_null(cfg);
  assert_int_equal(cfg->n_dns_trusted_resolvers, 2);
  assert_string_equal(cfg->dns_trusted_resolvers[0], "127.0.0.1:5300");
  assert_int_equal(cfg->tls.dane, 1);
  assert_int_equal(cfg->tls.dane_inbound, 0);
  fg_config_free(cfg);
  cfg = load(BASE
             "dns:\n  nameservers: [\"192.0.2.1\"]\n  dnssec:\n"
             "    trusted_resolvers: [\"192.0.2.1:53\"]\n    allow_non_loopback: true\n");
  assert_non_null(cfg);
  assert_int_equal(cfg->n_dns_trusted_resolvers, 1);
  fg_config_free(cfg);
  cfg = load(BASE
             "dns:\n  nameservers: [\"127.0.0.1\"]\n  dnssec:\n"
             "    trusted_resolvers: [127.0.0.1]\n");
  assert_non_null(cfg);
  fg_config_free(cfg);
}

// Relative paths are relative to the config file's directory, whatever the
// working directory is.
static void test_config_relative_paths_use_config_dir(void **state) {
  (void)state;
  char cwd[PATH_MAX];
  assert_non_null(getcwd(cwd, sizeof(cwd)));
  assert_int_equal(chdir("/"), 0);
  fg_config *cfg = load(BASE "dialback: {secret_file: secret}\n");
  assert_int_equal(chdir(cwd), 0);
  if (cfg == NULL) print_error("%s", g_diag.text);
  assert_non_null(cfg);
  char want[PATH_MAX + 64];
  snprintf(want, sizeof(want), "%s/secret", g_dir);
  char real_dir[PATH_MAX];
  assert_non_null(realpath(g_dir, real_dir));
  snprintf(want, sizeof(want), "%s/secret", real_dir);
  assert_string_equal(cfg->dialback.secret_file, want);
  assert_string_equal(cfg->dir, real_dir);
  snprintf(want, sizeof(want), "%s/pki/internal-ca.key", real_dir);
  assert_string_equal(cfg->internal_hop.ca_key_file, want);
  fg_config_free(cfg);
  // Absolute paths are kept.
  char yaml[PATH_MAX + 1024];
  snprintf(yaml, sizeof(yaml), BASE "dialback: {secret_file: %s/secret}\n", real_dir);
  cfg = load(yaml);
  assert_non_null(cfg);
  fg_config_free(cfg);
}

// XEP-0185 §3 secret: read from a file that must exist and not be empty;
// a world-readable file is warned about.
static void test_xep0185_3_dialback_secret_file(void **state) {
  (void)state;
  expect_fail(BASE "dialback: {secret_file: nothere}\n", "14: dialback.secret_file: cannot open");
  write_file("empty", "\n", 0600);
  fg_config *cfg = load(BASE "dialback: {secret_file: empty}\n");
  assert_null(cfg);
  expect_diag("14: dialback.secret_file: %s/empty is empty", g_dir);
  cfg = load(BASE "dialback: {secret_file: .}\n");
  assert_null(cfg);
  expect_diag("14: dialback.secret_file: %s/. is not a regular file", g_dir);
  cfg = load(BASE "dialback: {secret_file: secret}\n");
  assert_non_null(cfg);
  fg_config_free(cfg);
  write_file("open", "a-long-enough-secret-value\n", 0644);
  cfg = load(BASE "dialback: {secret_file: open}\n");
  assert_non_null(cfg);
  expect_diag("14: warning: dialback.secret_file: %s/open is readable by every user", g_dir);
  assert_int_equal(cfg->dialback.secret_len, 26);
  fg_config_free(cfg);
  // Dialback off: no secret at all.
  cfg = load(BASE "dialback: {enabled: false}\n");
  assert_non_null(cfg);
  assert_null(cfg->dialback.secret);
  assert_int_equal(g_diag.warnings, 0);
  fg_config_free(cfg);
}

// A ticket key line: base64 of 80 bytes.
#define TICKET_KEY                                                                                 \
  "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NT" \
  "Y3ODlhYmNkZWY="

// tls.ticket_key_file: readable, well-formed (the bad line named), not open
// to other users (a warning); the check interval and session cache bound.
static void test_tls_ticket_key_file_and_session_cache(void **state) {
  (void)state;
  write_file("t.keys", "# keys\n" TICKET_KEY "\n", 0600);
  fg_config *cfg =
      load(BASE_TLS("  ticket_key_file: t.keys\n  ticket_key_check_interval: 2s\n"
                    "  session_cache_entries: 100\n"));
  assert_non_null(cfg);
  assert_null(strstr(g_diag.text ? g_diag.text : "", "ticket_key_file"));
  char want[PATH_MAX + 16];
  snprintf(want, sizeof(want), "%s/t.keys", g_dir);
  assert_string_equal(cfg->tls.ticket_key_file, want);
  assert_int_equal(cfg->tls.ticket_key_check_ms, 2000);
  assert_int_equal(cfg->tls.session_cache_entries, 100);
  fg_config_free(cfg);
  cfg = load(BASE);
  assert_null(cfg->tls.ticket_key_file);
  assert_int_equal(cfg->tls.ticket_key_check_ms, 5000);
  assert_int_equal(cfg->tls.session_cache_entries, 4096);
  fg_config_free(cfg);
  write_file("open.keys", TICKET_KEY "\n", 0640);
  cfg = load(BASE_TLS("  ticket_key_file: open.keys\n"));
  assert_non_null(cfg);
  expect_diag("11: warning: tls.ticket_key_file: %s/open.keys is open to other users (mode 640)",
              g_dir);
  fg_config_free(cfg);
  write_file("bad.keys", "# keys\n" TICKET_KEY "\nAAAA\n", 0600);
  expect_fail(BASE_TLS("  ticket_key_file: bad.keys\n"),
              "11: tls.ticket_key_file: %s/bad.keys: line 3: a key has 80 bytes, this one 3",
              g_dir);
  write_file("empty.keys", "# nothing\n", 0600);
  expect_fail(BASE_TLS("  ticket_key_file: empty.keys\n"),
              "11: tls.ticket_key_file: %s/empty.keys: no key", g_dir);
  expect_fail(BASE_TLS("  ticket_key_file: missing.keys\n"), "11: tls.ticket_key_file:");
  expect_fail(BASE_TLS("  ticket_key_check_interval: 10ms\n"),
              "11: tls.ticket_key_check_interval:");
  expect_fail(BASE_TLS("  session_cache_entries: 2\n"), "11: tls.session_cache_entries:");
}

// Certificates and keys: both or neither; the key must match; every domain
// needs one (RFC 6120 §5.4.3.1: TLS needs a certificate for the stream's
// domain).
static void test_rfc6120_5_4_certificates(void **state) {
  (void)state;
  expect_fail(
      "domains:\n  - {name: example.com, backend: b, cert: pki/example.com.crt}\n"
      "backends:\n  - {name: b, addresses: [x]}\n"
      "internal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key}\n",
      "2: domains[0].cert: cert and key must be given together (value 'pki/example.com.crt')");
  expect_fail(
      "domains:\n  - {name: example.com, backend: b}\n"
      "backends:\n  - {name: b, addresses: [x]}\n"
      "internal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key}\n",
      "2: domains[0]: example.com has no certificate");
  expect_fail(
      "domains:\n  - {name: example.com, backend: b, cert: pki/example.com.crt,\n"
      "     key: pki/internal-ca.key}\n"
      "backends:\n  - {name: b, addresses: [x]}\n"
      "internal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key}\n",
      "3: domains[0].key: %s/pki/internal-ca.key does not belong to the certificate", g_dir);
  expect_fail(
      "domains:\n  - {name: example.com, backend: b, cert: pki/example.com.key,\n"
      "     key: pki/example.com.key}\n"
      "backends:\n  - {name: b, addresses: [x]}\n"
      "internal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key}\n",
      "2: domains[0].cert: %s/pki/example.com.key holds no PEM certificate", g_dir);
  expect_fail(BASE "tls:\n", "14: tls: duplicate key");
  fg_config *cfg = load(
      "domains:\n  - {name: example.com, backend: b, cert: pki/example.com.crt,\n"
      "     key: pki/example.com.key}\n"
      "backends:\n  - {name: b, addresses: [x]}\n"
      "tls: {trust_dir: pki}\n"
      "internal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key}\n"
      "dialback: {secret_file: secret}\n");
  if (cfg == NULL) print_error("%s", g_diag.text);
  assert_non_null(cfg);
  assert_null(cfg->tls.default_cert_file);
  assert_non_null(cfg->tls.trust_dir);
  assert_null(cfg->tls.trust_file);
  fg_config_free(cfg);
}

// Internal hop modes and the plaintext flag.
static void test_config_internal_hop_modes(void **state) {
  (void)state;
  const char *base =
      "domains:\n  - {name: example.com, backend: b}\nbackends:\n  - {name: b, addresses: [x]}\n"
      "tls: {default_cert: pki/example.com.crt, default_key: pki/example.com.key}\n"
      "dialback: {secret_file: secret}\n";
  char y[2048];
  snprintf(y, sizeof(y), "%sinternal_hop: {mode: dialback, plaintext: true}\n", base);
  fg_config *cfg = load(y);
  assert_non_null(cfg);
  assert_int_equal(cfg->internal_hop.mode, FG_HOP_DIALBACK);
  assert_int_equal(cfg->internal_hop.plaintext, 1);
  expect_diag("7: warning: internal_hop.plaintext: stanzas cross the internal hop unencrypted");
  fg_config_free(cfg);
  snprintf(y, sizeof(y), "%sinternal_hop: {mode: internal-ca}\n", base);
  expect_fail(y, "7: internal_hop.ca_cert: internal-ca mode needs ca_cert and ca_key");
  snprintf(y, sizeof(y),
           "%sinternal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key, "
           "plaintext: true}\n",
           base);
  expect_fail(y, "7: internal_hop.plaintext: internal-ca mode authenticates with TLS");
  snprintf(y, sizeof(y), "%sinternal_hop: {mode: tls}\n", base);
  expect_fail(y, "7: internal_hop.mode: expected internal-ca or dialback (value 'tls')");
  snprintf(y, sizeof(y),
           "domains:\n  - {name: example.com, backend: b}\nbackends:\n  - {name: b, addresses: "
           "[x]}\ntls: {default_cert: pki/example.com.crt, default_key: pki/example.com.key}\n"
           "dialback: {enabled: false}\ninternal_hop: {mode: dialback}\n");
  expect_fail(y, "7: internal_hop.mode: dialback mode needs dialback.enabled: true");
  snprintf(y, sizeof(y),
           "%sinternal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key, "
           "cert_lifetime: 10m}\n",
           base);
  expect_fail(y, "7: internal_hop.cert_lifetime: must be between");
}

// kTwoBackendsHead: two domains, each on its own backend (p and e), the
// backends themselves following.
static const char kTwoBackendsHead[] =
    "domains:\n  - {name: example.com, backend: p}\n  - {name: example.org, backend: e}\n"
    "tls: {default_cert: pki/example.com.crt, default_key: pki/example.com.key}\n";

// backends[].hop_mode: a mixed fleet; each backend's line names what its
// mode lacks.
static void test_config_backend_hop_modes(void **state) {
  (void)state;
  const char *head = kTwoBackendsHead;
  char y[2048];
  snprintf(y, sizeof(y),
           "%sbackends:\n  - {name: p, addresses: [x]}\n"
           "  - {name: e, addresses: [y], hop_mode: dialback}\n"
           "dialback: {secret_file: secret}\n"
           "internal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key}\n",
           head);
  fg_config *cfg = load(y);
  assert_non_null(cfg);
  assert_int_equal(cfg->backends[0].hop_mode, FG_HOP_INTERNAL_CA);  // internal_hop.mode
  assert_int_equal(cfg->backends[1].hop_mode, FG_HOP_DIALBACK);
  assert_non_null(cfg->internal_hop.ca_cert_file);
  fg_config_free(cfg);
  // Instance-wide dialback, one backend internal-ca: the CA is loaded.
  snprintf(y, sizeof(y),
           "%sbackends:\n  - {name: p, addresses: [x], hop_mode: internal-ca}\n"
           "  - {name: e, addresses: [y]}\ndialback: {secret_file: secret}\n"
           "internal_hop: {mode: dialback, ca_cert: pki/internal-ca.crt, "
           "ca_key: pki/internal-ca.key}\n",
           head);
  cfg = load(y);
  assert_non_null(cfg);
  assert_int_equal(cfg->backends[0].hop_mode, FG_HOP_INTERNAL_CA);
  assert_int_equal(cfg->backends[1].hop_mode, FG_HOP_DIALBACK);
  assert_non_null(cfg->internal_hop.ca_cert_file);
  assert_int_equal(g_diag.warnings, 0);
  fg_config_free(cfg);
  snprintf(y, sizeof(y),
           "%sbackends:\n  - {name: p, addresses: [x], hop_mode: internal-ca}\n"
           "  - {name: e, addresses: [y]}\ndialback: {secret_file: secret}\n"
           "internal_hop: {mode: dialback}\n",
           head);
  expect_fail(y,
              "6: backends[0].hop_mode: internal-ca mode needs internal_hop.ca_cert and ca_key "
              "(value 'internal-ca')");
  snprintf(y, sizeof(y),
           "%sbackends:\n  - {name: p, addresses: [x]}\n"
           "  - {name: e, addresses: [y], hop_mode: dialback}\ndialback: {enabled: false}\n"
           "internal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key}\n",
           head);
  expect_fail(y,
              "7: backends[1].hop_mode: dialback mode needs dialback.enabled: true "
              "(value 'dialback')");
  snprintf(y, sizeof(y),
           "%sbackends:\n  - {name: p, addresses: [x], hop_mode: tls}\n"
           "  - {name: e, addresses: [y]}\ndialback: {secret_file: secret}\n"
           "internal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key}\n",
           head);
  expect_fail(y, "6: backends[0].hop_mode: expected internal-ca or dialback (value 'tls')");
}

// two_backends writes into |y| a configuration with backends p and e, whose
// entries end with |p_keys| and |e_keys|, followed by |tail|.
static void two_backends(char *y, size_t cap, const char *p_keys, const char *e_keys,
                         const char *tail) {
  snprintf(y, cap,
           "%sbackends:\n  - {name: p, addresses: [x]%s}\n  - {name: e, addresses: [y]%s}\n%s",
           kTwoBackendsHead, p_keys, e_keys, tail);
}

// backends[].pairs_per_stream: further pairs of one remote domain on a hop
// stream to that backend (XEP-0220 §4.3); 1, the default, keeps one per pair.
static void test_xep0220_4_3_backend_pairs_per_stream(void **state) {
  (void)state;
  const char *ca = "internal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key}\n";
  char tail[256], y[2048];
  snprintf(tail, sizeof(tail), "dialback: {secret_file: secret}\n%s", ca);
  two_backends(y, sizeof(y), "", ", pairs_per_stream: 16", tail);
  fg_config *cfg = load(y);
  assert_non_null(cfg);
  assert_int_equal(cfg->backends[0].pairs_per_stream, 1);
  assert_int_equal(cfg->backends[1].pairs_per_stream, 16);
  fg_config_free(cfg);
  two_backends(y, sizeof(y), ", pairs_per_stream: 0", "", tail);
  expect_fail(y, "6: backends[0].pairs_per_stream: must be between 1 and 1000 (value '0')");
  snprintf(tail, sizeof(tail), "dialback: {enabled: false}\n%s", ca);
  two_backends(y, sizeof(y), "", ", pairs_per_stream: 4", tail);
  expect_fail(y,
              "7: backends[1].pairs_per_stream: further pairs on a hop stream need "
              "dialback.enabled: true (value '4')");
}

// log.format, log.file and shutdown.grace.
static void test_config_log_and_shutdown(void **state) {
  (void)state;
  char logs[PATH_MAX + 8];
  snprintf(logs, sizeof(logs), "%s/logs", g_dir);
  mkdir(logs, 0700);
  fg_config *cfg =
      load(BASE "log: {format: json, file: logs/fedgate.log}\nshutdown: {grace: 45s}\n");
  assert_non_null(cfg);
  assert_int_equal(cfg->log.format, FG_LOG_FORMAT_JSON);
  char want[PATH_MAX + 64];
  snprintf(want, sizeof(want), "%s/logs/fedgate.log", g_dir);
  assert_string_equal(cfg->log.file, want);
  assert_int_equal(cfg->shutdown.grace_ms, 45000);
  fg_config_free(cfg);
  cfg = load(BASE);
  assert_non_null(cfg);
  assert_int_equal(cfg->log.format, FG_LOG_FORMAT_AUTO);
  assert_null(cfg->log.file);
  assert_int_equal(cfg->shutdown.grace_ms, 30000);
  fg_config_free(cfg);
  // BASE is 13 lines: the appended key is on line 14.
  expect_fail(BASE "log: {format: xml}\n",
              "14: log.format: expected text, kv, json or auto (value 'xml')");
  expect_fail(BASE "log: {file: nowhere/at/all.log}\n",
              "14: log.file: directory %s/nowhere/at does not exist", g_dir);
  expect_fail(BASE "shutdown: {grace: 100ms}\n", "14: shutdown.grace: must be between");
  expect_fail(BASE "shutdown: {grace: 2h}\n", "14: shutdown.grace: must be between");
}

// Listeners: numeric addresses, no two on one address and port, admin on
// loopback unless allowed.
static void test_config_listeners(void **state) {
  (void)state;
  expect_fail(BASE "listeners:\n  internal: {port: 5269}\n",
              "15: listeners.internal.port: listener s2s uses the same address and port");
  expect_fail(BASE "listeners:\n  s2s: {address: 0.0.0.0, port: 9}\n  admin: {port: 9}\n",
              "16: listeners.admin.port: listener s2s uses the same address and port");
  expect_fail(BASE "listeners:\n  admin: {address: 192.0.2.1}\n",
              "15: listeners.admin.address: the admin listener serves");
  expect_fail(BASE "listeners:\n  s2s: {address: localhost}\n",
              "15: listeners.s2s.address: expected a numeric IPv4 or IPv6 address");
  expect_fail(BASE "listeners:\n  s2s: {allow_non_loopback: true}\n",
              "15: listeners.s2s.allow_non_loopback: only the admin listener has this setting");
  expect_fail(BASE "listeners:\n  s2s: {enabled: false}\n  s2s-tls: {enabled: false}\n",
              "14: listeners: both public listeners");
  // Same port on two different specific addresses is fine; so is a clash
  // with a disabled listener.
  fg_config *cfg = load(BASE
                        "dialback: {secret_file: secret}\n"
                        "listeners:\n  s2s: {address: 192.0.2.1, port: 7}\n"
                        "  s2s-tls: {address: 192.0.2.2, port: 7}\n"
                        "  internal: {address: 127.0.0.1, port: 5280, enabled: false}\n"
                        "  admin: {address: 192.0.2.9, allow_non_loopback: true}\n");
  if (cfg == NULL) print_error("%s", g_diag.text);
  assert_non_null(cfg);
  assert_int_equal(cfg->listeners[FG_LISTENER_INTERNAL].enabled, 0);
  fg_config_free(cfg);
  assert_string_equal(fg_config_listener_name(FG_LISTENER_S2S_TLS), "s2s-tls");
  assert_string_equal(fg_config_hop_mode_name(FG_HOP_DIALBACK), "dialback");
  assert_string_equal(fg_config_log_level_name(FG_LOG_WARN), "warn");
}

// TLS policy: plaintext peers normalised; turning TLS off is warned about.
static void test_rfc6120_5_3_1_tls_policy(void **state) {
  (void)state;
  fg_config *cfg = load(
      "domains:\n  - {name: example.com, backend: b}\nbackends:\n  - {name: b, addresses: [x]}\n"
      "tls:\n  default_cert: pki/example.com.crt\n  default_key: pki/example.com.key\n"
      "  plaintext_peers: [Legacy.Example, \"b\xc3\xbc"
      "cher.example\"]\n  legacy_cn_id: on\n"
      "internal_hop: {ca_cert: pki/internal-ca.crt, ca_key: pki/internal-ca.key}\n"
      "dialback: {secret_file: secret}\n");
  if (cfg == NULL) print_error("%s", g_diag.text);
  assert_non_null(cfg);
  assert_int_equal(cfg->tls.n_plaintext_peers, 2);
  assert_string_equal(cfg->tls.plaintext_peers[0], "legacy.example");
  assert_string_equal(cfg->tls.plaintext_peers[1], "xn--bcher-kva.example");
  assert_int_equal(cfg->tls.legacy_cn_id, 1);
  assert_int_equal(cfg->tls.required, 1);
  assert_non_null(cfg->tls.trust_file);  // the system bundle by default
  fg_config_free(cfg);
  expect_fail(BASE "dns: {static: [{domain: \"*.x.example\", targets: [a]}]}\n",
              "14: dns.static[0].domain: wildcards are not allowed here");
}

// Every file in examples/ passes, with paths relative to examples/.
static void test_config_examples_all_pass(void **state) {
  (void)state;
  DIR *d = opendir("examples");
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len < 5 || strcmp(e->d_name + len - 5, ".yaml") != 0) continue;
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "examples/%s", e->d_name);
    fg_config_diag diag;
    fg_config_diag_init(&diag);
    fg_config *cfg = fg_config_load(p, &diag);
    if (cfg == NULL) {
      print_error("%s fails:\n%s", p, diag.text ? diag.text : "");
      fail();
    }
    assert_true(cfg->n_domains > 0);
    fg_config_free(cfg);
    fg_config_diag_cleanup(&diag);
    n++;
  }
  closedir(d);
  assert_true(n >= 3);
}

int main(void) {
  fg_config_diag_init(&g_diag);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_config_defaults),
      cmocka_unit_test(test_config_every_key),
      cmocka_unit_test(test_config_backend_hop_modes),
      cmocka_unit_test(test_xep0220_4_3_backend_pairs_per_stream),
      cmocka_unit_test(test_config_log_and_shutdown),
      cmocka_unit_test(test_rfc6120_13_12_element_limit_floor),
      cmocka_unit_test(test_config_errors_name_file_line_key_value),
      cmocka_unit_test(test_config_yaml_syntax),
      cmocka_unit_test(test_rfc7622_3_2_domain_normalisation),
      cmocka_unit_test(test_config_listener_proxy_protocol),
      cmocka_unit_test(test_rfc5890_2_3_1_domain_syntax_and_duplicates),
      cmocka_unit_test(test_config_backends_and_targets),
      cmocka_unit_test(test_config_dns_allowed_networks),
      cmocka_unit_test(test_config_admin_allowed_networks),
      cmocka_unit_test(test_config_admin_socket),
      cmocka_unit_test(test_config_tls_posh),
      cmocka_unit_test(test_config_abuse),
      cmocka_unit_test(test_config_dns_dnssec_trusted_resolvers),
      cmocka_unit_test(test_config_stream_management),
      cmocka_unit_test(test_config_bidi),
      cmocka_unit_test(test_config_close_on_link_loss),
      cmocka_unit_test(test_config_internal_hop_bidi),
      cmocka_unit_test(test_config_revocation),
      cmocka_unit_test(test_config_revocation_stapling),
      cmocka_unit_test(test_config_relative_paths_use_config_dir),
      cmocka_unit_test(test_xep0185_3_dialback_secret_file),
      cmocka_unit_test(test_tls_ticket_key_file_and_session_cache),
      cmocka_unit_test(test_rfc6120_5_4_certificates),
      cmocka_unit_test(test_config_internal_hop_modes),
      cmocka_unit_test(test_config_listeners),
      cmocka_unit_test(test_rfc6120_5_3_1_tls_policy),
      cmocka_unit_test(test_config_examples_all_pass),
  };
  int rc = cmocka_run_group_tests(tests, group_setup, NULL);
  fg_config_diag_cleanup(&g_diag);
  return rc;
}
