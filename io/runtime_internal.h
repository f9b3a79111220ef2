// runtime_internal.h: structures shared by worker.c, listener.c and conn.c.
// Not a public header.
//
// The worker's loop (worker.c) hands each completion to its owner, a
// connection (conn.c) or a listener (listener.c), and those submit their next
// operations to the worker's ring: worker.c and the other two call each other
// by nature. Listeners create connections, never the other way round, so
// conn.c needs nothing of listener.c (not even listener.h's types).
#ifndef FEDGATE_IO_RUNTIME_INTERNAL_H
#define FEDGATE_IO_RUNTIME_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <sys/uio.h>

#include <liburing.h>

#include "io/addr_policy.h"
#include "io/bufpool.h"
#include "io/conn.h"
#include "io/proxy_header.h"
#include "io/worker.h"

// user_data: an 8-byte-aligned pointer with the operation in the low bits.
enum op_tag {
  OP_IGNORE = 0,    // completions nobody waits for
  OP_ACCEPT = 1,    // fg_listener*
  OP_RECV = 2,      // fg_conn*
  OP_SEND = 3,      // fg_conn*
  OP_CONNECT = 4,   // fg_conn*
  OP_CONN_AUX = 5,  // fg_conn*: cancel / close / shutdown
  OP_WAKE = 6,      // fg_worker*: MSG_RING arrival or eventfd readable
  OP_LST_AUX = 7,   // fg_listener*: cancel / close
};
#define OP_MASK 7u

static inline uint64_t ud_make(void *p, enum op_tag op) {
  return (uint64_t)(uintptr_t)p | (uint64_t)op;
}

typedef struct out_chunk {
  struct out_chunk *next;
  uint32_t start, end;
  uint8_t data[];
} out_chunk;

#define OUT_CHUNK_BYTES (16384 - 2 * sizeof(uint32_t) - sizeof(void *))
#define SEND_IOV_MAX 16

// The most plaintext one TLS record carries (RFC 8446 §5.1), and the
// worker's decrypt buffer: room for several records, so that a receive of
// small records reaches the upper layer in one piece.
#define FG_TLS_MAX_PLAINTEXT 16384
#define FG_WORKER_PLAINBUF (4 * FG_TLS_MAX_PLAINTEXT + 256)

// send_desc: the descriptors of a sendmsg of several chunks, lent by the
// worker while that send is in flight (a send of one chunk needs none): an
// idle connection holds no send state.
typedef struct send_desc {
  struct send_desc *next;  // worker's free list
  struct msghdr msg;
  struct iovec iov[SEND_IOV_MAX];
} send_desc;

// proxy_wait: while the PROXY protocol header is awaited, before the upper
// layer has the connection; allocated for connections from the listener's
// trusted balancers only and freed once the header is read.
typedef struct proxy_wait {
  fg_proxy_header header;
  fg_tls_ctx *tls;  // direct TLS: the context to start after the header
} proxy_wait;

typedef struct transport_ops transport_ops;

// fg_listener is listener.c's; the worker only keeps its list of them.
typedef struct fg_listener fg_listener;

struct fg_conn {
  fg_worker *w;
  const transport_ops *ops;
  const fg_conn_handler *h;
  void *arg;
  uint64_t id;
  int fd;
  int inflight;  // SQEs whose CQE names this connection
  enum fg_conn_mode mode;
  unsigned inbound : 1, connecting : 1, recv_armed : 1, send_inflight : 1, paused : 1,
      write_blocked : 1, want_close : 1, dead : 1, dirty : 1, eof : 1, starttls_now : 1,
      direct_tls : 1, opened : 1, ktls_rx : 1, ktls_tx : 1, recv_cancelling : 1, ktls_pending : 1,
      ktls_decided : 1, ktls_filling : 1, ktls_await : 1, proxy_wait : 1, recv_started : 1,
      proxy_named : 1;    // the PROXY header named the peer (|peer| is its address)
  uint8_t proxy_version;  // 0: no PROXY header; 1 or 2: the header read
  enum fg_close_reason close_reason;
  // |sending|: fg_conn_send calls on the stack. A close that happens inside
  // one (a bound hit) tells on_close at the next flush, not under the
  // caller's feet: |close_deferred| with its |deferred_reason| (the close
  // holds one of |inflight| until then, so |c| stays).
  int sending;
  unsigned close_deferred : 1;
  enum fg_close_reason deferred_reason;
  struct fg_conn *prev, *next;  // worker's list
  struct fg_conn *dirty_next;   // worker's flush list
  // Output.
  out_chunk *out_head, *out_tail;
  size_t out_bytes;
  send_desc *sd;      // while a sendmsg of several chunks is in flight
  proxy_wait *proxy;  // while |proxy_wait|
  // Plaintext queued by the upper layer while a TLS handshake runs.
  uint8_t *early;
  size_t early_len, early_cap;
  // Input the upper layer has not consumed yet (plaintext).
  uint8_t *in;
  size_t in_len, in_cap;
  // Raw bytes received while paused (before the transport): |stash_len|
  // bytes from |stash| + |stash_off| (fed from the front without moving the
  // rest; compacted when bytes are added).
  uint8_t *stash;
  size_t stash_off, stash_len, stash_cap;
  // TLS.
  fg_tls_conn *tls;
  // Plaintext written since the last flush, sealed as one record when the
  // loop flushes (a worker chunk, given back then: idle connections hold
  // none).
  out_chunk *plain;
  uint8_t *ktls_tail;  // the rest of a record split by the kTLS hand-over point
  // Timers: one per connection, its meaning set by |timer_kind|.
  fg_timer timer;
  int timer_kind;
  uint64_t idle_ns, last_rx_ns, last_tx_ns;
  // peer: an IP address (connections are TCP; an accepted Unix-domain
  // client is unnamed, its family is all there is to keep).
  union {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
  } peer;
  socklen_t peer_len;
};

struct transport_ops {
  const char *name;
  void (*recv)(fg_conn *c, const uint8_t *data, size_t len);
  int (*send)(fg_conn *c, const uint8_t *data, size_t len);
  void (*close)(fg_conn *c);  // graceful: queue whatever says goodbye
};

extern const transport_ops fg_plain_ops, fg_tls_ops, fg_ktls_ops, fg_proxy_ops;

struct fg_worker {
  fg_runtime *rt;
  unsigned index;
  pthread_t thread;
  struct io_uring ring;
  int ring_ok;
  fg_bufpool *pool;
  int efd;
  uint64_t efd_buf;
  fg_msgq q;
  atomic_int wake_pending;
  fg_timer_heap timers;
  uint64_t now_ns;
  atomic_int stopping_flag;
  int stopping;
  unsigned drain_ms;
  fg_timer drain_timer;
  fg_conn *conns;  // all live connections
  size_t nconns;
  fg_conn *dirty;  // connections with output to submit
  fg_listener *listeners;
  size_t nlisteners;
  int spare_fd;      // kept open to be given up when accept runs out of descriptors
  int aux_inflight;  // misc SQEs (wake poll, msg_ring to self...)
  out_chunk *free_chunks;
  size_t nfree_chunks;
  send_desc *free_sds;
  size_t nfree_sds;
  uint8_t *plainbuf;  // TLS decrypt scratch: the records of one receive
                      // (FG_WORKER_PLAINBUF bytes)
  size_t plainbuf_len;
  const uint64_t *allocated;  // this thread's heap bytes allocated (io/heap.h)
  uint64_t next_conn_id;
  fg_worker_stats stats;
  int init_err;
};

struct fg_runtime {
  fg_worker_options opts;
  unsigned n;
  fg_worker *workers;
  atomic_int ready;  // workers whose ring setup finished
  int joined;
};

// worker.c
struct io_uring_sqe *fg_worker_sqe(fg_worker *w);
void fg_worker_mark_dirty(fg_worker *w, fg_conn *c);
out_chunk *fg_worker_chunk_get(fg_worker *w);
void fg_worker_chunk_put(fg_worker *w, out_chunk *ch);
send_desc *fg_worker_sd_get(fg_worker *w);  // NULL: out of memory
void fg_worker_sd_put(fg_worker *w, send_desc *sd);

// conn.c
// fg_conn_new_accepted starts a connection on the accepted socket |fd| with
// handler |h| and argument |arg|, in direct TLS (XEP-0368) when |tls| (a
// server context) is not NULL. It returns NULL, |fd| closed, when out of
// memory.
//
// With |n_trusted| > 0 the listener speaks the PROXY protocol: a connection
// whose source is not in |trusted| is refused at once; from a trusted one,
// a PROXY header (version 1 or 2) must come first, within the handshake
// timeout, and its source address becomes the connection's peer. Refusals
// and the accepted header are reported through |h->on_proxy_header|.
fg_conn *fg_conn_new_accepted(fg_worker *w, int fd, const fg_conn_handler *h, void *arg,
                              fg_tls_ctx *tls, const fg_cidr *trusted, size_t n_trusted);
void fg_conn_on_cqe(fg_conn *c, enum op_tag op, struct io_uring_cqe *cqe);
void fg_conn_flush(fg_conn *c);
void fg_conn_maybe_free(fg_conn *c);
void fg_conn_shutdown_all(fg_worker *w, int abort_now);

// listener.c
void fg_listener_on_cqe(fg_listener *l, enum op_tag op, struct io_uring_cqe *cqe);
void fg_listener_close_all(fg_worker *w);

#endif  // FEDGATE_IO_RUNTIME_INTERNAL_H
