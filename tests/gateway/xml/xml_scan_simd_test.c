// xml_scan_simd_test.c: the SIMD text scanner of gateway/xml/xml_scan.h
// (SIMD UTF-8 validation, RFC 6120 §11.6) against the scalar decoder, on
// random mixes of ASCII, markup, valid and invalid UTF-8. Built twice: with
// -mavx2 (xml_scan_simd_test: the 32-byte lookup-table validator the AVX2
// build runs; skips on CPUs without AVX2) and without (xml_scan_simd_sse2_test:
// the 16-byte range validator of the baseline x86-64 build).
#include "gateway/xml/xml_scan.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static uint64_t st = 0x1234567887654321ull;

static uint32_t r(uint32_t n) {
  st ^= st << 13;
  st ^= st >> 7;
  st ^= st << 17;
  return (uint32_t)(st % n);
}

static const char *const kPieces[] = {
    "a",
    "hello ",
    " ",
    "<",
    "&",
    ">",
    "]",
    "\t",
    "\n",
    "\x01",
    "\x7f",
    "\xc3\xa9",
    "\xe2\x82\xac",
    "\xf0\x9f\x98\x80",
    "\xd0\xbf\xd1\x80",
    "\xe4\xb8\xad\xe6\x96\x87",
    "\xef\xbf\xbd",
    "\xf4\x8f\xbf\xbf",
    "\xed\x9f\xbf",
    "\xee\x80\x80",
    // invalid or not XML Chars
    "\xc0\xaf",
    "\xc1\xbf",
    "\xe0\x80\xaf",
    "\xed\xa0\x80",
    "\xf0\x80\x80\xaf",
    "\xf4\x90\x80\x80",
    "\xf5\x80\x80\x80",
    "\x80",
    "\xbf",
    "\xfe",
    "\xff",
    "\xc3",
    "\xe2\x82",
    "\xf0\x9f\x98",
    "\xef\xbf\xbe",
    "\xef\xbf\xbf",
};

// Reference: where the scalar rules stop and why (0 special/end, 1 cut, -1 bad).
static size_t reference(const uint8_t *s, size_t n, int *why) {
  size_t j = 0;
  *why = 0;
  while (j < n) {
    if (s[j] < 0x80) {
      if (fg_xml_byte_class[s[j]] & C_TEXT_SPECIAL) return j;
      j++;
      continue;
    }
    uint32_t cp;
    int l = utf8_decode(s + j, n - j, &cp);
    if (l == 0) {
      *why = 1;
      return j;
    }
    if (l < 0 || cp == 0xFFFE || cp == 0xFFFF) {
      *why = -1;
      return j;
    }
    j += (size_t)l;
  }
  return j;
}

#if defined(__AVX2__) || defined(__SSE2__)
// need_simd skips on CPUs without the build's SIMD level.
static void need_simd(void) {
#if defined(__AVX2__)
  if (!__builtin_cpu_supports("avx2")) skip();
#endif
  fg_xml_scan_init();
}

// simd_stop returns where the tokenizer's path (the SIMD scan, then the
// scalar run where it hands over) stops on |buf|, and why in |*why| (as
// reference does).
static size_t simd_stop(const uint8_t *buf, size_t n, int *why) {
  size_t j = scan_text_utf8(buf, 0, n);
  *why = 0;
  if (j < n && !(buf[j] < 0x80 && (fg_xml_byte_class[buf[j]] & C_TEXT_SPECIAL)))
    j = utf8_text_run(buf, j, n, why);
  return j;
}

static void test_rfc6120_11_6_simd_scan_matches_scalar(void **state) {
  (void)state;
  need_simd();
  uint8_t buf[400];
  for (int iter = 0; iter < 300000; iter++) {
    size_t n = 0;
    int bad_rate = 1 + (int)r(40);
    while (n < 300) {
      uint32_t k = r(100) < (uint32_t)bad_rate ? r(36) : r(20);
      if (k < 10 && r(4) != 0) k = 1 + r(2) * 10;  // mostly text, not markup
      const char *p = kPieces[k];
      size_t l = strlen(p);
      if (k == 9) l = 1;
      if (n + l > sizeof(buf) - 1) break;
      memcpy(buf + n, p, l);
      n += l;
      if (r(30) == 0) break;
    }
    int why, got_why;
    size_t want = reference(buf, n, &why);
    size_t j = simd_stop(buf, n, &got_why);
    if (j != want || got_why != why)
      fail_msg("iteration %d: scalar stops at %zu (%d), SIMD path at %zu (%d)", iter, want, why, j,
               got_why);
  }
}

// check_at writes the 4 bytes |seq| at |off| into ASCII text and compares
// where the SIMD path and the scalar rules stop and why.
static void check_at(const uint8_t seq[4], size_t off) {
  uint8_t buf[96];
  memset(buf, 'a', sizeof(buf));
  memcpy(buf + off, seq, 4);
  int why, got_why;
  size_t want = reference(buf, sizeof(buf), &why);
  size_t j = simd_stop(buf, sizeof(buf), &got_why);
  if (j != want || got_why != why)
    fail_msg("%02x %02x %02x %02x at %zu: scalar stops at %zu (%d), SIMD path at %zu (%d)", seq[0],
             seq[1], seq[2], seq[3], off, want, why, j, got_why);
}

// RFC 3629 §4 (and XML 1.0 §2.2 for U+FFFE/U+FFFF): every non-ASCII lead
// byte with every second byte (the rest of the sequence valid continuation
// bytes), at every offset of two SIMD blocks and across the block edges.
static void test_rfc3629_4_every_lead_and_second_byte_at_every_offset(void **state) {
  (void)state;
  need_simd();
  for (unsigned lead = 0x80; lead <= 0xFF; lead++)
    for (unsigned b1 = 0; b1 <= 0xFF; b1++)
      for (size_t off = 0; off < 68; off++) {
        const uint8_t seq[4] = {(uint8_t)lead, (uint8_t)b1, 0x80, 0xBF};
        check_at(seq, off);
      }
}

// The same for the third byte of every three- and four-byte lead with a
// valid second byte at the edges of its range, around the 16- and 32-byte
// block edges (EF BF BE and EF BF BF are not XML Chars).
static void test_rfc3629_4_every_third_byte_at_block_edges(void **state) {
  (void)state;
  need_simd();
  static const uint8_t kSecond[] = {0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF};
  for (unsigned lead = 0xE0; lead <= 0xF4; lead++)
    for (size_t k = 0; k < sizeof(kSecond); k++)
      for (unsigned b2 = 0; b2 <= 0xFF; b2++)
        for (size_t off = 12; off < 36; off++) {
          const uint8_t seq[4] = {(uint8_t)lead, kSecond[k], (uint8_t)b2, 0xBF};
          check_at(seq, off);
        }
}

#else
// Without SIMD scanners there is nothing to compare.
static void test_rfc6120_11_6_simd_scan_matches_scalar(void **state) {
  (void)state;
  skip();
}

#endif

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rfc6120_11_6_simd_scan_matches_scalar),
#if defined(__AVX2__) || defined(__SSE2__)
    cmocka_unit_test(test_rfc3629_4_every_lead_and_second_byte_at_every_offset),
    cmocka_unit_test(test_rfc3629_4_every_third_byte_at_block_edges),
#endif
  };
  return cmocka_run_group_tests_name("xml_parser_simd", tests, NULL, NULL);
}
