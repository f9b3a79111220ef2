// inbound.c: connections accepted on the s2s, s2s-tls and internal listeners,
// each carrying one gateway/s2s_in session, wired to the router, the links
// and the certificate verdicts; its stanzas, and those peers send back on
// bidirectional links, pass the checks of inbound_stanza.h.
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/ssl.h>
#include <xxhash.h>

#include "gateway/server/inbound.h"

#include "io/addr_policy.h"
#include "gateway/server/abuse_limits.h"
#include "gateway/server/admit.h"
#include "gateway/server/bidi_hop.h"
#include "gateway/server/bidi_park.h"
#include "gateway/server/bidi_resend.h"
#include "gateway/server/bidi_streams.h"
#include "gateway/server/blocks.h"
#include "gateway/server/link.h"
#include "gateway/server/ip_limits.h"
#include "gateway/server/log.h"
#include "gateway/server/posh_auth.h"
#include "gateway/server/dane_inbound.h"
#include "gateway/server/inbound_stanza.h"
#include "gateway/server/revocation.h"
#include "gateway/server/rtbl.h"
#include "gateway/server/server_internal.h"
#include "gateway/server/sm_registry.h"
#include "gateway/server/verdict_cache.h"
#include "gateway/server/verdict_scope.h"

enum { kVerdictCache = 4 };
static const uint32_t kInConnMagic = 0x51c0a11e;

// kQuietMs: an authenticated stream that received nothing for this long
// gives back its parser's buffers at its next tick.
enum { kQuietMs = 1000 };

struct in_conn {
  uint32_t magic;  // kInConnMagic: tells a session from the listener's argument
  fg_server *srv;
  // The snapshot the stream opened under (a reference): its session holds
  // that snapshot's dialback secret. Decisions use the worker's current one.
  fg_snapshot *snap;
  fg_conn *conn;
  fg_s2s_in *s2s;
  fg_listener_id listener;
  int domain_admitted;  // abuse.limits.domain_connections counted this connection
  in_conn *prev, *next;
  fg_flow flow;  // flow control towards the links it feeds
  char ip[64];
  int counted_ip;
  int authenticated;
  int trim_due;  // give back the parser's buffers after this feed
  uint64_t opened_ns, last_rx_ns, trimmed_rx_ns;
  fg_timer tick;
  // A revocation fetch the stream waits for (reading paused), or NULL.
  struct fg_revocation_fetch *rev_fetch;
  // Revocation answers were sought for the peer's certificate (see
  // revocation_prefetch): without them, it authenticates no checked domain.
  int rev_sought;
  // The POSH document of the peer's domain the stream's features wait for
  // (see op_hold_features), or NULL.
  fg_posh_auth_fetch *posh_fetch;
  fg_auth_method auth;  // how the last authenticated domain was proved
  // What the checks of its stanzas know and keep (inbound_stanza.h).
  fg_inbound_stanza checks;
  // tls.dane_inbound: the pending TLSA check (reading paused), and the peer
  // domain its TLSA records authenticated ("" when none).
  fg_dane_inbound *dane_q;
  char *dane_domain;           // NULL: none
  fg_auth_method dane_method;  // how the TLSA records proved it (DANE-EE or DANE-TA)
  int dane_tried;              // the TLSA lookup was started for this stream
  int dane_holds_features;     // direct TLS: the features wait for the lookup
  int n_verdicts;              // in |verdicts| (here: no padding, 640 bytes in all)
  // Certificate verdicts by domain, allocated on first use and given back
  // when the stream goes quiet (recomputed if ever needed again).
  struct verdict {
    char domain[FG_DOMAIN_MAX + 1];
    int ok;
    fg_auth_method method;  // when ok: pkix or posh
  } * verdicts;
  // XEP-0288: for the stanzas an outbound link's peer sends back
  // (reverse_open, s2s NULL), that link's stream id.
  char reverse_id[64];
};

// peer_addr: the connection's source address (the PROXY header's, behind a
// balancer), what limits, logs, /streams and the backend-source checks see.
static const struct sockaddr *peer_addr(const in_conn *ic) {
  return fg_conn_peer(ic->conn);
}

// trim gives back what a quiet stream does not need: the parser's buffers,
// the verdict cache and the rate-limit lease.
static void trim(in_conn *ic) {
  fg_s2s_in_trim(ic->s2s);
  free(ic->verdicts);
  ic->verdicts = NULL;
  ic->n_verdicts = 0;
  fg_inbound_stanza_trim(&ic->checks);
}

// cur is the snapshot new decisions follow (the worker's current one).
static const fg_snapshot *cur(const in_conn *ic) {
  return fg_server_snapshot(ic->srv);
}

static worker_state *ws_of(in_conn *ic) {
  return fg_server_worker_state(ic->srv, fg_conn_worker(ic->conn));
}

static in_conn *find_stream(worker_state *ws, const char *stream_id) {
  for (in_conn *ic = ws->streams; ic != NULL; ic = ic->next) {
    if (ic->s2s != NULL && strcmp(fg_s2s_in_stream_id(ic->s2s), stream_id) == 0) return ic;
  }
  return NULL;
}

void fg_inbound_describe(worker_state *ws, unsigned worker, fg_text *out) {
  static const char *const kListener[] = {"s2s", "s2s-tls", "internal", "admin"};
  for (in_conn *ic = ws->streams; ic != NULL; ic = ic->next) {
    if (ic->s2s == NULL) continue;
    fg_tls_conn *t = fg_conn_tls(ic->conn);
    SSL *ssl = t ? fg_tls_conn_ssl(t) : NULL;
    // Behind a balancer, |ip| is the peer its PROXY header named; the
    // balancer's own address (read here, not kept per stream) follows.
    char via[80] = "";
    struct sockaddr_storage lb;
    socklen_t lb_len = sizeof(lb);
    int pv = fg_conn_proxy_version(ic->conn);
    if (pv != 0 && getpeername(fg_conn_fd(ic->conn), (struct sockaddr *)&lb, &lb_len) == 0) {
      char lb_ip[64];
      fg_addr_text((const struct sockaddr *)&lb, lb_ip, sizeof(lb_ip));
      snprintf(via, sizeof(via), " proxy=v%d via=%s", pv, lb_ip);
    }
    fg_text_printf(out,
                   "in worker=%u listener=%s stream=%s peer=%s local=%s ip=%s tls=%s %s auth=%s "
                   "bidi=%s%s\n",
                   worker, kListener[ic->listener], fg_s2s_in_stream_id(ic->s2s),
                   fg_s2s_in_peer(ic->s2s)[0] ? fg_s2s_in_peer(ic->s2s) : "-",
                   fg_s2s_in_local(ic->s2s)[0] ? fg_s2s_in_local(ic->s2s) : "-", ic->ip,
                   ssl ? SSL_get_version(ssl) : "none",
                   ic->authenticated ? "authenticated" : "unauthenticated",
                   ic->authenticated ? fg_auth_method_name(ic->auth) : "-",
                   fg_s2s_in_bidi(ic->s2s) ? "on" : "off", via);
  }
}

void fg_inbound_shutdown(worker_state *ws) {
  for (in_conn *ic = ws->streams; ic != NULL; ic = ic->next) {
    if (ic->s2s == NULL || fg_s2s_in_is_closed(ic->s2s)) continue;
    // RFC 6120 §4.9.3.20: the server is being shut down.
    fg_s2s_in_close_with_error(ic->s2s, "system-shutdown", NULL);
    fg_conn_close(ic->conn);
  }
}

size_t fg_inbound_drain(worker_state *ws) {
  size_t open = 0;
  for (in_conn *ic = ws->streams; ic != NULL; ic = ic->next) {
    open++;
    // A stream paused by flow control or a revocation fetch still has work
    // on its way; it is closed once that is done.
    if (ic->s2s == NULL || !fg_s2s_in_can_close(ic->s2s) || ic->flow.on != NULL ||
        ic->rev_fetch != NULL) {
      continue;
    }
    // RFC 6120 §4.4: our closing tag; what the peer still sends is routed
    // until its own closing tag ends the connection.
    fg_s2s_in_close(ic->s2s);
    fg_metrics_inc(&ic->srv->metrics, FG_M_DRAIN_STREAMS_CLOSED);
    fg_log(FG_LOG_SEV_DEBUG, fg_s2s_in_stream_id(ic->s2s),
           fg_s2s_in_peer(ic->s2s)[0] ? fg_s2s_in_peer(ic->s2s) : ic->ip,
           "drain: stream closed, waiting for the peer's closing tag");
  }
  return open;
}

int fg_inbound_close_stream(worker_state *ws, const char *stream_id, const char *text) {
  in_conn *ic = find_stream(ws, stream_id);
  if (ic == NULL || fg_s2s_in_is_closed(ic->s2s)) return 0;
  fg_log(FG_LOG_SEV_WARN, stream_id, fg_s2s_in_peer(ic->s2s)[0] ? fg_s2s_in_peer(ic->s2s) : ic->ip,
         "stream from %s closed by the operator: %s", ic->ip, text ? text : "no reason given");
  fg_metrics_inc(&ic->srv->metrics, FG_M_STREAMS_CLOSED_BY_ADMIN);
  fg_s2s_in_close_with_error(ic->s2s, "policy-violation", text);
  fg_conn_close(ic->conn);
  return 1;
}

size_t fg_inbound_close_hop_to(worker_state *ws, const char *remote) {
  size_t n = 0;
  for (in_conn *ic = ws->streams; ic != NULL; ic = ic->next) {
    if (ic->listener != FG_LISTENER_INTERNAL || ic->s2s == NULL || !ic->authenticated ||
        fg_s2s_in_is_closed(ic->s2s) || fg_s2s_in_is_closing(ic->s2s) ||
        strcmp(fg_s2s_in_local(ic->s2s), remote) != 0) {
      continue;
    }
    n++;
    fg_log(FG_LOG_SEV_INFO, fg_s2s_in_stream_id(ic->s2s), fg_s2s_in_peer(ic->s2s),
           "internal stream %s -> %s closed: the link with %s was lost", fg_s2s_in_peer(ic->s2s),
           remote, remote);
    fg_s2s_in_close(ic->s2s);  // RFC 6120 §4.4: the internal server closes its side in turn
  }
  return n;
}

// report_drop tells link_loss.h that the authenticated stream of |ic| from
// a remote server ended without a clean close (RFC 6120 §4.4): neither side
// closed the stream, the connection broke (|reason|).
static void report_drop(in_conn *ic, fg_worker *w, enum fg_close_reason reason) {
  fg_server *srv = ic->srv;
  if (srv->link_lost == NULL || ic->listener == FG_LISTENER_INTERNAL || !ic->authenticated ||
      ic->s2s == NULL || fg_s2s_in_is_closed(ic->s2s) || fg_s2s_in_is_closing(ic->s2s) ||
      reason == FG_CLOSE_LOCAL || reason == FG_CLOSE_SHUTDOWN || atomic_load(&srv->stopping)) {
    return;
  }
  const char *d;
  for (size_t i = 0; (d = fg_s2s_in_pair_from(ic->s2s, i)) != NULL; i++) {
    int told = 0;  // once per remote domain, whatever the local domains it spoke to
    for (size_t j = 0; j < i && !told; j++) told = strcmp(fg_s2s_in_pair_from(ic->s2s, j), d) == 0;
    if (told) continue;
    srv->link_lost(srv, w, d, fg_s2s_in_stream_id(ic->s2s), fg_s2s_in_sm_id(ic->s2s),
                   fg_close_reason_name(reason));
  }
}

void fg_inbound_dialback_answer(worker_state *ws, const char *stream_id, const char *originating,
                                const char *receiving, int valid) {
  in_conn *ic = find_stream(ws, stream_id);
  if (ic == NULL) return;
  fg_s2s_in_dialback_answer(ic->s2s, originating, receiving, valid);
  if (fg_s2s_in_is_closed(ic->s2s)) fg_conn_close(ic->conn);
}

// --- operations for the session ---

static void op_send(void *arg, const uint8_t *d, size_t n) {
  in_conn *ic = arg;
  fg_conn_send(ic->conn, d, n);
}

static int op_is_hosted(void *arg, const char *domain) {
  in_conn *ic = arg;
  return fg_inbound_stanza_hosted(&ic->checks, domain);
}

static int op_plaintext_allowed(void *arg, const char *peer) {
  in_conn *ic = arg;
  const fg_snapshot *s = cur(ic);
  if (ic->listener == FG_LISTENER_INTERNAL) return s->cfg->internal_hop.plaintext;
  return fg_snapshot_is_plaintext_peer(s, peer);
}

// source_in_backend says whether the connection comes from one of the
// addresses of backend |backend| (an IPv4-mapped source equals its IPv4).
static int source_in_backend(const in_conn *ic, const fg_snapshot *s, size_t backend) {
  const fg_config_backend *be = &s->cfg->backends[backend];
  for (size_t a = 0; a < be->n_addresses; a++) {
    const resolved_target *t = &s->backend_targets[backend][a];
    if (fg_addr_same_ip((const struct sockaddr *)&t->addr, peer_addr(ic))) {
      return 1;
    }
  }
  return 0;
}

// source_is_backend says whether the connection comes from one of the
// addresses of |domain|'s backend: only from there may a client of the
// internal listener speak for a hosted domain (SASL EXTERNAL, dialback).
static int source_is_backend(const in_conn *ic, const char *domain) {
  return fg_bidi_hop_source_is_backend(cur(ic), domain, peer_addr(ic));
}

// source_is_any_backend says whether the connection comes from an address
// of some backend.
static int source_is_any_backend(const in_conn *ic) {
  const fg_snapshot *s = cur(ic);
  for (size_t b = 0; b < s->cfg->n_backends; b++) {
    if (source_in_backend(ic, s, b)) return 1;
  }
  return 0;
}

// peer_may_claim says whether the peer may authenticate as |domain|: on the
// public listeners never as a domain hosted here (nobody outside speaks for
// them), on the internal listener only as one.
static int peer_may_claim(in_conn *ic, const char *domain) {
  size_t backend;
  int hosted = fg_router_lookup(cur(ic)->router, domain, strlen(domain), &backend);
  return ic->listener == FG_LISTENER_INTERNAL ? hosted : !hosted;
}

// verdict_scope is the scope of a cached certificate verdict asked by
// |role| on this stream (verdict_scope.h).
static fg_verdict_scope verdict_scope(const in_conn *ic, fg_verdict_role role,
                                      fg_revocation_mode mode) {
  return fg_verdict_scope_now(ic->srv, cur(ic), role, ic->listener == FG_LISTENER_INTERNAL, mode);
}

// remember_verdict keeps |ok| for |domain| for the rest of the stream (or
// until it goes quiet): a stream asks again for the same domain.
static void remember_verdict(in_conn *ic, const char *domain, int ok, fg_auth_method method) {
  if (ic->verdicts == NULL) ic->verdicts = calloc(kVerdictCache, sizeof(*ic->verdicts));
  if (ic->verdicts == NULL) return;
  int slot = ic->n_verdicts < kVerdictCache ? ic->n_verdicts++ : kVerdictCache - 1;
  snprintf(ic->verdicts[slot].domain, sizeof(ic->verdicts[slot].domain), "%s", domain);
  ic->verdicts[slot].ok = ok;
  ic->verdicts[slot].method = method;
}

// verdict_method returns how |domain|'s certificate verdict was reached on
// this stream (pkix unless POSH proved it).
static fg_auth_method verdict_method(const in_conn *ic, const char *domain) {
  for (int i = 0; i < ic->n_verdicts; i++) {
    if (strcmp(ic->verdicts[i].domain, domain) == 0) return ic->verdicts[i].method;
  }
  return FG_AUTH_PKIX;
}

static void posh_ignored(void *arg) {
  (void)arg;
}

// posh_proves says whether |domain|'s POSH document (RFC 7711) lists the
// peer's certificate, from this worker's cache. A domain not cached yet
// (one the stream names after its header: XEP-0344 dialback for another
// domain) is fetched in the background for later streams.
static int posh_proves(in_conn *ic, const char *domain, const STACK_OF(CRYPTO_BUFFER) * chain) {
  fg_server *srv = ic->srv;
  if (srv->posh == NULL || ic->listener == FG_LISTENER_INTERNAL) return 0;
  fg_worker *w = fg_conn_worker(ic->conn);
  fg_posh_verdict v =
      fg_posh_auth_verify(srv->posh, w, domain, chain, fg_s2s_in_stream_id(ic->s2s));
  if (v == FG_POSH_VERDICT_UNKNOWN)
    fg_posh_auth_fetch_start(srv->posh, w, domain, posh_ignored, NULL);
  return v == FG_POSH_VERDICT_MATCH;
}

// op_cert_valid_for checks the peer's chain and identity for |domain| once
// per domain and stream (RFC 6120 §13.7.2, inbound: serverAuth or clientAuth).
static int op_cert_valid_for(void *arg, const char *domain) {
  in_conn *ic = arg;
  for (int i = 0; i < ic->n_verdicts; i++) {
    if (strcmp(ic->verdicts[i].domain, domain) == 0) return ic->verdicts[i].ok;
  }
  if (!peer_may_claim(ic, domain)) {
    // Logged once per stream and domain (the verdict is remembered below).
    fg_log(FG_LOG_SEV_WARN, fg_s2s_in_stream_id(ic->s2s), domain,
           "certificate not used for the domain: %s (from %s)",
           ic->listener == FG_LISTENER_INTERNAL ? "not a hosted domain"
                                                : "a hosted domain claimed from outside",
           ic->ip);
    remember_verdict(ic, domain, 0, FG_AUTH_PKIX);
    return 0;
  }
  // The internal listener: a certificate valid for a hosted domain proves
  // nothing from an address that is not that domain's backend (fedgate's
  // own outbound links present hosted domains' certificates).
  int source_ok = ic->listener != FG_LISTENER_INTERNAL || source_is_backend(ic, domain);
  if (!source_ok) {
    fg_metrics_inc(&ic->srv->metrics, FG_M_AUTH_REFUSED_SOURCE);
    fg_log(FG_LOG_SEV_WARN, fg_s2s_in_stream_id(ic->s2s), domain,
           "authentication refused: %s is not an address of this domain's backend", ic->ip);
  }
  fg_tls_conn *t = fg_conn_tls(ic->conn);
  const STACK_OF(CRYPTO_BUFFER) *chain = t ? SSL_get0_peer_certificates(fg_tls_conn_ssl(t)) : NULL;
  int ok = 0;
  fg_auth_method method = FG_AUTH_PKIX;
  const fg_snapshot *s = cur(ic);
  unsigned flags = s->cfg->tls.legacy_cn_id ? FG_IDENTITY_LEGACY_CN_ID : 0;
  // Revocation of remote servers' certificates (the internal servers are
  // not checked): from the shared cache, filled before this stream's
  // authentication went on (see revocation_prefetch).
  fg_revocation_probe probe;
  fg_revocation_probe_init(&probe, ic->srv->revocation, s->cfg,
                           ic->srv->revocation != NULL && ic->listener != FG_LISTENER_INTERNAL
                               ? fg_revocation_mode_in(s->cfg, domain)
                               : FG_REVOCATION_OFF,
                           0);
  fg_verdict_scope scope = verdict_scope(ic, FG_VERDICT_INBOUND, probe.mode);
  fg_verdict_key key;
  int64_t now = (int64_t)time(NULL);
  int keyed = fg_verdict_key_make(&key, chain, domain, &scope);
  if (keyed && fg_verdict_cache_hit(&key, now)) {
    ok = 1;
    fg_metrics_inc(&ic->srv->metrics, FG_M_VERDICT_CACHE_HITS);
  } else if (probe.mode != FG_REVOCATION_OFF && !ic->rev_sought && chain != NULL &&
             sk_CRYPTO_BUFFER_num(chain) > 0) {
    // The stream named a domain that is not checked, and now claims one that
    // is (XEP-0344 dialback): an empty cache here is not "no answer" (nobody
    // asked), so the certificate proves nothing; dialback still can.
    fg_log(FG_LOG_SEV_INFO, fg_s2s_in_stream_id(ic->s2s), domain,
           "certificate not used for the domain: its revocation was not checked on this "
           "stream (from %s)",
           ic->ip);
  } else if (source_ok && chain != NULL && sk_CRYPTO_BUFFER_num(chain) > 0) {
    fg_peer_verdict v;
    fg_chain_params params = {.role = FG_ROLE_INBOUND, .at = now};
    fg_revocation_params(&params, &probe);
    const fg_trust_store *ts = ic->listener == FG_LISTENER_INTERNAL ? s->trust_internal : s->trust;
    ok = fg_peer_verify(&v, ts, chain, domain, "xmpp-server", flags, &params);
    int64_t until = v.chain.valid_until;
    if (probe.expires != 0 && probe.expires < until) until = probe.expires;
    if (ok && keyed) fg_verdict_cache_put(&key, now, until);
    if (probe.revoked) fg_metrics_inc(&ic->srv->metrics, FG_M_PEERS_REFUSED_REVOKED);
    if (!ok && !probe.revoked && ic->dane_domain != NULL && strcmp(ic->dane_domain, domain) == 0) {
      // tls.dane_inbound: the peer's own TLSA records authenticated this
      // chain for it (dane_prefetch); PKIX did not.
      ok = 1;
      method = ic->dane_method;
      fg_log(FG_LOG_SEV_INFO, fg_s2s_in_stream_id(ic->s2s), domain,
             "certificate valid for the domain by DANE (PKIX: chain %s) (from %s)", v.chain.reason,
             ic->ip);
    }
    // RFC 7711: a certificate PKIX refuses (not a revoked one) may still be
    // the one the domain publishes over HTTPS.
    if (!ok && !probe.revoked && posh_proves(ic, domain, chain)) {
      ok = 1;
      method = FG_AUTH_POSH;
      fg_log(FG_LOG_SEV_INFO, fg_s2s_in_stream_id(ic->s2s), domain,
             "certificate proved by POSH (PKIX: chain %s, identity %s) (from %s)", v.chain.reason,
             fg_identity_status_string(v.identity.status), ic->ip);
    }
    if (!ok) {
      fg_log(FG_LOG_SEV_INFO, fg_s2s_in_stream_id(ic->s2s), domain,
             "certificate not valid for the domain: chain %s, identity %s%s%s%s%s (from %s)",
             v.chain.reason, fg_identity_status_string(v.identity.status),
             v.san_error ? ", identifiers: " : "", v.san_error ? v.san_error : "",
             probe.why[0] ? ", revocation: " : "", probe.why, ic->ip);
    }
    fg_peer_verdict_cleanup(&v);
  }
  remember_verdict(ic, domain, ok, method);
  return ok;
}

static int op_dialback_verify(void *arg, const char *originating, const char *receiving,
                              const uint8_t *key, size_t key_len, const char *stream_id) {
  in_conn *ic = arg;
  if (!peer_may_claim(ic, originating)) {
    fg_log(FG_LOG_SEV_WARN, stream_id, originating, "dialback refused: %s",
           ic->listener == FG_LISTENER_INTERNAL ? "not a hosted domain"
                                                : "a hosted domain claimed from outside");
    return 0;
  }
  if (ic->listener == FG_LISTENER_INTERNAL && !source_is_backend(ic, originating)) {
    fg_metrics_inc(&ic->srv->metrics, FG_M_AUTH_REFUSED_SOURCE);
    fg_log(FG_LOG_SEV_WARN, stream_id, originating,
           "dialback refused: %s is not an address of this domain's backend", ic->ip);
    return 0;
  }
  fg_metrics_inc(&ic->srv->metrics, FG_M_DIALBACK_VERIFY_ASKED);
  return fg_link_verify(ic->srv, fg_conn_worker(ic->conn), receiving, originating, stream_id, key,
                        key_len);
}

static fg_stanza_condition op_route(void *arg, const fg_xml_element *el, const char *from,
                                    const char *to) {
  in_conn *ic = arg;
  size_t n = 0;
  const fg_xml_nsdecl *context = fg_s2s_in_context(ic->s2s, &n);
  fg_inbound_stanza_header(&ic->checks, fg_s2s_in_headers(ic->s2s), context, n,
                           fg_s2s_in_lang(ic->s2s));
  return fg_inbound_stanza_route(&ic->checks, el, from, to);
}

static void op_bounce(void *arg, const uint8_t *stanza, size_t len, const char *local,
                      const char *to_domain) {
  in_conn *ic = arg;
  fg_link_bounce(ic->srv, fg_conn_worker(ic->conn), local, to_domain, stanza, len);
}

// kEvents says, per session event, which counter it moves (FG_M_COUNT: none
// or chosen below) and how it is logged.
static const struct {
  fg_metric metric;
  fg_log_severity severity;
  const char *what;  // printf format taking |detail|; NULL: not logged
} kEvents[FG_S2S_IN_EV_COUNT] = {
    // Logged by op_event with how the peer was proved.
    [FG_S2S_IN_EV_AUTHENTICATED] = {FG_M_COUNT, FG_LOG_SEV_INFO, NULL},
    [FG_S2S_IN_EV_STREAM_ERROR_SENT] = {FG_M_COUNT, FG_LOG_SEV_WARN, "stream error sent: %s"},
    [FG_S2S_IN_EV_DIALBACK_INVALID] = {FG_M_DIALBACK_INVALID, FG_LOG_SEV_WARN,
                                       "dialback key invalid for %s"},
    [FG_S2S_IN_EV_DIALBACK_UNSOLICITED] = {FG_M_DIALBACK_UNSOLICITED, FG_LOG_SEV_WARN,
                                           "unsolicited dialback answer: %s"},
    [FG_S2S_IN_EV_SASL_FAILURE] = {FG_M_SASL_FAILURES, FG_LOG_SEV_WARN, "SASL failure: %s"},
    [FG_S2S_IN_EV_STANZA_ROUTED] = {FG_M_COUNT, FG_LOG_SEV_DEBUG, NULL},
    [FG_S2S_IN_EV_STANZA_BOUNCED] = {FG_M_COUNT, FG_LOG_SEV_INFO, "stanza bounced: %s"},
    [FG_S2S_IN_EV_STANZA_DROPPED] = {FG_M_STANZAS_NOT_BOUNCED, FG_LOG_SEV_INFO,
                                     "undeliverable stanza not bounced (%s)"},
    [FG_S2S_IN_EV_PEER_STREAM_ERROR] = {FG_M_COUNT, FG_LOG_SEV_INFO,
                                        "peer closed the stream with error %s"},
    [FG_S2S_IN_EV_DIALBACK_VERIFY_ANSWERED] = {FG_M_DIALBACK_VERIFY_ANSWERED, FG_LOG_SEV_INFO,
                                               "dialback key verified for the peer: %s"},
    [FG_S2S_IN_EV_SM_ENABLED] = {FG_M_SM_IN_ENABLED, FG_LOG_SEV_DEBUG, NULL},
    [FG_S2S_IN_EV_SM_REFUSED] = {FG_M_SM_IN_REFUSED, FG_LOG_SEV_INFO,
                                 "stream management refused: %s"},
    [FG_S2S_IN_EV_SM_ACK_SENT] = {FG_M_SM_IN_ACKS_SENT, FG_LOG_SEV_DEBUG, NULL},
    [FG_S2S_IN_EV_SM_RESUMED] = {FG_M_SM_IN_RESUMED, FG_LOG_SEV_INFO,
                                 "stream management: stream %s resumed"},
    [FG_S2S_IN_EV_DIALBACK_REFUSED] = {FG_M_DIALBACK_REFUSED, FG_LOG_SEV_WARN,
                                       "dialback refused: %s"},
    // Logged by op_event (with the peer's address).
    [FG_S2S_IN_EV_BIDI_ENABLED] = {FG_M_BIDI_STREAMS_IN, FG_LOG_SEV_INFO, NULL},
    // Counted and logged by sent_back_again.
    [FG_S2S_IN_EV_SM_SENT_BACK_AGAIN] = {FG_M_COUNT, FG_LOG_SEV_DEBUG, NULL},
};

// --- XEP-0288: this stream as the way out to its peer's domains ---

// count_written counts a stanza this side wrote on a bidirectional stream
// as a link does: delivered (or a bounce sent) once acknowledged with
// XEP-0198, at once without.
static void count_written(fg_server *srv, int is_bounce) {
  fg_metrics_inc(&srv->metrics, is_bounce ? FG_M_BOUNCES_SENT : FG_M_STANZAS_DELIVERED);
}

static int bidi_send(void *owner, const char *local, const char *remote, const uint8_t *data,
                     size_t len, int is_bounce) {
  in_conn *ic = owner;
  // A peer that does not read what this side writes gets no more: the
  // stanza takes an outbound link, whose flow control pauses its sender.
  if (fg_conn_write_blocked(ic->conn)) return 0;
  if (!fg_s2s_in_bidi_send(ic->s2s, local, remote, data, len, is_bounce)) return 0;
  int sm = 0;
  fg_s2s_in_sm_handled(ic->s2s, &sm);
  if (!sm) count_written(ic->srv, is_bounce);
  return 1;
}

static void op_bidi_acked(void *arg, const fg_sm_item *it) {
  in_conn *ic = arg;
  fg_metrics_inc(&ic->srv->metrics, FG_M_STANZAS_ACKED);
  count_written(ic->srv, it->tag);
}

// bidi_register offers the stream to delivery under each domain its peer
// authenticated (or asked to) on it, once the peer enabled bidi.
static void bidi_register(in_conn *ic) {
  if (!fg_s2s_in_bidi(ic->s2s)) return;
  worker_state *ws = ws_of(ic);
  const char *d;
  for (size_t i = 0; (d = fg_s2s_in_pair_from(ic->s2s, i)) != NULL; i++) {
    if (!fg_bidi_streams_add(&ws->bidi, d, ic, bidi_send)) {
      fg_log(FG_LOG_SEV_WARN, fg_s2s_in_stream_id(ic->s2s), d,
             "out of memory: stream not used for stanzas to %s", d);
    }
  }
}

// sent_back_parked parks the ended stream of |ic| with what it wrote back
// unacknowledged when the peer may resume it (XEP-0198 §5, bidi_park.h): a
// resumable stream that broke. One that was closed (RFC 6120 §4.4, by
// either side, or with a stream error) is over: nothing resumes it.
static int sent_back_parked(in_conn *ic) {
  const char *sm_id = fg_s2s_in_sm_id(ic->s2s);
  if (ic->srv->sm_registry == NULL || !sm_id[0] || fg_s2s_in_is_closed(ic->s2s) ||
      fg_s2s_in_is_closing(ic->s2s) || fg_s2s_in_bidi_unacked(ic->s2s, NULL) == 0) {
    return 0;
  }
  int enabled;
  uint32_t h = fg_s2s_in_sm_handled(ic->s2s, &enabled);
  uint32_t acked = fg_s2s_in_bidi_acked(ic->s2s);
  fg_sm_item *items = fg_s2s_in_bidi_take_unacked(ic->s2s);
  if (fg_bidi_park(ic->srv, fg_conn_worker(ic->conn), fg_s2s_in_stream_id(ic->s2s), sm_id, h, items,
                   acked)) {
    return 1;
  }
  fg_bidi_resend(ic->srv, fg_conn_worker(ic->conn), fg_s2s_in_stream_id(ic->s2s), items);
  return 1;
}

static void bidi_unregister(in_conn *ic) {
  if (ic->s2s == NULL) return;
  if (fg_s2s_in_bidi(ic->s2s)) {
    worker_state *ws = ws_of(ic);
    const char *d;
    for (size_t i = 0; (d = fg_s2s_in_pair_from(ic->s2s, i)) != NULL; i++) {
      fg_bidi_streams_remove(&ws->bidi, d, ic);
    }
  }
  // A stream that is not bidirectional itself may hold stanzas written back
  // too: those a resumption handed it, when it ended before taking them (an
  // h above them, XEP-0198 §4). A resumable stream that broke keeps what the
  // peer did not acknowledge for the stream that resumes it.
  if (sent_back_parked(ic)) return;
  // With XEP-0198, what the peer did not acknowledge goes out again on
  // another way (a link); without, what this side wrote on a stream that
  // did not end cleanly may be lost and is counted, as on links.
  uint64_t written = 0;
  int sm = 0;
  fg_s2s_in_sm_handled(ic->s2s, &sm);
  fg_s2s_in_bidi_unacked(ic->s2s, &written);
  if (sm) {
    fg_bidi_resend(ic->srv, fg_conn_worker(ic->conn), fg_s2s_in_stream_id(ic->s2s),
                   fg_s2s_in_bidi_take_unacked(ic->s2s));
  } else if (written > 0 && !fg_s2s_in_is_closed(ic->s2s)) {
    fg_metrics_add(&ic->srv->metrics, FG_M_STANZAS_UNCONFIRMED, written);
  }
}

// sent_back_again: a resumed stream took what the ended one wrote back and
// the peer had not handled (XEP-0198 §5). Written again on it when it is
// bidirectional; otherwise the peer takes no stanza back on it, and they go
// out another way at once.
static void sent_back_again(in_conn *ic, const char *n) {
  if (fg_s2s_in_bidi(ic->s2s)) {
    fg_metrics_add(&ic->srv->metrics, FG_M_STANZAS_RESENT, strtoull(n, NULL, 10));
    fg_log(FG_LOG_SEV_INFO, fg_s2s_in_stream_id(ic->s2s), fg_s2s_in_peer(ic->s2s),
           "stream management: %s stanzas written back unacknowledged sent again on the resumed "
           "stream",
           n);
    return;
  }
  fg_bidi_resend(ic->srv, fg_conn_worker(ic->conn), fg_s2s_in_stream_id(ic->s2s),
                 fg_s2s_in_bidi_take_unacked(ic->s2s));
}

static void op_event(void *arg, fg_s2s_in_event ev, const char *domain, const char *detail) {
  in_conn *ic = arg;
  fg_metrics *m = &ic->srv->metrics;
  if (ev >= FG_S2S_IN_EV_COUNT) return;
  if (kEvents[ev].metric != FG_M_COUNT) fg_metrics_inc(m, kEvents[ev].metric);
  if (ev == FG_S2S_IN_EV_AUTHENTICATED) {
    ic->authenticated = 1;
    ic->trim_due = 1;  // negotiation is over: most streams now go quiet
    // A look soon after the stream restart: a stream that stays quiet gives
    // back what the restart's header took (see tick).
    fg_worker_timer_arm(fg_conn_worker(ic->conn), &ic->tick, kQuietMs + 500);
    fg_metrics_inc(m, strcmp(detail, "sasl-external") == 0 ? FG_M_AUTH_SASL_EXTERNAL
                      : strcmp(detail, "dialback") == 0    ? FG_M_AUTH_DIALBACK
                                                           : FG_M_AUTH_DIALBACK_CERT);
    ic->auth = strcmp(detail, "dialback") == 0 ? FG_AUTH_DIALBACK : verdict_method(ic, domain);
    fg_metrics_auth_method(m, 0, ic->auth);
    // With the peer's address (behind a balancer, the one its PROXY header
    // named).
    fg_log(FG_LOG_SEV_INFO, fg_s2s_in_stream_id(ic->s2s), domain,
           "authenticated by %s, proved by %s (from %s)", detail, fg_auth_method_name(ic->auth),
           ic->ip);
  } else if (ev == FG_S2S_IN_EV_STREAM_ERROR_SENT) {
    fg_metrics_stream_error(m, detail);
  } else if (ev == FG_S2S_IN_EV_BIDI_ENABLED) {
    fg_log(FG_LOG_SEV_INFO, fg_s2s_in_stream_id(ic->s2s), domain,
           "stream became bidirectional (XEP-0288): stanzas to %s may leave on it (from %s)",
           domain[0] ? domain : "the peer", ic->ip);
  }
  if (ev == FG_S2S_IN_EV_SM_SENT_BACK_AGAIN) sent_back_again(ic, detail);
  if (ev == FG_S2S_IN_EV_AUTHENTICATED || ev == FG_S2S_IN_EV_BIDI_ENABLED) {
    bidi_register(ic);
  } else if (ev == FG_S2S_IN_EV_STANZA_BOUNCED) {
    fg_metrics_bounce(m, fg_stanza_condition_from_name(detail, strlen(detail)));
  }
  if (kEvents[ev].what != NULL) {
    fg_log(kEvents[ev].severity, ic->s2s ? fg_s2s_in_stream_id(ic->s2s) : "", domain,
           kEvents[ev].what, detail);
  }
}

static void posh_ready(void *arg) {
  in_conn *ic = arg;
  ic->posh_fetch = NULL;
  fg_s2s_in_send_features(ic->s2s);
}

static void dane_ready(void *arg, int ok, const char *why);

// dane_hold (tls.dane_inbound) starts the TLSA lookup for a direct-TLS
// stream (XEP-0368), whose peer names its domain only in the first header
// after the handshake (a STARTTLS stream named it before, and on_secure
// looked it up then): the features wait for it, so that SASL EXTERNAL can
// be offered when the peer's own TLSA records prove its certificate.
static int dane_hold(in_conn *ic, const char *peer) {
  fg_server *srv = ic->srv;
  if (ic->dane_tried || ic->dane_q != NULL || !cur(ic)->cfg->tls.dane_inbound ||
      srv->boot_cfg->n_dns_trusted_resolvers == 0 || ic->listener == FG_LISTENER_INTERNAL ||
      peer == NULL || peer[0] == 0 || !peer_may_claim(ic, peer)) {
    return 0;
  }
  fg_tls_conn *t = fg_conn_tls(ic->conn);
  const STACK_OF(CRYPTO_BUFFER) *chain = t ? SSL_get0_peer_certificates(fg_tls_conn_ssl(t)) : NULL;
  if (chain == NULL || sk_CRYPTO_BUFFER_num(chain) == 0) return 0;
  ic->dane_tried = 1;
  ic->dane_q = fg_dane_inbound_start(srv, fg_conn_worker(ic->conn), peer, chain, dane_ready, ic);
  if (ic->dane_q == NULL) return 0;
  ic->dane_holds_features = 1;
  return 1;
}

// op_hold_features: a stream header over TLS named |peer| (after STARTTLS,
// or the first one of direct TLS). When the peer's certificate does not
// prove |peer| by PKIX and POSH is on, |peer|'s POSH document (RFC 7711) is
// fetched first, so that the features can offer SASL EXTERNAL (XEP-0178)
// when it lists the certificate. Only this stream waits (its peer waits for
// the features); the worker goes on.
static int op_hold_features(void *arg, const char *peer) {
  in_conn *ic = arg;
  fg_server *srv = ic->srv;
  if (dane_hold(ic, peer)) return 1;
  if (srv->posh == NULL || ic->listener == FG_LISTENER_INTERNAL || ic->posh_fetch != NULL ||
      !peer_may_claim(ic, peer)) {
    return 0;
  }
  fg_tls_conn *t = fg_conn_tls(ic->conn);
  const STACK_OF(CRYPTO_BUFFER) *chain = t ? SSL_get0_peer_certificates(fg_tls_conn_ssl(t)) : NULL;
  if (chain == NULL || sk_CRYPTO_BUFFER_num(chain) == 0) return 0;
  fg_peer_verdict v;
  fg_chain_params params = {.role = FG_ROLE_INBOUND};
  const fg_snapshot *s = cur(ic);
  unsigned flags = s->cfg->tls.legacy_cn_id ? FG_IDENTITY_LEGACY_CN_ID : 0;
  int pkix = fg_peer_verify(&v, s->trust, chain, peer, "xmpp-server", flags, &params);
  fg_peer_verdict_cleanup(&v);
  if (pkix) return 0;
  ic->posh_fetch =
      fg_posh_auth_fetch_start(srv->posh, fg_conn_worker(ic->conn), peer, posh_ready, ic);
  if (ic->posh_fetch == NULL) return 0;  // the cache answers
  fg_metrics_inc(&srv->metrics, FG_M_POSH_WAITS);
  return 1;
}

// op_peer_refused: a remote server names |domain| that the block lists
// refuse. Internal servers are never refused here.
static int op_peer_refused(void *arg, const char *domain, char *why, size_t why_len) {
  in_conn *ic = arg;
  if (ic->listener == FG_LISTENER_INTERNAL) return 0;
  if (!ic->domain_admitted && ic->srv->limits != NULL) {
    // abuse.limits.domain_connections: one new connection per connection,
    // counted at the first header that names the domain (on 5269 before
    // any TLS work), whatever the address it comes from.
    ic->domain_admitted = 1;
    int first = 0;
    if (!fg_abuse_limits_admit_domain(ic->srv->limits, domain,
                                      fg_worker_now_ns(fg_conn_worker(ic->conn)), &first)) {
      fg_metrics_inc(&ic->srv->metrics, FG_M_LIMITED_CONNECTIONS_DOMAIN);
      snprintf(why, why_len, "too many new connections from %s (abuse.limits.domain_connections)",
               domain);
      if (first) {
        fg_log(FG_LOG_SEV_WARN, fg_s2s_in_stream_id(ic->s2s), domain,
               "new streams from %s refused: over abuse.limits.domain_connections (from %s; "
               "logged once while it lasts)",
               domain, ic->ip);
      }
      return 1;
    }
  }
  if (!fg_blocks_domain_refused(ic->srv->blocks, domain, why, why_len)) return 0;
  fg_metrics_inc(&ic->srv->metrics, FG_M_BLOCKED_STREAMS);
  fg_log(FG_LOG_SEV_WARN, fg_s2s_in_stream_id(ic->s2s), domain,
         "stream from %s refused: domain blocked (%s)", ic->ip, why);
  return 1;
}

// --- XEP-0198 §5 resumption (gateway/server/sm_registry.h) ---

static uint64_t monotonic_ms(void) {
  return fg_clock_ns() / 1000000;  // io/timer.h
}

static int op_sm_open(void *arg, const char *id) {
  in_conn *ic = arg;
  fg_sm_registry *reg = ic->srv->sm_registry;
  return reg != NULL &&
         fg_sm_registry_open(reg, id, fg_s2s_in_peer(ic->s2s), fg_s2s_in_local(ic->s2s));
}

static int op_sm_resume(void *arg, const char *id, uint32_t *out_h, fg_sm_item **out_sent_back,
                        uint32_t *out_acked) {
  in_conn *ic = arg;
  fg_sm_registry *reg = ic->srv->sm_registry;
  if (reg == NULL) return 0;
  fg_sm_resume_verdict v =
      fg_sm_registry_resume(reg, id, fg_s2s_in_peer(ic->s2s), fg_s2s_in_local(ic->s2s),
                            monotonic_ms(), out_h, out_sent_back, out_acked);
  if (v == FG_SM_RESUME_OK) return 1;
  fg_log(FG_LOG_SEV_INFO, fg_s2s_in_stream_id(ic->s2s), fg_s2s_in_peer(ic->s2s),
         "stream management: resumption of %s refused: %s", id, fg_sm_resume_verdict_name(v));
  return 0;
}

// sm_park makes the ended stream of |ic| resumable with what it handled.
static void sm_park(in_conn *ic) {
  if (ic->s2s == NULL || ic->srv->sm_registry == NULL || !fg_s2s_in_sm_id(ic->s2s)[0]) return;
  int enabled;
  uint32_t h = fg_s2s_in_sm_handled(ic->s2s, &enabled);
  fg_sm_registry_park(ic->srv->sm_registry, fg_s2s_in_sm_id(ic->s2s), h, monotonic_ms());
}

static const fg_s2s_in_ops kOps = {
    op_send,           op_is_hosted,       op_plaintext_allowed,
    op_cert_valid_for, op_dialback_verify, op_route,
    op_bounce,         op_event,           op_hold_features,
    op_peer_refused,   op_sm_open,         op_sm_resume,
    op_bidi_acked,
};

// refused_domain returns a domain of |ic|'s peer that the block lists now
// refuse (its header's or any pair's), writing why, or NULL.
static const char *refused_domain(in_conn *ic, fg_blocks *b, char *why, size_t why_len) {
  const char *peer = fg_s2s_in_peer(ic->s2s);
  if (peer[0] && fg_blocks_domain_refused(b, peer, why, why_len)) return peer;
  const char *d;
  for (size_t i = 0; (d = fg_s2s_in_pair_from(ic->s2s, i)) != NULL; i++) {
    if (fg_blocks_domain_refused(b, d, why, why_len)) return d;
  }
  return NULL;
}

size_t fg_inbound_close_refused(worker_state *ws, fg_blocks *b) {
  size_t n = 0;
  for (in_conn *ic = ws->streams; ic != NULL; ic = ic->next) {
    if (ic->s2s == NULL || ic->listener == FG_LISTENER_INTERNAL || fg_s2s_in_is_closed(ic->s2s)) {
      continue;
    }
    char why[300], text[400];
    const char *d = refused_domain(ic, b, why, sizeof(why));
    if (d == NULL) continue;
    fg_metrics_inc(&ic->srv->metrics, FG_M_BLOCKED_STREAMS);
    fg_log(FG_LOG_SEV_WARN, fg_s2s_in_stream_id(ic->s2s), d,
           "open stream from %s closed: domain blocked (%s)", ic->ip, why);
    snprintf(text, sizeof(text), "%s is not accepted here: %s", d, why);
    fg_s2s_in_close_with_error(ic->s2s, "policy-violation", text);
    fg_conn_close(ic->conn);
    n++;
  }
  return n;
}

// tls_required says whether |cfg| requires TLS on |ic|'s listener.
static int tls_required(const in_conn *ic, const fg_config *cfg) {
  return ic->listener == FG_LISTENER_INTERNAL ? !cfg->internal_hop.plaintext : cfg->tls.required;
}

void fg_inbound_snapshot_taken(worker_state *ws) {
  for (in_conn *ic = ws->streams; ic != NULL; ic = ic->next) {
    if (ic->s2s != NULL) fg_s2s_in_config_changed(ic->s2s, tls_required(ic, cur(ic)->cfg));
  }
}

// --- the connection ---

// tick enforces the authentication deadline and the idle timeout with one
// periodic timer per stream instead of a timer update per received chunk.
static void tick(fg_timer *t, void *arg) {
  in_conn *ic = arg;
  const fg_config *cfg = cur(ic)->cfg;
  fg_worker *w = fg_conn_worker(ic->conn);
  uint64_t now = fg_worker_now_ns(w);
  if (!ic->authenticated && cfg->limits.handshake_timeout_ms &&
      now - ic->opened_ns > (uint64_t)cfg->limits.handshake_timeout_ms * 1000000u) {
    fg_s2s_in_close_with_error(ic->s2s, "connection-timeout", "not authenticated in time");
    fg_conn_close(ic->conn);
    return;
  }
  if (cfg->limits.idle_timeout_ms &&
      now - ic->last_rx_ns > (uint64_t)cfg->limits.idle_timeout_ms * 1000000u) {
    fg_s2s_in_close_with_error(ic->s2s, "connection-timeout", "idle");
    fg_conn_close(ic->conn);
    return;
  }
  // A stream quiet for a whole tick gives back its parser's buffers (memory
  // per idle stream); an active one keeps them (no allocation per stanza).
  if (ic->authenticated && ic->last_rx_ns != ic->trimmed_rx_ns) {
    if (now - ic->last_rx_ns >= kQuietMs * 1000000ull) {
      trim(ic);
      ic->trimmed_rx_ns = ic->last_rx_ns;
    }
  }
  // Every second until authenticated; then a quarter of the idle timeout
  // (1 s to 30 s), so that thousands of quiet streams cost little.
  uint64_t next = 1000;
  if (ic->authenticated && cfg->limits.idle_timeout_ms) {
    next = cfg->limits.idle_timeout_ms / 4;
    if (next < 1000) next = 1000;
    if (next > 30000) next = 30000;
    // Received something since it last gave memory back: look again once it
    // may have gone quiet, so that an idle stream is lean within seconds.
    if (ic->last_rx_ns != ic->trimmed_rx_ns && next > kQuietMs + 500) next = kQuietMs + 500;
  }
  fg_worker_timer_arm(w, &ic->tick, next);
}

static void revocation_prefetch(in_conn *ic);

// count_resumed counts a stream whose TLS session was resumed. Such a
// session decided nothing about the peer: its certificate came back out of
// the ticket and is judged like a new one, against today's trust store and
// revocation state, per domain (op_cert_valid_for), for SASL EXTERNAL and
// XEP-0344 alike.
static void count_resumed(in_conn *ic) {
  fg_tls_conn *t = fg_conn_tls(ic->conn);
  if (t != NULL && fg_tls_conn_resumed(t)) fg_metrics_inc(&ic->srv->metrics, FG_M_TLS_RESUMED_IN);
}

static void open_common(fg_conn *c, fg_listener_id listener) {
  fg_server *srv = ((fg_listener_arg *)fg_conn_arg(c))->srv;
  in_conn *ic = calloc(1, sizeof(*ic));
  if (ic == NULL) {
    fg_conn_abort(c, FG_CLOSE_OVERFLOW);
    return;
  }
  ic->magic = kInConnMagic;
  ic->srv = srv;
  ic->snap = fg_snapshot_up_ref(fg_server_snapshot(srv));
  const fg_config *cfg = ic->snap->cfg;
  ic->conn = c;
  ic->flow.conn = c;
  ic->listener = listener;
  fg_conn_set_arg(c, ic);
  // The socket's remote end, or behind a load balancer speaking the PROXY
  // protocol the peer its header named: what limits, logs, /streams and
  // the backend-source checks see.
  fg_addr_text(fg_conn_peer(c), ic->ip, sizeof(ic->ip));
  fg_s2s_in_config sc;
  fg_s2s_in_config_default(&sc);
  sc.limits.max_element_bytes_preauth = cfg->limits.element_bytes_before_auth;
  sc.limits.max_element_bytes_postauth = cfg->limits.element_bytes_after_auth;
  sc.tls_active = fg_conn_mode(c) != FG_CONN_PLAIN;
  sc.tls_required = tls_required(ic, cfg);
  sc.dialback_secret = ic->snap->have_db_secret ? &ic->snap->db_secret : NULL;
  sc.dialback = cfg->dialback.enabled;
  sc.sm = cfg->sm.enabled;  // XEP-0198 acks, public listeners and the internal hop
  sc.sm_resume_s = srv->sm_registry != NULL ? cfg->sm.resume_timeout_s : 0;
  sc.stream_tag = srv->stream_tag;
  // XEP-0288: remote servers (bidi.enabled) and internal servers
  // (internal_hop.bidi, gateway/server/bidi_hop.h).
  sc.bidi = listener == FG_LISTENER_INTERNAL ? cfg->internal_hop.bidi : cfg->bidi.enabled;
  sc.bidi_sm_request_every = cfg->sm.request_every;
  sc.bidi_sm_max_stanzas = cfg->limits.queue_stanzas;
  sc.bidi_sm_max_bytes = cfg->limits.queue_bytes;
  ic->s2s = fg_s2s_in_new(&sc, &kOps, ic);
  if (ic->s2s != NULL) {
    fg_inbound_stanza_init(&ic->checks, srv, c, &ic->flow, listener == FG_LISTENER_INTERNAL, ic->ip,
                           fg_s2s_in_stream_id(ic->s2s));
  }
  worker_state *ws = ws_of(ic);
  ic->next = ws->streams;
  if (ws->streams) ws->streams->prev = ic;
  ws->streams = ic;
  fg_metrics_inc(&srv->metrics, FG_M_STREAMS_IN_ACCEPTED);
  if (ic->s2s == NULL) {
    fg_conn_abort(c, FG_CLOSE_OVERFLOW);
    return;
  }
  fg_worker *w = fg_conn_worker(c);
  ic->opened_ns = ic->last_rx_ns = fg_worker_now_ns(w);
  fg_timer_init(&ic->tick, tick, ic);
  fg_worker_timer_arm(w, &ic->tick, 1000);
  // Direct TLS (XEP-0368) opens after the handshake, without on_secure.
  if (sc.tls_active) {
    count_resumed(ic);
    revocation_prefetch(ic);
  }
  // Streams per IP address (limits.streams_per_ip). The internal servers are
  // exempt: the backends' addresses, not whoever reaches the internal listener.
  if (cfg->limits.streams_per_ip &&
      !(listener == FG_LISTENER_INTERNAL && source_is_any_backend(ic))) {
    unsigned n = 0;
    ic->counted_ip =
        fg_ip_limits_acquire(srv->ip_limits, peer_addr(ic), cfg->limits.streams_per_ip, &n);
    if (!ic->counted_ip) {
      fg_metrics_inc(&srv->metrics, FG_M_STREAMS_IN_REFUSED_PER_IP);
      fg_log(FG_LOG_SEV_WARN, NULL, ic->ip, "too many streams from this address (%u)", n);
      fg_s2s_in_close_with_error(ic->s2s, "policy-violation", "too many streams from your address");
      fg_conn_close(c);
    }
  }
}

// on_proxy_header counts a PROXY protocol header read, or logs and counts
// why the connection from |c|'s source (a balancer, or someone who is not
// one) was refused.
static void on_proxy_header(fg_conn *c, fg_proxy_error why) {
  fg_server *srv = ((fg_listener_arg *)fg_conn_arg(c))->srv;
  if (why == FG_PROXY_OK) {
    fg_metrics_inc(&srv->metrics, FG_M_PROXY_HEADERS_ACCEPTED);
    // abuse.limits.connections counts the remote server the header names,
    // not the balancer (whose own connections, LOCAL health checks, are
    // not counted).
    if (fg_conn_proxy_named_peer(c) &&
        !fg_admit_address(srv, fg_conn_peer(c), "after the PROXY header")) {
      fg_conn_abort(c, FG_CLOSE_LOCAL);
    }
    return;
  }
  char ip[64] = "";
  fg_addr_text(fg_conn_peer(c), ip, sizeof(ip));
  fg_metrics_proxy_refused(&srv->metrics, why);
  // A connection that ends before its first byte is a balancer's TCP check
  // more often than not: noted, not warned about.
  fg_log(why == FG_PROXY_ERR_EMPTY ? FG_LOG_SEV_INFO : FG_LOG_SEV_WARN, NULL, ip,
         "connection refused: PROXY protocol %s: %s", fg_proxy_error_name(why),
         fg_proxy_error_text(why));
}

static void on_open_s2s(fg_conn *c) {
  open_common(c, FG_LISTENER_S2S);
}
static void on_open_s2s_tls(fg_conn *c) {
  open_common(c, FG_LISTENER_S2S_TLS);
}
static void on_open_internal(fg_conn *c) {
  open_common(c, FG_LISTENER_INTERNAL);
}

// may_mint says whether the internal listener presents a certificate minted
// for the stream's 'to': only to an internal server (a backend address)
// addressing a remote domain, which checks that the gateway stands for it.
// Anyone else gets the configured certificate: minting is never done for
// names picked by strangers.
static int may_mint(const in_conn *ic, const char *local) {
  size_t backend;
  const fg_snapshot *s = cur(ic);
  if (ic->listener != FG_LISTENER_INTERNAL || s->ica == NULL || local[0] == 0) return 0;
  if (fg_router_lookup(s->router, local, strlen(local), &backend)) return 0;
  return source_is_any_backend(ic);
}

// starttls_cert_cb picks the certificate for a STARTTLS handshake: by the
// stream's 'to' when it names a certificate of ours, else by SNI, else the
// default. 'to' comes first: it is the domain the peer authenticates
// (RFC 6120 §13.7.2.1), while SNI on STARTTLS is often something else:
// Prosody 0.12 sends none, and with DANE (use_dane) OpenSSL's
// SSL_dane_enable sends the TLSA base domain, the SRV target host name,
// which may serve many hosted domains.
static int starttls_cert_cb(SSL *ssl, void *arg) {
  in_conn *ic = arg;
  const char *local = fg_s2s_in_local(ic->s2s);
  const fg_snapshot *s = cur(ic);
  if (may_mint(ic, local)) {
    // Internal hop, mode internal-ca: the internal server addressed a remote
    // domain; present the certificate minted for it.
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    if (!fg_internal_ca_get(s->ica, local, time(NULL), &x, &k)) return 0;
    int ok = fg_tls_use_x509(ssl, x, k);
    X509_free(x);
    EVP_PKEY_free(k);
    return ok;
  }
  fg_tls_cert *cert = fg_tls_sni_find(s->sni, local);
  if (cert == NULL) {
    cert = fg_tls_sni_lookup(s->sni, SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
  }
  return cert != NULL && fg_tls_cert_apply(cert, ssl);
}

static size_t on_data(fg_conn *c, const uint8_t *data, size_t len) {
  in_conn *ic = fg_conn_arg(c);
  if (ic == NULL || ic->magic != kInConnMagic || ic->s2s == NULL) return len;
  ic->last_rx_ns = fg_worker_now_ns(fg_conn_worker(c));
  size_t used = 0;
  fg_s2s_in_status st = fg_s2s_in_feed(ic->s2s, data, len, &used);
  if (fg_inbound_stanza_over_limit(&ic->checks) && st != FG_S2S_IN_CLOSED) {
    // Over a rate limit for abuse.limits.sustained (inbound_stanza.h).
    st = fg_s2s_in_close_with_error(ic->s2s, "policy-violation",
                                    "sustained excess over the rate limits");
  }
  if (ic->trim_due && st == FG_S2S_IN_CONTINUE) {
    ic->trim_due = 0;
    trim(ic);
  }
  switch (st) {
    case FG_S2S_IN_CONTINUE:
      return used;
    case FG_S2S_IN_STARTTLS:
      if (!fg_conn_starttls(c, ic->srv->tls_starttls, NULL)) {
        fg_conn_abort(c, FG_CLOSE_TLS_ERROR);
        return len;
      }
      if (fg_conn_tls(c) != NULL) {
        SSL_set_cert_cb(fg_tls_conn_ssl(fg_conn_tls(c)), starttls_cert_cb, ic);
      }
      return used;  // the runtime discards the rest (RFC 6120 §5.4.3.3)
    case FG_S2S_IN_CLOSED:
      fg_conn_close(c);
      return len;
  }
  return len;
}

static void revocation_ready(void *arg) {
  in_conn *ic = arg;
  ic->rev_fetch = NULL;
  if (ic->dane_q == NULL) fg_conn_resume_reading(ic->conn);
}

static void dane_ready(void *arg, int ok, const char *why) {
  in_conn *ic = arg;
  ic->dane_q = NULL;
  const char *peer = fg_s2s_in_peer(ic->s2s);
  if (ok) {
    free(ic->dane_domain);
    ic->dane_domain = strdup(peer);  // NULL (out of memory): the records prove nothing
    ic->dane_method = (fg_auth_method)ok;
  }
  fg_log(ok ? FG_LOG_SEV_INFO : FG_LOG_SEV_WARN, fg_s2s_in_stream_id(ic->s2s), peer,
         "inbound DANE: %s: %s (from %s)", ok ? "certificate authenticated" : "not authenticated",
         why, ic->ip);
  if (ic->dane_holds_features) {
    // Direct TLS: the held features go out now (or after a POSH lookup when
    // the TLSA records did not prove the certificate).
    ic->dane_holds_features = 0;
    if (ok || !op_hold_features(ic, peer)) fg_s2s_in_send_features(ic->s2s);
    return;
  }
  if (ic->rev_fetch == NULL) fg_conn_resume_reading(ic->conn);
}

// dane_prefetch (tls.dane_inbound) looks up the TLSA records of the peer
// domain's SRV targets once its certificate and name are known, while this
// stream alone waits: its features (SASL EXTERNAL) are decided with them.
// The domain is the first header's (STARTTLS); a direct TLS stream names
// none before its handshake and gets no inbound DANE.
static void dane_prefetch(in_conn *ic) {
  fg_server *srv = ic->srv;
  // tls.dane_inbound reloads; the resolver's trusted resolvers need a restart.
  if (!cur(ic)->cfg->tls.dane_inbound || srv->boot_cfg->n_dns_trusted_resolvers == 0 ||
      ic->listener == FG_LISTENER_INTERNAL) {
    return;
  }
  const char *peer = fg_s2s_in_peer(ic->s2s);
  fg_tls_conn *t = fg_conn_tls(ic->conn);
  const STACK_OF(CRYPTO_BUFFER) *chain = t ? SSL_get0_peer_certificates(fg_tls_conn_ssl(t)) : NULL;
  if (peer == NULL || peer[0] == 0 || chain == NULL || !peer_may_claim(ic, peer)) return;
  ic->dane_tried = 1;
  ic->dane_q = fg_dane_inbound_start(srv, fg_conn_worker(ic->conn), peer, chain, dane_ready, ic);
  if (ic->dane_q != NULL) fg_conn_pause_reading(ic->conn);
}

// revocation_prefetch runs once the peer's certificate is known: answers
// the shared cache lacks are fetched while this stream's reading is paused,
// so that its authentication is decided with them (and every other stream
// of the worker keeps flowing).
static void revocation_prefetch(in_conn *ic) {
  fg_server *srv = ic->srv;
  const fg_snapshot *s = cur(ic);
  if (srv->revocation == NULL || ic->listener == FG_LISTENER_INTERNAL) return;
  fg_tls_conn *t = fg_conn_tls(ic->conn);
  const STACK_OF(CRYPTO_BUFFER) *chain = t ? SSL_get0_peer_certificates(fg_tls_conn_ssl(t)) : NULL;
  if (chain == NULL || sk_CRYPTO_BUFFER_num(chain) == 0) return;
  // The peer's domain, when its stream has named one, says whether to look;
  // before that (direct TLS, a first header without 'from'), any domain the
  // certificate may authenticate later could be checked.
  const char *peer = fg_s2s_in_peer(ic->s2s);
  fg_revocation_mode mode = fg_revocation_mode_in(s->cfg, peer);
  if (peer == NULL || peer[0] == 0) {
    mode = fg_revocation_needed(s->cfg) ? FG_REVOCATION_SOFT_FAIL : FG_REVOCATION_OFF;
  }
  if (mode == FG_REVOCATION_OFF) return;
  ic->rev_sought = 1;
  // A certificate verdict cached for this chain and domain, or a record
  // that this chain's answers are all in the shared cache, lives no longer
  // than those answers: nothing needs checking, and a reconnecting peer
  // costs no chain verification here.
  int64_t now = (int64_t)time(NULL);
  fg_verdict_key key, known;
  fg_verdict_scope scope = verdict_scope(ic, FG_VERDICT_INBOUND, mode);
  if (peer != NULL && peer[0] != 0 && fg_verdict_key_make(&key, chain, peer, &scope) &&
      fg_verdict_cache_hit(&key, now)) {
    return;
  }
  scope.role = FG_VERDICT_INBOUND_CHAIN;
  int keyed = fg_verdict_key_make(&known, chain, "", &scope);
  if (keyed && fg_verdict_cache_hit(&known, now)) return;
  fg_revocation_probe probe;
  fg_revocation_probe_init(&probe, srv->revocation, s->cfg, mode, 1);
  fg_chain_params params = {.role = FG_ROLE_INBOUND, .at = probe.now};
  fg_revocation_params(&params, &probe);
  fg_chain_verdict cv;
  fg_chain_verify_buffers(&cv, s->trust, chain, NULL, &params);
  if (keyed && probe.n_missing == 0 && !probe.revoked && probe.expires != 0) {
    fg_verdict_cache_put(&known, now, probe.expires);
  }
  if (probe.n_missing > 0) {
    ic->rev_fetch = fg_revocation_fetch_start(srv->revocation, fg_conn_worker(ic->conn), &probe,
                                              revocation_ready, ic);
    if (ic->rev_fetch != NULL) {
      fg_metrics_inc(&srv->metrics, FG_M_REVOCATION_WAITS);
      fg_conn_pause_reading(ic->conn);
    }
  }
  fg_revocation_probe_cleanup(&probe);
}

static void on_secure(fg_conn *c) {
  in_conn *ic = fg_conn_arg(c);
  if (ic != NULL && ic->magic == kInConnMagic && ic->s2s != NULL) {
    count_resumed(ic);
    fg_s2s_in_tls_established(ic->s2s);
    revocation_prefetch(ic);
    dane_prefetch(ic);
  }
}

static void on_close(fg_conn *c, enum fg_close_reason reason) {
  in_conn *ic = fg_conn_arg(c);
  if (ic == NULL || ic->magic != kInConnMagic) return;  // closed before on_open
  fg_server *srv = ic->srv;
  fg_worker *w = fg_conn_worker(c);
  fg_worker_timer_cancel(w, &ic->tick);
  fg_flow_cancel(&ic->flow);
  fg_revocation_fetch_cancel(ic->rev_fetch);
  fg_posh_auth_fetch_cancel(ic->posh_fetch);
  fg_dane_inbound_cancel(ic->dane_q);
  worker_state *ws = fg_server_worker_state(srv, w);
  if (ic->prev) ic->prev->next = ic->next;
  if (ic->next) ic->next->prev = ic->prev;
  if (ws->streams == ic) ws->streams = ic->next;
  if (ic->counted_ip) fg_ip_limits_release(srv->ip_limits, peer_addr(ic));
  fg_metrics_inc(&srv->metrics, FG_M_STREAMS_IN_CLOSED);
  if (reason != FG_CLOSE_LOCAL && reason != FG_CLOSE_PEER) {
    fg_log(FG_LOG_SEV_INFO, ic->s2s ? fg_s2s_in_stream_id(ic->s2s) : NULL,
           ic->s2s ? fg_s2s_in_peer(ic->s2s) : ic->ip, "connection closed: %s",
           fg_close_reason_name(reason));
  }
  if (srv->rtbl != NULL && ic->authenticated && ic->listener != FG_LISTENER_INTERNAL) {
    const char *d;  // a block list service's stream is gone: fetch again
    for (size_t i = 0; (d = fg_s2s_in_pair_from(ic->s2s, i)) != NULL; i++) {
      fg_rtbl_peer_gone(srv->rtbl, d);
    }
  }
  bidi_unregister(ic);
  sm_park(ic);
  report_drop(ic, w, reason);
  fg_s2s_in_free(ic->s2s);
  fg_snapshot_release(ic->snap);
  free(ic->verdicts);
  free(ic->dane_domain);
  fg_inbound_stanza_trim(&ic->checks);
  free(ic);
}

const fg_conn_handler fg_inbound_handler_s2s = {.on_open = on_open_s2s,
                                                .on_data = on_data,
                                                .on_secure = on_secure,
                                                .on_close = on_close,
                                                .on_proxy_header = on_proxy_header};
const fg_conn_handler fg_inbound_handler_s2s_tls = {.on_open = on_open_s2s_tls,
                                                    .on_data = on_data,
                                                    .on_secure = on_secure,
                                                    .on_close = on_close,
                                                    .on_proxy_header = on_proxy_header};
const fg_conn_handler fg_inbound_handler_internal = {
    .on_open = on_open_internal, .on_data = on_data, .on_secure = on_secure, .on_close = on_close};

// --- XEP-0288: stanzas sent back on a bidirectional outbound link ---
//
// They pass the checks an inbound stream's stanzas pass (inbound_stanza.h:
// RTBL and report addresses, block lists, rate limits, then delivery over
// the hop), with a session-less in_conn holding what those checks keep per
// stream. The link checked the addresses and how far its peer is trusted.

static in_conn *reverse_open(fg_server *srv, fg_conn *conn, const char *stream_id, int internal) {
  in_conn *ic = calloc(1, sizeof(*ic));
  if (ic == NULL) return NULL;
  ic->magic = kInConnMagic;
  ic->srv = srv;
  ic->conn = conn;
  ic->flow.conn = conn;
  ic->listener = internal ? FG_LISTENER_INTERNAL : FG_LISTENER_S2S;
  ic->authenticated = 1;
  fg_addr_text(peer_addr(ic), ic->ip, sizeof(ic->ip));
  snprintf(ic->reverse_id, sizeof(ic->reverse_id), "%s", stream_id);
  fg_inbound_stanza_init(&ic->checks, srv, conn, &ic->flow, internal, ic->ip, ic->reverse_id);
  return ic;
}

static void reverse_header(in_conn *ic, uint32_t headers, const fg_xml_nsdecl *ctx, size_t n,
                           fg_xml_str lang) {
  fg_inbound_stanza_header(&ic->checks, headers, ctx, n, lang);
}

static const char *reverse_route(in_conn *ic, const fg_xml_element *el, const char *from,
                                 const char *to) {
  return fg_inbound_stanza_sent_back(&ic->checks, el, from, to);
}

static void reverse_close(in_conn *ic) {
  fg_flow_cancel(&ic->flow);
  fg_inbound_stanza_trim(&ic->checks);
  free(ic);
}

const fg_reverse_ops fg_inbound_reverse_ops = {reverse_open, reverse_header, reverse_route,
                                               reverse_close};
