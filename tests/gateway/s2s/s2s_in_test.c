// s2s_in_test.c: the receiving side of s2s streams (gateway/s2s/s2s_in.c), driven
// with the bytes a peer sends, checking the exact bytes and errors returned.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/dialback_key.h"
#include "gateway/s2s/s2s_in.h"

#define HDR_TO(to, from)                                                                      \
  "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "                                \
  "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' to='" to \
  "' from='" from "' version='1.0'>"
#define HDR HDR_TO("b.example", "a.example")

typedef struct env {
  char out[65536];
  size_t out_len;
  const char *cert_domain;  // the peer's certificate is valid for this domain
  int plaintext_ok;
  const char *plaintext_domain;  // when set, only this domain may skip TLS
  int verify_calls;
  char verify_from[256], verify_to[256], verify_key[256], verify_id[64];
  int routed;
  char routed_to[256];
  int routed_root_only;   // the last stanza came with its root view only
  char routed_body[256];  // its <body/> text, read after asking for the whole element
  fg_stanza_condition route_result;
  int bounces;
  char bounce_buf[4096];
  int events[FG_S2S_IN_EV_COUNT];
  const char *unhosted;    // no longer hosted (a reload removed it)
  const char *from_at[8];  // where each routed stanza's 'from' domain was passed
  int hold;                // hold_features answers this
  int hold_calls;
  char hold_peer[256];
} env;

static void env_send(void *arg, const uint8_t *d, size_t n) {
  env *e = arg;
  if (e->out_len + n < sizeof(e->out)) {
    memcpy(e->out + e->out_len, d, n);
    e->out_len += n;
    e->out[e->out_len] = 0;
  }
}
static int env_hosted(void *arg, const char *d) {
  env *e = arg;
  if (e->unhosted != NULL && strcmp(d, e->unhosted) == 0) return 0;
  return strcmp(d, "b.example") == 0 || strcmp(d, "c.example") == 0;
}
static int env_plain(void *arg, const char *peer) {
  env *e = arg;
  if (e->plaintext_domain != NULL) return strcmp(e->plaintext_domain, peer) == 0;
  return e->plaintext_ok;
}
static int env_cert(void *arg, const char *d) {
  env *e = arg;
  return e->cert_domain != NULL && strcmp(e->cert_domain, d) == 0;
}
static int env_verify(void *arg, const char *o, const char *r, const uint8_t *k, size_t kl,
                      const char *id) {
  env *e = arg;
  e->verify_calls++;
  snprintf(e->verify_from, sizeof(e->verify_from), "%s", o);
  snprintf(e->verify_to, sizeof(e->verify_to), "%s", r);
  snprintf(e->verify_key, sizeof(e->verify_key), "%.*s", (int)kl, (const char *)k);
  snprintf(e->verify_id, sizeof(e->verify_id), "%s", id);
  return 1;
}
static fg_stanza_condition env_route(void *arg, const fg_xml_element *el, const char *from,
                                     const char *to) {
  env *e = arg;
  if (e->routed < 8) e->from_at[e->routed] = from;
  e->routed++;
  snprintf(e->routed_to, sizeof(e->routed_to), "%s", to);
  e->routed_root_only = el->num_nodes > 1 && el->root->first_child == NULL;
  const fg_xml_node *body = fg_xml_node_child(fg_xml_element_full(el)->root, NULL, "body");
  fg_xml_str t =
      body != NULL && body->first_child != NULL ? body->first_child->text : (fg_xml_str){NULL, 0};
  snprintf(e->routed_body, sizeof(e->routed_body), "%.*s", (int)t.len, (const char *)t.data);
  return e->route_result;
}
static void env_bounce(void *arg, const uint8_t *d, size_t n, const char *local, const char *to) {
  env *e = arg;
  e->bounces++;
  snprintf(e->bounce_buf, sizeof(e->bounce_buf), "%.*s", (int)n, (const char *)d);
}
static void env_event(void *arg, fg_s2s_in_event ev, const char *d, const char *detail) {
  ((env *)arg)->events[ev]++;
}

static const fg_s2s_in_ops kOps = {env_send,   env_hosted, env_plain,  env_cert,
                                   env_verify, env_route,  env_bounce, env_event};

static int env_hold(void *arg, const char *peer) {
  env *e = arg;
  e->hold_calls++;
  snprintf(e->hold_peer, sizeof(e->hold_peer), "%s", peer);
  return e->hold;
}

static const fg_s2s_in_ops kOpsHold = {env_send,  env_hosted, env_plain, env_cert, env_verify,
                                       env_route, env_bounce, env_event, env_hold};

// env_refused refuses spam.example (a block list, gateway/server/blocks.h).
static int env_refused(void *arg, const char *domain, char *why, size_t why_len) {
  snprintf(why, why_len, "admin: spam");
  return strcmp(domain, "spam.example") == 0;
}

static const fg_s2s_in_ops kOpsRefuse = {env_send,  env_hosted, env_plain, env_cert, env_verify,
                                         env_route, env_bounce, env_event, NULL,     env_refused};

static fg_dialback_secret g_secret;

typedef struct fixture {
  env e;
  fg_s2s_in *s;
} fixture;

// fx_new_with returns a session; |dialback| and |tag| (may be NULL) as in
// fg_s2s_in_config; |plaintext_domain| (may be NULL) is set before the
// session sees any byte.
static fixture *fx_new_with(int tls_active, int dialback, const fg_stream_tag *tag,
                            const char *plaintext_domain) {
  fixture *f = calloc(1, sizeof(*f));
  f->e.route_result = FG_STANZA_CONDITION_COUNT;
  f->e.plaintext_domain = plaintext_domain;
  fg_s2s_in_config cfg;
  fg_s2s_in_config_default(&cfg);
  cfg.tls_active = tls_active;
  cfg.dialback_secret = &g_secret;
  cfg.dialback = dialback;
  if (tag != NULL) cfg.stream_tag = *tag;
  f->s = fg_s2s_in_new(&cfg, &kOps, &f->e);
  return f;
}

static fixture *fx_new(int tls_active) {
  return fx_new_with(tls_active, 1, NULL, NULL);
}

static void fx_free(fixture *f) {
  fg_s2s_in_free(f->s);
  free(f);
}

static fg_s2s_in_status feed(fixture *f, const char *bytes) {
  size_t used = 0;
  return fg_s2s_in_feed(f->s, (const uint8_t *)bytes, strlen(bytes), &used);
}

// fx_plaintext returns a session without TLS on a gateway that does not
// require it, its header read.
static fixture *fx_plaintext(void) {
  fixture *f = calloc(1, sizeof(*f));
  f->e.route_result = FG_STANZA_CONDITION_COUNT;
  fg_s2s_in_config cfg;
  fg_s2s_in_config_default(&cfg);
  cfg.tls_active = 0;
  cfg.tls_required = 0;
  cfg.dialback_secret = &g_secret;
  f->s = fg_s2s_in_new(&cfg, &kOps, &f->e);
  feed(f, HDR);
  return f;
}

static void clear(fixture *f) {
  f->e.out_len = 0;
  f->e.out[0] = 0;
}

static void assert_out_contains(fixture *f, const char *needle) {
  if (strstr(f->e.out, needle) == NULL) {
    fail_msg("output lacks %s\noutput: %s", needle, f->e.out);
  }
}

static void assert_stream_error(fixture *f, fg_s2s_in_status st, const char *cond) {
  char want[128];
  snprintf(want, sizeof(want), "<stream:error><%s xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>",
           cond);
  assert_int_equal(st, FG_S2S_IN_CLOSED);
  assert_out_contains(f, want);
  assert_out_contains(f, "</stream:stream>");
  assert_true(fg_s2s_in_is_closed(f->s));
}

// fx_tls returns a session past STARTTLS, with the post-TLS header answered.
static fixture *fx_tls(const char *cert_domain) {
  fixture *f = fx_new(1);
  f->e.cert_domain = cert_domain;
  assert_int_equal(feed(f, HDR), FG_S2S_IN_CONTINUE);
  return f;
}

static void test_rfc6120_4_7_header_answered_with_id_and_starttls_required(void **state) {
  fixture *f = fx_new(0);
  assert_int_equal(feed(f, HDR), FG_S2S_IN_CONTINUE);
  assert_out_contains(f, "from='b.example' to='a.example' id='");
  assert_out_contains(f, "version='1.0'");
  assert_out_contains(f,
                      "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
                      "<required/></starttls></stream:features>");
  assert_null(strstr(f->e.out, "urn:xmpp:features:dialback"));  // only TLS before TLS
  assert_int_equal(strlen(fg_s2s_in_stream_id(f->s)), FG_STREAM_ID_LEN);
  fx_free(f);
}

static void test_rfc6120_4_7_stream_ids_are_unpredictable(void **state) {
  fixture *a = fx_new(0), *b = fx_new(0);
  feed(a, HDR);
  feed(b, HDR);
  assert_string_not_equal(fg_s2s_in_stream_id(a->s), fg_s2s_in_stream_id(b->s));
  fx_free(a);
  fx_free(b);
}

static void test_rfc6120_4_9_3_6_host_unknown(void **state) {
  fixture *f = fx_new(0);
  assert_stream_error(f, feed(f, HDR_TO("nowhere.example", "a.example")), "host-unknown");
  fx_free(f);
}

// refusing returns a TLS session whose operations refuse spam.example.
static fixture *refusing(void) {
  fixture *f = fx_new(1);
  fg_s2s_in_free(f->s);
  fg_s2s_in_config cfg;
  fg_s2s_in_config_default(&cfg);
  cfg.tls_active = 1;
  cfg.dialback_secret = &g_secret;
  f->s = fg_s2s_in_new(&cfg, &kOpsRefuse, &f->e);
  return f;
}

static void test_rfc6120_4_9_3_14_refused_peer_in_header_is_policy_violation(void **state) {
  fixture *f = refusing();
  assert_stream_error(f, feed(f, HDR_TO("b.example", "spam.example")), "policy-violation");
  assert_out_contains(f, "spam.example is not accepted here: admin: spam");
  assert_int_equal(f->e.verify_calls, 0);
  fx_free(f);
  f = refusing();  // others go on
  assert_int_equal(feed(f, HDR_TO("b.example", "a.example")), FG_S2S_IN_CONTINUE);
  fx_free(f);
}

static void test_rfc6120_4_9_3_14_refused_domain_in_dialback_is_policy_violation(void **state) {
  fixture *f = refusing();
  assert_int_equal(feed(f, HDR), FG_S2S_IN_CONTINUE);
  assert_stream_error(f, feed(f, "<db:result from='spam.example' to='b.example'>k</db:result>"),
                      "policy-violation");
  assert_int_equal(f->e.verify_calls, 0);  // never asked: refused before any work
  fx_free(f);
}

static void test_rfc6120_4_9_3_25_unsupported_version(void **state) {
  fixture *f = fx_new(0);
  fg_s2s_in_status st = feed(f,
                             "<stream:stream xmlns='jabber:server' "
                             "xmlns:stream='http://etherx.jabber.org/streams' to='b.example' "
                             "from='a.example'>");
  assert_stream_error(f, st, "unsupported-version");
  fx_free(f);
}

static void test_rfc6120_4_9_3_invalid_from_in_header(void **state) {
  fixture *f = fx_new(0);
  assert_stream_error(f, feed(f, HDR_TO("b.example", "a..example")), "invalid-from");
  fx_free(f);
}

static void test_rfc6120_5_3_1_db_result_before_tls_is_policy_violation(void **state) {
  fixture *f = fx_new(0);
  feed(f, HDR);
  clear(f);
  fg_s2s_in_status st =
      feed(f, "<db:result from='a.example' to='b.example'>0123456789abcdef</db:result>");
  assert_stream_error(f, st, "policy-violation");
  assert_int_equal(f->e.verify_calls, 0);
  fx_free(f);
}

static void test_rfc6120_5_3_1_stanza_before_tls_is_refused(void **state) {
  fixture *f = fx_new(0);
  feed(f, HDR);
  fg_s2s_in_status st =
      feed(f, "<message from='x@a.example' to='y@b.example'><body>hi</body></message>");
  assert_stream_error(f, st, "policy-violation");
  assert_int_equal(f->e.routed, 0);
  fx_free(f);
}

static void test_rfc6120_5_4_3_3_starttls_discards_pipelined_bytes(void **state) {
  fixture *f = fx_new(0);
  feed(f, HDR);
  clear(f);
  const char *in =
      "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
      "<message from='x@a.example' to='y@b.example'/>";
  size_t used = 0;
  fg_s2s_in_status st = fg_s2s_in_feed(f->s, (const uint8_t *)in, strlen(in), &used);
  assert_int_equal(st, FG_S2S_IN_STARTTLS);
  assert_int_equal(used, strlen("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
  assert_string_equal(f->e.out, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  // Nothing more is parsed until TLS is up.
  assert_int_equal(fg_s2s_in_feed(f->s, (const uint8_t *)"junk", 4, &used), FG_S2S_IN_STARTTLS);
  fg_s2s_in_tls_established(f->s);
  clear(f);
  assert_int_equal(feed(f, HDR), FG_S2S_IN_CONTINUE);
  assert_out_contains(f, "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>");
  assert_null(strstr(f->e.out, "starttls"));  // §5.4.3.3: not offered again
  assert_int_equal(f->e.routed, 0);
  fx_free(f);
}

static void test_rfc6120_5_plaintext_peer_may_skip_tls_when_allowed(void **state) {
  fixture *f = fx_new(0);
  f->e.plaintext_ok = 1;
  feed(f, HDR);
  assert_out_contains(f, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'></starttls>");
  assert_out_contains(f, "<dialback xmlns='urn:xmpp:features:dialback'>");
  feed(f, "<db:result from='a.example' to='b.example'>abcd</db:result>");
  assert_int_equal(f->e.verify_calls, 1);
  fx_free(f);
}

static void test_xep0178_external_offered_only_when_certificate_matches(void **state) {
  fixture *f = fx_tls("a.example");
  assert_out_contains(f, "<mechanism>EXTERNAL</mechanism>");
  fx_free(f);
  f = fx_tls("other.example");
  assert_null(strstr(f->e.out, "EXTERNAL"));
  assert_out_contains(f, "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>");
  fx_free(f);
}

// XEP-0178 §3 with a lookup first (POSH, RFC 7711): the features of a
// header over TLS wait while the gateway asks, then offer what the answer
// allows; plaintext headers and the stream after SASL are never held.
static void test_xep0178_features_held_for_a_lookup(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  f->e.route_result = FG_STANZA_CONDITION_COUNT;
  f->e.hold = 1;
  fg_s2s_in_config cfg;
  fg_s2s_in_config_default(&cfg);
  cfg.dialback_secret = &g_secret;
  f->s = fg_s2s_in_new(&cfg, &kOpsHold, &f->e);
  assert_int_equal(feed(f, HDR), FG_S2S_IN_CONTINUE);
  assert_int_equal(f->e.hold_calls, 0);  // before TLS: nothing to look up
  assert_out_contains(f, "<starttls");
  clear(f);
  assert_int_equal(feed(f, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
                   FG_S2S_IN_STARTTLS);
  fg_s2s_in_tls_established(f->s);
  clear(f);
  assert_int_equal(feed(f, HDR), FG_S2S_IN_CONTINUE);
  assert_int_equal(f->e.hold_calls, 1);
  assert_string_equal(f->e.hold_peer, "a.example");
  assert_out_contains(f, "id='");
  assert_null(strstr(f->e.out, "<stream:features>"));
  f->e.cert_domain = "a.example";  // what the lookup proved
  clear(f);
  fg_s2s_in_send_features(f->s);
  assert_out_contains(f, "<mechanism>EXTERNAL</mechanism>");
  clear(f);
  fg_s2s_in_send_features(f->s);  // nothing held any more
  assert_int_equal(f->e.out_len, 0);
  assert_int_equal(
      feed(f, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>"),
      FG_S2S_IN_CONTINUE);
  assert_int_equal(fg_s2s_in_is_authenticated(f->s, "a.example", "b.example"),
                   FG_S2S_AUTH_SASL_EXTERNAL);
  clear(f);
  feed(f, HDR);
  assert_int_equal(f->e.hold_calls, 1);  // after SASL: not asked again
  assert_out_contains(f, "<stream:features>");
  fx_free(f);
}

static void test_xep0178_external_success_restart_and_route(void **state) {
  fixture *f = fx_tls("a.example");
  clear(f);
  assert_int_equal(
      feed(f, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>"),
      FG_S2S_IN_CONTINUE);
  assert_string_equal(f->e.out, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  assert_int_equal(fg_s2s_in_is_authenticated(f->s, "a.example", "b.example"),
                   FG_S2S_AUTH_SASL_EXTERNAL);
  clear(f);
  feed(f, HDR);
  assert_null(strstr(f->e.out, "EXTERNAL"));  // no second SASL
  feed(f, "<message from='x@a.example/r' to='y@b.example' id='m1'><body>hi</body></message>");
  assert_int_equal(f->e.routed, 1);
  assert_string_equal(f->e.routed_to, "b.example");
  fx_free(f);
}

// RFC 6120 §8: a stanza is routed by its root; the router gets the root
// view only, and a consumer that reads below it (fg_xml_element_full) sees
// the children. The elements before it (SASL, its text child) were read whole.
static void test_rfc6120_8_stanza_routed_by_root_children_on_request(void **state) {
  fixture *f = fx_tls("a.example");
  feed(f,
       "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>YS5leGFtcGxl</auth>");
  assert_out_contains(f, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  feed(f, HDR);
  feed(f,
       "<message from='x@a.example/r' to='y@b.example' id='m1'><thread>t</thread>"
       "<body>hi &amp; bye</body></message>");
  assert_int_equal(f->e.routed, 1);
  assert_int_equal(f->e.routed_root_only, 1);
  assert_string_equal(f->e.routed_body, "hi & bye");
  // Cut in two reads: the element assembled by the parser is read the same way.
  feed(f, "<message from='x@a.example/r' to='z@b.example' id='m2'><body>sec");
  feed(f, "ond</body></message>");
  assert_int_equal(f->e.routed, 2);
  assert_int_equal(f->e.routed_root_only, 1);
  assert_string_equal(f->e.routed_body, "second");
  fx_free(f);
}

static void test_xep0178_authzid_must_equal_stream_from(void **state) {
  fixture *f = fx_tls("a.example");
  clear(f);
  // base64("a.example") is accepted, base64("evil.example") is not.
  feed(f,
       "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>"
       "ZXZpbC5leGFtcGxl</auth>");
  assert_out_contains(f, "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><invalid-authzid/>");
  clear(f);
  feed(f,
       "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>"
       "YS5leGFtcGxl</auth>");
  assert_out_contains(f, "<success");
  fx_free(f);
}

static void test_rfc6120_6_4_5_sasl_failures_are_bounded(void **state) {
  fixture *f = fx_tls("a.example");
  const char *bad =
      "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>!!!</auth>";
  assert_int_equal(feed(f, bad), FG_S2S_IN_CONTINUE);
  assert_out_contains(f, "<incorrect-encoding/>");
  assert_int_equal(feed(f, bad), FG_S2S_IN_CONTINUE);
  clear(f);
  assert_stream_error(f, feed(f, bad), "policy-violation");
  fx_free(f);
}

static void test_rfc6120_6_4_2_external_not_offered_is_invalid_mechanism(void **state) {
  fixture *f = fx_tls(NULL);
  clear(f);
  feed(f, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>");
  assert_out_contains(f, "<invalid-mechanism/>");
  assert_int_equal(fg_s2s_in_is_authenticated(f->s, "a.example", "b.example"), 0);
  fx_free(f);
}

static void test_rfc6120_6_4_3_external_without_initial_response(void **state) {
  fixture *f = fx_tls("a.example");
  clear(f);
  feed(f, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'/>");
  assert_string_equal(f->e.out, "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  clear(f);
  feed(f, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>=</response>");
  assert_string_equal(f->e.out, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  fx_free(f);
}

static void test_rfc6120_4_9_3_12_stanza_before_auth_is_not_authorized(void **state) {
  fixture *f = fx_tls(NULL);
  clear(f);
  fg_s2s_in_status st = feed(f, "<message from='x@a.example' to='y@b.example'/>");
  assert_stream_error(f, st, "not-authorized");
  assert_int_equal(f->e.routed, 0);
  fx_free(f);
}

static void test_xep0220_dialback_round_trip(void **state) {
  fixture *f = fx_tls(NULL);
  clear(f);
  feed(f, "<db:result from='a.example' to='b.example'>deadbeef</db:result>");
  assert_int_equal(f->e.verify_calls, 1);
  assert_string_equal(f->e.verify_from, "a.example");
  assert_string_equal(f->e.verify_to, "b.example");
  assert_string_equal(f->e.verify_key, "deadbeef");
  assert_string_equal(f->e.verify_id, fg_s2s_in_stream_id(f->s));
  assert_string_equal(f->e.out, "");  // nothing until the answer comes
  fg_s2s_in_dialback_answer(f->s, "a.example", "b.example", 1);
  assert_string_equal(f->e.out, "<db:result from='b.example' to='a.example' type='valid'/>");
  feed(f,
       "<iq from='a.example' to='b.example' type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>");
  assert_int_equal(f->e.routed, 1);
  fx_free(f);
}

// The route operation gets the stream's own copy of each domain pair: the
// same storage for every stanza of a pair, whichever check path it took,
// and distinct storage for another pair of the stream (abuse.limits keeps a
// stream's lease per domain by it, gateway/server/abuse_limits.h).
static void test_xep0220_route_gets_the_pair_own_copy_of_its_domains(void **state) {
  fixture *f = fx_tls(NULL);
  feed(f, "<db:result from='a.example' to='b.example'>deadbeef</db:result>");
  fg_s2s_in_dialback_answer(f->s, "a.example", "b.example", 1);
  feed(f, "<db:result from='other.example' to='b.example'>deadbeef</db:result>");
  fg_s2s_in_dialback_answer(f->s, "other.example", "b.example", 1);
  static const char *const kFrom[] = {"a", "a", "other", "a", "other", "other"};
  for (int i = 0; i < 6; i++) {
    char st[128];
    snprintf(st, sizeof(st), "<message from='x@%s.example' to='y@b.example' id='%d'/>", kFrom[i],
             i);
    assert_int_equal(feed(f, st), FG_S2S_IN_CONTINUE);
  }
  assert_int_equal(f->e.routed, 6);
  for (int i = 0; i < 6; i++) {
    assert_string_equal(f->e.from_at[i], kFrom[i][0] == 'a' ? "a.example" : "other.example");
    for (int j = 0; j < i; j++) {
      if (strcmp(kFrom[i], kFrom[j]) == 0) {
        assert_ptr_equal(f->e.from_at[i], f->e.from_at[j]);
      } else {
        assert_ptr_not_equal(f->e.from_at[i], f->e.from_at[j]);
      }
    }
  }
  fx_free(f);
}

static void test_xep0220_invalid_answer_leaves_pair_unauthenticated(void **state) {
  fixture *f = fx_tls(NULL);
  feed(f, "<db:result from='a.example' to='b.example'>deadbeef</db:result>");
  clear(f);
  fg_s2s_in_dialback_answer(f->s, "a.example", "b.example", 0);
  assert_string_equal(f->e.out, "<db:result from='b.example' to='a.example' type='invalid'/>");
  assert_int_equal(f->e.events[FG_S2S_IN_EV_DIALBACK_INVALID], 1);
  assert_stream_error(f, feed(f, "<message from='x@a.example' to='y@b.example'/>"),
                      "not-authorized");
  fx_free(f);
}

static void test_xep0220_answer_for_a_pair_never_asked_is_ignored(void **state) {
  fixture *f = fx_tls(NULL);
  feed(f, "<db:result from='a.example' to='b.example'>deadbeef</db:result>");
  clear(f);
  // An answer for another pair (a verify reply meant for another stream).
  fg_s2s_in_dialback_answer(f->s, "evil.example", "b.example", 1);
  assert_string_equal(f->e.out, "");
  assert_int_equal(f->e.events[FG_S2S_IN_EV_DIALBACK_UNSOLICITED], 1);
  assert_int_equal(fg_s2s_in_is_authenticated(f->s, "evil.example", "b.example"), 0);
  // And a second answer for the right pair after it was settled is ignored too.
  fg_s2s_in_dialback_answer(f->s, "a.example", "b.example", 0);
  fg_s2s_in_dialback_answer(f->s, "a.example", "b.example", 1);
  assert_int_equal(fg_s2s_in_is_authenticated(f->s, "a.example", "b.example"), 0);
  fx_free(f);
}

static void test_xep0220_unsolicited_verify_answer_is_refused(void **state) {
  fixture *f = fx_tls(NULL);
  clear(f);
  fg_s2s_in_status st = feed(f, "<db:verify from='a.example' to='b.example' id='x' type='valid'/>");
  assert_stream_error(f, st, "policy-violation");
  assert_int_equal(fg_s2s_in_is_authenticated(f->s, "a.example", "b.example"), 0);
  fx_free(f);
}

static void test_xep0344_certificate_makes_dialback_round_trip_moot(void **state) {
  fixture *f = fx_tls("a.example");
  clear(f);
  feed(f, "<db:result from='a.example' to='b.example'>deadbeef</db:result>");
  assert_int_equal(f->e.verify_calls, 0);
  assert_string_equal(f->e.out, "<db:result from='b.example' to='a.example' type='valid'/>");
  assert_int_equal(fg_s2s_in_is_authenticated(f->s, "a.example", "b.example"),
                   FG_S2S_AUTH_DIALBACK_CERT);
  fx_free(f);
}

static void test_xep0220_errors_for_unhosted_target(void **state) {
  fixture *f = fx_tls(NULL);
  clear(f);
  feed(f, "<db:result from='a.example' to='z.example'>deadbeef</db:result>");
  assert_out_contains(f,
                      "<db:result from='z.example' to='a.example' type='error'>"
                      "<error type='cancel'><item-not-found");
  assert_int_equal(f->e.verify_calls, 0);
  fx_free(f);
}

static void test_xep0185_authoritative_verify_valid_and_invalid(void **state) {
  uint8_t key[FG_DIALBACK_KEY_LEN];
  // We (b.example) issued a key for receiving=a.example on stream id "s1".
  assert_true(fg_dialback_key_generate(&g_secret, key, "a.example", 9, "b.example", 9, "s1", 2));
  fixture *f = fx_tls(NULL);
  char req[512];
  snprintf(req, sizeof(req), "<db:verify from='a.example' to='b.example' id='s1'>%.*s</db:verify>",
           FG_DIALBACK_KEY_LEN, (const char *)key);
  clear(f);
  feed(f, req);
  assert_string_equal(f->e.out,
                      "<db:verify from='b.example' to='a.example' id='s1' type='valid'/>");
  assert_int_equal(f->e.events[FG_S2S_IN_EV_DIALBACK_VERIFY_ANSWERED], 1);
  clear(f);
  // Same key, another stream id: invalid.
  snprintf(req, sizeof(req), "<db:verify from='a.example' to='b.example' id='s2'>%.*s</db:verify>",
           FG_DIALBACK_KEY_LEN, (const char *)key);
  feed(f, req);
  assert_string_equal(f->e.out,
                      "<db:verify from='b.example' to='a.example' id='s2' type='invalid'/>");
  fx_free(f);
}

static void test_cve_2016_0756_colliding_inputs_do_not_verify(void **state) {
  uint8_t key[FG_DIALBACK_KEY_LEN];
  // Key issued for receiving "a.b", originating "cc.d"; presented for "a.bc"/"c.d".
  assert_true(fg_dialback_key_generate(&g_secret, key, "a.bc", 4, "c.example", 9, "id", 2));
  fixture *f = fx_tls(NULL);
  char req[512];
  snprintf(req, sizeof(req), "<db:verify from='a.b' to='c.example' id='cid'>%.*s</db:verify>",
           FG_DIALBACK_KEY_LEN, (const char *)key);
  clear(f);
  feed(f, req);
  assert_out_contains(f, "type='invalid'");
  fx_free(f);
}

static fixture *fx_authenticated(void) {
  fixture *f = fx_tls("a.example");
  feed(f, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>");
  feed(f, HDR);
  clear(f);
  return f;
}

static void test_rfc6120_4_9_3_invalid_from_unauthenticated_domain(void **state) {
  fixture *f = fx_authenticated();
  assert_stream_error(f, feed(f, "<message from='x@evil.example' to='y@b.example'/>"),
                      "invalid-from");
  assert_int_equal(f->e.routed, 0);
  fx_free(f);
}

static void test_rfc6120_4_9_3_host_unknown_stanza_to(void **state) {
  fixture *f = fx_authenticated();
  assert_stream_error(f, feed(f, "<message from='x@a.example' to='y@z.example'/>"), "host-unknown");
  fx_free(f);
}

static void test_rfc6120_4_9_3_9_improper_addressing(void **state) {
  fixture *f = fx_authenticated();
  assert_stream_error(f, feed(f, "<message from='x@a.example'/>"), "improper-addressing");
  fx_free(f);
}

static void test_sasl_stream_does_not_authorise_other_hosted_domains(void **state) {
  fixture *f = fx_authenticated();
  assert_stream_error(f, feed(f, "<message from='x@a.example' to='y@c.example'/>"), "invalid-from");
  fx_free(f);
}

// The fast path for a stream's repeated pair must still compare 'to': a
// peer authorised for a.example -> b.example only, having routed one stanza
// there, may not reach c.example (also hosted) on the same stream.
static void test_rfc6120_4_9_3_7_fast_path_still_checks_the_to_domain(void **state) {
  fixture *f = fx_authenticated();
  assert_int_equal(feed(f, "<message from='x@a.example' to='y@b.example' id='1'/>"),
                   FG_S2S_IN_CONTINUE);
  assert_int_equal(f->e.routed, 1);
  assert_stream_error(f, feed(f, "<message from='x@a.example' to='y@c.example' id='2'/>"),
                      "invalid-from");
  assert_int_equal(f->e.routed, 1);
  assert_string_equal(f->e.routed_to, "b.example");
  fx_free(f);
}

// ... and 'from': a.example's routed pair does not let evil.example in.
static void test_rfc6120_4_9_3_7_fast_path_still_checks_the_from_domain(void **state) {
  fixture *f = fx_authenticated();
  feed(f, "<message from='x@a.example' to='y@b.example' id='1'/>");
  assert_stream_error(f, feed(f, "<message from='x@evil.example' to='y@b.example' id='2'/>"),
                      "invalid-from");
  assert_int_equal(f->e.routed, 1);
  fx_free(f);
}

// judged_after_a_routed_pair feeds |stanza| to a stream whose pair
// (a.example, b.example) routed a stanza just before (the fast path's), and
// checks it is routed to b.example (|error| NULL) or ends the stream with
// stream error |error|.
static void judged_after_a_routed_pair(const char *stanza, const char *error) {
  fixture *f = fx_authenticated();
  feed(f, "<message from='x@a.example' to='y@b.example' id='1'/>");
  assert_int_equal(f->e.routed, 1);
  fg_s2s_in_status st = feed(f, stanza);
  if (error == NULL) {
    assert_int_equal(st, FG_S2S_IN_CONTINUE);
    assert_int_equal(f->e.routed, 2);
    assert_string_equal(f->e.routed_to, "b.example");
  } else {
    assert_stream_error(f, st, error);
    assert_int_equal(f->e.routed, 1);
  }
  fx_free(f);
}

// RFC 6120 §4.9.3.22: a message in jabber:client (or qualified by any
// namespace but jabber:server) is no stanza of an s2s stream, however it is
// addressed: never routed, with or without a pair routed before it.
static void test_rfc6120_4_9_3_22_jabber_client_stanza_on_s2s_is_not_routed(void **state) {
  static const char *const kStanzas[] = {
      "<message xmlns='jabber:client' from='x@a.example' to='y@b.example' id='2'/>",
      "<c:message xmlns:c='jabber:client' from='x@a.example' to='y@b.example' id='2'/>",
      "<iq xmlns='urn:example:server' from='x@a.example' to='y@b.example' id='2' type='get'/>",
  };
  for (size_t i = 0; i < sizeof(kStanzas) / sizeof(kStanzas[0]); i++) {
    judged_after_a_routed_pair(kStanzas[i], "unsupported-stanza-type");
  }
}

// RFC 7622 §3.2, XML 1.0 §4.1: addresses are routed by their values as XML
// defines them (references decoded) and their domainparts as RFC 7622 does
// (case and one trailing dot aside), on the fast path as on the full one:
// 'y&#64;c.example' is y at c.example, not authorised on this stream.
static void test_rfc7622_3_2_addresses_routed_by_their_decoded_values(void **state) {
  static const struct {
    const char *stanza;
    const char *error;  // NULL: routed
  } kCases[] = {
      {"<message from='x@a.example' to='y&#64;b.example' id='2'/>", NULL},
      {"<message from='x@A.Example.' to='Y@B.EXAMPLE/r' id='2'/>", NULL},
      {"<message from='x&#64;a.example' to='y@b.example&#x2F;res' id='2'/>", NULL},
      {"<message from='x@a.example' to='y&#64;c.example' id='2'/>", "invalid-from"},
      {"<message from='x@a.example' to='b.example&#64;c.example' id='2'/>", "invalid-from"},
      {"<message from='x@evil.example&#47;a.example' to='y@b.example' id='2'/>", "invalid-from"},
      {"<message from='x@a.example' to='y@b.example&#32;' id='2'/>", "improper-addressing"},
      {"<message from='x@a.example' to='y@b.example&#9;' id='2'/>", "improper-addressing"},
      {"<message from='x@a.example' to='y@b.example..' id='2'/>", "improper-addressing"},
      {"<message from='x@a.example' to='y@@b.example' id='2'/>", "improper-addressing"},
      {"<message from='x@a.example' to='y@[::1]' id='2'/>", "improper-addressing"},
      {"<message from='x@a.example' to='y@192.0.2.1' id='2'/>", "improper-addressing"},
      // Only the unprefixed attributes address a stanza (Namespaces in XML
      // §6.3: a prefixed 'to' is another attribute, in its namespace).
      {"<message xmlns:p='jabber:server' from='x@a.example' to='y@b.example' p:to='y@c.example' "
       "p:from='x@evil.example' id='2'/>",
       NULL},
      {"<message xmlns:p='jabber:server' from='x@a.example' p:to='y@b.example' id='2'/>",
       "improper-addressing"},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    judged_after_a_routed_pair(kCases[i].stanza, kCases[i].error);
  }
}

// RFC 6120 §4.9.3.7: a 'to' whose localpart breaks RFC 7622 §3.3.1 (more
// than 1023 bytes) is improper addressing, also after a stanza of the same
// pair took the fast path.
static void test_rfc7622_3_3_1_overlong_localpart_is_improper_addressing(void **state) {
  char st[1200];
  int n = snprintf(st, sizeof(st), "<message from='x@a.example' to='");
  memset(st + n, 'y', 1024);
  snprintf(st + n + 1024, sizeof(st) - n - 1024, "@b.example' id='2'/>");
  judged_after_a_routed_pair(st, "improper-addressing");
}

// A pair routed before the configuration changed is judged again: once
// b.example is no longer hosted, its next stanza gets host-unknown, as a
// stream's first stanza to it would.
static void test_rfc6120_4_9_3_6_fast_path_judged_again_after_a_config_change(void **state) {
  fixture *f = fx_authenticated();
  feed(f, "<message from='x@a.example' to='y@b.example' id='1'/>");
  assert_int_equal(f->e.routed, 1);
  f->e.unhosted = "b.example";
  fg_s2s_in_config_changed(f->s, 1);
  assert_stream_error(f, feed(f, "<message from='x@a.example' to='y@b.example' id='2'/>"),
                      "host-unknown");
  assert_int_equal(f->e.routed, 1);
  fx_free(f);
}

// fx_plaintext_routed returns fx_plaintext's session with (a.example,
// b.example) authenticated by dialback and one stanza of it routed.
static fixture *fx_plaintext_routed(void) {
  fixture *f = fx_plaintext();
  feed(f, "<db:result from='a.example' to='b.example'>deadbeef</db:result>");
  fg_s2s_in_dialback_answer(f->s, "a.example", "b.example", 1);
  assert_int_equal(feed(f, "<message from='x@a.example' to='y@b.example' id='1'/>"),
                   FG_S2S_IN_CONTINUE);
  assert_int_equal(f->e.routed, 1);
  return f;
}

// RFC 6120 §5.3.1: once a reload requires TLS, a plaintext stream carries
// no further stanza of a domain not exempt from it (policy-violation), the
// pair it routed before included.
static void test_rfc6120_5_3_1_tls_required_by_a_reload_applies_to_the_next_stanza(void **state) {
  fixture *f = fx_plaintext_routed();
  f->e.plaintext_domain = "other.example";  // tls.plaintext_peers after the reload
  fg_s2s_in_config_changed(f->s, 1);
  assert_stream_error(f, feed(f, "<message from='x@a.example' to='y@b.example' id='2'/>"),
                      "policy-violation");
  assert_int_equal(f->e.routed, 1);
  fx_free(f);
}

// RFC 6120 §5.3.1, §5.4.3.3: TLS comes before authentication. A peer that
// authenticated a pair by dialback without TLS and then asks for STARTTLS
// would carry that pair, proved in the clear, over the secured stream: the
// stream ends with policy-violation, and nothing more is routed.
static void test_rfc6120_5_4_3_3_starttls_after_authentication_fails(void **state) {
  fixture *f = fx_plaintext_routed();
  clear(f);
  assert_stream_error(f, feed(f, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
                      "policy-violation");
  assert_null(strstr(f->e.out, "<proceed"));
  feed(f, "<message from='x@a.example' to='y@b.example' id='2'/>");
  assert_int_equal(f->e.routed, 1);
  fx_free(f);
}

// XEP-0220 §2.4 policy-violation: a plaintext exemption belongs to a domain,
// not to the stream whose header named it.
static void test_xep0220_2_4_plaintext_exemption_holds_per_domain_pair(void **state) {
  fixture *f = fx_new_with(0, 1, NULL, "a.example");
  feed(f, HDR);  // from='a.example': exempt, so STARTTLS is offered without <required/>
  assert_out_contains(f, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'></starttls>");
  clear(f);
  feed(f, "<db:result from='other.example' to='b.example'>abcd</db:result>");
  assert_out_contains(f,
                      "<db:result from='b.example' to='other.example' type='error'><error "
                      "type='modify'><policy-violation");
  assert_int_equal(f->e.verify_calls, 0);
  assert_int_equal(f->e.events[FG_S2S_IN_EV_DIALBACK_REFUSED], 1);
  feed(f, "<db:result from='a.example' to='b.example'>abcd</db:result>");
  assert_int_equal(f->e.verify_calls, 1);
  fx_free(f);
}

// XEP-0220 §2.4 not-authorized: dialback switched off is neither offered nor
// accepted, even after TLS.
static void test_xep0220_2_4_dialback_disabled_is_not_offered_nor_accepted(void **state) {
  fixture *f = fx_new_with(1, 0, NULL, NULL);
  f->e.cert_domain = "other.example";
  feed(f, HDR);
  assert_null(strstr(f->e.out, "urn:xmpp:features:dialback"));
  clear(f);
  assert_int_equal(feed(f, "<db:result from='a.example' to='b.example'>abcd</db:result>"),
                   FG_S2S_IN_CONTINUE);
  assert_out_contains(f,
                      "<db:result from='b.example' to='a.example' type='error'><error "
                      "type='auth'><not-authorized");
  assert_int_equal(f->e.verify_calls, 0);
  assert_int_equal(fg_s2s_in_is_authenticated(f->s, "a.example", "b.example"), 0);
  fx_free(f);
}

// Stream ids carry the gateway's tag first (loop detection) and stay
// unpredictable after it.
static void test_stream_ids_start_with_the_gateway_tag(void **state) {
  fg_stream_tag tag = {1, {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02}};
  fixture *f = fx_new_with(0, 1, &tag, NULL);
  fixture *g = fx_new_with(0, 1, &tag, NULL);
  feed(f, HDR);
  feed(g, HDR);
  const char *a = fg_s2s_in_stream_id(f->s), *b = fg_s2s_in_stream_id(g->s);
  assert_int_equal(strlen(a), FG_STREAM_ID_LEN);
  assert_memory_equal(a, "deadbeef0102", 12);
  assert_string_not_equal(a + 12, b + 12);
  assert_true(fg_stream_tag_matches(&tag, (const uint8_t *)a, strlen(a)));
  fg_stream_tag other = {1, {0xde, 0xad, 0xbe, 0xef, 0x01, 0x03}};
  assert_false(fg_stream_tag_matches(&other, (const uint8_t *)a, strlen(a)));
  fg_stream_tag unset = {0};
  assert_false(fg_stream_tag_matches(&unset, (const uint8_t *)a, strlen(a)));
  assert_false(fg_stream_tag_matches(&tag, (const uint8_t *)"deadbeef01", 10));
  fx_free(f);
  fx_free(g);
}

static void test_rfc6120_8_3_undeliverable_stanza_is_bounced(void **state) {
  fixture *f = fx_authenticated();
  f->e.route_result = FG_STANZA_SERVICE_UNAVAILABLE;
  feed(f,
       "<message from='x@a.example/r' to='y@b.example' id='m7' type='chat'><body>x</body>"
       "</message>");
  assert_int_equal(f->e.bounces, 1);
  assert_non_null(strstr(f->e.bounce_buf, "type='error'"));
  assert_non_null(strstr(f->e.bounce_buf, "<service-unavailable"));
  assert_non_null(strstr(f->e.bounce_buf, "to='x@a.example/r'"));
  assert_int_equal(f->e.events[FG_S2S_IN_EV_STANZA_BOUNCED], 1);
  // §8.3.1: an error is never answered with an error.
  feed(f, "<message from='x@a.example' to='y@b.example' type='error'/>");
  assert_int_equal(f->e.bounces, 1);
  assert_int_equal(f->e.events[FG_S2S_IN_EV_STANZA_DROPPED], 1);
  fx_free(f);
}

static void test_rfc6120_4_9_3_24_unsupported_stanza_type(void **state) {
  fixture *f = fx_authenticated();
  assert_stream_error(f, feed(f, "<foo xmlns='urn:example:unknown'/>"), "unsupported-stanza-type");
  fx_free(f);
}

static void test_rfc6120_4_4_close_is_answered(void **state) {
  fixture *f = fx_authenticated();
  assert_int_equal(feed(f, "</stream:stream>"), FG_S2S_IN_CLOSED);
  assert_string_equal(f->e.out, "</stream:stream>");
  fx_free(f);
}

// RFC 6120 §4.4: the side that closes first sends its closing tag, keeps
// processing what the peer still sends, sends nothing more, and the stream
// ends with the peer's closing tag.
static void test_rfc6120_4_4_close_initiated_waits_for_the_peers_close(void **state) {
  fixture *f = fx_authenticated();
  assert_int_equal(fg_s2s_in_can_close(f->s), 1);
  fg_s2s_in_close(f->s);
  assert_string_equal(f->e.out, "</stream:stream>");
  assert_int_equal(fg_s2s_in_is_closing(f->s), 1);
  assert_int_equal(fg_s2s_in_is_closed(f->s), 0);
  assert_int_equal(fg_s2s_in_can_close(f->s), 0);
  fg_s2s_in_close(f->s);  // idempotent: no second closing tag
  clear(f);
  // A stanza already on its way is still routed.
  assert_int_equal(feed(f, "<message from='x@a.example' to='y@b.example'/>"), FG_S2S_IN_CONTINUE);
  assert_int_equal(f->e.routed, 1);
  // The peer's close ends the stream without another closing tag from us.
  assert_int_equal(feed(f, "</stream:stream>"), FG_S2S_IN_CLOSED);
  assert_string_equal(f->e.out, "");
  assert_int_equal(fg_s2s_in_is_closed(f->s), 1);
  fx_free(f);
}

// After our closing tag no stream error can follow (RFC 6120 §4.4 step 2):
// a bad stanza ends the stream silently.
static void test_rfc6120_4_4_nothing_is_sent_after_our_closing_tag(void **state) {
  fixture *f = fx_authenticated();
  fg_s2s_in_close(f->s);
  clear(f);
  assert_int_equal(feed(f, "<message from='x@evil.example' to='y@b.example'/>"), FG_S2S_IN_CLOSED);
  assert_string_equal(f->e.out, "");
  assert_int_equal(f->e.routed, 0);
  fx_free(f);
}

// A stream in the middle of its TLS negotiation is not closed by a drain.
static void test_rfc6120_4_4_no_close_during_starttls(void **state) {
  fixture *f = fx_new(0);
  feed(f, HDR);
  assert_int_equal(fg_s2s_in_can_close(f->s), 1);
  feed(f, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  assert_int_equal(fg_s2s_in_can_close(f->s), 0);
  fx_free(f);
}

static void test_rfc6120_11_parser_errors_become_stream_errors(void **state) {
  fixture *f = fx_authenticated();
  assert_stream_error(f, feed(f, "<message><!-- no --></message>"), "restricted-xml");
  fx_free(f);
  f = fx_new(0);
  assert_stream_error(f, feed(f, "<stream:stream xmlns='jabber:server' <<<"), "not-well-formed");
  assert_out_contains(f, "<stream:stream");  // our header precedes the error
  fx_free(f);
}

static void test_rfc6120_4_3_3_restart_must_keep_addresses(void **state) {
  fixture *f = fx_new(0);
  feed(f, HDR);
  feed(f, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  fg_s2s_in_tls_established(f->s);
  clear(f);
  assert_stream_error(f, feed(f, HDR_TO("c.example", "a.example")), "host-unknown");
  fx_free(f);
}

static void test_rfc6120_4_9_1_1_peer_stream_error_closes_without_answering_error(void **state) {
  fixture *f = fx_authenticated();
  fg_s2s_in_status st = feed(f,
                             "<stream:error><not-authorized "
                             "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
  assert_int_equal(st, FG_S2S_IN_CLOSED);
  assert_string_equal(f->e.out, "</stream:stream>");
  assert_int_equal(f->e.events[FG_S2S_IN_EV_PEER_STREAM_ERROR], 1);
  fx_free(f);
}

static void test_rfc6120_4_9_close_with_error_for_timeouts(void **state) {
  fixture *f = fx_authenticated();
  assert_int_equal(fg_s2s_in_close_with_error(f->s, "connection-timeout", "idle for 600 s"),
                   FG_S2S_IN_CLOSED);
  assert_out_contains(f, "<connection-timeout xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
  assert_out_contains(f, "idle for 600 s");
  fx_free(f);
}

// context_text writes the stream-level namespace declarations of |f| as
// "prefix=uri;" pairs.
static void context_text(fixture *f, char *out, size_t cap) {
  size_t n = 0;
  const fg_xml_nsdecl *d = fg_s2s_in_context(f->s, &n);
  out[0] = 0;
  for (size_t i = 0; i < n; i++) {
    size_t k = strlen(out);
    snprintf(out + k, cap - k, "%.*s=%.*s;", (int)d[i].prefix.len, (const char *)d[i].prefix.data,
             (int)d[i].uri.len, (const char *)d[i].uri.data);
  }
}

// A quiet stream gives its parser back between stanzas and gets one rebuilt
// from its header: the namespace context (RFC 6120 §4.8) and the routing of
// the next stanzas are as before.
static void test_rfc6120_4_8_quiet_stream_parser_given_back_and_rebuilt(void **state) {
  fixture *f = fx_authenticated();
  assert_int_equal(feed(f, "<message from='x@a.example' to='y@b.example' id='1'/>"),
                   FG_S2S_IN_CONTINUE);
  char before[512], after[512];
  context_text(f, before, sizeof(before));
  assert_int_equal(fg_s2s_in_parked(f->s), 0);
  fg_s2s_in_trim(f->s);
  assert_int_equal(fg_s2s_in_parked(f->s), 1);
  fg_s2s_in_trim(f->s);  // twice is harmless
  assert_int_equal(feed(f,
                        "<message from='x@a.example' to='y@b.example' id='2'>"
                        "<db:x xmlns:db='urn:other'/><body>hi</body></message>"),
                   FG_S2S_IN_CONTINUE);
  assert_int_equal(fg_s2s_in_parked(f->s), 0);
  assert_int_equal(f->e.routed, 2);
  context_text(f, after, sizeof(after));
  assert_true(before[0] != 0);
  assert_string_equal(after, before);
  // Still the same checks after the rebuild (RFC 6120 §4.9.3.7).
  assert_stream_error(f, feed(f, "<message from='x@evil.example' to='y@b.example' id='3'/>"),
                      "invalid-from");
  fx_free(f);
}

// A stanza half-read when the stream goes quiet keeps the parser; the rest
// completes it.
static void test_rfc6120_4_8_half_read_stanza_keeps_the_parser(void **state) {
  fixture *f = fx_authenticated();
  assert_int_equal(feed(f, "<message from='x@a.example' to='y@b.example' id='1'><bo"),
                   FG_S2S_IN_CONTINUE);
  fg_s2s_in_trim(f->s);
  assert_int_equal(fg_s2s_in_parked(f->s), 0);
  assert_int_equal(feed(f, "dy>hi</body></message>"), FG_S2S_IN_CONTINUE);
  assert_int_equal(f->e.routed, 1);
  fg_s2s_in_trim(f->s);
  assert_int_equal(fg_s2s_in_parked(f->s), 1);
  fx_free(f);
}

// A rebuilt parser still refuses what the first one refused (RFC 6120 §11).
static void test_rfc6120_11_rebuilt_parser_still_refuses_restricted_xml(void **state) {
  fixture *f = fx_authenticated();
  fg_s2s_in_trim(f->s);
  assert_int_equal(fg_s2s_in_parked(f->s), 1);
  assert_stream_error(f, feed(f, "<message><!-- no --></message>"), "restricted-xml");
  fx_free(f);
}

// A dialback verdict arriving while the parser is given back authenticates
// the pair; the rebuilt parser routes its stanzas (XEP-0220 §2.1.3).
static void test_xep0220_answer_while_parked_then_route(void **state) {
  fixture *f = fx_tls(NULL);
  feed(f, "<db:result from='a.example' to='b.example'>deadbeef</db:result>");
  fg_s2s_in_trim(f->s);
  assert_int_equal(fg_s2s_in_parked(f->s), 1);
  fg_s2s_in_dialback_answer(f->s, "a.example", "b.example", 1);
  assert_int_equal(feed(f, "<message from='x@a.example' to='y@b.example' id='1'/>"),
                   FG_S2S_IN_CONTINUE);
  assert_int_equal(f->e.routed, 1);
  fx_free(f);
}

static int setup(void **state) {
  return fg_dialback_secret_init(&g_secret, (const uint8_t *)"s3cr3t", 6) ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc6120_4_7_header_answered_with_id_and_starttls_required),
      cmocka_unit_test(test_rfc6120_4_8_quiet_stream_parser_given_back_and_rebuilt),
      cmocka_unit_test(test_rfc6120_4_8_half_read_stanza_keeps_the_parser),
      cmocka_unit_test(test_rfc6120_11_rebuilt_parser_still_refuses_restricted_xml),
      cmocka_unit_test(test_xep0220_answer_while_parked_then_route),
      cmocka_unit_test(test_rfc6120_4_7_stream_ids_are_unpredictable),
      cmocka_unit_test(test_rfc6120_4_9_3_6_host_unknown),
      cmocka_unit_test(test_rfc6120_4_9_3_25_unsupported_version),
      cmocka_unit_test(test_rfc6120_4_9_3_14_refused_peer_in_header_is_policy_violation),
      cmocka_unit_test(test_rfc6120_4_9_3_14_refused_domain_in_dialback_is_policy_violation),
      cmocka_unit_test(test_rfc6120_4_9_3_invalid_from_in_header),
      cmocka_unit_test(test_rfc6120_5_3_1_db_result_before_tls_is_policy_violation),
      cmocka_unit_test(test_rfc6120_5_3_1_stanza_before_tls_is_refused),
      cmocka_unit_test(test_rfc6120_5_4_3_3_starttls_discards_pipelined_bytes),
      cmocka_unit_test(test_rfc6120_5_plaintext_peer_may_skip_tls_when_allowed),
      cmocka_unit_test(test_xep0178_external_offered_only_when_certificate_matches),
      cmocka_unit_test(test_xep0178_external_success_restart_and_route),
      cmocka_unit_test(test_rfc6120_8_stanza_routed_by_root_children_on_request),
      cmocka_unit_test(test_rfc6120_4_9_3_6_fast_path_judged_again_after_a_config_change),
      cmocka_unit_test(test_rfc6120_5_3_1_tls_required_by_a_reload_applies_to_the_next_stanza),
      cmocka_unit_test(test_rfc6120_5_4_3_3_starttls_after_authentication_fails),
      cmocka_unit_test(test_rfc7622_3_3_1_overlong_localpart_is_improper_addressing),
      cmocka_unit_test(test_rfc6120_4_9_3_22_jabber_client_stanza_on_s2s_is_not_routed),
      cmocka_unit_test(test_xep0220_route_gets_the_pair_own_copy_of_its_domains),
      cmocka_unit_test(test_rfc7622_3_2_addresses_routed_by_their_decoded_values),
      cmocka_unit_test(test_xep0178_features_held_for_a_lookup),
      cmocka_unit_test(test_xep0178_authzid_must_equal_stream_from),
      cmocka_unit_test(test_rfc6120_6_4_5_sasl_failures_are_bounded),
      cmocka_unit_test(test_rfc6120_6_4_2_external_not_offered_is_invalid_mechanism),
      cmocka_unit_test(test_rfc6120_6_4_3_external_without_initial_response),
      cmocka_unit_test(test_rfc6120_4_9_3_12_stanza_before_auth_is_not_authorized),
      cmocka_unit_test(test_xep0220_dialback_round_trip),
      cmocka_unit_test(test_xep0220_invalid_answer_leaves_pair_unauthenticated),
      cmocka_unit_test(test_xep0220_answer_for_a_pair_never_asked_is_ignored),
      cmocka_unit_test(test_xep0220_unsolicited_verify_answer_is_refused),
      cmocka_unit_test(test_xep0344_certificate_makes_dialback_round_trip_moot),
      cmocka_unit_test(test_xep0220_errors_for_unhosted_target),
      cmocka_unit_test(test_xep0185_authoritative_verify_valid_and_invalid),
      cmocka_unit_test(test_cve_2016_0756_colliding_inputs_do_not_verify),
      cmocka_unit_test(test_rfc6120_4_9_3_invalid_from_unauthenticated_domain),
      cmocka_unit_test(test_rfc6120_4_9_3_host_unknown_stanza_to),
      cmocka_unit_test(test_rfc6120_4_9_3_9_improper_addressing),
      cmocka_unit_test(test_sasl_stream_does_not_authorise_other_hosted_domains),
      cmocka_unit_test(test_rfc6120_4_9_3_7_fast_path_still_checks_the_to_domain),
      cmocka_unit_test(test_rfc6120_4_9_3_7_fast_path_still_checks_the_from_domain),
      cmocka_unit_test(test_xep0220_2_4_plaintext_exemption_holds_per_domain_pair),
      cmocka_unit_test(test_xep0220_2_4_dialback_disabled_is_not_offered_nor_accepted),
      cmocka_unit_test(test_stream_ids_start_with_the_gateway_tag),
      cmocka_unit_test(test_rfc6120_8_3_undeliverable_stanza_is_bounced),
      cmocka_unit_test(test_rfc6120_4_9_3_24_unsupported_stanza_type),
      cmocka_unit_test(test_rfc6120_4_4_close_is_answered),
      cmocka_unit_test(test_rfc6120_4_4_close_initiated_waits_for_the_peers_close),
      cmocka_unit_test(test_rfc6120_4_4_nothing_is_sent_after_our_closing_tag),
      cmocka_unit_test(test_rfc6120_4_4_no_close_during_starttls),
      cmocka_unit_test(test_rfc6120_11_parser_errors_become_stream_errors),
      cmocka_unit_test(test_rfc6120_4_3_3_restart_must_keep_addresses),
      cmocka_unit_test(test_rfc6120_4_9_1_1_peer_stream_error_closes_without_answering_error),
      cmocka_unit_test(test_rfc6120_4_9_close_with_error_for_timeouts),
  };
  return cmocka_run_group_tests_name("gateway/s2s_in", tests, setup, NULL);
}
