// xml_scan_test.c: the byte scanners of gateway/xml/xml_scan.h against the rules
// they stand for: the byte classes (XML 1.0 §2.3 names and white space),
// where character data (§2.4) and attribute values (§3.1) must stop for the
// tokenizer, and strict UTF-8 in text (RFC 3629; RFC 6120 §11.6; XML 1.0 §2.2
// Char). Built twice: as is (SSE2 and the scalar tails) and with -mavx2
// (xml_scan_avx2_test, which skips on CPUs without AVX2).
#include "gateway/xml/xml_scan.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

// r returns a pseudo-random number below |n|, from a fixed sequence (seeded in
// group_setup) so that a failure reproduces.
static uint32_t r(uint32_t n) {
  return (uint32_t)random() % n;
}

// The rules, written from the specifications rather than from the table.
static int text_stops_at(uint8_t c) {
  return c < 0x20 || c >= 0x80 || c == '<' || c == '&' || c == '>' || c == ']';
}

static int attr_stops_at(uint8_t c, uint8_t q) {
  return c < 0x20 || c >= 0x80 || c == '<' || c == '&' || c == '>' || c == q;
}

// A byte for a random buffer: mostly plain text, sometimes a byte that some
// scanner must stop at, including both quotes and the class edges.
static uint8_t random_byte(void) {
  static const uint8_t kEdges[] = {'<',  '&',  '>',  ']',  '\'', '"',  '\t', '\n', '\r', 0x00,
                                   0x01, 0x1F, 0x20, 0x7E, 0x7F, 0x80, 0xBF, 0xC3, 0xEF, 0xFF};
  if (r(8) != 0) return (uint8_t)("abc xyz.,-:;=/09AZ"[r(18)]);
  return kEdges[r(sizeof(kEdges))];
}

static int group_setup(void **state) {
  (void)state;
  srandom(20261122);
  fg_xml_scan_init();
  return 0;
}

static void skip_without_avx2(void) {
#if defined(__AVX2__)
  if (!__builtin_cpu_supports("avx2")) skip();
#endif
}

// XML 1.0 §2.3: NameStartChar and NameChar (ASCII part, without the colon,
// which the QName reader handles) and S.
static void test_xml_1_0_2_3_byte_classes(void **state) {
  (void)state;
  skip_without_avx2();
  for (int c = 0; c < 256; c++) {
    int start = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    int name = start || (c >= '0' && c <= '9') || c == '-' || c == '.';
    int ws = c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A;
    uint8_t k = fg_xml_byte_class[c];
    if (!!(k & C_NAMESTART) != start || !!(k & C_NAMECHAR) != name || !!(k & C_WS) != ws ||
        !!(k & C_TEXT_SPECIAL) != text_stops_at((uint8_t)c) ||
        !!(k & C_ATTR_SPECIAL) != (attr_stops_at((uint8_t)c, '\'') || c == '"'))
      fail_msg("byte 0x%02x has classes 0x%02x", c, k);
    assert_int_equal(is_ws((uint8_t)c), ws);
  }
}

// XML 1.0 §2.4: scan_text stops at the first byte character data cannot
// skip, from any start and end (whole vector blocks, tails, empty ranges).
static void test_xml_1_0_2_4_scan_text_stops_at_first_special(void **state) {
  (void)state;
  skip_without_avx2();
  uint8_t buf[160];
  for (int iter = 0; iter < 200000; iter++) {
    size_t n = r(sizeof(buf) + 1), i = r((uint32_t)n + 1);
    for (size_t k = 0; k < n; k++) buf[k] = r(4) ? (uint8_t)('a' + r(26)) : random_byte();
    if (r(2))  // long runs: the vector loops
      for (size_t k = i; k < n; k++) buf[k] = 'a';
    size_t want = i;
    while (want < n && !text_stops_at(buf[want])) want++;
    size_t got = scan_text(buf, i, n);
    if (got != want)
      fail_msg("iteration %d: [%zu, %zu) stops at %zu, want %zu", iter, i, n, got, want);
  }
}

// XML 1.0 §2.3: scan_name stops at the first byte that is not an ASCII
// NameChar (the colon and non-ASCII bytes included), never past its limit.
static int name_char(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

static void test_xml_1_0_2_3_scan_name_stops_at_first_non_name_byte(void **state) {
  (void)state;
  skip_without_avx2();
  uint8_t buf[96];
  for (int c = 0; c < 256; c++) {  // every byte, at every place in a block
    for (size_t at = 0; at < 40; at++) {
      memset(buf, 'n', sizeof(buf));
      buf[at] = (uint8_t)c;
      size_t want = name_char((uint8_t)c) ? sizeof(buf) : at;
      size_t got = scan_name(buf, 0, sizeof(buf));
      if (got != want) fail_msg("byte 0x%02x at %zu: stops at %zu, want %zu", c, at, got, want);
    }
  }
  for (int iter = 0; iter < 200000; iter++) {
    size_t n = r(sizeof(buf) + 1), i = r((uint32_t)n + 1);
    for (size_t k = 0; k < n; k++) buf[k] = r(6) ? (uint8_t)("aZ09_-.xyzQ"[r(11)]) : random_byte();
    size_t lim = i + r((uint32_t)(n - i) + 1);
    size_t want = i;
    while (want < lim && name_char(buf[want])) want++;
    size_t got = scan_name(buf, i, lim);
    if (got != want)
      fail_msg("iteration %d: [%zu, %zu) stops at %zu, want %zu", iter, i, lim, got, want);
  }
}

// name_before_eq_ref is name_before_eq by the rules, byte by byte: ASCII
// NameChars and at most one colon (not first, not right before `=`), then
// `=`, all within 16 bytes; 0 otherwise.
static size_t name_before_eq_ref(const uint8_t *s, int32_t *colon) {
  int32_t c = -1;
  for (size_t e = 1; e < 16; e++) {
    if (s[e] == '=') {
      if (c >= 0 && (size_t)c + 1 >= e) return 0;
      *colon = c;
      return e;
    }
    if (s[e] == ':') {
      if (c >= 0) return 0;
      c = (int32_t)e;
      continue;
    }
    if (!name_char(s[e])) return 0;
  }
  return 0;
}

// XML 1.0 §3.1 and Namespaces in XML §3 (Attribute, QName): name_before_eq
// finds the `=` after an attribute name from one 16-byte load; every byte at
// every offset of the block, and random names and colons.
static void test_xml_1_0_3_1_name_before_eq_every_byte_at_every_offset(void **state) {
  (void)state;
  skip_without_avx2();
  uint8_t buf[16];
  for (int c = 0; c < 256; c++) {
    for (size_t at = 1; at < 16; at++) {
      for (size_t eq = 1; eq < 16; eq++) {
        memset(buf, 'n', sizeof(buf));
        buf[eq] = '=';
        buf[at] = (uint8_t)c;
        int32_t col = -7, want_col = -7;
        size_t got = name_before_eq(buf, &col), want = name_before_eq_ref(buf, &want_col);
#if !defined(__SSE2__)
        want = 0;  // the portable copy always scans
#endif
        if (got != want || (want != 0 && col != want_col))
          fail_msg("byte 0x%02x at %zu, '=' at %zu: %zu (colon %d), want %zu (colon %d)", c, at, eq,
                   got, col, want, want_col);
      }
    }
  }
  for (int iter = 0; iter < 200000; iter++) {
    buf[0] = 'a';
    for (size_t k = 1; k < 16; k++)
      buf[k] = r(5) ? (uint8_t)("aZ09_-.:=:=x"[r(12)]) : random_byte();
    int32_t col = -7, want_col = -7;
    size_t got = name_before_eq(buf, &col), want = name_before_eq_ref(buf, &want_col);
#if !defined(__SSE2__)
    want = 0;
#endif
    if (got != want || (want != 0 && col != want_col))
      fail_msg("iteration %d: %zu (colon %d), want %zu (colon %d)", iter, got, col, want, want_col);
  }
}

// XML 1.0 §3.1 (AttValue): scan_attr stops at the quote that opened the value,
// never at the other one, and at bytes the value cannot hold as they are.
static void test_xml_1_0_3_1_scan_attr_stops_at_own_quote(void **state) {
  (void)state;
  skip_without_avx2();
  uint8_t buf[160];
  for (int iter = 0; iter < 200000; iter++) {
    uint8_t q = r(2) ? '\'' : '"';
    size_t n = r(sizeof(buf) + 1), i = r((uint32_t)n + 1);
    for (size_t k = 0; k < n; k++) buf[k] = r(4) ? (uint8_t)('a' + r(26)) : random_byte();
    if (r(2))
      for (size_t k = i; k < n; k++) buf[k] = 'a';
    if (n > i && r(2)) buf[i + r((uint32_t)(n - i))] = q == '\'' ? '"' : '\'';
    size_t want = i;
    while (want < n && !attr_stops_at(buf[want], q)) want++;
    size_t got = scan_attr(buf, i, n, q);
    if (got != want)
      fail_msg("iteration %d: quote %c [%zu, %zu) stops at %zu, want %zu", iter, q, i, n, got,
               want);
  }
}

// The same, every byte at every place of two 32-byte blocks, for both
// quotes: the vector constants of each quote and of every stop byte.
static void test_xml_1_0_3_1_scan_attr_every_byte_at_every_offset(void **state) {
  (void)state;
  skip_without_avx2();
  uint8_t buf[96];
  for (int qi = 0; qi < 2; qi++) {
    uint8_t q = qi ? '"' : '\'';
    for (int c = 0; c < 256; c++)
      for (size_t at = 0; at < 68; at++) {
        memset(buf, 'v', sizeof(buf));
        buf[at] = (uint8_t)c;
        size_t want = attr_stops_at((uint8_t)c, q) ? at : sizeof(buf);
        size_t got = scan_attr(buf, 0, sizeof(buf), q);
        if (got != want)
          fail_msg("quote %c, byte 0x%02x at %zu: stops at %zu, want %zu", q, c, at, got, want);
      }
  }
}

typedef struct run_case {
  const char *name;
  const char *text;  // after "ab"
  size_t len;
  size_t stop;  // index in "ab" + text
  int why;      // 0 special byte or end, 1 sequence cut by the end, -1 invalid
} run_case;

#define RUN_CASE(name, text, stop, why) \
  { name, text, sizeof(text) - 1, stop, why }

// RFC 3629 §3 and §4 (strict decoding) and XML 1.0 §2.2 Char.
static const run_case kRunCases[] = {
    RUN_CASE("ASCII up to markup", "cd<e", 4, 0),
    RUN_CASE("two-byte sequence", "\xc3\xa9<", 4, 0),
    RUN_CASE("three-byte sequence", "\xe2\x82\xac", 5, 0),
    RUN_CASE("four-byte sequence", "\xf0\x9f\x98\x80&", 6, 0),
    RUN_CASE("U+FFFD", "\xef\xbf\xbd", 5, 0),
    RUN_CASE("U+10FFFF", "\xf4\x8f\xbf\xbf", 6, 0),
    RUN_CASE("control byte stops the run", "c\x01", 3, 0),
    RUN_CASE("DEL is text", "\x7f", 3, 0),
    RUN_CASE("two-byte cut", "\xc3", 2, 1),
    RUN_CASE("three-byte cut", "x\xe2\x82", 3, 1),
    RUN_CASE("four-byte cut", "\xf0\x9f\x98", 2, 1),
    RUN_CASE("overlong two-byte", "\xc0\xaf", 2, -1),
    RUN_CASE("overlong C1", "\xc1\xbf", 2, -1),
    RUN_CASE("overlong three-byte", "\xe0\x80\xaf", 2, -1),
    RUN_CASE("overlong four-byte", "\xf0\x80\x80\xaf", 2, -1),
    RUN_CASE("surrogate", "z\xed\xa0\x80", 3, -1),
    RUN_CASE("above U+10FFFF", "\xf4\x90\x80\x80", 2, -1),
    RUN_CASE("F5 lead byte", "\xf5\x80\x80\x80", 2, -1),
    RUN_CASE("lone continuation", "\x80", 2, -1),
    RUN_CASE("FE", "\xfe", 2, -1),
    RUN_CASE("missing continuation", "\xc3(", 2, -1),
    RUN_CASE("U+FFFE is not a Char", "\xef\xbf\xbe", 2, -1),
    RUN_CASE("U+FFFF is not a Char", "\xef\xbf\xbf", 2, -1),
};

static void test_rfc3629_utf8_text_run(void **state) {
  (void)state;
  skip_without_avx2();
  uint8_t buf[32];
  for (size_t c = 0; c < sizeof(kRunCases) / sizeof(kRunCases[0]); c++) {
    const run_case *rc = &kRunCases[c];
    memcpy(buf, "ab", 2);
    memcpy(buf + 2, rc->text, rc->len);
    int why;
    size_t stop = utf8_text_run(buf, 0, 2 + rc->len, &why);
    if (stop != rc->stop || why != rc->why)
      fail_msg("%s: stops at %zu (%d), want %zu (%d)", rc->name, stop, why, rc->stop, rc->why);
  }
}

#if defined(__AVX2__) || defined(__SSE2__)
// XML 1.0 §2.4: the SIMD text scan with its validation stops where the
// scalar run stops, for every byte value at every offset of three 16-byte
// blocks (the SSE2 scan finds `<` and `>` with one comparison after setting
// bit 1: no other byte may match it), the input ending after the block
// or right after the byte.
static void test_xml_1_0_2_4_scan_text_utf8_every_byte_at_every_offset(void **state) {
  (void)state;
  skip_without_avx2();
  uint8_t buf[96];
  for (int c = 0; c < 256; c++) {
    for (size_t at = 0; at < 48; at++) {
      for (int cut = 0; cut < 2; cut++) {
        size_t n = cut ? at + 1 : sizeof(buf);
        memset(buf, 'p', sizeof(buf));
        buf[at] = (uint8_t)c;
        int want_why, why = 0;
        size_t want = utf8_text_run(buf, 0, n, &want_why);
        size_t got = scan_text_utf8(buf, 0, n);
        if (got < n && !(buf[got] < 0x80 && (fg_xml_byte_class[buf[got]] & C_TEXT_SPECIAL)))
          got = utf8_text_run(buf, got, n, &why);
        if (got != want || why != want_why)
          fail_msg("byte %02x at %zu of %zu: SIMD path stops at %zu (%d), scalar at %zu (%d)", c,
                   at, n, got, why, want, want_why);
      }
    }
  }
}

// RFC 6120 §11.6: the SIMD scan validates 32 bytes (AVX2) or 16 bytes (SSE2)
// at a time; each case above, at every position across two (or more) block
// boundaries, stops where the scalar run stops, for the same reason.
static void test_rfc6120_11_6_scan_text_utf8_at_block_boundaries(void **state) {
  (void)state;
  skip_without_avx2();
  uint8_t buf[128];
  for (size_t c = 0; c < sizeof(kRunCases) / sizeof(kRunCases[0]); c++) {
    const run_case *rc = &kRunCases[c];
    for (size_t at = 0; at + rc->len + 8 <= sizeof(buf) && at < 72; at++) {
      for (int tail = 0; tail <= 8; tail += 8) {
        size_t n = at + rc->len + (size_t)tail;
        memset(buf, 'p', sizeof(buf));
        memcpy(buf + at, rc->text, rc->len);
        int want_why;
        size_t want = utf8_text_run(buf, 0, n, &want_why);
        int why = 0;
        size_t got = scan_text_utf8(buf, 0, n);
        if (got < n && !(buf[got] < 0x80 && (fg_xml_byte_class[buf[got]] & C_TEXT_SPECIAL)))
          got = utf8_text_run(buf, got, n, &why);
        if (got != want || why != want_why)
          fail_msg("%s at %zu of %zu: SIMD path stops at %zu (%d), scalar at %zu (%d)", rc->name,
                   at, n, got, why, want, want_why);
      }
    }
  }
}
#endif

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_xml_1_0_2_3_byte_classes),
    cmocka_unit_test(test_xml_1_0_2_3_scan_name_stops_at_first_non_name_byte),
    cmocka_unit_test(test_xml_1_0_3_1_name_before_eq_every_byte_at_every_offset),
    cmocka_unit_test(test_xml_1_0_2_4_scan_text_stops_at_first_special),
    cmocka_unit_test(test_xml_1_0_3_1_scan_attr_stops_at_own_quote),
    cmocka_unit_test(test_xml_1_0_3_1_scan_attr_every_byte_at_every_offset),
    cmocka_unit_test(test_rfc3629_utf8_text_run),
#if defined(__AVX2__) || defined(__SSE2__)
    cmocka_unit_test(test_xml_1_0_2_4_scan_text_utf8_every_byte_at_every_offset),
    cmocka_unit_test(test_rfc6120_11_6_scan_text_utf8_at_block_boundaries),
#endif
  };
#if defined(__AVX2__)
  return cmocka_run_group_tests_name("xml_scan_avx2", tests, group_setup, NULL);
#else
  return cmocka_run_group_tests_name("xml_scan", tests, group_setup, NULL);
#endif
}
