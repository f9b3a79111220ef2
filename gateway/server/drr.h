// drr.h: deficit round robin by bytes (Shreedhar & Varghese, 1995) over the
// per-pair queues that share one output stream, so that a pair with a long
// backlog cannot hold back the stanzas of the others: each round every
// non-empty queue may send up to |quantum| bytes more than it has sent,
// whatever the sizes of the others' stanzas.
//
// No I/O: the caller says what each queue holds and sends for it.
#ifndef FEDGATE_GATEWAY_DRR_H
#define FEDGATE_GATEWAY_DRR_H

#include <stddef.h>

// fg_drr_queue is one queue's scheduling state, kept by its owner (zero
// when it joins).
typedef struct fg_drr_queue {
  size_t deficit;
} fg_drr_queue;

// fg_drr is where the rounds over one set of queues stand (zero to start).
typedef struct fg_drr {
  size_t next;   // the queue served first by the next run
  int mid_turn;  // |next| was stopped mid-turn: it resumes without a new quantum
} fg_drr;

typedef struct fg_drr_ops {
  // head_len returns the size of queue |i|'s oldest item, 0 when empty.
  size_t (*head_len)(void *arg, size_t i);
  // send_head sends queue |i|'s oldest item. It returns 1, or 0 when the
  // output takes nothing more now (the round stops there).
  int (*send_head)(void *arg, size_t i);
} fg_drr_ops;

// fg_drr_run serves queues 0..n-1 (their states in |q|) round by round,
// starting where |d| stands, until every queue is empty or the output is
// full; a queue stopped by a full output finishes its turn first next time.
// A queue found empty loses its deficit (it cannot save up while idle).
// It returns the number of items sent.
size_t fg_drr_run(fg_drr *d, fg_drr_queue *const *q, size_t n, size_t quantum,
                  const fg_drr_ops *ops, void *arg);

#endif  // FEDGATE_GATEWAY_DRR_H
