// bidi_test.c: XEP-0288 bidirectional streams: the rules of
// gateway/s2s/bidi.c, the receiving side (gateway/s2s/s2s_in.c) offering and
// accepting bidi, the initiating side (gateway/s2s/s2s_out.c) requesting it
// and judging the stanzas sent back, and both wired back to back.
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
#include "gateway/s2s/s2s_out.h"

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

// --- the initiating side ---

typedef struct out_env {
  char out[16384];
  size_t out_len;
  int ready, failed, stanzas;
  char fail_cond[64], last_from[256], last_to[256];
  const char *refuse;  // what o_stanza answers (NULL: taken)
  int refused;         // o_refused calls
  char refused_cond[64];
} out_env;

static void o_send(void *arg, const uint8_t *d, size_t n) {
  out_env *e = arg;
  if (e->out_len + n < sizeof(e->out)) {
    memcpy(e->out + e->out_len, d, n);
    e->out_len += n;
    e->out[e->out_len] = 0;
  }
}
static void o_ready(void *arg, int method) {
  ((out_env *)arg)->ready = method ? method : -1;
}
static void o_failed(void *arg, const char *c) {
  out_env *e = arg;
  e->failed++;
  snprintf(e->fail_cond, sizeof(e->fail_cond), "%s", c);
}
static void o_answer(void *arg, const char *r, const char *o, const char *id, int valid) {}
static const char *o_stanza(void *arg, const fg_xml_element *el, const char *from, const char *to) {
  out_env *e = arg;
  e->stanzas++;
  if (e->refuse != NULL) return e->refuse;
  snprintf(e->last_from, sizeof(e->last_from), "%s", from);
  snprintf(e->last_to, sizeof(e->last_to), "%s", to);
  return NULL;
}
static void o_refused(void *arg, const fg_xml_element *el, const char *condition) {
  out_env *e = arg;
  e->refused++;
  snprintf(e->refused_cond, sizeof(e->refused_cond), "%s", condition);
}
static const fg_s2s_out_ops kOutOps = {.send = o_send,
                                       .ready = o_ready,
                                       .failed = o_failed,
                                       .verify_answer = o_answer,
                                       .stanza = o_stanza,
                                       .refused = o_refused};

#define SRV_HDR                                                                           \
  "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' " \
  "xmlns:db='jabber:server:dialback' from='b.example' to='a.example' id='S1' version='1.0'>"
#define FEATURES_BIDI_DIALBACK                              \
  "<stream:features><bidi xmlns='urn:xmpp:features:bidi'/>" \
  "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback></stream:features>"

static fg_s2s_out *new_out(out_env *e, int bidi, int client_cert) {
  fg_s2s_out_config c;
  fg_s2s_out_config_default(&c);
  c.local = "a.example";
  c.remote = "b.example";
  c.tls_active = 1;
  c.client_cert = client_cert;
  c.dialback_secret = &g_secret;
  c.bidi = bidi;
  fg_s2s_out *s = fg_s2s_out_new(&c, &kOutOps, e);
  fg_s2s_out_start(s);
  e->out_len = 0;
  return s;
}

static fg_s2s_out_status out_feed(fg_s2s_out *s, const char *in) {
  size_t used;
  return fg_s2s_out_feed(s, (const uint8_t *)in, strlen(in), &used);
}

// ready_by_dialback brings |s| to ready over dialback with bidi offered.
static void ready_by_dialback(fg_s2s_out *s, out_env *e) {
  out_feed(s, SRV_HDR FEATURES_BIDI_DIALBACK);
  out_feed(s, "<db:result from='b.example' to='a.example' type='valid'/>");
  assert_int_equal(e->ready, FG_S2S_AUTH_DIALBACK);
}

static void test_xep0288_2_2_request_sent_before_dialback(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_out(&e, 1, 0);
  out_feed(s, SRV_HDR FEATURES_BIDI_DIALBACK);
  assert_true(fg_s2s_out_bidi(s));
  const char *bidi = strstr(e.out, "<bidi xmlns='urn:xmpp:bidi'/>");
  const char *db = strstr(e.out, "<db:result");
  assert_non_null(bidi);
  assert_non_null(db);
  assert_true(bidi < db);
  fg_s2s_out_free(s);
}

static void test_xep0288_2_2_request_sent_once_before_sasl(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_out(&e, 1, 1);
  out_feed(s, SRV_HDR
           "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
           "<mechanism>EXTERNAL</mechanism></mechanisms><bidi xmlns='urn:xmpp:features:bidi'/>"
           "</stream:features>");
  assert_string_equal(
      e.out,
      "<bidi xmlns='urn:xmpp:bidi'/>"
      "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>");
  out_feed(s, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  e.out_len = 0;
  e.out[0] = 0;
  out_feed(s, SRV_HDR "<stream:features><bidi xmlns='urn:xmpp:features:bidi'/></stream:features>");
  assert_null(strstr(e.out, "urn:xmpp:bidi"));  // not again after the restart
  assert_int_equal(e.ready, FG_S2S_AUTH_SASL_EXTERNAL);
  fg_s2s_out_free(s);
}

static void test_xep0288_2_2_no_request_when_not_offered_or_disabled(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_out(&e, 1, 0);
  out_feed(s, SRV_HDR
           "<stream:features><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>");
  assert_null(strstr(e.out, "urn:xmpp:bidi"));
  assert_false(fg_s2s_out_bidi(s));
  fg_s2s_out_free(s);
  out_env off = {0};
  s = new_out(&off, 0, 0);
  out_feed(s, SRV_HDR FEATURES_BIDI_DIALBACK);
  assert_null(strstr(off.out, "urn:xmpp:bidi"));
  fg_s2s_out_free(s);
}

static void test_xep0288_2_2_reverse_stanza_handed_over(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_out(&e, 1, 0);
  ready_by_dialback(s, &e);
  assert_int_equal(out_feed(s,
                            "<message from='x@B.example/r' to='u@a.example'><body>hi</body>"
                            "</message>"),
                   FG_S2S_OUT_CONTINUE);
  assert_int_equal(e.stanzas, 1);
  assert_string_equal(e.last_from, "b.example");
  assert_string_equal(e.last_to, "a.example");
  assert_int_equal(e.failed, 0);
  fg_s2s_out_free(s);
}

static void test_rfc6120_4_9_3_12_reverse_stanza_before_authentication(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_out(&e, 1, 0);
  out_feed(s, SRV_HDR FEATURES_BIDI_DIALBACK);
  assert_int_equal(out_feed(s, "<message from='b.example' to='u@a.example'/>"), FG_S2S_OUT_CLOSED);
  assert_non_null(strstr(e.out, "<not-authorized"));
  assert_int_equal(e.stanzas, 0);
  assert_int_equal(e.refused, 1);
  fg_s2s_out_free(s);
}

static void test_rfc6120_4_9_3_9_reverse_stanza_spoofed_from_is_invalid_from(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_out(&e, 1, 0);
  ready_by_dialback(s, &e);
  assert_int_equal(out_feed(s, "<message from='mallory@evil.example' to='u@a.example'/>"),
                   FG_S2S_OUT_CLOSED);
  assert_non_null(strstr(e.out, "<invalid-from xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"));
  assert_int_equal(e.stanzas, 0);
  assert_int_equal(e.refused, 1);
  assert_string_equal(e.refused_cond, "invalid-from");
  fg_s2s_out_free(s);
}

static void test_rfc6120_4_9_3_6_reverse_stanza_to_another_domain_is_host_unknown(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_out(&e, 1, 0);
  ready_by_dialback(s, &e);
  assert_int_equal(out_feed(s, "<message from='b.example' to='u@other.example'/>"),
                   FG_S2S_OUT_CLOSED);
  assert_non_null(strstr(e.out, "<host-unknown"));
  assert_int_equal(e.stanzas, 0);
  fg_s2s_out_free(s);
}

static void test_rfc6120_4_9_3_7_reverse_stanza_without_from_is_improper_addressing(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_out(&e, 1, 0);
  ready_by_dialback(s, &e);
  assert_int_equal(out_feed(s, "<iq to='a.example' type='get' id='1'/>"), FG_S2S_OUT_CLOSED);
  assert_non_null(strstr(e.out, "<improper-addressing"));
  fg_s2s_out_free(s);
}

static void test_rfc6120_4_9_3_12_untrusted_reverse_sender_ends_the_stream(void **state) {
  out_env e = {.refuse = "not-authorized"};
  fg_s2s_out *s = new_out(&e, 1, 0);
  ready_by_dialback(s, &e);
  assert_int_equal(out_feed(s, "<message from='b.example' to='u@a.example'/>"), FG_S2S_OUT_CLOSED);
  assert_non_null(strstr(e.out, "<not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"));
  assert_int_equal(e.failed, 1);
  fg_s2s_out_free(s);
}

static void test_rfc6120_4_5_stanza_without_bidi_is_unsupported(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_out(&e, 0, 0);
  out_feed(s, SRV_HDR FEATURES_BIDI_DIALBACK);
  out_feed(s, "<db:result from='b.example' to='a.example' type='valid'/>");
  assert_int_equal(out_feed(s, "<message from='b.example' to='u@a.example'/>"), FG_S2S_OUT_CLOSED);
  assert_non_null(strstr(e.out, "<unsupported-stanza-type"));
  assert_int_equal(e.stanzas, 0);
  fg_s2s_out_free(s);
}

static void test_xep0198_4_initiating_side_acknowledges_stanzas_sent_back(void **state) {
  out_env e = {0};
  fg_s2s_out_config c;
  fg_s2s_out_config_default(&c);
  c.local = "a.example";
  c.remote = "b.example";
  c.tls_active = 1;
  c.dialback_secret = &g_secret;
  c.bidi = 1;
  c.sm = 1;
  fg_s2s_out *s = fg_s2s_out_new(&c, &kOutOps, &e);
  fg_s2s_out_start(s);
  out_feed(s, SRV_HDR
           "<stream:features><bidi xmlns='urn:xmpp:features:bidi'/><sm xmlns='urn:xmpp:sm:3'/>"
           "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback></stream:features>");
  out_feed(s, "<db:result from='b.example' to='a.example' type='valid'/>");
  out_feed(s, "<enabled xmlns='urn:xmpp:sm:3'/>");
  assert_true(fg_s2s_out_sm_enabled(s));
  out_feed(s,
           "<message from='b.example' to='u@a.example'/><message from='b.example' "
           "to='u@a.example'/>");
  e.out_len = 0;
  e.out[0] = 0;
  out_feed(s, "<r xmlns='urn:xmpp:sm:3'/>");
  assert_string_equal(e.out, "<a xmlns='urn:xmpp:sm:3' h='2'/>");
  fg_s2s_out_free(s);
}

static void test_rfc6120_4_4_reverse_stanzas_after_our_close_still_count(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_out(&e, 1, 0);
  ready_by_dialback(s, &e);
  fg_s2s_out_end(s);
  out_feed(s, "<message from='b.example' to='u@a.example'/>");
  assert_int_equal(e.stanzas, 1);
  fg_s2s_out_free(s);
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

// --- both sides back to back ---

static void pump(fg_s2s_out *out, out_env *oe, fg_s2s_in *in, in_env *ie) {
  size_t used;
  for (int i = 0; i < 20 && (oe->out_len || ie->out_len); i++) {
    char buf[16384];
    size_t n = oe->out_len;
    memcpy(buf, oe->out, n);
    oe->out_len = 0;
    if (n) fg_s2s_in_feed(in, (const uint8_t *)buf, n, &used);
    n = ie->out_len;
    memcpy(buf, ie->out, n);
    ie->out_len = 0;
    if (n) fg_s2s_out_feed(out, (const uint8_t *)buf, n, &used);
  }
}

static void test_xep0288_both_directions_on_one_stream(void **state) {
  in_env ie = {.cert_for = "a.example"};
  out_env oe = {0};
  fg_s2s_in *in = new_in(&ie, 1, 1);
  fg_s2s_out_config c;
  fg_s2s_out_config_default(&c);
  c.local = "a.example";
  c.remote = "b.example";
  c.tls_active = 1;
  c.client_cert = 1;
  c.bidi = 1;
  fg_s2s_out *out = fg_s2s_out_new(&c, &kOutOps, &oe);
  fg_s2s_out_start(out);
  pump(out, &oe, in, &ie);
  assert_int_equal(oe.ready, FG_S2S_AUTH_SASL_EXTERNAL);
  assert_true(fg_s2s_in_bidi(in));
  const char *fwd = "<message from='u@a.example' to='v@b.example'><body>1</body></message>";
  assert_true(fg_s2s_out_send_stanza(out, (const uint8_t *)fwd, strlen(fwd), 0));
  const char *back = "<message from='v@b.example' to='u@a.example'><body>2</body></message>";
  assert_true(
      fg_s2s_in_bidi_send(in, "b.example", "a.example", (const uint8_t *)back, strlen(back), 0));
  pump(out, &oe, in, &ie);
  assert_int_equal(ie.routed, 1);
  assert_int_equal(oe.stanzas, 1);
  assert_int_equal(oe.failed, 0);
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
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
      cmocka_unit_test(test_xep0288_2_2_request_sent_before_dialback),
      cmocka_unit_test(test_xep0288_2_2_request_sent_once_before_sasl),
      cmocka_unit_test(test_xep0288_2_2_no_request_when_not_offered_or_disabled),
      cmocka_unit_test(test_xep0288_2_2_reverse_stanza_handed_over),
      cmocka_unit_test(test_rfc6120_4_9_3_12_reverse_stanza_before_authentication),
      cmocka_unit_test(test_rfc6120_4_9_3_9_reverse_stanza_spoofed_from_is_invalid_from),
      cmocka_unit_test(test_rfc6120_4_9_3_6_reverse_stanza_to_another_domain_is_host_unknown),
      cmocka_unit_test(test_rfc6120_4_9_3_7_reverse_stanza_without_from_is_improper_addressing),
      cmocka_unit_test(test_rfc6120_4_9_3_12_untrusted_reverse_sender_ends_the_stream),
      cmocka_unit_test(test_rfc6120_4_5_stanza_without_bidi_is_unsupported),
      cmocka_unit_test(test_rfc6120_4_4_reverse_stanzas_after_our_close_still_count),
      cmocka_unit_test(test_xep0198_4_stanzas_sent_back_are_kept_until_acknowledged),
      cmocka_unit_test(test_xep0198_4_ack_of_stanzas_never_sent_is_an_error),
      cmocka_unit_test(test_xep0198_4_unacknowledged_bound_stops_the_stream_carrying_more),
      cmocka_unit_test(test_xep0198_4_initiating_side_acknowledges_stanzas_sent_back),
      cmocka_unit_test(test_xep0288_4_reverse_trust_never_exceeds_inbound),
      cmocka_unit_test(test_xep0288_2_2_reverse_addresses_table),
      cmocka_unit_test(test_xep0288_both_directions_on_one_stream),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
