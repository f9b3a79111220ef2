// heap.c: jemalloc's statistics and per-thread counter through mallctl.
#include "io/heap.h"

#include <jemalloc/jemalloc.h>

// jemalloc is not linked into sanitizer builds: a weak reference lets the
// same code say so.
#pragma weak mallctl

int fg_heap_stats(size_t *allocated, size_t *resident) {
  if (&mallctl == NULL) return 0;
  uint64_t epoch = 1;
  size_t sz = sizeof(epoch), len = sizeof(size_t);
  if (mallctl("epoch", &epoch, &sz, &epoch, sz) != 0) return 0;  // refresh the statistics
  if (mallctl("stats.allocated", allocated, &len, NULL, 0) != 0) return 0;
  len = sizeof(size_t);
  return mallctl("stats.resident", resident, &len, NULL, 0) == 0;
}

static const uint64_t kNone = 0;

const uint64_t *fg_heap_thread_counter(void) {
  uint64_t *p = NULL;
  size_t len = sizeof(p);
  if (&mallctl == NULL || mallctl("thread.allocatedp", &p, &len, NULL, 0) != 0 || p == NULL) {
    return &kNone;
  }
  return p;
}

int fg_heap_thread_counted(void) {
  return fg_heap_thread_counter() != &kNone;
}
