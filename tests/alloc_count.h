// alloc_count.h: counting the allocator's calls, for the unit tests that
// prove a steady state allocates nothing. Linking //tests:alloc_count
// replaces malloc, calloc and realloc with counting wrappers around glibc's
// own; under AddressSanitizer, which owns those entry points, nothing is
// replaced and FG_COUNT_ALLOCS is 0 (such tests skip their count).
#ifndef FEDGATE_TESTS_ALLOC_COUNT_H
#define FEDGATE_TESTS_ALLOC_COUNT_H

#if defined(__SANITIZE_ADDRESS__)
#define FG_COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FG_COUNT_ALLOCS 0
#endif
#endif
#ifndef FG_COUNT_ALLOCS
#define FG_COUNT_ALLOCS 1
#endif

// fg_alloc_calls: malloc, calloc and realloc calls so far (0 when not
// counted).
long fg_alloc_calls(void);

#endif  // FEDGATE_TESTS_ALLOC_COUNT_H
