// listener.h: listening sockets. One SO_REUSEPORT socket per worker, each
// with a multishot accept on that worker's ring.
#ifndef FEDGATE_IO_LISTENER_H
#define FEDGATE_IO_LISTENER_H

#include <stdint.h>

#include "crypto/tls.h"
#include "io/addr_policy.h"
#include "io/conn.h"
#include "io/worker.h"

typedef struct fg_listener_config {
  const char *host;  // numeric IPv4/IPv6 address; NULL: 127.0.0.1
  uint16_t port;     // 0: pick one (returned by fg_runtime_listen)
  int backlog;       // 0: 4096
  // tls: server context for direct TLS (XEP-0368), or NULL for a plaintext
  // (STARTTLS-capable) port.
  fg_tls_ctx *tls;
  const fg_conn_handler *handler;
  void *arg;  // initial fg_conn_arg of accepted connections
  // unix_path: listen on this Unix socket instead (one socket, accepted by
  // the first worker; |host|, |port| and |tls| are ignored). A socket file
  // left there is replaced; anything else there is an error. The socket is
  // made |unix_mode| (e.g. 0660).
  const char *unix_path;
  unsigned unix_mode;
  // admit (optional) is called with |arg| and each accepted socket before a
  // connection, and any TLS work, is made for it; 0 closes the socket at
  // once (counted as refused). Not on a PROXY protocol listener, whose
  // sockets come from the balancers: there the handler's on_proxy_header
  // sees the peer the header names.
  int (*admit)(void *arg, int fd);
  // PROXY protocol (HAProxy's send-proxy / send-proxy-v2): with
  // |n_proxy_trusted| > 0, only these networks may connect, and each
  // connection starts with a PROXY header (see fg_conn_new_accepted). The
  // list is copied.
  const fg_cidr *proxy_trusted;
  size_t n_proxy_trusted;
} fg_listener_config;

// fg_runtime_listen binds one listening socket per worker on |cfg->host|
// and port and starts accepting. |*out_port| receives the bound port. It
// returns 1, or 0 on failure (nothing left listening).
int fg_runtime_listen(fg_runtime *rt, const fg_listener_config *cfg, uint16_t *out_port);

// fg_listener_set_proxy_trusted gives |w|'s listener on |port|, one that
// takes PROXY headers, the balancers' networks |nets| (|n| > 0; copied) in
// place of those it had: connections it accepts from now on are judged by
// them, those already accepted keep their verdict. On |w|'s thread. It
// returns 1, or 0 when |w| has no such listener (or |n| is 0, or out of
// memory: the list in force stays). Turning the PROXY protocol on or off
// takes a new listener.
int fg_listener_set_proxy_trusted(fg_worker *w, uint16_t port, const fg_cidr *nets, size_t n);

// fg_runtime_unlisten stops accepting on |port| on every worker and closes
// those sockets; connections already accepted stay. It returns 1 once every
// worker has done so, or 0 for port 0, when out of memory, or when a worker
// did not answer within 2 s (it closes the socket when it gets to it). Not
// from a worker thread.
int fg_runtime_unlisten(fg_runtime *rt, uint16_t port);

// fg_runtime_fail_next_accept makes the accept armed on |port| on every
// worker complete with -|err| (ENFILE, ENOMEM, ENOBUFS, EPROTO...) as if the
// kernel had failed it, through the worker's ring (an IORING_OP_NOP with an
// injected result, Linux 6.10 or later; older kernels complete it with
// -EINVAL instead): for tests of what a listener does when accept fails in
// ways a test cannot provoke. It returns 1 once posted to every worker, 0
// when out of memory.
int fg_runtime_fail_next_accept(fg_runtime *rt, uint16_t port, int err);

#endif  // FEDGATE_IO_LISTENER_H
