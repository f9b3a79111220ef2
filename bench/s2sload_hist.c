// s2sload_hist.c: log-linear histogram (see s2sload_hist.h).
#include "bench/s2sload_hist.h"

#include <math.h>
#include <string.h>

void fg_hist_init(fg_hist *h) {
  memset(h, 0, sizeof(*h));
  h->min = UINT64_MAX;
}

unsigned fg_hist_bucket_index(uint64_t v) {
  if (v > FG_HIST_MAX_VALUE) v = FG_HIST_MAX_VALUE;
  if (v < 256) return (unsigned)v;
  // v >> shift lands in [128, 256): 128 buckets per power of two.
  unsigned shift = (unsigned)(63 - __builtin_clzll(v)) - 7;
  return 256 + (shift - 1) * 128 + (unsigned)((v >> shift) - 128);
}

uint64_t fg_hist_bucket_low(unsigned i) {
  if (i < 256) return i;
  unsigned shift = (i - 256) / 128 + 1;
  uint64_t sub = (i - 256) % 128 + 128;
  return sub << shift;
}

uint64_t fg_hist_bucket_high(unsigned i) {
  if (i < 256) return i;
  unsigned shift = (i - 256) / 128 + 1;
  return fg_hist_bucket_low(i) + (UINT64_C(1) << shift) - 1;
}

void fg_hist_record(fg_hist *h, uint64_t v) {
  h->counts[fg_hist_bucket_index(v)]++;
  h->total++;
  if (v < h->min) h->min = v;
  if (v > h->max) h->max = v;
}

void fg_hist_merge(fg_hist *dst, const fg_hist *src) {
  for (unsigned i = 0; i < FG_HIST_BUCKETS; i++) dst->counts[i] += src->counts[i];
  dst->total += src->total;
  if (src->min < dst->min) dst->min = src->min;
  if (src->max > dst->max) dst->max = src->max;
}

uint64_t fg_hist_percentile(const fg_hist *h, double p) {
  if (h->total == 0) return 0;
  if (p <= 0) return h->min;
  if (p >= 100) return h->max;
  uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->total);
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (unsigned i = 0; i < FG_HIST_BUCKETS; i++) {
    seen += h->counts[i];
    if (seen < rank) continue;
    uint64_t lo = fg_hist_bucket_low(i), hi = fg_hist_bucket_high(i);
    uint64_t mid = lo + (hi - lo) / 2;
    if (mid < h->min) mid = h->min;
    if (mid > h->max) mid = h->max;
    return mid;
  }
  return h->max;
}
