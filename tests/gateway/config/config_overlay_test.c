// config_overlay_test.c: gateway/config/config_overlay.c, hosted domains added
// to and removed from a loaded snapshot at run time (the admin API), checked
// like the file's domains entries.
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/config/config.h"

static const char kOrigin[] = "admin";

static fg_config *load_minimal(void) {
  fg_config *cfg = fg_config_load("examples/minimal.yaml", NULL);
  assert_non_null(cfg);
  return cfg;
}

static void pki(char *out, size_t n, const char *file) {
  char dir[PATH_MAX];
  assert_non_null(realpath("examples/pki", dir));
  snprintf(out, n, "%s/%s", dir, file);
}

static void test_overlay_add_normalises_and_uses_default_certificate(void **state) {
  (void)state;
  fg_config *cfg = load_minimal();
  char err[600];
  assert_int_equal(
      fg_config_add_domain(cfg, kOrigin, "NEW.Example.", "prosody", NULL, NULL, err, sizeof(err)),
      1);
  assert_int_equal(cfg->n_domains, 2);
  assert_string_equal(cfg->domains[1].name, "new.example");
  assert_int_equal(cfg->domains[1].wildcard, 0);
  assert_string_equal(cfg->domains[1].cert_file, cfg->tls.default_cert_file);
  assert_int_equal(
      fg_config_add_domain(cfg, kOrigin, "*.chat.example", "prosody", NULL, NULL, err, sizeof(err)),
      1);
  assert_int_equal(cfg->domains[2].wildcard, 1);
  assert_string_equal(cfg->domains[2].name, "chat.example");
  fg_config_free(cfg);
}

// Each refusal: one line starting with the origin, naming the key.
static void test_overlay_add_refusals(void **state) {
  (void)state;
  fg_config *cfg = load_minimal();
  char crt[PATH_MAX + 32], key[PATH_MAX + 32], wrong_key[PATH_MAX + 32];
  pki(crt, sizeof(crt), "example.com.crt");
  pki(key, sizeof(key), "example.com.key");
  pki(wrong_key, sizeof(wrong_key), "internal-ca.key");
  static const struct {
    const char *domain, *backend;
    // 0: none, 1: the matching file, 2: a key of another certificate, 3: a
    // relative path
    int cert, key;
    const char *want;
  } kCases[] = {
      {"example.com", "prosody", 0, 0, "admin: domain: example.com is already hosted"},
      {"new.example", "nowhere", 0, 0, "admin: backend: no backend has the name 'nowhere'"},
      {"bad..name", "prosody", 0, 0, "admin: domain: "},
      {"new.example", "prosody", 1, 0, "admin: key: cert and key must be given together"},
      {"new.example", "prosody", 1, 2, "does not belong to the certificate"},
      {"new.example", "prosody", 3, 1, "admin: cert: must be an absolute path (value 'pki/x.crt')"},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    char err[600] = "";
    const char *c = kCases[i].cert == 3 ? "pki/x.crt" : kCases[i].cert ? crt : NULL;
    const char *k = kCases[i].key == 1 ? key : kCases[i].key == 2 ? wrong_key : NULL;
    assert_int_equal(fg_config_add_domain(cfg, kOrigin, kCases[i].domain, kCases[i].backend, c, k,
                                          err, sizeof(err)),
                     0);
    if (strstr(err, kCases[i].want) == NULL || strncmp(err, "admin: ", 7) != 0) {
      print_error("case %zu: want '%s', got '%s'\n", i, kCases[i].want, err);
      fail();
    }
    assert_int_equal(cfg->n_domains, 1);
  }
  fg_config_free(cfg);
}

static void test_overlay_remove(void **state) {
  (void)state;
  fg_config *cfg = load_minimal();
  char err[600] = "";
  // Never the last hosted domain.
  assert_int_equal(fg_config_remove_domain(cfg, kOrigin, "example.com", err, sizeof(err)), 0);
  assert_non_null(strstr(err, "last hosted domain"));
  assert_int_equal(
      fg_config_add_domain(cfg, kOrigin, "a.example", "prosody", NULL, NULL, err, sizeof(err)), 1);
  assert_int_equal(
      fg_config_add_domain(cfg, kOrigin, "b.example", "prosody", NULL, NULL, err, sizeof(err)), 1);
  assert_int_equal(fg_config_remove_domain(cfg, kOrigin, "A.EXAMPLE", err, sizeof(err)), 1);
  assert_int_equal(cfg->n_domains, 2);
  assert_string_equal(cfg->domains[0].name, "example.com");
  assert_string_equal(cfg->domains[1].name, "b.example");
  assert_int_equal(fg_config_remove_domain(cfg, kOrigin, "a.example", err, sizeof(err)), 0);
  assert_non_null(strstr(err, "admin: domain: a.example is not hosted"));
  fg_config_free(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_overlay_add_normalises_and_uses_default_certificate),
      cmocka_unit_test(test_overlay_add_refusals),
      cmocka_unit_test(test_overlay_remove),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
