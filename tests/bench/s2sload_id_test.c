// s2sload_id_test.c: the stanza id codec ("L<stream>.<seq>.<ns>" in the
// RFC 6120 §8.1.3 'id' attribute): round trips and every malformed shape.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bench/s2sload_id.h"

static void roundtrip(uint32_t stream, uint64_t seq, uint64_t ns) {
  uint8_t buf[FG_STANZA_ID_MAX + 1];
  fg_stanza_id in = {stream, seq, ns}, out;
  size_t n = fg_stanza_id_encode(buf, &in);
  assert_true(n <= FG_STANZA_ID_MAX);
  assert_int_equal(fg_stanza_id_decode(&out, buf, n), 1);
  assert_int_equal(out.stream, stream);
  assert_int_equal(out.seq, seq);
  assert_int_equal(out.ns, ns);
}

static void test_rfc6120_8_1_3_id_roundtrip(void **state) {
  (void)state;
  roundtrip(0, 0, 0);
  roundtrip(3, 1234567, 987654321012345ull);
  roundtrip(UINT32_MAX, UINT64_MAX, UINT64_MAX);  // the longest id
  for (uint64_t v = 1; v != 0 && v < UINT64_MAX / 10; v *= 10) roundtrip((uint32_t)v, v - 1, v + 1);
}

static void test_encoding_is_decimal_text(void **state) {
  (void)state;
  uint8_t buf[FG_STANZA_ID_MAX];
  fg_stanza_id id = {12, 34, 56};
  size_t n = fg_stanza_id_encode(buf, &id);
  assert_int_equal(n, 9);
  assert_memory_equal(buf, "L12.34.56", 9);
  uint8_t d[20];
  assert_int_equal(fg_u64_to_dec(d, 0), 1);
  assert_int_equal(d[0], '0');
  assert_int_equal(fg_u64_to_dec(d, UINT64_MAX), 20);
  assert_memory_equal(d, "18446744073709551615", 20);
}

static void test_rejects_malformed(void **state) {
  (void)state;
  static const char *const bad[] = {
      "",
      "L",
      "L1.2",                       // two parts
      "L1.2.3.4",                   // four parts
      "X1.2.3",                     // wrong prefix
      "l1.2.3",                     // prefix is case-sensitive
      "L.2.3",                      // empty stream
      "L1..3",                      // empty sequence
      "L1.2.",                      // empty time
      "L1.2.3 ",                    // trailing space
      "L1.-2.3",                    // sign
      "L1.2.3x",                    // trailing letter
      "L4294967296.1.1",            // stream above 32 bits
      "L1.18446744073709551616.1",  // sequence overflows 64 bits
      "L1.1.99999999999999999999",  // time overflows 64 bits
      "purple1234",                 // someone else's id
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    fg_stanza_id out;
    if (fg_stanza_id_decode(&out, (const uint8_t *)bad[i], strlen(bad[i])) != 0) {
      fail_msg("accepted '%s'", bad[i]);
    }
  }
}

static void test_decodes_only_given_length(void **state) {
  (void)state;
  // The parser hands the attribute value without a terminator.
  const char *s = "L7.8.9'/><next";
  fg_stanza_id out;
  assert_int_equal(fg_stanza_id_decode(&out, (const uint8_t *)s, 6), 1);
  assert_int_equal(out.stream, 7);
  assert_int_equal(out.seq, 8);
  assert_int_equal(out.ns, 9);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc6120_8_1_3_id_roundtrip),
      cmocka_unit_test(test_encoding_is_decimal_text),
      cmocka_unit_test(test_rejects_malformed),
      cmocka_unit_test(test_decodes_only_given_length),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
