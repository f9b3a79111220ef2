// listener.c: SO_REUSEPORT listening sockets, one per worker, with
// multishot accept; or one Unix socket, accepted by the first worker.
#include "io/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "io/runtime_internal.h"

struct fg_listener {
  fg_worker *w;
  int fd;
  int inflight;
  int closing;
  struct fg_listener *next;
  fg_listener_config cfg;
  // Accepting paused for want of file descriptors (or memory): the accept
  // is armed again by |resume| after |pause_ms|, doubled up to a second
  // while the shortage lasts, never in a busy loop.
  int paused;
  unsigned pause_ms;
  uint64_t paused_at_ns, shed_at_pause;
  fg_timer resume;
  // One log line per shortage: at the limit, every descriptor that frees
  // lets one accept through and the next fails again, so a listener may
  // pause and resume many times a second. A pause is logged (and then its
  // resumption) only when no pause of this listener was logged within
  // PAUSE_LOG_INTERVAL_NS; the others are counted, and the next line says
  // how many there were.
  int pause_logged;
  uint64_t logged_at_ns, pauses_unlogged;  // logged_at_ns 0: never logged
};

#define PAUSE_LOG_INTERVAL_NS (10 * UINT64_C(1000000000))

static int make_socket(const fg_listener_config *cfg, uint16_t port, uint16_t *out_port) {
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof(ss));
  const char *host = cfg->host ? cfg->host : "127.0.0.1";
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    len = sizeof(*sin);
  } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    len = sizeof(*sin6);
  } else {
    return -EINVAL;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  // Linux copies TCP_NODELAY to every socket accepted from this one, so it
  // is set here once instead of once per connection (io/conn.c).
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
      bind(fd, (struct sockaddr *)&ss, len) != 0 ||
      listen(fd, cfg->backlog > 0 ? cfg->backlog : 4096) != 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  len = sizeof(ss);
  getsockname(fd, (struct sockaddr *)&ss, &len);
  *out_port = ntohs(ss.ss_family == AF_INET ? sin->sin_port : sin6->sin6_port);
  return fd;
}

// make_unix_socket binds |cfg->unix_path| with mode |cfg->unix_mode|.
static int make_unix_socket(const fg_listener_config *cfg) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  size_t n = strlen(cfg->unix_path);
  if (n == 0 || n >= sizeof(sa.sun_path)) return -ENAMETOOLONG;
  memcpy(sa.sun_path, cfg->unix_path, n + 1);
  struct stat st;
  if (lstat(cfg->unix_path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return -EEXIST;  // never remove what is not a socket
    unlink(cfg->unix_path);
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
      chmod(cfg->unix_path, cfg->unix_mode) != 0 ||
      listen(fd, cfg->backlog > 0 ? cfg->backlog : 4096) != 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  return fd;
}

static void arm_accept(fg_listener *l) {
  struct io_uring_sqe *sqe = fg_worker_sqe(l->w);
  io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, ud_make(l, OP_ACCEPT));
  l->inflight++;
}

static void notice(fg_worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notice(fg_worker *w, const char *fmt, ...) {
  if (w->rt->opts.notice == NULL) return;
  char text[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  w->rt->opts.notice(text);
}

// shed refuses the connections waiting in |l|'s queue while the process is
// out of descriptors: the worker's spare descriptor is given up, each
// waiting connection is accepted onto it and reset at once (the peer learns
// now, instead of waiting for a handshake that cannot come), and the spare
// is taken back. The listening socket is non-blocking only meanwhile (no
// accept of the ring is armed then). It returns how many were refused.
static unsigned shed(fg_listener *l) {
  fg_worker *w = l->w;
  if (w->spare_fd < 0) w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (w->spare_fd < 0) return 0;
  close(w->spare_fd);
  w->spare_fd = -1;
  int flags = fcntl(l->fd, F_GETFL);
  unsigned n = 0;
  if (flags >= 0 && fcntl(l->fd, F_SETFL, flags | O_NONBLOCK) == 0) {
    for (unsigned tries = 0; tries < 1024; tries++) {
      int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        break;
      }
      struct linger lg = {1, 0};  // RST: refused, not a clean end of stream
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
      close(fd);
      n++;
    }
    fcntl(l->fd, F_SETFL, flags);
  }
  w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  w->stats.accept_shed += n;
  w->stats.refused += n;
  return n;
}

static void resume_fn(fg_timer *t, void *arg) {
  (void)t;
  fg_listener *l = arg;
  l->w->stats.accept_retries++;
  if (!l->closing) arm_accept(l);
}

// pause_accept stops accepting on |l| for a while after |err|.
static void pause_accept(fg_listener *l, int err) {
  fg_worker *w = l->w;
  unsigned n = (err == EMFILE || err == ENFILE) ? shed(l) : 0;
  if (!l->paused) {
    l->paused = 1;
    l->pause_ms = 10;
    l->paused_at_ns = w->now_ns;
    l->shed_at_pause = w->stats.accept_shed - n;
    w->stats.accept_pauses++;
    l->pause_logged = l->logged_at_ns == 0 || w->now_ns - l->logged_at_ns >= PAUSE_LOG_INTERVAL_NS;
    if (!l->pause_logged) {
      l->pauses_unlogged++;
    } else {
      char more[96] = "";
      if (l->pauses_unlogged > 0)
        snprintf(more, sizeof(more), " (%llu more pauses since the last such line)",
                 (unsigned long long)l->pauses_unlogged);
      notice(w, "accepting paused on worker %u, port %u: %s; %u waiting connections refused%s",
             w->index, l->cfg.port, strerror(err), n, more);
      l->logged_at_ns = w->now_ns;
      l->pauses_unlogged = 0;
    }
  } else if (l->pause_ms < 1000) {
    l->pause_ms *= 2;
  }
  if (!fg_timer_heap_arm(&w->timers, &l->resume, w->now_ns + (uint64_t)l->pause_ms * 1000000))
    arm_accept(l);  // no timer: try again now rather than never
}

typedef struct fail_msg {
  fg_msg m;
  uint16_t port;
  int err;
} fail_msg;

// IORING_NOP_INJECT_RESULT (Linux 6.10, not in every liburing's headers):
// the NOP completes with the result given in the SQE's len.
#define NOP_INJECT_RESULT (1U << 0)

static void fail_msg_fn(fg_worker *w, fg_msg *m) {
  fail_msg *f = (fail_msg *)m;
  for (fg_listener *l = w->listeners; l != NULL; l = l->next) {
    if (l->closing || l->paused || l->cfg.port != f->port) continue;
    // The armed accept is cancelled (it completes with -ECANCELED: not
    // armed again), then the NOP completes in its place with -err.
    if (io_uring_sq_space_left(&w->ring) < 2) io_uring_submit(&w->ring);
    struct io_uring_sqe *sqe = fg_worker_sqe(w);
    io_uring_prep_cancel64(sqe, ud_make(l, OP_ACCEPT), 0);
    sqe->flags |= IOSQE_IO_HARDLINK;
    io_uring_sqe_set_data64(sqe, ud_make(NULL, OP_IGNORE));
    sqe = fg_worker_sqe(w);
    io_uring_prep_nop(sqe);
    sqe->rw_flags = NOP_INJECT_RESULT;
    sqe->len = (unsigned)-f->err;
    io_uring_sqe_set_data64(sqe, ud_make(l, OP_ACCEPT));
    l->inflight++;
  }
  free(f);
}

int fg_runtime_fail_next_accept(fg_runtime *rt, uint16_t port, int err) {
  int ok = 1;
  for (unsigned i = 0; i < fg_runtime_num_workers(rt); i++) {
    fail_msg *f = calloc(1, sizeof(*f));
    if (f == NULL) {
      ok = 0;
      continue;
    }
    f->m.fn = fail_msg_fn;
    f->port = port;
    f->err = err;
    fg_worker_post(fg_runtime_worker(rt, i), &f->m);
  }
  return ok;
}

typedef struct listen_msg {
  fg_msg m;
  fg_listener *l;
} listen_msg;

static void listen_msg_fn(fg_worker *w, fg_msg *m) {
  fg_listener *l = ((listen_msg *)m)->l;
  free(m);
  if (w->stopping) {
    close(l->fd);
    if (l->cfg.tls) fg_tls_ctx_free(l->cfg.tls);
    free((void *)l->cfg.proxy_trusted);
    free(l);
    return;
  }
  l->next = w->listeners;
  w->listeners = l;
  w->nlisteners++;
  arm_accept(l);
}

int fg_runtime_listen(fg_runtime *rt, const fg_listener_config *cfg, uint16_t *out_port) {
  unsigned n = cfg->unix_path != NULL ? 1 : fg_runtime_num_workers(rt);
  fg_listener **ls = calloc(n, sizeof(*ls));
  listen_msg **msgs = calloc(n, sizeof(*msgs));
  uint16_t port = cfg->port;
  int ok = ls != NULL && msgs != NULL;
  for (unsigned i = 0; ok && i < n; i++) {
    uint16_t bound = 0;
    int fd = cfg->unix_path != NULL ? make_unix_socket(cfg) : make_socket(cfg, port, &bound);
    ls[i] = calloc(1, sizeof(fg_listener));
    msgs[i] = calloc(1, sizeof(listen_msg));
    if (fd < 0 || ls[i] == NULL || msgs[i] == NULL) {
      if (fd >= 0) close(fd);
      ok = 0;
      break;
    }
    port = bound;
    ls[i]->fd = fd;
    ls[i]->w = fg_runtime_worker(rt, i);
    ls[i]->cfg = *cfg;
    ls[i]->cfg.host = NULL;
    ls[i]->cfg.port = bound;
    ls[i]->cfg.unix_path = NULL;
    fg_timer_init(&ls[i]->resume, resume_fn, ls[i]);
    ls[i]->cfg.proxy_trusted = NULL;
    if (cfg->n_proxy_trusted > 0) {
      fg_cidr *copy = calloc(cfg->n_proxy_trusted, sizeof(*copy));
      if (copy == NULL) {
        close(fd);
        ls[i]->fd = 0;
        ok = 0;
        break;
      }
      memcpy(copy, cfg->proxy_trusted, cfg->n_proxy_trusted * sizeof(*copy));
      ls[i]->cfg.proxy_trusted = copy;
    }
    if (cfg->tls) fg_tls_ctx_up_ref(cfg->tls);
  }
  for (unsigned i = 0; i < n && ls != NULL; i++) {
    if (ok) {
      msgs[i]->m.fn = listen_msg_fn;
      msgs[i]->l = ls[i];
      fg_worker_post(ls[i]->w, &msgs[i]->m);
      continue;
    }
    if (ls[i] != NULL) {
      if (ls[i]->fd > 0) close(ls[i]->fd);
      if (ls[i]->fd > 0 && cfg->tls) fg_tls_ctx_free(cfg->tls);
      free((void *)ls[i]->cfg.proxy_trusted);
      free(ls[i]);
    }
    if (msgs != NULL) free(msgs[i]);
  }
  free(ls);
  free(msgs);
  if (ok && out_port) *out_port = port;
  return ok;
}

int fg_listener_set_proxy_trusted(fg_worker *w, uint16_t port, const fg_cidr *nets, size_t n) {
  for (fg_listener *l = w->listeners; l != NULL; l = l->next) {
    if (l->closing || l->cfg.port != port || l->cfg.n_proxy_trusted == 0) continue;
    fg_cidr *copy = n > 0 ? malloc(n * sizeof(*copy)) : NULL;
    if (copy == NULL) return 0;
    memcpy(copy, nets, n * sizeof(*copy));
    free((void *)l->cfg.proxy_trusted);
    l->cfg.proxy_trusted = copy;
    l->cfg.n_proxy_trusted = n;
    return 1;
  }
  return 0;
}

static void listener_maybe_free(fg_listener *l) {
  if (!l->closing || l->inflight > 0) return;
  fg_worker *w = l->w;
  for (fg_listener **pp = &w->listeners; *pp; pp = &(*pp)->next) {
    if (*pp == l) {
      *pp = l->next;
      break;
    }
  }
  w->nlisteners--;
  if (l->cfg.tls) fg_tls_ctx_free(l->cfg.tls);
  free((void *)l->cfg.proxy_trusted);
  free(l);
}

void fg_listener_on_cqe(fg_listener *l, enum op_tag op, struct io_uring_cqe *cqe) {
  fg_worker *w = l->w;
  if (op == OP_LST_AUX) {
    l->inflight--;
    listener_maybe_free(l);
    return;
  }
  int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  if (!more) l->inflight--;
  if (cqe->res >= 0 && l->paused) {
    l->paused = 0;
    if (l->pause_logged)
      notice(w, "accepting resumed on worker %u, port %u after %llu ms; %llu connections refused",
             w->index, l->cfg.port, (unsigned long long)((w->now_ns - l->paused_at_ns) / 1000000),
             (unsigned long long)(w->stats.accept_shed - l->shed_at_pause));
  }
  if (cqe->res >= 0) {
    int fd = cqe->res;
    // The spare descriptor is lost when, while shed gave it up, another
    // thread (another worker's accept) took its slot: descriptors are free
    // again now, so it is taken back for the next shortage.
    if (w->spare_fd < 0) w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (l->closing || w->stopping || w->nconns >= w->rt->opts.max_conns ||
        (l->cfg.admit != NULL && l->cfg.n_proxy_trusted == 0 && !l->cfg.admit(l->cfg.arg, fd))) {
      w->stats.refused++;
      close(fd);
    } else if (fg_conn_new_accepted(w, fd, l->cfg.handler, l->cfg.arg, l->cfg.tls,
                                    l->cfg.proxy_trusted, l->cfg.n_proxy_trusted) == NULL) {
      w->stats.refused++;
    }
  }
  if (!more && !l->closing) {
    if (cqe->res >= 0 || cqe->res == -ECONNABORTED || cqe->res == -EINTR) {
      arm_accept(l);
    } else if (cqe->res != -ECANCELED) {
      // Out of descriptors or memory (EMFILE, ENFILE, ENOMEM, ENOBUFS), or
      // an error the listener cannot know to be passing (accept(2) also
      // hands on network errors of the connection, EPROTO, EPERM...):
      // accepting pauses and retries, never stops in silence nor spins.
      pause_accept(l, -cqe->res);
    }
  }
  listener_maybe_free(l);
}

// close_matching closes |w|'s listeners on |port| (0: all of them).
static void close_matching(fg_worker *w, uint16_t port) {
  fg_listener *next;
  for (fg_listener *l = w->listeners; l != NULL; l = next) {
    next = l->next;
    if (l->closing || (port != 0 && l->cfg.port != port)) continue;
    l->closing = 1;
    fg_timer_heap_cancel(&w->timers, &l->resume);
    // The cancel and the close are hard-linked: keep them in one submission.
    if (io_uring_sq_space_left(&w->ring) < 2) io_uring_submit(&w->ring);
    struct io_uring_sqe *sqe = fg_worker_sqe(w);
    io_uring_prep_cancel_fd(sqe, l->fd, IORING_ASYNC_CANCEL_ALL);
    sqe->flags |= IOSQE_IO_HARDLINK;
    io_uring_sqe_set_data64(sqe, ud_make(l, OP_LST_AUX));
    sqe = fg_worker_sqe(w);
    io_uring_prep_close(sqe, l->fd);
    io_uring_sqe_set_data64(sqe, ud_make(l, OP_LST_AUX));
    l->inflight += 2;
  }
}

void fg_listener_close_all(fg_worker *w) {
  close_matching(w, 0);
}

typedef struct unlisten_msg {
  fg_msg m;
  uint16_t port;
  _Atomic unsigned *pending;
} unlisten_msg;

static void unlisten_msg_fn(fg_worker *w, fg_msg *m) {
  unlisten_msg *u = (unlisten_msg *)m;
  close_matching(w, u->port);
  atomic_fetch_sub(u->pending, 1);
  free(u);
}

int fg_runtime_unlisten(fg_runtime *rt, uint16_t port) {
  if (port == 0) return 0;
  unsigned n = fg_runtime_num_workers(rt);
  // On the heap: a worker that answers after the wait below gave up must
  // not write into a stack frame that is gone.
  _Atomic unsigned *pending = malloc(sizeof(*pending));
  if (pending == NULL) return 0;
  atomic_init(pending, n);
  for (unsigned i = 0; i < n; i++) {
    unlisten_msg *u = calloc(1, sizeof(*u));
    if (u == NULL) {
      atomic_fetch_sub(pending, 1);
      continue;
    }
    u->m.fn = unlisten_msg_fn;
    u->port = port;
    u->pending = pending;
    fg_worker_post(fg_runtime_worker(rt, i), &u->m);
  }
  // Wait until every worker has closed its socket: from then on the kernel
  // refuses connections to the port, which is what a drain promises. A
  // worker stuck for two seconds is not waited for.
  for (int i = 0; i < 2000 && atomic_load(pending) > 0; i++) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  int done = atomic_load(pending) == 0;
  if (done) free(pending);  // else left to the late worker: a few bytes, once
  return done;
}
