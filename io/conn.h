// conn.h: connections owned by a worker. Bytes from the socket go through a
// transport (plain, user-space TLS, kernel TLS: a table of operations chosen
// per connection) and reach the upper layer as plaintext via on_data. All
// functions here run on the owning worker's thread only.
#ifndef FEDGATE_IO_CONN_H
#define FEDGATE_IO_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto/tls.h"
#include "io/proxy_header.h"
#include "io/worker.h"

typedef struct fg_conn fg_conn;

enum fg_conn_mode {
  FG_CONN_PLAIN = 0,  // plaintext (STARTTLS may upgrade it)
  FG_CONN_TLS = 1,    // BoringSSL record layer in user space
  FG_CONN_KTLS = 2,   // record layer in the kernel (after a BoringSSL handshake)
};

enum fg_close_reason {
  FG_CLOSE_LOCAL = 0,      // fg_conn_close
  FG_CLOSE_PEER = 1,       // EOF or close_notify from the peer
  FG_CLOSE_RESET = 2,      // ECONNRESET / EPIPE
  FG_CLOSE_IO_ERROR = 3,   // other socket error
  FG_CLOSE_TLS_ERROR = 4,  // handshake or record failure
  FG_CLOSE_TIMEOUT = 5,    // connect, handshake, idle or linger deadline
  FG_CLOSE_CONNECT_FAILED = 6,
  FG_CLOSE_OVERFLOW = 7,  // a memory bound was hit
  FG_CLOSE_SHUTDOWN = 8,  // runtime shutdown
};

// fg_close_reason_name returns a short name for |r|.
const char *fg_close_reason_name(enum fg_close_reason r);

typedef struct fg_conn_handler {
  // on_open: the connection is usable (plain: accepted/connected; direct
  // TLS: handshake done).
  void (*on_open)(fg_conn *c);
  // on_data delivers |len| > 0 plaintext bytes; it returns how many it
  // consumed. Unconsumed bytes are kept (up to conn_max_input) and delivered
  // again, followed by newer bytes.
  size_t (*on_data)(fg_conn *c, const uint8_t *data, size_t len);
  // on_secure: the STARTTLS handshake completed (optional).
  void (*on_secure)(fg_conn *c);
  // on_drain: queued output fell below the low-water mark after having been
  // above the high-water mark (optional; resume whatever feeds |c|).
  void (*on_drain)(fg_conn *c);
  // on_eof: the peer finished sending (optional). Without it the connection
  // is closed gracefully; with it the upper layer may still send, then close.
  void (*on_eof)(fg_conn *c);
  // on_close: last callback; |c| is invalid once it returns.
  void (*on_close)(fg_conn *c, enum fg_close_reason reason);
  // on_tls_created: the TLS state |t| exists and no handshake byte has been
  // processed yet (direct TLS and STARTTLS alike): the place to install a
  // per-connection certificate (optional).
  void (*on_tls_created)(fg_conn *c, fg_tls_conn *t);
  // on_proxy_header: on a listener that speaks the PROXY protocol, the
  // header was read (|why| FG_PROXY_OK; fg_conn_peer now gives the address
  // it carried, if any) or refused (|why| says why; the connection is closed
  // right after, and on_open never runs). Runs before on_open (optional).
  void (*on_proxy_header)(fg_conn *c, fg_proxy_error why);
} fg_conn_handler;

typedef struct fg_connect_config {
  const struct sockaddr *addr;
  socklen_t addr_len;
  const fg_conn_handler *handler;
  void *arg;
  fg_tls_ctx *tls;          // client context for direct TLS, or NULL for plaintext
  const char *server_name;  // SNI (copied), for direct TLS
  unsigned timeout_ms;      // 0: the runtime's connect_timeout_ms
} fg_connect_config;

// fg_conn_connect opens an outbound connection from |w|. The result's
// on_open or on_close (FG_CLOSE_CONNECT_FAILED / FG_CLOSE_TIMEOUT) follows.
// It returns NULL (and calls nothing) if the socket cannot be created or the
// worker is stopping or full.
fg_conn *fg_conn_connect(fg_worker *w, const fg_connect_config *cfg);

// fg_conn_send queues |len| plaintext bytes (encrypted as the transport
// requires). It returns 1, or 0 if the connection is closing or a memory
// bound was hit (the connection is then closed with FG_CLOSE_OVERFLOW; its
// on_close comes from the worker's loop after the call, never inside it, so
// the caller may go on using what on_close frees until it returns).
int fg_conn_send(fg_conn *c, const uint8_t *data, size_t len);

// fg_conn_write_blocked returns 1 while queued output is above the high-water
// mark (stop feeding |c| until on_drain).
int fg_conn_write_blocked(const fg_conn *c);

// fg_conn_output_queued returns the bytes queued for the socket.
size_t fg_conn_output_queued(const fg_conn *c);

// fg_conn_pause_reading stops delivering data from |c|; fg_conn_resume_reading
// resumes (delivering what was held back first).
void fg_conn_pause_reading(fg_conn *c);
void fg_conn_resume_reading(fg_conn *c);

// fg_conn_starttls upgrades a plaintext connection to TLS with |ctx| (its
// role decides who speaks first; |server_name| is the client's SNI). Every
// plaintext byte received and not yet consumed is discarded (RFC 6120
// §5.4.3.3). Call it from on_data (after queueing <proceed/>, or after reading
// it) or any time in between. It returns 1 or 0.
int fg_conn_starttls(fg_conn *c, fg_tls_ctx *ctx, const char *server_name);

// fg_conn_close closes gracefully: queued output (and close_notify) is
// flushed, for at most close_linger_ms. on_close follows with FG_CLOSE_LOCAL
// (or FG_CLOSE_PEER if the peer had closed first).
void fg_conn_close(fg_conn *c);

// fg_conn_abort closes at once, dropping queued output; on_close(reason) runs
// before it returns.
void fg_conn_abort(fg_conn *c, enum fg_close_reason reason);

// fg_conn_set_idle_timeout closes |c| (FG_CLOSE_TIMEOUT) when nothing has
// been received for |ms| (0: never). Costs nothing per received byte.
void fg_conn_set_idle_timeout(fg_conn *c, unsigned ms);

void *fg_conn_arg(const fg_conn *c);
void fg_conn_set_arg(fg_conn *c, void *arg);
fg_worker *fg_conn_worker(const fg_conn *c);
enum fg_conn_mode fg_conn_mode(const fg_conn *c);
// fg_conn_tls returns the TLS state (peer certificates, ALPN...) or NULL.
fg_tls_conn *fg_conn_tls(const fg_conn *c);
int fg_conn_fd(const fg_conn *c);
uint64_t fg_conn_id(const fg_conn *c);
// fg_conn_peer returns the peer's address: the one connected to, or the
// accepted socket's remote end, or, behind a load balancer speaking the
// PROXY protocol, the source address its header carried.
const struct sockaddr *fg_conn_peer(const fg_conn *c);
// fg_conn_proxy_version returns the version (1 or 2) of the PROXY header
// read on |c|, or 0.
int fg_conn_proxy_version(const fg_conn *c);
// fg_conn_proxy_named_peer returns 1 when that header named the peer
// (fg_conn_peer is its address), 0 without a header or for one that keeps
// the connection's own address (v2 LOCAL, UNSPEC, UDP, UNIX; v1 UNKNOWN).
int fg_conn_proxy_named_peer(const fg_conn *c);
// fg_conn_is_inbound returns 1 for accepted connections.
int fg_conn_is_inbound(const fg_conn *c);

#endif  // FEDGATE_IO_CONN_H
