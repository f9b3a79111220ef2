// heap_stats.h: the process heap as the allocator sees it, for /metrics.
#ifndef FEDGATE_GATEWAY_HEAP_STATS_H
#define FEDGATE_GATEWAY_HEAP_STATS_H

#include <stddef.h>

// fg_heap_stats writes jemalloc's stats.allocated (bytes in live
// allocations) and stats.resident (bytes in physically resident pages the
// allocator holds, fragmentation and caches included). It returns 0 when
// jemalloc is not the allocator (sanitizer builds) or keeps no statistics.
int fg_heap_stats(size_t *allocated, size_t *resident);

#endif  // FEDGATE_GATEWAY_HEAP_STATS_H
