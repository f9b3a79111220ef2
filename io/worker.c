// worker.c: worker threads, their rings and event loop, cross-worker
// messages, options.
#include "io/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "io/heap.h"
#include "io/runtime_internal.h"

#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif

#define BUF_GROUP 1
#define FREE_CHUNKS_MAX 64  // 1 MiB of 16 KiB chunks kept per worker for reuse
#define FREE_SDS_MAX 256    // send descriptors kept per worker (80 KiB)

static __thread fg_worker *tl_worker;

void fg_worker_options_init(fg_worker_options *o) {
  memset(o, 0, sizeof(*o));
  o->workers = 0;
  o->ring_entries = 1024;
  o->buf_count = 512;
  o->buf_size = 16384;
  o->conn_high_water = 256 * 1024;
  o->conn_low_water = 64 * 1024;
  o->conn_max_output = 4 * 1024 * 1024;
  o->conn_max_input = 256 * 1024;
  o->worker_max_output = 512u * 1024 * 1024;
  o->max_conns = 100000;
  o->handshake_timeout_ms = 30000;
  o->connect_timeout_ms = 10000;
  o->close_linger_ms = 5000;
  o->write_stall_ms = 60000;
  o->ktls = 1;
}

enum fg_worker_opt_result fg_worker_options_parse(fg_worker_options *o, int argc, char **argv,
                                                  int *i, const char **err) {
  const char *a = argv[*i];
  const char *val = NULL;
  int used = 1;
  if (strcmp(a, "--pin-workers") == 0) {
    o->pin = 1;
    (*i)++;
    return FG_WORKER_OPT_USED;
  }
  if (strcmp(a, "--no-ktls") == 0) {
    o->ktls = 0;
    (*i)++;
    return FG_WORKER_OPT_USED;
  }
  if (strncmp(a, "--workers=", 10) == 0) {
    val = a + 10;
  } else if (strcmp(a, "--workers") == 0) {
    if (*i + 1 >= argc) {
      *err = "--workers needs a number";
      return FG_WORKER_OPT_ERROR;
    }
    val = argv[*i + 1];
    used = 2;
  } else {
    return FG_WORKER_OPT_NOT_MINE;
  }
  char *end;
  errno = 0;
  unsigned long n = strtoul(val, &end, 10);
  if (errno != 0 || end == val || *end != '\0' || n < 1 || n > 1024 || val[0] == '-') {
    *err = "--workers must be a number from 1 to 1024";
    return FG_WORKER_OPT_ERROR;
  }
  o->workers = (unsigned)n;
  *i += used;
  return FG_WORKER_OPT_USED;
}

fg_worker *fg_worker_current(void) {
  return tl_worker;
}

unsigned fg_worker_index(const fg_worker *w) {
  return w->index;
}

fg_runtime *fg_worker_runtime(fg_worker *w) {
  return w->rt;
}

uint64_t fg_worker_now_ns(const fg_worker *w) {
  return w->now_ns;
}

int fg_worker_stopping(const fg_worker *w) {
  return atomic_load_explicit(&w->stopping_flag, memory_order_relaxed);
}

void fg_worker_stats_get(const fg_worker *w, fg_worker_stats *out) {
  *out = w->stats;
  out->heap_allocated = w->allocated != NULL ? *w->allocated : 0;
}

void fg_worker_timer_arm(fg_worker *w, fg_timer *t, uint64_t delay_ms) {
  uint64_t now = fg_clock_ns();
  if (!fg_timer_heap_arm(&w->timers, t, now + delay_ms * 1000000ull)) {
    // Out of memory for the heap: fire on the next loop turn instead of never.
    t->fn(t, t->arg);
  }
}

void fg_worker_timer_arm_at(fg_worker *w, fg_timer *t, uint64_t deadline_ns) {
  if (!fg_timer_heap_arm(&w->timers, t, deadline_ns)) t->fn(t, t->arg);
}

void fg_worker_timer_cancel(fg_worker *w, fg_timer *t) {
  fg_timer_heap_cancel(&w->timers, t);
}

struct io_uring_sqe *fg_worker_sqe(fg_worker *w) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
  while (sqe == NULL) {
    io_uring_submit(&w->ring);
    sqe = io_uring_get_sqe(&w->ring);
  }
  return sqe;
}

void fg_worker_mark_dirty(fg_worker *w, fg_conn *c) {
  if (c->dirty) return;
  c->dirty = 1;
  c->dirty_next = w->dirty;
  w->dirty = c;
}

out_chunk *fg_worker_chunk_get(fg_worker *w) {
  out_chunk *ch = w->free_chunks;
  if (ch != NULL) {
    w->free_chunks = ch->next;
    w->nfree_chunks--;
  } else {
    uint64_t before = *w->allocated;  // on the worker's thread (worker_main set it)
    ch = malloc(sizeof(out_chunk) + OUT_CHUNK_BYTES);
    if (ch == NULL) return NULL;
    w->stats.chunk_allocated += *w->allocated - before;
  }
  ch->next = NULL;
  ch->start = ch->end = 0;
  return ch;
}

void fg_worker_chunk_put(fg_worker *w, out_chunk *ch) {
  if (w->nfree_chunks >= FREE_CHUNKS_MAX) {
    free(ch);
    return;
  }
  ch->next = w->free_chunks;
  w->free_chunks = ch;
  w->nfree_chunks++;
}

send_desc *fg_worker_sd_get(fg_worker *w) {
  send_desc *sd = w->free_sds;
  if (sd != NULL) {
    w->free_sds = sd->next;
    w->nfree_sds--;
    return sd;
  }
  return malloc(sizeof(*sd));
}

void fg_worker_sd_put(fg_worker *w, send_desc *sd) {
  if (w->nfree_sds >= FREE_SDS_MAX) {
    free(sd);
    return;
  }
  sd->next = w->free_sds;
  w->free_sds = sd;
  w->nfree_sds++;
}

// --- messages -----------------------------------------------------------

static void arm_wake_poll(fg_worker *w) {
  if (w->stopping) return;
  struct io_uring_sqe *sqe = fg_worker_sqe(w);
  io_uring_prep_poll_multishot(sqe, w->efd, POLLIN);
  io_uring_sqe_set_data64(sqe, ud_make((char *)w + 8, OP_WAKE));
  w->aux_inflight++;
}

void fg_worker_post(fg_worker *w, fg_msg *m) {
  fg_msgq_push(&w->q, &m->node);
  if (atomic_exchange_explicit(&w->wake_pending, 1, memory_order_acq_rel) != 0) return;
  fg_worker *cur = tl_worker;
  if (cur == w) return;  // the loop drains the queue every turn
  if (cur != NULL) {
    struct io_uring_sqe *sqe = fg_worker_sqe(cur);
    io_uring_prep_msg_ring(sqe, w->ring.ring_fd, 0, ud_make(w, OP_WAKE), 0);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, 0);
    io_uring_submit(&cur->ring);
    return;
  }
  uint64_t one = 1;
  ssize_t r = write(w->efd, &one, sizeof(one));
  (void)r;
}

static void drain_msgs(fg_worker *w) {
  fg_msgq_node *n;
  while ((n = fg_msgq_pop(&w->q)) != NULL) {
    fg_msg *m = (fg_msg *)n;
    w->stats.msgs++;
    m->fn(w, m);
  }
}

// --- loop ---------------------------------------------------------------

// The eventfd poll is tagged with |w| + 8 so it can be told from MSG_RING
// arrivals, which carry |w| itself.
static uint64_t efd_tag(fg_worker *w) {
  return ud_make((char *)w + 8, OP_WAKE);
}

static void on_wake_cqe(fg_worker *w, struct io_uring_cqe *cqe) {
  if (cqe->user_data == efd_tag(w)) {
    if (cqe->res > 0) {
      uint64_t v;
      ssize_t r = read(w->efd, &v, sizeof(v));
      (void)r;
    }
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
      w->aux_inflight--;
      if (!w->stopping) arm_wake_poll(w);
    }
  }
  atomic_store_explicit(&w->wake_pending, 0, memory_order_seq_cst);
  drain_msgs(w);
}

static void dispatch(fg_worker *w, struct io_uring_cqe *cqe) {
  uint64_t ud = cqe->user_data;
  enum op_tag op = (enum op_tag)(ud & OP_MASK);
  void *p = (void *)(uintptr_t)(ud & ~(uint64_t)OP_MASK);
  switch (op) {
    case OP_IGNORE:
      break;
    case OP_WAKE:
      on_wake_cqe(w, cqe);  // |p| is |w| or |w| + 8
      break;
    case OP_ACCEPT:
    case OP_LST_AUX:
      fg_listener_on_cqe(p, op, cqe);
      break;
    default:
      fg_conn_on_cqe(p, op, cqe);
      break;
  }
}

static void flush_dirty(fg_worker *w) {
  while (w->dirty != NULL) {
    fg_conn *c = w->dirty;
    w->dirty = c->dirty_next;
    c->dirty = 0;
    c->dirty_next = NULL;
    fg_conn_flush(c);
  }
}

static int loop_done(fg_worker *w) {
  return w->stopping && w->nconns == 0 && w->listeners == NULL;
}

static void on_drain_deadline(fg_timer *t, void *arg) {
  fg_conn_shutdown_all(arg, 1);
}

static void begin_stop(fg_worker *w) {
  if (w->stopping) return;
  w->stopping = 1;
  atomic_store(&w->stopping_flag, 1);
  fg_listener_close_all(w);
  fg_conn_shutdown_all(w, w->drain_ms == 0);
  if (w->nconns > 0) {
    fg_timer_init(&w->drain_timer, on_drain_deadline, w);
    fg_worker_timer_arm(w, &w->drain_timer, w->drain_ms);
  }
}

typedef struct stop_msg {
  fg_msg m;
  unsigned drain_ms;
} stop_msg;

static void stop_msg_fn(fg_worker *w, fg_msg *m) {
  stop_msg *s = (stop_msg *)m;
  w->drain_ms = s->drain_ms;
  free(s);
  begin_stop(w);
}

static void run_loop(fg_worker *w) {
  struct io_uring_cqe *cqe;
  while (!loop_done(w)) {
    flush_dirty(w);
    uint64_t next = fg_timer_heap_next(&w->timers);
    struct __kernel_timespec ts, *tsp = NULL;
    if (next != UINT64_MAX) {
      uint64_t now = fg_clock_ns();
      uint64_t d = next > now ? next - now : 0;
      ts.tv_sec = (long long)(d / 1000000000u);
      ts.tv_nsec = (long long)(d % 1000000000u);
      tsp = &ts;
    }
    int ret = io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, tsp, NULL);
    if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN) {
      fprintf(stderr, "fedgate: worker %u: io_uring wait: %s\n", w->index, strerror(-ret));
    }
    w->now_ns = fg_clock_ns();
    w->stats.loop_turns++;
    unsigned head, count = 0;
    io_uring_for_each_cqe(&w->ring, head, cqe) {
      dispatch(w, cqe);
      count++;
      if (count == 256) break;  // re-enter: keeps batches bounded and flushes sends promptly
    }
    if (count) io_uring_cq_advance(&w->ring, count);
    w->stats.completions += count;
    // Messages posted from this thread (or whose wake-up is still on its
    // way): clear the flag first, as a wake-up completion would.
    if (atomic_load_explicit(&w->wake_pending, memory_order_relaxed)) {
      atomic_store_explicit(&w->wake_pending, 0, memory_order_seq_cst);
      drain_msgs(w);
    }
    fg_timer_heap_run(&w->timers, fg_clock_ns());
  }
}

static int ring_init(fg_worker *w) {
  const fg_worker_options *o = &w->rt->opts;
  static const unsigned flag_sets[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      IORING_SETUP_COOP_TASKRUN,
      0,
  };
  int ret = -EINVAL;
  for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = flag_sets[i] | IORING_SETUP_SUBMIT_ALL;
    p.cq_entries = o->ring_entries * 8;
    p.flags |= IORING_SETUP_CQSIZE;
    ret = io_uring_queue_init_params(o->ring_entries, &w->ring, &p);
    if (ret == 0) {
      w->stats.ring_flags = p.flags;
      return 0;
    }
  }
  return ret;
}

static void *worker_main(void *arg) {
  fg_worker *w = arg;
  tl_worker = w;
  w->allocated = fg_heap_thread_counter();
  if (w->rt->opts.pin) {
    cpu_set_t set;
    CPU_ZERO(&set);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    CPU_SET(w->index % (unsigned)(ncpu > 0 ? ncpu : 1), &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  }
  int err = ring_init(w);
  if (err == 0) {
    w->ring_ok = 1;
    w->pool =
        fg_bufpool_new(&w->ring, BUF_GROUP, w->rt->opts.buf_count, w->rt->opts.buf_size, &err);
  }
  w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  w->plainbuf_len = FG_WORKER_PLAINBUF;
  w->plainbuf = malloc(w->plainbuf_len);
  if (err == 0 && (w->efd < 0 || w->plainbuf == NULL)) err = -ENOMEM;
  w->init_err = err;
  atomic_fetch_add_explicit(&w->rt->ready, 1, memory_order_release);
  if (err == 0) {
    arm_wake_poll(w);
    w->now_ns = fg_clock_ns();
    run_loop(w);
    drain_msgs(w);
  }
  fg_bufpool_free(w->pool, w->ring_ok ? &w->ring : NULL);
  w->pool = NULL;
  if (w->ring_ok) io_uring_queue_exit(&w->ring);
  w->ring_ok = 0;
  if (w->efd >= 0) close(w->efd);
  w->efd = -1;
  if (w->spare_fd >= 0) close(w->spare_fd);
  w->spare_fd = -1;
  while (w->free_chunks != NULL) {
    out_chunk *ch = w->free_chunks;
    w->free_chunks = ch->next;
    free(ch);
  }
  while (w->free_sds != NULL) {
    send_desc *sd = w->free_sds;
    w->free_sds = sd->next;
    free(sd);
  }
  free(w->plainbuf);
  w->plainbuf = NULL;
  fg_timer_heap_cleanup(&w->timers);
  tl_worker = NULL;
  return NULL;
}

fg_runtime *fg_runtime_new(const fg_worker_options *o) {
  fg_runtime *rt = calloc(1, sizeof(*rt));
  if (rt == NULL) return NULL;
  rt->opts = *o;
  unsigned n = o->workers;
  if (n == 0) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    n = ncpu > 0 ? (unsigned)ncpu : 1;
  }
  if (rt->opts.conn_low_water > rt->opts.conn_high_water) {
    rt->opts.conn_low_water = rt->opts.conn_high_water / 2;
  }
  rt->n = n;
  rt->workers = calloc(n, sizeof(fg_worker));
  if (rt->workers == NULL) {
    free(rt);
    return NULL;
  }
  atomic_init(&rt->ready, 0);
  unsigned started = 0;
  for (unsigned i = 0; i < n; i++) {
    fg_worker *w = &rt->workers[i];
    w->rt = rt;
    w->index = i;
    w->efd = -1;
    w->spare_fd = -1;
    w->next_conn_id = ((uint64_t)i << 48) + 1;
    fg_msgq_init(&w->q);
    atomic_init(&w->wake_pending, 0);
    atomic_init(&w->stopping_flag, 0);
    fg_timer_heap_init(&w->timers);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) break;
    started++;
  }
  int ok = started == n;
  // Every started thread reports once its ring is set up (or failed).
  while (atomic_load_explicit(&rt->ready, memory_order_acquire) < (int)started) {
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
  }
  for (unsigned i = 0; i < started; i++) {
    if (rt->workers[i].init_err != 0) {
      if (ok) {
        fprintf(stderr, "fedgate: worker %u: ring setup failed: %s\n", i,
                strerror(-rt->workers[i].init_err));
      }
      ok = 0;
    }
  }
  if (!ok) {
    for (unsigned i = 0; i < started; i++) {
      fg_worker *w = &rt->workers[i];
      if (w->init_err == 0) {
        stop_msg *s = calloc(1, sizeof(*s));
        s->m.fn = stop_msg_fn;
        fg_worker_post(w, &s->m);
      }
      pthread_join(w->thread, NULL);
    }
    free(rt->workers);
    free(rt);
    return NULL;
  }
  return rt;
}

void fg_runtime_shutdown(fg_runtime *rt, unsigned drain_ms) {
  if (rt == NULL || rt->joined) return;
  for (unsigned i = 0; i < rt->n; i++) {
    stop_msg *s = calloc(1, sizeof(*s));
    if (s == NULL) abort();
    s->m.fn = stop_msg_fn;
    s->drain_ms = drain_ms;
    fg_worker_post(&rt->workers[i], &s->m);
  }
  for (unsigned i = 0; i < rt->n; i++) pthread_join(rt->workers[i].thread, NULL);
  rt->joined = 1;
}

void fg_runtime_free(fg_runtime *rt) {
  if (rt == NULL) return;
  fg_runtime_shutdown(rt, 0);
  free(rt->workers);
  free(rt);
}

unsigned fg_runtime_num_workers(const fg_runtime *rt) {
  return rt->n;
}

fg_worker *fg_runtime_worker(fg_runtime *rt, unsigned i) {
  return i < rt->n ? &rt->workers[i] : NULL;
}

const fg_worker_options *fg_runtime_options(const fg_runtime *rt) {
  return &rt->opts;
}

void fg_runtime_stats(const fg_runtime *rt, fg_worker_stats *out) {
  memset(out, 0, sizeof(*out));
  for (unsigned i = 0; i < rt->n; i++) {
    const fg_worker_stats *s = &rt->workers[i].stats;
    uint64_t *dst = (uint64_t *)out;
    const uint64_t *src = (const uint64_t *)s;
    size_t nfields = offsetof(fg_worker_stats, ring_flags) / sizeof(uint64_t);
    for (size_t k = 0; k < nfields; k++) dst[k] += src[k];
    out->ring_flags = s->ring_flags;
  }
}
