// xml_scan.h: the byte scanners of the XML parser (not a public interface).
// They find the next byte the tokenizer must look at: the end of a run of
// character data or of an attribute value, 32 bytes at a time with AVX2, 16
// with SSE2, else one at a time through the byte class table, validating
// UTF-8 on the way (RFC 6120 §11.6). The tokenizer calls them once per run of
// text, in its inner loop, so they are static inline.
#ifndef FEDGATE_GATEWAY_XML_SCAN_H
#define FEDGATE_GATEWAY_XML_SCAN_H

#include <stddef.h>
#include <stdint.h>

#if defined(__AVX2__) || defined(__SSE2__)
#include <immintrin.h>
#endif

#include "gateway/xml/xml_internal.h"

// The classes of a byte (bits of fg_xml_byte_class).
enum { C_NAMESTART = 1, C_NAMECHAR = 2, C_WS = 4, C_TEXT_SPECIAL = 8, C_ATTR_SPECIAL = 16 };

// fg_xml_byte_class holds the classes of every byte once fg_xml_scan_init
// has run.
extern uint8_t fg_xml_byte_class[256];

// fg_xml_scan_init fills fg_xml_byte_class. It runs the filling once per
// process, whichever thread calls first: parsers are created on every worker
// thread.
void fg_xml_scan_init(void);

#if defined(__SSE2__)
// The scanners' vector constants, one 32-byte row each (the SSE2 code reads
// the first 16 bytes). They are read from memory through a pointer the
// compiler cannot see through (vk_table): a compiler that knows a uniform
// constant rebuilds it from an immediate with two or three instructions,
// and in the scanners' loops, short of vector registers, it did so on every
// iteration; from memory each is one load folded into the comparison.
#define VK_REP8(x) x, x, x, x, x, x, x, x
#define VK_ROW(x) \
  { VK_REP8(x), VK_REP8(x), VK_REP8(x), VK_REP8(x) }
enum {
  VK_LT,
  VK_AMP,
  VK_GT,
  VK_RSB,
  VK_SQ,
  VK_DQ,
  VK_1F,
  VK_SP,
  VK_LO4,
  VK_E0_MINUS_80,
  VK_F0_MINUS_80,
  VK_80,
  VK_EF,
  VK_BF,
  VK_BE,
  VK_A,
  VK_25,
  VK_0,
  VK_9,
  VK_US,
  VK_DASH,
  VK_DOT,
  VK_EQ,
  VK_COLON,
  VK_COUNT
};
static const uint8_t fg_xml_vk[VK_COUNT][32] __attribute__((aligned(32), unused)) = {
    [VK_LT] = VK_ROW('<'),
    [VK_AMP] = VK_ROW('&'),
    [VK_GT] = VK_ROW('>'),
    [VK_RSB] = VK_ROW(']'),
    [VK_SQ] = VK_ROW('\''),
    [VK_DQ] = VK_ROW('"'),
    [VK_1F] = VK_ROW(0x1F),
    [VK_SP] = VK_ROW(0x20),
    [VK_LO4] = VK_ROW(0x0F),
    [VK_E0_MINUS_80] = VK_ROW(0x60),
    [VK_F0_MINUS_80] = VK_ROW(0x70),
    [VK_80] = VK_ROW(0x80),
    [VK_EF] = VK_ROW(0xEF),
    [VK_BF] = VK_ROW(0xBF),
    [VK_BE] = VK_ROW(0xBE),
    [VK_A] = VK_ROW('a'),
    [VK_25] = VK_ROW(25),
    [VK_0] = VK_ROW('0'),
    [VK_9] = VK_ROW(9),
    [VK_US] = VK_ROW('_'),
    [VK_DASH] = VK_ROW('-'),
    [VK_DOT] = VK_ROW('.'),
    [VK_EQ] = VK_ROW('='),
    [VK_COLON] = VK_ROW(':'),
};
#undef VK_ROW
#undef VK_REP8

static inline const uint8_t *vk_table(void) {
  const uint8_t *t = &fg_xml_vk[0][0];
  __asm__("" : "+r"(t));
  return t;
}
#define VK128(t, k) _mm_load_si128((const __m128i *)((t) + 32 * (k)))
#if defined(__AVX2__)
#define VK256(t, k) _mm256_load_si256((const __m256i *)((t) + 32 * (k)))
#endif
#endif

static inline int is_ws(uint8_t c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

// scan_name returns the index of the first byte at or after |i| (below
// |lim|) that is not an ASCII NameChar of XML 1.0 §2.3 (letters, digits, `_`,
// `-`, `.`; the colon is the QName reader's business), 16 bytes at a time.
static inline size_t scan_name(const uint8_t *s, size_t i, size_t lim) {
#if defined(__SSE2__)
  const uint8_t *k = vk_table();
  const __m128i fold = VK128(k, VK_SP), a = VK128(k, VK_A), z = VK128(k, VK_25);
  const __m128i d0 = VK128(k, VK_0), d9 = VK128(k, VK_9);
  const __m128i us = VK128(k, VK_US), dash = VK128(k, VK_DASH), dot = VK128(k, VK_DOT);
  while (i + 16 <= lim) {
    __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
    // Unsigned range tests: x - lo <= hi - lo.
    __m128i l = _mm_sub_epi8(_mm_or_si128(x, fold), a);
    __m128i d = _mm_sub_epi8(x, d0);
    __m128i m =
        _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(l, z), l), _mm_cmpeq_epi8(_mm_min_epu8(d, d9), d));
    m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(x, us), _mm_or_si128(_mm_cmpeq_epi8(x, dash),
                                                                         _mm_cmpeq_epi8(x, dot))));
    uint32_t stop = ~(uint32_t)_mm_movemask_epi8(m) & 0xFFFFu;
    if (stop != 0) return i + (size_t)__builtin_ctz(stop);
    i += 16;
  }
#endif
  while (i < lim && (fg_xml_byte_class[s[i]] & C_NAMECHAR)) i++;
  return i;
}

// name_before_eq reads the common attribute name from the 16 bytes at |s|
// (all readable; |s[0]| an ASCII NameStartChar): ASCII NameChars with at
// most one colon, neither first nor right before `=`, up to an `=` among
// those bytes. It returns the offset of the `=`, with the colon's offset in
// |*colon| (-1: none; the caller checks that a NameStartChar follows it), or
// 0 when the bytes hold no such name. The `=`, the colon and the bytes that
// are not NameChars come from one load and three masks, so the name's end
// is known without a scan to its end and a load of the byte there.
static inline size_t name_before_eq(const uint8_t *s, int32_t *colon) {
#if defined(__SSE2__)
  const uint8_t *k = vk_table();
  __m128i x = _mm_loadu_si128((const __m128i *)s);
  __m128i l = _mm_sub_epi8(_mm_or_si128(x, VK128(k, VK_SP)), VK128(k, VK_A));
  __m128i d = _mm_sub_epi8(x, VK128(k, VK_0));
  __m128i z = VK128(k, VK_25), d9 = VK128(k, VK_9);
  __m128i m =
      _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(l, z), l), _mm_cmpeq_epi8(_mm_min_epu8(d, d9), d));
  m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(x, VK128(k, VK_US)),
                                   _mm_or_si128(_mm_cmpeq_epi8(x, VK128(k, VK_DASH)),
                                                _mm_cmpeq_epi8(x, VK128(k, VK_DOT)))));
  uint32_t nc = (uint32_t)_mm_movemask_epi8(m);
  uint32_t eq = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, VK128(k, VK_EQ)));
  uint32_t co = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, VK128(k, VK_COLON)));
  if (eq == 0) return 0;
  unsigned e = (unsigned)__builtin_ctz(eq);
  uint32_t below = (1u << e) - 1, c = co & below;
  if ((~(nc | co) & below) != 0 || (c & (c - 1)) != 0) return 0;
  *colon = -1;
  if (c != 0) {
    unsigned cp = (unsigned)__builtin_ctz(c);
    if (cp == 0 || cp + 1 >= e) return 0;
    *colon = (int32_t)cp;
  }
  return e;
#else
  (void)s;
  (void)colon;
  return 0;
#endif
}

// scan_text returns the index of the first byte at or after |i| that character
// data cannot skip: markup, references, `>`/`]` (for `]]>`), controls
// (including CR, TAB, LF, which the slow path handles) and non-ASCII.
static inline size_t scan_text(const uint8_t *s, size_t i, size_t n) {
#if defined(__AVX2__)
  const __m256i lt = _mm256_set1_epi8('<'), amp = _mm256_set1_epi8('&');
  const __m256i gt = _mm256_set1_epi8('>'), rsb = _mm256_set1_epi8(']');
  const __m256i sp = _mm256_set1_epi8(0x20);
  while (i + 32 <= n) {
    __m256i x = _mm256_loadu_si256((const __m256i *)(s + i));
    __m256i m =
        _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(x, lt), _mm256_cmpeq_epi8(x, amp)),
                        _mm256_or_si256(_mm256_cmpeq_epi8(x, gt), _mm256_cmpeq_epi8(x, rsb)));
    m = _mm256_or_si256(m, _mm256_cmpgt_epi8(sp, x));  // signed: < 0x20 or >= 0x80
    uint32_t mask = (uint32_t)_mm256_movemask_epi8(m);
    if (mask != 0) return i + (size_t)__builtin_ctz(mask);
    i += 32;
  }
#endif
#if defined(__SSE2__)
  {
    const __m128i lt = _mm_set1_epi8('<'), amp = _mm_set1_epi8('&');
    const __m128i gt = _mm_set1_epi8('>'), rsb = _mm_set1_epi8(']');
    const __m128i sp = _mm_set1_epi8(0x20);
    while (i + 16 <= n) {
      __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
      __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, lt), _mm_cmpeq_epi8(x, amp)),
                               _mm_or_si128(_mm_cmpeq_epi8(x, gt), _mm_cmpeq_epi8(x, rsb)));
      m = _mm_or_si128(m, _mm_cmplt_epi8(x, sp));
      uint32_t mask = (uint32_t)_mm_movemask_epi8(m);
      if (mask != 0) return i + (size_t)__builtin_ctz(mask);
      i += 16;
    }
  }
#endif
  while (i < n && !(fg_xml_byte_class[s[i]] & C_TEXT_SPECIAL)) i++;
  return i;
}

#if defined(__AVX2__) || defined(__SSE2__)
// seq_start returns the start of a UTF-8 sequence that begins before |i|
// (not before |i0|) and continues at |i|, else |i|.
static inline size_t seq_start(const uint8_t *s, size_t i0, size_t i) {
  for (size_t j = i; j > i0 && i - j < 3;) {
    j--;
    uint8_t c = s[j];
    if ((c & 0xC0) == 0x80) continue;
    if (c >= 0xC0) {
      size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      if (j + len > i) return j;
    }
    break;
  }
  return i;
}
#endif

#if defined(__AVX2__)
// SIMD UTF-8 validation after Keiser and Lemire, "Validating UTF-8 in less
// than one instruction per byte" (2021): three nibble lookups classify each
// byte pair, and two saturating subtractions say where a third or fourth
// byte of a sequence must be. Written here from the paper's description.
enum {
  U8_TOO_SHORT = 1 << 0,
  U8_TOO_LONG = 1 << 1,
  U8_OVERLONG_3 = 1 << 2,
  U8_TOO_LARGE = 1 << 3,
  U8_SURROGATE = 1 << 4,
  U8_OVERLONG_2 = 1 << 5,
  U8_TOO_LARGE_1000 = 1 << 6,
  U8_OVERLONG_4 = 1 << 6,
  U8_TWO_CONTS = 1 << 7,
  U8_CARRY = U8_TOO_SHORT | U8_TOO_LONG | U8_TWO_CONTS,
};

#define U8_PREV(in, pr, N) _mm256_alignr_epi8(in, _mm256_permute2x128_si256(pr, in, 0x21), 16 - (N))
#define U8_REP16(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p)                          \
  (char)(a), (char)(b), (char)(c), (char)(d), (char)(e), (char)(f), (char)(g), (char)(h), \
      (char)(i), (char)(j), (char)(k), (char)(l), (char)(m), (char)(n), (char)(o), (char)(p)

// utf8_block_errors returns non-zero bytes where the 32 bytes |in|, preceded
// by |prev|, are not strict UTF-8 or encode U+FFFE/U+FFFF (not XML Chars).
static inline __m256i utf8_block_errors(__m256i in, __m256i prev) {
#define T1                                                                                   \
  U8_REP16(U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG,     \
           U8_TOO_LONG, U8_TOO_LONG, U8_TWO_CONTS, U8_TWO_CONTS, U8_TWO_CONTS, U8_TWO_CONTS, \
           U8_TOO_SHORT | U8_OVERLONG_2, U8_TOO_SHORT,                                       \
           U8_TOO_SHORT | U8_OVERLONG_3 | U8_SURROGATE,                                      \
           U8_TOO_SHORT | U8_TOO_LARGE | U8_TOO_LARGE_1000 | U8_OVERLONG_4)
#define L_ (U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000)
#define T2                                                                                     \
  U8_REP16(U8_CARRY | U8_OVERLONG_3 | U8_OVERLONG_2 | U8_OVERLONG_4, U8_CARRY | U8_OVERLONG_2, \
           U8_CARRY, U8_CARRY, U8_CARRY | U8_TOO_LARGE, L_, L_, L_, L_, L_, L_, L_, L_,        \
           L_ | U8_SURROGATE, L_, L_)
#define C_ (U8_TOO_LONG | U8_OVERLONG_2 | U8_TWO_CONTS)
#define T3                                                                                     \
  U8_REP16(U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, \
           U8_TOO_SHORT, U8_TOO_SHORT, C_ | U8_OVERLONG_3 | U8_TOO_LARGE_1000 | U8_OVERLONG_4, \
           C_ | U8_OVERLONG_3 | U8_TOO_LARGE, C_ | U8_SURROGATE | U8_TOO_LARGE,                \
           C_ | U8_SURROGATE | U8_TOO_LARGE, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT,         \
           U8_TOO_SHORT)
  const __m256i t1 = _mm256_setr_epi8(T1, T1), t2 = _mm256_setr_epi8(T2, T2);
  const __m256i t3 = _mm256_setr_epi8(T3, T3);
#undef T1
#undef T2
#undef T3
#undef L_
#undef C_
  const uint8_t *k = vk_table();
  const __m256i lo4 = VK256(k, VK_LO4);
  __m256i p1 = U8_PREV(in, prev, 1);
  __m256i b1h = _mm256_shuffle_epi8(t1, _mm256_and_si256(_mm256_srli_epi16(p1, 4), lo4));
  __m256i b1l = _mm256_shuffle_epi8(t2, _mm256_and_si256(p1, lo4));
  __m256i b2h = _mm256_shuffle_epi8(t3, _mm256_and_si256(_mm256_srli_epi16(in, 4), lo4));
  __m256i special = _mm256_and_si256(_mm256_and_si256(b1h, b1l), b2h);
  __m256i p2 = U8_PREV(in, prev, 2), p3 = U8_PREV(in, prev, 3);
  __m256i third = _mm256_subs_epu8(p2, VK256(k, VK_E0_MINUS_80));
  __m256i fourth = _mm256_subs_epu8(p3, VK256(k, VK_F0_MINUS_80));
  __m256i must = _mm256_and_si256(_mm256_or_si256(third, fourth), VK256(k, VK_80));
  __m256i err = _mm256_xor_si256(must, special);
  // EF BF BE and EF BF BF are U+FFFE and U+FFFF.
  __m256i nc = _mm256_and_si256(_mm256_and_si256(_mm256_cmpeq_epi8(p2, VK256(k, VK_EF)),
                                                 _mm256_cmpeq_epi8(p1, VK256(k, VK_BF))),
                                _mm256_cmpeq_epi8(_mm256_max_epu8(in, VK256(k, VK_BE)), in));
  return _mm256_or_si256(err, nc);
}

// scan_text_utf8 is scan_text that also validates non-ASCII text: it returns
// the first special ASCII byte at or after |i| (all bytes before it being
// valid), or a sequence boundary from which the scalar path must continue
// (near the end of the input, or where the block holds an error). |i| must be
// a sequence boundary.
static inline size_t scan_text_utf8(const uint8_t *s, size_t i, size_t n) {
  const size_t i0 = i;
  const uint8_t *k = vk_table();
  const __m256i lt = VK256(k, VK_LT), amp = VK256(k, VK_AMP);
  const __m256i gt = VK256(k, VK_GT), rsb = VK256(k, VK_RSB);
  const __m256i c1f = VK256(k, VK_1F), zero = _mm256_setzero_si256();
  __m256i prev = zero;
  uint32_t prev_hi = 0;
  while (i + 32 <= n) {
    __m256i x = _mm256_loadu_si256((const __m256i *)(s + i));
    __m256i m =
        _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(x, lt), _mm256_cmpeq_epi8(x, amp)),
                        _mm256_or_si256(_mm256_cmpeq_epi8(x, gt), _mm256_cmpeq_epi8(x, rsb)));
    m = _mm256_or_si256(m, _mm256_cmpeq_epi8(_mm256_max_epu8(x, c1f), c1f));  // x <= 0x1F
    uint32_t smask = (uint32_t)_mm256_movemask_epi8(m);
    uint32_t hi = (uint32_t)_mm256_movemask_epi8(x);
    if ((hi | prev_hi) != 0) {
      __m256i err = utf8_block_errors(x, prev);
      uint32_t emask = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(err, zero));
      uint64_t upto = smask ? ((uint64_t)(smask & -smask) << 1) - 1 : 0xFFFFFFFFull;
      if (emask & (uint32_t)upto) return seq_start(s, i0, i);
    }
    if (smask != 0) return i + (size_t)__builtin_ctz(smask);
    prev = x;
    prev_hi = hi;
    i += 32;
  }
  return seq_start(s, i0, i);
}
#elif defined(__SSE2__)
// The baseline x86-64 build has no byte shuffle (SSSE3) for the lookup
// tables above, so it checks UTF-8 by byte ranges, 16 bytes at a time:
// every byte after a lead byte must be a continuation byte and no other
// byte may be one, lead bytes C0, C1 and F5-FF do not occur, and the second
// byte of an E0, ED, F0 or F4 sequence is in its narrower range (RFC 3629
// §4: no overlongs, surrogates or code points above U+10FFFF); EF BF BE and
// EF BF BF (U+FFFE, U+FFFF) are not XML Chars. The bytes one, two and three
// places back come from unaligned loads, not from byte shifts across the
// previous block: shifts are shuffles, which x86 cores run on one port, and
// nine of them per block measured 1.02x slower than the loads.

static inline __m128i u8_eq(__m128i x, uint8_t k) {
  return _mm_cmpeq_epi8(x, _mm_set1_epi8((char)k));
}

// u8_at_least returns bytes whose high bit says x >= k (unsigned, k >= 0x80):
// a saturating subtraction of k - 0x80 leaves 0x80 or more exactly there.
static inline __m128i u8_at_least(__m128i x, uint8_t k) {
  return _mm_subs_epu8(x, _mm_set1_epi8((char)(k - 0x80)));
}

// utf8_block_errors16 returns the bits of the bytes of the 16 bytes |in|
// that break strict UTF-8 or encode U+FFFE/U+FFFF, given the bytes one, two
// and three places before each (|p1|, |p2|, |p3|). A sequence cut by the end
// of |in| shows up in the next block.
static inline uint32_t utf8_block_errors16(__m128i in, __m128i p1, __m128i p2, __m128i p3) {
  // A continuation byte (80-BF: -128..-65 as signed bytes) where and only
  // where a lead byte 1, 2 or 3 back calls for one.
  __m128i cont = _mm_cmplt_epi8(in, _mm_set1_epi8((char)0xC0));
  __m128i must = _mm_or_si128(_mm_or_si128(u8_at_least(p1, 0xC0), u8_at_least(p2, 0xE0)),
                              u8_at_least(p3, 0xF0));
  __m128i v = _mm_xor_si128(cont, must);
  // Lead bytes that never occur: C0, C1 (overlong) and F5-FF.
  __m128i c0c1 =
      _mm_cmpeq_epi8(_mm_and_si128(in, _mm_set1_epi8((char)0xFE)), _mm_set1_epi8((char)0xC0));
  v = _mm_or_si128(v, _mm_or_si128(c0c1, u8_at_least(in, 0xF5)));
  // The second byte after E0 (A0-BF: no overlong), ED (80-9F: no
  // surrogate), F0 (90-BF: no overlong) and F4 (80-8F: not above
  // U+10FFFF). Only continuation bytes matter here, the others being errors
  // already: below A0 and below 90 are signed comparisons among them.
  __m128i below_a0 = _mm_cmplt_epi8(in, _mm_set1_epi8((char)0xA0));
  __m128i below_90 = _mm_cmplt_epi8(in, _mm_set1_epi8((char)0x90));
  __m128i e3 = _mm_or_si128(_mm_and_si128(u8_eq(p1, 0xE0), below_a0),
                            _mm_andnot_si128(below_a0, u8_eq(p1, 0xED)));
  __m128i e4 = _mm_or_si128(_mm_and_si128(u8_eq(p1, 0xF0), below_90),
                            _mm_andnot_si128(below_90, u8_eq(p1, 0xF4)));
  v = _mm_or_si128(v, _mm_or_si128(e3, e4));
  uint32_t err = (uint32_t)_mm_movemask_epi8(v);
  // EF BF BE and EF BF BF (U+FFFE and U+FFFF), where the bytes two back
  // hold an EF at all (rare in text: U+F000-U+FFFF).
  __m128i ef = u8_eq(p2, 0xEF);
  if (_mm_movemask_epi8(ef) != 0)
    err |= (uint32_t)_mm_movemask_epi8(
        _mm_and_si128(_mm_and_si128(ef, u8_eq(p1, 0xBF)), u8_at_least(in, 0xBE)));
  return err;
}

// scan_text_utf8 is scan_text that also validates non-ASCII text, 16 bytes
// at a time: it returns the first special ASCII byte at or after |i| (all
// bytes before it being valid), or a sequence boundary from which the scalar
// path must continue (near the end of the input, or where the block holds an
// error). |i| must be a sequence boundary.
static inline size_t scan_text_utf8(const uint8_t *s, size_t i, size_t n) {
  const size_t i0 = i;
  // `<` and `>` differ in bit 1 only: one comparison after setting it.
  const __m128i b1 = _mm_set1_epi8(0x02), ltgt = _mm_set1_epi8('>'), amp = _mm_set1_epi8('&');
  const __m128i rsb = _mm_set1_epi8(']'), sp = _mm_set1_epi8(0x20);
  uint32_t prev_hi = 0;
  while (i + 16 <= n) {
    __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
    __m128i m = _mm_or_si128(_mm_cmpeq_epi8(_mm_or_si128(x, b1), ltgt),
                             _mm_or_si128(_mm_cmpeq_epi8(x, amp), _mm_cmpeq_epi8(x, rsb)));
    // Below 0x20 as signed bytes: the C0 controls and the bytes above 0x7F,
    // which the mask of the latter takes out again.
    m = _mm_or_si128(m, _mm_cmplt_epi8(x, sp));
    uint32_t hi = (uint32_t)_mm_movemask_epi8(x);
    uint32_t smask = (uint32_t)_mm_movemask_epi8(m) & ~hi;
    if ((hi | prev_hi) != 0) {
      // At the first block the bytes before |i0| count as ASCII (|i0| is a
      // sequence boundary; they may not be readable).
      __m128i p1, p2, p3;
      if (i == i0) {
        p1 = _mm_slli_si128(x, 1);
        p2 = _mm_slli_si128(x, 2);
        p3 = _mm_slli_si128(x, 3);
      } else {
        p1 = _mm_loadu_si128((const __m128i *)(s + i - 1));
        p2 = _mm_loadu_si128((const __m128i *)(s + i - 2));
        p3 = _mm_loadu_si128((const __m128i *)(s + i - 3));
      }
      uint32_t emask = utf8_block_errors16(x, p1, p2, p3);
      uint32_t upto = smask ? ((smask & -smask) << 1) - 1 : 0xFFFFu;
      if (emask & upto) return seq_start(s, i0, i);
    }
    if (smask != 0) return i + (size_t)__builtin_ctz(smask);
    prev_hi = hi;
    i += 16;
  }
  return seq_start(s, i0, i);
}
#endif

// scan_attr is scan_text for attribute values quoted with |q|.
static inline size_t scan_attr(const uint8_t *s, size_t i, size_t n, uint8_t q) {
#if defined(__AVX2__)
  const uint8_t *k = vk_table();
  const __m256i lt = VK256(k, VK_LT), amp = VK256(k, VK_AMP);
  // Two constants rather than a broadcast of |q| on every call.
  const __m256i gt = VK256(k, VK_GT);
  const __m256i qq = VK256(k, q == '\'' ? VK_SQ : VK_DQ);
  const __m256i sp = VK256(k, VK_SP);
  while (i + 32 <= n) {
    __m256i x = _mm256_loadu_si256((const __m256i *)(s + i));
    __m256i m =
        _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(x, lt), _mm256_cmpeq_epi8(x, amp)),
                        _mm256_or_si256(_mm256_cmpeq_epi8(x, gt), _mm256_cmpeq_epi8(x, qq)));
    m = _mm256_or_si256(m, _mm256_cmpgt_epi8(sp, x));
    uint32_t mask = (uint32_t)_mm256_movemask_epi8(m);
    if (mask != 0) return i + (size_t)__builtin_ctz(mask);
    i += 32;
  }
#endif
#if defined(__SSE2__)
  {
#if defined(__AVX2__)
    const __m128i lt = _mm_set1_epi8('<'), amp = _mm_set1_epi8('&');
    const __m128i gt = _mm_set1_epi8('>'), qq = _mm_set1_epi8((char)q);
    const __m128i sp = _mm_set1_epi8(0x20);
#else
    // From the table: without AVX2 a broadcast of |q| costs four
    // instructions on every call (measured 1.04x on the baseline copy).
    const uint8_t *k = vk_table();
    const __m128i lt = VK128(k, VK_LT), amp = VK128(k, VK_AMP);
    const __m128i gt = VK128(k, VK_GT), qq = VK128(k, q == '\'' ? VK_SQ : VK_DQ);
    const __m128i sp = VK128(k, VK_SP);
#endif
    while (i + 16 <= n) {
      __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
      __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, lt), _mm_cmpeq_epi8(x, amp)),
                               _mm_or_si128(_mm_cmpeq_epi8(x, gt), _mm_cmpeq_epi8(x, qq)));
      m = _mm_or_si128(m, _mm_cmplt_epi8(x, sp));
      uint32_t mask = (uint32_t)_mm_movemask_epi8(m);
      if (mask != 0) return i + (size_t)__builtin_ctz(mask);
      i += 16;
    }
  }
#endif
  // The other quote character is ordinary data.
  while (i < n && (!(fg_xml_byte_class[s[i]] & C_ATTR_SPECIAL) ||
                   ((s[i] == '\'' || s[i] == '"') && s[i] != q)))
    i++;
  return i;
}

// utf8_text_run consumes character data from |i|: ASCII bytes that are not
// C_TEXT_SPECIAL and strict UTF-8 sequences of XML Chars. It returns where it
// stopped with |*st| 0 (at a special ASCII byte or the end), 1 (a sequence is
// cut by the end of the input: wait at it) or -1 (invalid sequence at it).
static inline size_t utf8_text_run(const uint8_t *s, size_t i, size_t n, int *st) {
  *st = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      if (fg_xml_byte_class[c] & C_TEXT_SPECIAL) return i;
      i++;
      continue;
    }
    if (c >= 0xC2 && c < 0xE0 && i + 1 < n) {
      if ((s[i + 1] & 0xC0) != 0x80) break;
      i += 2;
      continue;
    }
    if (c >= 0xE0 && c < 0xF0 && i + 2 < n) {
      uint8_t b1 = s[i + 1], b2 = s[i + 2];
      uint8_t lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
      if (b1 < lo || b1 > hi || (b2 & 0xC0) != 0x80) break;
      if (c == 0xEF && b1 == 0xBF && b2 >= 0xBE) break;  // U+FFFE, U+FFFF
      i += 3;
      continue;
    }
    if (c >= 0xF0 && c < 0xF5 && i + 3 < n) {
      uint8_t b1 = s[i + 1];
      uint8_t lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
      if (b1 < lo || b1 > hi || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80) break;
      i += 4;
      continue;
    }
    break;
  }
  if (i >= n) return i;
  // Slow path: an invalid lead byte, or a sequence near the end of the input.
  uint32_t cp;
  int l = utf8_decode(s + i, n - i, &cp);
  if (l == 0)
    *st = 1;
  else if (l < 0 || cp == 0xFFFE || cp == 0xFFFF)
    *st = -1;
  else
    return utf8_text_run(s, i + (size_t)l, n, st);
  return i;
}

#endif  // FEDGATE_GATEWAY_XML_SCAN_H
