// timer.c: binary min-heap of fg_timer, indexed from 1 in |heap_index_|.
#include "io/timer.h"

#include <stdlib.h>
#include <time.h>

uint64_t fg_clock_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void fg_timer_init(fg_timer *t, fg_timer_fn fn, void *arg) {
  t->deadline_ns = 0;
  t->heap_index_ = 0;
  t->fn = fn;
  t->arg = arg;
}

int fg_timer_armed(const fg_timer *t) {
  return t->heap_index_ != 0;
}

void fg_timer_heap_init(fg_timer_heap *h) {
  h->items = NULL;
  h->len = h->cap = 0;
}

void fg_timer_heap_cleanup(fg_timer_heap *h) {
  for (size_t i = 0; i < h->len; i++) h->items[i]->heap_index_ = 0;
  free(h->items);
  fg_timer_heap_init(h);
}

static void place(fg_timer_heap *h, size_t i, fg_timer *t) {
  h->items[i] = t;
  t->heap_index_ = i + 1;
}

static void sift_up(fg_timer_heap *h, size_t i) {
  fg_timer *t = h->items[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (h->items[parent]->deadline_ns <= t->deadline_ns) break;
    place(h, i, h->items[parent]);
    i = parent;
  }
  place(h, i, t);
}

static void sift_down(fg_timer_heap *h, size_t i) {
  fg_timer *t = h->items[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= h->len) break;
    if (child + 1 < h->len && h->items[child + 1]->deadline_ns < h->items[child]->deadline_ns) {
      child++;
    }
    if (t->deadline_ns <= h->items[child]->deadline_ns) break;
    place(h, i, h->items[child]);
    i = child;
  }
  place(h, i, t);
}

void fg_timer_heap_cancel(fg_timer_heap *h, fg_timer *t) {
  if (t->heap_index_ == 0) return;
  size_t i = t->heap_index_ - 1;
  t->heap_index_ = 0;
  h->len--;
  if (i == h->len) return;
  fg_timer *last = h->items[h->len];
  place(h, i, last);
  if (i > 0 && h->items[(i - 1) / 2]->deadline_ns > last->deadline_ns) {
    sift_up(h, i);
  } else {
    sift_down(h, i);
  }
}

int fg_timer_heap_arm(fg_timer_heap *h, fg_timer *t, uint64_t deadline_ns) {
  fg_timer_heap_cancel(h, t);
  if (h->len == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 64;
    fg_timer **items = realloc(h->items, cap * sizeof(*items));
    if (items == NULL) return 0;
    h->items = items;
    h->cap = cap;
  }
  t->deadline_ns = deadline_ns;
  h->items[h->len] = t;
  h->len++;
  sift_up(h, h->len - 1);
  return 1;
}

uint64_t fg_timer_heap_next(const fg_timer_heap *h) {
  return h->len ? h->items[0]->deadline_ns : UINT64_MAX;
}

size_t fg_timer_heap_run(fg_timer_heap *h, uint64_t now_ns) {
  size_t fired = 0;
  while (h->len && h->items[0]->deadline_ns <= now_ns) {
    fg_timer *t = h->items[0];
    fg_timer_heap_cancel(h, t);
    fired++;
    t->fn(t, t->arg);
  }
  return fired;
}
