// inbound_stanza.c: the checks every stanza a server sends in passes before
// it is routed (block lists, RTBL and abuse-report addresses, abuse.limits),
// for inbound streams and for links their peers made bidirectional alike.
#include "gateway/server/inbound_stanza.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/server/abuse_reports.h"
#include "gateway/server/blocks.h"
#include "gateway/s2s/bounce_element.h"
#include "gateway/s2s/jid.h"
#include "gateway/server/link.h"
#include "gateway/server/log.h"
#include "gateway/server/rtbl.h"
#include "gateway/xml/xml_names.h"
#include "gateway/xml/xml_serializer.h"

void fg_inbound_stanza_init(fg_inbound_stanza *st, fg_server *srv, fg_conn *conn, fg_flow *flow,
                            int internal, const char *ip, const char *stream_id) {
  *st = (fg_inbound_stanza){.srv = srv,
                            .conn = conn,
                            .flow = flow,
                            .internal = internal,
                            .ip = ip,
                            .stream_id = stream_id};
}

int fg_inbound_stanza_hosted(const fg_inbound_stanza *st, const char *domain) {
  // The internal servers address remote domains through the internal
  // listener (dialback verifications of the hop, outbound traffic).
  if (st->internal) return 1;
  size_t backend;
  return fg_router_lookup(fg_server_snapshot(st->srv)->router, domain, strlen(domain), &backend);
}

// context_matches_hop says whether raw stanza bytes that are canonical in the
// peer's stream context are also canonical in the hop stream's context
// (xmlns='jabber:server', xmlns:stream, xmlns:db), so they can be forwarded
// unchanged (zero copy): every declaration of the peer's header is one of
// the hop's, and the default namespace is declared jabber:server there as on
// the hop. Without it an unprefixed element that is in no namespace on the
// peer's stream (under a prefixed stanza) would be in jabber:server on the hop.
static int context_matches_hop(const fg_xml_nsdecl *d, size_t n) {
  int server_default = 0;
  for (size_t i = 0; i < n; i++) {
    if (d[i].prefix.len == 0 && fg_xml_str_eq(d[i].uri, FG_XML_NS_SERVER)) {
      server_default = 1;
      continue;
    }
    if (fg_xml_str_eq(d[i].prefix, "stream") && fg_xml_str_eq(d[i].uri, FG_XML_NS_STREAMS))
      continue;
    if (fg_xml_str_eq(d[i].prefix, "db") && fg_xml_str_eq(d[i].uri, FG_NS_DIALBACK)) continue;
    return 0;
  }
  return server_default;
}

void fg_inbound_stanza_header(fg_inbound_stanza *st, uint32_t headers, const fg_xml_nsdecl *context,
                              size_t n, fg_xml_str lang) {
  st->lang = lang;
  if (st->hop_context_of == headers) return;  // judged once per header
  st->hop_context = context_matches_hop(context, n);
  st->hop_context_of = headers;
}

static const fg_xml_nsdecl kHopContext[] = {
    {{(const uint8_t *)"", 0}, {(const uint8_t *)FG_XML_NS_SERVER, sizeof(FG_XML_NS_SERVER) - 1}},
    {{(const uint8_t *)"stream", 6},
     {(const uint8_t *)FG_XML_NS_STREAMS, sizeof(FG_XML_NS_STREAMS) - 1}},
    {{(const uint8_t *)"db", 2}, {(const uint8_t *)FG_NS_DIALBACK, sizeof(FG_NS_DIALBACK) - 1}},
};

// block_verdict applies the block lists to one stanza: from a remote server,
// a blocked sender (by the digest of its bare JID) is refused with
// forbidden (RFC 6120 §8.3.3.4); from an internal server, a stanza to a
// blocked domain is refused with policy-violation (§8.3.3.12). Both are
// bounced to the sender. FG_STANZA_CONDITION_COUNT: it may pass.
static fg_stanza_condition block_verdict(fg_inbound_stanza *st, const fg_xml_element *el,
                                         const char *from, const char *to) {
  fg_server *srv = st->srv;
  char why[300];
  fg_metric m;
  fg_stanza_condition cond;
  const char *whom;
  size_t bare_len = 0;
  int out = st->internal;
  // The sender's bare JID as the lists name it, whatever its spelling.
  uint8_t sender[FG_BARE_JID_MAX];
  const uint8_t *key = out ? (const uint8_t *)to : sender;
  size_t key_len =
      out ? strlen(to) : fg_jid_bare_key(sender, sizeof(sender), el->from.data, el->from.len, from);
  if (key_len == 0) return FG_STANZA_CONDITION_COUNT;
  uint64_t g = fg_blocks_generation(srv->blocks);
  if (st->clean_len == key_len && st->clean_generation == g && key_len > 0 &&
      memcmp(st->clean, key, key_len) == 0) {
    return FG_STANZA_CONDITION_COUNT;
  }
  int refused = out ? fg_blocks_domain_refused(srv->blocks, to, why, sizeof(why))
                    : fg_blocks_sender_refused(srv->blocks, key, key_len, why, sizeof(why));
  if (!refused) {
    if (key_len <= sizeof(st->clean)) {
      memcpy(st->clean, key, key_len);
      st->clean_len = key_len;
      st->clean_generation = g;
    }
    return FG_STANZA_CONDITION_COUNT;
  }
  const uint8_t *named = key;  // in the log line
  if (!out) {
    bare_len = key_len;
    m = FG_M_BLOCKED_STANZAS_IN;
    cond = FG_STANZA_FORBIDDEN;
    whom = "sender";
  } else {
    m = FG_M_BLOCKED_STANZAS_OUT;
    cond = FG_STANZA_POLICY_VIOLATION;
    whom = "recipient domain";
    named = el->from.data;
    bare_len = el->from.len;
  }
  fg_metrics_inc(&srv->metrics, m);
  if (!st->block_logged) {  // once per stream: a blocked sender may send many
    st->block_logged = 1;
    fg_log(FG_LOG_SEV_WARN, st->stream_id, out ? to : "",
           "stanza from %.*s refused: %s blocked (%s); later ones on this stream are counted only",
           (int)bare_len, (const char *)named, whom, why);
  }
  return cond;
}

// limit_verdict applies abuse.limits to one stanza (gateway/server/abuse_limits.h).
static fg_stanza_condition limit_verdict(fg_inbound_stanza *st, const fg_xml_element *el,
                                         const char *from, const char *to) {
  fg_server *srv = st->srv;
  if (srv->limits == NULL) return FG_STANZA_CONDITION_COUNT;
  uint64_t now = fg_worker_now_ns(fg_conn_worker(st->conn));
  int out = st->internal;
  if (!out && st->lease == NULL && (st->lease = calloc(1, sizeof(*st->lease))) == NULL) {
    return FG_STANZA_RESOURCE_CONSTRAINT;
  }
  // The peer's address: behind a balancer, the one its PROXY header named.
  fg_limit_result r = out ? fg_abuse_limits_outbound(srv->limits, el, from, to, now)
                          : fg_abuse_limits_inbound(srv->limits, st->lease, el, el->root->raw.len,
                                                    from, to, fg_conn_peer(st->conn), now);
  if (!r.refused) return FG_STANZA_CONDITION_COUNT;
  fg_metrics_inc(&srv->metrics, out ? FG_M_LIMITED_STANZAS_OUT
                                : r.condition == FG_STANZA_POLICY_VIOLATION
                                    ? FG_M_LIMITED_UNSOLICITED
                                    : FG_M_LIMITED_STANZAS_IN);
  if (r.stream_rate) {
    // An episode of excess: refusals less than a second apart. Lasting
    // abuse.limits.sustained, it closes the stream (after this feed).
    if (st->over_since_ns == 0 || now - st->last_over_ns > 1000000000ull) st->over_since_ns = now;
    st->last_over_ns = now;
    if (!st->limit_close &&
        now - st->over_since_ns >= (uint64_t)srv->boot_cfg->abuse.limits.sustained_ms * 1000000u) {
      st->limit_close = 1;
      fg_metrics_inc(&srv->metrics, FG_M_LIMITED_STREAMS_CLOSED);
      fg_log(FG_LOG_SEV_WARN, st->stream_id, from,
             "stream from %s closed: over the limit of %s for %u ms", st->ip, r.limit,
             srv->boot_cfg->abuse.limits.sustained_ms);
      return FG_STANZA_POLICY_VIOLATION;
    }
  }
  if (!st->limit_logged) {  // once per stream; the counters have every refusal
    st->limit_logged = 1;
    fg_log(FG_LOG_SEV_WARN, st->stream_id, from,
           "stanza from %.*s refused: over the limit of %s (from %s); later ones on this stream "
           "are counted only",
           (int)el->from.len, (const char *)el->from.data, r.limit, st->ip);
  }
  return r.condition;
}

fg_stanza_condition fg_inbound_stanza_route(fg_inbound_stanza *st, const fg_xml_element *el,
                                            const char *from, const char *to) {
  fg_server *srv = st->srv;
  fg_worker *w = fg_conn_worker(st->conn);
  // Stanzas to fedgate's own RTBL JIDs are fedgate's, never a backend's.
  if (srv->rtbl != NULL && !st->internal && fg_rtbl_addressed(srv->rtbl, el->to.data, el->to.len)) {
    fg_stanza_condition c = fg_rtbl_consume(srv->rtbl, fg_xml_element_full(el));
    if (c != FG_STANZA_CONDITION_COUNT) fg_metrics_inc(&srv->metrics, FG_M_STANZAS_IN);
    return c;
  }
  if (!st->internal && fg_reports_addressed(el->to.data, el->to.len)) {
    fg_stanza_condition c = fg_reports_consume(srv, fg_xml_element_full(el));
    if (c != FG_STANZA_CONDITION_COUNT) fg_metrics_inc(&srv->metrics, FG_M_STANZAS_IN);
    return c;
  }
  fg_metrics_inc(&srv->metrics, FG_M_STANZAS_IN);
  fg_stanza_condition refused = block_verdict(st, el, from, to);
  if (refused == FG_STANZA_CONDITION_COUNT) refused = limit_verdict(st, el, from, to);
  if (refused != FG_STANZA_CONDITION_COUNT) return refused;
  const uint8_t *data = el->root->raw.data;
  size_t len = el->root->raw.len;
  // The bytes received go on when they mean on the hop what they meant here:
  // in the canonical form (declarations placed otherwise allowed, as Prosody
  // writes them), in the same namespace context, with the same language. A
  // stanza without a language of its own on a stream that names one is given
  // the stream's (RFC 6120 §4.7.4: the hop's header names none), added to
  // the bytes received; anything else is written anew from the whole tree.
  int forward = el->forwardable && st->hop_context;
  int add_lang = st->lang.len > 0 && el->lang.data == NULL;
  if (!forward || add_lang) {
    fg_xml_writer *wr = fg_server_worker_state(srv, w)->writer;
    fg_xml_writer_clear(wr);
    int ok;
    if (forward) {
      ok = fg_xml_writer_raw_lang(wr, el->root, st->lang);
    } else {
      fg_metrics_inc(&srv->metrics, FG_M_STANZAS_REWRITTEN);
      el = fg_xml_element_full(el);
      ok =
          fg_xml_writer_element_lang(wr, el->root, kHopContext, 3, FG_XML_WRITE_ONE_LINE, st->lang);
    }
    if (!ok) return FG_STANZA_INTERNAL_SERVER_ERROR;
    data = fg_xml_writer_data(wr, &len);
  }
  // An abuse report to a remote domain goes to its abuse address instead.
  if (st->internal && fg_reports_take(srv, w, el, data, len, from, to)) {
    return FG_STANZA_CONDITION_COUNT;
  }
  // Public listeners deliver to hosted domains (the hop); the internal
  // listener carries the internal servers' traffic out to the federation.
  return fg_deliver(srv, w, from, to, fg_conn_id(st->conn), 0, data, len, st->flow);
}

const char *fg_inbound_stanza_sent_back(fg_inbound_stanza *st, const fg_xml_element *el,
                                        const char *from, const char *to) {
  fg_server *srv = st->srv;
  char why[256];
  // A domain the block lists refuse may not federate at all: its inbound
  // stream would have been closed with policy-violation. (From a backend
  // the block lists judge the recipient, in fg_inbound_stanza_route.)
  if (!st->internal && fg_blocks_domain_refused(srv->blocks, from, why, sizeof(why))) {
    fg_metrics_inc(&srv->metrics, FG_M_BLOCKED_STREAMS);
    fg_log(FG_LOG_SEV_WARN, st->stream_id, from,
           "bidirectional link from %s refused: domain blocked (%s)", st->ip, why);
    return "policy-violation";  // RFC 6120 §4.9.3.14
  }
  if (!fg_inbound_stanza_hosted(st, to)) return "host-unknown";  // RFC 6120 §4.9.3.6
  fg_stanza_condition cond = fg_inbound_stanza_route(st, el, from, to);
  if (cond != FG_STANZA_CONDITION_COUNT) {
    // Refused, the stanza that ends the link over abuse.limits included: it
    // is bounced (or counted as not bounced) like any other refusal.
    uint8_t buf[4096];
    size_t len = 0;
    fg_bounce_verdict v = fg_bounce_element(buf, &len, sizeof(buf), el, cond);
    if (v != FG_BOUNCE_OK) {
      fg_metrics_inc(&srv->metrics, FG_M_STANZAS_NOT_BOUNCED);
    } else {
      fg_metrics_bounce(&srv->metrics, cond);
      fg_link_bounce(srv, fg_conn_worker(st->conn), to, from, buf, len);
    }
  }
  return st->limit_close ? "policy-violation" : NULL;
}

int fg_inbound_stanza_over_limit(const fg_inbound_stanza *st) {
  return st->limit_close;
}

void fg_inbound_stanza_trim(fg_inbound_stanza *st) {
  free(st->lease);
  st->lease = NULL;
}
