// s2sload_id.h: the stanza id codec. Every stanza s2sload sends carries, in
// its 'id' attribute, the sending stream's index, a per-stream sequence
// number and the send time (CLOCK_MONOTONIC ns; in open loop the scheduled
// send time), as "L<stream>.<seq>.<ns>" in decimal, so the sink can count
// losses, duplicates and reordering per stream and measure latency without
// any shared table.
#ifndef FEDGATE_BENCH_S2SLOAD_ID_H
#define FEDGATE_BENCH_S2SLOAD_ID_H

#include <stddef.h>
#include <stdint.h>

// FG_STANZA_ID_MAX is the longest id written ("L" + 3 * 20 digits + 2 dots).
#define FG_STANZA_ID_MAX 63

typedef struct fg_stanza_id {
  uint32_t stream;
  uint64_t seq;
  uint64_t ns;
} fg_stanza_id;

// fg_stanza_id_encode writes |id| to |out| (at least FG_STANZA_ID_MAX bytes,
// not NUL-terminated) and returns the length written.
size_t fg_stanza_id_encode(uint8_t *out, const fg_stanza_id *id);

// fg_stanza_id_decode parses |in| (exactly the attribute value) into |*out|.
// It returns 1, or 0 when |in| is not an id this codec wrote (wrong prefix,
// missing or extra parts, a non-digit, an empty or overflowing number).
int fg_stanza_id_decode(fg_stanza_id *out, const uint8_t *in, size_t in_len);

// fg_u64_to_dec writes |v| in decimal to |out| (20 bytes suffice) and returns
// the length.
size_t fg_u64_to_dec(uint8_t *out, uint64_t v);

#endif  // FEDGATE_BENCH_S2SLOAD_ID_H
