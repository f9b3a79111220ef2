// conn.c: connections: receive path (multishot recv into provided buffers),
// send queue (batched sendmsg, partial sends), transports (plain, TLS, kTLS),
// STARTTLS, back-pressure, timers and close.
//
// One file, though past 1,000 lines: its sections are one state machine over
// the same fg_conn fields, not separable layers. The kTLS hand-over waits on
// the receive path (no receive in flight), the send queue (nothing queued)
// and the pause stash, and the receive path routes the hand-over's tail read
// back to it; the transports deliver through the input path and queue through
// the output path, which close through the lifetime code. Cut by section,
// the files would call a dozen of each other's helpers in both directions
// through an internal header.
#include "io/conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/mem.h>
#include <openssl/ssl.h>

#include "io/ktls.h"
#include "io/runtime_internal.h"

enum { TK_NONE, TK_CONNECT, TK_HANDSHAKE, TK_IDLE, TK_LINGER, TK_PROXY };

static void finish(fg_conn *c, enum fg_close_reason reason);
static void arm_recv(fg_conn *c);
static void try_ktls(fg_conn *c);
static int seal_plain(fg_conn *c);
static void proxy_refuse(fg_conn *c, fg_proxy_error why);
static int accepted_start(fg_conn *c, fg_tls_ctx *tls);

const char *fg_close_reason_name(enum fg_close_reason r) {
  static const char *const names[] = {"local",          "peer",      "reset",
                                      "io-error",       "tls-error", "timeout",
                                      "connect-failed", "overflow",  "shutdown"};
  return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

static const fg_worker_options *opts(const fg_conn *c) {
  return &c->w->rt->opts;
}

static uint64_t *mode_gauge(fg_worker *w, enum fg_conn_mode m) {
  return m == FG_CONN_PLAIN ? &w->stats.conns_plain
         : m == FG_CONN_TLS ? &w->stats.conns_tls
                            : &w->stats.conns_ktls;
}

static void set_mode(fg_conn *c, enum fg_conn_mode m, const transport_ops *ops) {
  (*mode_gauge(c->w, c->mode))--;
  c->mode = m;
  c->ops = ops;
  (*mode_gauge(c->w, m))++;
}

// --- timers -------------------------------------------------------------

static void set_timer(fg_conn *c, int kind, uint64_t ms) {
  c->timer_kind = kind;
  fg_worker_timer_arm(c->w, &c->timer, ms);
}

// watch_due returns when the idle or write-stall deadline falls (lazy: a
// receive or a completed send only stores a timestamp).
static uint64_t watch_due(const fg_conn *c) {
  uint64_t due = UINT64_MAX;
  uint64_t stall = (uint64_t)opts(c)->write_stall_ms * 1000000u;
  if (c->idle_ns > 0) due = c->last_rx_ns + c->idle_ns;
  if (stall > 0) {
    uint64_t d = c->out_head != NULL ? c->last_tx_ns + stall : fg_clock_ns() + stall;
    if (d < due) due = d;
  }
  return due;
}

static void idle_or_none(fg_conn *c) {
  uint64_t due = watch_due(c);
  if (due == UINT64_MAX || c->want_close) {
    c->timer_kind = TK_NONE;
    fg_worker_timer_cancel(c->w, &c->timer);
    return;
  }
  uint64_t now = fg_clock_ns();
  set_timer(c, TK_IDLE, due > now ? (due - now) / 1000000u + 1 : 0);
}

static void on_timer(fg_timer *t, void *arg) {
  fg_conn *c = arg;
  if (c->dead) return;
  switch (c->timer_kind) {
    case TK_CONNECT:
      c->w->stats.timeouts++;
      c->w->stats.connect_failed++;
      finish(c, FG_CLOSE_TIMEOUT);
      break;
    case TK_HANDSHAKE:
      c->w->stats.timeouts++;
      c->w->stats.handshake_failures++;
      finish(c, FG_CLOSE_TIMEOUT);
      break;
    case TK_LINGER:
      finish(c, c->close_reason);
      break;
    case TK_PROXY:
      c->w->stats.timeouts++;
      proxy_refuse(c, FG_PROXY_ERR_TIMEOUT);
      break;
    case TK_IDLE: {
      uint64_t now = fg_clock_ns();
      uint64_t stall = (uint64_t)opts(c)->write_stall_ms * 1000000u;
      if ((c->idle_ns > 0 && now >= c->last_rx_ns + c->idle_ns) ||
          (stall > 0 && c->out_head != NULL && now >= c->last_tx_ns + stall)) {
        c->w->stats.timeouts++;
        finish(c, FG_CLOSE_TIMEOUT);
      } else {
        idle_or_none(c);
      }
      break;
    }
    default:
      break;
  }
}

// --- lifetime -----------------------------------------------------------

static fg_conn *conn_alloc(fg_worker *w, int fd, const fg_conn_handler *h, void *arg, int inbound) {
  fg_conn *c = calloc(1, sizeof(*c));
  if (c == NULL) return NULL;
  c->w = w;
  c->fd = fd;
  c->h = h;
  c->arg = arg;
  c->inbound = inbound ? 1 : 0;
  c->id = w->next_conn_id++;
  c->ops = &fg_plain_ops;
  c->mode = FG_CONN_PLAIN;
  c->last_rx_ns = c->last_tx_ns = w->now_ns;
  fg_timer_init(&c->timer, on_timer, c);
  c->next = w->conns;
  if (w->conns) w->conns->prev = c;
  w->conns = c;
  w->nconns++;
  w->stats.conns_plain++;
  // Accepted sockets inherit TCP_NODELAY from their listener
  // (io/listener.c sets it there once): one system call less per accept.
  if (!inbound) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  return c;
}

void fg_conn_maybe_free(fg_conn *c) {
  if (!c->dead || c->inflight > 0) return;
  fg_worker *w = c->w;
  if (c->prev)
    c->prev->next = c->next;
  else
    w->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  w->nconns--;
  while (c->out_head != NULL) {
    out_chunk *ch = c->out_head;
    c->out_head = ch->next;
    fg_worker_chunk_put(w, ch);
  }
  w->stats.out_bytes_queued -= c->out_bytes;
  if (c->plain != NULL) fg_worker_chunk_put(w, c->plain);
  if (c->sd != NULL) fg_worker_sd_put(w, c->sd);
  fg_tls_conn_free(c->tls);
  free(c->ktls_tail);
  free(c->early);
  free(c->in);
  free(c->stash);
  free(c);
}

// finish makes |c| dead: every operation on the socket is cancelled, the
// socket closed, and on_close called. The memory goes once the kernel has
// answered every SQE naming |c| (fg_conn_maybe_free).
// drop_connect_stash releases the client context fg_conn_connect parked in
// |c->tls| for a direct-TLS connection whose connect never completed, so
// that fg_conn_maybe_free does not take it for a fg_tls_conn.
static void drop_connect_stash(fg_conn *c) {
  if (!c->direct_tls || c->tls == NULL) return;
  fg_tls_ctx_free((fg_tls_ctx *)c->tls);
  c->tls = NULL;
}

// proxy_ended says why a connection that ends while its PROXY header is
// awaited is refused: nothing came (a TCP health check), or part of it.
static fg_proxy_error proxy_ended(const fg_conn *c) {
  return c->proxy != NULL && fg_proxy_header_started(&c->proxy->header) ? FG_PROXY_ERR_TRUNCATED
                                                                        : FG_PROXY_ERR_EMPTY;
}

// proxy_wait_free gives back the PROXY header state (and the context it
// kept for direct TLS, if still there).
static void proxy_wait_free(fg_conn *c) {
  if (c->proxy == NULL) return;
  if (c->proxy->tls != NULL) fg_tls_ctx_free(c->proxy->tls);
  free(c->proxy);
  c->proxy = NULL;
}

static void finish(fg_conn *c, enum fg_close_reason reason) {
  if (c->dead) return;
  fg_worker *w = c->w;
  if (c->connecting) drop_connect_stash(c);
  if (c->proxy_wait) {
    fg_proxy_error why = proxy_ended(c);
    c->proxy_wait = 0;
    proxy_wait_free(c);
    if (reason == FG_CLOSE_RESET || reason == FG_CLOSE_IO_ERROR) {
      // Reset before or inside the header: refused like a header cut short
      // by EOF.
      w->stats.proxy_refused++;
      if (c->h->on_proxy_header) c->h->on_proxy_header(c, why);
    }
  }
  c->dead = 1;
  fg_worker_timer_cancel(w, &c->timer);
  (*mode_gauge(w, c->mode))--;
  w->stats.closed++;
  if (c->ktls_tx && c->out_head == NULL &&
      (reason == FG_CLOSE_LOCAL || reason == FG_CLOSE_PEER || reason == FG_CLOSE_SHUTDOWN)) {
    static const uint8_t close_notify[2] = {1, 0};
    fg_ktls_send_record(c->fd, 21, close_notify, sizeof(close_notify));
  }
  struct io_uring_sqe *sqe;
  // Every operation on the socket is counted in |inflight|. With none left
  // (the common end: the peer's end of file finished the multishot receive,
  // the last send has completed) there is nothing to cancel: close only.
  if (c->inflight > 0) {
    if (io_uring_sq_space_left(&w->ring) < 2) io_uring_submit(&w->ring);
    sqe = fg_worker_sqe(w);
    io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL);
    sqe->flags |= IOSQE_IO_HARDLINK;
    io_uring_sqe_set_data64(sqe, ud_make(c, OP_CONN_AUX));
    c->inflight++;
  }
  sqe = fg_worker_sqe(w);
  io_uring_prep_close(sqe, c->fd);
  io_uring_sqe_set_data64(sqe, ud_make(c, OP_CONN_AUX));
  c->inflight++;
  c->fd = -1;
  if (c->sending > 0) {
    // Inside fg_conn_send: its caller still uses what on_close may free.
    c->close_deferred = 1;
    c->deferred_reason = reason;
    c->inflight++;
    fg_worker_mark_dirty(w, c);
    return;
  }
  if (c->h->on_close) c->h->on_close(c, reason);
}

// tell_deferred_close calls on_close for a close that happened inside
// fg_conn_send, from the worker's flush.
static void tell_deferred_close(fg_conn *c) {
  c->close_deferred = 0;
  if (c->h->on_close) c->h->on_close(c, c->deferred_reason);
  c->inflight--;
  fg_conn_maybe_free(c);
}

void fg_conn_abort(fg_conn *c, enum fg_close_reason reason) {
  finish(c, reason);
}

void fg_conn_close(fg_conn *c) {
  if (c->dead || c->want_close) return;
  c->want_close = 1;
  if (c->close_reason == FG_CLOSE_LOCAL && c->eof) c->close_reason = FG_CLOSE_PEER;
  if (c->connecting) {
    finish(c, c->close_reason);
    return;
  }
  c->ops->close(c);
  if (c->dead) return;
  if (c->out_head == NULL && !c->send_inflight) {
    finish(c, c->close_reason);
    return;
  }
  set_timer(c, TK_LINGER, opts(c)->close_linger_ms);
  fg_worker_mark_dirty(c->w, c);
}

void fg_conn_shutdown_all(fg_worker *w, int abort_now) {
  for (fg_conn *c = w->conns; c != NULL; c = c->next) {
    if (c->dead) continue;
    if (abort_now) {
      finish(c, FG_CLOSE_SHUTDOWN);
      continue;
    }
    if (!c->want_close) c->close_reason = FG_CLOSE_SHUTDOWN;
    fg_conn_close(c);
  }
}

// --- output -------------------------------------------------------------

static int overflow(fg_conn *c) {
  c->w->stats.overflow_closes++;
  finish(c, FG_CLOSE_OVERFLOW);
  return 0;
}

static void submit_send(fg_conn *c);

// send_early sends what |c| has queued now rather than at the end of the
// loop turn: a long turn (a backlog of input relayed to one hop) would
// otherwise gather it all, reach the high-water mark and pause every
// connection feeding |c| although the kernel would take the bytes at once.
// Called at a quarter of the mark, so a turn costs one more system call per
// quarter at most; the send completes in the same turn (its completion is
// handled like any other) and the chunks come back while still in cache.
static void send_early(fg_conn *c) {
  submit_send(c);
  if (!c->send_inflight) return;
  c->w->stats.sends_early++;
  io_uring_submit(&c->w->ring);
}

// queue_raw appends bytes for the socket (already encrypted if need be).
static int queue_raw(fg_conn *c, const uint8_t *p, size_t n) {
  if (c->dead) return 0;
  fg_worker *w = c->w;
  if (c->out_bytes + n > opts(c)->conn_max_output ||
      w->stats.out_bytes_queued + n > opts(c)->worker_max_output) {
    return overflow(c);
  }
  if (c->out_head == NULL) c->last_tx_ns = w->now_ns;  // the stall clock starts now
  size_t left = n;
  while (left > 0) {
    out_chunk *tail = c->out_tail;
    if (tail == NULL || tail->end == OUT_CHUNK_BYTES) {
      out_chunk *ch = fg_worker_chunk_get(w);
      if (ch == NULL) return overflow(c);
      if (tail)
        tail->next = ch;
      else
        c->out_head = ch;
      c->out_tail = tail = ch;
    }
    size_t k = OUT_CHUNK_BYTES - tail->end;
    if (k > left) k = left;
    memcpy(tail->data + tail->end, p, k);
    tail->end += (uint32_t)k;
    p += k;
    left -= k;
  }
  c->out_bytes += n;
  w->stats.out_bytes_queued += n;
  if (w->stats.out_bytes_queued > w->stats.out_bytes_peak) {
    w->stats.out_bytes_peak = w->stats.out_bytes_queued;
  }
  if (!c->write_blocked && c->out_bytes >= opts(c)->conn_high_water) c->write_blocked = 1;
  fg_worker_mark_dirty(w, c);
  if (c->out_bytes >= opts(c)->conn_high_water / 4 && !c->send_inflight) send_early(c);
  return 1;
}

// submit_send sends the queued chunks: one chunk (the common case: 16 KiB
// hold many stanzas) by a plain send, several by a sendmsg whose
// descriptors the worker lends until the send completes.
static void submit_send(fg_conn *c) {
  if (c->dead || c->send_inflight || c->connecting || c->out_head == NULL) return;
  out_chunk *first = c->out_head, *more = NULL;
  while (first != NULL && first->end == first->start) first = first->next;
  if (first == NULL) return;
  for (more = first->next; more != NULL && more->end == more->start;) more = more->next;
  struct io_uring_sqe *sqe;
  if (more == NULL) {
    sqe = fg_worker_sqe(c->w);
    io_uring_prep_send(sqe, c->fd, first->data + first->start, first->end - first->start,
                       MSG_NOSIGNAL);
  } else {
    send_desc *sd = c->sd != NULL ? c->sd : fg_worker_sd_get(c->w);
    if (sd == NULL) {
      finish(c, FG_CLOSE_OVERFLOW);
      return;
    }
    c->sd = sd;
    int n = 0;
    for (out_chunk *ch = first; ch != NULL && n < SEND_IOV_MAX; ch = ch->next) {
      if (ch->end == ch->start) continue;
      sd->iov[n].iov_base = ch->data + ch->start;
      sd->iov[n].iov_len = ch->end - ch->start;
      n++;
    }
    memset(&sd->msg, 0, sizeof(sd->msg));
    sd->msg.msg_iov = sd->iov;
    sd->msg.msg_iovlen = (size_t)n;
    sqe = fg_worker_sqe(c->w);
    io_uring_prep_sendmsg(sqe, c->fd, &sd->msg, MSG_NOSIGNAL);
  }
  io_uring_sqe_set_data64(sqe, ud_make(c, OP_SEND));
  c->send_inflight = 1;
  c->inflight++;
}

static void on_send(fg_conn *c, int res) {
  c->send_inflight = 0;
  c->inflight--;
  if (c->sd != NULL) {
    fg_worker_sd_put(c->w, c->sd);
    c->sd = NULL;
  }
  if (c->dead) return;
  fg_worker *w = c->w;
  if (res < 0) {
    if (res == -EINTR || res == -EAGAIN) {
      fg_worker_mark_dirty(w, c);
      return;
    }
    finish(c, res == -EPIPE || res == -ECONNRESET ? FG_CLOSE_RESET : FG_CLOSE_IO_ERROR);
    return;
  }
  size_t done = (size_t)res;
  if (done > 0) c->last_tx_ns = w->now_ns;
  w->stats.bytes_out += done;
  c->out_bytes -= done;
  w->stats.out_bytes_queued -= done;
  while (done > 0 && c->out_head != NULL) {
    out_chunk *ch = c->out_head;
    size_t k = ch->end - ch->start;
    if (k > done) k = done;
    ch->start += (uint32_t)k;
    done -= k;
    if (ch->start == ch->end) {
      c->out_head = ch->next;
      if (c->out_head == NULL) c->out_tail = NULL;
      fg_worker_chunk_put(w, ch);
    }
  }
  if (c->out_head != NULL) fg_worker_mark_dirty(w, c);
  if (c->write_blocked && c->out_bytes <= opts(c)->conn_low_water) {
    c->write_blocked = 0;
    if (c->h->on_drain) c->h->on_drain(c);
    if (c->dead) return;
  }
  if (c->out_head == NULL && !c->send_inflight) {
    if (c->want_close) {
      finish(c, c->close_reason);
      return;
    }
    try_ktls(c);
  }
}

int fg_conn_send(fg_conn *c, const uint8_t *data, size_t len) {
  if (c->dead || c->want_close) return 0;
  if (len == 0) return 1;
  c->sending++;
  int ok = c->ops->send(c, data, len);
  c->sending--;
  return ok;
}

int fg_conn_write_blocked(const fg_conn *c) {
  return c->write_blocked;
}

size_t fg_conn_output_queued(const fg_conn *c) {
  return c->out_bytes + (c->plain != NULL ? c->plain->end : 0);
}

// --- input --------------------------------------------------------------

static int buf_append(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *p, size_t n,
                      size_t max) {
  if (*len + n > max) return 0;
  if (*len + n > *cap) {
    size_t nc = *cap ? *cap : 4096;
    while (nc < *len + n) nc *= 2;
    uint8_t *b = realloc(*buf, nc);
    if (b == NULL) return 0;
    *buf = b;
    *cap = nc;
  }
  memcpy(*buf + *len, p, n);
  *len += n;
  return 1;
}

// deliver_pending hands the held-back plaintext to the upper layer until it
// stops consuming, pauses, or upgrades to TLS.
static void deliver_pending(fg_conn *c) {
  while (c->in_len > 0 && !c->paused && !c->dead) {
    size_t n = c->in_len;
    size_t used = c->h->on_data(c, c->in, n);
    if (c->dead) return;
    if (used > n) used = n;
    if (c->starttls_now) {
      // RFC 6120 §5.4.3.3: nothing received before the TLS negotiation may
      // be processed after it.
      c->w->stats.starttls_discarded += c->in_len - used;
      c->in_len = 0;
      return;
    }
    if (used == 0) return;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
  }
}

// stash_append holds |n| raw bytes received while paused, behind those held
// already, up to |max| held in all. The bytes already fed from the front are
// reclaimed here, not as they are fed: feeding a large stash costs its size
// once, not its size per piece.
static int stash_append(fg_conn *c, const uint8_t *p, size_t n, size_t max) {
  if (c->stash_off > 0 && c->stash_off + c->stash_len + n > c->stash_cap) {
    memmove(c->stash, c->stash + c->stash_off, c->stash_len);
    c->stash_off = 0;
  }
  size_t used = c->stash_off + c->stash_len;
  if (c->stash_len + n > max || !buf_append(&c->stash, &used, &c->stash_cap, p, n, SIZE_MAX)) {
    return 0;
  }
  c->stash_len += n;
  return 1;
}

static void deliver(fg_conn *c, const uint8_t *p, size_t n) {
  if (c->dead || n == 0) return;
  if (c->paused || c->in_len > 0) {
    if (!buf_append(&c->in, &c->in_len, &c->in_cap, p, n, opts(c)->conn_max_input)) {
      overflow(c);
      return;
    }
    deliver_pending(c);
    return;
  }
  size_t used = c->h->on_data(c, p, n);
  if (c->dead) return;
  if (used > n) used = n;
  if (c->starttls_now) {
    c->w->stats.starttls_discarded += n - used;
    return;
  }
  if (used < n &&
      !buf_append(&c->in, &c->in_len, &c->in_cap, p + used, n - used, opts(c)->conn_max_input)) {
    overflow(c);
  }
}

static void peer_eof(fg_conn *c) {
  if (c->dead || c->eof) return;
  c->eof = 1;
  if (c->proxy_wait) {
    proxy_refuse(c, proxy_ended(c));
    return;
  }
  if (c->tls != NULL && !fg_tls_conn_handshake_done(c->tls)) {
    c->w->stats.handshake_failures++;
    finish(c, FG_CLOSE_PEER);
    return;
  }
  if (c->h->on_eof) {
    c->h->on_eof(c);
    return;
  }
  if (!c->want_close) c->close_reason = FG_CLOSE_PEER;
  fg_conn_close(c);
}

static void arm_recv(fg_conn *c) {
  if (c->recv_armed || c->dead || c->paused || c->eof || c->connecting || c->fd < 0) return;
  if (c->ktls_pending || c->stash_len > 0) return;  // held-back bytes go first
  if (c->want_close) return;
  struct io_uring_sqe *sqe = fg_worker_sqe(c->w);
  io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
  // A socket just accepted is empty (the peer speaks first: a ClientHello, a
  // PROXY header or a stream header): wait for data at once instead of a
  // receive attempt that can only fail, one tcp_recvmsg less per connection.
  if (c->inbound && !c->recv_started) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
  c->recv_started = 1;
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = fg_bufpool_group(c->w->pool);
  io_uring_sqe_set_data64(sqe, ud_make(c, OP_RECV));
  c->recv_armed = 1;
  c->inflight++;
}

static void ktls_control_record(fg_conn *c);
static void cancel_recv(fg_conn *c);
static void on_ktls_tail(fg_conn *c, int res);

static void on_recv(fg_conn *c, struct io_uring_cqe *cqe) {
  fg_worker *w = c->w;
  if (c->ktls_filling) {
    on_ktls_tail(c, cqe->res);
    return;
  }
  int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  if (!more) {
    c->recv_armed = 0;
    c->recv_cancelling = 0;
    c->inflight--;
  }
  int res = cqe->res;
  if (res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
    uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    const uint8_t *buf = fg_bufpool_buf(w->pool, bid);
    if (!c->dead && !c->eof) {
      w->stats.bytes_in += (uint64_t)res;
      c->last_rx_ns = w->now_ns;
      if (c->paused || c->stash_len > 0) {  // keep order behind held-back bytes
        // Until the cancel lands the kernel may still complete receives for
        // us; it can never have read more than the worker's buffer pool.
        size_t cap = opts(c)->conn_max_input + fg_bufpool_bytes(w->pool);
        if (!stash_append(c, buf, (size_t)res, cap)) overflow(c);
        if (!c->paused) fg_worker_mark_dirty(w, c);
      } else {
        c->ops->recv(c, buf, (size_t)res);
      }
    }
    fg_bufpool_recycle(w->pool, bid);
  } else if (res == 0) {
    if (!c->dead) {
      if (c->paused || c->stash_len > 0) {
        c->eof = 1;  // delivered after the stash, on resume
      } else {
        peer_eof(c);
      }
    }
    return;
  } else if (res == -ENOBUFS) {
    w->stats.recv_nobufs++;
  } else if (res == -EIO || res == -EKEYEXPIRED) {
    if (c->ktls_rx && !c->dead)
      ktls_control_record(c);
    else if (!c->dead)
      finish(c, FG_CLOSE_IO_ERROR);
  } else if (res < 0 && res != -ECANCELED && !c->dead) {
    finish(c, res == -ECONNRESET || res == -EPIPE ? FG_CLOSE_RESET : FG_CLOSE_IO_ERROR);
  }
  if (!more && !c->dead) {
    try_ktls(c);
    arm_recv(c);
  }
}

static void cancel_recv(fg_conn *c) {
  if (!c->recv_armed || c->recv_cancelling) return;
  struct io_uring_sqe *sqe = fg_worker_sqe(c->w);
  io_uring_prep_cancel64(sqe, ud_make(c, OP_RECV), 0);
  // |c| + 8 tells this cancel's completion from those of finish().
  io_uring_sqe_set_data64(sqe, ud_make((char *)c + 8, OP_CONN_AUX));
  c->inflight++;
  c->recv_cancelling = 1;
}

void fg_conn_pause_reading(fg_conn *c) {
  if (c->dead || c->paused) return;
  c->paused = 1;
  cancel_recv(c);
}

void fg_conn_resume_reading(fg_conn *c) {
  if (c->dead || !c->paused) return;
  c->paused = 0;
  // The held-back bytes are delivered from the loop, never from inside the
  // upper layer's callback that called us.
  fg_worker_mark_dirty(c->w, c);
}

void fg_conn_flush(fg_conn *c) {
  if (c->close_deferred) {
    tell_deferred_close(c);
    return;
  }
  if (c->dead) return;
  if (!c->paused && (c->in_len > 0 || c->stash_len > 0 || (c->eof && !c->want_close))) {
    deliver_pending(c);
    while (!c->dead && !c->paused && c->stash_len > 0) {
      // Feed the stash through the transport in buffer-sized pieces so the
      // upper layer can pause again in between. The piece is read in place:
      // nothing adds to the stash before the transport returns (receives
      // complete in the loop, never inside this call), and a STARTTLS that
      // discards it only empties it.
      size_t n = c->stash_len < 16384 ? c->stash_len : 16384;
      const uint8_t *piece = c->stash + c->stash_off;
      c->stash_off += n;
      c->stash_len -= n;
      if (c->stash_len == 0) c->stash_off = 0;
      c->ops->recv(c, piece, n);
    }
    if (!c->dead && !c->paused && c->eof && c->stash_len == 0 && c->in_len == 0 && !c->want_close) {
      c->eof = 0;  // peer_eof sets it again
      peer_eof(c);
    }
    if (c->dead) return;
  }
  if (c->plain != NULL && !seal_plain(c)) return;
  if (!c->paused) {
    try_ktls(c);
    arm_recv(c);
  }
  submit_send(c);
}

// --- transports ---------------------------------------------------------

static void plain_recv(fg_conn *c, const uint8_t *data, size_t len) {
  deliver(c, data, len);
  c->starttls_now = 0;
}

static int plain_send(fg_conn *c, const uint8_t *data, size_t len) {
  return queue_raw(c, data, len);
}

static void plain_close(fg_conn *c) {}

const transport_ops fg_plain_ops = {"plain", plain_recv, plain_send, plain_close};

// --- PROXY protocol header ---------------------------------------------

static void proxy_refuse(fg_conn *c, fg_proxy_error why) {
  if (c->dead) return;
  c->w->stats.proxy_refused++;
  if (c->h->on_proxy_header) c->h->on_proxy_header(c, why);
  // Nothing was said to the peer: there is no stream yet to carry an error.
  if (!c->dead) finish(c, FG_CLOSE_LOCAL);
}

// proxy_recv feeds the header parser; once the header is complete, the
// connection takes its peer address, starts its real transport and hands
// it the bytes that followed the header (a stream header, a ClientHello).
static void proxy_recv(fg_conn *c, const uint8_t *data, size_t len) {
  size_t used = 0;
  fg_proxy_status st = fg_proxy_header_feed(&c->proxy->header, data, len, &used);
  if (st == FG_PROXY_NEED_MORE) return;
  if (st == FG_PROXY_FAILED) {
    proxy_refuse(c, fg_proxy_header_error(&c->proxy->header));
    return;
  }
  const fg_proxy_result *r = fg_proxy_header_result(&c->proxy->header);
  c->proxy_version = r->version;
  if (r->has_addresses) {
    c->peer_len = r->src.sa.sa_family == AF_INET ? sizeof(r->src.in) : sizeof(r->src.in6);
    memcpy(&c->peer, &r->src, c->peer_len);
    c->proxy_named = 1;
  }
  fg_tls_ctx *tls = c->proxy->tls;
  c->proxy->tls = NULL;
  c->proxy_wait = 0;
  proxy_wait_free(c);
  c->ops = &fg_plain_ops;
  c->timer_kind = TK_NONE;
  fg_worker_timer_cancel(c->w, &c->timer);
  c->w->stats.proxy_accepted++;
  if (c->h->on_proxy_header) c->h->on_proxy_header(c, FG_PROXY_OK);
  int alive = !c->dead && accepted_start(c, tls);
  if (tls != NULL) fg_tls_ctx_free(tls);
  if (alive && used < len) c->ops->recv(c, data + used, len - used);
}

// proxy_send: the upper layer has no connection before the header is read.
static int proxy_send(fg_conn *c, const uint8_t *data, size_t len) {
  return 0;
}

const transport_ops fg_proxy_ops = {"proxy", proxy_recv, proxy_send, plain_close};

static int tls_sink(void *arg, const uint8_t *data, size_t len) {
  return queue_raw(arg, data, len);
}

static void ktls_fallback(fg_conn *c);

// ktls_start moves the record layer to the kernel once the handshake output
// is on the wire and no receive is in flight (see try_ktls).
static void ktls_start(fg_conn *c) {
  if (!fg_ktls_probe(NULL, 0)) {  // no ULP: settle it now, no receive to cancel
    c->ktls_decided = 1;
    ktls_fallback(c);
    return;
  }
  c->ktls_pending = 1;
  cancel_recv(c);
  try_ktls(c);
}

static void on_handshake(fg_conn *c) {
  fg_worker *w = c->w;
  w->stats.handshakes++;
  idle_or_none(c);
  if (c->early_len > 0) {
    int ok = fg_tls_conn_write(c->tls, c->early, c->early_len);
    free(c->early);
    c->early = NULL;
    c->early_len = c->early_cap = 0;
    if (!ok) {
      if (!c->dead) finish(c, FG_CLOSE_TLS_ERROR);
      return;
    }
  }
  if (c->direct_tls) {
    c->opened = 1;
    if (c->h->on_open) c->h->on_open(c);
  } else if (c->h->on_secure) {
    c->h->on_secure(c);
  }
  if (!c->dead && opts(c)->ktls && fg_tls_ctx_captures_secrets(fg_tls_conn_ctx(c->tls)) &&
      !c->ktls_decided) {
    if (fg_ktls_probe(NULL, 0) && fg_tls_ctx_role(fg_tls_conn_ctx(c->tls)) == FG_TLS_CLIENT &&
        SSL_version(fg_tls_conn_ssl(c->tls)) == TLS1_3_VERSION &&
        fg_tls_conn_tickets_received(c->tls) == 0) {
      // A TLS 1.3 server sends its NewSessionTickets right after our
      // Finished: let BoringSSL read them (for resumption) and hand over once
      // a ticket or the peer's first data has arrived (ktls_await_done).
      c->ktls_await = 1;
      return;
    }
    ktls_start(c);
  }
}

// ktls_await_done starts the handoff of a client connection that waited for
// the server's tickets, once one (or application data) has come.
static void ktls_await_done(fg_conn *c, int got_data) {
  if (!c->ktls_await || c->dead) return;
  if (!got_data && fg_tls_conn_tickets_received(c->tls) == 0) return;
  c->ktls_await = 0;
  ktls_start(c);
}

// tls_pump decrypts what the transport holds and hands the plaintext up.
// The records of one receive are gathered in the worker's buffer and go up
// together (paced traffic brings a few stanzas per record: one on_data and
// one parser entry for all of them instead of one per record); what was
// gathered goes up before anything else is acted on, so order holds.
static void tls_pump(fg_conn *c) {
  fg_worker *w = c->w;
  int got_data = 0;
  size_t have = 0;
  while (!c->dead) {
    if (have > 0 && w->plainbuf_len - have < FG_TLS_MAX_PLAINTEXT) {
      deliver(c, w->plainbuf, have);  // no room for another whole record
      have = 0;
      continue;
    }
    size_t len;
    uint64_t allocated = *w->allocated;
    enum fg_tls_status st =
        fg_tls_conn_read(c->tls, w->plainbuf + have, w->plainbuf_len - have, &len);
    w->stats.tls_read_allocated += *w->allocated - allocated;
    if (st == FG_TLS_DATA) {
      got_data = 1;
      have += len;
      continue;
    }
    if (have > 0) {
      deliver(c, w->plainbuf, have);
      have = 0;
      if (c->dead) break;
    }
    if (st == FG_TLS_WANT_INPUT) break;
    if (st == FG_TLS_HANDSHAKE_DONE) {
      on_handshake(c);
    } else if (st == FG_TLS_CLOSED) {
      peer_eof(c);
      break;
    } else {
      if (!fg_tls_conn_handshake_done(c->tls)) w->stats.handshake_failures++;
      finish(c, FG_CLOSE_TLS_ERROR);
      break;
    }
  }
  ktls_await_done(c, got_data);
}

static void tls_recv(fg_conn *c, const uint8_t *data, size_t len) {
  fg_tls_conn_set_input(c->tls, data, len);
  tls_pump(c);
  if (!fg_tls_conn_input_done(c->tls) && !c->dead) overflow(c);
}

// seal_plain encrypts the plaintext gathered in |c->plain| as one TLS
// record. It returns 0 when |c| died.
static int seal_plain(fg_conn *c) {
  out_chunk *p = c->plain;
  c->plain = NULL;
  int ok = p->end == 0 || fg_tls_conn_write(c->tls, p->data, p->end);
  fg_worker_chunk_put(c->w, p);
  if (!ok && !c->dead) finish(c, FG_CLOSE_TLS_ERROR);
  return ok;
}

// tls_send gathers what the upper layer writes in one loop turn (a stream
// header and its features, stanzas routed together) and the flush seals it
// as one record: one AEAD seal, one record header and one BoringSSL write
// instead of one per call. Nothing waits longer: the loop flushes every
// dirty connection before it submits and sleeps.
static int tls_send(fg_conn *c, const uint8_t *data, size_t len) {
  if (!fg_tls_conn_handshake_done(c->tls)) {
    if (!buf_append(&c->early, &c->early_len, &c->early_cap, data, len, opts(c)->conn_max_output)) {
      return overflow(c);
    }
    return 1;
  }
  if (c->plain != NULL && c->plain->end + len > OUT_CHUNK_BYTES && !seal_plain(c)) return 0;
  if (c->plain == NULL && len < OUT_CHUNK_BYTES) c->plain = fg_worker_chunk_get(c->w);
  if (c->plain == NULL) {  // a record's worth or more (or no memory): at once
    if (fg_tls_conn_write(c->tls, data, len)) return 1;
    if (!c->dead) finish(c, FG_CLOSE_TLS_ERROR);
    return 0;
  }
  memcpy(c->plain->data + c->plain->end, data, len);
  c->plain->end += (uint32_t)len;
  fg_worker_mark_dirty(c->w, c);
  return 1;
}

static void tls_close(fg_conn *c) {
  if (c->plain != NULL && !seal_plain(c)) return;  // close_notify goes last
  if (fg_tls_conn_handshake_done(c->tls)) fg_tls_conn_shutdown(c->tls);
}

const transport_ops fg_tls_ops = {"tls", tls_recv, tls_send, tls_close};

static void ktls_recv(fg_conn *c, const uint8_t *data, size_t len) {
  deliver(c, data, len);
}

const transport_ops fg_ktls_ops = {"ktls", ktls_recv, plain_send, plain_close};

// start_tls creates the TLS state for |c| in |ctx|'s role.
static int start_tls(fg_conn *c, fg_tls_ctx *ctx, const char *server_name) {
  c->tls = fg_tls_conn_new(ctx, server_name, tls_sink, c);
  if (c->tls == NULL) return 0;
  if (c->h->on_tls_created != NULL) c->h->on_tls_created(c, c->tls);
  set_mode(c, FG_CONN_TLS, &fg_tls_ops);
  set_timer(c, TK_HANDSHAKE, opts(c)->handshake_timeout_ms);
  if (!fg_tls_conn_start(c->tls)) {
    c->w->stats.handshake_failures++;
    finish(c, FG_CLOSE_TLS_ERROR);
    return 0;
  }
  return 1;
}

int fg_conn_starttls(fg_conn *c, fg_tls_ctx *ctx, const char *server_name) {
  if (c->dead || c->want_close || c->tls != NULL || c->mode != FG_CONN_PLAIN) return 0;
  // RFC 6120 §5.4.3.3: discard every byte received before the handshake
  // (the classic STARTTLS command injection).
  c->w->stats.starttls_discarded += c->in_len + c->stash_len;
  c->in_len = 0;
  c->stash_off = c->stash_len = 0;
  c->starttls_now = 1;
  return start_tls(c, ctx, server_name);
}

// --- kernel TLS ----------------------------------------------------------

// ktls_fallback leaves |c| in user-space TLS for good (counted).
static void ktls_fallback(fg_conn *c) {
  fg_tls_conn_set_record_aligned(c->tls, 0);
  fg_tls_conn_forget_secrets(c->tls);
  c->w->stats.ktls_fallbacks++;
  arm_recv(c);
}

// ktls_read_tail reads exactly |need| more bytes of the record that the
// hand-over point split (one plain receive, no provided buffer), so that the
// kernel's receive queue starts on a record boundary when TLS_RX is set.
static void ktls_read_tail(fg_conn *c, size_t need) {
  uint8_t *b = realloc(c->ktls_tail, need);
  if (b == NULL) {
    overflow(c);
    return;
  }
  c->ktls_tail = b;
  struct io_uring_sqe *sqe = fg_worker_sqe(c->w);
  io_uring_prep_recv(sqe, c->fd, b, need, 0);
  io_uring_sqe_set_data64(sqe, ud_make(c, OP_RECV));
  c->recv_armed = 1;
  c->ktls_filling = 1;
  c->inflight++;
  c->w->stats.ktls_tail_reads++;
}

static void on_ktls_tail(fg_conn *c, int res) {
  c->recv_armed = 0;
  c->recv_cancelling = 0;
  c->ktls_filling = 0;
  c->inflight--;
  if (c->dead) return;
  if (res > 0) {
    c->w->stats.bytes_in += (uint64_t)res;
    c->last_rx_ns = c->w->now_ns;
    c->ops->recv(c, c->ktls_tail, (size_t)res);  // user-space TLS: decrypt, deliver
  } else if (res == 0) {
    peer_eof(c);
    return;
  } else if (res != -EINTR && res != -EAGAIN && res != -ECANCELED && res != -ENOBUFS) {
    finish(c, res == -ECONNRESET ? FG_CLOSE_RESET : FG_CLOSE_IO_ERROR);
    return;
  }
  try_ktls(c);  // again: maybe more of the record is missing, or we are paused
}

// try_ktls moves |c| to kernel TLS when it is at a safe point: handshake
// done, nothing queued or in flight for the socket, no receive in flight,
// nothing held back raw, and the bytes read so far end on a record boundary
// (if they end inside a record, the rest of it is read first: see
// ktls_read_tail). TLS 1.3 and TLS 1.2 AES-GCM go to the kernel; anything
// else, or a kernel without the ULP, stays in user space (ktls_fallbacks).
static void try_ktls(fg_conn *c) {
  if (c->dead || !c->ktls_pending || c->want_close) return;
  if (c->send_inflight || c->out_head != NULL || c->plain != NULL || c->recv_armed || c->paused ||
      c->stash_len > 0)
    return;
  fg_worker *w = c->w;
  SSL *ssl = fg_tls_conn_ssl(c->tls);
  int server = fg_tls_ctx_role(fg_tls_conn_ctx(c->tls)) == FG_TLS_SERVER;
  fg_tls_traffic_secrets s;
  const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
  int tls13 = fg_tls_conn_traffic_secrets(c->tls, &s) && fg_ktls_suite_supported(s.cipher_suite);
  int tls12 = !tls13 && cipher != NULL && SSL_version(ssl) == TLS1_2_VERSION &&
              fg_ktls_tls12_suite_supported(SSL_CIPHER_get_protocol_id(cipher));
  if (fg_ktls_probe(NULL, 0) && (tls13 || tls12) && !SSL_has_pending(ssl)) {
    size_t need = fg_tls_conn_record_need(c->tls);
    if (need > 0) {
      OPENSSL_cleanse(&s, sizeof(s));
      ktls_read_tail(c, need);  // try_ktls runs again once it is here
      return;
    }
  }
  c->ktls_pending = 0;
  c->ktls_decided = 1;
  if (!fg_ktls_probe(NULL, 0) || !(tls13 || tls12) || fg_tls_conn_staged(c->tls) > 0 ||
      SSL_has_pending(ssl) || fg_ktls_set_ulp(c->fd) != 0) {
    // Stay in user space (no ULP, an unsupported suite or version, a
    // KeyUpdate already seen by BoringSSL, or bytes here that the kernel
    // cannot be given).
    OPENSSL_cleanse(&s, sizeof(s));
    ktls_fallback(c);
    return;
  }
  int r;
  if (tls13) {
    r = fg_ktls_install(c->fd, FG_KTLS_TX, s.cipher_suite, server ? s.server : s.client,
                        s.secret_len, SSL_get_write_sequence(ssl));
  } else {
    r = fg_ktls_install_tls12(c->fd, FG_KTLS_TX, ssl, server);
  }
  OPENSSL_cleanse(&s, sizeof(s));
  if (r != 0) {
    // A ULP without keys passes bytes through untouched (TLS_BASE): user
    // space can still carry on, e.g. when the cipher module is missing.
    ktls_fallback(c);
    return;
  }
  c->ktls_tx = 1;
  if (tls13) {
    fg_tls_conn_traffic_secrets(c->tls, &s);
    r = fg_ktls_install(c->fd, FG_KTLS_RX, s.cipher_suite, server ? s.client : s.server,
                        s.secret_len, SSL_get_read_sequence(ssl));
    OPENSSL_cleanse(&s, sizeof(s));
  } else {
    r = fg_ktls_install_tls12(c->fd, FG_KTLS_RX, ssl, server);
  }
  if (r != 0) {
    // TX is in the kernel already: user space can no longer take over.
    w->stats.ktls_fallbacks++;
    finish(c, FG_CLOSE_TLS_ERROR);
    return;
  }
  c->ktls_rx = 1;
  w->stats.ktls_attached++;
  set_mode(c, FG_CONN_KTLS, &fg_ktls_ops);
  arm_recv(c);
}

// ktls_rekey_close ends |c| after a peer KeyUpdate that this kernel cannot
// follow (setting TLS_RX/TLS_TX again needs Linux >= 6.14): the kernel holds
// the receive state, so user space cannot take the connection back. The peer
// gets a fatal internal_error alert when nothing else is queued; the close is
// counted (ktls_rekey_closes) and the first one per worker logged.
static void ktls_rekey_close(fg_conn *c, int err) {
  fg_worker *w = c->w;
  if (w->stats.ktls_rekey_closes++ == 0) {
    fprintf(stderr,
            "fedgate: conn %llu: peer TLS KeyUpdate, but this kernel cannot re-key kTLS (%s); "
            "closing (counted in ktls_rekey_closes, logged once per worker)\n",
            (unsigned long long)c->id, strerror(-err));
  }
  if (c->out_head == NULL && !c->send_inflight) {
    static const uint8_t internal_error[2] = {2, 80};
    fg_ktls_send_record(c->fd, 21, internal_error, sizeof(internal_error));
  }
  finish(c, FG_CLOSE_TLS_ERROR);
}

// ktls_control_record reads a non-application record that kernel TLS
// refused to hand to a plain recv: close_notify, other alerts, KeyUpdate and
// NewSessionTicket (RFC 8446 §4.6).
static void ktls_control_record(fg_conn *c) {
  uint8_t type, *buf = c->w->plainbuf;
  long n = fg_ktls_recv_record(c->fd, &type, buf, c->w->plainbuf_len);
  if (n == -EAGAIN) return;
  if (n < 0) {
    finish(c, FG_CLOSE_IO_ERROR);
    return;
  }
  if (type == 21) {  // alert
    if (n >= 2 && buf[1] == 0)
      peer_eof(c);
    else
      finish(c, FG_CLOSE_TLS_ERROR);
    return;
  }
  SSL *ssl = fg_tls_conn_ssl(c->tls);
  if (type != 22 || SSL_version(ssl) != TLS1_3_VERSION) {
    finish(c, FG_CLOSE_TLS_ERROR);  // TLS 1.2: renegotiation is refused anyway
    return;
  }
  fg_tls_traffic_secrets s;
  fg_tls_ctx *ctx = fg_tls_conn_ctx(c->tls);
  if (!fg_tls_conn_traffic_secrets(c->tls, &s)) {
    finish(c, FG_CLOSE_TLS_ERROR);
    return;
  }
  int server = fg_tls_ctx_role(ctx) == FG_TLS_SERVER;
  uint8_t *rx = server ? s.client : s.server;
  uint8_t *tx = server ? s.server : s.client;
  for (long off = 0; off + 4 <= n;) {
    uint8_t msg_type = buf[off];
    long len = ((long)buf[off + 1] << 16) | ((long)buf[off + 2] << 8) | buf[off + 3];
    if (off + 4 + len > n) break;
    if (msg_type == 24 && len == 1) {  // KeyUpdate (RFC 8446 §4.6.3)
      uint8_t next[48];
      int r = -EINVAL;
      if (fg_ktls_next_secret(s.cipher_suite, rx, s.secret_len, next))
        r = fg_ktls_install(c->fd, FG_KTLS_RX, s.cipher_suite, next, s.secret_len, 0);
      if (r != 0) {
        OPENSSL_cleanse(&s, sizeof(s));
        ktls_rekey_close(c, r);
        return;
      }
      memcpy(rx, next, s.secret_len);
      if (buf[off + 4] == 1) {  // update_requested: answer, then re-key TX
        static const uint8_t ku[5] = {24, 0, 0, 1, 0};
        r = -EBUSY;
        if (c->out_head == NULL && !c->send_inflight)
          r = fg_ktls_send_record(c->fd, 22, ku, sizeof(ku));
        if (r == 0) {
          r = fg_ktls_next_secret(s.cipher_suite, tx, s.secret_len, next)
                  ? fg_ktls_install(c->fd, FG_KTLS_TX, s.cipher_suite, next, s.secret_len, 0)
                  : -EINVAL;
        }
        if (r != 0) {
          OPENSSL_cleanse(&s, sizeof(s));
          ktls_rekey_close(c, r);
          return;
        }
        memcpy(tx, next, s.secret_len);
      }
      OPENSSL_cleanse(next, sizeof(next));
      c->w->stats.ktls_rekeys++;
    }
    if (msg_type == 4) c->w->stats.ktls_tickets_skipped++;  // NewSessionTicket
    // Others (CertificateRequest, ...): ignored.
    off += 4 + len;
  }
  fg_tls_conn_set_traffic_secrets(c->tls, &s);
  OPENSSL_cleanse(&s, sizeof(s));
}

// --- creation -----------------------------------------------------------

// accepted_start starts the transport of an accepted connection (direct TLS
// with |tls|, else plaintext) and opens it to the upper layer (plaintext at
// once, direct TLS after the handshake). It returns 0 when |c| died.
static int accepted_start(fg_conn *c, fg_tls_ctx *tls) {
  if (tls != NULL) {
    c->direct_tls = 1;
    if (!start_tls(c, tls, NULL)) {
      if (!c->dead) finish(c, FG_CLOSE_TLS_ERROR);
      return 0;
    }
  }
  arm_recv(c);
  if (c->tls == NULL) {
    idle_or_none(c);
    c->opened = 1;
    if (c->h->on_open) c->h->on_open(c);
  }
  return !c->dead;
}

fg_conn *fg_conn_new_accepted(fg_worker *w, int fd, const fg_conn_handler *h, void *arg,
                              fg_tls_ctx *tls, const fg_cidr *trusted, size_t n_trusted) {
  fg_conn *c = conn_alloc(w, fd, h, arg, 1);
  if (c == NULL) {
    close(fd);
    return NULL;
  }
  w->stats.accepted++;
  struct sockaddr_storage peer;
  socklen_t peer_len = sizeof(peer);
  int known = getpeername(fd, (struct sockaddr *)&peer, &peer_len) == 0;
  if (known) {
    c->peer_len = peer_len < sizeof(c->peer) ? peer_len : sizeof(c->peer);
    memcpy(&c->peer, &peer, c->peer_len);
  }
  if (n_trusted == 0) {
    accepted_start(c, tls);
    return c;
  }
  if (!known) {
    // Reset before it was accepted (a balancer's TCP check closes at once):
    // its source is unknown, and nothing can be read from it.
    proxy_refuse(c, FG_PROXY_ERR_EMPTY);
    return c;
  }
  // PROXY protocol: only the balancers may connect, and they speak first.
  int ok = 0;
  for (size_t i = 0; i < n_trusted && !ok; i++) {
    ok = fg_cidr_contains(&trusted[i], (const struct sockaddr *)&c->peer);
  }
  if (!ok) {
    proxy_refuse(c, FG_PROXY_ERR_UNTRUSTED);
    return c;
  }
  c->proxy = malloc(sizeof(*c->proxy));
  if (c->proxy == NULL) {
    fg_conn_abort(c, FG_CLOSE_OVERFLOW);
    return c;
  }
  fg_proxy_header_init(&c->proxy->header);
  c->proxy_wait = 1;
  c->proxy->tls = tls;
  if (tls != NULL) fg_tls_ctx_up_ref(tls);
  c->ops = &fg_proxy_ops;
  set_timer(c, TK_PROXY, opts(c)->handshake_timeout_ms);
  arm_recv(c);
  return c;
}

static void on_connect(fg_conn *c, int res) {
  c->inflight--;
  c->connecting = 0;
  if (c->dead) return;
  fg_worker *w = c->w;
  if (res < 0) {
    w->stats.connect_failed++;
    drop_connect_stash(c);
    finish(c, FG_CLOSE_CONNECT_FAILED);
    return;
  }
  w->stats.connected++;
  idle_or_none(c);
  if (c->direct_tls) {
    fg_tls_ctx *ctx = (fg_tls_ctx *)c->tls;  // stashed by fg_conn_connect
    c->tls = NULL;
    char *sni = (char *)c->early;
    c->early = NULL;
    c->early_len = c->early_cap = 0;
    int ok = start_tls(c, ctx, sni);
    free(sni);
    fg_tls_ctx_free(ctx);
    if (!ok) return;
  } else {
    c->opened = 1;
    if (c->h->on_open) c->h->on_open(c);
    if (c->dead) return;
  }
  arm_recv(c);
  fg_worker_mark_dirty(w, c);
}

fg_conn *fg_conn_connect(fg_worker *w, const fg_connect_config *cfg) {
  if (w->stopping || w->nconns >= w->rt->opts.max_conns ||
      cfg->addr_len > sizeof(((fg_conn *)0)->peer)) {  // IPv4 and IPv6 only
    return NULL;
  }
  int fd = socket(cfg->addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return NULL;
  fg_conn *c = conn_alloc(w, fd, cfg->handler, cfg->arg, 0);
  if (c == NULL) {
    close(fd);
    return NULL;
  }
  memcpy(&c->peer, cfg->addr, cfg->addr_len);
  c->peer_len = cfg->addr_len;
  c->connecting = 1;
  if (cfg->tls != NULL) {
    // Until connected, |tls| holds the context and |early| the server name.
    c->direct_tls = 1;
    fg_tls_ctx_up_ref(cfg->tls);
    c->tls = (fg_tls_conn *)cfg->tls;
    if (cfg->server_name) c->early = (uint8_t *)strdup(cfg->server_name);
  }
  struct io_uring_sqe *sqe = fg_worker_sqe(w);
  io_uring_prep_connect(sqe, fd, (struct sockaddr *)&c->peer, c->peer_len);
  io_uring_sqe_set_data64(sqe, ud_make(c, OP_CONNECT));
  c->inflight++;
  set_timer(c, TK_CONNECT, cfg->timeout_ms ? cfg->timeout_ms : w->rt->opts.connect_timeout_ms);
  return c;
}

void fg_conn_on_cqe(fg_conn *c, enum op_tag op, struct io_uring_cqe *cqe) {
  switch (op) {
    case OP_RECV:
      on_recv(c, cqe);
      break;
    case OP_SEND:
      on_send(c, cqe->res);
      break;
    case OP_CONNECT:
      on_connect(c, cqe->res);
      break;
    default:
      if (((uintptr_t)c & 8) != 0) {
        c = (fg_conn *)((char *)c - 8);
        c->inflight--;
        c->recv_cancelling = 0;
        // A multishot recv caught while running answers -EALREADY and keeps
        // going: ask again until it stops.
        if (cqe->res == -EALREADY && c->recv_armed && !c->dead && (c->paused || c->ktls_pending)) {
          cancel_recv(c);
        }
        break;
      }
      c->inflight--;
      break;
  }
  fg_conn_maybe_free(c);
}

// --- accessors ----------------------------------------------------------

void fg_conn_set_idle_timeout(fg_conn *c, unsigned ms) {
  c->idle_ns = (uint64_t)ms * 1000000u;
  if (c->dead) return;
  if (c->timer_kind == TK_NONE || c->timer_kind == TK_IDLE) idle_or_none(c);
}

void *fg_conn_arg(const fg_conn *c) {
  return c->arg;
}

void fg_conn_set_arg(fg_conn *c, void *arg) {
  c->arg = arg;
}

fg_worker *fg_conn_worker(const fg_conn *c) {
  return c->w;
}

enum fg_conn_mode fg_conn_mode(const fg_conn *c) {
  return c->mode;
}

fg_tls_conn *fg_conn_tls(const fg_conn *c) {
  return c->connecting ? NULL : c->tls;
}

int fg_conn_fd(const fg_conn *c) {
  return c->fd;
}

uint64_t fg_conn_id(const fg_conn *c) {
  return c->id;
}

const struct sockaddr *fg_conn_peer(const fg_conn *c) {
  return (const struct sockaddr *)&c->peer;
}

int fg_conn_proxy_version(const fg_conn *c) {
  return c->proxy_version;
}

int fg_conn_proxy_named_peer(const fg_conn *c) {
  return c->proxy_named;
}

int fg_conn_is_inbound(const fg_conn *c) {
  return c->inbound;
}
