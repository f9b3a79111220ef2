// worker.h: the per-core runtime. A fg_runtime owns N worker threads; each
// worker owns one io_uring ring (SINGLE_ISSUER + DEFER_TASKRUN when the
// kernel has them), a provided-buffer pool, its listening sockets and every
// connection it accepted or opened, for life. Other threads reach a worker
// only by posting messages (lock-free queue + IORING_OP_MSG_RING wake-up).
#ifndef FEDGATE_IO_WORKER_H
#define FEDGATE_IO_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "io/msgq.h"
#include "io/timer.h"

typedef struct fg_runtime fg_runtime;
typedef struct fg_worker fg_worker;

// fg_worker_options configures a runtime. Sizes are bytes.
typedef struct fg_worker_options {
  unsigned workers;               // 0: one per online CPU
  int pin;                        // pin worker i to CPU i
  unsigned ring_entries;          // submission queue size
  unsigned buf_count;             // provided recv buffers per worker (power of two)
  unsigned buf_size;              // size of each recv buffer
  size_t conn_high_water;         // queued output at which a connection reports write-blocked
  size_t conn_low_water;          // ... and below which on_drain fires
  size_t conn_max_output;         // hard cap on queued output: the connection is closed
  size_t conn_max_input;          // cap on received-but-unconsumed bytes
  size_t worker_max_output;       // cap on all queued output of one worker
  unsigned max_conns;             // per worker; accepts beyond it are closed at once
  unsigned handshake_timeout_ms;  // TLS handshake deadline
  unsigned connect_timeout_ms;    // outbound connect deadline
  unsigned close_linger_ms;       // how long a graceful close may wait to flush
  unsigned write_stall_ms;        // close when queued output makes no progress this long (0: off)
  int ktls;                       // try kernel TLS after handshakes (if the ULP exists)
  // notice, when set, receives operator-worthy events of the runtime (one
  // line each, on the worker's thread): accepting paused for want of file
  // descriptors, and resumed.
  void (*notice)(const char *text);
} fg_worker_options;

// fg_worker_options_init fills |o| with the defaults.
void fg_worker_options_init(fg_worker_options *o);

enum fg_worker_opt_result {
  FG_WORKER_OPT_NOT_MINE = 0,  // argv[*i] is not a runtime option
  FG_WORKER_OPT_USED = 1,      // consumed; *i advanced past it (and its value)
  FG_WORKER_OPT_ERROR = 2,     // a runtime option with a bad value; *err says why
};

// fg_worker_options_parse looks at argv[*i] for "--workers N", "--workers=N",
// "--pin-workers" and "--no-ktls", for the `run` command's parser.
enum fg_worker_opt_result fg_worker_options_parse(fg_worker_options *o, int argc, char **argv,
                                                  int *i, const char **err);

// fg_worker_stats are one worker's counters. Gauges count current
// connections by transport mode.
typedef struct fg_worker_stats {
  uint64_t conns_plain, conns_tls, conns_ktls;  // gauges
  uint64_t accepted, connected, connect_failed, closed, refused;
  // Out of file descriptors (EMFILE/ENFILE) at accept: times accepting
  // paused, and connections refused then (accepted on a spare descriptor
  // and closed at once, so that peers are not left waiting; also in refused).
  uint64_t accept_pauses, accept_shed, accept_retries;
  uint64_t handshakes, handshake_failures, ktls_attached, ktls_fallbacks;
  uint64_t bytes_in, bytes_out, out_bytes_queued, out_bytes_peak;
  uint64_t starttls_discarded, recv_nobufs, overflow_closes, timeouts;
  uint64_t msgs;
  // PROXY protocol headers read, and connections refused for want of a
  // valid one (or from an untrusted source).
  uint64_t proxy_accepted, proxy_refused;
  // kTLS hand-over and life: reads that completed a record split by the
  // hand-over point, peer KeyUpdates re-keyed in the kernel, connections
  // closed because the kernel cannot re-key (Linux < 6.14), and
  // NewSessionTickets that arrived after the handoff (skipped: BoringSSL
  // never sees them, so they are not kept for resumption).
  uint64_t ktls_tail_reads, ktls_rekeys, ktls_rekey_closes, ktls_tickets_skipped;
  // Sends submitted in the middle of a loop turn because a connection had
  // a quarter of conn_high_water queued (not held to the end of the turn).
  uint64_t sends_early;
  // The loop's turns (one io_uring_enter each, submitting and waiting) and
  // the completions it handled: events per unit of work.
  uint64_t loop_turns, completions;
  // The worker thread's heap bytes allocated since it started (jemalloc's
  // count, read by fg_worker_stats_get on the worker), and the part of them
  // allocated inside TLS record reads: BoringSSL frees its read buffer
  // whenever a read empties it and allocates one for the next record, so a
  // peer sending a stanza per record costs one allocation per stanza there.
  // chunk_allocated: the part allocated for output chunks beyond the
  // worker's pool (a backlog deeper than any before, or deeper than the pool
  // keeps). All 0 without jemalloc (sanitizer builds).
  uint64_t heap_allocated, tls_read_allocated, chunk_allocated;
  unsigned ring_flags;  // IORING_SETUP_* in use
} fg_worker_stats;

// fg_runtime_new starts the workers; each has created its ring before this
// returns. It returns NULL on failure.
fg_runtime *fg_runtime_new(const fg_worker_options *o);

// fg_runtime_shutdown stops accepting, closes every connection gracefully
// (queued output is flushed for up to |drain_ms|, then connections are
// aborted), and joins the workers. Idempotent.
void fg_runtime_shutdown(fg_runtime *rt, unsigned drain_ms);

// fg_runtime_free shuts down (drain 0 if not done) and frees |rt|.
void fg_runtime_free(fg_runtime *rt);

unsigned fg_runtime_num_workers(const fg_runtime *rt);
fg_worker *fg_runtime_worker(fg_runtime *rt, unsigned i);
const fg_worker_options *fg_runtime_options(const fg_runtime *rt);

// fg_runtime_stats sums the workers' counters. Exact after shutdown; a
// snapshot with torn reads while running.
void fg_runtime_stats(const fg_runtime *rt, fg_worker_stats *out);

// fg_msg is a message for a worker; embed it in your own struct. |fn| runs
// on the target worker's thread and owns the message from then on.
typedef struct fg_msg fg_msg;
typedef void (*fg_msg_fn)(fg_worker *w, fg_msg *m);
struct fg_msg {
  fg_msgq_node node;
  fg_msg_fn fn;
};

// fg_worker_post queues |m| for |w| and wakes it: from another worker by
// IORING_OP_MSG_RING, from any other thread by an eventfd. Any thread; never
// blocks, never allocates. Posting to a worker that has been joined is a bug.
void fg_worker_post(fg_worker *w, fg_msg *m);

// fg_worker_current returns the worker running on this thread, or NULL.
fg_worker *fg_worker_current(void);

unsigned fg_worker_index(const fg_worker *w);
fg_runtime *fg_worker_runtime(fg_worker *w);

// fg_worker_now_ns returns the worker's loop time (refreshed per batch).
uint64_t fg_worker_now_ns(const fg_worker *w);

// fg_worker_timer_arm (re)arms |t| on |w| to fire after |delay_ms|; the
// callback runs on |w|. Worker thread only.
void fg_worker_timer_arm(fg_worker *w, fg_timer *t, uint64_t delay_ms);
void fg_worker_timer_cancel(fg_worker *w, fg_timer *t);

// fg_worker_timer_arm_at (re)arms |t| on |w| to fire at |deadline_ns|
// (fg_clock_ns time), for pacing finer than a millisecond. Worker thread only.
void fg_worker_timer_arm_at(fg_worker *w, fg_timer *t, uint64_t deadline_ns);

// fg_worker_stats_get copies |w|'s counters (see fg_runtime_stats).
void fg_worker_stats_get(const fg_worker *w, fg_worker_stats *out);

// fg_worker_stopping returns 1 once shutdown has begun on |w|.
int fg_worker_stopping(const fg_worker *w);

#endif  // FEDGATE_IO_WORKER_H
