// xml_index.h: the structural index of the XML parser's whole-element path
// (not a public interface). A 64-byte block of the input is classified once
// (AVX2 2 x 32 bytes, SSE2 4 x 16) into bitmasks, one bit per byte, of the
// bytes that end a name, a run of character data or an attribute value in
// either quote, with the bytes that break strict UTF-8 (RFC 3629, RFC 6120
// §11.6) found from the same loads; the tokenizer then finds each token's end
// by counting trailing zeros instead of scanning. An index walks forward
// only, one block at a time, and stops (says "slow") at the end of the input
// or where a block it leaves holds a UTF-8 error: the byte states read those
// elements. Static inline: it lives in the tokenizer's inner loop.
#ifndef FEDGATE_GATEWAY_XML_INDEX_H
#define FEDGATE_GATEWAY_XML_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gateway/xml/xml_scan.h"

#if defined(__SSE2__)
#define XIDX_ENABLED 1

// xidx is the index over the input s[0, n) and its current block.
typedef struct xidx {
  const uint8_t *s;
  size_t n;
  size_t base;  // offset of the current block, a multiple of 64
  // Bits of the current block: bytes that are not ASCII NameChars (the colon
  // included); `<`, `&`, `>` and C0 controls other than TAB and LF (the end
  // of character data the index reads); `<`, `&`, `>` and every C0 control
  // (an attribute value's stops besides its quote); each quote; UTF-8 errors.
  uint64_t name_stop, text_stop, val_stop, sq, dq, err;
#if defined(__AVX2__)
  __m256i prev;
#else
  __m128i prev;
#endif
  uint32_t prev_hi;
} xidx;

#if defined(__AVX2__)
// xidx_half classifies 32 bytes.
static inline __attribute__((always_inline)) void xidx_half(xidx *w, __m256i x, int shift) {
  const uint8_t *k = vk_table();
  __m256i lt = _mm256_cmpeq_epi8(x, VK256(k, VK_LT));
  __m256i amp = _mm256_cmpeq_epi8(x, VK256(k, VK_AMP));
  __m256i gt = _mm256_cmpeq_epi8(x, VK256(k, VK_GT));
  __m256i c1f = VK256(k, VK_1F);
  __m256i ctl = _mm256_cmpeq_epi8(_mm256_max_epu8(x, c1f), c1f);  // x <= 0x1F
  __m256i tabnl = _mm256_or_si256(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('\t')),
                                  _mm256_cmpeq_epi8(x, _mm256_set1_epi8('\n')));
  __m256i common = _mm256_or_si256(_mm256_or_si256(lt, amp), gt);
  __m256i l = _mm256_sub_epi8(_mm256_or_si256(x, VK256(k, VK_SP)), VK256(k, VK_A));
  __m256i d = _mm256_sub_epi8(x, VK256(k, VK_0));
  __m256i nc = _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(l, VK256(k, VK_25)), l),
                               _mm256_cmpeq_epi8(_mm256_min_epu8(d, VK256(k, VK_9)), d));
  nc =
      _mm256_or_si256(nc, _mm256_or_si256(_mm256_cmpeq_epi8(x, VK256(k, VK_US)),
                                          _mm256_or_si256(_mm256_cmpeq_epi8(x, VK256(k, VK_DASH)),
                                                          _mm256_cmpeq_epi8(x, VK256(k, VK_DOT)))));
  uint64_t name = (uint32_t)_mm256_movemask_epi8(nc);
  uint64_t text =
      (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(common, _mm256_andnot_si256(tabnl, ctl)));
  uint64_t val = (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(common, ctl));
  uint64_t sq = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, VK256(k, VK_SQ)));
  uint64_t dq = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, VK256(k, VK_DQ)));
  uint32_t hi = (uint32_t)_mm256_movemask_epi8(x);
  uint64_t err = 0;
  if ((hi | w->prev_hi) != 0) {
    __m256i e = utf8_block_errors(x, w->prev);
    err = (uint32_t) ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(e, _mm256_setzero_si256()));
  }
  w->prev = x;
  w->prev_hi = hi;
  w->name_stop |= (uint64_t)(uint32_t) ~(uint32_t)name << shift;
  w->text_stop |= text << shift;
  w->val_stop |= val << shift;
  w->sq |= sq << shift;
  w->dq |= dq << shift;
  w->err |= err << shift;
}
#else
// xidx_quarter classifies 16 bytes.
static inline __attribute__((always_inline)) void xidx_quarter(xidx *w, __m128i x, int shift) {
  const uint8_t *k = vk_table();
  __m128i lt = _mm_cmpeq_epi8(x, VK128(k, VK_LT));
  __m128i amp = _mm_cmpeq_epi8(x, VK128(k, VK_AMP));
  __m128i gt = _mm_cmpeq_epi8(x, VK128(k, VK_GT));
  __m128i c1f = VK128(k, VK_1F);
  __m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(x, c1f), c1f);  // x <= 0x1F
  __m128i tabnl =
      _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\t')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\n')));
  __m128i common = _mm_or_si128(_mm_or_si128(lt, amp), gt);
  __m128i l = _mm_sub_epi8(_mm_or_si128(x, VK128(k, VK_SP)), VK128(k, VK_A));
  __m128i d = _mm_sub_epi8(x, VK128(k, VK_0));
  __m128i nc = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(l, VK128(k, VK_25)), l),
                            _mm_cmpeq_epi8(_mm_min_epu8(d, VK128(k, VK_9)), d));
  nc = _mm_or_si128(nc, _mm_or_si128(_mm_cmpeq_epi8(x, VK128(k, VK_US)),
                                     _mm_or_si128(_mm_cmpeq_epi8(x, VK128(k, VK_DASH)),
                                                  _mm_cmpeq_epi8(x, VK128(k, VK_DOT)))));
  uint64_t name = (uint32_t)_mm_movemask_epi8(nc);
  uint64_t text = (uint32_t)_mm_movemask_epi8(_mm_or_si128(common, _mm_andnot_si128(tabnl, ctl)));
  uint64_t val = (uint32_t)_mm_movemask_epi8(_mm_or_si128(common, ctl));
  uint64_t sq = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, VK128(k, VK_SQ)));
  uint64_t dq = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, VK128(k, VK_DQ)));
  uint32_t hi = (uint32_t)_mm_movemask_epi8(x);
  uint64_t err = 0;
  if ((hi | w->prev_hi) != 0) err = (uint32_t)_mm_movemask_epi8(utf8_block_errors16(x, w->prev));
  w->prev = x;
  w->prev_hi = hi;
  w->name_stop |= (uint64_t)(~name & 0xFFFFu) << shift;
  w->text_stop |= text << shift;
  w->val_stop |= val << shift;
  w->sq |= sq << shift;
  w->dq |= dq << shift;
  w->err |= err << shift;
}
#endif

// xidx_classify builds the masks of the block at w->base. Past the end of
// the input the block reads zero bytes, which end every kind of token, so a
// token cut by the end stops there and the caller sees the end.
static __attribute__((noinline)) void xidx_classify_tail(xidx *w);
static inline __attribute__((always_inline)) void xidx_classify(xidx *w) {
  const uint8_t *b = w->s + w->base;
  if (w->n - w->base < 64) {
    xidx_classify_tail(w);
    return;
  }
  w->name_stop = w->text_stop = w->val_stop = w->sq = w->dq = w->err = 0;
#if defined(__AVX2__)
  xidx_half(w, _mm256_loadu_si256((const __m256i *)b), 0);
  xidx_half(w, _mm256_loadu_si256((const __m256i *)(b + 32)), 32);
#else
  for (int q = 0; q < 4; q++)
    xidx_quarter(w, _mm_loadu_si128((const __m128i *)(b + 16 * q)), 16 * q);
#endif
}

// xidx_classify_tail classifies the last block, cut by the end of the
// input, from a copy padded with zero bytes.
static __attribute__((noinline, unused)) void xidx_classify_tail(xidx *w) {
  uint8_t tail[64] __attribute__((aligned(32)));
  memset(tail, 0, sizeof(tail));
  memcpy(tail, w->s + w->base, w->n - w->base);
  const uint8_t *b = tail;
  w->name_stop = w->text_stop = w->val_stop = w->sq = w->dq = w->err = 0;
#if defined(__AVX2__)
  xidx_half(w, _mm256_load_si256((const __m256i *)b), 0);
  xidx_half(w, _mm256_load_si256((const __m256i *)(b + 32)), 32);
#else
  for (int q = 0; q < 4; q++)
    xidx_quarter(w, _mm_load_si128((const __m128i *)(b + 16 * q)), 16 * q);
#endif
}

// xidx_start indexes s[0, n) from its first block.
static inline __attribute__((always_inline)) void xidx_start(xidx *w, const uint8_t *s, size_t n) {
  w->s = s;
  w->n = n;
  w->base = 0;
#if defined(__AVX2__)
  w->prev = _mm256_setzero_si256();
#else
  w->prev = _mm_setzero_si128();
#endif
  w->prev_hi = 0;
  xidx_classify(w);
}

// xidx_advance moves to the next block: 0 when the block it leaves holds a
// UTF-8 error or the input ends.
static inline __attribute__((always_inline)) int xidx_advance(xidx *w) {
  if (w->err != 0 || w->n - w->base <= 64) return 0;
  w->base += 64;
  xidx_classify(w);
  return 1;
}

// The kinds of stops xidx_next finds.
enum { XIDX_NAME, XIDX_TEXT, XIDX_VAL_SQ, XIDX_VAL_DQ };

// xidx_next returns the first stop of |kind| at or after |pos| (which is not
// before the current block), or SIZE_MAX when the index stops first. A stop
// at or past w->n means the input ended.
static inline __attribute__((always_inline)) size_t xidx_next(xidx *w, int kind, size_t pos) {
  for (;;) {
    size_t rel = pos - w->base;
    if (rel < 64) {
      uint64_t m;
      switch (kind) {
        case XIDX_NAME:
          m = w->name_stop;
          break;
        case XIDX_TEXT:
          m = w->text_stop;
          break;
        case XIDX_VAL_SQ:
          m = w->val_stop | w->sq;
          break;
        default:
          m = w->val_stop | w->dq;
          break;
      }
      m &= ~0ull << rel;
      if (m != 0) return w->base + (size_t)__builtin_ctzll(m);
      pos = w->base + 64;
    }
    if (!xidx_advance(w)) return SIZE_MAX;
  }
}

// xidx_clean_before says whether the bytes before |end| (at most w->n) are
// strict UTF-8, moving the index up to the block that holds byte end - 1.
static inline __attribute__((always_inline)) int xidx_clean_before(xidx *w, size_t end) {
  while (end > w->base + 64)
    if (!xidx_advance(w)) return 0;
  size_t rel = end - w->base;
  uint64_t below = rel >= 64 ? ~0ull : (1ull << rel) - 1;
  return (w->err & below) == 0;
}
#endif

#endif  // FEDGATE_GATEWAY_XML_INDEX_H
