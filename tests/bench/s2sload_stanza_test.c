// s2sload_stanza_test.c: the generated stanzas are well-formed jabber:server
// stanzas (RFC 6120 §8) that the project's parser accepts, carry the id they
// were given, and have the promised sizes.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bench/s2sload_id.h"
#include "bench/s2sload_stanza.h"
#include "gateway/xml/xml_parser.h"

static const char kFrom[] = "user@r1.bench.test/res";
static const char kTo[] = "user@sink.bench.test";
static const char kHeader[] =
    "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
    "from='r1.bench.test' to='sink.bench.test' version='1.0'>";

// parse_one feeds a stream header and |st| to a fresh parser and checks the
// element: a stanza from kFrom to kTo whose id decodes to |want|.
static void parse_one(const uint8_t *st, size_t len, const fg_stanza_id *want, char *kind,
                      size_t kind_cap) {
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  assert_non_null(p);
  fg_xml_parser_set_authenticated(p);
  size_t used;
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)kHeader, strlen(kHeader)),
                   FG_XML_EVENT_STREAM_OPEN);
  fg_xml_event ev = fg_xml_parser_feed(p, &used, st, len);
  if (ev != FG_XML_EVENT_ELEMENT) {
    fail_msg("event %d (%s) for: %.*s", ev, fg_xml_error_condition(fg_xml_parser_error(p, NULL)),
             (int)len, (const char *)st);
  }
  assert_int_equal(used, len);
  const fg_xml_element *el = fg_xml_parser_element(p);
  assert_true(fg_xml_str_eq(el->from, kFrom));
  assert_true(fg_xml_str_eq(el->to, kTo));
  assert_true(fg_xml_str_eq(el->root->ns, "jabber:server"));
  fg_stanza_id got;
  assert_int_equal(fg_stanza_id_decode(&got, el->id.data, el->id.len), 1);
  assert_int_equal(got.stream, want->stream);
  assert_int_equal(got.seq, want->seq);
  assert_int_equal(got.ns, want->ns);
  snprintf(kind, kind_cap, "%.*s", (int)el->root->local.len, (const char *)el->root->local.data);
  fg_xml_parser_free(p);
}

static void test_rfc6120_8_mix_is_parseable_and_sized(void **state) {
  (void)state;
  fg_stanza_tmpl t;
  assert_int_equal(fg_stanza_tmpl_init(&t, kFrom, kTo, 0), 1);
  int kinds[4] = {0, 0, 0, 0};
  size_t total = 0;
  for (uint64_t i = 0; i < 2000; i++) {
    uint8_t buf[4096];
    fg_stanza_id id = {(uint32_t)(i % 7), i * 1000, 1000000000ull + i};
    size_t n = fg_stanza_write(&t, &id, buf, sizeof(buf));
    assert_true(n >= FG_STANZA_MIX_MIN && n <= FG_STANZA_MIX_MAX);
    total += n;
    char kind[16];
    parse_one(buf, n, &id, kind, sizeof(kind));
    if (strcmp(kind, "message") == 0) {
      kinds[0]++;
    } else if (strcmp(kind, "presence") == 0) {
      kinds[1]++;
    } else {
      assert_string_equal(kind, "iq");
      kinds[2]++;
    }
  }
  // Every kind shows up; messages are the majority.
  assert_true(kinds[0] > 900 && kinds[1] > 300 && kinds[2] > 200);
  size_t mean = total / 2000;
  assert_true(mean > 400 && mean < 1100);
}

static void test_fixed_size_exact_for_every_id_length(void **state) {
  (void)state;
  size_t sizes[] = {256, 1024, 4096};
  for (size_t k = 0; k < 3; k++) {
    fg_stanza_tmpl t;
    assert_int_equal(fg_stanza_tmpl_init(&t, kFrom, kTo, sizes[k]), 1);
    uint64_t v = 1;
    for (int d = 0; d < 19; d++, v *= 10) {
      uint8_t buf[8192];
      fg_stanza_id id = {(uint32_t)(v & 0xffffffff), v, v};
      size_t n = fg_stanza_write(&t, &id, buf, sizeof(buf));
      assert_int_equal(n, sizes[k]);
      char kind[16];
      parse_one(buf, n, &id, kind, sizeof(kind));
      assert_string_equal(kind, "message");
    }
    fg_stanza_id big = {UINT32_MAX, UINT64_MAX, UINT64_MAX};
    uint8_t buf[8192];
    assert_int_equal(fg_stanza_write(&t, &big, buf, sizeof(buf)), sizes[k]);
  }
}

static void test_fixed_size_limits(void **state) {
  (void)state;
  fg_stanza_tmpl t;
  size_t min = fg_stanza_min_size(kFrom, kTo);
  assert_true(min > 100 && min < 256);
  assert_int_equal(fg_stanza_tmpl_init(&t, kFrom, kTo, min - 1), 0);
  assert_int_equal(fg_stanza_tmpl_init(&t, kFrom, kTo, min), 1);
  assert_int_equal(fg_stanza_tmpl_init(&t, kFrom, kTo, FG_STANZA_FIXED_MAX + 1), 0);
}

static void test_write_refuses_small_buffer(void **state) {
  (void)state;
  fg_stanza_tmpl t;
  assert_int_equal(fg_stanza_tmpl_init(&t, kFrom, kTo, 512), 1);
  uint8_t buf[511];
  fg_stanza_id id = {1, 2, 3};
  assert_int_equal(fg_stanza_write(&t, &id, buf, sizeof(buf)), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc6120_8_mix_is_parseable_and_sized),
      cmocka_unit_test(test_fixed_size_exact_for_every_id_length),
      cmocka_unit_test(test_fixed_size_limits),
      cmocka_unit_test(test_write_refuses_small_buffer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
