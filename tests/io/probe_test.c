// probe_test.c: io/probe.c parsing and explanations, and one real probe run.
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "io/probe.h"

static void test_ulp_list_finds_whole_words(void **state) {
  assert_true(fg_probe_ulp_listed("espintcp mptcp tls\n", "tls"));
  assert_true(fg_probe_ulp_listed("tls", "tls"));
  assert_true(fg_probe_ulp_listed("  tls  mptcp", "tls"));
  assert_false(fg_probe_ulp_listed("mptcp\n", "tls"));
  assert_false(fg_probe_ulp_listed("", "tls"));
  assert_false(fg_probe_ulp_listed("tlsx mptcp", "tls"));
  assert_false(fg_probe_ulp_listed("xtls", "tls"));
}

static void test_uring_error_names_the_sysctl(void **state) {
  char out[512];
  fg_probe_explain_uring_error(-EPERM, 2, out, sizeof(out));
  assert_non_null(strstr(out, "io_uring_disabled=2"));
  assert_non_null(strstr(out, "sysctl"));
  fg_probe_explain_uring_error(-EPERM, 1, out, sizeof(out));
  assert_non_null(strstr(out, "io_uring_group"));
}

static void test_uring_error_names_seccomp(void **state) {
  char out[512];
  fg_probe_explain_uring_error(-ENOSYS, 0, out, sizeof(out));
  assert_non_null(strstr(out, "seccomp"));
  fg_probe_explain_uring_error(-EPERM, 0, out, sizeof(out));
  assert_non_null(strstr(out, "seccomp"));
  fg_probe_explain_uring_error(-ENOMEM, 0, out, sizeof(out));
  assert_non_null(strstr(out, "RLIMIT_MEMLOCK"));
}

static void test_ktls_error_explains_missing_ulp(void **state) {
  char out[512];
  fg_probe_explain_ktls_error(ENOENT, 0, out, sizeof(out));
  assert_non_null(strstr(out, "no 'tls' TCP ULP"));
  assert_non_null(strstr(out, "tcp_available_ulp"));
  assert_non_null(strstr(out, "user space"));
  fg_probe_explain_ktls_error(ENOENT, 1, out, sizeof(out));
  assert_null(strstr(out, "not in net.ipv4.tcp_available_ulp"));
}

static void test_probe_run_reports_every_capability(void **state) {
  fg_probe_result r;
  int ok = fg_probe_run(&r);
  assert_int_equal(ok, r.available[FG_PROBE_IO_URING]);
  for (int c = 0; c < FG_PROBE_COUNT; c++) {
    assert_true(r.reason[c][0] != 0);
    assert_true(r.available[c] == 0 || r.available[c] == 1);
    assert_string_not_equal(fg_probe_name((fg_probe_cap)c), "unknown");
  }
  if (!ok) {
    for (int c = FG_PROBE_IO_URING + 1; c < FG_PROBE_COUNT; c++) {
      if (c != FG_PROBE_KTLS) assert_false(r.available[c]);
    }
  }
  // Multishot recv is only claimed when provided buffer rings work.
  if (r.available[FG_PROBE_MULTISHOT_RECV]) assert_true(r.available[FG_PROBE_BUF_RING]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ulp_list_finds_whole_words),
      cmocka_unit_test(test_uring_error_names_the_sysctl),
      cmocka_unit_test(test_uring_error_names_seccomp),
      cmocka_unit_test(test_ktls_error_explains_missing_ulp),
      cmocka_unit_test(test_probe_run_reports_every_capability),
  };
  return cmocka_run_group_tests_name("io/probe", tests, NULL, NULL);
}
