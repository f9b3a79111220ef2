// dane_check.c: outbound DANE decisions (see dane_check.h, docs/dane.md).
#include "gateway/server/dane_check.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "gateway/server/log.h"

static int g_ex_index = -1;
static pthread_once_t g_ex_once = PTHREAD_ONCE_INIT;

static void ex_index_init(void) {
  g_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

void fg_dane_expect_attach(SSL *ssl, fg_dane_expect *x) {
  pthread_once(&g_ex_once, ex_index_init);
  if (g_ex_index >= 0) SSL_set_ex_data(ssl, g_ex_index, x);
}

fg_dane_expect *fg_dane_expect_of(const SSL *ssl) {
  pthread_once(&g_ex_once, ex_index_init);
  return g_ex_index >= 0 ? SSL_get_ex_data(ssl, g_ex_index) : NULL;
}

int fg_dane_applies(fg_server *srv, const char *domain, const resolved_target *t,
                    const fg_dns_tlsa_answer *a, int report) {
  if (a == NULL || a->failed || a->records.n == 0) return 0;
  // RFC 7673 §3.3: TLSA counts only where the SRV answer, the target's
  // address answer and the TLSA answer are all secure.
  if (a->dnssec != FG_DNSSEC_SECURE || t->srv_dnssec != FG_DNSSEC_SECURE) return 0;
  if (t->addr_dnssec != FG_DNSSEC_SECURE) {
    if (report) {
      fg_log(FG_LOG_SEV_INFO, NULL, domain,
             "DANE: TLSA records of %s ignored: its address answer is not secure (PKIX rules)",
             t->name);
    }
    return 0;
  }
  size_t usable = 0;
  for (size_t i = 0; i < a->records.n; i++) {
    const fg_dane_tlsa *r = &a->records.rec[i];
    fg_dane_usability u = fg_dane_tlsa_usability(r);
    if (u == FG_DANE_USABLE) {
      usable++;
    } else if (report) {
      // RFC 7671 §4.1 / RFC 6698 §4.1: an unusable record is skipped, never
      // the reason to fail.
      fg_log(FG_LOG_SEV_WARN, NULL, domain,
             "DANE: TLSA record %u %u %u (%zu bytes) at _%u._tcp.%s unusable (%s): ignored",
             r->usage, r->selector, r->mtype, r->len, a->port, a->host, fg_dane_usability_name(u));
      fg_metrics_inc(&srv->metrics, FG_M_DANE_TLSA_UNUSABLE);
    }
  }
  if (usable == 0 && report) {
    fg_log(FG_LOG_SEV_WARN, NULL, domain,
           "DANE: no usable TLSA record at _%u._tcp.%s: PKIX rules for %s", a->port, a->host,
           t->name);
  }
  return usable > 0;
}

int fg_dane_wants_pkix(const fg_dane_rrset *s) {
  for (size_t i = 0; i < s->n; i++) {
    if (s->rec[i].usage <= FG_DANE_USAGE_PKIX_EE &&
        fg_dane_tlsa_usability(&s->rec[i]) == FG_DANE_USABLE) {
      return 1;
    }
  }
  return 0;
}

enum fg_tls_verify_result fg_dane_check(fg_server *srv, fg_dane_expect *x,
                                        const STACK_OF(CRYPTO_BUFFER) * chain, int pkix_ok) {
  const CRYPTO_BUFFER *certs[FG_CHAIN_MAX_PRESENTED];
  size_t n = chain ? sk_CRYPTO_BUFFER_num(chain) : 0;
  if (n > FG_CHAIN_MAX_PRESENTED) n = FG_CHAIN_MAX_PRESENTED;
  for (size_t i = 0; i < n; i++) certs[i] = sk_CRYPTO_BUFFER_value(chain, i);
  // RFC 7673 §4.2: with a secure SRV answer the target host name is a
  // reference identity besides the service domain.
  const char *names[2] = {x->domain, x->host};
  fg_dane_params p = {.names = names,
                      .n_names = x->host && x->host[0] ? 2 : 1,
                      .service = "xmpp-server",
                      .identity_flags = x->identity_flags,
                      .pkix_ok = pkix_ok};
  fg_dane_verdict v;
  switch (fg_dane_verify(&v, x->tlsa, certs, n, &p)) {
    case FG_DANE_OK_EE:
      x->method = FG_AUTH_DANE_EE;
      return FG_TLS_VERIFY_OK;
    case FG_DANE_OK_TA:
      x->method = FG_AUTH_DANE_TA;
      return FG_TLS_VERIFY_OK;
    case FG_DANE_OK_PKIX_EE:
    case FG_DANE_OK_PKIX_TA:
      x->method = FG_AUTH_PKIX;
      return FG_TLS_VERIFY_OK;
    case FG_DANE_NO_USABLE:
    case FG_DANE_MISMATCH:
      break;
  }
  x->refused = 1;
  snprintf(x->why, sizeof(x->why),
           "DANE: certificate of %s (%s) does not match its TLSA records: %s",
           x->target ? x->target : "?", x->ip, v.reason);
  fg_metrics_inc(&srv->metrics, FG_M_DANE_MISMATCH);
  fg_log(FG_LOG_SEV_WARN, NULL, x->domain, "outbound: %s (no fallback to PKIX or dialback)",
         x->why);
  return FG_TLS_VERIFY_REJECT;
}
