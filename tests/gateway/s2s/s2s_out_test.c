// s2s_out_test.c: the initiating side (gateway/s2s/s2s_out.c), scripted against
// canned server replies and wired back to back with gateway/s2s/s2s_in.c.
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
#include "tests/gateway/s2s/s2s_out_fixture.h"

static fg_s2s_out *new_out(out_env *e, int client_cert, int purpose) {
  fg_s2s_out_config c;
  out_config(&c);
  c.client_cert = client_cert;
  c.purpose = purpose;
  c.dialback_secret = &g_out_secret;
  return out_open(e, &c);
}

static void test_rfc6120_4_7_initial_header(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_out(&e, 0, FG_S2S_OUT_STANZAS);
  assert_non_null(strstr(e.w.buf, "from='a.example' to='b.example' version='1.0'"));
  assert_non_null(strstr(e.w.buf, "xmlns:db='jabber:server:dialback'"));
  fg_s2s_out_free(s);
}

static void test_rfc6120_5_4_starttls_then_restart(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_out(&e, 0, FG_S2S_OUT_STANZAS);
  e.w.len = 0;
  assert_int_equal(
      out_feed(s, PEER_HEADER("S1") "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:"
                                    "xmpp-tls'><required/></starttls></stream:features>"),
      FG_S2S_OUT_CONTINUE);
  assert_string_equal(e.w.buf, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  assert_int_equal(out_feed(s, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
                   FG_S2S_OUT_STARTTLS);
  e.w.len = 0;
  fg_s2s_out_tls_established(s);
  assert_non_null(strstr(e.w.buf, "<stream:stream"));
  fg_s2s_out_free(s);
}

static void test_rfc6120_5_no_tls_offered_fails_unless_plaintext_allowed(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_out(&e, 0, FG_S2S_OUT_STANZAS);
  assert_int_equal(out_feed(s, PEER_HEADER("S1") "<stream:features/>"), FG_S2S_OUT_CLOSED);
  assert_int_equal(e.failed, 1);
  assert_string_equal(e.fail_cond, "tls-unavailable");
  fg_s2s_out_free(s);
}

static void test_xep0178_external_when_offered_with_certificate(void **state) {
  out_env e = {0};
  fg_s2s_out_config c;
  out_config(&c);
  c.client_cert = 1;
  c.tls_active = 1;
  fg_s2s_out *s = out_open(&e, &c);
  e.w.len = 0;
  out_feed(s, PEER_HEADER("S1")
       "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
       "<mechanism>EXTERNAL</mechanism></mechanisms></stream:features>");
  assert_string_equal(
      e.w.buf, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>");
  e.w.len = 0;
  out_feed(s, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  assert_non_null(strstr(e.w.buf, "<stream:stream"));
  assert_int_equal(e.ready, 0);
  out_feed(s, PEER_HEADER("S1") "<stream:features/>");
  assert_int_equal(e.ready, FG_S2S_AUTH_SASL_EXTERNAL);
  assert_true(fg_s2s_out_send_stanza(s, (const uint8_t *)"<message/>", 10, 0));
  fg_s2s_out_free(s);
}

static void test_xep0220_dialback_key_uses_the_receiving_servers_stream_id(void **state) {
  out_env e = {0};
  fg_s2s_out_config c;
  out_config(&c);
  c.tls_active = 1;
  c.dialback_secret = &g_out_secret;
  fg_s2s_out *s = out_open(&e, &c);
  e.w.len = 0;
  out_feed(s, PEER_HEADER("S1")
       "<stream:features><dialback xmlns='urn:xmpp:features:dialback'><errors/>"
       "</dialback></stream:features>");
  uint8_t key[FG_DIALBACK_KEY_LEN];
  fg_dialback_key_generate(&g_out_secret, key, "b.example", 9, "a.example", 9, "S1", 2);
  char want[256];
  snprintf(want, sizeof(want), "<db:result from='a.example' to='b.example'>%.*s</db:result>",
           FG_DIALBACK_KEY_LEN, (const char *)key);
  assert_string_equal(e.w.buf, want);
  // A result for another pair is not ours.
  out_feed(s, "<db:result from='c.example' to='a.example' type='valid'/>");
  assert_int_equal(e.ready, 0);
  out_feed(s, "<db:result from='b.example' to='a.example' type='valid'/>");
  assert_int_equal(e.ready, FG_S2S_AUTH_DIALBACK);
  fg_s2s_out_free(s);
}

static void test_xep0220_invalid_result_fails(void **state) {
  out_env e = {0};
  fg_s2s_out_config c;
  out_config(&c);
  c.tls_active = 1;
  c.dialback_secret = &g_out_secret;
  fg_s2s_out *s = out_open(&e, &c);
  out_feed(s, PEER_HEADER("S1") "<stream:features/>");
  out_feed(s, "<db:result from='b.example' to='a.example' type='invalid'/>");
  assert_int_equal(e.failed, 1);
  assert_string_equal(e.fail_cond, "dialback-invalid");
  fg_s2s_out_free(s);
}

static void test_xep0220_verify_answers_only_for_questions_on_this_stream(void **state) {
  out_env e = {0};
  fg_s2s_out_config c;
  fg_s2s_out_config_default(&c);
  c.local = "b.example";
  c.remote = "a.example";
  c.tls_active = 1;
  c.purpose = FG_S2S_OUT_VERIFY;
  fg_s2s_out *s = out_open(&e, &c);
  assert_true(fg_s2s_out_verify(s, "b.example", "a.example", "ID1", (const uint8_t *)"k1", 2));
  e.w.len = 0;
  out_feed(s, PEER_HEADER("S1") "<stream:features/>");
  assert_int_equal(e.ready, -1);
  assert_string_equal(e.w.buf,
                      "<db:verify from='b.example' to='a.example' id='ID1'>k1</db:verify>");
  // Unsolicited or mismatched answers are dropped.
  out_feed(s, "<db:verify from='a.example' to='b.example' id='OTHER' type='valid'/>");
  out_feed(s, "<db:verify from='evil.example' to='b.example' id='ID1' type='valid'/>");
  assert_int_equal(e.answers, 0);
  out_feed(s, "<db:verify from='a.example' to='b.example' id='ID1' type='invalid'/>");
  assert_int_equal(e.answers, 1);
  assert_int_equal(e.last_valid, 0);
  // The same answer again is no longer expected.
  out_feed(s, "<db:verify from='a.example' to='b.example' id='ID1' type='valid'/>");
  assert_int_equal(e.answers, 1);
  fg_s2s_out_free(s);
}

static void test_rfc6120_4_9_stream_error_from_peer_fails_with_its_condition(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_out(&e, 0, FG_S2S_OUT_STANZAS);
  out_feed(s, PEER_HEADER("S1")
       "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
       "</stream:error>");
  assert_int_equal(e.failed, 1);
  assert_string_equal(e.fail_cond, "host-unknown");
  fg_s2s_out_free(s);
}

// ready_out returns a stream authenticated by SASL EXTERNAL.
static fg_s2s_out *ready_out(out_env *e) {
  fg_s2s_out_config c;
  out_config(&c);
  c.client_cert = 1;
  c.tls_active = 1;
  fg_s2s_out *s = out_open(e, &c);
  out_feed(s, PEER_HEADER("S1")
       "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
       "<mechanism>EXTERNAL</mechanism></mechanisms></stream:features>");
  out_feed(s, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  out_feed(s, PEER_HEADER("S1") "<stream:features/>");
  assert_int_equal(e->ready, FG_S2S_AUTH_SASL_EXTERNAL);
  e->w.len = 0;
  e->w.buf[0] = 0;
  return s;
}

// RFC 6120 §4.4: our closing tag first; nothing more is sent; the stream
// ends ("closed") only when the peer's closing tag arrives, unanswered.
static void test_rfc6120_4_4_end_waits_for_the_peers_closing_tag(void **state) {
  out_env e = {0};
  fg_s2s_out *s = ready_out(&e);
  fg_s2s_out_end(s);
  assert_string_equal(e.w.buf, "</stream:stream>");
  assert_int_equal(e.failed, 0);
  assert_false(fg_s2s_out_send_stanza(s, (const uint8_t *)"<message/>", 10, 0));
  fg_s2s_out_end(s);
  fg_s2s_out_close(s);  // at shutdown: no second closing tag either
  assert_string_equal(e.w.buf, "</stream:stream>");
  fg_s2s_out_free(s);
  e = (out_env){0};
  s = ready_out(&e);
  fg_s2s_out_end(s);
  assert_int_equal(out_feed(s, "</stream:stream>"), FG_S2S_OUT_CLOSED);
  assert_string_equal(e.w.buf, "</stream:stream>");
  assert_int_equal(e.failed, 1);
  assert_string_equal(e.fail_cond, "closed");
  fg_s2s_out_free(s);
}

// --- both sides of fedgate, back to back ---

typedef struct in_env {
  out_wire w;
  int routed;
  const char *cert_for;
  // XEP-0198 §5: one stream this side keeps for resumption.
  char kept_id[80];
  uint32_t kept_h;
  int kept_parked;
  // XEP-0288: what the kept stream wrote back unacknowledged, and acks.
  fg_sm_item *kept_sent_back;
  uint32_t kept_acked;
  int bidi_acked;
} in_env;

static void i_send(void *arg, const uint8_t *d, size_t n) {
  out_wire_put(&((in_env *)arg)->w, d, n);
}

// pump delivers what each side queued to the other, like a transport would,
// until neither has anything left; TLS is "established" on both sides when
// both have agreed to start it.
static void pump(fg_s2s_out *out, out_env *oe, fg_s2s_in *in, in_env *ie) {
  int in_tls = 0, out_tls = 0;
  for (int round = 0; round < 50 && (oe->w.len || ie->w.len || (in_tls && out_tls)); round++) {
    size_t used;
    if (in_tls && out_tls) {
      fg_s2s_in_tls_established(in);
      fg_s2s_out_tls_established(out);
      in_tls = out_tls = 0;
      continue;
    }
    if (oe->w.len) {
      char buf[16384];
      size_t n = oe->w.len;
      memcpy(buf, oe->w.buf, n);
      oe->w.len = 0;
      if (fg_s2s_in_feed(in, (const uint8_t *)buf, n, &used) == FG_S2S_IN_STARTTLS) in_tls = 1;
    }
    if (ie->w.len) {
      char buf[16384];
      size_t n = ie->w.len;
      memcpy(buf, ie->w.buf, n);
      ie->w.len = 0;
      if (fg_s2s_out_feed(out, (const uint8_t *)buf, n, &used) == FG_S2S_OUT_STARTTLS) {
        out_tls = 1;
      }
    }
  }
}
static int i_hosted(void *arg, const char *d) {
  return strcmp(d, "b.example") == 0;
}
static int i_cert(void *arg, const char *d) {
  in_env *e = arg;
  return e->cert_for != NULL && strcmp(d, e->cert_for) == 0;
}
static int i_verify(void *arg, const char *o, const char *r, const uint8_t *k, size_t kl,
                    const char *id) {
  return 0;
}
static fg_stanza_condition i_route(void *arg, const fg_xml_element *el, const char *f,
                                   const char *t) {
  ((in_env *)arg)->routed++;
  return FG_STANZA_CONDITION_COUNT;
}
static int i_sm_open(void *arg, const char *id) {
  in_env *e = arg;
  snprintf(e->kept_id, sizeof(e->kept_id), "%s", id);
  e->kept_parked = 0;
  return 1;
}
static int i_sm_resume(void *arg, const char *id, uint32_t *out_h, fg_sm_item **out_sent_back,
                       uint32_t *out_acked) {
  in_env *e = arg;
  if (!e->kept_parked || strcmp(id, e->kept_id) != 0) return 0;
  e->kept_parked = 0;
  *out_h = e->kept_h;
  *out_sent_back = e->kept_sent_back;
  *out_acked = e->kept_acked;
  e->kept_sent_back = NULL;
  return 1;
}
static void i_bidi_acked(void *arg, const fg_sm_item *it) {
  ((in_env *)arg)->bidi_acked++;
}
static const fg_s2s_in_ops kInOps = {.send = i_send,
                                     .is_hosted = i_hosted,
                                     .cert_valid_for = i_cert,
                                     .dialback_verify = i_verify,
                                     .route = i_route,
                                     .sm_open = i_sm_open,
                                     .sm_resume = i_sm_resume,
                                     .bidi_acked = i_bidi_acked};

static void test_out_and_in_negotiate_tls_and_sasl_external(void **state) {
  in_env ie = {0};
  ie.cert_for = "a.example";
  out_env oe = {0};
  fg_s2s_in *in = fg_s2s_in_new(NULL, &kInOps, &ie);
  fg_s2s_out_config c;
  out_config(&c);
  c.client_cert = 1;
  fg_s2s_out *out = out_open(&oe, &c);
  pump(out, &oe, in, &ie);
  assert_int_equal(oe.failed, 0);
  assert_int_equal(oe.ready, FG_S2S_AUTH_SASL_EXTERNAL);
  assert_int_equal(fg_s2s_in_is_authenticated(in, "a.example", "b.example"),
                   FG_S2S_AUTH_SASL_EXTERNAL);
  const char *m = "<message from='u@a.example' to='v@b.example'><body>hi</body></message>";
  assert_true(fg_s2s_out_send_stanza(out, (const uint8_t *)m, strlen(m), 0));
  pump(out, &oe, in, &ie);
  assert_int_equal(ie.routed, 1);
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
}

// --- XEP-0198 between both sides ---

// sm_pair negotiates TLS, SASL EXTERNAL and (when both want it) XEP-0198.
static fg_s2s_out *sm_pair(fg_s2s_in **in, in_env *ie, out_env *oe, int in_sm, int out_sm) {
  ie->cert_for = "a.example";
  fg_s2s_in_config ic;
  fg_s2s_in_config_default(&ic);
  ic.sm = in_sm;
  *in = fg_s2s_in_new(&ic, &kInOps, ie);
  fg_s2s_out_config c;
  out_config(&c);
  c.client_cert = 1;
  c.sm = out_sm;
  c.sm_max_stanzas = 4;
  c.sm_request_every = 2;
  fg_s2s_out *out = out_open(oe, &c);
  pump(out, oe, *in, ie);
  assert_int_equal(oe->ready, FG_S2S_AUTH_SASL_EXTERNAL);
  return out;
}

static int send_msg(fg_s2s_out *out) {
  const char *m = "<message from='u@a.example' to='v@b.example'><body>hi</body></message>";
  return fg_s2s_out_send_stanza(out, (const uint8_t *)m, strlen(m), 0);
}

static void test_xep0198_3_enabled_after_authentication_and_acks_flow(void **state) {
  in_env ie = {0};
  out_env oe = {0};
  fg_s2s_in *in;
  fg_s2s_out *out = sm_pair(&in, &ie, &oe, 1, 1);
  assert_true(fg_s2s_out_sm_enabled(out));
  int enabled = 0;
  fg_s2s_in_sm_handled(in, &enabled);
  assert_true(enabled);
  // request_every 2: the second stanza carries an <r/>, answered h=2.
  for (int i = 0; i < 3; i++) assert_true(send_msg(out));
  assert_int_equal(fg_s2s_out_unacked(out), 3);
  pump(out, &oe, in, &ie);
  assert_int_equal(ie.routed, 3);
  assert_int_equal(oe.acked, 2);
  assert_int_equal(fg_s2s_out_unacked(out), 1);
  assert_int_equal(fg_s2s_out_request_ack(out), 1);
  pump(out, &oe, in, &ie);
  assert_int_equal(oe.acked, 3);
  assert_int_equal(fg_s2s_out_unacked(out), 0);
  assert_int_equal(fg_s2s_in_sm_handled(in, &enabled), 3);
  assert_int_equal(oe.failed, 0);
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
}

// resumable_out opens a resumable stream a.example -> b.example (XEP-0198
// §5) resuming |previd| (NULL: none) with |previd_h| handled of what the
// peer sent back, bidirectional (XEP-0288) when |bidi|.
static fg_s2s_out *resumable_out(out_env *oe, const char *previd, uint32_t previd_h, int bidi) {
  fg_s2s_out_config c;
  out_config(&c);
  c.client_cert = 1;
  c.sm = 1;
  c.sm_resume = 1;
  c.sm_previd = previd;
  c.sm_previd_h = previd_h;
  c.sm_request_every = 2;
  c.bidi = bidi;
  return out_open(oe, &c);
}

// resumable_in is the receiving side of resumable_out.
static fg_s2s_in *resumable_in(in_env *ie, int bidi) {
  ie->cert_for = "a.example";
  fg_s2s_in_config ic;
  fg_s2s_in_config_default(&ic);
  ic.sm = 1;
  ic.sm_resume_s = 60;
  ic.bidi = bidi;
  return fg_s2s_in_new(&ic, &kInOps, ie);
}

static void test_xep0198_5_resumed_stream_continues_from_the_peers_h(void **state) {
  in_env ie = {0};
  out_env oe = {0};
  fg_s2s_in *in = resumable_in(&ie, 0);
  fg_s2s_out *out = resumable_out(&oe, NULL, 0, 0);
  pump(out, &oe, in, &ie);
  assert_true(fg_s2s_out_sm_enabled(out));
  assert_string_equal(fg_s2s_out_sm_id(out), ie.kept_id);
  assert_string_equal(fg_s2s_in_sm_id(in), ie.kept_id);
  for (int i = 0; i < 3; i++) assert_true(send_msg(out));
  pump(out, &oe, in, &ie);  // handled 3, acknowledged 2 (request_every 2)
  int enabled;
  ie.kept_h = fg_s2s_in_sm_handled(in, &enabled);
  ie.kept_parked = 1;  // the connection breaks here
  assert_int_equal(ie.kept_h, 3);
  uint32_t acked = fg_s2s_out_sm_acked(out);
  assert_int_equal(acked, 2);
  char id[80];
  snprintf(id, sizeof(id), "%s", fg_s2s_out_sm_id(out));
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
  // A new connection resumes: the peer says it handled 3.
  in_env ie2 = {0};
  memcpy(ie2.kept_id, ie.kept_id, sizeof(ie2.kept_id));
  ie2.kept_h = ie.kept_h;
  ie2.kept_parked = 1;
  out_env oe2 = {0};
  in = resumable_in(&ie2, 0);
  out = resumable_out(&oe2, id, 0, 0);
  pump(out, &oe2, in, &ie2);
  assert_int_equal(oe2.ready, FG_S2S_AUTH_SASL_EXTERNAL);
  assert_true(fg_s2s_out_sm_enabled(out));
  assert_int_equal(fg_s2s_out_sm_acked(out), 3);
  assert_string_equal(fg_s2s_in_sm_id(in), id);
  // Counting goes on: the next stanza is the peer's 4th.
  assert_true(send_msg(out));
  assert_int_equal(fg_s2s_out_request_ack(out), 1);
  pump(out, &oe2, in, &ie2);
  assert_int_equal(fg_s2s_out_unacked(out), 0);
  assert_int_equal(fg_s2s_in_sm_handled(in, &enabled), 4);
  assert_int_equal(oe2.failed, 0);
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
}

// --- XEP-0198 §5 on a bidirectional stream (XEP-0288) ---

static int send_back(fg_s2s_in *in, const char *body) {
  char m[160];
  int n = snprintf(m, sizeof(m),
                   "<message from='v@b.example' to='u@a.example'><body>%s</body></message>", body);
  return fg_s2s_in_bidi_send(in, "b.example", "a.example", (const uint8_t *)m, (size_t)n, 0);
}

// to_out hands what the receiving side wrote to the initiating side only:
// the answers are lost with the connection.
static void to_out(fg_s2s_out *out, in_env *ie) {
  size_t used;
  fg_s2s_out_feed(out, (const uint8_t *)ie->w.buf, ie->w.len, &used);
  ie->w.len = 0;
}

// park_stream: the connection of |in| breaks; the receiving side keeps the
// stream in |kept| for resumption (XEP-0198 §5), with what it wrote back
// unacknowledged (XEP-0288).
static void park_stream(fg_s2s_in *in, const in_env *ie, in_env *kept) {
  int enabled;
  kept->kept_h = fg_s2s_in_sm_handled(in, &enabled);
  kept->kept_acked = fg_s2s_in_bidi_acked(in);
  kept->kept_sent_back = fg_s2s_in_bidi_take_unacked(in);
  snprintf(kept->kept_id, sizeof(kept->kept_id), "%s", ie->kept_id);
  kept->kept_parked = 1;
}

// reconnect: the connection of *in / *out breaks (park_stream into |kept|)
// and a new pair of streams resumes it with |reverse_h| (the initiating
// side's count of what it handled of the stanzas sent back); both are
// replaced and the new ones negotiated.
static void reconnect(fg_s2s_in **in, fg_s2s_out **out, const in_env *ie, in_env *kept,
                      out_env *oe2, uint32_t reverse_h) {
  park_stream(*in, ie, kept);
  char id[80];
  snprintf(id, sizeof(id), "%s", fg_s2s_out_sm_id(*out));
  fg_s2s_out_free(*out);
  fg_s2s_in_free(*in);
  *in = resumable_in(kept, 1);
  *out = resumable_out(oe2, id, reverse_h, 1);
  pump(*out, oe2, *in, kept);
}

static void test_xep0198_5_resume_h_acknowledges_stanzas_sent_back(void **state) {
  in_env ie = {0};
  out_env oe = {0};
  fg_s2s_in *in = resumable_in(&ie, 1);
  fg_s2s_out *out = resumable_out(&oe, NULL, 0, 1);
  pump(out, &oe, in, &ie);
  assert_true(fg_s2s_out_bidi(out) && fg_s2s_in_bidi(in) && fg_s2s_out_sm_enabled(out));
  assert_true(send_back(in, "one"));
  pump(out, &oe, in, &ie);  // handled and acknowledged
  assert_int_equal(ie.bidi_acked, 1);
  assert_true(send_back(in, "two"));
  to_out(out, &ie);  // handled; its <a/> is lost
  assert_true(send_back(in, "three"));
  ie.w.len = 0;  // never reached the peer
  assert_int_equal(oe.stanzas, 2);
  uint32_t reverse_h = fg_s2s_out_reverse_h(out);
  assert_int_equal(reverse_h, 2);
  // The connection breaks: the receiving side parks what it wrote back.
  assert_int_equal(fg_s2s_in_bidi_unacked(in, NULL), 2);
  // The new stream resumes with h=2: "two" counts as handled, only "three"
  // is written again, and the peer's count goes on from 2.
  in_env ie2 = {0};
  out_env oe2 = {0};
  reconnect(&in, &out, &ie, &ie2, &oe2, reverse_h);
  assert_int_equal(ie2.kept_acked, 1);
  assert_int_equal(oe2.failed, 0);
  assert_int_equal(oe2.ready, FG_S2S_AUTH_SASL_EXTERNAL);
  assert_int_equal(oe2.stanzas, 1);
  assert_int_equal(ie2.bidi_acked, 2);  // "two" on <resume/>, "three" after
  assert_int_equal(fg_s2s_in_bidi_unacked(in, NULL), 0);
  assert_int_equal(fg_s2s_out_reverse_h(out), 3);
  assert_int_equal(fg_s2s_in_bidi_acked(in), 3);
  // Counting goes on in both directions.
  assert_true(send_back(in, "four"));
  pump(out, &oe2, in, &ie2);
  assert_int_equal(oe2.stanzas, 2);
  assert_int_equal(fg_s2s_out_reverse_h(out), 4);
  assert_int_equal(fg_s2s_in_bidi_unacked(in, NULL), 0);
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
}

static void test_xep0198_5_resume_h_above_what_was_sent_back_ends_the_stream(void **state) {
  in_env ie = {0};
  out_env oe = {0};
  fg_s2s_in *in = resumable_in(&ie, 1);
  fg_s2s_out *out = resumable_out(&oe, NULL, 0, 1);
  pump(out, &oe, in, &ie);
  assert_true(send_back(in, "one"));
  ie.w.len = 0;
  // §4: an h of 5 acknowledges stanzas never written: the stream ends, and
  // the stanza stays unacknowledged (it goes out another way).
  in_env ie2 = {0};
  out_env oe2 = {0};
  reconnect(&in, &out, &ie, &ie2, &oe2, 5);
  assert_true(fg_s2s_in_is_closed(in));
  assert_int_equal(oe2.stanzas, 0);
  assert_int_equal(ie2.bidi_acked, 0);
  assert_int_equal(fg_s2s_in_bidi_unacked(in, NULL), 1);
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
}

static void test_xep0198_5_resume_without_a_valid_h_is_invalid_xml(void **state) {
  const char *bad[] = {"<resume xmlns='urn:xmpp:sm:3' previd='abc'/>",
                       "<resume xmlns='urn:xmpp:sm:3' previd='abc' h='1x'/>"};
  for (size_t i = 0; i < 2; i++) {
    in_env ie = {0};
    out_env oe = {0};
    fg_s2s_in *in;
    fg_s2s_out *out = sm_pair(&in, &ie, &oe, 1, 0);  // authenticated, XEP-0198 not enabled
    ie.w.len = 0;
    size_t used;
    assert_int_equal(fg_s2s_in_feed(in, (const uint8_t *)bad[i], strlen(bad[i]), &used),
                     FG_S2S_IN_CLOSED);
    ie.w.buf[ie.w.len] = 0;
    assert_non_null(strstr(ie.w.buf, "<invalid-xml"));
    fg_s2s_out_free(out);
    fg_s2s_in_free(in);
  }
}

static void test_xep0198_5_unknown_stream_enables_anew(void **state) {
  in_env ie = {0};
  out_env oe = {0};
  fg_s2s_in *in = resumable_in(&ie, 0);
  fg_s2s_out *out = resumable_out(&oe, "0123abcd", 0, 0);
  pump(out, &oe, in, &ie);
  // <failed><item-not-found/></failed>, then <enable resume='true'/>.
  assert_int_equal(oe.ready, FG_S2S_AUTH_SASL_EXTERNAL);
  assert_true(fg_s2s_out_sm_enabled(out));
  assert_int_equal(fg_s2s_out_sm_acked(out), 0);
  assert_string_equal(fg_s2s_out_sm_id(out), ie.kept_id);
  assert_string_not_equal(fg_s2s_out_sm_id(out), "0123abcd");
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
}

static void test_xep0198_unacked_queue_is_bounded(void **state) {
  in_env ie = {0};
  out_env oe = {0};
  fg_s2s_in *in;
  fg_s2s_out *out = sm_pair(&in, &ie, &oe, 1, 1);
  for (int i = 0; i < 4; i++) assert_true(send_msg(out));
  assert_false(fg_s2s_out_can_send(out, 10));  // sm_max_stanzas 4
  pump(out, &oe, in, &ie);                     // the <r/> after the 2nd is answered
  assert_true(fg_s2s_out_can_send(out, 10));
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
}

static void test_xep0198_peer_without_it_carries_stanzas_unacknowledged(void **state) {
  in_env ie = {0};
  out_env oe = {0};
  fg_s2s_in *in;
  fg_s2s_out *out = sm_pair(&in, &ie, &oe, 0, 1);
  assert_false(fg_s2s_out_sm_enabled(out));
  assert_null(strstr(oe.w.buf, "urn:xmpp:sm:3"));
  assert_true(send_msg(out));
  assert_int_equal(fg_s2s_out_unacked(out), 0);
  pump(out, &oe, in, &ie);
  assert_int_equal(ie.routed, 1);
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
}

static void test_xep0198_4_h_above_sent_ends_the_stream(void **state) {
  in_env ie = {0};
  out_env oe = {0};
  fg_s2s_in *in;
  fg_s2s_out *out = sm_pair(&in, &ie, &oe, 1, 1);
  assert_true(send_msg(out));
  oe.w.len = 0;
  out_feed(out, "<a xmlns='urn:xmpp:sm:3' h='2'/>");
  assert_int_equal(oe.failed, 1);
  assert_non_null(strstr(oe.w.buf, "<undefined-condition"));
  // What the peer could not account for stays for the caller to send again.
  assert_int_equal(fg_s2s_out_unacked(out), 1);
  fg_sm_item *it = fg_s2s_out_take_unacked(out);
  assert_non_null(it);
  assert_null(it->next);
  free(it);
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
}

static void test_xep0198_4_malformed_h_is_invalid_xml(void **state) {
  in_env ie = {0};
  out_env oe = {0};
  fg_s2s_in *in;
  fg_s2s_out *out = sm_pair(&in, &ie, &oe, 1, 1);
  out_feed(out, "<a xmlns='urn:xmpp:sm:3' h='one'/>");
  assert_int_equal(oe.failed, 1);
  assert_non_null(strstr(oe.w.buf, "<invalid-xml"));
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
}

static void test_xep0198_4_end_waits_for_the_last_ack(void **state) {
  in_env ie = {0};
  out_env oe = {0};
  fg_s2s_in *in;
  fg_s2s_out *out = sm_pair(&in, &ie, &oe, 1, 1);
  assert_true(send_msg(out));
  pump(out, &oe, in, &ie);  // the stanza arrives; no <r/> yet (request_every 2)
  assert_int_equal(fg_s2s_out_unacked(out), 1);
  oe.w.len = 0;
  fg_s2s_out_end(out);
  assert_non_null(strstr(oe.w.buf, "<r xmlns='urn:xmpp:sm:3'/></stream:stream>"));
  assert_int_equal(oe.failed, 0);  // still reading
  pump(out, &oe, in, &ie);
  assert_int_equal(oe.acked, 1);
  assert_int_equal(oe.failed, 1);
  assert_string_equal(oe.fail_cond, "closed");
  fg_s2s_out_free(out);
  fg_s2s_in_free(in);
}

static void test_xep0198_3_failed_enable_goes_on_without(void **state) {
  out_env e = {0};
  fg_s2s_out_config c;
  out_config(&c);
  c.allow_plaintext = 1;
  c.sm = 1;
  c.dialback_secret = &g_out_secret;
  fg_s2s_out *s = out_open(&e, &c);
  out_feed(s, PEER_HEADER("S1") "<stream:features><sm xmlns='urn:xmpp:sm:3'/></stream:features>");
  out_feed(s, "<db:result from='b.example' to='a.example' type='valid'/>");
  assert_non_null(strstr(e.w.buf, "<enable xmlns='urn:xmpp:sm:3'/>"));
  assert_int_equal(e.ready, 0);  // the answer first
  out_feed(s,
           "<failed xmlns='urn:xmpp:sm:3'><unexpected-request "
           "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>");
  assert_int_equal(e.ready, FG_S2S_AUTH_DIALBACK);
  assert_false(fg_s2s_out_sm_enabled(s));
  fg_s2s_out_free(s);
}

static int allow_plain(void *arg, const char *peer) {
  return 1;
}
static const fg_s2s_in_ops kPlainInOps = {.send = i_send,
                                          .is_hosted = i_hosted,
                                          .plaintext_allowed = allow_plain,
                                          .cert_valid_for = i_cert,
                                          .dialback_verify = i_verify,
                                          .route = i_route};

static void test_xep0198_3_enable_before_authentication_fails(void **state) {
  in_env ie = {0};
  fg_s2s_in_config ic;
  fg_s2s_in_config_default(&ic);
  ic.sm = 1;
  fg_s2s_in *in = fg_s2s_in_new(&ic, &kPlainInOps, &ie);
  const char *hdr =
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
      "xmlns:db='jabber:server:dialback' from='a.example' to='b.example' version='1.0'>";
  size_t used;
  fg_s2s_in_feed(in, (const uint8_t *)hdr, strlen(hdr), &used);
  assert_non_null(strstr(ie.w.buf, "<sm xmlns='urn:xmpp:sm:3'/>"));  // offered to a plaintext peer
  ie.w.len = 0;
  const char *en =
      "<enable xmlns='urn:xmpp:sm:3'/><resume xmlns='urn:xmpp:sm:3' previd='x' h='0'/>";
  assert_int_equal(fg_s2s_in_feed(in, (const uint8_t *)en, strlen(en), &used), FG_S2S_IN_CONTINUE);
  ie.w.buf[ie.w.len] = 0;
  // Both the <enable/> and the <resume/> come before authentication.
  const char *first = strstr(ie.w.buf, "<failed xmlns='urn:xmpp:sm:3'><unexpected-request");
  assert_non_null(first);
  assert_non_null(strstr(first + 1, "<failed xmlns='urn:xmpp:sm:3'><unexpected-request"));
  int enabled = 1;
  fg_s2s_in_sm_handled(in, &enabled);
  assert_false(enabled);
  fg_s2s_in_free(in);
}

// --- XEP-0288: bidirectional streams ---

#define FEATURES_BIDI_DIALBACK                              \
  "<stream:features><bidi xmlns='urn:xmpp:features:bidi'/>" \
  "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback></stream:features>"

// new_sm_bidi_out starts a stream from a.example to b.example over TLS
// (XEP-0288 and XEP-0198 wanted as |bidi| and |sm| say); its header is in |e|.
static fg_s2s_out *new_sm_bidi_out(out_env *e, int bidi, int client_cert, int sm) {
  fg_s2s_out_config c;
  out_config(&c);
  c.tls_active = 1;
  c.client_cert = client_cert;
  c.dialback_secret = &g_out_secret;
  c.bidi = bidi;
  c.sm = sm;
  fg_s2s_out *s = out_open(e, &c);
  return s;
}

// new_bidi_out is new_sm_bidi_out without XEP-0198, its header cleared.
static fg_s2s_out *new_bidi_out(out_env *e, int bidi, int client_cert) {
  fg_s2s_out *s = new_sm_bidi_out(e, bidi, client_cert, 0);
  e->w.len = 0;
  return s;
}

// ready_by_dialback brings |s| to ready over dialback with bidi offered.
static void ready_by_dialback(fg_s2s_out *s, out_env *e) {
  out_feed(s, PEER_HEADER("S1") FEATURES_BIDI_DIALBACK);
  out_feed(s, "<db:result from='b.example' to='a.example' type='valid'/>");
  assert_int_equal(e->ready, FG_S2S_AUTH_DIALBACK);
}

static void test_xep0288_2_2_request_sent_before_dialback(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_bidi_out(&e, 1, 0);
  out_feed(s, PEER_HEADER("S1") FEATURES_BIDI_DIALBACK);
  assert_true(fg_s2s_out_bidi(s));
  const char *bidi = strstr(e.w.buf, "<bidi xmlns='urn:xmpp:bidi'/>");
  const char *db = strstr(e.w.buf, "<db:result");
  assert_non_null(bidi);
  assert_non_null(db);
  assert_true(bidi < db);
  fg_s2s_out_free(s);
}

static void test_xep0288_2_2_request_sent_once_before_sasl(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_bidi_out(&e, 1, 1);
  out_feed(s, PEER_HEADER("S1")
       "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
       "<mechanism>EXTERNAL</mechanism></mechanisms><bidi xmlns='urn:xmpp:features:bidi'/>"
       "</stream:features>");
  assert_string_equal(
      e.w.buf,
      "<bidi xmlns='urn:xmpp:bidi'/>"
      "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>");
  out_feed(s, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  e.w.len = 0;
  e.w.buf[0] = 0;
  out_feed(s,
           PEER_HEADER(
               "S1") "<stream:features><bidi xmlns='urn:xmpp:features:bidi'/></stream:features>");
  assert_null(strstr(e.w.buf, "urn:xmpp:bidi"));  // not again after the restart
  assert_int_equal(e.ready, FG_S2S_AUTH_SASL_EXTERNAL);
  fg_s2s_out_free(s);
}

static void test_xep0288_2_2_no_request_when_not_offered_or_disabled(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_bidi_out(&e, 1, 0);
  out_feed(
      s,
      PEER_HEADER(
          "S1") "<stream:features><dialback "
                "xmlns='urn:xmpp:features:dialback'/></stream:features>");
  assert_null(strstr(e.w.buf, "urn:xmpp:bidi"));
  assert_false(fg_s2s_out_bidi(s));
  fg_s2s_out_free(s);
  out_env off = {0};
  s = new_bidi_out(&off, 0, 0);
  out_feed(s, PEER_HEADER("S1") FEATURES_BIDI_DIALBACK);
  assert_null(strstr(off.w.buf, "urn:xmpp:bidi"));
  fg_s2s_out_free(s);
}

static void test_xep0288_2_2_reverse_stanza_handed_over(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_bidi_out(&e, 1, 0);
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
  fg_s2s_out *s = new_bidi_out(&e, 1, 0);
  out_feed(s, PEER_HEADER("S1") FEATURES_BIDI_DIALBACK);
  assert_int_equal(out_feed(s, "<message from='b.example' to='u@a.example'/>"), FG_S2S_OUT_CLOSED);
  assert_non_null(strstr(e.w.buf, "<not-authorized"));
  assert_int_equal(e.stanzas, 0);
  assert_int_equal(e.refused, 1);
  fg_s2s_out_free(s);
}

// refused_back brings a bidi stream to ready, has the peer send |stanza|
// back (o_stanza answering |refuse|) and checks that the stream ends with
// the stream error |condition|.
static void refused_back(const char *stanza, const char *refuse, const char *condition) {
  out_env e = {.refuse = refuse};
  fg_s2s_out *s = new_bidi_out(&e, 1, 0);
  ready_by_dialback(s, &e);
  char want[128];
  snprintf(want, sizeof(want), "<%s xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>", condition);
  assert_int_equal(out_feed(s, stanza), FG_S2S_OUT_CLOSED);
  if (strstr(e.w.buf, want) == NULL) fail_msg("no %s in %s", want, e.w.buf);
  assert_int_equal(e.failed, 1);
  // Refused by the addressing rules: reported, never handed over.
  assert_int_equal(e.stanzas, refuse != NULL);
  assert_int_equal(e.refused, refuse == NULL);
  if (refuse == NULL) assert_string_equal(e.refused_cond, condition);
  fg_s2s_out_free(s);
}

static void test_rfc6120_4_9_3_9_reverse_stanza_spoofed_from_is_invalid_from(void **state) {
  refused_back("<message from='mallory@evil.example' to='u@a.example'/>", NULL, "invalid-from");
}

static void test_rfc6120_4_9_3_6_reverse_stanza_to_another_domain_is_host_unknown(void **state) {
  refused_back("<message from='b.example' to='u@other.example'/>", NULL, "host-unknown");
}

static void test_rfc6120_4_9_3_7_reverse_stanza_without_from_is_improper_addressing(void **state) {
  refused_back("<iq to='a.example' type='get' id='1'/>", NULL, "improper-addressing");
}

static void test_rfc6120_4_9_3_12_untrusted_reverse_sender_ends_the_stream(void **state) {
  refused_back("<message from='b.example' to='u@a.example'/>", "not-authorized", "not-authorized");
}

static void test_rfc6120_4_5_stanza_without_bidi_is_unsupported(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_bidi_out(&e, 0, 0);
  out_feed(s, PEER_HEADER("S1") FEATURES_BIDI_DIALBACK);
  out_feed(s, "<db:result from='b.example' to='a.example' type='valid'/>");
  assert_int_equal(out_feed(s, "<message from='b.example' to='u@a.example'/>"), FG_S2S_OUT_CLOSED);
  assert_non_null(strstr(e.w.buf, "<unsupported-stanza-type"));
  assert_int_equal(e.stanzas, 0);
  fg_s2s_out_free(s);
}

static void test_xep0198_4_initiating_side_acknowledges_stanzas_sent_back(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_sm_bidi_out(&e, 1, 0, 1);
  out_feed(s, PEER_HEADER("S1")
       "<stream:features><bidi xmlns='urn:xmpp:features:bidi'/><sm xmlns='urn:xmpp:sm:3'/>"
       "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback></stream:features>");
  out_feed(s, "<db:result from='b.example' to='a.example' type='valid'/>");
  out_feed(s, "<enabled xmlns='urn:xmpp:sm:3'/>");
  assert_true(fg_s2s_out_sm_enabled(s));
  out_feed(s,
           "<message from='b.example' to='u@a.example'/><message from='b.example' "
           "to='u@a.example'/>");
  e.w.len = 0;
  e.w.buf[0] = 0;
  out_feed(s, "<r xmlns='urn:xmpp:sm:3'/>");
  assert_string_equal(e.w.buf, "<a xmlns='urn:xmpp:sm:3' h='2'/>");
  fg_s2s_out_free(s);
}

static void test_rfc6120_4_4_reverse_stanzas_after_our_close_still_count(void **state) {
  out_env e = {0};
  fg_s2s_out *s = new_bidi_out(&e, 1, 0);
  ready_by_dialback(s, &e);
  fg_s2s_out_end(s);
  out_feed(s, "<message from='b.example' to='u@a.example'/>");
  assert_int_equal(e.stanzas, 1);
  fg_s2s_out_free(s);
}

static void test_xep0288_both_directions_on_one_stream(void **state) {
  in_env ie = {.cert_for = "a.example"};
  out_env oe = {0};
  fg_s2s_in_config ic;
  fg_s2s_in_config_default(&ic);
  ic.bidi = 1;
  ic.tls_active = 1;
  fg_s2s_in *in = fg_s2s_in_new(&ic, &kInOps, &ie);
  fg_s2s_out *out = new_sm_bidi_out(&oe, 1, 1, 0);
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
      cmocka_unit_test(test_rfc6120_4_7_initial_header),
      cmocka_unit_test(test_rfc6120_5_4_starttls_then_restart),
      cmocka_unit_test(test_rfc6120_5_no_tls_offered_fails_unless_plaintext_allowed),
      cmocka_unit_test(test_xep0178_external_when_offered_with_certificate),
      cmocka_unit_test(test_xep0220_dialback_key_uses_the_receiving_servers_stream_id),
      cmocka_unit_test(test_xep0220_invalid_result_fails),
      cmocka_unit_test(test_xep0220_verify_answers_only_for_questions_on_this_stream),
      cmocka_unit_test(test_rfc6120_4_9_stream_error_from_peer_fails_with_its_condition),
      cmocka_unit_test(test_rfc6120_4_4_end_waits_for_the_peers_closing_tag),
      cmocka_unit_test(test_out_and_in_negotiate_tls_and_sasl_external),
      cmocka_unit_test(test_xep0198_3_enabled_after_authentication_and_acks_flow),
      cmocka_unit_test(test_xep0198_unacked_queue_is_bounded),
      cmocka_unit_test(test_xep0198_5_resumed_stream_continues_from_the_peers_h),
      cmocka_unit_test(test_xep0198_5_unknown_stream_enables_anew),
      cmocka_unit_test(test_xep0198_5_resume_h_acknowledges_stanzas_sent_back),
      cmocka_unit_test(test_xep0198_5_resume_without_a_valid_h_is_invalid_xml),
      cmocka_unit_test(test_xep0198_5_resume_h_above_what_was_sent_back_ends_the_stream),
      cmocka_unit_test(test_xep0198_peer_without_it_carries_stanzas_unacknowledged),
      cmocka_unit_test(test_xep0198_4_h_above_sent_ends_the_stream),
      cmocka_unit_test(test_xep0198_4_malformed_h_is_invalid_xml),
      cmocka_unit_test(test_xep0198_4_end_waits_for_the_last_ack),
      cmocka_unit_test(test_xep0198_3_failed_enable_goes_on_without),
      cmocka_unit_test(test_xep0198_3_enable_before_authentication_fails),
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
      cmocka_unit_test(test_xep0198_4_initiating_side_acknowledges_stanzas_sent_back),
      cmocka_unit_test(test_rfc6120_4_4_reverse_stanzas_after_our_close_still_count),
      cmocka_unit_test(test_xep0288_both_directions_on_one_stream),
  };
  return cmocka_run_group_tests_name("gateway/s2s_out", tests, out_fixture_setup, NULL);
}
