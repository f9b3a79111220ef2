// notify_test.c: tests for gateway/server/notify.c on a real AF_UNIX
// datagram socket named by NOTIFY_SOCKET (what systemd gives a Type=notify
// service), without systemd.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "gateway/server/notify.h"
#include "io/worker.h"

static int g_sock = -1;
static char g_path[108];

static int setup(void **state) {
  (void)state;
  snprintf(g_path, sizeof(g_path), "/tmp/fedgate-notify-test-%d.sock", (int)getpid());
  unlink(g_path);
  g_sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path, g_path, strlen(g_path) + 1);
  if (g_sock < 0 || bind(g_sock, (struct sockaddr *)&sa, sizeof(sa)) != 0) return -1;
  struct timeval tv = {.tv_sec = 5};
  setsockopt(g_sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  close(g_sock);
  unlink(g_path);
  return 0;
}

static const char *next_message(void) {
  static char buf[512];
  ssize_t n = recv(g_sock, buf, sizeof(buf) - 1, 0);
  assert_true(n > 0);
  buf[n] = 0;
  return buf;
}

static void test_sd_notify_ready_status_and_stopping(void **state) {
  (void)state;
  setenv("NOTIFY_SOCKET", g_path, 1);
  fg_notify_ready();
  assert_string_equal(next_message(), "READY=1");
  fg_notify_status("draining: %d streams and links left", 3);
  assert_string_equal(next_message(), "STATUS=draining: 3 streams and links left");
  fg_notify_stopping();
  assert_string_equal(next_message(), "STOPPING=1");
}

// Type=notify-reload (systemd 253+) orders reloads by MONOTONIC_USEC.
static void test_sd_notify_reloading_carries_monotonic_usec(void **state) {
  (void)state;
  setenv("NOTIFY_SOCKET", g_path, 1);
  struct timespec before;
  clock_gettime(CLOCK_MONOTONIC, &before);
  fg_notify_reloading();
  const char *m = next_message();
  unsigned long long usec = 0;
  assert_int_equal(sscanf(m, "RELOADING=1\nMONOTONIC_USEC=%llu", &usec), 1);
  assert_true(usec >= (unsigned long long)before.tv_sec * 1000000ull);
  fg_notify_ready();
  assert_string_equal(next_message(), "READY=1");
}

// Without NOTIFY_SOCKET nothing is sent and no watchdog starts.
static void test_without_notify_socket_everything_is_a_no_op(void **state) {
  (void)state;
  unsetenv("NOTIFY_SOCKET");
  setenv("WATCHDOG_USEC", "100000", 1);
  fg_notify_ready();
  fg_notify_status("x");
  assert_int_equal(fg_notify_watchdog_start(NULL), 0);
  unsetenv("WATCHDOG_USEC");
  char buf[64];
  assert_true(recv(g_sock, buf, sizeof(buf), MSG_DONTWAIT) < 0);
}

// A worker that stops answering stops the WATCHDOG=1 messages (so systemd's
// watchdog fires); once it answers again they come back.
typedef struct stall {
  fg_msg msg;
  atomic_int release, entered;
} stall;

static void stall_fn(fg_worker *w, fg_msg *m) {
  (void)w;
  stall *s = (stall *)m;
  atomic_store(&s->entered, 1);
  while (!atomic_load(&s->release)) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
}

static void test_watchdog_stops_while_a_worker_is_stuck(void **state) {
  (void)state;
  setenv("NOTIFY_SOCKET", g_path, 1);
  setenv("WATCHDOG_USEC", "100000", 1);  // WATCHDOG=1 every 50 ms
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = 2;
  fg_runtime *rt = fg_runtime_new(&o);
  assert_non_null(rt);
  assert_int_equal(fg_notify_watchdog_start(rt), 1);
  for (int i = 0; i < 3; i++) assert_string_equal(next_message(), "WATCHDOG=1");
  stall s = {.msg.fn = stall_fn};
  fg_worker_post(fg_runtime_worker(rt, 1), &s.msg);
  while (!atomic_load(&s.entered)) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  // At most the round already answered goes out; then nothing for twenty
  // half-periods (a watchdog that did not look would send 20).
  struct timeval tv = {.tv_sec = 1};
  setsockopt(g_sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[64];
  int got = 0;
  while (recv(g_sock, buf, sizeof(buf), 0) > 0) got++;
  assert_true(got <= 1);
  atomic_store(&s.release, 1);
  tv.tv_sec = 5;
  setsockopt(g_sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  assert_string_equal(next_message(), "WATCHDOG=1");  // answered again
  fg_notify_watchdog_stop();
  fg_runtime_free(rt);
  unsetenv("WATCHDOG_USEC");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sd_notify_ready_status_and_stopping),
      cmocka_unit_test(test_sd_notify_reloading_carries_monotonic_usec),
      cmocka_unit_test(test_without_notify_socket_everything_is_a_no_op),
      cmocka_unit_test(test_watchdog_stops_while_a_worker_is_stuck),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
