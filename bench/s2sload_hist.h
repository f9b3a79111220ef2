// s2sload_hist.h: a log-linear latency histogram (HdrHistogram's layout):
// values below 256 have a bucket each; above, every power of two is split
// into 128 equal buckets, so a bucket is at most 1/128 of its values wide and
// a percentile read back as the bucket's midpoint is within 0.4 % of the true
// sample. Values are nanoseconds up to 2^36 (68.7 s); larger ones are clamped.
// Recording is one shift and one add: no allocation, no locking (one
// histogram per worker, merged at the end).
#ifndef FEDGATE_BENCH_S2SLOAD_HIST_H
#define FEDGATE_BENCH_S2SLOAD_HIST_H

#include <stdint.h>

// FG_HIST_MAX_VALUE is the largest value kept exactly in range.
#define FG_HIST_MAX_VALUE ((UINT64_C(1) << 36) - 1)
// FG_HIST_BUCKETS is 256 exact buckets plus 128 per further power of two.
#define FG_HIST_BUCKETS (256 + 28 * 128)

typedef struct fg_hist {
  uint64_t counts[FG_HIST_BUCKETS];
  uint64_t total;
  uint64_t min, max;  // exact; min is UINT64_MAX while empty
} fg_hist;

// fg_hist_init empties |h|.
void fg_hist_init(fg_hist *h);

// fg_hist_record adds one sample |v| (clamped to FG_HIST_MAX_VALUE).
void fg_hist_record(fg_hist *h, uint64_t v);

// fg_hist_merge adds every sample of |src| to |dst|.
void fg_hist_merge(fg_hist *dst, const fg_hist *src);

// fg_hist_percentile returns the value at percentile |p| (0 < p <= 100): the
// midpoint of the bucket holding the sample of rank ceil(p/100 * total) in
// sorted order (clamped to [min, max]). It returns 0 for an empty histogram.
uint64_t fg_hist_percentile(const fg_hist *h, double p);

// fg_hist_bucket_index returns the bucket of |v|; fg_hist_bucket_low and
// fg_hist_bucket_high return the smallest and largest value of bucket |i|.
unsigned fg_hist_bucket_index(uint64_t v);
uint64_t fg_hist_bucket_low(unsigned i);
uint64_t fg_hist_bucket_high(unsigned i);

#endif  // FEDGATE_BENCH_S2SLOAD_HIST_H
