// link_trust.c: the trust decisions about an outbound link's peer: what
// DANE expects of a candidate's handshake, and once the handshake is done: a resumed session's
// carried verdict, the revocation of the remote server's certificate (revocation.h), then PKIX, a
// POSH proof (RFC 7711, posh_auth.h) or dialback; then the stream starts or restarts over TLS.
#include "gateway/server/link_trust.h"

#include <string.h>

#include <openssl/ssl.h>

#include "gateway/server/log.h"

// secured goes on once the peer's certificate is settled: the stream starts
// (direct TLS) or restarts over TLS (STARTTLS).
static void secured(link *l) {
  if (l->current != NULL && l->current->direct_tls) {
    fg_s2s_out_start(l->s2s);
  } else {
    fg_s2s_out_tls_established(l->s2s);
  }
}

// revocation_probe runs one pass over the remote server's validated path
// (see gateway/server/revocation.h); it returns the probe's verdict: 1 the
// link may be trusted, 0 not; with |collect| it may leave answers missing.
static int revocation_probe(link *l, fg_revocation_probe *p, int collect) {
  fg_server *srv = l->srv;
  const fg_snapshot *s = link_cur_snapshot(srv);
  fg_revocation_probe_init(p, srv->revocation, s->cfg, fg_revocation_mode_in(s->cfg, l->remote),
                           collect);
  fg_tls_conn *t = l->conn != NULL ? fg_conn_tls(l->conn) : NULL;
  const STACK_OF(CRYPTO_BUFFER) *chain = t ? SSL_get0_peer_certificates(fg_tls_conn_ssl(t)) : NULL;
  if (p->mode == FG_REVOCATION_OFF || chain == NULL || sk_CRYPTO_BUFFER_num(chain) == 0) return 1;
  // The remote server's stapled response, when it sent one, answers before
  // the cache and any fetch (the first pass only: it is cached by then).
  if (collect) SSL_get0_ocsp_response(fg_tls_conn_ssl(t), &p->staple, &p->staple_len);
  fg_chain_params params = {.role = FG_ROLE_OUTBOUND, .at = p->now};
  fg_revocation_params(&params, p);
  fg_chain_verdict cv;
  fg_chain_verify_buffers(&cv, s->trust, chain, l->remote, &params);
  // Other chain failures are not this pass's business (dialback may still
  // prove a peer whose chain is not trusted): only revocation decides here.
  return !p->revoked && !(p->mode == FG_REVOCATION_HARD_FAIL && p->no_answer && !collect);
}

// posh_decide settles a remote server whose certificate PKIX refused (the
// handshake went on for dialback or POSH): a certificate its domain
// publishes (RFC 7711) proves it; otherwise dialback will, or, with
// dialback off, nothing can and the next candidate is tried.
static void posh_decide(void *arg) {
  link *l = arg;
  l->posh_fetch = NULL;
  if (l->dead || l->conn == NULL) return;
  fg_tls_conn *t = fg_conn_tls(l->conn);
  const STACK_OF(CRYPTO_BUFFER) *chain = t ? SSL_get0_peer_certificates(fg_tls_conn_ssl(t)) : NULL;
  fg_posh_verdict v =
      fg_posh_auth_verify(l->srv->posh, l->w, l->remote, chain, fg_s2s_out_stream_id(l->s2s));
  if (v == FG_POSH_VERDICT_MATCH) {
    l->auth = FG_AUTH_POSH;
  } else if (!link_cur_snapshot(l->srv)->cfg->dialback.enabled) {
    fg_log(FG_LOG_SEV_WARN, NULL, l->remote,
           "%s link to %s: certificate refused: not valid by PKIX, POSH %s, dialback off",
           link_kind_name(l->kind), l->current ? l->current->name : "?", fg_posh_verdict_name(v));
    fg_conn_abort(l->conn, FG_CLOSE_TLS_ERROR);
    return;
  }
  secured(l);
}

// fg_link_trust_peer goes on with a link whose certificate passed the revocation
// step: PKIX proved the peer, or POSH may (fetched first while this link
// alone waits), or dialback will.
void fg_link_trust_peer(link *l) {
  fg_tls_conn *t = fg_conn_tls(l->conn);
  l->auth = t != NULL && fg_tls_conn_verify_result(t) == FG_TLS_VERIFY_OK ? FG_AUTH_PKIX
                                                                          : FG_AUTH_DIALBACK;
  if (l->auth == FG_AUTH_PKIX || l->kind == LINK_HOP || l->srv->posh == NULL || t == NULL) {
    secured(l);
    return;
  }
  l->posh_fetch = fg_posh_auth_fetch_start(l->srv->posh, l->w, l->remote, posh_decide, l);
  if (l->posh_fetch != NULL) {
    fg_metrics_inc(&l->srv->metrics, FG_M_POSH_WAITS);
    return;
  }
  posh_decide(l);
}

// revocation_decide trusts the link or ends the connection (an untrusted
// certificate: the next candidate is tried, as for any refused certificate).
static void revocation_decide(void *arg) {
  link *l = arg;
  l->rev_fetch = NULL;
  if (l->dead || l->conn == NULL) return;
  fg_revocation_probe p;
  int ok = revocation_probe(l, &p, 0);
  fg_revocation_probe_cleanup(&p);
  if (!ok) {
    if (p.revoked) fg_metrics_inc(&l->srv->metrics, FG_M_PEERS_REFUSED_REVOKED);
    // Its session must not bring the peer back without this check.
    fg_tls_conn_forget_session(fg_conn_tls(l->conn));
    fg_log(FG_LOG_SEV_WARN, NULL, l->remote, "%s link to %s: certificate refused: %s",
           link_kind_name(l->kind), l->current ? l->current->name : "?", p.why);
    fg_conn_abort(l->conn, FG_CLOSE_TLS_ERROR);
    return;
  }
  fg_link_trust_peer(l);
}

// resumed_trust_ok says whether a resumed session may carry the link: the
// certificate is not verified again, so the verdict of the full handshake
// that created the session stands in for it, and it must be one the full
// handshake would accept now, for this very domain.
static int resumed_trust_ok(link *l, fg_tls_conn *t) {
  const fg_tls_verdict *v = fg_tls_conn_verdict(t);
  const char *why = NULL;
  if (strcmp(v->domain, l->remote) != 0) {
    why = "its session was verified for another domain";
  } else if (v->result == FG_TLS_VERIFY_REJECT || v->result == 0) {
    why = "its session carries no accepted certificate";
  } else if (l->kind == LINK_HOP && v->result != FG_TLS_VERIFY_OK) {
    why = "its session's certificate was not valid";
  }
  if (why == NULL) return 1;
  fg_metrics_inc(&l->srv->metrics, FG_M_TLS_RESUMED_OUT_REFUSED);
  fg_log(FG_LOG_SEV_WARN, NULL, l->remote, "%s link to %s: resumed TLS refused: %s",
         link_kind_name(l->kind), l->current ? l->current->name : "?", why);
  fg_tls_conn_forget_session(t);
  return 0;
}

// fg_link_trust_resumed_ok counts a resumed handshake and ends the connection when
// the session's carried verdict may not carry the link; it returns 1 when
// the link goes on (resumed or not).
int fg_link_trust_resumed_ok(link *l, fg_conn *c) {
  fg_tls_conn *t = fg_conn_tls(c);
  if (t == NULL || !fg_tls_conn_resumed(t)) return 1;
  fg_metrics_inc(&l->srv->metrics, FG_M_TLS_RESUMED_OUT);
  if (resumed_trust_ok(l, t)) return 1;
  fg_conn_abort(c, FG_CLOSE_TLS_ERROR);
  return 0;
}

void fg_link_trust_check(link *l) {
  // Remote servers' certificates are checked for revocation before the link
  // is trusted (the backends' are not); what the shared cache lacks is
  // fetched first, while this link alone waits.
  if (l->srv->revocation != NULL && l->kind != LINK_HOP &&
      fg_revocation_needed(link_cur_snapshot(l->srv)->cfg)) {
    fg_revocation_probe p;
    revocation_probe(l, &p, 1);
    if (p.n_missing > 0) {
      l->rev_fetch = fg_revocation_fetch_start(l->srv->revocation, l->w, &p, revocation_decide, l);
      fg_revocation_probe_cleanup(&p);
      if (l->rev_fetch != NULL) {
        fg_metrics_inc(&l->srv->metrics, FG_M_REVOCATION_WAITS);
        return;
      }
    }
    fg_revocation_probe_cleanup(&p);
    revocation_decide(l);
    return;
  }
  fg_link_trust_peer(l);
}

// fg_link_trust_prepare_dane decides whether DANE judges the connection to |t| and sets
// up what its handshake must prove (gateway/server/dane_check.h).
void fg_link_trust_prepare_dane(link *l, const resolved_target *t) {
  l->dane_active = 0;
  memset(&l->dane, 0, sizeof(l->dane));
  if (l->kind == LINK_HOP || !link_cur_snapshot(l->srv)->cfg->tls.dane) return;
  const fg_dns_tlsa_answer *a =
      t->tlsa >= 0 && (size_t)t->tlsa < l->n_tlsa ? &l->tlsa[t->tlsa] : NULL;
  int report = a != NULL && l->dane_reported != t->tlsa + 1;
  if (a != NULL) l->dane_reported = t->tlsa + 1;
  if (!fg_dane_applies(l->srv, l->remote, t, a, report)) return;
  l->dane_active = 1;
  l->dane.tlsa = &a->records;
  l->dane.domain = l->remote;
  l->dane.host = t->host;
  l->dane.target = t->name;
  fg_addr_text((const struct sockaddr *)&t->addr, l->dane.ip, sizeof(l->dane.ip));
  l->dane.identity_flags =
      link_cur_snapshot(l->srv)->cfg->tls.legacy_cn_id ? FG_IDENTITY_LEGACY_CN_ID : 0;
}
