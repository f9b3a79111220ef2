// rate_limit.h: token buckets keyed by remote domain, address or any other
// byte string, shared by every worker, bounded in memory.
//
// A bucket holds up to |burst| tokens and gains |per_second| tokens a
// second; a stanza, a byte count or a new connection takes its cost, or is
// over the limit. Buckets are kept per exact key: a key is remembered by a
// 128-bit hash under a secret seed drawn per table, so no one can choose
// keys that share another's bucket. The table holds at most |max_keys|
// buckets; when a key's neighbourhood is full, the neighbour with the most
// tokens is forgotten (a forgotten key starts again with a full bucket, so
// forgetting a full one loses nothing), the least recently used among
// equals: a flood of new keys cannot wipe out the debt of a key over its
// limit. fg_rate_limits_evictions counts what was forgotten.
//
// Threads: any thread may take; the table is split into stripes, each with
// its own lock held for a few instructions (no allocation after creation).
// Time is passed in by the caller (a monotonic clock in nanoseconds), so the
// rules are tested without sleeping.
#ifndef FEDGATE_GATEWAY_POLICY_RATE_LIMIT_H
#define FEDGATE_GATEWAY_POLICY_RATE_LIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct fg_rate_limits fg_rate_limits;

// fg_rate is one limit: a sustained rate and the burst allowed above it.
typedef struct fg_rate {
  double per_second;  // > 0
  double burst;       // >= 1: the bucket's size
} fg_rate;

// fg_rate_limits_new returns a table for up to |max_keys| buckets (at least
// 64), or NULL when out of memory.
fg_rate_limits *fg_rate_limits_new(size_t max_keys);

// fg_rate_limits_free frees |t|. NULL is a no-op.
void fg_rate_limits_free(fg_rate_limits *t);

// fg_rate_verdict is what a take says.
typedef struct fg_rate_verdict {
  int allowed;             // 1: the cost was taken
  double retry_after_s;    // when refused: seconds until the cost would fit
  uint64_t over_since_ns;  // when refused: since when this key has been refused
                           // without an allowed take in between (sustained abuse)
} fg_rate_verdict;

// fg_rate_take takes |cost| tokens from the bucket of |key| under |rate| at
// time |now_ns|. A cost above the burst is never allowed. |out| may be NULL.
// It returns out->allowed.
int fg_rate_take(fg_rate_limits *t, const void *key, size_t key_len, const fg_rate *rate,
                 double cost, uint64_t now_ns, fg_rate_verdict *out);

// fg_rate_limits_keys returns how many buckets are held; evictions how many
// were forgotten to make room.
size_t fg_rate_limits_keys(fg_rate_limits *t);
uint64_t fg_rate_limits_evictions(fg_rate_limits *t);

// fg_rate_limits_bytes returns the table's memory.
size_t fg_rate_limits_bytes(const fg_rate_limits *t);

#endif  // FEDGATE_GATEWAY_POLICY_RATE_LIMIT_H
