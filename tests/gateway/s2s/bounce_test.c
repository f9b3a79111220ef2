// bounce_test.c: RFC 6120 §8.3 error stanzas built by gateway/s2s/bounce.c.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/s2s/bounce.h"

static fg_bounce_stanza stanza(fg_stanza_kind kind, const char *type, const char *to,
                               const char *from, const char *id) {
  fg_bounce_stanza s = {kind,
                        type,
                        type ? strlen(type) : 0,
                        to,
                        to ? strlen(to) : 0,
                        from,
                        from ? strlen(from) : 0,
                        id,
                        id ? strlen(id) : 0};
  return s;
}

static const char *build(const fg_bounce_stanza *s, fg_stanza_condition c, fg_stanza_error_type t,
                         const char *by, const char *text) {
  static char buf[2048];
  size_t len = 0;
  fg_bounce_verdict v = fg_bounce_build((uint8_t *)buf, &len, sizeof(buf) - 1, s, c, t, by, text);
  assert_int_equal(v, FG_BOUNCE_OK);
  buf[len] = 0;
  return buf;
}

// RFC 6120 §8.3.2: swapped addresses, type='error', the id kept (§8.1.3),
// the defined condition in the stanzas namespace inside <error type=.../>.
static void test_rfc6120_8_3_2_message_bounce_syntax(void **state) {
  (void)state;
  fg_bounce_stanza s = stanza(FG_STANZA_MESSAGE, "chat", "juliet@capulet.example/balcony",
                              "romeo@montague.example/garden", "msg-1");
  assert_string_equal(
      build(&s, FG_STANZA_REMOTE_SERVER_NOT_FOUND, FG_STANZA_ERROR_TYPE_DEFAULT, NULL, NULL),
      "<message from='juliet@capulet.example/balcony' to='romeo@montague.example/garden'"
      " type='error' id='msg-1'><error type='cancel'><remote-server-not-found"
      " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
}

static void test_rfc6120_8_3_2_iq_and_presence_with_by_and_text(void **state) {
  (void)state;
  fg_bounce_stanza iq = stanza(FG_STANZA_IQ, "get", "capulet.example", "montague.example", "v1");
  assert_string_equal(
      build(&iq, FG_STANZA_SERVICE_UNAVAILABLE, FG_STANZA_ERROR_TYPE_DEFAULT, "gw.example",
            "backend down"),
      "<iq from='capulet.example' to='montague.example' type='error' id='v1'>"
      "<error type='cancel' by='gw.example'><service-unavailable"
      " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text"
      " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>backend down</text></error></iq>");
  // No id on the original: none on the bounce.
  fg_bounce_stanza pr = stanza(FG_STANZA_PRESENCE, "subscribe", "a@b.example", "c@d.example", NULL);
  assert_string_equal(
      build(&pr, FG_STANZA_REMOTE_SERVER_TIMEOUT, FG_STANZA_ERROR_TYPE_DEFAULT, NULL, NULL),
      "<presence from='a@b.example' to='c@d.example' type='error'><error type='wait'>"
      "<remote-server-timeout xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>");
  // Available presence (no type attribute) is bounced too.
  fg_bounce_stanza av = stanza(FG_STANZA_PRESENCE, NULL, "a@b.example", "c@d.example", NULL);
  size_t len;
  uint8_t buf[512];
  assert_int_equal(fg_bounce_build(buf, &len, sizeof(buf), &av, FG_STANZA_REMOTE_SERVER_TIMEOUT,
                                   FG_STANZA_ERROR_TYPE_DEFAULT, NULL, NULL),
                   FG_BOUNCE_OK);
}

// RFC 6120 §8.3.3: each defined condition, its name and the error type the
// subsection says it SHOULD carry.
static void test_rfc6120_8_3_3_condition_table(void **state) {
  (void)state;
  static const struct {
    fg_stanza_condition c;
    const char *name, *type;
  } want[] = {
      {FG_STANZA_BAD_REQUEST, "bad-request", "modify"},                          // §8.3.3.1
      {FG_STANZA_CONFLICT, "conflict", "cancel"},                                // §8.3.3.2
      {FG_STANZA_FEATURE_NOT_IMPLEMENTED, "feature-not-implemented", "cancel"},  // §8.3.3.3
      {FG_STANZA_FORBIDDEN, "forbidden", "auth"},                                // §8.3.3.4
      {FG_STANZA_GONE, "gone", "cancel"},                                        // §8.3.3.5
      {FG_STANZA_INTERNAL_SERVER_ERROR, "internal-server-error", "cancel"},      // §8.3.3.6
      {FG_STANZA_ITEM_NOT_FOUND, "item-not-found", "cancel"},                    // §8.3.3.7
      {FG_STANZA_JID_MALFORMED, "jid-malformed", "modify"},                      // §8.3.3.8
      {FG_STANZA_NOT_ACCEPTABLE, "not-acceptable", "modify"},                    // §8.3.3.9
      {FG_STANZA_NOT_ALLOWED, "not-allowed", "cancel"},                          // §8.3.3.10
      {FG_STANZA_NOT_AUTHORIZED, "not-authorized", "auth"},                      // §8.3.3.11
      {FG_STANZA_POLICY_VIOLATION, "policy-violation", "modify"},                // §8.3.3.12
      {FG_STANZA_RECIPIENT_UNAVAILABLE, "recipient-unavailable", "wait"},        // §8.3.3.13
      {FG_STANZA_REDIRECT, "redirect", "modify"},                                // §8.3.3.14
      {FG_STANZA_REGISTRATION_REQUIRED, "registration-required", "auth"},        // §8.3.3.15
      {FG_STANZA_REMOTE_SERVER_NOT_FOUND, "remote-server-not-found", "cancel"},  // §8.3.3.16
      {FG_STANZA_REMOTE_SERVER_TIMEOUT, "remote-server-timeout", "wait"},        // §8.3.3.17
      {FG_STANZA_RESOURCE_CONSTRAINT, "resource-constraint", "wait"},            // §8.3.3.18
      {FG_STANZA_SERVICE_UNAVAILABLE, "service-unavailable", "cancel"},          // §8.3.3.19
      {FG_STANZA_SUBSCRIPTION_REQUIRED, "subscription-required", "auth"},        // §8.3.3.20
      {FG_STANZA_UNDEFINED_CONDITION, "undefined-condition", "cancel"},          // §8.3.3.21
      {FG_STANZA_UNEXPECTED_REQUEST, "unexpected-request", "wait"},              // §8.3.3.22
  };
  assert_int_equal(sizeof(want) / sizeof(want[0]), FG_STANZA_CONDITION_COUNT);
  fg_bounce_stanza s = stanza(FG_STANZA_MESSAGE, NULL, "x.example", "y.example", NULL);
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    assert_int_equal(want[i].c, (fg_stanza_condition)i);
    assert_string_equal(fg_stanza_condition_name(want[i].c), want[i].name);
    assert_string_equal(fg_stanza_error_type_name(fg_stanza_condition_default_type(want[i].c)),
                        want[i].type);
    assert_int_equal(fg_stanza_condition_from_name(want[i].name, strlen(want[i].name)), want[i].c);
    char expect[512];
    snprintf(expect, sizeof(expect),
             "<message from='x.example' to='y.example' type='error'><error type='%s'><%s"
             " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
             want[i].type, want[i].name);
    assert_string_equal(build(&s, want[i].c, FG_STANZA_ERROR_TYPE_DEFAULT, NULL, NULL), expect);
  }
  assert_null(fg_stanza_condition_name(FG_STANZA_CONDITION_COUNT));
  assert_int_equal(fg_stanza_condition_from_name("remote-server", 13), FG_STANZA_CONDITION_COUNT);
  assert_null(fg_stanza_error_type_name(FG_STANZA_ERROR_TYPE_DEFAULT));
}

// RFC 6120 §8.3.3.17: remote-server-timeout is "wait" unless the failure is
// permanent (for example authentication failed): the caller may override.
static void test_rfc6120_8_3_3_17_timeout_type_override(void **state) {
  (void)state;
  fg_bounce_stanza s = stanza(FG_STANZA_MESSAGE, "normal", "a.example", "b.example", "1");
  const char *out =
      build(&s, FG_STANZA_REMOTE_SERVER_TIMEOUT, FG_STANZA_ERROR_TYPE_CANCEL, NULL, NULL);
  assert_non_null(strstr(out, "<error type='cancel'><remote-server-timeout "));
}

// RFC 6120 §8.3.1 rule 1: an error stanza is never answered with an error, for
// any kind of stanza.
static void test_rfc6120_8_3_1_never_bounce_an_error(void **state) {
  (void)state;
  for (int k = FG_STANZA_MESSAGE; k <= FG_STANZA_IQ; k++) {
    fg_bounce_stanza s = stanza((fg_stanza_kind)k, "error", "a.example", "b.example", "e1");
    assert_int_equal(fg_bounce_check(&s), FG_BOUNCE_NOT_FOR_ERROR);
    uint8_t buf[512];
    size_t len = 99;
    assert_int_equal(fg_bounce_build(buf, &len, sizeof(buf), &s, FG_STANZA_SERVICE_UNAVAILABLE,
                                     FG_STANZA_ERROR_TYPE_DEFAULT, NULL, NULL),
                     FG_BOUNCE_NOT_FOR_ERROR);
    assert_int_equal(len, 0);
  }
  assert_string_equal(fg_bounce_verdict_name(FG_BOUNCE_NOT_FOR_ERROR), "error-stanza");
}

// RFC 6120 §8.2.3: an IQ response (type 'result') is not answered; requests
// (get/set) are.
static void test_rfc6120_8_2_3_iq_result_not_bounced(void **state) {
  (void)state;
  fg_bounce_stanza r = stanza(FG_STANZA_IQ, "result", "a.example", "b.example", "q");
  assert_int_equal(fg_bounce_check(&r), FG_BOUNCE_NOT_FOR_IQ_RESULT);
  fg_bounce_stanza g = stanza(FG_STANZA_IQ, "set", "a.example", "b.example", "q");
  assert_int_equal(fg_bounce_check(&g), FG_BOUNCE_OK);
  // 'result' on a message is just an unknown message type: bounced.
  fg_bounce_stanza m = stanza(FG_STANZA_MESSAGE, "result", "a.example", "b.example", "q");
  assert_int_equal(fg_bounce_check(&m), FG_BOUNCE_OK);
}

// Policy (gateway/s2s/bounce.h): presence of type 'unavailable' is not bounced;
// other presence types (available, subscribe, probe, ...) are.
static void test_policy_unavailable_presence_not_bounced(void **state) {
  (void)state;
  fg_bounce_stanza u =
      stanza(FG_STANZA_PRESENCE, "unavailable", "a@b.example", "c@d.example", NULL);
  assert_int_equal(fg_bounce_check(&u), FG_BOUNCE_NOT_FOR_UNAVAILABLE);
  const char *types[] = {"subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe"};
  for (size_t i = 0; i < 5; i++) {
    fg_bounce_stanza p = stanza(FG_STANZA_PRESENCE, types[i], "a@b.example", "c@d.example", NULL);
    assert_int_equal(fg_bounce_check(&p), FG_BOUNCE_OK);
  }
  // Type values are case-sensitive (RFC 6120 §8.1.4): 'Error' is not 'error'.
  fg_bounce_stanza e = stanza(FG_STANZA_MESSAGE, "Error", "a.example", "b.example", NULL);
  assert_int_equal(fg_bounce_check(&e), FG_BOUNCE_OK);
}

// RFC 6120 §8.1.2.1: without a 'from' there is nobody to tell; without a 'to'
// there is no address to answer from.
static void test_rfc6120_8_1_2_1_needs_addresses(void **state) {
  (void)state;
  fg_bounce_stanza a = stanza(FG_STANZA_MESSAGE, NULL, "a.example", NULL, NULL);
  assert_int_equal(fg_bounce_check(&a), FG_BOUNCE_NO_ADDRESS);
  fg_bounce_stanza b = stanza(FG_STANZA_MESSAGE, NULL, NULL, "b.example", NULL);
  assert_int_equal(fg_bounce_check(&b), FG_BOUNCE_NO_ADDRESS);
  fg_bounce_stanza c = stanza(FG_STANZA_MESSAGE, NULL, "a.example", "", NULL);
  assert_int_equal(fg_bounce_check(&c), FG_BOUNCE_NO_ADDRESS);
}

// XML 1.0 §2.4 and §3.3.3: attribute values and text are escaped, including
// both quote styles and the whitespace characters normalisation would eat.
static void test_xml_2_4_escapes_attribute_values(void **state) {
  (void)state;
  fg_bounce_stanza s =
      stanza(FG_STANZA_MESSAGE, "chat", "a@b.example/x'y\"z", "c@d.example/<&>", "i'd\t\n\r");
  assert_string_equal(
      build(&s, FG_STANZA_RECIPIENT_UNAVAILABLE, FG_STANZA_ERROR_TYPE_DEFAULT, "b'.example",
            "a < b & 'c'"),
      "<message from='a@b.example/x&apos;y&quot;z' to='c@d.example/&lt;&amp;&gt;'"
      " type='error' id='i&apos;d&#9;&#10;&#13;'><error type='wait' by='b&apos;.example'>"
      "<recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text"
      " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>a &lt; b &amp; &apos;c&apos;</text>"
      "</error></message>");
  // Lengths are honoured: bytes after |*_len| are not read.
  fg_bounce_stanza t = {FG_STANZA_IQ, "getXXX", 3, "a.exampleXXX", 9, "b.exampleYYY", 9, "1Z", 1};
  assert_string_equal(
      build(&t, FG_STANZA_ITEM_NOT_FOUND, FG_STANZA_ERROR_TYPE_DEFAULT, NULL, NULL),
      "<iq from='a.example' to='b.example' type='error' id='1'><error type='cancel'>"
      "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
}

// The output never ends in a partial stanza: a short buffer reports the size
// needed, and the retry with that size succeeds.
static void test_bounce_buffer_too_small(void **state) {
  (void)state;
  fg_bounce_stanza s = stanza(FG_STANZA_MESSAGE, NULL, "a.example", "b.example", "id");
  uint8_t small[16], big[512];
  size_t need = 0, len = 0;
  assert_int_equal(fg_bounce_build(small, &need, sizeof(small), &s, FG_STANZA_GONE,
                                   FG_STANZA_ERROR_TYPE_DEFAULT, NULL, NULL),
                   FG_BOUNCE_BUFFER_TOO_SMALL);
  assert_true(need > sizeof(small));
  assert_int_equal(fg_bounce_build(big, &len, need, &s, FG_STANZA_GONE,
                                   FG_STANZA_ERROR_TYPE_DEFAULT, NULL, NULL),
                   FG_BOUNCE_OK);
  assert_int_equal(len, need);
  assert_int_equal(
      fg_bounce_build(NULL, &len, 0, &s, FG_STANZA_GONE, FG_STANZA_ERROR_TYPE_DEFAULT, NULL, NULL),
      FG_BOUNCE_BUFFER_TOO_SMALL);
  assert_int_equal(len, need);
  assert_int_equal(fg_bounce_build(big, &len, sizeof(big), &s, FG_STANZA_CONDITION_COUNT,
                                   FG_STANZA_ERROR_TYPE_DEFAULT, NULL, NULL),
                   FG_BOUNCE_BAD_ARGUMENT);
  assert_int_equal(fg_bounce_build(big, &len, sizeof(big), &s, FG_STANZA_GONE,
                                   (fg_stanza_error_type)42, NULL, NULL),
                   FG_BOUNCE_BAD_ARGUMENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc6120_8_3_2_message_bounce_syntax),
      cmocka_unit_test(test_rfc6120_8_3_2_iq_and_presence_with_by_and_text),
      cmocka_unit_test(test_rfc6120_8_3_3_condition_table),
      cmocka_unit_test(test_rfc6120_8_3_3_17_timeout_type_override),
      cmocka_unit_test(test_rfc6120_8_3_1_never_bounce_an_error),
      cmocka_unit_test(test_rfc6120_8_2_3_iq_result_not_bounced),
      cmocka_unit_test(test_policy_unavailable_presence_not_bounced),
      cmocka_unit_test(test_rfc6120_8_1_2_1_needs_addresses),
      cmocka_unit_test(test_xml_2_4_escapes_attribute_values),
      cmocka_unit_test(test_bounce_buffer_too_small),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
