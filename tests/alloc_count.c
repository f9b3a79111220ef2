// alloc_count.c: see alloc_count.h.
#include "tests/alloc_count.h"

#include <stddef.h>

#if FG_COUNT_ALLOCS
static long calls;
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
void *malloc(size_t n) {
  calls++;
  return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
  calls++;
  return __libc_calloc(a, b);
}
void *realloc(void *q, size_t n) {
  calls++;
  return __libc_realloc(q, n);
}
void free(void *q) {
  __libc_free(q);
}
long fg_alloc_calls(void) {
  return calls;
}
#else
long fg_alloc_calls(void) {
  return 0;
}
#endif
