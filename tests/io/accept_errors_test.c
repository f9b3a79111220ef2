// accept_errors_test.c: what a listener does when accept fails for want of
// something other than the process's own descriptors (io/listener.c). The
// system's file table full (ENFILE), no memory (ENOMEM, ENOBUFS) and a
// network error handed on by accept(2) (EPROTO) cannot be provoked by a test,
// so the armed accept is made to complete with that error through the ring
// (fg_runtime_fail_next_accept). Each must be handled as EMFILE is: accepting
// pauses (the counter), one notice naming the error, the accept is armed
// again once and waits (no loop), and the listener then accepts and serves.
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <liburing.h>

#include "io/listener.h"
#include "io/worker.h"
#include "tests/io/testnet.h"

// nop_inject_works says whether this kernel completes a NOP with the result
// it is given (IORING_NOP_INJECT_RESULT, Linux 6.10).
static int nop_inject_works(void) {
  struct io_uring ring;
  if (io_uring_queue_init(2, &ring, 0) != 0) return 0;
  struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
  io_uring_prep_nop(sqe);
  sqe->rw_flags = 1;
  sqe->len = (unsigned)-ENFILE;
  struct io_uring_cqe *cqe = NULL;
  int ok =
      io_uring_submit(&ring) == 1 && io_uring_wait_cqe(&ring, &cqe) == 0 && cqe->res == -ENFILE;
  io_uring_queue_exit(&ring);
  return ok;
}

static fg_runtime *g_rt;

static int setup(void **state) {
  (void)state;
  if (!nop_inject_works()) {
    printf("this kernel cannot inject a result into a NOP (Linux < 6.10): skipped\n");
    return 0;
  }
  g_rt = tn_runtime_new(1);
  return g_rt != NULL ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  if (g_rt != NULL) {
    fg_runtime_shutdown(g_rt, 1000);
    fg_runtime_free(g_rt);
  }
  tn_notices_print();
  return 0;
}

static uint64_t stat_of(size_t offset) {
  fg_worker_stats st;
  fg_runtime_stats(g_rt, &st);
  return *(const uint64_t *)((const char *)&st + offset);
}

// wait_stat waits up to two seconds for the counter at |offset| to reach
// |target|.
static int wait_stat(size_t offset, uint64_t target) {
  for (int i = 0; i < 200; i++) {
    if (stat_of(offset) >= target) return 1;
    tn_sleep_ms(10);
  }
  return 0;
}

// check_error: a listener of its own (so that its first pause is logged)
// whose accept fails with |err|.
static void check_error(int err) {
  if (g_rt == NULL) skip();
  fg_listener_config lc = {0};
  lc.handler = &tn_echo_handler;
  uint16_t port = 0;
  assert_true(fg_runtime_listen(g_rt, &lc, &port));
  assert_true(tn_echo_once(port));  // armed and serving
  uint64_t pauses = stat_of(offsetof(fg_worker_stats, accept_pauses));
  uint64_t retries = stat_of(offsetof(fg_worker_stats, accept_retries));
  char line[160];
  snprintf(line, sizeof(line), "accepting paused on worker 0, port %u: %s;", port, strerror(err));

  assert_true(fg_runtime_fail_next_accept(g_rt, port, err));
  assert_true(wait_stat(offsetof(fg_worker_stats, accept_pauses), pauses + 1));
  assert_int_equal(tn_notice_count(line), 1);
  // Armed again once, after the pause, and then waiting: not a loop.
  assert_true(wait_stat(offsetof(fg_worker_stats, accept_retries), retries + 1));
  tn_sleep_ms(200);
  assert_int_equal(stat_of(offsetof(fg_worker_stats, accept_retries)), retries + 1);
  assert_int_equal(stat_of(offsetof(fg_worker_stats, accept_pauses)), pauses + 1);

  // Resumed: accepts and serves, and says so once.
  assert_true(tn_echo_once(port));
  snprintf(line, sizeof(line), "accepting resumed on worker 0, port %u ", port);
  assert_int_equal(tn_notice_count(line), 1);

  // A second failure soon after is counted but not logged again.
  assert_true(fg_runtime_fail_next_accept(g_rt, port, err));
  assert_true(wait_stat(offsetof(fg_worker_stats, accept_pauses), pauses + 2));
  snprintf(line, sizeof(line), "accepting paused on worker 0, port %u:", port);
  assert_int_equal(tn_notice_count(line), 1);
  assert_true(wait_stat(offsetof(fg_worker_stats, accept_retries), retries + 2));
  assert_true(tn_echo_once(port));
  assert_true(fg_runtime_unlisten(g_rt, port));
}

static void test_enfile_system_file_table_full(void **state) {
  (void)state;
  check_error(ENFILE);
}

static void test_enomem(void **state) {
  (void)state;
  check_error(ENOMEM);
}

static void test_enobufs(void **state) {
  (void)state;
  check_error(ENOBUFS);
}

static void test_eproto_network_error_handed_on_by_accept(void **state) {
  (void)state;
  check_error(EPROTO);
}

int main(void) {
  tn_raise_nofile();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_enfile_system_file_table_full),
      cmocka_unit_test(test_enomem),
      cmocka_unit_test(test_enobufs),
      cmocka_unit_test(test_eproto_network_error_handed_on_by_accept),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
