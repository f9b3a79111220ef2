// version_test.c: gateway/cli/version.c reads versions from the loaded libraries.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/cli/version.h"

#ifndef __has_feature
#define __has_feature(x) 0
#endif

static void test_soname_version(void **state) {
  char v[32];
  assert_true(fg_version_from_soname("/usr/lib/x86_64-linux-gnu/liburing.so.2.3", v, sizeof(v)));
  assert_string_equal(v, "2.3");
  assert_false(fg_version_from_soname("/usr/lib/liburing.so", v, sizeof(v)));
  assert_false(fg_version_from_soname("/usr/lib/liburing.so.", v, sizeof(v)));
}

static void test_jemalloc_answers_mallctl(void **state) {
  char v[128];
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || \
    __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  assert_false(fg_version_jemalloc(v, sizeof(v)));  // not linked under sanitizers
#else
  assert_true(fg_version_jemalloc(v, sizeof(v)));
  assert_true(v[0] >= '0' && v[0] <= '9');
#endif
}

static void test_print_names_all_libraries_and_allocator(void **state) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  int allocator = fg_version_print(f);
  fclose(f);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || \
    __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  // Sanitizers replace malloc themselves: jemalloc is linked but not in charge.
  assert_false(allocator);
  assert_non_null(strstr(buf, "NOT the process allocator"));
#else
  assert_true(allocator);
  assert_non_null(strstr(buf, "(process allocator)"));
#endif
  assert_non_null(strstr(buf, "fedgate " FEDGATE_VERSION));
  assert_non_null(strstr(buf, "BoringSSL: BoringSSL"));
  assert_non_null(strstr(buf, "/android/libssl.so"));
  assert_non_null(strstr(buf, "liburing: "));
  assert_non_null(strstr(buf, "jemalloc: "));
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_soname_version),
      cmocka_unit_test(test_jemalloc_answers_mallctl),
      cmocka_unit_test(test_print_names_all_libraries_and_allocator),
  };
  return cmocka_run_group_tests_name("gateway/version", tests, NULL, NULL);
}
