// fuzz_check.h: what the fuzz targets share: FUZZ_CHECK, an invariant that
// aborts (so libFuzzer keeps the input) with the failed condition, and the
// dialback secret of the s2s targets.
#ifndef FEDGATE_FUZZ_FUZZ_CHECK_H
#define FEDGATE_FUZZ_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                           \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                     \
    }                                                                              \
  } while (0)

#endif  // FEDGATE_FUZZ_FUZZ_CHECK_H
