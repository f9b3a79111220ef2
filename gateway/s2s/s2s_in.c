// s2s_in.c: the receiving side of an s2s stream, as a sans-I/O state machine.
#include "gateway/s2s/s2s_in.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/base64.h>
#include <openssl/rand.h>

#include "gateway/s2s/bidi.h"
#include "gateway/s2s/bounce_element.h"
#include "gateway/s2s/header_text.h"
#include "gateway/s2s/sm.h"
#include "gateway/xml/xml_names.h"

enum stage {
  STAGE_HEADER = 0,  // waiting for the (next) stream header
  STAGE_OPEN,        // header answered; negotiating or exchanging stanzas
  STAGE_TLS,         // <proceed/> sent; the transport runs the handshake
  STAGE_CLOSED,
};

typedef struct domain_pair {
  // from: originating domain (the peer); to: receiving domain (hosted here).
  // Both live in one allocation of their own length ("from\0to\0", at
  // |from|): a stream keeps its pairs as long as it lives, mostly idle.
  char *from, *to;
  uint16_t from_len, to_len;
  int method;   // fg_s2s_auth_method once authenticated, else 0
  int pending;  // a dialback verification is under way
} domain_pair;

struct fg_s2s_in {
  fg_s2s_in_config cfg;
  const fg_s2s_in_ops *ops;
  void *arg;
  // parser: NULL while parked, a quiet stream's: it was given back and
  // |parked| holds its stream header as text (fg_header_text), from which a
  // fresh parser is rebuilt when the next byte comes (unpark).
  fg_xml_parser *parser;
  char *parked;
  size_t parked_len;
  int parser_authenticated;  // fg_xml_parser_set_authenticated was called
  int at_boundary;           // the parser holds no half-read element or text
  enum stage stage;
  int tls;            // TLS is active on the connection
  int header_sent;    // our stream header went out
  int sasl_done;      // SASL EXTERNAL succeeded (no second SASL)
  int sasl_offered;   // the last features offered EXTERNAL
  int features_held;  // ops->hold_features asked to wait (fg_s2s_in_send_features)
  int sasl_failures;
  int sasl_await_response;  // EXTERNAL without initial response: challenge sent
  char stream_id[FG_STREAM_ID_LEN + 1];
  // peer: 'from' of the first header, local: its 'to', normalised; kNoName
  // until known, else an allocation of their own length (set_name).
  const char *peer, *local;
  domain_pair *pairs;  // grown on demand: most streams carry one pair
  int num_pairs, cap_pairs;
  // routed_pair: the pair whose stanza last passed every addressing check
  // (-1: none). A stanza whose raw domainparts are byte-equal to that pair's
  // (normalised) domains passes them too: pairs are never withdrawn, and
  // what the gateway's configuration says of them (hosted 'to', a plaintext
  // exemption) is judged again after it changes (fg_s2s_in_config_changed).
  int routed_pair;
  uint32_t headers;  // stream headers received (fg_s2s_in_headers)
  // closing: our </stream:stream> went out (fg_s2s_in_close); the peer's
  // data is still processed until it closes too, but nothing more is sent
  // (RFC 6120 §4.4).
  int closing;
  fg_sm_in sm;                   // XEP-0198 on this stream
  int bidi;                      // the peer enabled XEP-0288 on this stream
  fg_sm_out bidi_sm;             // XEP-0198 for what this side writes on it
  uint64_t bidi_written;         // stanzas this side wrote on it
  char sm_id[FG_SM_ID_MAX + 1];  // its resume id ("": not resumable)
};

void fg_s2s_in_config_default(fg_s2s_in_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  fg_xml_limits_default(&cfg->limits);
  cfg->tls_required = 1;
  cfg->sasl_retries = 2;
  cfg->max_domain_pairs = 64;
  cfg->dialback = 1;
  cfg->bidi_sm_request_every = 16;
}

static const char kNoName[] = "";

// set_name sets |*slot| to a copy of |name| ("": kNoName). It returns 1, or
// 0 out of memory (|*slot| unchanged).
static int set_name(const char **slot, const char *name) {
  char *copy = NULL;
  if (name[0] != 0 && (copy = strndup(name, FG_DOMAIN_MAX)) == NULL) return 0;
  if (*slot != kNoName) free((char *)*slot);
  *slot = copy != NULL ? copy : kNoName;
  return 1;
}

static fg_xml_parser *new_parser(const fg_s2s_in *s) {
  fg_xml_config xc;
  fg_xml_config_default(&xc);
  xc.limits = s->cfg.limits;
  xc.content_ns = FG_XML_NS_SERVER;
  // Stanzas are routed by their root; what reads more asks (on_element).
  xc.root_views = 1;
  return fg_xml_parser_new(&xc);
}

fg_s2s_in *fg_s2s_in_new(const fg_s2s_in_config *cfg, const fg_s2s_in_ops *ops, void *arg) {
  fg_s2s_in *s = calloc(1, sizeof(*s));
  if (s == NULL) return NULL;
  s->peer = s->local = kNoName;
  if (cfg != NULL) {
    s->cfg = *cfg;
  } else {
    fg_s2s_in_config_default(&s->cfg);
  }
  if (s->cfg.max_domain_pairs <= 0) s->cfg.max_domain_pairs = 64;
  if (s->cfg.sasl_retries <= 0) s->cfg.sasl_retries = 2;
  s->ops = ops;
  s->arg = arg;
  s->routed_pair = -1;
  s->tls = s->cfg.tls_active;
  fg_sm_out_init(&s->bidi_sm, s->cfg.bidi_sm_max_stanzas, s->cfg.bidi_sm_max_bytes);
  s->parser = new_parser(s);
  if (s->parser == NULL) {
    fg_s2s_in_free(s);
    return NULL;
  }
  return s;
}

void fg_s2s_in_free(fg_s2s_in *s) {
  if (s == NULL) return;
  fg_sm_out_cleanup(&s->bidi_sm);
  fg_xml_parser_free(s->parser);
  free(s->parked);
  set_name(&s->peer, "");
  set_name(&s->local, "");
  for (int i = 0; i < s->num_pairs; i++) free(s->pairs[i].from);
  free(s->pairs);
  free(s);
}

// kParkedMax bounds the header text a parked stream keeps: a longer header
// (many declarations or attributes) keeps its parser instead.
enum { kParkedMax = 512 };

// park gives the parser of a quiet stream back, keeping its stream header
// as text, when the parser is between elements in an open stream.
static void park(fg_s2s_in *s) {
  const fg_xml_stream_header *h = fg_xml_parser_header(s->parser);
  if (s->stage != STAGE_OPEN || !s->at_boundary || h == NULL || fg_xml_parser_pending(s->parser)) {
    return;
  }
  char text[kParkedMax];
  size_t n = fg_header_text(h, text, sizeof(text));
  char *copy = n > 0 ? malloc(n) : NULL;
  if (copy == NULL) return;  // too long, or out of memory: keep the parser
  memcpy(copy, text, n);
  fg_xml_parser_free(s->parser);
  s->parser = NULL;
  s->parked = copy;
  s->parked_len = n;
}

// unpark rebuilds the parser of a parked stream from its header text: the
// header event is the parser's, not the peer's, so no handler sees it. It
// returns 1, or 0 (out of memory, or a header that does not parse back).
static int unpark(fg_s2s_in *s) {
  fg_xml_parser *p = new_parser(s);
  if (p == NULL) return 0;
  if (s->parser_authenticated) fg_xml_parser_set_authenticated(p);
  size_t used = 0;
  fg_xml_event ev = fg_xml_parser_feed(p, &used, (const uint8_t *)s->parked, s->parked_len);
  if (ev != FG_XML_EVENT_STREAM_OPEN || used != s->parked_len) {
    fg_xml_parser_free(p);
    return 0;
  }
  free(s->parked);
  s->parked = NULL;
  s->parser = p;
  return 1;
}

void fg_s2s_in_trim(fg_s2s_in *s) {
  if (s->parser == NULL) return;  // parked already
  fg_xml_parser_trim(s->parser);
  park(s);
}

void fg_s2s_in_config_changed(fg_s2s_in *s, int tls_required) {
  s->cfg.tls_required = tls_required;
  s->routed_pair = -1;
}

int fg_s2s_in_parked(const fg_s2s_in *s) {
  return s->parser == NULL;
}

const char *fg_s2s_in_stream_id(const fg_s2s_in *s) {
  return s->stream_id;
}

const char *fg_s2s_in_local(const fg_s2s_in *s) {
  return s->local;
}

const char *fg_s2s_in_peer(const fg_s2s_in *s) {
  return s->peer;
}

uint32_t fg_s2s_in_headers(const fg_s2s_in *s) {
  return s->headers;
}

const fg_xml_nsdecl *fg_s2s_in_context(const fg_s2s_in *s, size_t *out_len) {
  if (s->parser == NULL) {  // parked: asked only while stanzas are parsed, never now
    *out_len = 0;
    return NULL;
  }
  return fg_xml_parser_context(s->parser, out_len);
}

fg_xml_str fg_s2s_in_lang(const fg_s2s_in *s) {
  const fg_xml_stream_header *h = s->parser != NULL ? fg_xml_parser_header(s->parser) : NULL;
  return h != NULL ? h->lang : (fg_xml_str){NULL, 0};
}

uint32_t fg_s2s_in_sm_handled(const fg_s2s_in *s, int *out_enabled) {
  *out_enabled = s->sm.enabled;
  return s->sm.h;
}

const char *fg_s2s_in_sm_id(const fg_s2s_in *s) {
  return s->sm_id;
}

int fg_s2s_in_is_closed(const fg_s2s_in *s) {
  return s->stage == STAGE_CLOSED;
}

// --- output ---

static void send_str(fg_s2s_in *s, const char *str) {
  if (s->closing) return;  // RFC 6120 §4.4: nothing after our closing tag
  s->ops->send(s->arg, (const uint8_t *)str, strlen(str));
}

static void sendf(fg_s2s_in *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sendf(fg_s2s_in *s, const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n > 0 && !s->closing)
    s->ops->send(s->arg, (const uint8_t *)buf,
                 (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void event(fg_s2s_in *s, fg_s2s_in_event ev, const char *domain, const char *detail) {
  if (s->ops->event != NULL) s->ops->event(s->arg, ev, domain ? domain : "", detail ? detail : "");
}

static const char kHex[] = "0123456789abcdef";

int fg_stream_tag_matches(const fg_stream_tag *tag, const uint8_t *id, size_t id_len) {
  if (!tag->set || id == NULL || id_len < 2 * FG_STREAM_TAG_LEN) return 0;
  for (size_t i = 0; i < FG_STREAM_TAG_LEN; i++) {
    if (id[2 * i] != kHex[tag->bytes[i] >> 4] || id[2 * i + 1] != kHex[tag->bytes[i] & 15]) {
      return 0;
    }
  }
  return 1;
}

// new_stream_id: the gateway's tag (when set), then random bytes:
// unpredictable, since dialback keys depend on the id.
static void new_stream_id(fg_s2s_in *s) {
  uint8_t raw[FG_STREAM_ID_LEN / 2];
  RAND_bytes(raw, sizeof(raw));
  if (s->cfg.stream_tag.set) memcpy(raw, s->cfg.stream_tag.bytes, FG_STREAM_TAG_LEN);
  for (size_t i = 0; i < sizeof(raw); i++) {
    s->stream_id[2 * i] = kHex[raw[i] >> 4];
    s->stream_id[2 * i + 1] = kHex[raw[i] & 15];
  }
  s->stream_id[FG_STREAM_ID_LEN] = 0;
}

// send_header answers the peer's header (RFC 6120 §4.7): from = the hosted
// domain it asked for, to = the peer's domain, a fresh id.
static void send_header(fg_s2s_in *s) {
  new_stream_id(s);
  char attrs[2 * FG_DOMAIN_MAX + 64] = "";
  size_t n = 0;
  if (s->local[0]) n += (size_t)snprintf(attrs + n, sizeof(attrs) - n, " from='%s'", s->local);
  if (s->peer[0]) snprintf(attrs + n, sizeof(attrs) - n, " to='%s'", s->peer);
  sendf(s, FG_S2S_STREAM_OPEN "%s id='%s' version='1.0'>", attrs, s->stream_id);
  s->header_sent = 1;
}

static void escape_text(char *out, size_t cap, const char *in) {
  size_t o = 0;
  for (; *in && o + 7 < cap; in++) {
    const char *rep = NULL;
    switch (*in) {
      case '<':
        rep = "&lt;";
        break;
      case '>':
        rep = "&gt;";
        break;
      case '&':
        rep = "&amp;";
        break;
      case '\'':
        rep = "&apos;";
        break;
      case '"':
        rep = "&quot;";
        break;
    }
    if (rep != NULL) {
      memcpy(out + o, rep, strlen(rep));
      o += strlen(rep);
    } else {
      out[o++] = *in;
    }
  }
  out[o] = 0;
}

int fg_s2s_in_can_close(const fg_s2s_in *s) {
  return s->stage == STAGE_OPEN && !s->closing;
}

int fg_s2s_in_is_closing(const fg_s2s_in *s) {
  return s->closing;
}

void fg_s2s_in_close(fg_s2s_in *s) {
  if (s->stage == STAGE_CLOSED || s->closing) return;
  if (!s->header_sent) send_header(s);
  send_str(s, "</stream:stream>");
  s->closing = 1;
}

fg_s2s_in_status fg_s2s_in_close_with_error(fg_s2s_in *s, const char *condition, const char *text) {
  if (s->stage == STAGE_CLOSED) return FG_S2S_IN_CLOSED;
  if (s->closing) {  // our stream is closed already: no error can follow it
    s->stage = STAGE_CLOSED;
    return FG_S2S_IN_CLOSED;
  }
  // RFC 6120 §4.9.1.2: an error before our header still opens our stream first.
  if (!s->header_sent) send_header(s);
  if (text != NULL && text[0]) {
    char esc[512];
    escape_text(esc, sizeof(esc), text);
    sendf(s,
          "<stream:error><%s xmlns='" FG_NS_STREAM_ERRORS "'/><text xmlns='" FG_NS_STREAM_ERRORS
          "'>%s</text></stream:error></stream:stream>",
          condition, esc);
  } else {
    sendf(s, "<stream:error><%s xmlns='" FG_NS_STREAM_ERRORS "'/></stream:error></stream:stream>",
          condition);
  }
  event(s, FG_S2S_IN_EV_STREAM_ERROR_SENT, s->peer, condition);
  s->stage = STAGE_CLOSED;
  return FG_S2S_IN_CLOSED;
}

// --- domain pairs ---

static domain_pair *find_pair(fg_s2s_in *s, const char *from, const char *to) {
  for (int i = 0; i < s->num_pairs; i++) {
    if (strcmp(s->pairs[i].from, from) == 0 && strcmp(s->pairs[i].to, to) == 0) {
      return &s->pairs[i];
    }
  }
  return NULL;
}

static domain_pair *add_pair(fg_s2s_in *s, const char *from, const char *to) {
  domain_pair *p = find_pair(s, from, to);
  if (p != NULL) return p;
  if (s->num_pairs >= s->cfg.max_domain_pairs) return NULL;
  if (s->num_pairs == s->cap_pairs) {
    int cap = s->cap_pairs ? s->cap_pairs * 2 : 1;
    if (cap > s->cfg.max_domain_pairs) cap = s->cfg.max_domain_pairs;
    domain_pair *grown = realloc(s->pairs, (size_t)cap * sizeof(domain_pair));
    if (grown == NULL) return NULL;
    s->pairs = grown;
    s->cap_pairs = cap;
  }
  size_t from_len = strnlen(from, FG_DOMAIN_MAX), to_len = strnlen(to, FG_DOMAIN_MAX);
  char *names = malloc(from_len + to_len + 2);
  if (names == NULL) return NULL;
  p = &s->pairs[s->num_pairs++];
  memset(p, 0, sizeof(*p));
  p->from = names;
  p->to = names + from_len + 1;
  memcpy(p->from, from, from_len);
  p->from[from_len] = 0;
  memcpy(p->to, to, to_len);
  p->to[to_len] = 0;
  p->from_len = (uint16_t)from_len;
  p->to_len = (uint16_t)to_len;
  return p;
}

static const char *method_name(int m) {
  switch (m) {
    case FG_S2S_AUTH_SASL_EXTERNAL:
      return "sasl-external";
    case FG_S2S_AUTH_DIALBACK:
      return "dialback";
    case FG_S2S_AUTH_DIALBACK_CERT:
      return "dialback-certificate";
  }
  return "none";
}

static void authenticate(fg_s2s_in *s, domain_pair *p, int method) {
  p->method = method;
  p->pending = 0;
  s->parser_authenticated = 1;
  if (s->parser != NULL) fg_xml_parser_set_authenticated(s->parser);  // else at unpark
  event(s, FG_S2S_IN_EV_AUTHENTICATED, p->from, method_name(method));
}

const char *fg_s2s_in_pair_from(const fg_s2s_in *s, size_t i) {
  return i < (size_t)s->num_pairs ? s->pairs[i].from : NULL;
}

int fg_s2s_in_is_authenticated(const fg_s2s_in *s, const char *from, const char *to) {
  for (int i = 0; i < s->num_pairs; i++) {
    const domain_pair *p = &s->pairs[i];
    if (p->method && strcmp(p->from, from) == 0 && strcmp(p->to, to) == 0) return p->method;
  }
  return 0;
}

static int any_authenticated(const fg_s2s_in *s) {
  for (int i = 0; i < s->num_pairs; i++) {
    if (s->pairs[i].method) return 1;
  }
  return 0;
}

static int from_authenticated(const fg_s2s_in *s, const char *from) {
  for (int i = 0; i < s->num_pairs; i++) {
    if (s->pairs[i].method && strcmp(s->pairs[i].from, from) == 0) return 1;
  }
  return 0;
}

// --- stream header ---

// plaintext_allowed_for says whether |domain| may use this stream without
// TLS. Exemptions (tls.plaintext_peers) hold per authenticated domain: the
// header's 'from' only decides what the stream offers, never which domains it
// may carry.
static int plaintext_allowed_for(fg_s2s_in *s, const char *domain) {
  if (s->tls || !s->cfg.tls_required) return 1;
  return domain[0] != 0 && s->ops->plaintext_allowed != NULL &&
         s->ops->plaintext_allowed(s->arg, domain);
}

// tls_mandatory: nothing but STARTTLS is accepted until TLS is up (the
// header's 'from' is not exempt).
static int tls_mandatory(fg_s2s_in *s) {
  return !plaintext_allowed_for(s, s->peer);
}

static void send_features(fg_s2s_in *s) {
  char buf[1024];
  size_t n = (size_t)snprintf(buf, sizeof(buf), "<stream:features>");
  s->sasl_offered = 0;
  if (!s->tls) {
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "<starttls xmlns='" FG_NS_TLS "'>%s</starttls>",
                          tls_mandatory(s) ? "<required/>" : "");
  } else if (!s->sasl_done && s->peer[0] && s->ops->cert_valid_for != NULL &&
             s->ops->cert_valid_for(s->arg, s->peer)) {
    // XEP-0178 §3: offer EXTERNAL only when the certificate proves 'from'.
    n += (size_t)snprintf(buf + n, sizeof(buf) - n,
                          "<mechanisms xmlns='" FG_NS_SASL
                          "'><mechanism>EXTERNAL</mechanism>"
                          "</mechanisms>");
    s->sasl_offered = 1;
  }
  if (s->cfg.dialback && !tls_mandatory(s)) {
    n += (size_t)snprintf(buf + n, sizeof(buf) - n,
                          "<dialback xmlns='" FG_NS_DIALBACK_FEATURE "'><errors/></dialback>");
  }
  // XEP-0198 §2: offered once the stream is secured; <enable/> is accepted
  // only after authentication (on_sm), which dialback may complete later on
  // this very stream, without another features element.
  if (s->cfg.sm && !s->sm.enabled && (s->tls || !tls_mandatory(s))) {
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "<sm xmlns='" FG_NS_SM "'/>");
  }
  // XEP-0288 §2.1: offered before and after TLS; §2.1 also wants STARTTLS
  // completed first when TLS is used, which tls_mandatory enforces.
  if (s->cfg.bidi && !s->bidi && (s->tls || !tls_mandatory(s))) {
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, FG_BIDI_FEATURE);
  }
  snprintf(buf + n, sizeof(buf) - n, "</stream:features>");
  send_str(s, buf);
}

// refused closes the stream with policy-violation (RFC 6120 §4.9.3.14) and
// returns 1 when the gateway's policy refuses |domain|.
static int refused(fg_s2s_in *s, const char *domain) {
  char why[256] = "";
  if (s->ops->peer_refused == NULL || !s->ops->peer_refused(s->arg, domain, why, sizeof(why))) {
    return 0;
  }
  char text[400];
  snprintf(text, sizeof(text), "%s is not accepted here: %s", domain, why);
  fg_s2s_in_close_with_error(s, "policy-violation", text);
  return 1;
}

static fg_s2s_in_status on_header(fg_s2s_in *s) {
  s->headers++;
  const fg_xml_stream_header *h = fg_xml_parser_header(s->parser);
  char to[FG_DOMAIN_MAX + 1] = "", from[FG_DOMAIN_MAX + 1] = "";
  int restart = s->header_sent;
  // Addresses first, so that our header (and any error) names the right domains.
  if (h->from.data != NULL && !fg_domain_normalize(from, h->from.data, h->from.len)) {
    return fg_s2s_in_close_with_error(s, "invalid-from", "the stream's 'from' is not a domain");
  }
  int had_peer = s->peer[0] != 0, named = 1;
  if (h->to.data != NULL && fg_domain_normalize(to, h->to.data, h->to.len) && !restart) {
    named = set_name(&s->local, to);
  }
  // A peer may name itself only after TLS (its first header had no 'from').
  if (!restart || !had_peer) named = set_name(&s->peer, from) && named;
  send_header(s);
  if (!named) {
    return fg_s2s_in_close_with_error(s, "resource-constraint", "out of memory for its domains");
  }
  // RFC 6120 §4.7.5: version 1.0 is what both sides must speak.
  if (h->version_major < 1) {
    return fg_s2s_in_close_with_error(s, "unsupported-version", "version='1.0' is required");
  }
  if (h->to.data == NULL || to[0] == 0 || !s->ops->is_hosted(s->arg, to)) {
    return fg_s2s_in_close_with_error(s, "host-unknown", "this gateway does not serve that domain");
  }
  // RFC 6120 §4.3.3: a restarted stream keeps its addresses.
  if (restart && (strcmp(to, s->local) != 0 || (had_peer && strcmp(from, s->peer) != 0))) {
    return fg_s2s_in_close_with_error(s, strcmp(to, s->local) ? "host-unknown" : "invalid-from",
                                      "the addresses changed on stream restart");
  }
  if (s->peer[0] && refused(s, s->peer)) return FG_S2S_IN_CLOSED;
  s->stage = STAGE_OPEN;
  // What to offer over TLS may need an answer the gateway looks up first
  // (POSH for the peer's domain); the peer waits for the features anyway.
  if (s->tls && !s->sasl_done && s->peer[0] && s->ops->hold_features != NULL &&
      s->ops->hold_features(s->arg, s->peer)) {
    s->features_held = 1;
    return FG_S2S_IN_CONTINUE;
  }
  send_features(s);
  return FG_S2S_IN_CONTINUE;
}

void fg_s2s_in_send_features(fg_s2s_in *s) {
  if (!s->features_held || s->stage == STAGE_CLOSED) return;
  s->features_held = 0;
  send_features(s);
}

// --- STARTTLS (RFC 6120 §5.4) ---

static fg_s2s_in_status on_starttls(fg_s2s_in *s) {
  // §5.3.1: TLS comes before authentication. After it, the secured stream
  // would carry pairs proved in the clear (§5.4.3.3: what was learnt before
  // TLS is not to be trusted after it).
  if (!s->tls && any_authenticated(s)) {
    return fg_s2s_in_close_with_error(s, "policy-violation",
                                      "STARTTLS after authentication (RFC 6120 5.3.1)");
  }
  if (s->tls) {
    // §5.4.2.2: failure, then close.
    send_str(s, "<failure xmlns='" FG_NS_TLS "'/></stream:stream>");
    s->stage = STAGE_CLOSED;
    return FG_S2S_IN_CLOSED;
  }
  send_str(s, "<proceed xmlns='" FG_NS_TLS "'/>");
  s->stage = STAGE_TLS;
  return FG_S2S_IN_STARTTLS;
}

void fg_s2s_in_tls_established(fg_s2s_in *s) {
  if (s->stage != STAGE_TLS) return;
  s->tls = 1;
  s->stage = STAGE_HEADER;
  fg_xml_parser_reset(s->parser);
}

// --- SASL EXTERNAL (RFC 6120 §6, XEP-0178) ---

static fg_s2s_in_status sasl_failure(fg_s2s_in *s, const char *condition) {
  sendf(s, "<failure xmlns='" FG_NS_SASL "'><%s/></failure>", condition);
  event(s, FG_S2S_IN_EV_SASL_FAILURE, s->peer, condition);
  s->sasl_await_response = 0;
  if (++s->sasl_failures > s->cfg.sasl_retries) {
    return fg_s2s_in_close_with_error(s, "policy-violation", "too many failed SASL attempts");
  }
  return FG_S2S_IN_CONTINUE;
}

// sasl_external checks the initial response: empty ("=") or base64 of an
// authorization identity that must equal the stream's 'from' (XEP-0178 §3).
static fg_s2s_in_status sasl_external(fg_s2s_in *s, fg_xml_str payload) {
  uint8_t authzid[FG_DOMAIN_MAX + 8];
  size_t authzid_len = 0;
  size_t plen = payload.data ? payload.len : 0;
  // Whitespace around the base64 text is allowed.
  const uint8_t *p = payload.data;
  while (plen > 0 && (p[0] == ' ' || p[0] == '\n' || p[0] == '\r' || p[0] == '\t')) p++, plen--;
  while (plen > 0 &&
         (p[plen - 1] == ' ' || p[plen - 1] == '\n' || p[plen - 1] == '\r' || p[plen - 1] == '\t'))
    plen--;
  if (!(plen == 1 && p[0] == '=') && plen > 0) {
    size_t max = 0;
    if (!EVP_DecodedLength(&max, plen) || max > sizeof(authzid) ||
        !EVP_DecodeBase64(authzid, &authzid_len, sizeof(authzid), p, plen)) {
      return sasl_failure(s, "incorrect-encoding");
    }
    char want[FG_DOMAIN_MAX + 1];
    if (!fg_domain_normalize(want, authzid, authzid_len) || strcmp(want, s->peer) != 0) {
      return sasl_failure(s, "invalid-authzid");
    }
  }
  if (!s->ops->cert_valid_for(s->arg, s->peer)) return sasl_failure(s, "not-authorized");
  domain_pair *pair = add_pair(s, s->peer, s->local);
  if (pair == NULL) return sasl_failure(s, "temporary-auth-failure");
  send_str(s, "<success xmlns='" FG_NS_SASL "'/>");
  authenticate(s, pair, FG_S2S_AUTH_SASL_EXTERNAL);
  s->sasl_done = 1;
  s->stage = STAGE_HEADER;  // §6.4.6: the peer restarts the stream
  fg_xml_parser_reset(s->parser);
  return FG_S2S_IN_CONTINUE;
}

static fg_s2s_in_status on_sasl(fg_s2s_in *s, const fg_xml_node *el) {
  if (fg_xml_str_eq(el->local, "abort")) {
    s->sasl_await_response = 0;
    return sasl_failure(s, "aborted");
  }
  if (fg_xml_str_eq(el->local, "response") && s->sasl_await_response) {
    s->sasl_await_response = 0;
    const fg_xml_node *t = el->first_child;
    fg_xml_str text = {(const uint8_t *)"=", 1};
    if (t != NULL && t->type == FG_XML_NODE_TEXT && t->text.len > 0) text = t->text;
    return sasl_external(s, text);
  }
  if (!fg_xml_str_eq(el->local, "auth")) {
    return fg_s2s_in_close_with_error(s, "unsupported-stanza-type", NULL);
  }
  if (!s->tls || s->sasl_done || !s->sasl_offered || s->peer[0] == 0) {
    // §6.4.2 / XEP-0178: EXTERNAL was not offered on this stream.
    return sasl_failure(s, "invalid-mechanism");
  }
  fg_xml_str mech = fg_xml_node_attr(el, "", "mechanism");
  if (!fg_xml_str_eq(mech, "EXTERNAL")) return sasl_failure(s, "invalid-mechanism");
  const fg_xml_node *t = el->first_child;
  if (t == NULL || t->type != FG_XML_NODE_TEXT || t->text.len == 0) {
    // No initial response: an empty challenge asks for it (§6.4.3).
    send_str(s, "<challenge xmlns='" FG_NS_SASL "'/>");
    s->sasl_await_response = 1;
    return FG_S2S_IN_CONTINUE;
  }
  return sasl_external(s, t->text);
}

// --- dialback (XEP-0220) ---

static void dialback_error(fg_s2s_in *s, const char *from, const char *to, const char *type,
                           const char *condition) {
  sendf(s,
        "<db:result from='%s' to='%s' type='error'><error type='%s'><%s xmlns='" FG_NS_STANZA_ERRORS
        "'/></error></db:result>",
        to, from, type, condition);
}

static fg_s2s_in_status on_db_result(fg_s2s_in *s, const fg_xml_node *el) {
  if (fg_xml_node_attr(el, "", "type").data != NULL) {
    // A result answer flows the other way; on an inbound stream it is noise.
    event(s, FG_S2S_IN_EV_DIALBACK_UNSOLICITED, s->peer, "db:result with type");
    return fg_s2s_in_close_with_error(s, "policy-violation",
                                      "dialback result answer on an inbound stream");
  }
  fg_xml_str from_s = fg_xml_node_attr(el, "", "from"), to_s = fg_xml_node_attr(el, "", "to");
  char from[FG_DOMAIN_MAX + 1], to[FG_DOMAIN_MAX + 1];
  if (from_s.data == NULL || !fg_domain_normalize(from, from_s.data, from_s.len)) {
    return fg_s2s_in_close_with_error(s, "invalid-from", "db:result without a valid 'from'");
  }
  if (to_s.data == NULL || !fg_domain_normalize(to, to_s.data, to_s.len)) {
    return fg_s2s_in_close_with_error(s, "improper-addressing", "db:result without a valid 'to'");
  }
  // XEP-0220 §2.4 / §4.2: errors for a target we do not serve.
  if (!s->ops->is_hosted(s->arg, to)) {
    dialback_error(s, from, to, "cancel", "item-not-found");
    return FG_S2S_IN_CONTINUE;
  }
  if (refused(s, from)) return FG_S2S_IN_CLOSED;
  // XEP-0220 §2.4: dialback is off here (dialback.enabled: false): the
  // peer must prove the domain with a certificate (SASL EXTERNAL).
  if (!s->cfg.dialback) {
    dialback_error(s, from, to, "auth", "not-authorized");
    event(s, FG_S2S_IN_EV_DIALBACK_REFUSED, from, "dialback is disabled");
    return FG_S2S_IN_CONTINUE;
  }
  // XEP-0220 §2.4: TLS is required before dialback for every domain that is
  // not exempt, whatever the stream header claimed.
  if (!plaintext_allowed_for(s, from)) {
    dialback_error(s, from, to, "modify", "policy-violation");
    event(s, FG_S2S_IN_EV_DIALBACK_REFUSED, from, "TLS is required for this domain");
    return FG_S2S_IN_CONTINUE;
  }
  const fg_xml_node *t = el->first_child;
  if (t == NULL || t->type != FG_XML_NODE_TEXT || t->text.len == 0 || t->text.len > 1024) {
    dialback_error(s, from, to, "modify", "bad-request");
    return FG_S2S_IN_CONTINUE;
  }
  domain_pair *pair = find_pair(s, from, to);
  if (pair != NULL && pair->method) {
    sendf(s, "<db:result from='%s' to='%s' type='valid'/>", to, from);
    return FG_S2S_IN_CONTINUE;
  }
  if (pair != NULL && pair->pending) return FG_S2S_IN_CONTINUE;  // one question at a time
  pair = add_pair(s, from, to);
  if (pair == NULL) {
    dialback_error(s, from, to, "wait", "resource-constraint");
    return FG_S2S_IN_CONTINUE;
  }
  // XEP-0344 §2.3: a certificate valid for 'from' makes the round trip moot.
  if (s->tls && s->ops->cert_valid_for != NULL && s->ops->cert_valid_for(s->arg, from)) {
    authenticate(s, pair, FG_S2S_AUTH_DIALBACK_CERT);
    sendf(s, "<db:result from='%s' to='%s' type='valid'/>", to, from);
    return FG_S2S_IN_CONTINUE;
  }
  pair->pending = 1;
  if (s->ops->dialback_verify == NULL ||
      !s->ops->dialback_verify(s->arg, from, to, t->text.data, t->text.len, s->stream_id)) {
    pair->pending = 0;
    dialback_error(s, from, to, "cancel", "remote-server-not-found");
  }
  return FG_S2S_IN_CONTINUE;
}

void fg_s2s_in_dialback_answer(fg_s2s_in *s, const char *originating, const char *receiving,
                               int valid) {
  if (s->stage == STAGE_CLOSED) return;
  domain_pair *pair = find_pair(s, originating, receiving);
  if (pair == NULL || !pair->pending) {
    event(s, FG_S2S_IN_EV_DIALBACK_UNSOLICITED, originating, "answer without a question");
    return;
  }
  pair->pending = 0;
  if (valid) {
    authenticate(s, pair, FG_S2S_AUTH_DIALBACK);
    sendf(s, "<db:result from='%s' to='%s' type='valid'/>", receiving, originating);
  } else {
    // XEP-0220 §2.4: invalid; the pair stays unauthenticated, others may go on.
    sendf(s, "<db:result from='%s' to='%s' type='invalid'/>", receiving, originating);
    event(s, FG_S2S_IN_EV_DIALBACK_INVALID, originating, receiving);
  }
}

// on_db_verify answers as the authoritative server (XEP-0220 §2.3.2): is the
// key one we issued for (receiving = 'from', originating = 'to', id)?
static fg_s2s_in_status on_db_verify(fg_s2s_in *s, const fg_xml_node *el) {
  fg_xml_str type = fg_xml_node_attr(el, "", "type");
  if (type.data != NULL) {
    // An answer: we never ask questions on streams we did not open, so this
    // can only be an attempt to inject a verdict (XSF advisory, 2012).
    event(s, FG_S2S_IN_EV_DIALBACK_UNSOLICITED, s->peer, "db:verify answer on an inbound stream");
    return fg_s2s_in_close_with_error(s, "policy-violation",
                                      "unsolicited dialback verification answer");
  }
  fg_xml_str from_s = fg_xml_node_attr(el, "", "from"), to_s = fg_xml_node_attr(el, "", "to");
  fg_xml_str id = fg_xml_node_attr(el, "", "id");
  char receiving[FG_DOMAIN_MAX + 1], originating[FG_DOMAIN_MAX + 1];
  if (from_s.data == NULL || !fg_domain_normalize(receiving, from_s.data, from_s.len)) {
    return fg_s2s_in_close_with_error(s, "invalid-from", "db:verify without a valid 'from'");
  }
  if (to_s.data == NULL || !fg_domain_normalize(originating, to_s.data, to_s.len)) {
    return fg_s2s_in_close_with_error(s, "improper-addressing", "db:verify without a valid 'to'");
  }
  char id_c[1025] = "";
  if (id.data != NULL && id.len < sizeof(id_c)) {
    memcpy(id_c, id.data, id.len);
    id_c[id.len] = 0;
  }
  if (!s->ops->is_hosted(s->arg, originating)) {
    sendf(s,
          "<db:verify from='%s' to='%s' id='%s' type='error'><error type='cancel'><item-not-found "
          "xmlns='" FG_NS_STANZA_ERRORS "'/></error></db:verify>",
          originating, receiving, id_c[0] ? id_c : "none");
    return FG_S2S_IN_CONTINUE;
  }
  const fg_xml_node *t = el->first_child;
  int valid = 0;
  if (s->cfg.dialback_secret != NULL && t != NULL && t->type == FG_XML_NODE_TEXT && id_c[0]) {
    valid =
        fg_dialback_key_verify(s->cfg.dialback_secret, receiving, strlen(receiving), originating,
                               strlen(originating), id_c, strlen(id_c), t->text.data, t->text.len);
  }
  // The id is echoed only when it is plain enough to write back unescaped.
  for (const char *c = id_c; *c; c++) {
    if (*c == '\'' || *c == '<' || *c == '&' || *c == '"' || *c == '>') {
      id_c[0] = 0;
      valid = 0;
      break;
    }
  }
  sendf(s, "<db:verify from='%s' to='%s' id='%s' type='%s'/>", originating, receiving, id_c,
        valid ? "valid" : "invalid");
  event(s, FG_S2S_IN_EV_DIALBACK_VERIFY_ANSWERED, receiving, valid ? "valid" : "invalid");
  return FG_S2S_IN_CONTINUE;
}

// --- stanzas (RFC 6120 §8, §13.12 rules on authorisation) ---

static void bounce(fg_s2s_in *s, const fg_xml_element *el, fg_stanza_condition cond,
                   const char *from_domain) {
  uint8_t buf[4096];
  size_t len = 0;
  fg_bounce_verdict v = fg_bounce_element(buf, &len, sizeof(buf), el, cond);
  if (v != FG_BOUNCE_OK) {
    event(s, FG_S2S_IN_EV_STANZA_DROPPED, from_domain, fg_bounce_verdict_name(v));
    return;
  }
  char local[FG_DOMAIN_MAX + 1] = "";
  fg_jid_domain(local, el->to.data, el->to.len);
  if (s->ops->bounce != NULL) s->ops->bounce(s->arg, buf, len, local, from_domain);
  event(s, FG_S2S_IN_EV_STANZA_BOUNCED, from_domain, fg_stanza_condition_name(cond));
}

static fg_s2s_in_status route(fg_s2s_in *s, const fg_xml_element *el, const char *from,
                              const char *to) {
  fg_stanza_condition cond = s->ops->route(s->arg, el, from, to);
  // XEP-0198 §4: handled means the gateway took responsibility for it: on
  // its way to the backend, or answered with an error.
  fg_sm_in_count(&s->sm);
  if (cond == FG_STANZA_CONDITION_COUNT) {
    event(s, FG_S2S_IN_EV_STANZA_ROUTED, from, "");
  } else {
    bounce(s, el, cond, from);
  }
  return FG_S2S_IN_CONTINUE;
}

// routed_again returns the pair of the last stanza that passed every
// addressing check when |el|'s domainparts are exactly its domains (the
// common case: a stream carries one pair), else NULL.
static const domain_pair *routed_again(const fg_s2s_in *s, const fg_xml_element *el) {
  if (s->routed_pair < 0) return NULL;
  const domain_pair *p = &s->pairs[s->routed_pair];
  size_t fs, fl, ts, tl;
  if (!fg_jid_domain_span(el->from.data, el->from.len, &fs, &fl) ||
      !fg_jid_domain_span(el->to.data, el->to.len, &ts, &tl)) {
    return NULL;
  }
  if (fl != p->from_len || tl != p->to_len || memcmp(el->from.data + fs, p->from, fl) != 0 ||
      memcmp(el->to.data + ts, p->to, tl) != 0) {
    return NULL;
  }
  return p;
}

static fg_s2s_in_status on_stanza(fg_s2s_in *s, const fg_xml_element *el) {
  // §4.9.3.12: nothing is processed before the stream is authenticated.
  if (!any_authenticated(s)) {
    if (tls_mandatory(s)) {
      return fg_s2s_in_close_with_error(s, "policy-violation", "STARTTLS is required");
    }
    return fg_s2s_in_close_with_error(s, "not-authorized", "the stream is not authenticated");
  }
  char from[FG_DOMAIN_MAX + 1], to[FG_DOMAIN_MAX + 1];
  if (el->from.data == NULL || el->to.data == NULL) {
    return fg_s2s_in_close_with_error(s, "improper-addressing",
                                      "stanzas between servers need 'to' and 'from'");
  }
  const domain_pair *same = routed_again(s, el);
  if (same != NULL) return route(s, el, same->from, same->to);
  if (!fg_jid_domain(from, el->from.data, el->from.len) || !from_authenticated(s, from)) {
    return fg_s2s_in_close_with_error(s, "invalid-from",
                                      "'from' is not a domain authenticated on this stream");
  }
  if (!fg_jid_domain(to, el->to.data, el->to.len)) {
    return fg_s2s_in_close_with_error(s, "improper-addressing", "'to' is not a valid address");
  }
  if (!s->ops->is_hosted(s->arg, to)) {
    return fg_s2s_in_close_with_error(s, "host-unknown", "'to' is not served by this gateway");
  }
  if (!fg_s2s_in_is_authenticated(s, from, to)) {
    return fg_s2s_in_close_with_error(s, "invalid-from",
                                      "'from' is not authenticated for this 'to' domain");
  }
  if (!plaintext_allowed_for(s, from)) {
    // RFC 6120 §5.3.1: never carry a pair without TLS that may not skip it.
    return fg_s2s_in_close_with_error(s, "policy-violation", "TLS is required for this domain");
  }
  const domain_pair *p = find_pair(s, from, to);
  s->routed_pair = p != NULL ? (int)(p - s->pairs) : -1;
  // The pair's own copy of its domains, as on the fast path: the route
  // operation may tell a stream's domains apart by where they are
  // (gateway/server/abuse_limits.h), which |from|, on this stack, is not.
  if (p != NULL) return route(s, el, p->from, p->to);
  return route(s, el, from, to);
}

static void sm_failed(fg_s2s_in *s, const char *condition) {
  sendf(s, "<failed xmlns='" FG_NS_SM "'><%s xmlns='" FG_NS_STANZA_ERRORS "'/></failed>",
        condition);
  event(s, FG_S2S_IN_EV_SM_REFUSED, s->peer, condition);
}

// send_enabled answers <enable/>, with a resume id when the peer asked for
// resumption and this side keeps ended streams (XEP-0198 §5).
static void send_enabled(fg_s2s_in *s, const fg_xml_node *r) {
  fg_xml_str want = fg_xml_node_attr(r, "", "resume");
  if (s->cfg.sm_resume_s && s->ops->sm_open != NULL &&
      (fg_xml_str_eq(want, "true") || fg_xml_str_eq(want, "1"))) {
    uint8_t raw[16];
    RAND_bytes(raw, sizeof(raw));
    for (size_t i = 0; i < sizeof(raw); i++) {
      s->sm_id[2 * i] = kHex[raw[i] >> 4];
      s->sm_id[2 * i + 1] = kHex[raw[i] & 15];
    }
    s->sm_id[2 * sizeof(raw)] = 0;
    if (s->ops->sm_open(s->arg, s->sm_id)) {
      sendf(s, "<enabled xmlns='" FG_NS_SM "' id='%s' resume='true' max='%u'/>", s->sm_id,
            s->cfg.sm_resume_s);
      return;
    }
    s->sm_id[0] = 0;
  }
  send_str(s, "<enabled xmlns='" FG_NS_SM "'/>");
}

static void bidi_acked(void *arg, const fg_sm_item *it);

// sent_back_again writes again, after <resumed/>, what the ended stream
// wrote back and the peer did not handle: they are still at the front of
// the queue, so the peer's h goes on counting them (XEP-0198 §5). Only on a
// bidirectional stream: otherwise the peer takes no stanza back, and they
// wait for the caller (FG_S2S_IN_EV_SM_SENT_BACK_AGAIN).
static void sent_back_again(fg_s2s_in *s) {
  size_t n = s->bidi_sm.count;
  if (n == 0) return;
  if (s->bidi) {
    for (const fg_sm_item *it = s->bidi_sm.head; it != NULL; it = it->next) {
      s->ops->send(s->arg, it->data, it->len);
      s->bidi_written++;
    }
    send_str(s, "<r xmlns='" FG_NS_SM "'/>");
    fg_sm_out_requested(&s->bidi_sm);
  }
  char detail[24];
  snprintf(detail, sizeof(detail), "%zu", n);
  event(s, FG_S2S_IN_EV_SM_SENT_BACK_AGAIN, s->peer, detail);
}

// on_sm_resume continues an ended stream of the same peer (XEP-0198 §5):
// counting goes on from what that stream handled, so the peer sends again
// only the stanzas that never were; and on a bidirectional stream the
// peer's h says which of those this side wrote back it handled, so that
// only the rest is written again.
static fg_s2s_in_status on_sm_resume(fg_s2s_in *s, const fg_xml_node *r) {
  fg_xml_str previd = fg_xml_node_attr(r, "", "previd");
  char id[FG_SM_ID_MAX + 1];
  uint32_t h = 0, peer_h = 0, acked = 0;
  fg_sm_item *sent_back = NULL;
  if (!s->cfg.sm || !from_authenticated(s, s->peer) || s->sm.enabled) {
    sm_failed(s, "unexpected-request");
    return FG_S2S_IN_CONTINUE;
  }
  // §5: h is required on <resume/>; a malformed one is the peer's error.
  if (!fg_sm_parse_h(r, &peer_h)) return fg_s2s_in_close_with_error(s, "invalid-xml", NULL);
  if (!fg_sm_id_copy(id, previd.data, previd.len) || s->ops->sm_resume == NULL ||
      !s->ops->sm_resume(s->arg, id, &h, &sent_back, &acked)) {
    sm_failed(s, "item-not-found");
    return FG_S2S_IN_CONTINUE;
  }
  s->sm.enabled = 1;
  s->sm.h = h;
  memcpy(s->sm_id, id, sizeof(id));
  if (sent_back != NULL) {
    fg_sm_out_adopt(&s->bidi_sm, sent_back, acked);
    size_t n;
    if (fg_sm_out_ack(&s->bidi_sm, peer_h, &n, bidi_acked, s) != FG_SM_ACK_OK) {
      // §4: h above what was written: nothing it claims is trusted; the
      // stanzas stay unacknowledged and go out again elsewhere.
      return fg_s2s_in_close_with_error(s, "undefined-condition",
                                        "h acknowledges stanzas never sent");
    }
  }
  // §5: our h, what the old stream handled of the peer's stanzas.
  sendf(s, "<resumed xmlns='" FG_NS_SM "' previd='%s' h='%lu'/>", id, (unsigned long)h);
  event(s, FG_S2S_IN_EV_SM_RESUMED, s->peer, id);
  sent_back_again(s);
  return FG_S2S_IN_CONTINUE;
}

static void bidi_acked(void *arg, const fg_sm_item *it) {
  fg_s2s_in *s = arg;
  if (s->ops->bidi_acked != NULL) s->ops->bidi_acked(s->arg, it);
}

// on_sm answers the XEP-0198 elements of the initiating side.
static fg_s2s_in_status on_sm(fg_s2s_in *s, const fg_xml_node *r) {
  switch (fg_sm_classify(r)) {
    case FG_SM_ENABLE:
      // §3: only on an authenticated stream, only once, only when offered.
      if (!s->cfg.sm) {
        sm_failed(s, "feature-not-implemented");
      } else if (!any_authenticated(s) || s->sm.enabled) {
        sm_failed(s, "unexpected-request");
      } else {
        s->sm.enabled = 1;
        s->sm.h = 0;
        send_enabled(s, r);
        event(s, FG_S2S_IN_EV_SM_ENABLED, s->peer, "");
      }
      return FG_S2S_IN_CONTINUE;
    case FG_SM_R: {
      if (!s->sm.enabled) return FG_S2S_IN_CONTINUE;
      char a[FG_SM_A_MAX];
      size_t len = fg_sm_write_a(a, sizeof(a), s->sm.h);
      if (len) s->ops->send(s->arg, (const uint8_t *)a, len);
      event(s, FG_S2S_IN_EV_SM_ACK_SENT, s->peer, "");
      return FG_S2S_IN_CONTINUE;
    }
    case FG_SM_RESUME:
      return on_sm_resume(s, r);
    case FG_SM_A: {
      // XEP-0198 §4: on a bidirectional stream, the peer's count of what
      // this side sent it.
      uint32_t h;
      size_t n;
      if (!s->sm.enabled || !s->bidi_sm.enabled) return FG_S2S_IN_CONTINUE;
      if (!fg_sm_parse_h(r, &h)) return fg_s2s_in_close_with_error(s, "invalid-xml", NULL);
      if (fg_sm_out_ack(&s->bidi_sm, h, &n, bidi_acked, s) != FG_SM_ACK_OK) {
        return fg_s2s_in_close_with_error(s, "undefined-condition",
                                          "h acknowledges stanzas never sent");
      }
      // What was written while the answer was awaited is asked about now:
      // with no later stanza to carry a request, it would stay unacknowledged.
      if (s->bidi_sm.count > 0) {
        send_str(s, "<r xmlns='" FG_NS_SM "'/>");
        fg_sm_out_requested(&s->bidi_sm);
      }
      return FG_S2S_IN_CONTINUE;
    }
    default:
      return FG_S2S_IN_CONTINUE;
  }
}

// NAME_IS compares a name with a string literal: its length is known at
// compile time, so the compiler inlines the comparison (this runs for every
// stanza).
#define NAME_IS(str, lit)                                \
  ((str).data != NULL && (str).len == sizeof(lit) - 1 && \
   memcmp((str).data, lit, sizeof(lit) - 1) == 0)

static fg_s2s_in_status on_element(fg_s2s_in *s) {
  // A stanza is routed by its root's view (docs/xml.md, "Views of the root
  // only"): its other views are built only for the consumers that read them
  // (fg_xml_element_full); every other element is read whole.
  const fg_xml_element *el = fg_xml_parser_element_root(s->parser);
  const fg_xml_node *r = el->root;
  if (NAME_IS(r->ns, FG_XML_NS_SERVER)) {
    if (NAME_IS(r->local, "message") || NAME_IS(r->local, "presence") || NAME_IS(r->local, "iq")) {
      return on_stanza(s, el);
    }
    return fg_s2s_in_close_with_error(s, "unsupported-stanza-type", NULL);
  }
  el = fg_xml_element_full(el);
  if (fg_xml_str_eq(r->ns, FG_XML_NS_STREAMS) && fg_xml_str_eq(r->local, "error")) {
    // RFC 6120 §4.9.1.1: the peer ends the stream with an error; close ours.
    const fg_xml_node *c = r->first_child;
    while (c != NULL && (c->type != FG_XML_NODE_ELEMENT || fg_xml_str_eq(c->local, "text"))) {
      c = c->next;
    }
    char cond[64] = "undefined-condition";
    if (c != NULL)
      snprintf(cond, sizeof(cond), "%.*s", (int)c->local.len, (const char *)c->local.data);
    event(s, FG_S2S_IN_EV_PEER_STREAM_ERROR, s->peer, cond);
    send_str(s, "</stream:stream>");
    s->stage = STAGE_CLOSED;
    return FG_S2S_IN_CLOSED;
  }
  if (fg_xml_str_eq(r->ns, FG_NS_TLS) && fg_xml_str_eq(r->local, "starttls")) {
    return on_starttls(s);
  }
  if (tls_mandatory(s)) {
    // RFC 6120 §5.3.1: TLS is mandatory-to-negotiate; nothing else is accepted.
    return fg_s2s_in_close_with_error(s, "policy-violation", "STARTTLS is required");
  }
  if (fg_xml_str_eq(r->ns, FG_NS_SASL)) return on_sasl(s, r);
  if (fg_xml_str_eq(r->ns, FG_NS_SM)) return on_sm(s, r);
  if (s->cfg.bidi && fg_xml_str_eq(r->ns, FG_NS_BIDI) && fg_xml_str_eq(r->local, "bidi")) {
    // XEP-0288 §2.2: SHOULD come before SASL or dialback; a late request is
    // harmless (what this side may send still follows the authenticated
    // pairs), so it is honoured too. It has no answer.
    if (!s->bidi) {
      s->bidi = 1;
      event(s, FG_S2S_IN_EV_BIDI_ENABLED, s->peer, "");
    }
    return FG_S2S_IN_CONTINUE;
  }
  if (fg_xml_str_eq(r->ns, FG_NS_DIALBACK)) {
    if (fg_xml_str_eq(r->local, "result")) return on_db_result(s, r);
    if (fg_xml_str_eq(r->local, "verify")) return on_db_verify(s, r);
  }
  return fg_s2s_in_close_with_error(s, "unsupported-stanza-type", NULL);
}

fg_s2s_in_status fg_s2s_in_feed(fg_s2s_in *s, const uint8_t *in, size_t in_len, size_t *out_used) {
  size_t total = 0;
  fg_s2s_in_status st = FG_S2S_IN_CONTINUE;
  if (s->stage == STAGE_CLOSED || s->stage == STAGE_TLS) {
    *out_used = 0;
    return s->stage == STAGE_CLOSED ? FG_S2S_IN_CLOSED : FG_S2S_IN_STARTTLS;
  }
  if (s->parser == NULL && !unpark(s)) {
    *out_used = 0;
    return fg_s2s_in_close_with_error(s, "internal-server-error", "cannot resume parsing");
  }
  while (st == FG_S2S_IN_CONTINUE && (total < in_len || fg_xml_parser_pending(s->parser))) {
    size_t used = 0;
    fg_xml_event ev = fg_xml_parser_feed(s->parser, &used, in + total, in_len - total);
    total += used;
    switch (ev) {
      case FG_XML_EVENT_NEED_MORE:
        if (used > 0) s->at_boundary = 0;  // part of something is buffered
        *out_used = total;
        return FG_S2S_IN_CONTINUE;
      case FG_XML_EVENT_STREAM_OPEN:
        s->at_boundary = 1;
        st = on_header(s);
        break;
      case FG_XML_EVENT_ELEMENT:
        s->at_boundary = 1;
        st = on_element(s);
        break;
      case FG_XML_EVENT_KEEPALIVE:
        s->at_boundary = 1;
        break;
      case FG_XML_EVENT_STREAM_CLOSE:
        // RFC 6120 §4.4: answer the close with ours (unless ours went
        // first), then the connection ends.
        if (!s->header_sent) send_header(s);
        send_str(s, "</stream:stream>");
        s->stage = STAGE_CLOSED;
        st = FG_S2S_IN_CLOSED;
        break;
      case FG_XML_EVENT_ERROR: {
        uint64_t off = 0;
        fg_xml_error e = fg_xml_parser_error(s->parser, &off);
        char text[64];
        snprintf(text, sizeof(text), "at byte %llu", (unsigned long long)off);
        st = fg_s2s_in_close_with_error(s, fg_xml_error_condition(e), text);
        break;
      }
    }
  }
  *out_used = total;
  return st;
}

int fg_s2s_in_bidi(const fg_s2s_in *s) {
  return s->bidi;
}

int fg_s2s_in_bidi_may_send(const fg_s2s_in *s, const char *local, const char *remote) {
  // Between a restart's header and our answer nothing else may go out.
  if (!s->bidi || s->stage != STAGE_OPEN || s->closing) return 0;
  // XEP-0288 §2.2: only for a pair the peer authenticated here, inversed.
  if (!fg_s2s_in_is_authenticated(s, remote, local)) return 0;
  // A peer slow to acknowledge gets no more than the bounds (the stanza
  // takes an outbound link instead).
  if (s->sm.enabled && !fg_sm_out_has_room(&s->bidi_sm, 1)) return 0;
  return plaintext_allowed_for((fg_s2s_in *)s, remote);
}

int fg_s2s_in_bidi_send(fg_s2s_in *s, const char *local, const char *remote, const uint8_t *data,
                        size_t len, int tag) {
  if (!fg_s2s_in_bidi_may_send(s, local, remote)) return 0;
  if (s->sm.enabled) {
    // Counting starts with the first stanza written after <enable/>. A
    // stanza that cannot be kept is not written here (the caller opens a
    // link instead).
    s->bidi_sm.enabled = 1;
    if (!fg_sm_out_push(&s->bidi_sm, data, len, tag)) return 0;
  }
  s->ops->send(s->arg, data, len);
  s->bidi_written++;
  if (!s->sm.enabled) return 1;
  if (!s->bidi_sm.awaiting || fg_sm_out_should_request(&s->bidi_sm, s->cfg.bidi_sm_request_every)) {
    send_str(s, "<r xmlns='" FG_NS_SM "'/>");
    fg_sm_out_requested(&s->bidi_sm);
  }
  return 1;
}

size_t fg_s2s_in_bidi_unacked(const fg_s2s_in *s, uint64_t *out_written) {
  if (out_written != NULL) *out_written = s->bidi_written;
  return s->bidi_sm.count;
}

fg_sm_item *fg_s2s_in_bidi_take_unacked(fg_s2s_in *s) {
  return fg_sm_out_take(&s->bidi_sm);
}

uint32_t fg_s2s_in_bidi_acked(const fg_s2s_in *s) {
  return s->bidi_sm.acked;
}
