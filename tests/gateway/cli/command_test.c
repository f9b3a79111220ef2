// command_test.c: the subcommand dispatcher (gateway/cli/command.c) with a table
// of its own, so the test does not depend on which subcommands exist.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/cli/command.h"

static int last_argc;
static char *last_arg0;

static int run_echo(int argc, char **argv) {
  last_argc = argc;
  last_arg0 = argv[0];
  return 7;
}

const fg_command fg_commands[] = {
    {"echo", "[ARGS...]", "test command", run_echo},
    {"version", "", "version", run_echo},
    {NULL, NULL, NULL, NULL},
};

static int dispatch(int argc, const char **argv) {
  last_argc = -1;
  last_arg0 = NULL;
  return fg_dispatch(argc, (char **)argv);
}

static void test_runs_named_command_with_its_arguments(void **state) {
  const char *argv[] = {"fedgate", "echo", "a", "b"};
  assert_int_equal(dispatch(4, argv), 7);
  assert_int_equal(last_argc, 3);
  assert_string_equal(last_arg0, "echo");
}

static void test_unknown_command_is_usage_error(void **state) {
  const char *argv[] = {"fedgate", "nonesuch"};
  assert_int_equal(dispatch(2, argv), 2);
  assert_int_equal(last_argc, -1);
}

static void test_unknown_flag_is_usage_error(void **state) {
  const char *argv[] = {"fedgate", "--frobnicate"};
  assert_int_equal(dispatch(2, argv), 2);
  assert_int_equal(last_argc, -1);
}

static void test_no_arguments_is_usage_error(void **state) {
  const char *argv[] = {"fedgate"};
  assert_int_equal(dispatch(1, argv), 2);
}

static void test_help_exits_zero_without_running(void **state) {
  const char *argv[] = {"fedgate", "--help"};
  assert_int_equal(dispatch(2, argv), 0);
  const char *argv2[] = {"fedgate", "echo", "--help"};
  assert_int_equal(dispatch(3, argv2), 0);
  assert_int_equal(last_argc, -1);
}

static void test_version_flag_runs_version_command(void **state) {
  const char *argv[] = {"fedgate", "--version"};
  assert_int_equal(dispatch(2, argv), 7);
  assert_int_equal(last_argc, 1);
}

static void test_help_after_double_dash_is_an_argument(void **state) {
  const char *argv[] = {"fedgate", "echo", "--", "--help"};
  assert_int_equal(dispatch(4, argv), 7);
  assert_int_equal(last_argc, 3);
}

static void test_usage_error_returns_two(void **state) {
  assert_int_equal(fg_usage_error("echo", "bad flag '%s'", "-x"), 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_runs_named_command_with_its_arguments),
      cmocka_unit_test(test_unknown_command_is_usage_error),
      cmocka_unit_test(test_unknown_flag_is_usage_error),
      cmocka_unit_test(test_no_arguments_is_usage_error),
      cmocka_unit_test(test_help_exits_zero_without_running),
      cmocka_unit_test(test_version_flag_runs_version_command),
      cmocka_unit_test(test_help_after_double_dash_is_an_argument),
      cmocka_unit_test(test_usage_error_returns_two),
  };
  return cmocka_run_group_tests_name("gateway/command", tests, NULL, NULL);
}
