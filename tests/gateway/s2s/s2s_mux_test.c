// s2s_mux_test.c: further domain pairs on one authenticated stream
// (XEP-0220 §4.3 multiplexing, XEP-0344 §2.3, RFC 6120 §4.9.3.9): the
// initiating side (gateway/s2s/s2s_out.c) against canned answers and against
// the receiving side (gateway/s2s/s2s_in.c).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/s2s/pair_set.h"
#include "gateway/s2s/s2s_in.h"
#include "gateway/s2s/s2s_out.h"
#include "tests/gateway/s2s/s2s_out_fixture.h"

static fg_s2s_out *initiate(out_env *e, size_t max_pairs, int client_cert) {
  fg_s2s_out_config c;
  out_config(&c);
  c.tls_active = 1;
  c.client_cert = client_cert;
  c.dialback_secret = &g_out_secret;
  c.max_pairs = max_pairs;
  return out_open(e, &c);
}

#define DIALBACK_FEATURES                                                   \
  "<stream:features><dialback xmlns='urn:xmpp:features:dialback'><errors/>" \
  "</dialback></stream:features>"

// ready_by_dialback brings |s| to ready with dialback on stream id S7.
static void ready_by_dialback(out_env *e, fg_s2s_out *s) {
  out_feed(s, PEER_HEADER("S7") DIALBACK_FEATURES);
  out_feed(s, "<db:result from='b.example' to='a.example' type='valid'/>");
  assert_int_equal(e->ready, FG_S2S_AUTH_DIALBACK);
  e->w.len = 0;
}

static void test_xep0220_4_3_further_pair_key_uses_this_streams_id(void **state) {
  out_env e = {0};
  fg_s2s_out *s = initiate(&e, 4, 0);
  assert_false(fg_s2s_out_can_multiplex(s));  // not ready yet
  ready_by_dialback(&e, s);
  assert_true(fg_s2s_out_can_multiplex(s));
  assert_true(fg_s2s_out_add_pair(s, "c.example", "b.example"));
  uint8_t key[FG_DIALBACK_KEY_LEN];
  fg_dialback_key_generate(&g_out_secret, key, "b.example", 9, "c.example", 9, "S7", 2);
  char want[256];
  snprintf(want, sizeof(want), "<db:result from='c.example' to='b.example'>%.*s</db:result>",
           FG_DIALBACK_KEY_LEN, (const char *)key);
  assert_string_equal(e.w.buf, want);
  assert_int_equal(fg_s2s_out_pair_state(s, "c.example", "b.example"), FG_PAIR_PENDING);
  assert_false(fg_s2s_out_add_pair(s, "c.example", "b.example"));  // asked already
  assert_int_equal(fg_s2s_out_pairs(s), 2);
  out_feed(s, "<db:result from='b.example' to='c.example' type='valid'/>");
  assert_int_equal(e.pair_answers, 1);
  assert_string_equal(e.pair_condition, "valid");
  assert_string_equal(e.pair_from, "c.example");
  assert_int_equal(fg_s2s_out_pair_state(s, "c.example", "b.example"), FG_PAIR_VALID);
  assert_int_equal(e.failed, 0);
  fg_s2s_out_free(s);
}

static void test_xep0220_2_4_refused_pair_leaves_the_stream_up(void **state) {
  out_env e = {0};
  fg_s2s_out *s = initiate(&e, 4, 0);
  ready_by_dialback(&e, s);
  assert_true(fg_s2s_out_add_pair(s, "c.example", "b.example"));
  assert_true(fg_s2s_out_add_pair(s, "d.example", "b.example"));
  out_feed(s,
           "<db:result from='b.example' to='c.example' type='error'><error type='auth'>"
           "<not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></db:result>");
  assert_int_equal(e.pair_answers, 1);
  assert_string_equal(e.pair_condition, "not-authorized");
  assert_int_equal(fg_s2s_out_pair_state(s, "c.example", "b.example"), FG_PAIR_NONE);
  out_feed(s, "<db:result from='b.example' to='d.example' type='invalid'/>");
  assert_int_equal(e.pair_answers, 2);
  assert_string_equal(e.pair_condition, "invalid");
  assert_int_equal(e.failed, 0);
  assert_int_equal(fg_s2s_out_is_ready(s), FG_S2S_AUTH_DIALBACK);
  assert_int_equal(fg_s2s_out_pairs(s), 1);
  fg_s2s_out_free(s);
}

static void test_xep0220_4_3_answer_for_a_pair_never_asked_is_ignored(void **state) {
  out_env e = {0};
  fg_s2s_out *s = initiate(&e, 4, 0);
  ready_by_dialback(&e, s);
  out_feed(s, "<db:result from='b.example' to='x.example' type='valid'/>");
  assert_int_equal(e.pair_answers, 0);
  assert_int_equal(fg_s2s_out_pair_state(s, "x.example", "b.example"), FG_PAIR_NONE);
  fg_s2s_out_free(s);
}

static void test_xep0220_2_1_no_further_pairs_without_the_dialback_feature(void **state) {
  out_env e = {0};
  fg_s2s_out *s = initiate(&e, 4, 1);
  out_feed(s, PEER_HEADER("S7")
       "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
       "<mechanism>EXTERNAL</mechanism></mechanisms></stream:features>");
  out_feed(s, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  out_feed(s, PEER_HEADER("S7") "<stream:features/>");
  assert_int_equal(e.ready, FG_S2S_AUTH_SASL_EXTERNAL);
  assert_false(fg_s2s_out_can_multiplex(s));
  assert_false(fg_s2s_out_add_pair(s, "c.example", "b.example"));
  fg_s2s_out_free(s);
}

static void test_xep0220_4_3_pairs_per_stream_are_bounded(void **state) {
  out_env e = {0};
  fg_s2s_out *s = initiate(&e, 2, 0);
  ready_by_dialback(&e, s);
  assert_true(fg_s2s_out_add_pair(s, "c.example", "b.example"));
  assert_true(fg_s2s_out_add_pair(s, "d.example", "b.example"));
  assert_false(fg_s2s_out_can_multiplex(s));
  assert_false(fg_s2s_out_add_pair(s, "e.example", "b.example"));
  // A refusal frees its place.
  out_feed(s, "<db:result from='b.example' to='c.example' type='invalid'/>");
  assert_true(fg_s2s_out_add_pair(s, "e.example", "b.example"));
  fg_s2s_out_free(s);
}

static void test_xep0220_4_3_no_further_pairs_when_max_is_zero(void **state) {
  out_env e = {0};
  fg_s2s_out *s = initiate(&e, 0, 0);
  ready_by_dialback(&e, s);
  assert_false(fg_s2s_out_add_pair(s, "c.example", "b.example"));
  fg_s2s_out_free(s);
}

// --- against the receiving side ---

typedef struct receiver {
  out_wire w;
  int routed;
  char routed_from[256], routed_to[256];
} receiver;

static void i_send(void *arg, const uint8_t *d, size_t n) {
  out_wire_put(&((receiver *)arg)->w, d, n);
}
static int i_hosted(void *arg, const char *d) {
  return strcmp(d, "b.example") == 0 || strcmp(d, "e.example") == 0;
}
// The out_env's certificate names a.example and c.example (XEP-0344).
static int i_cert(void *arg, const char *d) {
  return strcmp(d, "a.example") == 0 || strcmp(d, "c.example") == 0;
}
static int i_verify(void *arg, const char *o, const char *r, const uint8_t *k, size_t kl,
                    const char *id) {
  return 0;  // no authoritative server reachable: refused with an error
}
static fg_stanza_condition i_route(void *arg, const fg_xml_element *el, const char *f,
                                   const char *t) {
  receiver *r = arg;
  r->routed++;
  snprintf(r->routed_from, sizeof(r->routed_from), "%s", f);
  snprintf(r->routed_to, sizeof(r->routed_to), "%s", t);
  return FG_STANZA_CONDITION_COUNT;
}
static const fg_s2s_in_ops kIn = {.send = i_send,
                                  .is_hosted = i_hosted,
                                  .cert_valid_for = i_cert,
                                  .dialback_verify = i_verify,
                                  .route = i_route};

// exchange hands each side's bytes to the other until both are quiet;
// STARTTLS completes at once on both sides.
static void exchange(fg_s2s_out *out, out_env *oe, fg_s2s_in *in, receiver *ie) {
  for (int round = 0; round < 50 && (oe->w.len || ie->w.len); round++) {
    size_t used;
    char buf[16384];
    size_t n = oe->w.len;
    memcpy(buf, oe->w.buf, n);
    oe->w.len = 0;
    if (n && fg_s2s_in_feed(in, (const uint8_t *)buf, n, &used) == FG_S2S_IN_STARTTLS) {
      fg_s2s_in_tls_established(in);
    }
    n = ie->w.len;
    memcpy(buf, ie->w.buf, n);
    ie->w.len = 0;
    if (n && fg_s2s_out_feed(out, (const uint8_t *)buf, n, &used) == FG_S2S_OUT_STARTTLS) {
      fg_s2s_out_tls_established(out);
    }
  }
}

static int send_from(fg_s2s_out *out, const char *from, const char *to) {
  char m[256];
  snprintf(m, sizeof(m), "<message from='u@%s' to='v@%s'><body>hi</body></message>", from, to);
  return fg_s2s_out_send_stanza(out, (const uint8_t *)m, strlen(m), 0);
}

// A SASL EXTERNAL stream of a.example -> b.example, both sides fedgate's.
static fg_s2s_out *sasl_stream(fg_s2s_in **in, receiver *ie, out_env *oe) {
  *in = fg_s2s_in_new(NULL, &kIn, ie);
  fg_s2s_out_config c;
  out_config(&c);
  c.client_cert = 1;
  c.dialback_secret = &g_out_secret;
  c.max_pairs = 8;
  fg_s2s_out *out = out_open(oe, &c);
  exchange(out, oe, *in, ie);
  assert_int_equal(oe->ready, FG_S2S_AUTH_SASL_EXTERNAL);
  return out;
}

static void test_xep0344_2_3_further_pairs_on_a_sasl_stream_by_certificate(void **state) {
  receiver ie = {0};
  out_env oe = {0};
  fg_s2s_in *in;
  fg_s2s_out *out = sasl_stream(&in, &ie, &oe);
  assert_true(fg_s2s_out_can_multiplex(out));  // fedgate offers dialback after SASL too
  // Another local domain to the same remote one, and to another remote
  // domain the same server hosts.
  assert_true(fg_s2s_out_add_pair(out, "c.example", "b.example"));
  assert_true(fg_s2s_out_add_pair(out, "a.example", "e.example"));
  exchange(out, &oe, in, &ie);
  assert_int_equal(oe.pair_answers, 2);
  assert_int_equal(fg_s2s_out_pair_state(out, "c.example", "b.example"), FG_PAIR_VALID);
  assert_int_equal(fg_s2s_out_pair_state(out, "a.example", "e.example"), FG_PAIR_VALID);
  assert_int_equal(fg_s2s_in_is_authenticated(in, "c.example", "b.example"),
                   FG_S2S_AUTH_DIALBACK_CERT);
  assert_true(send_from(out, "c.example", "b.example"));
  exchange(out, &oe, in, &ie);
  assert_int_equal(ie.routed, 1);
  assert_string_equal(ie.routed_from, "c.example");
  assert_true(send_from(out, "a.example", "e.example"));
  exchange(out, &oe, in, &ie);
  assert_int_equal(ie.routed, 2);
  assert_string_equal(ie.routed_to, "e.example");
  assert_int_equal(oe.failed, 0);
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
}

static void test_xep0220_2_4_pair_without_proof_is_refused_and_stream_stays(void **state) {
  receiver ie = {0};
  out_env oe = {0};
  fg_s2s_in *in;
  fg_s2s_out *out = sasl_stream(&in, &ie, &oe);
  // d.example is not in the certificate and cannot be verified.
  assert_true(fg_s2s_out_add_pair(out, "d.example", "b.example"));
  exchange(out, &oe, in, &ie);
  assert_int_equal(oe.pair_answers, 1);
  assert_string_equal(oe.pair_condition, "remote-server-not-found");
  assert_int_equal(oe.failed, 0);
  // The stream's own pair still flows.
  assert_true(send_from(out, "a.example", "b.example"));
  exchange(out, &oe, in, &ie);
  assert_int_equal(ie.routed, 1);
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
}

static void test_rfc6120_4_9_3_9_stanza_of_an_unauthorised_pair_is_invalid_from(void **state) {
  receiver ie = {0};
  out_env oe = {0};
  fg_s2s_in *in;
  fg_s2s_out *out = sasl_stream(&in, &ie, &oe);
  // c.example never asked for its pair: its stanza ends the stream.
  assert_true(send_from(out, "c.example", "b.example"));
  exchange(out, &oe, in, &ie);
  assert_int_equal(ie.routed, 0);
  assert_int_equal(oe.failed, 1);
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
}

static void test_rfc6120_4_9_3_9_valid_pair_does_not_authorise_its_cross_pairs(void **state) {
  receiver ie = {0};
  out_env oe = {0};
  fg_s2s_in *in;
  fg_s2s_out *out = sasl_stream(&in, &ie, &oe);
  assert_true(fg_s2s_out_add_pair(out, "c.example", "b.example"));
  exchange(out, &oe, in, &ie);
  // (c, b) and (a, b) are valid; (c, e) was never asked for.
  assert_true(send_from(out, "c.example", "e.example"));
  exchange(out, &oe, in, &ie);
  assert_int_equal(ie.routed, 0);
  assert_int_equal(oe.failed, 1);
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
}

// --- the table ---

static void test_pair_set_bounded_and_settled(void **state) {
  fg_pair_set s;
  fg_pair_set_init(&s, 3);
  assert_true(fg_pair_set_add(&s, "a", "b"));
  assert_false(fg_pair_set_add(&s, "a", "b"));
  assert_true(fg_pair_set_add(&s, "a", "c"));
  assert_true(fg_pair_set_add(&s, "c", "b"));
  assert_false(fg_pair_set_add(&s, "d", "b"));
  assert_int_equal(fg_pair_set_count(&s), 3);
  assert_true(fg_pair_set_settle(&s, "a", "c", 1));
  assert_false(fg_pair_set_settle(&s, "a", "c", 1));  // no longer pending
  assert_int_equal(fg_pair_set_state(&s, "a", "c"), FG_PAIR_VALID);
  assert_true(fg_pair_set_settle(&s, "a", "b", 0));
  assert_int_equal(fg_pair_set_state(&s, "a", "b"), FG_PAIR_NONE);
  assert_int_equal(fg_pair_set_state(&s, "c", "b"), FG_PAIR_PENDING);
  assert_true(fg_pair_set_add(&s, "d", "b"));
  assert_int_equal(fg_pair_set_count(&s), 3);
  char longname[FG_DOMAIN_MAX + 2];
  memset(longname, 'x', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = 0;
  fg_pair_set_cleanup(&s);
  fg_pair_set_init(&s, 3);
  assert_false(fg_pair_set_add(&s, longname, "b"));
  fg_pair_set_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_xep0220_4_3_further_pair_key_uses_this_streams_id),
      cmocka_unit_test(test_xep0220_2_4_refused_pair_leaves_the_stream_up),
      cmocka_unit_test(test_xep0220_4_3_answer_for_a_pair_never_asked_is_ignored),
      cmocka_unit_test(test_xep0220_2_1_no_further_pairs_without_the_dialback_feature),
      cmocka_unit_test(test_xep0220_4_3_pairs_per_stream_are_bounded),
      cmocka_unit_test(test_xep0220_4_3_no_further_pairs_when_max_is_zero),
      cmocka_unit_test(test_xep0344_2_3_further_pairs_on_a_sasl_stream_by_certificate),
      cmocka_unit_test(test_xep0220_2_4_pair_without_proof_is_refused_and_stream_stays),
      cmocka_unit_test(test_rfc6120_4_9_3_9_stanza_of_an_unauthorised_pair_is_invalid_from),
      cmocka_unit_test(test_rfc6120_4_9_3_9_valid_pair_does_not_authorise_its_cross_pairs),
      cmocka_unit_test(test_pair_set_bounded_and_settled),
  };
  return cmocka_run_group_tests_name("gateway/s2s_mux", tests, out_fixture_setup, NULL);
}
