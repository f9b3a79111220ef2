// sm_test.c: XEP-0198 counters and the unacknowledged queue
// (gateway/s2s/sm.c).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/s2s/sm.h"
#include "tests/alloc_count.h"

#include "gateway/xml/xml_parser.h"

// parse_one returns the first element of |xml| inside a stream (the parser
// owns it; valid until the parser is freed).
static const fg_xml_node *parse_one(fg_xml_parser **p, const char *xml) {
  static const char kHdr[] =
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>";
  *p = fg_xml_parser_new(NULL);
  size_t used;
  assert_int_equal(fg_xml_parser_feed(*p, &used, (const uint8_t *)kHdr, strlen(kHdr)),
                   FG_XML_EVENT_STREAM_OPEN);
  assert_int_equal(fg_xml_parser_feed(*p, &used, (const uint8_t *)xml, strlen(xml)),
                   FG_XML_EVENT_ELEMENT);
  return fg_xml_parser_element(*p)->root;
}

static void test_xep0198_classify_elements(void **state) {
  static const struct {
    const char *xml;
    fg_sm_element want;
  } kCases[] = {
      {"<enable xmlns='urn:xmpp:sm:3'/>", FG_SM_ENABLE},
      {"<enabled xmlns='urn:xmpp:sm:3'/>", FG_SM_ENABLED},
      {"<failed xmlns='urn:xmpp:sm:3'/>", FG_SM_FAILED},
      {"<r xmlns='urn:xmpp:sm:3'/>", FG_SM_R},
      {"<a xmlns='urn:xmpp:sm:3' h='1'/>", FG_SM_A},
      {"<resume xmlns='urn:xmpp:sm:3' previd='x' h='0'/>", FG_SM_RESUME},
      {"<resumed xmlns='urn:xmpp:sm:3' previd='x' h='0'/>", FG_SM_RESUMED},
      {"<x xmlns='urn:xmpp:sm:3'/>", FG_SM_OTHER},
      {"<r xmlns='urn:xmpp:sm:2'/>", FG_SM_NOT_SM},  // only version 3 is spoken
      {"<message/>", FG_SM_NOT_SM},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    fg_xml_parser *p;
    const fg_xml_node *n = parse_one(&p, kCases[i].xml);
    assert_int_equal(fg_sm_classify(n), kCases[i].want);
    fg_xml_parser_free(p);
  }
}

static void test_xep0198_4_h_is_an_unsigned_32_bit_integer(void **state) {
  static const struct {
    const char *xml;
    int ok;
    uint32_t h;
  } kCases[] = {
      {"<a xmlns='urn:xmpp:sm:3' h='0'/>", 1, 0},
      {"<a xmlns='urn:xmpp:sm:3' h='42'/>", 1, 42},
      {"<a xmlns='urn:xmpp:sm:3' h='4294967295'/>", 1, 4294967295u},
      {"<a xmlns='urn:xmpp:sm:3' h='4294967296'/>", 0, 0},
      {"<a xmlns='urn:xmpp:sm:3' h='99999999999'/>", 0, 0},
      {"<a xmlns='urn:xmpp:sm:3' h='-1'/>", 0, 0},
      {"<a xmlns='urn:xmpp:sm:3' h=' 1'/>", 0, 0},
      {"<a xmlns='urn:xmpp:sm:3' h=''/>", 0, 0},
      {"<a xmlns='urn:xmpp:sm:3' h='0x10'/>", 0, 0},
      {"<a xmlns='urn:xmpp:sm:3'/>", 0, 0},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    fg_xml_parser *p;
    const fg_xml_node *n = parse_one(&p, kCases[i].xml);
    uint32_t h = 7;
    assert_int_equal(fg_sm_parse_h(n, &h), kCases[i].ok);
    if (kCases[i].ok) assert_int_equal(h, kCases[i].h);
    fg_xml_parser_free(p);
  }
}

static void test_xep0198_4_write_a(void **state) {
  char buf[FG_SM_A_MAX];
  size_t n = fg_sm_write_a(buf, sizeof(buf), 4294967295u);
  assert_int_equal(n, strlen(buf));
  assert_string_equal(buf, "<a xmlns='urn:xmpp:sm:3' h='4294967295'/>");
  assert_int_equal(fg_sm_write_a(buf, 8, 1), 0);  // too small: nothing usable
}

static void test_xep0198_4_receiving_side_counts_only_once_enabled(void **state) {
  fg_sm_in in = {0};
  fg_sm_in_count(&in);
  assert_int_equal(in.h, 0);
  in.enabled = 1;
  fg_sm_in_count(&in);
  fg_sm_in_count(&in);
  assert_int_equal(in.h, 2);
  in.h = UINT32_MAX;
  fg_sm_in_count(&in);
  assert_int_equal(in.h, 0);  // rolls over to 0
}

static void push_n(fg_sm_out *o, int n) {
  for (int i = 0; i < n; i++) {
    char m[32];
    int len = snprintf(m, sizeof(m), "<message id='%d'/>", i);
    assert_true(fg_sm_out_push(o, (const uint8_t *)m, (size_t)len, i % 2));
  }
}

typedef struct acked_log {
  int n;
  char last[32];
} acked_log;

static void log_acked(void *arg, const fg_sm_item *it) {
  acked_log *l = arg;
  l->n++;
  snprintf(l->last, sizeof(l->last), "%.*s", (int)it->len, (const char *)it->data);
}

static void test_xep0198_4_ack_removes_the_oldest_in_order(void **state) {
  fg_sm_out o;
  fg_sm_out_init(&o, 0, 0);
  o.enabled = 1;
  push_n(&o, 5);
  acked_log log = {0};
  size_t n;
  assert_int_equal(fg_sm_out_ack(&o, 3, &n, log_acked, &log), FG_SM_ACK_OK);
  assert_int_equal(n, 3);
  assert_int_equal(log.n, 3);
  assert_string_equal(log.last, "<message id='2'/>");
  assert_int_equal(o.count, 2);
  // The same h again acknowledges nothing new.
  assert_int_equal(fg_sm_out_ack(&o, 3, &n, log_acked, &log), FG_SM_ACK_OK);
  assert_int_equal(n, 0);
  fg_sm_item *rest = fg_sm_out_take(&o);
  assert_non_null(rest);
  assert_int_equal(rest->tag, 1);  // id 3 was pushed with tag 1
  assert_memory_equal(rest->data, "<message id='3'/>", rest->len);
  assert_non_null(rest->next);
  assert_null(rest->next->next);
  free(rest->next);
  free(rest);
  assert_int_equal(o.count, 0);
  assert_int_equal(o.bytes, 0);
  fg_sm_out_cleanup(&o);
}

static void test_xep0198_4_h_too_high_is_refused_and_keeps_the_queue(void **state) {
  fg_sm_out o;
  fg_sm_out_init(&o, 0, 0);
  o.enabled = 1;
  push_n(&o, 2);
  size_t n;
  assert_int_equal(fg_sm_out_ack(&o, 3, &n, NULL, NULL), FG_SM_ACK_TOO_HIGH);
  assert_int_equal(n, 0);
  assert_int_equal(o.count, 2);
  fg_sm_out_cleanup(&o);
}

static void test_xep0198_4_counters_wrap_at_2_32(void **state) {
  fg_sm_out o;
  fg_sm_out_init(&o, 0, 0);
  o.enabled = 1;
  o.sent = o.acked = UINT32_MAX - 1;
  push_n(&o, 4);  // sent wraps to 2
  size_t n;
  assert_int_equal(fg_sm_out_ack(&o, 1, &n, NULL, NULL), FG_SM_ACK_OK);
  assert_int_equal(n, 3);
  assert_int_equal(o.count, 1);
  assert_int_equal(fg_sm_out_ack(&o, 3, &n, NULL, NULL), FG_SM_ACK_TOO_HIGH);
  assert_int_equal(fg_sm_out_ack(&o, 2, &n, NULL, NULL), FG_SM_ACK_OK);
  assert_int_equal(o.count, 0);
  fg_sm_out_cleanup(&o);
}

static void test_xep0198_queue_bounds(void **state) {
  fg_sm_out o;
  fg_sm_out_init(&o, 3, 40);
  assert_true(fg_sm_out_has_room(&o, 1000));  // disabled: nothing is kept
  o.enabled = 1;
  assert_true(fg_sm_out_has_room(&o, 1000));  // one stanza always fits an empty queue
  push_n(&o, 2);                              // 2 x 17 bytes
  assert_true(fg_sm_out_has_room(&o, 6));
  assert_false(fg_sm_out_has_room(&o, 7));  // over max_bytes
  push_n(&o, 1);
  assert_false(fg_sm_out_has_room(&o, 1));  // max_count
  size_t n;
  fg_sm_out_ack(&o, 1, &n, NULL, NULL);
  assert_true(fg_sm_out_has_room(&o, 1));
  fg_sm_out_cleanup(&o);
}

// Once a link has warmed up, keeping stanzas until they are acknowledged
// allocates nothing: acknowledged items are reused (DESIGN: no allocation
// per stanza in the steady state).
static void test_xep0198_4_steady_state_keeps_stanzas_without_allocating(void **state) {
#if FG_COUNT_ALLOCS
  fg_sm_out o;
  fg_sm_out_init(&o, 0, 0);
  o.enabled = 1;
  uint8_t data[1500];
  memset(data, 'x', sizeof(data));
  uint32_t h = 0;
  size_t n;
  long base = 0;
  for (int round = 0; round < 2000; round++) {
    if (round == 100) base = fg_alloc_calls();  // warmed up
    for (int i = 0; i < 16; i++) {
      size_t len = 100 + (size_t)((round * 16 + i) * 37 % 1200);
      assert_true(fg_sm_out_push(&o, data, len, 0));
    }
    h += 16;
    assert_int_equal(fg_sm_out_ack(&o, h, &n, NULL, NULL), FG_SM_ACK_OK);
    assert_int_equal(n, 16);
  }
  assert_int_equal(fg_alloc_calls() - base, 0);
  assert_true(o.n_spare <= FG_SM_SPARE);
  fg_sm_out_cleanup(&o);
#else
  skip();
#endif
}

static void test_xep0198_4_request_by_count(void **state) {
  fg_sm_out o;
  fg_sm_out_init(&o, 0, 0);
  assert_false(fg_sm_out_should_request(&o, 1));  // not enabled
  o.enabled = 1;
  push_n(&o, 2);
  assert_false(fg_sm_out_should_request(&o, 3));
  assert_false(fg_sm_out_should_request(&o, 0));  // by count: never
  push_n(&o, 1);
  assert_true(fg_sm_out_should_request(&o, 3));
  fg_sm_out_requested(&o);
  push_n(&o, 3);
  assert_false(fg_sm_out_should_request(&o, 3));  // one unanswered already
  size_t n;
  fg_sm_out_ack(&o, 3, &n, NULL, NULL);
  assert_true(fg_sm_out_should_request(&o, 3));
  fg_sm_out_cleanup(&o);
}

static void test_xep0198_5_adopted_queue_follows_the_ended_streams_count(void **state) {
  fg_sm_out o, ended;
  fg_sm_out_init(&ended, 0, 0);
  ended.enabled = 1;
  ended.acked = ended.sent = UINT32_MAX - 1;  // wraps while adopted
  for (int i = 0; i < 3; i++) assert_true(fg_sm_out_push(&ended, (const uint8_t *)"<m/>", 4, i));
  uint32_t acked = ended.acked;
  fg_sm_item *items = fg_sm_out_take(&ended);
  fg_sm_out_init(&o, 0, 0);
  fg_sm_out_adopt(&o, items, acked);
  assert_true(o.enabled);
  assert_int_equal(o.count, 3);
  assert_int_equal(o.bytes, 12);
  assert_int_equal(o.sent, 1);  // UINT32_MAX - 1 + 3, modulo 2^32
  // The peer's h on <resume/> covers the first two of them.
  size_t n;
  assert_int_equal(fg_sm_out_ack(&o, 0, &n, NULL, NULL), FG_SM_ACK_OK);
  assert_int_equal(n, 2);
  assert_int_equal(o.head->tag, 2);
  assert_int_equal(fg_sm_out_ack(&o, 2, &n, NULL, NULL), FG_SM_ACK_TOO_HIGH);
  fg_sm_out_cleanup(&o);
  fg_sm_out_cleanup(&ended);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_xep0198_classify_elements),
      cmocka_unit_test(test_xep0198_4_h_is_an_unsigned_32_bit_integer),
      cmocka_unit_test(test_xep0198_4_write_a),
      cmocka_unit_test(test_xep0198_4_receiving_side_counts_only_once_enabled),
      cmocka_unit_test(test_xep0198_4_ack_removes_the_oldest_in_order),
      cmocka_unit_test(test_xep0198_4_h_too_high_is_refused_and_keeps_the_queue),
      cmocka_unit_test(test_xep0198_4_counters_wrap_at_2_32),
      cmocka_unit_test(test_xep0198_queue_bounds),
      cmocka_unit_test(test_xep0198_4_request_by_count),
      cmocka_unit_test(test_xep0198_5_adopted_queue_follows_the_ended_streams_count),
      cmocka_unit_test(test_xep0198_4_steady_state_keeps_stanzas_without_allocating),
  };
  return cmocka_run_group_tests_name("gateway/s2s/sm", tests, NULL, NULL);
}
