// rtbl_items_fuzzer.c: gateway/policy/rtbl_items on stanzas from a block
// list service, which is a remote peer like any other. The input is the
// content of a jabber:server stream; every top-level element is read for the
// node "spam_source_domains" and then applied to a real block list.
// Invariants, restated from rtbl_items.h and blocklist.h:
//   - every key reported is what fg_block_parse_key accepts unchanged, of
//     kind domain or digest, never a suffix;
//   - the counts match the callbacks; a snapshot never removes;
//   - the block list accepts every reported entry, and then finds it.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz/fuzz_check.h"
#include "gateway/policy/rtbl_items.h"
#include "gateway/xml/xml_parser.h"

typedef struct seen {
  fg_blocklist *bl;
  size_t adds, removes;
} seen;

static void check_key(fg_block_kind kind, const char *key) {
  fg_block_kind k2;
  char norm[FG_BLOCK_KEY_MAX + 1];
  FUZZ_CHECK(kind == FG_BLOCK_DOMAIN || kind == FG_BLOCK_JID_SHA256);
  FUZZ_CHECK(fg_block_parse_key(key, &k2, norm, NULL));
  FUZZ_CHECK(k2 == kind && strcmp(norm, key) == 0);
}

static int on_add(void *arg, fg_block_kind kind, const char *key, const char *reason) {
  seen *s = arg;
  check_key(kind, key);
  FUZZ_CHECK(strlen(reason) <= FG_BLOCK_REASON_MAX);
  FUZZ_CHECK(fg_blocklist_add(s->bl, kind, key, "rtbl", reason) == 1);
  fg_block_match m;
  if (kind == FG_BLOCK_DOMAIN) {
    FUZZ_CHECK(fg_blocklist_check_domain(s->bl, key, &m) == 1);
    FUZZ_CHECK(strcmp(m.key, key) == 0);
  }
  s->adds++;
  return 1;
}

static int on_remove(void *arg, fg_block_kind kind, const char *key) {
  seen *s = arg;
  check_key(kind, key);
  FUZZ_CHECK(fg_blocklist_remove(s->bl, kind, key, "rtbl") >= 0);
  s->removes++;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char kHeader[] =
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
      "version='1.0'>";
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  seen s = {fg_blocklist_new(), 0, 0};
  FUZZ_CHECK(p != NULL && s.bl != NULL);
  fg_rtbl_ops ops = {on_add, on_remove, &s};
  size_t used = 0;
  fg_xml_event ev = fg_xml_parser_feed(p, &used, (const uint8_t *)kHeader, sizeof(kHeader) - 1);
  FUZZ_CHECK(ev == FG_XML_EVENT_STREAM_OPEN);
  while (size > 0) {
    ev = fg_xml_parser_feed(p, &used, data, size);
    data += used;
    size -= used;
    if (ev != FG_XML_EVENT_ELEMENT) break;
    size_t adds = s.adds, removes = s.removes;
    fg_rtbl_stats st;
    int kind = fg_rtbl_read(fg_xml_parser_element(p)->root, "spam_source_domains", &ops, &st);
    FUZZ_CHECK(kind >= FG_RTBL_NONE && kind <= FG_RTBL_CLEAR);
    FUZZ_CHECK(st.added == s.adds - adds && st.removed == s.removes - removes);
    if (kind == FG_RTBL_SNAPSHOT) FUZZ_CHECK(st.removed == 0);
    if (kind == FG_RTBL_NONE) FUZZ_CHECK(st.added == 0 && st.removed == 0);
  }
  fg_blocklist_free(s.bl);
  fg_xml_parser_free(p);
  return 0;
}
