// s2sload_scan_test.c: the sink's id scanner finds every stanza id (RFC 6120
// §8.1.3), in either quote style, exactly once whatever the chunking, and
// ignores attributes that are not ours.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/s2sload_id.h"
#include "bench/s2sload_scan.h"
#include "bench/s2sload_stanza.h"

typedef struct found {
  char ids[4096][FG_STANZA_ID_MAX + 1];
  size_t n;
} found;

static void collect(void *arg, const uint8_t *id, size_t len) {
  found *f = arg;
  assert_true(f->n < 4096);
  memcpy(f->ids[f->n], id, len);
  f->ids[f->n][len] = 0;
  f->n++;
}

static size_t scan_all(const char *s, found *f) {
  memset(f, 0, sizeof(*f));
  return fg_id_scan((const uint8_t *)s, strlen(s), collect, f);
}

static void test_rfc6120_8_1_3_both_quote_styles(void **state) {
  (void)state;
  static found f;
  scan_all(
      "<message id='L1.2.3' to='a'/><message to=\"b\" id=\"L4.5.6\"/>"
      "<iq\ntype='get'\tid='L7.8.9'/>" /* whitespace before the name */
      "                                                                        ",
      &f);
  assert_int_equal(f.n, 3);
  assert_string_equal(f.ids[0], "L1.2.3");
  assert_string_equal(f.ids[1], "L4.5.6");
  assert_string_equal(f.ids[2], "L7.8.9");
}

static void test_ignores_other_attributes(void **state) {
  (void)state;
  static found f;
  char long_id[200] = "<m id='L";
  memset(long_id + 8, '1', 100);
  strcpy(long_id + 108, "'/>");
  scan_all(
      "<item jid='L1.1.1'/><x sid='L2.2.2'/><m id='purple42'/><m id=L3.3.3/>"
      "<m id=''/><body>the id='L9.9.9' in text counts</body>",
      &f);
  // Text is not parsed: an id-looking run in a body is reported (the
  // generator's filler never contains one).
  assert_int_equal(f.n, 1);
  assert_string_equal(f.ids[0], "L9.9.9");
  scan_all(long_id, &f);
  assert_int_equal(f.n, 0);
}

static void test_keeps_a_split_id(void **state) {
  (void)state;
  static found f;
  const char *s = "<message id='L12.34";
  memset(&f, 0, sizeof(f));
  size_t used = fg_id_scan((const uint8_t *)s, strlen(s), collect, &f);
  assert_int_equal(f.n, 0);
  assert_true(used <= strlen("<message"));
  used = fg_id_scan((const uint8_t *)s, 3, collect, &f);
  assert_int_equal(used, 0);
}

// feed scans |in| in random chunks the way io/conn delivers data: the
// unconsumed rest comes back first, followed by newer bytes.
static void feed(const uint8_t *in, size_t len, found *f, unsigned seed) {
  uint8_t *buf = malloc(len + 1);
  size_t held = 0, off = 0;
  srand(seed);
  while (off < len || held > 0) {
    size_t k = (size_t)(rand() % 300) + 1;
    if (k > len - off) k = len - off;
    memcpy(buf + held, in + off, k);
    held += k;
    off += k;
    size_t used = fg_id_scan(buf, held, collect, f);
    assert_true(used <= held);
    memmove(buf, buf + used, held - used);
    held -= used;
    if (off == len && k == 0) break;  // the tail that can hold no id
  }
  free(buf);
}

static void test_every_id_once_in_any_chunking(void **state) {
  (void)state;
  static found f;
  fg_stanza_tmpl t;
  assert_int_equal(fg_stanza_tmpl_init(&t, "user@r1.bench.test/res", "user@sink.bench.test", 0), 1);
  size_t cap = 3000 * 2100, len = 0;
  uint8_t *stream = malloc(cap);
  for (uint64_t i = 0; i < 3000; i++) {
    fg_stanza_id id = {(uint32_t)(i % 5), i, 1000000 + i * 977};
    len += fg_stanza_write(&t, &id, stream + len, cap - len);
  }
  for (unsigned seed = 1; seed <= 5; seed++) {
    memset(&f, 0, sizeof(f));
    feed(stream, len, &f, seed);
    assert_int_equal(f.n, 3000);
    for (size_t i = 0; i < f.n; i++) {
      fg_stanza_id got;
      assert_int_equal(fg_stanza_id_decode(&got, (const uint8_t *)f.ids[i], strlen(f.ids[i])), 1);
      assert_int_equal(got.seq, i);
    }
  }
  free(stream);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc6120_8_1_3_both_quote_styles),
      cmocka_unit_test(test_ignores_other_attributes),
      cmocka_unit_test(test_keeps_a_split_id),
      cmocka_unit_test(test_every_id_once_in_any_chunking),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
