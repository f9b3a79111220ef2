// s2sload_id.c: stanza id codec (see s2sload_id.h).
#include "bench/s2sload_id.h"

// kPairs holds "00".."99": two digits per division (the ids carry 16-digit
// timestamps, written for every stanza).
static const char kPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

size_t fg_u64_to_dec(uint8_t *out, uint64_t v) {
  uint8_t tmp[20];
  size_t i = sizeof(tmp);
  while (v >= 100) {
    unsigned d = (unsigned)(v % 100);
    v /= 100;
    tmp[--i] = (uint8_t)kPairs[2 * d + 1];
    tmp[--i] = (uint8_t)kPairs[2 * d];
  }
  if (v >= 10) {
    tmp[--i] = (uint8_t)kPairs[2 * v + 1];
    tmp[--i] = (uint8_t)kPairs[2 * v];
  } else {
    tmp[--i] = (uint8_t)('0' + v);
  }
  size_t n = sizeof(tmp) - i;
  for (size_t k = 0; k < n; k++) out[k] = tmp[i + k];
  return n;
}

size_t fg_stanza_id_encode(uint8_t *out, const fg_stanza_id *id) {
  size_t n = 0;
  out[n++] = 'L';
  n += fg_u64_to_dec(out + n, id->stream);
  out[n++] = '.';
  n += fg_u64_to_dec(out + n, id->seq);
  out[n++] = '.';
  n += fg_u64_to_dec(out + n, id->ns);
  return n;
}

// parse_u64 reads digits up to |end| or |stop| and advances |*p|. It returns
// 0 on an empty number, a non-digit or overflow.
static int parse_u64(uint64_t *out, const uint8_t **p, const uint8_t *end, int stop) {
  const uint8_t *s = *p;
  uint64_t v = 0;
  size_t digits = 0;
  while (s < end && *s != stop) {
    if (*s < '0' || *s > '9') return 0;
    uint64_t d = (uint64_t)(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return 0;
    v = v * 10 + d;
    digits++;
    s++;
  }
  if (digits == 0) return 0;
  *out = v;
  *p = s;
  return 1;
}

int fg_stanza_id_decode(fg_stanza_id *out, const uint8_t *in, size_t in_len) {
  const uint8_t *p = in, *end = in + in_len;
  uint64_t stream, seq, ns;
  if (in_len < 6 || *p++ != 'L') return 0;
  if (!parse_u64(&stream, &p, end, '.') || stream > UINT32_MAX) return 0;
  if (p == end || *p++ != '.') return 0;
  if (!parse_u64(&seq, &p, end, '.')) return 0;
  if (p == end || *p++ != '.') return 0;
  if (!parse_u64(&ns, &p, end, -1) || p != end) return 0;
  out->stream = (uint32_t)stream;
  out->seq = seq;
  out->ns = ns;
  return 1;
}
