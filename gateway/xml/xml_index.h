// xml_index.h: the structural index of the XML parser's whole-element path
// (not a public interface). A 64-byte block of the input is classified once
// (AVX2, 2 x 32 bytes, with byte shuffles as nibble lookups) into bitmasks, one bit per byte, of
// the bytes that end a name, a run of character data or an attribute value in either quote, with
// the bytes that break strict UTF-8 (RFC 3629, RFC 6120 §11.6) found from the same loads; the
// tokenizer then finds each token's end by counting trailing zeros instead of scanning. An index
// walks forward only, one block at a time, and stops (says "slow") at the end of the input or where
// a block it leaves holds a UTF-8 error: the byte states read those elements. Static inline: it
// lives in the tokenizer's inner loop. Only the x86-64-v3 copy of the parser has it: built with
// comparisons instead of byte shuffles (SSE2 4 x 16, no SSSE3 in baseline x86-64), the index made
// the baseline copy slower than its per-token scans (docs/xml.md).
#ifndef FEDGATE_GATEWAY_XML_INDEX_H
#define FEDGATE_GATEWAY_XML_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gateway/xml/xml_scan.h"

#if defined(__AVX2__)
#define XIDX_ENABLED 1

// xidx is the index over the input s[0, n) and its current block.
typedef struct xidx {
  const uint8_t *s;
  size_t n;
  size_t base;  // offset of the current block, a multiple of 64
  // Bits of the current block: bytes that are not ASCII NameChars (the colon
  // included); the stops of character data and attribute values (`<`, `&`,
  // `>`, either quote, C0 controls); UTF-8 errors.
  uint64_t name_stop, stop, err;
  __m256i prev;
  uint32_t prev_hi;
} xidx;

// A byte's classes from two nibble lookups, ANDed: each class is a union of
// products (a set of high nibbles times a set of low nibbles), one bit each.
// Bits 0-4 are the ASCII NameChars: 41-4F and 61-6F, 50-5A and 70-7A, 30-39,
// 2D-2E, 5F; bits 5-7 the stops: 00-1F, 22 26 27, 3C 3E. Bytes 80-FF have no
// class (the high table is zero there).
#define XIDX_CLS_NAMECHAR 0x1F
#define XIDX_CLS_STOP 0xE0
static const uint8_t xidx_nibbles[2][32] __attribute__((aligned(32), unused)) = {
    {0x26, 0x27, 0x67, 0x27, 0x27, 0x27, 0x67, 0x67, 0x27, 0x27, 0x23,
     0x21, 0xA1, 0x29, 0xA9, 0x31, 0x26, 0x27, 0x67, 0x27, 0x27, 0x27,
     0x67, 0x67, 0x27, 0x27, 0x23, 0x21, 0xA1, 0x29, 0xA9, 0x31},
    {0x20, 0x20, 0x48, 0x84, 0x01, 0x12, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 0,
     0x20, 0x20, 0x48, 0x84, 0x01, 0x12, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 0},
};

// xidx_half classifies the 32 bytes |x|, preceded by |prev| (whose bytes
// above 0x7F are |prev_hi|): the bits of the bytes that end a name, of the
// stops and of the UTF-8 errors go to |*name|, |*stop| and |*err|, and it
// returns the bits of its bytes above 0x7F.
static inline __attribute__((always_inline)) uint32_t xidx_half(__m256i x, __m256i prev,
                                                                uint32_t prev_hi, uint64_t *name,
                                                                uint64_t *stop, uint64_t *err) {
  const uint8_t *k = vk_table();
  const __m256i lo4 = VK256(k, VK_LO4), zero = _mm256_setzero_si256();
  const __m256i tlo = _mm256_load_si256((const __m256i *)xidx_nibbles[0]);
  const __m256i thi = _mm256_load_si256((const __m256i *)xidx_nibbles[1]);
  __m256i cls =
      _mm256_and_si256(_mm256_shuffle_epi8(tlo, _mm256_and_si256(x, lo4)),
                       _mm256_shuffle_epi8(thi, _mm256_and_si256(_mm256_srli_epi16(x, 4), lo4)));
  __m256i nn = _mm256_cmpeq_epi8(_mm256_and_si256(cls, _mm256_set1_epi8(XIDX_CLS_NAMECHAR)), zero);
  __m256i ns =
      _mm256_cmpeq_epi8(_mm256_and_si256(cls, _mm256_set1_epi8((char)XIDX_CLS_STOP)), zero);
  *name = (uint32_t)_mm256_movemask_epi8(nn);
  *stop = (uint32_t) ~(uint32_t)_mm256_movemask_epi8(ns);
  uint32_t hi = (uint32_t)_mm256_movemask_epi8(x);
  *err = 0;
  if ((hi | prev_hi) != 0) {
    __m256i e = utf8_block_errors(x, prev);
    *err = (uint32_t) ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(e, zero));
  }
  return hi;
}

// xidx_classify_at builds the masks of the 64 bytes at |b|. The two halves
// are classified in registers and the index written once: through |w| the
// second half would read back what the first stored.
static inline __attribute__((always_inline)) void xidx_classify_at(xidx *w, const uint8_t *b) {
  __m256i x0 = _mm256_loadu_si256((const __m256i *)b);
  __m256i x1 = _mm256_loadu_si256((const __m256i *)(b + 32));
  uint64_t n0, s0, e0, n1, s1, e1;
  uint32_t h0 = xidx_half(x0, w->prev, w->prev_hi, &n0, &s0, &e0);
  uint32_t h1 = xidx_half(x1, x0, h0, &n1, &s1, &e1);
  w->name_stop = n0 | n1 << 32;
  w->stop = s0 | s1 << 32;
  w->err = e0 | e1 << 32;
  w->prev = x1;
  w->prev_hi = h1;
}

// xidx_classify builds the masks of the block at w->base. Past the end of
// the input the block reads zero bytes, which end every kind of token, so a
// token cut by the end stops there and the caller sees the end.
static __attribute__((noinline, unused)) void xidx_classify_tail(xidx *w) {
  uint8_t tail[64] __attribute__((aligned(32)));
  memset(tail, 0, sizeof(tail));
  memcpy(tail, w->s + w->base, w->n - w->base);
  xidx_classify_at(w, tail);
}

static inline __attribute__((always_inline)) void xidx_classify(xidx *w) {
  if (w->n - w->base < 64)
    xidx_classify_tail(w);
  else
    xidx_classify_at(w, w->s + w->base);
}

// xidx_start indexes s[0, n) from its first block.
static inline __attribute__((always_inline)) void xidx_start(xidx *w, const uint8_t *s, size_t n) {
  w->s = s;
  w->n = n;
  w->base = 0;
  w->prev = _mm256_setzero_si256();
  w->prev_hi = 0;
  xidx_classify(w);
}

// xidx_advance moves to the next block: 0 when the block it leaves holds a
// UTF-8 error or the input ends. Out of line: it runs once per 64 bytes,
// and a copy of the classification at every place a token may end made
// the tokenizer's code several times larger.
static __attribute__((noinline, unused)) int xidx_advance(xidx *w) {
  if (w->err != 0 || w->n - w->base <= 64) return 0;
  w->base += 64;
  xidx_classify(w);
  return 1;
}

// The kinds of stops xidx_next finds.
enum { XIDX_NAME, XIDX_STOP };

// xidx_next returns the first stop of |kind| at or after |pos| (which is not
// before the current block), or SIZE_MAX when the index stops first. A stop
// at or past w->n means the input ended.
static inline __attribute__((always_inline)) size_t xidx_next(xidx *w, int kind, size_t pos) {
  for (;;) {
    size_t rel = pos - w->base;
    if (rel < 64) {
      uint64_t m = (kind == XIDX_NAME ? w->name_stop : w->stop) & (~0ull << rel);
      if (m != 0) return w->base + (size_t)__builtin_ctzll(m);
      pos = w->base + 64;
    }
    if (!xidx_advance(w)) return SIZE_MAX;
  }
}

// xidx_clean_before says whether the bytes before |end| (at most w->n) are
// strict UTF-8, moving the index up to the block that holds byte end - 1.
// An error shows at the byte that proves it (the byte after a cut sequence),
// so byte end - 1 must be ASCII for the answer to cover all bytes before
// |end|: callers pass the index after an ASCII byte.
static inline __attribute__((always_inline)) int xidx_clean_before(xidx *w, size_t end) {
  while (end > w->base + 64)
    if (!xidx_advance(w)) return 0;
  size_t rel = end - w->base;
  uint64_t below = rel >= 64 ? ~0ull : (1ull << rel) - 1;
  return (w->err & below) == 0;
}
#endif

#endif  // FEDGATE_GATEWAY_XML_INDEX_H
