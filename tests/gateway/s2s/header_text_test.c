// header_text_test.c: a stream header written back as text
// (gateway/s2s/header_text.c) parses into the same header.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/s2s/header_text.h"
#include "gateway/xml/xml_parser.h"

// parse feeds |text| to |p| and returns its header (NULL unless the whole
// text was one stream header).
static const fg_xml_stream_header *parse(fg_xml_parser *p, const char *text) {
  size_t used = 0, len = strlen(text);
  fg_xml_event ev = fg_xml_parser_feed(p, &used, (const uint8_t *)text, len);
  return ev == FG_XML_EVENT_STREAM_OPEN && used == len ? fg_xml_parser_header(p) : NULL;
}

static void assert_str_same(fg_xml_str a, fg_xml_str b) {
  assert_int_equal(a.data == NULL, b.data == NULL);
  assert_int_equal(a.len, b.len);
  if (a.len > 0) assert_memory_equal(a.data, b.data, a.len);
}

// round_trip checks that |text|'s header, written back, parses the same.
static void round_trip(const char *text) {
  fg_xml_parser *p1 = fg_xml_parser_new(NULL), *p2 = fg_xml_parser_new(NULL);
  const fg_xml_stream_header *a = parse(p1, text);
  assert_non_null(a);
  char out[1024];
  size_t n = fg_header_text(a, out, sizeof(out));
  assert_true(n > 0);
  assert_int_equal(strlen(out), n);
  const fg_xml_stream_header *b = parse(p2, out);
  if (b == NULL) fail_msg("did not parse back: %s", out);
  assert_str_same(a->ns, b->ns);
  assert_str_same(a->prefix, b->prefix);
  assert_str_same(a->local, b->local);
  assert_str_same(a->content_ns, b->content_ns);
  assert_str_same(a->to, b->to);
  assert_str_same(a->from, b->from);
  assert_str_same(a->id, b->id);
  assert_str_same(a->version, b->version);
  assert_str_same(a->lang, b->lang);
  assert_int_equal(a->version_major, b->version_major);
  assert_int_equal(a->version_minor, b->version_minor);
  assert_int_equal(a->has_xml_decl, b->has_xml_decl);
  assert_int_equal(a->num_decls, b->num_decls);
  for (size_t i = 0; i < a->num_decls; i++) {
    assert_str_same(a->decls[i].prefix, b->decls[i].prefix);
    assert_str_same(a->decls[i].uri, b->decls[i].uri);
  }
  assert_int_equal(a->num_attrs, b->num_attrs);
  for (size_t i = 0; i < a->num_attrs; i++) {  // same set, in any order
    int found = 0;
    for (size_t j = 0; j < b->num_attrs && !found; j++) {
      const fg_xml_attr *x = &a->attrs[i], *y = &b->attrs[j];
      found = x->local.len == y->local.len &&
              memcmp(x->local.data, y->local.data, x->local.len) == 0 && x->ns.len == y->ns.len &&
              (x->ns.len == 0 || memcmp(x->ns.data, y->ns.data, x->ns.len) == 0);
      if (found) assert_str_same(x->value, y->value);
    }
    assert_true(found);
  }
  fg_xml_parser_free(p1);
  fg_xml_parser_free(p2);
}

static void test_rfc6120_4_7_s2s_header_round_trips(void **state) {
  round_trip(
      "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
      "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
      "to='b.example' from='a.example' version='1.0'>");
  round_trip(
      "<stream:stream xmlns=\"jabber:server\" xmlns:stream=\"http://etherx.jabber.org/streams\" "
      "from=\"a.example\" to=\"b.example\" id=\"x1\" version=\"1.0\" xml:lang=\"en\">");
}

// RFC 6120 §4.7.4 xml:lang, other attributes and namespaces; values holding
// markup, quotes and whitespace references (XML 1.0 §3.3.3 normalisation).
static void test_rfc6120_4_7_4_lang_escapes_and_foreign_attributes(void **state) {
  round_trip(
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
      "xmlns:x='urn:x&amp;y' to='b.example' from='a.example' version='1.0' xml:lang='de-CH' "
      "x:note='a&amp;b&#9;c&#10;d&#13;e&apos;f&lt;g\"h&gt;' plain='  two  spaces '>");
}

static void test_too_long_for_the_room_is_refused(void **state) {
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  const fg_xml_stream_header *h =
      parse(p,
            "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
            "to='b.example' from='a.example' version='1.0'>");
  assert_non_null(h);
  char out[64];
  assert_int_equal(fg_header_text(h, out, sizeof(out)), 0);
  char room[512];
  assert_true(fg_header_text(h, room, sizeof(room)) > 0);
  fg_xml_parser_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc6120_4_7_s2s_header_round_trips),
      cmocka_unit_test(test_rfc6120_4_7_4_lang_escapes_and_foreign_attributes),
      cmocka_unit_test(test_too_long_for_the_room_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
