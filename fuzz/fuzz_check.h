// fuzz_check.h: CHECK(cond), the fuzz targets' invariant check: it names the
// failed condition on stderr and aborts, so that libFuzzer (or the replay
// test) reports a crash with the input that caused it.
#ifndef FEDGATE_FUZZ_FUZZ_CHECK_H
#define FEDGATE_FUZZ_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                     \
    }                                                                              \
  } while (0)

#endif  // FEDGATE_FUZZ_FUZZ_CHECK_H
