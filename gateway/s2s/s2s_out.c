// s2s_out.c: the initiating side of an s2s stream, as a sans-I/O state machine.
#include "gateway/s2s/s2s_out.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/s2s/bidi.h"
#include "gateway/xml/xml_names.h"

enum stage {
  STAGE_IDLE = 0,
  STAGE_HEADER,    // waiting for the peer's header
  STAGE_FEATURES,  // waiting for its features
  STAGE_PROCEED,   // <starttls/> sent
  STAGE_TLS,       // handshake under way
  STAGE_SASL,      // <auth/> sent
  STAGE_DIALBACK,  // <db:result/> sent
  STAGE_SM,        // authenticated, <enable/> sent (XEP-0198 §3)
  STAGE_READY,
  STAGE_CLOSED,
};

enum { kMaxQuestions = 32, kMaxKey = 128, kMaxId = 128 };

typedef struct question {
  char receiving[FG_DOMAIN_MAX + 1], originating[FG_DOMAIN_MAX + 1];
  char id[kMaxId + 1];
  char key[kMaxKey + 1];
  int sent;
} question;

struct fg_s2s_out {
  fg_s2s_out_config cfg;
  char local[FG_DOMAIN_MAX + 1], remote[FG_DOMAIN_MAX + 1];
  const fg_s2s_out_ops *ops;
  void *arg;
  fg_xml_parser *parser;
  enum stage stage;
  int tls, sasl_tried, method;
  char stream_id[kMaxId + 1];
  question q[kMaxQuestions];
  int num_q;
  int ending;      // our </stream:stream> went out (fg_s2s_out_end): the peer's is awaited
  int sm_offered;  // the last features offered XEP-0198
  fg_sm_out sm;
  char sm_id[FG_SM_ID_MAX + 1];  // resume id: the peer's, or the one to resume
  int resuming;                  // <resume/> sent, its answer awaited
  int bidi;                      // <bidi/> sent: the peer may send stanzas back (XEP-0288)
  uint32_t reverse_h;            // XEP-0198 h of those: handled (routed or bounced)
  int dialback_offered;          // some features offered dialback (XEP-0220 §2.1)
  fg_pair_set extra;             // pairs besides local→remote (XEP-0220 §4.3)
  uint32_t headers;              // stream headers received (fg_s2s_out_headers)
};

void fg_s2s_out_config_default(fg_s2s_out_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  fg_xml_limits_default(&cfg->limits);
}

fg_s2s_out *fg_s2s_out_new(const fg_s2s_out_config *cfg, const fg_s2s_out_ops *ops, void *arg) {
  fg_s2s_out *s = calloc(1, sizeof(*s));
  if (s == NULL) return NULL;
  s->cfg = *cfg;
  snprintf(s->local, sizeof(s->local), "%s", cfg->local ? cfg->local : "");
  snprintf(s->remote, sizeof(s->remote), "%s", cfg->remote ? cfg->remote : "");
  s->cfg.local = s->local;
  s->cfg.remote = s->remote;
  s->ops = ops;
  s->arg = arg;
  s->tls = cfg->tls_active;
  fg_sm_out_init(&s->sm, cfg->sm_max_stanzas, cfg->sm_max_bytes);
  fg_pair_set_init(&s->extra, cfg->max_pairs);
  if (cfg->sm_previd != NULL) {
    fg_sm_id_copy(s->sm_id, (const uint8_t *)cfg->sm_previd, strlen(cfg->sm_previd));
  }
  s->cfg.sm_previd = NULL;  // the caller's string need not outlive this call
  fg_xml_config xc;
  fg_xml_config_default(&xc);
  xc.limits = cfg->limits;
  xc.content_ns = FG_XML_NS_SERVER;
  s->parser = fg_xml_parser_new(&xc);
  if (s->parser == NULL) {
    free(s);
    return NULL;
  }
  return s;
}

void fg_s2s_out_free(fg_s2s_out *s) {
  if (s == NULL) return;
  fg_xml_parser_free(s->parser);
  fg_sm_out_cleanup(&s->sm);
  fg_pair_set_cleanup(&s->extra);
  free(s);
}

int fg_s2s_out_is_ready(const fg_s2s_out *s) {
  return s->stage == STAGE_READY ? (s->method ? s->method : -1) : 0;
}

int fg_s2s_out_bidi(const fg_s2s_out *s) {
  return s->bidi;
}

const char *fg_s2s_out_stream_id(const fg_s2s_out *s) {
  return s->stream_id;
}

uint32_t fg_s2s_out_headers(const fg_s2s_out *s) {
  return s->headers;
}

const fg_xml_nsdecl *fg_s2s_out_context(const fg_s2s_out *s, size_t *out_len) {
  if (s->parser == NULL) {
    *out_len = 0;
    return NULL;
  }
  return fg_xml_parser_context(s->parser, out_len);
}

fg_xml_str fg_s2s_out_lang(const fg_s2s_out *s) {
  const fg_xml_stream_header *h = s->parser != NULL ? fg_xml_parser_header(s->parser) : NULL;
  return h != NULL ? h->lang : (fg_xml_str){NULL, 0};
}

static void send_str(fg_s2s_out *s, const char *str) {
  s->ops->send(s->arg, (const uint8_t *)str, strlen(str));
}

static void sendf(fg_s2s_out *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sendf(fg_s2s_out *s, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n > 0 && (size_t)n < sizeof(buf)) s->ops->send(s->arg, (const uint8_t *)buf, (size_t)n);
}

static void send_header(fg_s2s_out *s) {
  sendf(s, FG_S2S_STREAM_OPEN " from='%s' to='%s' version='1.0'>", s->local, s->remote);
  s->stage = STAGE_HEADER;
}

void fg_s2s_out_start(fg_s2s_out *s) {
  if (s->stage == STAGE_IDLE) send_header(s);
}

static fg_s2s_out_status fail(fg_s2s_out *s, const char *condition) {
  if (s->stage == STAGE_CLOSED) return FG_S2S_OUT_CLOSED;
  s->stage = STAGE_CLOSED;
  s->ops->failed(s->arg, condition);
  return FG_S2S_OUT_CLOSED;
}

// fail_with_error closes our stream with a stream error before failing.
static fg_s2s_out_status fail_with_error(fg_s2s_out *s, const char *condition) {
  if (s->stage != STAGE_CLOSED && !s->ending) {
    sendf(s, "<stream:error><%s xmlns='" FG_NS_STREAM_ERRORS "'/></stream:error></stream:stream>",
          condition);
  }
  return fail(s, "protocol");
}

void fg_s2s_out_close(fg_s2s_out *s) {
  if (s->stage == STAGE_CLOSED || s->stage == STAGE_IDLE) return;
  if (!s->ending) send_str(s, "</stream:stream>");
  fail(s, "closed");
}

void fg_s2s_out_end(fg_s2s_out *s) {
  if (s->ending) return;
  if (s->stage != STAGE_READY) {
    fg_s2s_out_close(s);
    return;
  }
  if (s->sm.enabled && s->sm.count > 0) {
    // XEP-0198 §4: the peer answers <r/> before its own close (RFC 6120
    // §4.4 lets it send what it has), so what it handled is known.
    send_str(s, "<r xmlns='" FG_NS_SM "'/>");
    fg_sm_out_requested(&s->sm);
  }
  send_str(s, "</stream:stream>");
  s->ending = 1;
}

static void flush_questions(fg_s2s_out *s) {
  for (int i = 0; i < s->num_q; i++) {
    question *q = &s->q[i];
    if (q->sent) continue;
    sendf(s, "<db:verify from='%s' to='%s' id='%s'>%s</db:verify>", q->receiving, q->originating,
          q->id, q->key);
    q->sent = 1;
  }
}

static void finish_ready(fg_s2s_out *s, int method) {
  s->stage = STAGE_READY;
  s->method = method;
  if (method) fg_xml_parser_set_authenticated(s->parser);
  s->ops->ready(s->arg, method);
  flush_questions(s);
}

// become_ready: the stream is authenticated. XEP-0198 is enabled first
// when both sides want it, so that every stanza is counted from the first.
static void send_enable(fg_s2s_out *s) {
  s->sm_id[0] = 0;
  s->resuming = 0;
  send_str(s, s->cfg.sm_resume ? "<enable xmlns='" FG_NS_SM "' resume='true'/>"
                               : "<enable xmlns='" FG_NS_SM "'/>");
}

static void become_ready(fg_s2s_out *s, int method) {
  if (s->cfg.sm && s->sm_offered && method && s->cfg.purpose == FG_S2S_OUT_STANZAS) {
    s->method = method;
    s->stage = STAGE_SM;
    if (s->sm_id[0]) {
      // §5: h is what we handled of the peer's stanzas: none on a stream
      // we initiated, but those it sent back on a bidirectional one.
      sendf(s, "<resume xmlns='" FG_NS_SM "' previd='%s' h='%lu'/>", s->sm_id,
            (unsigned long)s->cfg.sm_previd_h);
      s->resuming = 1;
    } else {
      send_enable(s);
    }
    return;
  }
  finish_ready(s, method);
}

uint32_t fg_s2s_out_reverse_h(const fg_s2s_out *s) {
  return s->reverse_h;
}

const char *fg_s2s_out_sm_id(const fg_s2s_out *s) {
  return s->sm.enabled ? s->sm_id : "";
}

uint32_t fg_s2s_out_sm_acked(const fg_s2s_out *s) {
  return s->sm.acked;
}

int fg_s2s_out_can_send(const fg_s2s_out *s, size_t len) {
  return s->stage == STAGE_READY && s->cfg.purpose == FG_S2S_OUT_STANZAS && !s->ending &&
         fg_sm_out_has_room(&s->sm, len);
}

int fg_s2s_out_send_stanza(fg_s2s_out *s, const uint8_t *data, size_t len, int tag) {
  if (s->stage != STAGE_READY || s->cfg.purpose != FG_S2S_OUT_STANZAS || s->ending) return 0;
  if (s->sm.enabled && !fg_sm_out_push(&s->sm, data, len, tag)) return 0;
  s->ops->send(s->arg, data, len);
  if (fg_sm_out_should_request(&s->sm, s->cfg.sm_request_every)) fg_s2s_out_request_ack(s);
  return 1;
}

size_t fg_s2s_out_request_ack(fg_s2s_out *s) {
  if (!s->sm.enabled || s->sm.count == 0 || s->stage != STAGE_READY) return s->sm.count;
  send_str(s, "<r xmlns='" FG_NS_SM "'/>");
  fg_sm_out_requested(&s->sm);
  return s->sm.count;
}

int fg_s2s_out_sm_enabled(const fg_s2s_out *s) {
  return s->sm.enabled;
}

size_t fg_s2s_out_unacked(const fg_s2s_out *s) {
  return s->sm.count;
}

fg_sm_item *fg_s2s_out_take_unacked(fg_s2s_out *s) {
  return fg_sm_out_take(&s->sm);
}

static int plain_value(const char *v) {
  for (; *v; v++) {
    if (*v == '<' || *v == '&' || *v == '\'' || *v == '"' || *v == '>') return 0;
  }
  return 1;
}

int fg_s2s_out_verify(fg_s2s_out *s, const char *receiving, const char *originating,
                      const char *stream_id, const uint8_t *key, size_t key_len) {
  if (s->num_q >= kMaxQuestions || key_len > kMaxKey || strlen(stream_id) > kMaxId) return 0;
  question *q = &s->q[s->num_q];
  memset(q, 0, sizeof(*q));
  snprintf(q->receiving, sizeof(q->receiving), "%s", receiving);
  snprintf(q->originating, sizeof(q->originating), "%s", originating);
  snprintf(q->id, sizeof(q->id), "%s", stream_id);
  memcpy(q->key, key, key_len);
  q->key[key_len] = 0;
  if (!plain_value(q->id) || !plain_value(q->key) || !plain_value(q->receiving) ||
      !plain_value(q->originating)) {
    return 0;
  }
  s->num_q++;
  if (s->stage == STAGE_READY) flush_questions(s);
  return 1;
}

// --- negotiation ---

static int offers(const fg_xml_node *features, const char *ns, const char *local) {
  return fg_xml_node_child(features, ns, local) != NULL;
}

static int offers_external(const fg_xml_node *features) {
  const fg_xml_node *mechs = fg_xml_node_child(features, FG_NS_SASL, "mechanisms");
  if (mechs == NULL) return 0;
  for (const fg_xml_node *m = mechs->first_child; m != NULL; m = m->next) {
    if (m->type != FG_XML_NODE_ELEMENT || !fg_xml_str_eq(m->local, "mechanism")) continue;
    const fg_xml_node *t = m->first_child;
    if (t != NULL && t->type == FG_XML_NODE_TEXT && fg_xml_str_eq(t->text, "EXTERNAL")) return 1;
  }
  return 0;
}

static fg_s2s_out_status start_dialback(fg_s2s_out *s) {
  uint8_t key[FG_DIALBACK_KEY_LEN];
  if (s->cfg.dialback_secret == NULL || s->stream_id[0] == 0 ||
      !fg_dialback_key_generate(s->cfg.dialback_secret, key, s->remote, strlen(s->remote), s->local,
                                strlen(s->local), s->stream_id, strlen(s->stream_id))) {
    return fail(s, "auth-failed");
  }
  sendf(s, "<db:result from='%s' to='%s'>%.*s</db:result>", s->local, s->remote,
        FG_DIALBACK_KEY_LEN, (const char *)key);
  s->stage = STAGE_DIALBACK;
  return FG_S2S_OUT_CONTINUE;
}

static fg_s2s_out_status on_features(fg_s2s_out *s, const fg_xml_node *f) {
  s->sm_offered = offers(f, FG_NS_SM, "sm");
  if (offers(f, FG_NS_DIALBACK_FEATURE, "dialback")) s->dialback_offered = 1;
  if (!s->tls) {
    if (offers(f, FG_NS_TLS, "starttls")) {
      send_str(s, "<starttls xmlns='" FG_NS_TLS "'/>");
      s->stage = STAGE_PROCEED;
      return FG_S2S_OUT_CONTINUE;
    }
    if (!s->cfg.allow_plaintext) return fail(s, "tls-unavailable");
  }
  // XEP-0288 §2.2: bidi is requested after TLS and before authentication,
  // and only once (the features after a SASL restart may offer it again).
  if (s->cfg.bidi && s->ops->stanza != NULL && !s->bidi && !s->method &&
      s->cfg.purpose == FG_S2S_OUT_STANZAS && offers(f, FG_NS_BIDI_FEATURE, "bidi")) {
    send_str(s, FG_BIDI_REQUEST);
    s->bidi = 1;
  }
  if (s->cfg.purpose == FG_S2S_OUT_VERIFY || s->method) {
    become_ready(s, s->method);
    return FG_S2S_OUT_CONTINUE;
  }
  if (s->cfg.client_cert && !s->sasl_tried && s->tls && offers_external(f)) {
    // XEP-0178 §3: the authorization identity is our stream's 'from'; "="
    // lets the receiving server derive it from the certificate.
    send_str(s, "<auth xmlns='" FG_NS_SASL "' mechanism='EXTERNAL'>=</auth>");
    s->sasl_tried = 1;
    s->stage = STAGE_SASL;
    return FG_S2S_OUT_CONTINUE;
  }
  return start_dialback(s);
}

// --- further domain pairs (XEP-0220 §4.3) ---

int fg_s2s_out_can_multiplex(const fg_s2s_out *s) {
  return s->stage == STAGE_READY && !s->ending && s->cfg.purpose == FG_S2S_OUT_STANZAS &&
         s->cfg.dialback_secret != NULL && s->stream_id[0] != 0 &&
         (s->dialback_offered || s->method == FG_S2S_AUTH_DIALBACK) &&
         fg_pair_set_count(&s->extra) < s->cfg.max_pairs;
}

int fg_s2s_out_add_pair(fg_s2s_out *s, const char *from, const char *to) {
  uint8_t key[FG_DIALBACK_KEY_LEN];
  if (!fg_s2s_out_can_multiplex(s) || fg_s2s_out_pair_state(s, from, to) != FG_PAIR_NONE ||
      !fg_dialback_key_generate(s->cfg.dialback_secret, key, to, strlen(to), from, strlen(from),
                                s->stream_id, strlen(s->stream_id)) ||
      !fg_pair_set_add(&s->extra, from, to)) {
    return 0;
  }
  // §2.1.1 with the receiving server's id of this very stream (XEP-0185).
  sendf(s, "<db:result from='%s' to='%s'>%.*s</db:result>", from, to, FG_DIALBACK_KEY_LEN,
        (const char *)key);
  return 1;
}

fg_pair_state fg_s2s_out_pair_state(const fg_s2s_out *s, const char *from, const char *to) {
  if (strcmp(from, s->local) == 0 && strcmp(to, s->remote) == 0) {
    return s->stage == STAGE_READY ? FG_PAIR_VALID : FG_PAIR_PENDING;
  }
  return fg_pair_set_state(&s->extra, from, to);
}

size_t fg_s2s_out_pairs(const fg_s2s_out *s) {
  return 1 + fg_pair_set_count(&s->extra);
}

// error_condition copies the condition of a dialback error answer
// (<error type='...'><condition xmlns=stanzas/></error>, XEP-0220 §2.4).
static void error_condition(char *out, size_t cap, const fg_xml_node *el) {
  snprintf(out, cap, "undefined-condition");
  for (const fg_xml_node *e = el->first_child; e != NULL; e = e->next) {
    if (e->type != FG_XML_NODE_ELEMENT || !fg_xml_str_eq(e->local, "error")) continue;
    for (const fg_xml_node *c = e->first_child; c != NULL; c = c->next) {
      if (c->type == FG_XML_NODE_ELEMENT && fg_xml_str_eq(c->ns, FG_NS_STANZA_ERRORS) &&
          !fg_xml_str_eq(c->local, "text")) {
        snprintf(out, cap, "%.*s", (int)c->local.len, (const char *)c->local.data);
        return;
      }
    }
  }
}

// on_pair_answer settles a further pair: valid, invalid or an error. Either
// way the stream goes on (§2.4: a refused pair does not end it).
static fg_s2s_out_status on_pair_answer(fg_s2s_out *s, const fg_xml_node *el, const char *from,
                                        const char *to) {
  fg_xml_str type = fg_xml_node_attr(el, "", "type");
  char cond[64];
  const char *why = NULL;
  if (fg_xml_str_eq(type, "invalid")) {
    why = "invalid";
  } else if (!fg_xml_str_eq(type, "valid")) {
    error_condition(cond, sizeof(cond), el);
    why = cond;
  }
  fg_pair_set_settle(&s->extra, from, to, why == NULL);
  if (s->ops->pair_answer != NULL) s->ops->pair_answer(s->arg, from, to, why);
  return FG_S2S_OUT_CONTINUE;
}

static fg_s2s_out_status on_db(fg_s2s_out *s, const fg_xml_node *el) {
  fg_xml_str type = fg_xml_node_attr(el, "", "type");
  fg_xml_str from = fg_xml_node_attr(el, "", "from"), to = fg_xml_node_attr(el, "", "to");
  char f[FG_DOMAIN_MAX + 1] = "", t[FG_DOMAIN_MAX + 1] = "";
  if (from.data) fg_domain_normalize(f, from.data, from.len);
  if (to.data) fg_domain_normalize(t, to.data, to.len);
  if (fg_xml_str_eq(el->local, "result")) {
    if (fg_pair_set_state(&s->extra, t, f) == FG_PAIR_PENDING) return on_pair_answer(s, el, t, f);
    if (s->stage != STAGE_DIALBACK || strcmp(f, s->remote) || strcmp(t, s->local)) {
      return FG_S2S_OUT_CONTINUE;  // not an answer to our request: ignore
    }
    if (fg_xml_str_eq(type, "valid")) {
      become_ready(s, FG_S2S_AUTH_DIALBACK);
      return FG_S2S_OUT_CONTINUE;
    }
    return fail(s, "dialback-invalid");
  }
  if (!fg_xml_str_eq(el->local, "verify") || type.data == NULL) return FG_S2S_OUT_CONTINUE;
  // XEP-0220 §2.3.2: <db:verify from=originating to=receiving id type/>. It
  // must answer a question asked on this stream (XSF advisory, 2012).
  fg_xml_str id = fg_xml_node_attr(el, "", "id");
  for (int i = 0; i < s->num_q; i++) {
    question *q = &s->q[i];
    if (!q->sent || strcmp(q->originating, f) || strcmp(q->receiving, t) ||
        !fg_xml_str_eq(id, q->id)) {
      continue;
    }
    question done = *q;
    s->q[i] = s->q[--s->num_q];
    s->ops->verify_answer(s->arg, done.receiving, done.originating, done.id,
                          fg_xml_str_eq(type, "valid"));
    return FG_S2S_OUT_CONTINUE;
  }
  return FG_S2S_OUT_CONTINUE;  // unsolicited: dropped
}

static void sm_acked(void *arg, const fg_sm_item *it) {
  fg_s2s_out *s = arg;
  if (s->ops->acked != NULL) s->ops->acked(s->arg, it);
}

// on_sm handles the XEP-0198 elements the receiving side sends back.
static fg_s2s_out_status on_sm(fg_s2s_out *s, const fg_xml_node *r) {
  uint32_t h;
  size_t n;
  switch (fg_sm_classify(r)) {
    case FG_SM_ENABLED: {
      if (s->stage != STAGE_SM || s->resuming) return FG_S2S_OUT_CONTINUE;
      s->sm.enabled = 1;
      fg_xml_str id = fg_xml_node_attr(r, "", "id"), res = fg_xml_node_attr(r, "", "resume");
      if (!(fg_xml_str_eq(res, "true") || fg_xml_str_eq(res, "1")) ||
          !fg_sm_id_copy(s->sm_id, id.data, id.len)) {
        s->sm_id[0] = 0;
      }
      finish_ready(s, s->method);
      return FG_S2S_OUT_CONTINUE;
    }
    case FG_SM_RESUMED: {
      if (s->stage != STAGE_SM || !s->resuming) return FG_S2S_OUT_CONTINUE;
      fg_xml_str previd = fg_xml_node_attr(r, "", "previd");
      if (!fg_sm_parse_h(r, &h) || !fg_xml_str_eq(previd, s->sm_id)) {
        return fail_with_error(s, "invalid-xml");
      }
      // §5: counting goes on from the old stream's h on both sides.
      s->resuming = 0;
      s->sm.enabled = 1;
      s->sm.sent = s->sm.acked = s->sm.requested_at = h;
      s->reverse_h = s->cfg.sm_previd_h;
      if (s->ops->resumed != NULL) s->ops->resumed(s->arg, h);
      finish_ready(s, s->method);
      return FG_S2S_OUT_CONTINUE;
    }
    case FG_SM_FAILED:
      if (s->stage != STAGE_SM) return FG_S2S_OUT_CONTINUE;
      // §5: the old stream is gone for good: enable anew, everything it
      // left unacknowledged is sent again.
      if (s->resuming) {
        send_enable(s);
        return FG_S2S_OUT_CONTINUE;
      }
      // §3: the peer refused; the stream carries stanzas without acks.
      finish_ready(s, s->method);
      return FG_S2S_OUT_CONTINUE;
    case FG_SM_A:
      if (!s->sm.enabled) return FG_S2S_OUT_CONTINUE;
      if (!fg_sm_parse_h(r, &h)) return fail_with_error(s, "invalid-xml");
      // §4: an h above what was sent is the peer's error; what it claims
      // cannot be trusted, so the stanzas stay unacknowledged.
      if (fg_sm_out_ack(&s->sm, h, &n, sm_acked, s) != FG_SM_ACK_OK) {
        return fail_with_error(s, "undefined-condition");
      }
      return FG_S2S_OUT_CONTINUE;
    case FG_SM_R: {
      // Nothing is handled on a stream we initiated (RFC 6120 §4.5), but
      // what the peer sent back on a bidirectional one (XEP-0288).
      char a[FG_SM_A_MAX];
      size_t len = fg_sm_write_a(a, sizeof(a), s->reverse_h);
      if (s->sm.enabled && len) s->ops->send(s->arg, (const uint8_t *)a, len);
      return FG_S2S_OUT_CONTINUE;
    }
    default:
      return FG_S2S_OUT_CONTINUE;
  }
}

// on_reverse_stanza takes a stanza the peer sent back on a bidirectional
// stream (XEP-0288 §2.2).
static fg_s2s_out_status on_reverse_stanza(fg_s2s_out *s, const fg_xml_element *el) {
  // The receiving server may send nothing before we are authenticated
  // (§2.2); until then, RFC 6120 §4.9.3.12 applies to it as to any peer.
  const char *refused = NULL;
  char from[FG_DOMAIN_MAX + 1], to[FG_DOMAIN_MAX + 1];
  if (s->stage != STAGE_READY && s->stage != STAGE_SM) {
    refused = "not-authorized";
  } else {
    fg_bidi_verdict v = fg_bidi_check_reverse(s->local, s->remote, el->from.data, el->from.len,
                                              el->to.data, el->to.len, from, to);
    refused = fg_bidi_verdict_condition(v);
  }
  if (refused != NULL) {
    if (s->ops->refused != NULL) s->ops->refused(s->arg, el, refused);
    return fail_with_error(s, refused);
  }
  refused = s->ops->stanza(s->arg, el, from, to);
  if (refused != NULL) return fail_with_error(s, refused);
  // XEP-0198 §4: handled (routed or bounced), counted once it is enabled.
  if (s->sm.enabled) s->reverse_h++;
  return FG_S2S_OUT_CONTINUE;
}

static fg_s2s_out_status on_element(fg_s2s_out *s) {
  const fg_xml_element *el = fg_xml_parser_element(s->parser);
  const fg_xml_node *r = el->root;
  if (fg_xml_str_eq(r->ns, FG_NS_SM)) return on_sm(s, r);
  // RFC 6120 §4.4: after our closing tag the peer may still send what it
  // has; on a bidirectional stream that includes stanzas.
  if (s->bidi && fg_xml_str_eq(r->ns, FG_XML_NS_SERVER) &&
      (fg_xml_str_eq(r->local, "message") || fg_xml_str_eq(r->local, "presence") ||
       fg_xml_str_eq(r->local, "iq"))) {
    return on_reverse_stanza(s, el);
  }
  if (s->ending) return FG_S2S_OUT_CONTINUE;
  if (fg_xml_str_eq(r->ns, FG_XML_NS_STREAMS)) {
    if (fg_xml_str_eq(r->local, "error")) {
      for (const fg_xml_node *c = r->first_child; c != NULL; c = c->next) {
        if (c->type == FG_XML_NODE_ELEMENT && fg_xml_str_eq(c->ns, FG_NS_STREAM_ERRORS) &&
            !fg_xml_str_eq(c->local, "text")) {
          char cond[64];
          snprintf(cond, sizeof(cond), "%.*s", (int)c->local.len, (const char *)c->local.data);
          return fail(s, cond);
        }
      }
      return fail(s, "undefined-condition");
    }
    if (fg_xml_str_eq(r->local, "features") && s->stage == STAGE_FEATURES) {
      return on_features(s, r);
    }
    return FG_S2S_OUT_CONTINUE;
  }
  if (fg_xml_str_eq(r->ns, FG_NS_TLS) && s->stage == STAGE_PROCEED) {
    if (fg_xml_str_eq(r->local, "proceed")) {
      s->stage = STAGE_TLS;
      return FG_S2S_OUT_STARTTLS;
    }
    return fail(s, "tls-unavailable");
  }
  if (fg_xml_str_eq(r->ns, FG_NS_SASL) && s->stage == STAGE_SASL) {
    if (fg_xml_str_eq(r->local, "success")) {
      s->method = FG_S2S_AUTH_SASL_EXTERNAL;
      fg_xml_parser_reset(s->parser);
      send_header(s);  // RFC 6120 §6.4.6: restart after SASL
      return FG_S2S_OUT_CONTINUE;
    }
    // failure: fall back to dialback when possible (XEP-0178 §4 / XEP-0344).
    return start_dialback(s);
  }
  if (fg_xml_str_eq(r->ns, FG_NS_DIALBACK)) return on_db(s, r);
  // Stanzas on a stream we initiated: s2s streams are one-way (RFC 6120 §4.5)
  // unless made bidirectional.
  return fail_with_error(s, "unsupported-stanza-type");
}

void fg_s2s_out_tls_established(fg_s2s_out *s) {
  if (s->stage != STAGE_TLS) return;
  s->tls = 1;
  fg_xml_parser_reset(s->parser);
  send_header(s);
}

fg_s2s_out_status fg_s2s_out_feed(fg_s2s_out *s, const uint8_t *in, size_t in_len,
                                  size_t *out_used) {
  size_t total = 0;
  fg_s2s_out_status st = FG_S2S_OUT_CONTINUE;
  if (s->stage == STAGE_CLOSED || s->stage == STAGE_TLS) {
    *out_used = 0;
    return s->stage == STAGE_CLOSED ? FG_S2S_OUT_CLOSED : FG_S2S_OUT_STARTTLS;
  }
  while (st == FG_S2S_OUT_CONTINUE && (total < in_len || fg_xml_parser_pending(s->parser))) {
    size_t used = 0;
    fg_xml_event ev = fg_xml_parser_feed(s->parser, &used, in + total, in_len - total);
    total += used;
    switch (ev) {
      case FG_XML_EVENT_NEED_MORE:
        *out_used = total;
        return FG_S2S_OUT_CONTINUE;
      case FG_XML_EVENT_STREAM_OPEN: {
        const fg_xml_stream_header *h = fg_xml_parser_header(s->parser);
        s->headers++;
        if (h->version_major < 1) {
          st = fail_with_error(s, "unsupported-version");
          break;
        }
        snprintf(s->stream_id, sizeof(s->stream_id), "%.*s",
                 h->id.data ? (int)(h->id.len < kMaxId ? h->id.len : kMaxId) : 0,
                 h->id.data ? (const char *)h->id.data : "");
        if (fg_stream_tag_matches(&s->cfg.stream_tag, h->id.data, h->id.len)) {
          // The peer is this gateway (or an instance sharing its tag): a
          // routing loop. Nothing more goes out on this stream.
          send_str(s, "</stream:stream>");
          st = fail(s, "loop");
          break;
        }
        s->stage = STAGE_FEATURES;
        break;
      }
      case FG_XML_EVENT_ELEMENT:
        st = on_element(s);
        break;
      case FG_XML_EVENT_KEEPALIVE:
        break;
      case FG_XML_EVENT_STREAM_CLOSE:
        if (s->stage != STAGE_CLOSED && !s->ending) send_str(s, "</stream:stream>");
        st = fail(s, "closed");
        break;
      case FG_XML_EVENT_ERROR: {
        fg_xml_error e = fg_xml_parser_error(s->parser, NULL);
        st = fail_with_error(s, fg_xml_error_condition(e));
        break;
      }
    }
  }
  *out_used = total;
  return st;
}
