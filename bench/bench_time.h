// bench_time.h: the clocks and the median the micro-benchmarks that compare
// two implementations in interleaved rounds share.
#ifndef FEDGATE_BENCH_BENCH_TIME_H
#define FEDGATE_BENCH_BENCH_TIME_H

#include <stddef.h>
#include <stdlib.h>
#include <time.h>

// bench_thread_cpu_s returns the calling thread's own CPU time in seconds
// (rates per CPU-second hold on a busy machine).
static inline double bench_thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// bench_wall_ms returns a monotonic time in milliseconds.
static inline double bench_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

// bench_median sorts the |n| values of |v| and returns the middle one.
static inline double bench_median(double *v, size_t n) {
  qsort(v, n, sizeof(double), bench_cmp_double);
  return v[n / 2];
}

#endif  // FEDGATE_BENCH_BENCH_TIME_H
