// timer.h: per-worker timers on a binary min-heap (arm/cancel O(log n), no
// allocation per arm once the heap has grown). Not thread-safe: a heap belongs
// to one worker.
#ifndef FEDGATE_IO_TIMER_H
#define FEDGATE_IO_TIMER_H

#include <stddef.h>
#include <stdint.h>

typedef struct fg_timer fg_timer;
typedef void (*fg_timer_fn)(fg_timer *t, void *arg);

// fg_timer is embedded in its owner (a connection, a test). |heap_index_| is
// 0 while the timer is not armed.
struct fg_timer {
  uint64_t deadline_ns;
  size_t heap_index_;
  fg_timer_fn fn;
  void *arg;
};

typedef struct fg_timer_heap {
  fg_timer **items;
  size_t len, cap;
} fg_timer_heap;

// fg_clock_ns returns CLOCK_MONOTONIC in nanoseconds.
uint64_t fg_clock_ns(void);

// fg_timer_init sets |t| up, not armed, to call |fn(t, arg)| when it fires.
void fg_timer_init(fg_timer *t, fg_timer_fn fn, void *arg);

// fg_timer_armed returns 1 if |t| is in a heap.
int fg_timer_armed(const fg_timer *t);

void fg_timer_heap_init(fg_timer_heap *h);
// fg_timer_heap_cleanup frees the heap's array; armed timers are forgotten.
void fg_timer_heap_cleanup(fg_timer_heap *h);

// fg_timer_heap_arm (re)arms |t| to fire at |deadline_ns|. It returns 1, or 0
// if the heap could not grow.
int fg_timer_heap_arm(fg_timer_heap *h, fg_timer *t, uint64_t deadline_ns);

// fg_timer_heap_cancel disarms |t|; a no-op if it is not armed.
void fg_timer_heap_cancel(fg_timer_heap *h, fg_timer *t);

// fg_timer_heap_next returns the earliest deadline, or UINT64_MAX.
uint64_t fg_timer_heap_next(const fg_timer_heap *h);

// fg_timer_heap_run fires, in deadline order, every timer due at |now_ns|
// (each is disarmed before its callback, which may re-arm it). It returns the
// number fired.
size_t fg_timer_heap_run(fg_timer_heap *h, uint64_t now_ns);

#endif  // FEDGATE_IO_TIMER_H
