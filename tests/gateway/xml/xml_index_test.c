// xml_index_test.c: the structural index of the XML parser's whole-element
// path (gateway/xml/xml_index.h) against the rules it stands for: which bytes
// end a name (XML 1.0 §2.3 ASCII NameChars), which end character data and
// attribute values (§2.4, §3.1: markup, references, quotes, C0 controls), and
// strict UTF-8 (RFC 3629; RFC 6120 §11.6; XML 1.0 §2.2 Char), for every byte
// value at every offset of a block, across block edges and at the end of the
// input. Built with -mavx2; skips on CPUs without AVX2.
#include "gateway/xml/xml_index.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void skip_without_avx2(void) {
  if (!__builtin_cpu_supports("avx2")) skip();
}

// The rules, written from the specifications rather than from the tables.
static int name_char(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

static int stop_byte(uint8_t c) {
  return c < 0x20 || c == '<' || c == '&' || c == '>' || c == '\'' || c == '"';
}

// index_at returns the index of s[0, n) at the block holding byte |at|.
static xidx index_at(const uint8_t *s, size_t n, size_t at) {
  xidx w;
  xidx_start(&w, s, n);
  while (at >= w.base + 64) assert_true(xidx_advance(&w));
  return w;
}

// Every byte value at every offset of the first, second and third block (and
// as the last byte of the input, where the block is cut): exactly its own
// bit in the name and stop masks, as the rules say, and a UTF-8 error
// exactly when it is not ASCII (alone among ASCII bytes).
static void test_xml_1_0_2_3_classes_of_every_byte_at_every_offset(void **state) {
  (void)state;
  skip_without_avx2();
  uint8_t s[192];
  for (int b = 0; b < 256; b++) {
    for (size_t at = 0; at < sizeof(s); at++) {
      for (int cut = 0; cut < 2; cut++) {
        memset(s, 'a', sizeof(s));
        s[at] = (uint8_t)b;
        size_t n = cut ? at + 1 : sizeof(s);
        xidx w = index_at(s, n, at);
        unsigned rel = (unsigned)(at - w.base);
        uint64_t bit = 1ull << rel;
        // Past a cut input every bit is set (the block reads zero bytes).
        uint64_t past = rel == 63 || !cut ? 0 : ~0ull << (rel + 1);
        if ((w.name_stop & ~past) != (name_char((uint8_t)b) ? 0 : bit))
          fail_msg("byte %02x at %zu: name mask %016llx", b, at, (unsigned long long)w.name_stop);
        if ((w.stop & ~past) != (stop_byte((uint8_t)b) ? bit : 0))
          fail_msg("byte %02x at %zu: stop mask %016llx", b, at, (unsigned long long)w.stop);
        if ((w.name_stop & past) != past || (w.stop & past) != past)
          fail_msg("byte %02x at %zu: bytes past the end do not stop", b, at);
        // The error shows at the byte or at the byte after it (a lead byte
        // cut by an ASCII or a padding byte), which is in the next block
        // for the block's last byte.
        uint64_t err_here = w.err & (bit | bit << 1);
        if (b < 0x80 ? w.err != 0 : (rel != 63 && err_here == 0))
          fail_msg("byte %02x at %zu: error mask %016llx", b, at, (unsigned long long)w.err);
      }
    }
  }
}

// xidx_next from every start to a stop at every offset of three blocks, on
// inputs of every length: it finds the first stop at or after the start,
// moving across blocks, and a stop at or past the input's end (or SIZE_MAX)
// when there is none.
static void test_index_next_across_blocks_and_the_input_end(void **state) {
  (void)state;
  skip_without_avx2();
  uint8_t s[200];
  for (size_t n = 1; n <= sizeof(s); n += (n < 70 ? 1 : 7)) {
    for (size_t at = 0; at < n; at++) {
      memset(s, 'a', sizeof(s));
      s[at] = '<';
      for (size_t pos = 0; pos < n; pos += 1 + pos / 40) {
        xidx w;
        xidx_start(&w, s, n);
        size_t got = xidx_next(&w, XIDX_STOP, pos);
        if (pos <= at ? got != at : (got != SIZE_MAX && got < n))
          fail_msg("n %zu, '<' at %zu, from %zu: %zu", n, at, pos, got);
        s[at] = ' ';
        xidx_start(&w, s, n);
        got = xidx_next(&w, XIDX_NAME, pos);
        if (pos <= at ? got != at : (got != SIZE_MAX && got < n))
          fail_msg("n %zu, ' ' at %zu, from %zu: name end %zu", n, at, pos, got);
        s[at] = '<';
      }
    }
  }
}

// Valid and invalid UTF-8 sequences at every offset across three blocks:
// the bytes before the sequence are clean, and the bytes up to the ASCII
// byte after it are clean exactly when the sequence is strict UTF-8 of XML
// Chars (RFC 3629 §4; U+FFFE and U+FFFF are not Chars).
static void test_rfc3629_index_utf8_errors_at_every_offset(void **state) {
  (void)state;
  skip_without_avx2();
  static const struct {
    const char *seq;
    int ok;
  } kSeqs[] = {
      {"\xc3\xa9", 1},
      {"\xe2\x82\xac", 1},
      {"\xf0\x9f\x98\x80", 1},
      {"\xf4\x8f\xbf\xbf", 1},
      {"\xef\xbf\xbd", 1},
      {"\xc3", 0},
      {"\xe2\x82", 0},
      {"\xf0\x9f\x98", 0},
      {"\x80", 0},
      {"\xc0\xaf", 0},
      {"\xe0\x80\xaf", 0},
      {"\xed\xa0\x80", 0},
      {"\xf4\x90\x80\x80", 0},
      {"\xef\xbf\xbe", 0},
      {"\xef\xbf\xbf", 0},
      {"\xf8\x88\x80\x80\x80", 0},
      {"\xc3\xa9\xa9", 0},
  };
  uint8_t s[256];
  for (size_t k = 0; k < sizeof(kSeqs) / sizeof(kSeqs[0]); k++) {
    size_t len = strlen(kSeqs[k].seq);
    for (size_t at = 1; at < 196; at++) {
      memset(s, 'a', sizeof(s));
      memcpy(s + at, kSeqs[k].seq, len);
      size_t after = at + len + 1;  // past the ASCII byte after the sequence
      for (int whole = 0; whole < 2; whole++) {
        size_t n = whole ? sizeof(s) : after;
        xidx w;
        xidx_start(&w, s, n);
        if (!xidx_clean_before(&w, at)) fail_msg("seq %zu at %zu: bytes before it unclean", k, at);
        xidx_start(&w, s, n);
        if (xidx_clean_before(&w, after) != kSeqs[k].ok)
          fail_msg("seq %zu at %zu (input %zu): clean %d", k, at, n, !kSeqs[k].ok);
      }
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_xml_1_0_2_3_classes_of_every_byte_at_every_offset),
      cmocka_unit_test(test_index_next_across_blocks_and_the_input_end),
      cmocka_unit_test(test_rfc3629_index_utf8_errors_at_every_offset),
  };
  fg_xml_scan_init();
  return cmocka_run_group_tests_name("xml_index", tests, NULL, NULL);
}
