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
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "gateway/server/notify.h"

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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sd_notify_ready_status_and_stopping),
      cmocka_unit_test(test_sd_notify_reloading_carries_monotonic_usec),
      cmocka_unit_test(test_without_notify_socket_everything_is_a_no_op),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
