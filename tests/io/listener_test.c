// listener_test.c: tests for io/listener.c's fg_runtime_unlisten, what a
// drain uses: one port stops accepting on every worker, connections already
// accepted and the other ports go on.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/listener.h"
#include "io/worker.h"
#include "tests/io/testnet.h"

// connect_errno tries a blocking connect to 127.0.0.1:|port| and returns 0
// or the errno.
static int connect_errno(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
  close(fd);
  return rc;
}

static void test_unlisten_closes_one_port_on_every_worker(void **state) {
  (void)state;
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = 2;
  fg_runtime *rt = fg_runtime_new(&o);
  assert_non_null(rt);
  tn_echo_reset();
  fg_listener_config lc = {0};
  lc.handler = &tn_echo_handler;
  uint16_t drained = 0, other = 0;
  assert_true(fg_runtime_listen(rt, &lc, &drained));
  assert_true(fg_runtime_listen(rt, &lc, &other));
  int before = tn_connect(drained);  // accepted before the port closes
  assert_true(before >= 0);
  assert_true(tn_wait_until(&tn_echo_open, 1, 5000));
  assert_int_equal(fg_runtime_unlisten(rt, drained), 1);
  // Every worker's socket on the port is closed: each attempt is refused
  // (SO_REUSEPORT would spread attempts over the workers' sockets).
  for (int i = 0; i < 8; i++) assert_int_equal(connect_errno(drained), ECONNREFUSED);
  assert_int_equal(connect_errno(other), 0);
  // The connection accepted before still works.
  assert_int_equal(write(before, "ping", 4), 4);
  uint8_t buf[4];
  assert_int_equal(tn_read_full(before, buf, 4), 1);
  assert_memory_equal(buf, "ping", 4);
  close(before);
  assert_int_equal(fg_runtime_unlisten(rt, 0), 0);
  fg_runtime_free(rt);
}

// An accepted connection sends small writes at once (TCP_NODELAY, which
// the listening socket passes on to it): XMPP's request/response steps
// would otherwise wait for the peer's delayed ACK.
static atomic_int g_nodelay = -1;

static void nodelay_open(fg_conn *c) {
  int v = 0;
  socklen_t len = sizeof(v);
  if (getsockopt(fg_conn_fd(c), IPPROTO_TCP, TCP_NODELAY, &v, &len) != 0) v = -2;
  atomic_store(&g_nodelay, v != 0 ? 1 : 0);
}

static const fg_conn_handler nodelay_handler = {.on_open = nodelay_open};

static void test_accepted_connection_has_nodelay(void **state) {
  (void)state;
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = 1;
  fg_runtime *rt = fg_runtime_new(&o);
  assert_non_null(rt);
  fg_listener_config lc = {0};
  lc.handler = &nodelay_handler;
  uint16_t port = 0;
  assert_true(fg_runtime_listen(rt, &lc, &port));
  int fd = tn_connect(port);
  assert_true(fd >= 0);
  for (int i = 0; i < 5000 && atomic_load(&g_nodelay) == -1; i++) usleep(1000);
  assert_int_equal(atomic_load(&g_nodelay), 1);
  close(fd);
  fg_runtime_free(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unlisten_closes_one_port_on_every_worker),
      cmocka_unit_test(test_accepted_connection_has_nodelay),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
