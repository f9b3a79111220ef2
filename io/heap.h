// heap.h: the heap as the allocator (jemalloc) sees it: the process's
// figures for /metrics, and a thread's running total of bytes allocated,
// readable with one load. Sanitizer builds link no jemalloc: then there are
// no figures, and the functions below say so.
#ifndef FEDGATE_IO_HEAP_H
#define FEDGATE_IO_HEAP_H

#include <stddef.h>
#include <stdint.h>

// fg_heap_stats writes jemalloc's stats.allocated (bytes in live
// allocations) and stats.resident (bytes in physically resident pages the
// allocator holds, fragmentation and caches included). It returns 0 when
// jemalloc is not the allocator or keeps no statistics.
int fg_heap_stats(size_t *allocated, size_t *resident);

// fg_heap_thread_counter returns where jemalloc counts the bytes the calling
// thread has allocated (thread.allocatedp: every malloc, calloc and realloc
// by size class; frees are not subtracted), so that the bytes allocated
// during a piece of work are the difference of two reads. Without jemalloc
// it points at a zero that never changes, and fg_heap_thread_counted says
// so.
const uint64_t *fg_heap_thread_counter(void);

// fg_heap_thread_counted says whether fg_heap_thread_counter counts.
int fg_heap_thread_counted(void);

#endif  // FEDGATE_IO_HEAP_H
