// heap_counter.c: jemalloc's per-thread count of bytes allocated.
#include "io/heap_counter.h"

#include <jemalloc/jemalloc.h>
#include <stddef.h>

// jemalloc is not linked into sanitizer builds: a weak reference lets the
// same code say so.
#pragma weak mallctl

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
