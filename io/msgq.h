// msgq.h: intrusive lock-free multi-producer single-consumer queue (Vyukov's
// design). Any thread may push; only the owning worker pops. Nodes are owned
// by the caller until popped.
#ifndef FEDGATE_IO_MSGQ_H
#define FEDGATE_IO_MSGQ_H

#include <stdatomic.h>

typedef struct fg_msgq_node {
  _Atomic(struct fg_msgq_node *) next;
} fg_msgq_node;

typedef struct fg_msgq {
  _Atomic(fg_msgq_node *) head;  // producers swap here
  fg_msgq_node *tail;            // consumer reads here
  fg_msgq_node stub;
} fg_msgq;

// fg_msgq_init makes |q| empty.
void fg_msgq_init(fg_msgq *q);

// fg_msgq_push appends |n|. Wait-free for producers.
void fg_msgq_push(fg_msgq *q, fg_msgq_node *n);

// fg_msgq_pop removes and returns the oldest node, or NULL if the queue is
// empty or a producer is half-way through a push (the consumer retries after
// the next wake-up; the producer always sends one).
fg_msgq_node *fg_msgq_pop(fg_msgq *q);

#endif  // FEDGATE_IO_MSGQ_H
