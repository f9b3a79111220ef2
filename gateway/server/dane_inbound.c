// dane_inbound.c: inbound DANE checks (see dane_inbound.h, docs/dane.md).
#include "gateway/server/dane_inbound.h"

#include "gateway/s2s/auth_method.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/dane.h"
#include "gateway/server/resolve.h"

struct fg_dane_inbound {
  fg_server *srv;
  fg_dane_inbound_done_fn done;  // NULL once cancelled
  void *arg;
  char peer[FG_DOMAIN_MAX + 1];
  unsigned identity_flags;
  size_t n;
  CRYPTO_BUFFER *chain[FG_CHAIN_MAX_PRESENTED];
};

static void release(fg_dane_inbound *q) {
  for (size_t i = 0; i < q->n; i++) CRYPTO_BUFFER_free(q->chain[i]);
  free(q);
}

// judge returns FG_AUTH_DANE_EE or FG_AUTH_DANE_TA when one TLSA answer
// authenticates the chain, else 0, writing what decided into |why|.
static int judge(fg_dane_inbound *q, const fg_dns_tlsa_answer *tlsa, size_t n_tlsa, char *why,
                 size_t why_len) {
  size_t usable_sets = 0;
  snprintf(why, why_len, "no secure TLSA records for the SRV targets of %s", q->peer);
  for (size_t i = 0; i < n_tlsa; i++) {
    const fg_dns_tlsa_answer *a = &tlsa[i];
    if (a->failed || a->dnssec != FG_DNSSEC_SECURE || a->records.n == 0) continue;
    const char *names[2] = {q->peer, a->host};
    fg_dane_params p = {.names = names,
                        .n_names = 2,
                        .service = "xmpp-server",
                        .identity_flags = q->identity_flags};
    fg_dane_verdict v;
    fg_dane_status st =
        fg_dane_verify(&v, &a->records, (const CRYPTO_BUFFER *const *)q->chain, q->n, &p);
    if (st == FG_DANE_NO_USABLE) continue;
    usable_sets++;
    if (st == FG_DANE_OK_EE || st == FG_DANE_OK_TA) {
      snprintf(why, why_len, "%s by _%u._tcp.%s: %s", fg_dane_status_name(st), a->port, a->host,
               v.reason);
      return st == FG_DANE_OK_EE ? FG_AUTH_DANE_EE : FG_AUTH_DANE_TA;
    }
    snprintf(why, why_len, "_%u._tcp.%s: %s", a->port, a->host, v.reason);
  }
  if (usable_sets > 1) {
    snprintf(why, why_len, "none of the %zu TLSA RRsets of %s's SRV targets matches", usable_sets,
             q->peer);
  }
  return 0;
}

// resolved is fg_resolve_start's callback, on the stream's worker.
static void resolved(void *arg, const resolved_target *candidates, size_t n,
                     fg_stanza_condition condition, const char *why_dns, fg_dns_tlsa_answer *tlsa,
                     size_t n_tlsa) {
  (void)candidates;
  (void)n;
  (void)condition;
  fg_dane_inbound *q = arg;
  char why[512];
  int ok = 0;
  if (n_tlsa == 0) {
    snprintf(why, sizeof(why), "no secure SRV answer with TLSA records for %s (%s)", q->peer,
             why_dns);
  } else {
    ok = judge(q, tlsa, n_tlsa, why, sizeof(why));
  }
  fg_resolve_tlsa_free(tlsa, n_tlsa);
  if (q->done != NULL) {
    fg_metrics_inc(&q->srv->metrics, ok ? FG_M_DANE_INBOUND_OK : FG_M_DANE_INBOUND_FAILED);
    q->done(q->arg, ok, why);
  }
  release(q);
}

fg_dane_inbound *fg_dane_inbound_start(fg_server *srv, fg_worker *w, const char *peer,
                                       const STACK_OF(CRYPTO_BUFFER) * chain,
                                       fg_dane_inbound_done_fn done, void *arg) {
  size_t n = chain ? sk_CRYPTO_BUFFER_num(chain) : 0;
  if (n == 0 || peer == NULL || peer[0] == 0 || strlen(peer) > FG_DOMAIN_MAX) return NULL;
  fg_dane_inbound *q = calloc(1, sizeof(*q));
  if (q == NULL) return NULL;
  q->srv = srv;
  q->done = done;
  q->arg = arg;
  snprintf(q->peer, sizeof(q->peer), "%s", peer);
  q->identity_flags = fg_server_snapshot(srv)->cfg->tls.legacy_cn_id ? FG_IDENTITY_LEGACY_CN_ID : 0;
  if (n > FG_CHAIN_MAX_PRESENTED) n = FG_CHAIN_MAX_PRESENTED;
  for (size_t i = 0; i < n; i++) {
    q->chain[i] = sk_CRYPTO_BUFFER_value(chain, i);
    CRYPTO_BUFFER_up_ref(q->chain[i]);
  }
  q->n = n;
  fg_resolve_start(srv, w, peer, resolved, q);
  return q;
}

void fg_dane_inbound_cancel(fg_dane_inbound *q) {
  // The resolution still answers later; the callback then only frees.
  if (q != NULL) q->done = NULL;
}
