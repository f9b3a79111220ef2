// fuzz_check.h: the invariant check fuzz harnesses share. A broken invariant
// aborts with the file, line and condition, so libFuzzer (and the replay
// test) report it as a crash.
#ifndef FEDGATE_FUZZ_FUZZ_CHECK_H
#define FEDGATE_FUZZ_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define FG_FUZZ_CHECK(cond)                                                        \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                     \
    }                                                                              \
  } while (0)

#endif  // FEDGATE_FUZZ_FUZZ_CHECK_H
