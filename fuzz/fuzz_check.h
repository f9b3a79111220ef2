// fuzz_check.h: what the fuzz targets share: FUZZ_CHECK, an invariant that
// aborts (so libFuzzer keeps the input) with the failed condition, and a
// check that bytes were left zero.
#ifndef FEDGATE_FUZZ_FUZZ_CHECK_H
#define FEDGATE_FUZZ_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                           \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                     \
    }                                                                              \
  } while (0)

// fuzz_is_zero says whether the |n| bytes at |p| are all zero (a structure
// the code under test must have left untouched).
static inline int fuzz_is_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) {
    if (b[i] != 0) return 0;
  }
  return 1;
}

#endif  // FEDGATE_FUZZ_FUZZ_CHECK_H
