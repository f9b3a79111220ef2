// heap_stats.c: jemalloc statistics through mallctl.
#include "gateway/server/heap_stats.h"

#include <jemalloc/jemalloc.h>
#include <stdint.h>

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
