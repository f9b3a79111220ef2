// xml_index.h: the structural index of the XML parser (not a public
// interface). The input is classified once per 64-byte block into bitmasks
// (bit k: byte k of the block) of where each of the tokenizer's scans must
// stop: character data, attribute values in either quote, names; and where
// strict UTF-8 is broken (RFC 3629, RFC 6120 §11.6; U+FFFE and U+FFFF are no
// XML 1.0 Chars), validated in the same pass. A scan then finds its end with
// a count of trailing zeros on the current block's mask instead of loading
// and comparing bytes again: most tokens (names, short values, runs of text)
// end in the block where the previous one ended. AVX2 classifies a block as
// 2 x 32 bytes, SSE2 as 4 x 16, other CPUs byte by byte.
//
// An index covers one call of the tokenizer: one input |s| of |n| bytes. The
// last block may be partial; its bits at and past |n| are set in every stop
// mask, so a scan stops at the end of the input. Validity of the UTF-8 mask:
// the bytes before a block are taken from the input (none before byte 0),
// and a scan starts at a sequence boundary, so a bit at or after the scan's
// start means an error at that byte or in the sequence it ends; the scans
// hand the sequence's first byte to the tokenizer's scalar path, which finds
// the exact error and its offset.
#ifndef FEDGATE_GATEWAY_XML_INDEX_H
#define FEDGATE_GATEWAY_XML_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gateway/xml/xml_scan.h"

// The masks of a block (xml_index.m).
enum {
  IX_TEXT,  // `<` `&` `>` `]`, bytes below 0x20, UTF-8 errors
  IX_SQ,    // `<` `&` `>` `'`, bytes below 0x20, UTF-8 errors
  IX_DQ,    // `<` `&` `>` `"`, bytes below 0x20, UTF-8 errors
  IX_NAME,  // every byte that is not an ASCII NameChar (letters, digits, `_-.`)
  IX_U8,    // UTF-8 errors (set for every non-ASCII byte without SIMD)
  IX_COUNT
};

typedef struct xml_index {
  const uint8_t *s;
  size_t n;
  size_t blk[IX_COUNT];  // offset of the block mask k describes; SIZE_MAX: none yet
  uint64_t m[IX_COUNT];
} xml_index;

static inline void xml_index_init(xml_index *ix, const uint8_t *s, size_t n) {
  ix->s = s;
  ix->n = n;
  for (int k = 0; k < IX_COUNT; k++) ix->blk[k] = SIZE_MAX;
}

// Each mask is made when a scan first needs it in a block: a block of a tag
// needs the name and attribute masks, a block of text the text mask, and
// classifying every byte for every scan would cost more than the scans save.
// UTF-8 validation runs once per block, for the first text or attribute
// mask.

#if defined(__AVX2__)
// ix_stop32 returns the bits of the 32 bytes |x| where a scan of kind |k|
// stops (UTF-8 apart); |q| is the kind's own byte (`]` or a quote).
static inline uint32_t ix_stop32(__m256i x, int k, __m256i q) {
  if (k == IX_NAME) {
    // Unsigned range tests: x - lo <= hi - lo.
    __m256i l = _mm256_sub_epi8(_mm256_or_si256(x, _mm256_set1_epi8(0x20)), _mm256_set1_epi8('a'));
    __m256i d = _mm256_sub_epi8(x, _mm256_set1_epi8('0'));
    __m256i nm = _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(l, _mm256_set1_epi8(25)), l),
                                 _mm256_cmpeq_epi8(_mm256_min_epu8(d, _mm256_set1_epi8(9)), d));
    nm = _mm256_or_si256(
        nm, _mm256_or_si256(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('_')),
                            _mm256_or_si256(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('-')),
                                            _mm256_cmpeq_epi8(x, _mm256_set1_epi8('.')))));
    return ~(uint32_t)_mm256_movemask_epi8(nm);
  }
  const __m256i c1f = _mm256_set1_epi8(0x1F);
  __m256i m = _mm256_or_si256(
      _mm256_or_si256(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('<')),
                      _mm256_cmpeq_epi8(x, _mm256_set1_epi8('&'))),
      _mm256_or_si256(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('>')), _mm256_cmpeq_epi8(x, q)));
  m = _mm256_or_si256(m, _mm256_cmpeq_epi8(_mm256_max_epu8(x, c1f), c1f));  // x <= 0x1F
  return (uint32_t)_mm256_movemask_epi8(m);
}

static inline uint32_t ix_u8_32(__m256i x, __m256i prev) {
  __m256i err = utf8_block_errors(x, prev);
  return ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(err, _mm256_setzero_si256()));
}
#elif defined(__SSE2__)
// ix_stop16 is ix_stop32 for 16 bytes.
static inline uint32_t ix_stop16(__m128i x, int k, __m128i q) {
  if (k == IX_NAME) {
    __m128i l = _mm_sub_epi8(_mm_or_si128(x, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
    __m128i d = _mm_sub_epi8(x, _mm_set1_epi8('0'));
    __m128i nm = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(l, _mm_set1_epi8(25)), l),
                              _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d));
    nm = _mm_or_si128(nm, _mm_or_si128(u8_eq(x, '_'), _mm_or_si128(u8_eq(x, '-'), u8_eq(x, '.'))));
    return ~(uint32_t)_mm_movemask_epi8(nm) & 0xFFFFu;
  }
  __m128i m = _mm_or_si128(_mm_or_si128(u8_eq(x, '<'), u8_eq(x, '&')),
                           _mm_or_si128(u8_eq(x, '>'), _mm_cmpeq_epi8(x, q)));
  m = _mm_or_si128(m, u8_le(x, 0x1F));
  return (uint32_t)_mm_movemask_epi8(m);
}
#else
// ix_stop1 says whether a scan of kind |k| stops at |c| (UTF-8 apart).
static inline int ix_stop1(uint8_t c, int k) {
  uint8_t cls = fg_xml_byte_class[c];
  switch (k) {
    case IX_NAME:
      return !(cls & C_NAMECHAR) || c == ':';
    case IX_TEXT:
      return (cls & C_TEXT_SPECIAL) && c < 0x80;
    default:
      return (cls & C_ATTR_SPECIAL) && c < 0x80 && c != (k == IX_SQ ? '"' : '\'');
  }
}
#endif

// ix_build_at makes mask |k| (not IX_U8) of the block at |b| (a multiple of
// 64 below ix->n) from its 64 bytes at |blk| (the input, or a padded copy of
// a last, partial block with |past| marking the bits beyond the input).
static inline __attribute__((always_inline)) void ix_build_at(xml_index *ix, size_t b, int k,
                                                              const uint8_t *blk, uint64_t past) {
  const uint8_t *s = ix->s;
  int u8 = k != IX_NAME && ix->blk[IX_U8] != b;
  uint64_t m, err = 0;
#if defined(__AVX2__)
  const __m256i q = _mm256_set1_epi8(k == IX_TEXT ? ']' : k == IX_SQ ? '\'' : '"');
  __m256i x0 = _mm256_loadu_si256((const __m256i *)blk);
  __m256i x1 = _mm256_loadu_si256((const __m256i *)(blk + 32));
  m = ix_stop32(x0, k, q) | (uint64_t)ix_stop32(x1, k, q) << 32;
  if (u8) {
    uint32_t prev_hi = b > 0 ? (s[b - 1] | s[b - 2] | s[b - 3]) & 0x80 : 0;
    if ((_mm256_movemask_epi8(_mm256_or_si256(x0, x1)) | prev_hi) != 0) {
      __m256i prev =
          b > 0 ? _mm256_loadu_si256((const __m256i *)(s + b - 32)) : _mm256_setzero_si256();
      err = ix_u8_32(x0, prev) | (uint64_t)ix_u8_32(x1, x0) << 32;
    }
  }
#elif defined(__SSE2__)
  const __m128i q = _mm_set1_epi8((char)(k == IX_TEXT ? ']' : k == IX_SQ ? '\'' : '"'));
  __m128i x[4];
  for (unsigned h = 0; h < 4; h++) x[h] = _mm_loadu_si128((const __m128i *)(blk + 16 * h));
  m = 0;
  for (unsigned h = 0; h < 4; h++) m |= (uint64_t)ix_stop16(x[h], k, q) << (16 * h);
  if (u8) {
    uint32_t prev_hi = b > 0 ? (s[b - 1] | s[b - 2] | s[b - 3]) & 0x80 : 0;
    __m128i any = _mm_or_si128(_mm_or_si128(x[0], x[1]), _mm_or_si128(x[2], x[3]));
    if ((_mm_movemask_epi8(any) | prev_hi) != 0) {
      __m128i prev = b > 0 ? _mm_loadu_si128((const __m128i *)(s + b - 16)) : _mm_setzero_si128();
      for (unsigned h = 0; h < 4; h++) {
        err |= (uint64_t)(uint32_t)_mm_movemask_epi8(utf8_block_errors16(x[h], prev)) << (16 * h);
        prev = x[h];
      }
    }
  }
#else
  m = 0;
  for (unsigned j = 0; j < 64; j++) {
    if (ix_stop1(blk[j], k)) m |= 1ull << j;
    if (blk[j] >= 0x80) err |= 1ull << j;  // the scalar path validates
  }
#endif
  if (u8) {
    ix->m[IX_U8] = err;
    ix->blk[IX_U8] = b;
  }
  if (k != IX_NAME) m |= ix->m[IX_U8];
  ix->m[k] = m | past;
  ix->blk[k] = b;
}

// xml_index_build_tail is ix_build_at for the last block when it is partial:
// it copies the bytes left to a block padded with spaces.
static __attribute__((noinline, cold)) void xml_index_build_tail(xml_index *ix, size_t b, int k) {
  uint8_t tmp[64];
  size_t avail = ix->n - b;
  memset(tmp, ' ', sizeof(tmp));
  memcpy(tmp, ix->s + b, avail);
  ix_build_at(ix, b, k, tmp, ~0ull << avail);
}

// xml_index_build makes mask |k| (not IX_U8) of the block at |b| (a multiple
// of 64 below ix->n). Not inline: it runs once per block and mask, the scans
// once per token.
static __attribute__((noinline)) void xml_index_build(xml_index *ix, size_t b, int k) {
  if (__builtin_expect(ix->n - b < 64, 0))
    xml_index_build_tail(ix, b, k);
  else
    ix_build_at(ix, b, k, ix->s + b, 0);
}

// ix_next returns the first byte at or after |i| (at most ix->n) whose bit is
// set in mask |k|; mask k and the UTF-8 mask then describe that byte's block
// (unless it is ix->n).
static inline size_t ix_next(xml_index *ix, size_t i, int k) {
  size_t n = ix->n;
  while (i < n) {
    size_t b = i & ~(size_t)63;
    if (b != ix->blk[k]) xml_index_build(ix, b, k);
    uint64_t m = ix->m[k] >> (i & 63);
    if (m != 0) return i + (size_t)__builtin_ctzll(m);
    i = b + 64;
  }
  return n;
}

// ix_u8_at says whether byte |j| (in the current block) ends a UTF-8 error.
static inline int ix_u8_at(const xml_index *ix, size_t j) {
  return j < ix->n && (ix->m[IX_U8] >> (j & 63)) & 1;
}

// ix_seq_start returns the start of a UTF-8 sequence that begins before |j|
// (not before |i0|) and continues at |j|, else |j|.
static inline size_t ix_seq_start(const uint8_t *s, size_t i0, size_t j) {
  for (size_t k = j; k > i0 && j - k < 3;) {
    k--;
    uint8_t c = s[k];
    if ((c & 0xC0) == 0x80) continue;
    if (c >= 0xC0) {
      size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      if (k + len > j) return k;
    }
    break;
  }
  return j;
}

// ix_text returns the end of the character data at |i| (a sequence
// boundary): a special ASCII byte, the end of the input, or the first byte
// of a sequence that is broken or cut by the end of the input, from which
// the tokenizer's scalar path continues. Everything before it is valid.
static inline size_t ix_text(xml_index *ix, size_t i) {
  size_t j = ix_next(ix, i, IX_TEXT);
  if (j >= ix->n || ix_u8_at(ix, j)) return ix_seq_start(ix->s, i, j);
  return j;
}

// ix_attr is ix_text for an attribute value quoted with |q|: it stops at
// `<`, `&`, `>`, |q|, bytes below 0x20 and the start of a broken or cut
// sequence.
static inline size_t ix_attr(xml_index *ix, size_t i, uint8_t q) {
  size_t j = ix_next(ix, i, q == '\'' ? IX_SQ : IX_DQ);
  if (j >= ix->n || ix_u8_at(ix, j)) return ix_seq_start(ix->s, i, j);
  return j;
}

// ix_name returns the first byte at or after |i| and below |lim| (at most
// ix->n) that is not an ASCII NameChar, else |lim|.
static inline size_t ix_name(xml_index *ix, size_t i, size_t lim) {
  if (i >= lim) return i;
  size_t j = ix_next(ix, i, IX_NAME);
  return j < lim ? j : lim;
}

#endif  // FEDGATE_GATEWAY_XML_INDEX_H
