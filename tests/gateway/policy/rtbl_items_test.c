// rtbl_items_test.c: gateway/policy/rtbl_items against the stanzas of
// XEP-0060 (items result §6.5, item notifications §7.1, retractions §7.2,
// purge §8.5, delete §8.4) carrying block list entries.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/policy/rtbl_items.h"
#include "gateway/xml/xml_parser.h"

static fg_xml_parser *g_parser;

// element parses |stanza| in a jabber:server stream and returns its root.
static const fg_xml_node *element(const char *stanza) {
  fg_xml_parser_free(g_parser);
  g_parser = fg_xml_parser_new(NULL);
  char buf[8192];
  int n = snprintf(buf, sizeof(buf),
                   "<stream:stream xmlns='jabber:server' "
                   "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>%s",
                   stanza);
  const uint8_t *in = (const uint8_t *)buf;
  size_t len = (size_t)n, used = 0;
  for (;;) {
    fg_xml_event ev = fg_xml_parser_feed(g_parser, &used, in, len);
    in += used;
    len -= used;
    if (ev == FG_XML_EVENT_ELEMENT) return fg_xml_parser_element(g_parser)->root;
    if (ev != FG_XML_EVENT_STREAM_OPEN) return NULL;
  }
}

typedef struct log {
  char text[4096];
  int fail_after;  // callbacks before one reports out of memory (0: never)
  int calls;
} log;

static int on_add(void *arg, fg_block_kind kind, const char *key, const char *reason) {
  log *l = arg;
  if (l->fail_after && ++l->calls >= l->fail_after) return 0;
  size_t n = strlen(l->text);
  snprintf(l->text + n, sizeof(l->text) - n, "+%d %s [%s]\n", (int)kind, key, reason);
  return 1;
}

static int on_remove(void *arg, fg_block_kind kind, const char *key) {
  log *l = arg;
  size_t n = strlen(l->text);
  snprintf(l->text + n, sizeof(l->text) - n, "-%d %s\n", (int)kind, key);
  return 1;
}

static int read(const char *stanza, log *l, fg_rtbl_stats *st) {
  fg_rtbl_ops ops = {on_add, on_remove, l};
  const fg_xml_node *root = element(stanza);
  assert_non_null(root);
  return fg_rtbl_read(root, "spam_source_domains", &ops, st);
}

static void test_xep0060_6_5_items_result_is_a_snapshot(void **state) {
  (void)state;
  log l = {0};
  fg_rtbl_stats st;
  int k = read(
      "<iq type='result' id='f1' from='rtbl.example' to='gw@hosted.example'>"
      "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='spam_source_domains'>"
      "<item id='Spam.Example'/>"
      "<item id='b084c9cc0f2e17e5df0341bf4113d19e3169975118a1a5e9bcc811ac465796e1'>"
      "<report xmlns='urn:xmpp:reporting:1' reason='urn:xmpp:reporting:spam'>"
      "<text>bulk spam</text></report></item>"
      "<item id='not a domain'/><item/><item id='*.wild.example'/>"
      "</items></pubsub></iq>",
      &l, &st);
  assert_int_equal(k, FG_RTBL_SNAPSHOT);
  assert_string_equal(l.text,
                      "+0 spam.example []\n"
                      "+2 b084c9cc0f2e17e5df0341bf4113d19e3169975118a1a5e9bcc811ac465796e1 "
                      "[spam: bulk spam]\n");
  assert_int_equal(st.added, 2);
  assert_int_equal(st.invalid, 3);
}

static void test_xep0060_7_1_and_7_2_notifications(void **state) {
  (void)state;
  log l = {0};
  fg_rtbl_stats st;
  int k = read(
      "<message from='rtbl.example' to='gw@hosted.example'>"
      "<event xmlns='http://jabber.org/protocol/pubsub#event'>"
      "<items node='spam_source_domains'><item id='new.example'>"
      "<report xmlns='urn:xmpp:reporting:1' reason='urn:xmpp:reporting:abuse'/></item>"
      "<retract id='old.example'/></items></event></message>",
      &l, &st);
  assert_int_equal(k, FG_RTBL_CHANGES);
  assert_string_equal(l.text, "+0 new.example [abuse]\n-0 old.example\n");
  assert_int_equal(st.added, 1);
  assert_int_equal(st.removed, 1);
}

static void test_xep0060_8_5_purge_and_8_4_delete_clear(void **state) {
  (void)state;
  log l = {0};
  assert_int_equal(read("<message from='rtbl.example'><event "
                        "xmlns='http://jabber.org/protocol/pubsub#event'><purge "
                        "node='spam_source_domains'/></event></message>",
                        &l, NULL),
                   FG_RTBL_CLEAR);
  assert_int_equal(read("<message from='rtbl.example'><event "
                        "xmlns='http://jabber.org/protocol/pubsub#event'><delete "
                        "node='spam_source_domains'/></event></message>",
                        &l, NULL),
                   FG_RTBL_CLEAR);
  assert_string_equal(l.text, "");
}

static void test_other_nodes_and_stanzas_are_ignored(void **state) {
  (void)state;
  log l = {0};
  static const char *const ignored[] = {
      // another node
      "<message><event xmlns='http://jabber.org/protocol/pubsub#event'><items "
      "node='muc_bans_sha256'><item id='x.example'/></items></event></message>",
      // an error
      "<iq type='error' id='f1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items "
      "node='spam_source_domains'><item id='x.example'/></items></pubsub></iq>",
      "<message type='error'><event xmlns='http://jabber.org/protocol/pubsub#event'><items "
      "node='spam_source_domains'><item id='x.example'/></items></event></message>",
      // the wrong namespace
      "<message><event xmlns='urn:example:other'><items node='spam_source_domains'><item "
      "id='x.example'/></items></event></message>",
      // retract in a snapshot means nothing
      "<presence/>",
  };
  for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
    assert_int_equal(read(ignored[i], &l, NULL), FG_RTBL_NONE);
  assert_string_equal(l.text, "");
}

static void test_callback_failure_stops(void **state) {
  (void)state;
  log l = {.fail_after = 2};
  int k = read(
      "<iq type='result'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items "
      "node='spam_source_domains'><item id='a.example'/><item id='b.example'/><item "
      "id='c.example'/></items></pubsub></iq>",
      &l, NULL);
  assert_int_equal(k, -1);
  assert_string_equal(l.text, "+0 a.example []\n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_xep0060_6_5_items_result_is_a_snapshot),
      cmocka_unit_test(test_xep0060_7_1_and_7_2_notifications),
      cmocka_unit_test(test_xep0060_8_5_purge_and_8_4_delete_clear),
      cmocka_unit_test(test_other_nodes_and_stanzas_are_ignored),
      cmocka_unit_test(test_callback_failure_stops),
  };
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  fg_xml_parser_free(g_parser);
  return r;
}
