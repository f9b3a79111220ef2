// bidi_test.c: XEP-0288 bidirectional streams: the rules of
// gateway/s2s/bidi.c and the receiving side (gateway/s2s/s2s_in.c) offering
// and accepting bidi. The initiating side's part is in s2s_out_test.c.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/s2s/bidi.h"
#include "gateway/s2s/s2s_in.h"

static fg_dialback_secret g_secret;

// --- the receiving side ---

typedef struct in_env {
  char out[16384];
  size_t out_len;
  const char *cert_for;  // the peer's certificate is valid for this domain
  int routed, bidi_events, verify_calls, acked;
} in_env;

static void i_send(void *arg, const uint8_t *d, size_t n) {
  in_env *e = arg;
  if (e->out_len + n < sizeof(e->out)) {
    memcpy(e->out + e->out_len, d, n);
    e->out_len += n;
    e->out[e->out_len] = 0;
  }
}
static int i_hosted(void *arg, const char *d) {
  return strcmp(d, "b.example") == 0 || strcmp(d, "c.example") == 0;
}
static int i_cert(void *arg, const char *d) {
  in_env *e = arg;
  return e->cert_for != NULL && strcmp(d, e->cert_for) == 0;
}
static int i_verify(void *arg, const char *o, const char *r, const uint8_t *k, size_t kl,
                    const char *id) {
  ((in_env *)arg)->verify_calls++;
  return 1;
}
static fg_stanza_condition i_route(void *arg, const fg_xml_element *el, const char *f,
                                   const char *t) {
  ((in_env *)arg)->routed++;
  return FG_STANZA_CONDITION_COUNT;
}
static void i_event(void *arg, fg_s2s_in_event ev, const char *d, const char *detail) {
  if (ev == FG_S2S_IN_EV_BIDI_ENABLED) ((in_env *)arg)->bidi_events++;
}
static void i_acked(void *arg, const fg_sm_item *it) {
  ((in_env *)arg)->acked++;
}
static const fg_s2s_in_ops kInOps = {.send = i_send,
                                     .is_hosted = i_hosted,
                                     .cert_valid_for = i_cert,
                                     .dialback_verify = i_verify,
                                     .route = i_route,
                                     .event = i_event,
                                     .bidi_acked = i_acked};

#define HDR                                                                               \
  "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' " \
  "xmlns:db='jabber:server:dialback' to='b.example' from='a.example' version='1.0'>"

static fg_s2s_in *new_in_sm(in_env *e, int bidi, int tls_active, int sm, size_t max_unacked) {
  fg_s2s_in_config c;
  fg_s2s_in_config_default(&c);
  c.bidi = bidi;
  c.sm = sm;
  c.bidi_sm_max_stanzas = max_unacked;
  c.tls_active = tls_active;
  c.dialback_secret = &g_secret;
  return fg_s2s_in_new(&c, &kInOps, e);
}

static fg_s2s_in *new_in(in_env *e, int bidi, int tls_active) {
  return new_in_sm(e, bidi, tls_active, 0, 0);
}

static fg_s2s_in_status in_feed(fg_s2s_in *s, const char *bytes) {
  size_t used = 0;
  return fg_s2s_in_feed(s, (const uint8_t *)bytes, strlen(bytes), &used);
}

static void test_xep0288_2_1_feature_offered_over_tls_when_enabled(void **state) {
  in_env e = {0};
  fg_s2s_in *s = new_in(&e, 1, 1);
  assert_int_equal(in_feed(s, HDR), FG_S2S_IN_CONTINUE);
  assert_non_null(strstr(e.out, "<bidi xmlns='urn:xmpp:features:bidi'/>"));
  fg_s2s_in_free(s);
  in_env off = {0};
  s = new_in(&off, 0, 1);
  in_feed(s, HDR);
  assert_null(strstr(off.out, "urn:xmpp:features:bidi"));
  fg_s2s_in_free(s);
}

static void test_xep0288_2_1_feature_waits_for_mandatory_starttls(void **state) {
  in_env e = {0};
  fg_s2s_in *s = new_in(&e, 1, 0);
  in_feed(s, HDR);
  assert_non_null(strstr(e.out, "<starttls"));
  assert_null(strstr(e.out, "urn:xmpp:features:bidi"));
  fg_s2s_in_free(s);
}

static void test_xep0288_2_1_bidi_before_starttls_is_policy_violation(void **state) {
  in_env e = {0};
  fg_s2s_in *s = new_in(&e, 1, 0);
  in_feed(s, HDR);
  assert_int_equal(in_feed(s, FG_BIDI_REQUEST), FG_S2S_IN_CLOSED);
  assert_non_null(strstr(e.out, "<policy-violation"));
  assert_false(fg_s2s_in_bidi(s));
  fg_s2s_in_free(s);
}

static void test_xep0288_2_2_request_enables_without_answer(void **state) {
  in_env e = {0};
  fg_s2s_in *s = new_in(&e, 1, 1);
  in_feed(s, HDR);
  e.out_len = 0;
  e.out[0] = 0;
  assert_int_equal(in_feed(s, FG_BIDI_REQUEST), FG_S2S_IN_CONTINUE);
  assert_true(fg_s2s_in_bidi(s));
  assert_int_equal(e.bidi_events, 1);
  assert_string_equal(e.out, "");  // §2.2: the request has no answer
  fg_s2s_in_free(s);
}

static void test_xep0288_2_2_request_when_not_offered_is_unsupported(void **state) {
  in_env e = {0};
  fg_s2s_in *s = new_in(&e, 0, 1);
  in_feed(s, HDR);
  assert_int_equal(in_feed(s, FG_BIDI_REQUEST), FG_S2S_IN_CLOSED);
  assert_non_null(strstr(e.out, "<unsupported-stanza-type"));
  fg_s2s_in_free(s);
}

static const uint8_t kMsg[] = "<message from='b.example' to='u@a.example'/>";

static void test_xep0288_2_2_nothing_sent_before_sasl_authentication(void **state) {
  in_env e = {.cert_for = "a.example"};
  fg_s2s_in *s = new_in(&e, 1, 1);
  in_feed(s, HDR);
  in_feed(s, FG_BIDI_REQUEST);
  assert_false(fg_s2s_in_bidi_may_send(s, "b.example", "a.example"));
  assert_false(fg_s2s_in_bidi_send(s, "b.example", "a.example", kMsg, sizeof(kMsg) - 1, 0));
  in_feed(s, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>");
  // Between SASL success and the restarted stream, nothing may go out.
  assert_false(fg_s2s_in_bidi_may_send(s, "b.example", "a.example"));
  in_feed(s, HDR);
  e.out_len = 0;
  assert_true(fg_s2s_in_bidi_send(s, "b.example", "a.example", kMsg, sizeof(kMsg) - 1, 0));
  assert_memory_equal(e.out, kMsg, sizeof(kMsg) - 1);
  // §2.2: with SASL, only from the stream's 'to' to the authenticated peer.
  assert_false(fg_s2s_in_bidi_may_send(s, "c.example", "a.example"));
  assert_false(fg_s2s_in_bidi_may_send(s, "b.example", "x.example"));
  fg_s2s_in_free(s);
}

static void test_xep0288_2_2_without_request_nothing_is_sent(void **state) {
  in_env e = {.cert_for = "a.example"};
  fg_s2s_in *s = new_in(&e, 1, 1);
  in_feed(s, HDR);
  in_feed(s, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>");
  in_feed(s, HDR);
  assert_false(fg_s2s_in_bidi_may_send(s, "b.example", "a.example"));
  fg_s2s_in_free(s);
}

static void test_xep0288_2_2_dialback_allows_the_inverse_of_verified_pairs(void **state) {
  in_env e = {0};
  fg_s2s_in *s = new_in(&e, 1, 1);
  in_feed(s, HDR);
  in_feed(s, FG_BIDI_REQUEST);
  in_feed(s, "<db:result from='a.example' to='c.example'>deadbeef</db:result>");
  assert_int_equal(e.verify_calls, 1);
  // Pending verification: not yet.
  assert_false(fg_s2s_in_bidi_may_send(s, "c.example", "a.example"));
  fg_s2s_in_dialback_answer(s, "a.example", "c.example", 1);
  assert_true(fg_s2s_in_bidi_may_send(s, "c.example", "a.example"));
  // b.example (the header's 'to') was never part of a dialback request.
  assert_false(fg_s2s_in_bidi_may_send(s, "b.example", "a.example"));
  fg_s2s_in_free(s);
}

static void test_xep0288_2_2_invalid_dialback_gives_no_reverse_pair(void **state) {
  in_env e = {0};
  fg_s2s_in *s = new_in(&e, 1, 1);
  in_feed(s, HDR);
  in_feed(s, FG_BIDI_REQUEST);
  in_feed(s, "<db:result from='a.example' to='b.example'>deadbeef</db:result>");
  fg_s2s_in_dialback_answer(s, "a.example", "b.example", 0);
  assert_false(fg_s2s_in_bidi_may_send(s, "b.example", "a.example"));
  fg_s2s_in_free(s);
}

static void test_rfc6120_4_4_nothing_sent_on_a_closing_bidi_stream(void **state) {
  in_env e = {.cert_for = "a.example"};
  fg_s2s_in *s = new_in(&e, 1, 1);
  in_feed(s, HDR);
  in_feed(s, FG_BIDI_REQUEST);
  in_feed(s, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>");
  in_feed(s, HDR);
  assert_true(fg_s2s_in_bidi_may_send(s, "b.example", "a.example"));
  fg_s2s_in_close(s);
  assert_false(fg_s2s_in_bidi_may_send(s, "b.example", "a.example"));
  fg_s2s_in_free(s);
}

// in_sm_ready returns a bidi stream of a.example authenticated by SASL with
// XEP-0198 enabled by the peer, its output cleared.
static fg_s2s_in *in_sm_ready(in_env *e, size_t max_unacked) {
  e->cert_for = "a.example";
  fg_s2s_in *s = new_in_sm(e, 1, 1, 1, max_unacked);
  in_feed(s, HDR);
  in_feed(s, FG_BIDI_REQUEST);
  in_feed(s, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>");
  in_feed(s, HDR);
  in_feed(s, "<enable xmlns='urn:xmpp:sm:3'/>");
  e->out_len = 0;
  e->out[0] = 0;
  return s;
}

static void test_xep0198_4_stanzas_sent_back_are_kept_until_acknowledged(void **state) {
  in_env e = {0};
  fg_s2s_in *s = in_sm_ready(&e, 0);
  assert_true(fg_s2s_in_bidi_send(s, "b.example", "a.example", kMsg, sizeof(kMsg) - 1, 0));
  assert_non_null(strstr(e.out, "<r xmlns='urn:xmpp:sm:3'/>"));  // asked at once
  e.out_len = 0;
  e.out[0] = 0;
  assert_true(fg_s2s_in_bidi_send(s, "b.example", "a.example", kMsg, sizeof(kMsg) - 1, 1));
  assert_null(strstr(e.out, "<r "));  // one <r/> unanswered is enough
  uint64_t written = 0;
  assert_int_equal(fg_s2s_in_bidi_unacked(s, &written), 2);
  assert_int_equal(written, 2);
  assert_int_equal(in_feed(s, "<a xmlns='urn:xmpp:sm:3' h='1'/>"), FG_S2S_IN_CONTINUE);
  assert_int_equal(e.acked, 1);
  assert_int_equal(fg_s2s_in_bidi_unacked(s, NULL), 1);
  // The one written while the answer was awaited is asked about at once.
  assert_non_null(strstr(e.out, "<r xmlns='urn:xmpp:sm:3'/>"));
  fg_sm_item *left = fg_s2s_in_bidi_take_unacked(s);
  assert_non_null(left);
  assert_int_equal(left->tag, 1);  // the second one, a bounce
  assert_null(left->next);
  free(left);
  fg_s2s_in_free(s);
}

static void test_xep0198_4_ack_of_stanzas_never_sent_is_an_error(void **state) {
  in_env e = {0};
  fg_s2s_in *s = in_sm_ready(&e, 0);
  fg_s2s_in_bidi_send(s, "b.example", "a.example", kMsg, sizeof(kMsg) - 1, 0);
  assert_int_equal(in_feed(s, "<a xmlns='urn:xmpp:sm:3' h='3'/>"), FG_S2S_IN_CLOSED);
  assert_non_null(strstr(e.out, "<undefined-condition"));
  fg_s2s_in_free(s);
}

static void test_xep0198_4_unacknowledged_bound_stops_the_stream_carrying_more(void **state) {
  in_env e = {0};
  fg_s2s_in *s = in_sm_ready(&e, 2);
  assert_true(fg_s2s_in_bidi_send(s, "b.example", "a.example", kMsg, sizeof(kMsg) - 1, 0));
  assert_true(fg_s2s_in_bidi_send(s, "b.example", "a.example", kMsg, sizeof(kMsg) - 1, 0));
  assert_false(fg_s2s_in_bidi_may_send(s, "b.example", "a.example"));
  in_feed(s, "<a xmlns='urn:xmpp:sm:3' h='2'/>");
  assert_true(fg_s2s_in_bidi_may_send(s, "b.example", "a.example"));
  fg_s2s_in_free(s);
}

// --- rules ---

static void test_xep0288_4_reverse_trust_never_exceeds_inbound(void **state) {
  static const struct {
    fg_auth_method proof;
    int inbound_dialback, trusted;
  } kCases[] = {
      {FG_AUTH_PKIX, 0, 1}, {FG_AUTH_DANE_EE, 0, 1},  {FG_AUTH_DANE_TA, 0, 1},
      {FG_AUTH_POSH, 0, 1}, {FG_AUTH_DIALBACK, 1, 1}, {FG_AUTH_DIALBACK, 0, 0},
      {FG_AUTH_NONE, 1, 0}, {FG_AUTH_NONE, 0, 0},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    assert_int_equal(fg_bidi_reverse_trusted(kCases[i].proof, kCases[i].inbound_dialback),
                     kCases[i].trusted);
  }
}

// On a hop link the backend is trusted only as the internal listener would
// trust it: a certificate valid under the internal trust store (PKIX), or
// dialback where dialback is on; DANE and POSH never prove a backend.
static void test_xep0288_4_hop_reverse_trust_is_the_internal_listeners(void **state) {
  static const struct {
    fg_auth_method proof;
    int dialback, trusted;
  } kCases[] = {
      {FG_AUTH_PKIX, 0, 1},     {FG_AUTH_PKIX, 1, 1},    {FG_AUTH_DIALBACK, 1, 1},
      {FG_AUTH_DIALBACK, 0, 0}, {FG_AUTH_DANE_EE, 1, 0}, {FG_AUTH_DANE_TA, 1, 0},
      {FG_AUTH_POSH, 1, 0},     {FG_AUTH_NONE, 1, 0},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    assert_int_equal(fg_bidi_hop_reverse_trusted(kCases[i].proof, kCases[i].dialback),
                     kCases[i].trusted);
  }
}

static void test_xep0288_2_2_reverse_addresses_table(void **state) {
  static const struct {
    const char *from, *to;
    fg_bidi_verdict v;
  } kCases[] = {
      {"b.example", "a.example", FG_BIDI_OK},
      {"u@b.example/r", "v@A.example.", FG_BIDI_OK},
      {"c.example", "a.example", FG_BIDI_INVALID_FROM},
      {"b.example", "c.example", FG_BIDI_HOST_UNKNOWN},
      {NULL, "a.example", FG_BIDI_IMPROPER_ADDRESSING},
      {"b.example", NULL, FG_BIDI_IMPROPER_ADDRESSING},
      {"@b.example", "a.example", FG_BIDI_IMPROPER_ADDRESSING},
      {"b..example", "a.example", FG_BIDI_IMPROPER_ADDRESSING},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    char f[FG_DOMAIN_MAX + 1], t[FG_DOMAIN_MAX + 1];
    const char *from = kCases[i].from, *to = kCases[i].to;
    fg_bidi_verdict v = fg_bidi_check_reverse("a.example", "b.example", (const uint8_t *)from,
                                              from ? strlen(from) : 0, (const uint8_t *)to,
                                              to ? strlen(to) : 0, f, t);
    if (v != kCases[i].v) fail_msg("case %zu: verdict %d, want %d", i, v, kCases[i].v);
  }
  assert_string_equal(fg_bidi_verdict_condition(FG_BIDI_INVALID_FROM), "invalid-from");
  assert_null(fg_bidi_verdict_condition(FG_BIDI_OK));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_xep0288_2_1_feature_offered_over_tls_when_enabled),
      cmocka_unit_test(test_xep0288_2_1_feature_waits_for_mandatory_starttls),
      cmocka_unit_test(test_xep0288_2_1_bidi_before_starttls_is_policy_violation),
      cmocka_unit_test(test_xep0288_2_2_request_enables_without_answer),
      cmocka_unit_test(test_xep0288_2_2_request_when_not_offered_is_unsupported),
      cmocka_unit_test(test_xep0288_2_2_nothing_sent_before_sasl_authentication),
      cmocka_unit_test(test_xep0288_2_2_without_request_nothing_is_sent),
      cmocka_unit_test(test_xep0288_2_2_dialback_allows_the_inverse_of_verified_pairs),
      cmocka_unit_test(test_xep0288_2_2_invalid_dialback_gives_no_reverse_pair),
      cmocka_unit_test(test_rfc6120_4_4_nothing_sent_on_a_closing_bidi_stream),
      cmocka_unit_test(test_xep0198_4_stanzas_sent_back_are_kept_until_acknowledged),
      cmocka_unit_test(test_xep0198_4_ack_of_stanzas_never_sent_is_an_error),
      cmocka_unit_test(test_xep0198_4_unacknowledged_bound_stops_the_stream_carrying_more),
      cmocka_unit_test(test_xep0288_4_reverse_trust_never_exceeds_inbound),
      cmocka_unit_test(test_xep0288_4_hop_reverse_trust_is_the_internal_listeners),
      cmocka_unit_test(test_xep0288_2_2_reverse_addresses_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
