// xml_serializer_test.c: gateway/xml_serializer, canonical output, escaping,
// refusal of unwritable trees, and round trips through gateway/xml_parser.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/xml/xml_parser.h"
#include "gateway/xml/xml_serializer.h"
#include "tests/gateway/xml/xml_transcript.h"
#include "tests/testutil.h"

#define H                                                                                 \
  "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' " \
  "from='a.example' to='b.example' version='1.0'>"

static fg_xml_str S(const char *s) {
  fg_xml_str r = {(const uint8_t *)s, strlen(s)};
  return r;
}

static const fg_xml_nsdecl kCtx[] = {
    {{(const uint8_t *)"", 0}, {(const uint8_t *)"jabber:server", 13}},
    {{(const uint8_t *)"stream", 6}, {(const uint8_t *)FG_XML_NS_STREAMS, 32}},
};

static fg_xml_node elem(const char *ns, const char *prefix, const char *local) {
  fg_xml_node n;
  memset(&n, 0, sizeof(n));
  n.type = FG_XML_NODE_ELEMENT;
  n.ns = S(ns);
  n.prefix = S(prefix);
  n.local = S(local);
  return n;
}

static fg_xml_node text(const char *t, size_t len) {
  fg_xml_node n;
  memset(&n, 0, sizeof(n));
  n.type = FG_XML_NODE_TEXT;
  n.text.data = (const uint8_t *)t;
  n.text.len = len;
  return n;
}

// expect_written_lang checks what fg_xml_writer_element_lang writes for |el|
// with the stream language |lang|.
static void expect_written_lang(const fg_xml_node *el, unsigned flags, fg_xml_str lang,
                                const char *want) {
  fg_xml_writer *w = fg_xml_writer_new();
  assert_true(fg_xml_writer_element_lang(w, el, kCtx, 2, flags, lang));
  size_t n;
  const uint8_t *d = fg_xml_writer_data(w, &n);
  if (n != strlen(want) || memcmp(d, want, n) != 0)
    fail_msg("wrote %.*s\nwant  %s", (int)n, d, want);
  fg_xml_writer_free(w);
}

static void expect_written(const fg_xml_node *el, unsigned flags, const char *want) {
  expect_written_lang(el, flags, (fg_xml_str){NULL, 0}, want);
}

static void expect_refused(const fg_xml_node *el) {
  fg_xml_writer *w = fg_xml_writer_new();
  assert_true(fg_xml_writer_element(w, el, kCtx, 2, 0) == 0);
  size_t n;
  fg_xml_writer_data(w, &n);
  assert_int_equal(n, 0);  // nothing half-written
  fg_xml_writer_free(w);
}

// RFC 6120 §11.1 / XML 1.0 §2.4: the escapes the parser treats as canonical.
static void test_rfc6120_11_escaping_text_and_attributes(void **state) {
  (void)state;
  fg_xml_node m = elem("jabber:server", "", "message");
  fg_xml_attr a[2] = {{S(""), S(""), S("id"), S("a'b\"c<d>e&f\tg\nh\ri")},
                      {S(FG_XML_NS_XML), S("xml"), S("lang"), S("en")}};
  m.attrs = a;
  m.num_attrs = 2;
  fg_xml_node t = text("x<y>&'\"\r\n\tz", 11);
  t.parent = &m;
  m.first_child = &t;
  expect_written(&m, 0,
                 "<message id='a&apos;b\"c&lt;d&gt;e&amp;f&#9;g&#10;h&#13;i' xml:lang='en'>"
                 "x&lt;y&gt;&amp;'\"&#13;\n\tz</message>");
  expect_written(&m, FG_XML_WRITE_ONE_LINE,
                 "<message id='a&apos;b\"c&lt;d&gt;e&amp;f&#9;g&#10;h&#13;i' xml:lang='en'>"
                 "x&lt;y&gt;&amp;'\"&#13;&#10;\tz</message>");
}

// Namespaces in XML: declarations go where needed, once.
static void test_xml_names_declarations_where_needed(void **state) {
  (void)state;
  fg_xml_node iq = elem("jabber:server", "", "iq");
  fg_xml_node q = elem("http://jabber.org/protocol/disco#info", "", "query");
  fg_xml_node f = elem("http://jabber.org/protocol/disco#info", "", "feature");
  fg_xml_node r = elem("jabber:server:dialback", "db", "result");
  fg_xml_node e = elem("", "", "bare");
  fg_xml_attr pa[1] = {{S("urn:p"), S("p"), S("k"), S("v")}};
  f.attrs = pa;
  f.num_attrs = 1;
  iq.first_child = &q;
  q.parent = &iq;
  q.next = &r;
  r.parent = &iq;
  r.next = &e;
  e.parent = &iq;
  q.first_child = &f;
  f.parent = &q;
  expect_written(&iq, 0,
                 "<iq><query xmlns='http://jabber.org/protocol/disco#info'>"
                 "<feature xmlns:p='urn:p' p:k='v'/></query>"
                 "<db:result xmlns:db='jabber:server:dialback'/><bare xmlns=''/></iq>");
  // A stream:error in the stream namespace reuses the context's prefix.
  fg_xml_node se = elem(FG_XML_NS_STREAMS, "stream", "error");
  expect_written(&se, 0, "<stream:error/>");
}

// feed_stanza writes into |in| (room for 512 bytes) the stream header H and
// the |len| bytes of |stanza| and feeds them to |p|, which must read one
// element from them; the element's raw bytes point into |in|.
static void feed_stanza(fg_xml_parser *p, char in[512], const char *stanza, size_t len) {
  size_t used, n = (size_t)snprintf(in, 512, H "%.*s", (int)len, stanza);
  assert_true(n < 512);
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)in, n), FG_XML_EVENT_STREAM_OPEN);
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)in + used, n - used),
                   FG_XML_EVENT_ELEMENT);
}

// RFC 6120 §4.7.4: the stream's default language given to the root alone,
// when it has none; escaped like any attribute value; its own kept. The
// stanzas are read by the parser, as the relay reads them.
static void test_rfc6120_4_7_4_stream_language_given_to_the_root(void **state) {
  (void)state;
  static const struct {
    const char *stanza, *lang, *want;
  } kCases[] = {
      {"<message to='b@b.example'><body/></message>", "de-CH",
       "<message to='b@b.example' xml:lang='de-CH'><body/></message>"},
      {"<message to='b@b.example'><body/></message>", "x'<",
       "<message to='b@b.example' xml:lang='x&apos;&lt;'><body/></message>"},
      {"<message to='b@b.example'><body/></message>", "",
       "<message to='b@b.example'><body/></message>"},
      {"<message to='b@b.example' xml:lang='fr'><body xml:lang='it'/></message>", "de",
       "<message to='b@b.example' xml:lang='fr'><body xml:lang='it'/></message>"},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    fg_xml_config cfg;
    fg_xml_config_default(&cfg);
    fg_xml_parser *p = fg_xml_parser_new(&cfg);
    char in[512];
    feed_stanza(p, in, kCases[i].stanza, strlen(kCases[i].stanza));
    expect_written_lang(fg_xml_parser_element(p)->root, 0, S(kCases[i].lang), kCases[i].want);
    fg_xml_parser_free(p);
  }
  fg_xml_node m = elem("jabber:server", "", "message");
  fg_xml_writer *w = fg_xml_writer_new();
  const char bad[] = {'d', 1, 'e', 0};
  assert_false(fg_xml_writer_element_lang(w, &m, kCtx, 2, 0, S(bad)));
  fg_xml_writer_free(w);
}

// RFC 6120 §4.7.4, the relay's way: the stream's default language added to
// the bytes a stanza was read from, right after the root's name, from the
// root's view alone; what is written parses to the stanza with that language
// and everything else as it was.
static void test_rfc6120_4_7_4_stream_language_added_to_the_raw_bytes(void **state) {
  (void)state;
  static const struct {
    const char *stanza, *lang, *want;
  } kCases[] = {
      {"<message to='b@b.example' from='a@a.example/r' type='chat'><body>hi</body></message>",
       "de-CH",
       "<message xml:lang='de-CH' to='b@b.example' from='a@a.example/r' type='chat'>"
       "<body>hi</body></message>"},
      {"<presence to='b@b.example' type='probe'/>", "en",
       "<presence xml:lang='en' to='b@b.example' type='probe'/>"},
      {"<iq><ping xmlns='urn:xmpp:ping'/></iq>", "x'<",
       "<iq xml:lang='x&apos;&lt;'><ping xmlns='urn:xmpp:ping'/></iq>"},
      {"<s:message xmlns:s='jabber:server' to='b@b.example'/>", "fr",
       "<s:message xml:lang='fr' xmlns:s='jabber:server' to='b@b.example'/>"},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    fg_xml_config cfg;
    fg_xml_config_default(&cfg);
    cfg.root_views = 1;
    fg_xml_parser *p = fg_xml_parser_new(&cfg);
    char in[512];
    feed_stanza(p, in, kCases[i].stanza, strlen(kCases[i].stanza));
    const fg_xml_element *el = fg_xml_parser_element_root(p);
    size_t nodes = el->num_nodes;
    char to[64];
    snprintf(to, sizeof(to), "%.*s", (int)el->to.len, el->to.data ? (const char *)el->to.data : "");
    fg_xml_writer *w = fg_xml_writer_new();
    assert_true(fg_xml_writer_raw_lang(w, el->root, S(kCases[i].lang)));
    size_t n;
    const uint8_t *out = fg_xml_writer_data(w, &n);
    assert_int_equal(n, strlen(kCases[i].want));
    assert_memory_equal(out, kCases[i].want, n);
    // Read back: the language is the stanza's, the routing attributes as before.
    fg_xml_parser_reset(p);
    char again[512];
    feed_stanza(p, again, (const char *)out, n);
    const fg_xml_element *back = fg_xml_parser_element(p);
    assert_int_equal(back->lang.len, strlen(kCases[i].lang));
    assert_memory_equal(back->lang.data, kCases[i].lang, back->lang.len);
    assert_int_equal(back->num_nodes, nodes);
    assert_int_equal(back->to.len, strlen(to));
    if (back->to.len > 0) assert_memory_equal(back->to.data, to, back->to.len);
    fg_xml_writer_free(w);
    fg_xml_parser_free(p);
  }
  // Nothing written for no language or one that is not character data.
  fg_xml_writer *w = fg_xml_writer_new();
  fg_xml_node m = elem("jabber:server", "", "message");
  m.raw = S("<message/>");
  const char bad[] = {'d', 1, 'e', 0};
  assert_false(fg_xml_writer_raw_lang(w, &m, S("")));
  assert_false(fg_xml_writer_raw_lang(w, &m, S(bad)));
  size_t n;
  fg_xml_writer_data(w, &n);
  assert_int_equal(n, 0);
  fg_xml_writer_free(w);
}

// Stanza smuggling (CVE-2022-22784 class): no value can close or open markup,
// and invalid trees are refused rather than written.
static void test_rfc6120_11_refuses_unwritable_trees(void **state) {
  (void)state;
  fg_xml_node m = elem("jabber:server", "", "message");
  fg_xml_node t = text("</message><iq type='set'>", 25);
  t.parent = &m;
  m.first_child = &t;
  fg_xml_writer *w = fg_xml_writer_new();
  assert_true(fg_xml_writer_element(w, &m, kCtx, 2, 0));
  size_t n;
  const uint8_t *d = fg_xml_writer_data(w, &n);
  // Re-parse: exactly one element whose text is the original string.
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  size_t used;
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)H, strlen(H)),
                   FG_XML_EVENT_STREAM_OPEN);
  assert_int_equal(fg_xml_parser_feed(p, &used, d, n), FG_XML_EVENT_ELEMENT);
  assert_int_equal(used, n);
  const fg_xml_element *el = fg_xml_parser_element(p);
  assert_true(fg_xml_str_eq(el->root->first_child->text, "</message><iq type='set'>"));
  assert_null(el->root->first_child->next);
  fg_xml_parser_free(p);
  fg_xml_writer_free(w);

  fg_xml_node bad;
  bad = text("a\x01", 2);
  bad.parent = &m;
  m.first_child = &bad;
  expect_refused(&m);  // C0 control
  bad = text("\xc0\xaf", 2);
  expect_refused(&m);  // overlong UTF-8
  bad = text("\xef\xbf\xbe", 3);
  expect_refused(&m);  // U+FFFE
  bad = text("\xed\xa0\x80", 3);
  expect_refused(&m);  // surrogate
  m.first_child = NULL;
  fg_xml_node names[] = {
      elem("jabber:server", "", "a b"),
      elem("jabber:server", "", "1a"),
      elem("jabber:server", "", ""),
      elem("urn:x", "a:b", "c"),
      elem("", "p", "c"),
      elem("urn:x", "xmlns", "c"),
      elem("urn:x", "xml", "c"),
      elem(FG_XML_NS_XML, "", "c"),
      elem("jabber:server", "", "a>b"),
  };
  for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) expect_refused(&names[k]);
  // One prefix, two namespaces on one element; duplicate expanded names.
  fg_xml_node c = elem("urn:a", "p", "c");
  fg_xml_attr ca[1] = {{S("urn:b"), S("p"), S("k"), S("v")}};
  c.attrs = ca;
  c.num_attrs = 1;
  expect_refused(&c);
  fg_xml_node d2 = elem("urn:a", "", "c");
  fg_xml_attr da[2] = {{S("urn:b"), S("p"), S("k"), S("v")}, {S("urn:b"), S("q"), S("k"), S("w")}};
  d2.attrs = da;
  d2.num_attrs = 2;
  expect_refused(&d2);
  fg_xml_attr va[1] = {{S(""), S(""), S("k"), S("\x1b[31m")}};
  d2.attrs = va;
  d2.num_attrs = 1;
  expect_refused(&d2);
  fg_xml_attr xa[1] = {{S(""), S(""), S("xmlns"), S("urn:evil")}};
  d2.attrs = xa;
  expect_refused(&d2);
}

static void test_rfc6120_4_7_stream_header_written(void **state) {
  (void)state;
  fg_xml_nsdecl decls[2] = {{S(""), S("jabber:server")}, {S("stream"), S(FG_XML_NS_STREAMS)}};
  fg_xml_attr attrs[3] = {{S(""), S(""), S("from"), S("a.example")},
                          {S(""), S(""), S("version"), S("1.0")},
                          {S(FG_XML_NS_XML), S("xml"), S("lang"), S("en")}};
  fg_xml_stream_header h;
  memset(&h, 0, sizeof(h));
  h.ns = S(FG_XML_NS_STREAMS);
  h.prefix = S("stream");
  h.local = S("stream");
  h.decls = decls;
  h.num_decls = 2;
  h.attrs = attrs;
  h.num_attrs = 3;
  fg_xml_writer *w = fg_xml_writer_new();
  assert_true(fg_xml_writer_stream_open(w, &h));
  assert_true(fg_xml_writer_stream_close(w, &h));
  size_t n;
  const uint8_t *d = fg_xml_writer_data(w, &n);
  const char *want =
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
      "from='a.example' version='1.0' xml:lang='en'></stream:stream>";
  assert_int_equal(n, strlen(want));
  assert_memory_equal(d, want, n);
  // The stream prefix must be declared.
  h.num_decls = 1;
  fg_xml_writer_clear(w);
  assert_false(fg_xml_writer_stream_open(w, &h));
  fg_xml_writer_free(w);
}

// parse(serialize(parse(x))) == parse(x) on every accepted vector row.
static void test_roundtrip_vectors(void **state) {
  (void)state;
  char path[1024];
  assert_true(fg_test_vector_path(path, sizeof(path), "xml/streams.tsv"));
  size_t len;
  char *data = (char *)fg_test_read_file(path, &len);
  assert_non_null(data);
  char *save = NULL;
  int rows = 0;
  strtok_r(data, "\n", &save);
  for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *tab = strchr(line, '\t');
    if (tab == NULL) continue;
    char *in = tab + 1;
    char *end = strchr(in, '\t');
    if (end) *end = 0;
    uint8_t *bytes = malloc(strlen(in) + 1);
    size_t n = fg_test_unescape(bytes, in);
    fg_xml_transcript t;
    assert_true(fg_xml_transcript_run(&t, NULL, bytes, n, NULL, 0));
    char why[4096];
    if (!fg_xml_transcript_roundtrip(&t, NULL, why, sizeof(why))) fail_msg("%.16s: %s", line, why);
    assert_int_equal(t.canon_mismatch, 0);
    fg_xml_transcript_free(&t);
    free(bytes);
    rows++;
  }
  free(data);
  assert_true(rows >= 90);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc6120_11_escaping_text_and_attributes),
      cmocka_unit_test(test_xml_names_declarations_where_needed),
      cmocka_unit_test(test_rfc6120_11_refuses_unwritable_trees),
      cmocka_unit_test(test_rfc6120_4_7_4_stream_language_given_to_the_root),
      cmocka_unit_test(test_rfc6120_4_7_4_stream_language_added_to_the_raw_bytes),
      cmocka_unit_test(test_rfc6120_4_7_stream_header_written),
      cmocka_unit_test(test_roundtrip_vectors),
  };
  return cmocka_run_group_tests_name("xml_serializer", tests, NULL, NULL);
}
