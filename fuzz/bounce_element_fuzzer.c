// bounce_element_fuzzer.c: gateway/s2s/bounce_element.c (and bounce.c) on
// stanzas parsed from arbitrary peer bytes. The first input byte picks the
// stanza error condition; the rest follows a fixed s2s stream header and is
// parsed with gateway/xml. Every top-level element the parser accepts is
// answered with fg_bounce_element, first into a small buffer (which must
// report the size it needs), then into that size. The harness checks:
//   - the verdict follows RFC 6120 §8.3.1 / §8.2.3 and the policy of bounce.h
//     (no bounce for type='error', an iq result, an unavailable presence, or
//     without both addresses), restated here;
//   - a bounce, parsed again by the same parser after the same header, is one
//     well-formed element: the stanza's kind, type='error', 'from' and 'to'
//     swapped and 'id' kept byte for byte, and an <error/> holding the
//     condition in the stanzas namespace.
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/s2s/bounce_element.h"
#include "gateway/xml/xml_names.h"
#include "gateway/xml/xml_parser.h"
#include "fuzz/fuzz_check.h"

static const char kHeader[] = FG_S2S_STREAM_OPEN " from='a.example' to='b.example' version='1.0'>";

static int same(fg_xml_str a, fg_xml_str b) {
  if (a.data == NULL || b.data == NULL) return a.data == b.data;
  return a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
}

static int present(fg_xml_str s) {
  return s.data != NULL && s.len > 0;
}

static fg_xml_parser *open_stream(void) {
  fg_xml_config cfg;
  fg_xml_config_default(&cfg);
  cfg.content_ns = FG_XML_NS_SERVER;
  fg_xml_parser *p = fg_xml_parser_new(&cfg);
  if (p == NULL) return NULL;
  size_t used = 0;
  FUZZ_CHECK(fg_xml_parser_feed(p, &used, (const uint8_t *)kHeader, strlen(kHeader)) ==
             FG_XML_EVENT_STREAM_OPEN);
  FUZZ_CHECK(used == strlen(kHeader));
  return p;
}

// expected_verdict restates which stanzas bounce.h says are never bounced.
static fg_bounce_verdict expected_verdict(const fg_xml_element *el, const char *kind) {
  if (fg_xml_str_eq(el->type, "error")) return FG_BOUNCE_NOT_FOR_ERROR;
  if (strcmp(kind, "iq") == 0 && fg_xml_str_eq(el->type, "result")) {
    return FG_BOUNCE_NOT_FOR_IQ_RESULT;
  }
  if (strcmp(kind, "presence") == 0 && fg_xml_str_eq(el->type, "unavailable")) {
    return FG_BOUNCE_NOT_FOR_UNAVAILABLE;
  }
  if (!present(el->from) || !present(el->to)) return FG_BOUNCE_NO_ADDRESS;
  return FG_BOUNCE_OK;
}

// check_reparse parses |out| as the next element of a fresh stream.
static void check_reparse(const uint8_t *out, size_t len, const fg_xml_element *orig,
                          const char *kind, fg_stanza_condition cond) {
  fg_xml_parser *p = open_stream();
  if (p == NULL) return;
  size_t used = 0;
  fg_xml_event ev = fg_xml_parser_feed(p, &used, out, len);
  if (ev != FG_XML_EVENT_ELEMENT) {
    fprintf(stderr, "bounce does not parse (%s): %.*s\n",
            fg_xml_error_condition(fg_xml_parser_error(p, NULL)), (int)len, (const char *)out);
  }
  FUZZ_CHECK(ev == FG_XML_EVENT_ELEMENT);
  FUZZ_CHECK(used == len);
  const fg_xml_element *b = fg_xml_parser_element(p);
  FUZZ_CHECK(fg_xml_str_eq(b->root->local, kind));
  FUZZ_CHECK(fg_xml_str_eq(b->root->ns, FG_XML_NS_SERVER));
  FUZZ_CHECK(fg_xml_str_eq(b->type, "error"));
  FUZZ_CHECK(same(b->from, orig->to));
  FUZZ_CHECK(same(b->to, orig->from));
  FUZZ_CHECK(same(b->id, orig->id));
  const fg_xml_node *e = fg_xml_node_child(b->root, FG_XML_NS_SERVER, "error");
  FUZZ_CHECK(e != NULL);
  FUZZ_CHECK(fg_xml_node_child(e, FG_NS_STANZA_ERRORS, fg_stanza_condition_name(cond)) != NULL);
  FUZZ_CHECK(fg_xml_str_eq(fg_xml_node_attr(e, "", "type"),
                           fg_stanza_error_type_name(fg_stanza_condition_default_type(cond))));
  fg_xml_parser_free(p);
}

static void bounce_one(const fg_xml_element *el, fg_stanza_condition cond) {
  const char *kind = fg_xml_str_eq(el->root->local, "message")    ? "message"
                     : fg_xml_str_eq(el->root->local, "presence") ? "presence"
                                                                  : "iq";
  uint8_t small[64];
  size_t need = 0;
  fg_bounce_verdict v = fg_bounce_element(small, &need, sizeof(small), el, cond);
  fg_bounce_verdict want = expected_verdict(el, kind);
  if (want != FG_BOUNCE_OK) {
    FUZZ_CHECK(v == want);
    return;
  }
  FUZZ_CHECK(v == FG_BOUNCE_OK || v == FG_BOUNCE_BUFFER_TOO_SMALL);
  FUZZ_CHECK((v == FG_BOUNCE_OK) == (need <= sizeof(small)));
  uint8_t *out = malloc(need);
  if (out == NULL) return;
  size_t len = 0;
  FUZZ_CHECK(fg_bounce_element(out, &len, need, el, cond) == FG_BOUNCE_OK);
  FUZZ_CHECK(len == need);
  check_reparse(out, len, el, kind, cond);
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  fg_stanza_condition cond = (fg_stanza_condition)(data[0] % FG_STANZA_CONDITION_COUNT);
  data++;
  size--;
  fg_xml_parser *p = open_stream();
  if (p == NULL) return 0;
  size_t off = 0;
  while (off < size || fg_xml_parser_pending(p)) {
    size_t used = 0;
    fg_xml_event ev = fg_xml_parser_feed(p, &used, data + off, size - off);
    off += used;
    if (ev == FG_XML_EVENT_ELEMENT) {
      bounce_one(fg_xml_parser_element(p), cond);
    } else if (ev != FG_XML_EVENT_KEEPALIVE) {
      break;  // need more at the end, stream close or an error
    }
  }
  fg_xml_parser_free(p);
  return 0;
}
