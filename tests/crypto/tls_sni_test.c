// tls_sni_test.c: the server-name index (RFC 6066 §3 server_name; wildcard
// rules as in RFC 9525 §6.3: one whole leftmost label).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "crypto/tls_sni.h"
#include "crypto/tls_testcert.h"

static fg_tls_cert *g_a, *g_b, *g_w, *g_d;

static int setup(void **state) {
  const char *a[] = {"a.example"}, *b[] = {"b.example"}, *w[] = {"*.wild.example"},
             *d[] = {"default.example"};
  g_a = fg_tls_testcert_new(NULL, a, 1, 0);
  g_b = fg_tls_testcert_new(NULL, b, 1, 0);
  g_w = fg_tls_testcert_new(NULL, w, 1, 0);
  g_d = fg_tls_testcert_new(NULL, d, 1, 0);
  return g_a && g_b && g_w && g_d ? 0 : -1;
}

static int teardown(void **state) {
  fg_tls_cert_free(g_a);
  fg_tls_cert_free(g_b);
  fg_tls_cert_free(g_w);
  fg_tls_cert_free(g_d);
  return 0;
}

static void test_rfc6066_3_exact_case_insensitive_trailing_dot(void **state) {
  fg_tls_sni *s = fg_tls_sni_new();
  assert_int_equal(fg_tls_sni_add_cert(s, g_a), 1);
  assert_true(fg_tls_sni_add(s, "B.Example", g_b));
  assert_ptr_equal(fg_tls_sni_lookup(s, "a.example"), g_a);
  assert_ptr_equal(fg_tls_sni_lookup(s, "A.EXAMPLE."), g_a);
  assert_ptr_equal(fg_tls_sni_lookup(s, "b.example"), g_b);
  assert_null(fg_tls_sni_lookup(s, "c.example"));  // no default
  assert_null(fg_tls_sni_lookup(s, NULL));
  fg_tls_sni_set_default(s, g_d);
  assert_ptr_equal(fg_tls_sni_lookup(s, "c.example"), g_d);
  assert_ptr_equal(fg_tls_sni_lookup(s, NULL), g_d);
  assert_ptr_equal(fg_tls_sni_lookup(s, ""), g_d);
  fg_tls_sni_free(s);
}

static void test_rfc9525_6_3_wildcard_one_label(void **state) {
  fg_tls_sni *s = fg_tls_sni_new();
  assert_int_equal(fg_tls_sni_add_cert(s, g_w), 1);
  fg_tls_sni_set_default(s, g_d);
  assert_ptr_equal(fg_tls_sni_lookup(s, "x.wild.example"), g_w);
  assert_ptr_equal(fg_tls_sni_lookup(s, "X.Wild.Example"), g_w);
  assert_ptr_equal(fg_tls_sni_lookup(s, "wild.example"), g_d);      // not the parent
  assert_ptr_equal(fg_tls_sni_lookup(s, "a.b.wild.example"), g_d);  // one label only
  assert_ptr_equal(fg_tls_sni_lookup(s, "*.wild.example"), g_d);    // a '*' SNI is nothing
  // An exact entry beats the wildcard.
  assert_true(fg_tls_sni_add(s, "x.wild.example", g_a));
  assert_ptr_equal(fg_tls_sni_lookup(s, "x.wild.example"), g_a);
  assert_ptr_equal(fg_tls_sni_lookup(s, "y.wild.example"), g_w);
  fg_tls_sni_free(s);
}

static void test_malformed_names_refused(void **state) {
  fg_tls_sni *s = fg_tls_sni_new();
  assert_false(fg_tls_sni_add(s, "*.com", g_a));
  assert_false(fg_tls_sni_add(s, "f*.example", g_a));
  assert_false(fg_tls_sni_add(s, "a.*.example", g_a));
  assert_false(fg_tls_sni_add(s, "", g_a));
  assert_false(fg_tls_sni_add(s, "bad name.example", g_a));
  assert_int_equal(fg_tls_sni_count(s), 0);
  fg_tls_sni_free(s);
}

// fg_tls_sni_find answers only for names an entry covers, never with the
// default, so that a caller can try another name first (a STARTTLS stream's
// 'to' before its SNI).
static void test_find_ignores_the_default(void **state) {
  fg_tls_sni *s = fg_tls_sni_new();
  assert_true(fg_tls_sni_add(s, "b.example", g_b));
  assert_int_equal(fg_tls_sni_add_cert(s, g_w), 1);
  fg_tls_sni_set_default(s, g_d);
  assert_ptr_equal(fg_tls_sni_find(s, "B.example."), g_b);
  assert_ptr_equal(fg_tls_sni_find(s, "x.wild.example"), g_w);
  assert_null(fg_tls_sni_find(s, "host.b.example"));  // not covered: no default
  assert_ptr_equal(fg_tls_sni_lookup(s, "host.b.example"), g_d);
  assert_null(fg_tls_sni_find(s, "wild.example"));
  assert_null(fg_tls_sni_find(s, "*.wild.example"));
  assert_null(fg_tls_sni_find(s, ""));
  assert_null(fg_tls_sni_find(s, NULL));
  fg_tls_sni_free(s);
}

// Thousands of names: every one found, replacements take effect.
static void test_many_names_indexed(void **state) {
  fg_tls_sni *s = fg_tls_sni_new();
  enum { kNames = 20000 };
  char name[64];
  for (int i = 0; i < kNames; i++) {
    snprintf(name, sizeof(name), "host%d.domain%d.example", i, i % 97);
    assert_true(fg_tls_sni_add(s, name, (i % 2) ? g_a : g_b));
  }
  for (int i = 0; i < 500; i++) {
    snprintf(name, sizeof(name), "*.w%d.example", i);
    assert_true(fg_tls_sni_add(s, name, g_w));
  }
  assert_int_equal(fg_tls_sni_count(s), kNames + 500);
  for (int i = 0; i < kNames; i++) {
    snprintf(name, sizeof(name), "HOST%d.domain%d.example", i, i % 97);
    assert_ptr_equal(fg_tls_sni_lookup(s, name), (i % 2) ? g_a : g_b);
  }
  assert_ptr_equal(fg_tls_sni_lookup(s, "q.w499.example"), g_w);
  assert_null(fg_tls_sni_lookup(s, "q.w500.example"));
  assert_true(fg_tls_sni_add(s, "host0.domain0.example", g_d));
  assert_ptr_equal(fg_tls_sni_lookup(s, "host0.domain0.example"), g_d);
  assert_int_equal(fg_tls_sni_count(s), kNames + 500);
  fg_tls_sni_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc6066_3_exact_case_insensitive_trailing_dot),
      cmocka_unit_test(test_rfc9525_6_3_wildcard_one_label),
      cmocka_unit_test(test_malformed_names_refused),
      cmocka_unit_test(test_find_ignores_the_default),
      cmocka_unit_test(test_many_names_indexed),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
