// heap_counter.h: the calling thread's running total of heap bytes
// allocated, as the allocator keeps it, readable with one load.
#ifndef FEDGATE_IO_HEAP_COUNTER_H
#define FEDGATE_IO_HEAP_COUNTER_H

#include <stdint.h>

// fg_heap_thread_counter returns where jemalloc counts the bytes the calling
// thread has allocated (thread.allocatedp: every malloc, calloc and realloc
// by size class; frees are not subtracted), so that the bytes allocated
// during a piece of work are the difference of two reads. Without jemalloc
// (sanitizer builds) it points at a zero that never changes, and
// fg_heap_thread_counted says so.
const uint64_t *fg_heap_thread_counter(void);

// fg_heap_thread_counted says whether fg_heap_thread_counter counts.
int fg_heap_thread_counted(void);

#endif  // FEDGATE_IO_HEAP_COUNTER_H
