// msgq.c: Vyukov intrusive MPSC queue with a stub node.
#include "io/msgq.h"

#include <stddef.h>

void fg_msgq_init(fg_msgq *q) {
  atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
  atomic_store_explicit(&q->head, &q->stub, memory_order_relaxed);
  q->tail = &q->stub;
}

void fg_msgq_push(fg_msgq *q, fg_msgq_node *n) {
  atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
  fg_msgq_node *prev = atomic_exchange_explicit(&q->head, n, memory_order_acq_rel);
  atomic_store_explicit(&prev->next, n, memory_order_release);
}

fg_msgq_node *fg_msgq_pop(fg_msgq *q) {
  fg_msgq_node *tail = q->tail;
  fg_msgq_node *next = atomic_load_explicit(&tail->next, memory_order_acquire);
  if (tail == &q->stub) {
    if (next == NULL) return NULL;
    q->tail = next;
    tail = next;
    next = atomic_load_explicit(&next->next, memory_order_acquire);
  }
  if (next != NULL) {
    q->tail = next;
    return tail;
  }
  if (tail != atomic_load_explicit(&q->head, memory_order_acquire)) return NULL;
  // |tail| is the last node: put the stub back behind it so it can be taken.
  fg_msgq_push(q, &q->stub);
  next = atomic_load_explicit(&tail->next, memory_order_acquire);
  if (next != NULL) {
    q->tail = next;
    return tail;
  }
  return NULL;
}
