// s2sload_verify_test.c: the sink's whole-stanza check. A stanza is a
// function of its id; the check accepts it as written and as a server may
// re-serialise it (RFC 6120 §8.1.3: other quotes, an empty element written
// in full), and counts it corrupted when its from, to, filler length or
// filler digest differ, or when what follows the filler is cut short.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bench/s2sload_id.h"
#include "bench/s2sload_stanza.h"
#include "bench/s2sload_verify.h"

static const char kFrom[] = "user@r1.bench.test/res";
static const char kTo[] = "user@sink.bench.test";

static fg_stanza_tmpl g_mix, g_fixed;

static int setup(void **state) {
  (void)state;
  return fg_stanza_tmpl_init(&g_mix, kFrom, kTo, 0) &&
                 fg_stanza_tmpl_init(&g_fixed, kFrom, kTo, 1024)
             ? 0
             : -1;
}

static size_t write_one(const fg_stanza_tmpl *t, const fg_stanza_id *id, uint8_t *buf, size_t cap) {
  size_t n = fg_stanza_write(t, id, buf, cap);
  assert_true(n > 0);
  return n;
}

static enum fg_stanza_verdict check(const fg_stanza_tmpl *t, const fg_stanza_id *id,
                                    const uint8_t *buf, size_t n, const char **why) {
  *why = NULL;
  return fg_stanza_verify(t, id, buf, n, why);
}

static void test_stanza_is_a_function_of_its_id(void **state) {
  (void)state;
  uint8_t a[4096], b[4096];
  fg_stanza_id id = {3, 77, 123456789};
  size_t na = write_one(&g_mix, &id, a, sizeof(a));
  size_t nb = write_one(&g_mix, &id, b, sizeof(b));
  assert_int_equal(na, nb);
  assert_memory_equal(a, b, na);
  fg_stanza_layout l1, l2;
  fg_stanza_id next = {3, 78, 123456789};
  fg_stanza_layout_of(&g_mix, &id, &l1);
  fg_stanza_layout_of(&g_mix, &next, &l2);
  assert_true(l1.piece != l2.piece || l1.fill_len != l2.fill_len || l1.fill_start != l2.fill_start);
}

static void test_rfc6120_8_whole_stanzas_pass_every_kind(void **state) {
  (void)state;
  const char *why;
  for (uint64_t i = 0; i < 3000; i++) {
    uint8_t buf[4096];
    fg_stanza_id id = {(uint32_t)(i % 5), i, 1000 + i};
    size_t n = write_one(i % 2 ? &g_mix : &g_fixed, &id, buf, sizeof(buf));
    enum fg_stanza_verdict v = check(i % 2 ? &g_mix : &g_fixed, &id, buf, n, &why);
    if (v != FG_STANZA_WHOLE) fail_msg("%s: %.*s", why, (int)n, (const char *)buf);
  }
}

static void test_rfc6120_8_1_3_requoted_stanza_passes(void **state) {
  (void)state;
  const char *why;
  for (uint64_t i = 0; i < 200; i++) {
    uint8_t buf[4096];
    fg_stanza_id id = {1, i, 5};
    size_t n = write_one(&g_mix, &id, buf, sizeof(buf));
    for (size_t k = 0; k < n; k++)
      if (buf[k] == '\'') buf[k] = '"';
    assert_int_equal(check(&g_mix, &id, buf, n, &why), FG_STANZA_WHOLE);
  }
}

// body_at returns the offset of the first filler byte of a fixed-size
// message (after "<body>").
static size_t body_at(const uint8_t *buf, size_t n) {
  const uint8_t *b = memmem(buf, n, "<body>", 6);
  assert_non_null(b);
  return (size_t)(b - buf) + 6;
}

static void test_truncated_filler_is_corrupted(void **state) {
  (void)state;
  uint8_t buf[4096];
  fg_stanza_id id = {2, 9, 42};
  size_t n = write_one(&g_fixed, &id, buf, sizeof(buf));
  size_t at = body_at(buf, n);
  memmove(buf + at + 10, buf + at + 11, n - at - 11);  // one filler byte less
  const char *why;
  assert_int_equal(check(&g_fixed, &id, buf, n - 1, &why), FG_STANZA_CORRUPTED);
  assert_string_equal(why, "filler length differs");
}

static void test_rewritten_filler_is_corrupted(void **state) {
  (void)state;
  uint8_t buf[4096];
  fg_stanza_id id = {2, 10, 42};
  size_t n = write_one(&g_fixed, &id, buf, sizeof(buf));
  size_t at = body_at(buf, n);
  buf[at + 20] = buf[at + 20] == 'x' ? 'y' : 'x';  // same length, other text
  const char *why;
  assert_int_equal(check(&g_fixed, &id, buf, n, &why), FG_STANZA_CORRUPTED);
  assert_string_equal(why, "digest differs");
}

static void test_other_stanzas_filler_is_corrupted(void **state) {
  (void)state;
  // The body of stanza 11 under the id of stanza 12: same length, other text.
  uint8_t buf[4096];
  fg_stanza_id id = {2, 11, 42}, other = {2, 12, 42};
  size_t n = write_one(&g_fixed, &id, buf, sizeof(buf));
  const char *why;
  assert_int_equal(check(&g_fixed, &other, buf, n, &why), FG_STANZA_CORRUPTED);
}

static void replace(uint8_t *buf, size_t n, const char *from, const char *to) {
  uint8_t *p = memmem(buf, n, from, strlen(from));
  assert_non_null(p);
  assert_int_equal(strlen(from), strlen(to));
  memcpy(p, to, strlen(to));
}

static void test_rfc6120_8_1_2_rewritten_from_or_to_is_corrupted(void **state) {
  (void)state;
  uint8_t buf[4096];
  fg_stanza_id id = {0, 1, 2};
  const char *why;
  size_t n = write_one(&g_fixed, &id, buf, sizeof(buf));
  replace(buf, n, "r1.bench", "r2.bench");
  assert_int_equal(check(&g_fixed, &id, buf, n, &why), FG_STANZA_CORRUPTED);
  assert_string_equal(why, "from differs");
  n = write_one(&g_fixed, &id, buf, sizeof(buf));
  replace(buf, n, "user@sink", "usex@sink");
  assert_int_equal(check(&g_fixed, &id, buf, n, &why), FG_STANZA_CORRUPTED);
  assert_string_equal(why, "to differs");
}

static void test_empty_filler_self_closed_passes(void **state) {
  (void)state;
  // A mixed stanza whose filler is empty (a presence of the smallest size),
  // written back with <status/> for <status></status>, followed in the
  // chunk by another stanza that has a <status> of its own.
  uint8_t buf[8192];
  fg_stanza_id id = {0, 0, 1};
  fg_stanza_layout l;
  for (id.seq = 0;; id.seq++) {
    fg_stanza_layout_of(&g_mix, &id, &l);
    if (l.fill_len == 0 && memmem(l.piece->mid, l.piece->mid_len, "<status>", 8) != NULL) break;
  }
  size_t n = write_one(&g_mix, &id, buf, sizeof(buf));
  uint8_t *st = memmem(buf, n, "<status></status>", 17);
  assert_non_null(st);
  memmove(st + 9, st + 17, n - (size_t)(st + 17 - buf));
  memcpy(st, "<status/>", 9);
  n -= 8;
  const char *ok = "<presence from='a' to='b' id='x'><status>Lorem</status></presence>";
  memcpy(buf + n, ok, strlen(ok));
  const char *why;
  assert_int_equal(check(&g_mix, &id, buf, n + strlen(ok), &why), FG_STANZA_WHOLE);
}

static void test_chunk_ending_early_is_incomplete(void **state) {
  (void)state;
  uint8_t buf[4096];
  fg_stanza_id id = {4, 64, 2};
  size_t n = write_one(&g_fixed, &id, buf, sizeof(buf));
  const char *why;
  assert_int_equal(check(&g_fixed, &id, buf, 30, &why), FG_STANZA_INCOMPLETE);
  assert_int_equal(check(&g_fixed, &id, buf, body_at(buf, n) + 5, &why), FG_STANZA_INCOMPLETE);
  // More than the stanza (the next one follows in the chunk): still whole.
  memcpy(buf + n, buf, n);
  assert_int_equal(check(&g_fixed, &id, buf, 2 * n, &why), FG_STANZA_WHOLE);
}

// cut removes |len| bytes at |at| from |buf| of |*n| bytes.
static void cut(uint8_t *buf, size_t *n, size_t at, size_t len) {
  memmove(buf + at, buf + at + len, *n - at - len);
  *n -= len;
}

static const char kActive[] = "<active xmlns='http://jabber.org/protocol/chatstates'/>";

static void test_element_after_the_filler_dropped_is_corrupted(void **state) {
  (void)state;
  uint8_t buf[4096];
  fg_stanza_id id = {2, 13, 42};
  size_t n = write_one(&g_fixed, &id, buf, sizeof(buf));
  uint8_t *a = memmem(buf, n, kActive, strlen(kActive));
  assert_non_null(a);
  cut(buf, &n, (size_t)(a - buf), strlen(kActive));  // still well-formed
  const char *why;
  assert_int_equal(check(&g_fixed, &id, buf, n, &why), FG_STANZA_CORRUPTED);
  assert_string_equal(why, "shorter after the filler");
}

static void test_end_tag_cut_off_is_corrupted(void **state) {
  (void)state;
  // The stanza loses its last bytes and the next one follows at once (what
  // a scanner's chunk then holds).
  uint8_t buf[8192];
  fg_stanza_id id = {2, 14, 42}, next = {2, 15, 43};
  size_t n = write_one(&g_fixed, &id, buf, sizeof(buf));
  n -= 12;
  n += write_one(&g_fixed, &next, buf + n, sizeof(buf) - n);
  const char *why;
  assert_int_equal(check(&g_fixed, &id, buf, n, &why), FG_STANZA_CORRUPTED);
  assert_string_equal(why, "end tag missing");
}

static void test_rfc6120_8_1_3_empty_element_written_in_full_passes(void **state) {
  (void)state;
  uint8_t buf[4096];
  fg_stanza_id id = {2, 16, 42};
  size_t n = write_one(&g_fixed, &id, buf, sizeof(buf));
  uint8_t *a = memmem(buf, n, kActive, strlen(kActive));
  assert_non_null(a);
  size_t end = (size_t)(a - buf) + strlen(kActive) - 2;  // at "/>"
  static const char kFull[] = "></active>";
  memmove(buf + end + strlen(kFull), buf + end + 2, n - end - 2);
  memcpy(buf + end, kFull, strlen(kFull));
  n += strlen(kFull) - 2;
  const char *why;
  assert_int_equal(check(&g_fixed, &id, buf, n, &why), FG_STANZA_WHOLE);
  // A chunk that ends between the filler and the end tag: not yet known.
  assert_int_equal(check(&g_fixed, &id, buf, (size_t)(a - buf) + 3, &why), FG_STANZA_INCOMPLETE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stanza_is_a_function_of_its_id),
      cmocka_unit_test(test_rfc6120_8_whole_stanzas_pass_every_kind),
      cmocka_unit_test(test_rfc6120_8_1_3_requoted_stanza_passes),
      cmocka_unit_test(test_truncated_filler_is_corrupted),
      cmocka_unit_test(test_rewritten_filler_is_corrupted),
      cmocka_unit_test(test_other_stanzas_filler_is_corrupted),
      cmocka_unit_test(test_rfc6120_8_1_2_rewritten_from_or_to_is_corrupted),
      cmocka_unit_test(test_empty_filler_self_closed_passes),
      cmocka_unit_test(test_chunk_ending_early_is_incomplete),
      cmocka_unit_test(test_element_after_the_filler_dropped_is_corrupted),
      cmocka_unit_test(test_end_tag_cut_off_is_corrupted),
      cmocka_unit_test(test_rfc6120_8_1_3_empty_element_written_in_full_passes),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
