// resolve.c: candidates for outbound links. Pinned targets (dns.static) are
// known at start-up; everything else is asked of the shared asynchronous
// resolver (io/dns.h). Either way the answer reaches the link's worker as a
// message, so resolution never runs inside the caller's stack nor blocks a
// worker.
#include "gateway/server/resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "io/addr_policy.h"
#include "gateway/server/log.h"
#include "gateway/server/own_listeners.h"
#include "io/dns.h"

typedef struct resolve_msg {
  fg_msg msg;
  fg_resolve_done_fn done;
  void *arg;
  fg_stanza_condition condition;
  char why[512];
  fg_dns_tlsa_answer *tlsa;  // handed to |done| with its ownership
  size_t n_tlsa;
  size_t n;
  resolved_target targets[];
} resolve_msg;

void fg_resolve_tlsa_free(fg_dns_tlsa_answer *tlsa, size_t n_tlsa) {
  for (size_t i = 0; i < n_tlsa; i++) fg_dane_rrset_cleanup(&tlsa[i].records);
  free(tlsa);
}

static void deliver(fg_worker *w, fg_msg *m) {
  (void)w;
  resolve_msg *rm = (resolve_msg *)m;
  rm->done(rm->arg, rm->targets, rm->n, rm->condition, rm->why, rm->tlsa, rm->n_tlsa);
  free(rm);
}

static resolve_msg *new_msg(fg_resolve_done_fn done, void *arg, size_t n, fg_stanza_condition cond,
                            const char *why) {
  resolve_msg *rm = calloc(1, sizeof(*rm) + n * sizeof(resolved_target));
  if (rm == NULL) return NULL;
  rm->msg.fn = deliver;
  rm->done = done;
  rm->arg = arg;
  rm->condition = cond;
  snprintf(rm->why, sizeof(rm->why), "%s", why);
  rm->n = n;
  return rm;
}

typedef struct dns_ask {
  fg_server *srv;
  fg_worker *w;
  fg_resolve_done_fn done;
  void *arg;
} dns_ask;

const char *fg_resolve_refusal(const fg_server *srv, const struct sockaddr *sa) {
  if (fg_own_listener(srv, sa)) return "one of this gateway's own listeners";
  const char *kind = fg_addr_special_purpose(sa);
  if (kind == NULL) return NULL;
  for (size_t i = 0; i < srv->boot_cfg->n_dns_allowed_networks; i++) {
    if (fg_cidr_contains(&srv->boot_cfg->dns_allowed_networks[i], sa)) return NULL;
  }
  return kind;
}

// dns_done runs on a resolver thread: it converts the answer and posts it to
// the worker that asked.
static void dns_done(void *arg, fg_dns_result *res) {
  dns_ask *ask = arg;
  // RFC 6120 §10.4.3: a domain that cannot be resolved is remote-server-not-found.
  size_t n = res->status == FG_DNS_OK ? res->num_candidates : 0;
  char why[512];
  snprintf(why, sizeof(why), "DNS: %s%s%s", fg_dns_status_name(res->status),
           res->reason[0] ? ": " : "", res->reason);
  if (res->dnssec_refused > 0) {
    // RFC 7673 §3.3 / RFC 7672 §2.2: what a validating resolver refused is
    // never connected to; the other targets may still be.
    fg_log(FG_LOG_SEV_WARN, NULL, res->domain,
           "DNSSEC: %zu answer%s for %s refused (bogus, or TLSA unknown): not used: %s",
           res->dnssec_refused, res->dnssec_refused == 1 ? "" : "s", res->domain, res->dnssec_why);
    for (size_t i = 0; i < res->dnssec_refused; i++) {
      fg_metrics_inc(&ask->srv->metrics, FG_M_DANE_TARGETS_REFUSED);
    }
  }
  resolve_msg *rm = new_msg(ask->done, ask->arg, n, FG_STANZA_REMOTE_SERVER_NOT_FOUND, why);
  if (rm != NULL) {
    // The TLSA answers travel with the candidates to the link.
    rm->tlsa = res->tlsa;
    rm->n_tlsa = res->num_tlsa;
    res->tlsa = NULL;
    res->num_tlsa = 0;
    size_t kept = 0;
    const char *refused = NULL;
    for (size_t i = 0; i < n; i++) {
      const fg_dns_candidate *c = &res->candidates[i];
      // A domain's DNS must not lead fedgate to itself or into special
      // networks (loopback, private, link-local, ...): that turns the
      // gateway against its own listeners and internal servers.
      const char *why_not = fg_resolve_refusal(ask->srv, (const struct sockaddr *)&c->addr);
      if (why_not != NULL) {
        char ip[64];
        fg_addr_text((const struct sockaddr *)&c->addr, ip, sizeof(ip));
        fg_log(FG_LOG_SEV_WARN, NULL, c->host,
               "outbound target %s:%u (%s) refused: %s address (see dns.allowed_networks)", c->host,
               c->port, ip, why_not);
        fg_metrics_inc(&ask->srv->metrics, FG_M_TARGETS_REFUSED);
        refused = why_not;
        continue;
      }
      resolved_target *t = &rm->targets[kept++];
      memcpy(&t->addr, &c->addr, sizeof(c->addr));
      t->addr_len = c->addr_len;
      t->direct_tls = c->direct_tls;
      snprintf(t->name, sizeof(t->name), "%s:%u%s", c->host, c->port,
               c->direct_tls ? " (direct TLS)" : "");
      snprintf(t->host, sizeof(t->host), "%s", c->host);
      t->srv_dnssec = c->srv_dnssec;
      t->addr_dnssec = c->addr_dnssec;
      t->tlsa = c->tlsa;
    }
    rm->n = kept;
    if (kept == 0 && refused != NULL) {
      snprintf(rm->why, sizeof(rm->why), "every target refused (last: %s address)", refused);
    }
    fg_worker_post(ask->w, &rm->msg);
  }
  fg_dns_result_free(res);
  free(ask);
}

void fg_resolve_start(fg_server *srv, fg_worker *w, const char *domain, fg_resolve_done_fn done,
                      void *arg) {
  const static_route *r = fg_snapshot_static_route(fg_server_snapshot(srv), domain);
  if (r != NULL) {
    resolve_msg *rm = new_msg(done, arg, r->n_targets, FG_STANZA_REMOTE_SERVER_NOT_FOUND,
                              "dns.static entry has no usable target");
    if (rm == NULL) return;
    memcpy(rm->targets, r->targets, r->n_targets * sizeof(resolved_target));
    fg_worker_post(w, &rm->msg);
    return;
  }
  const char *why = "no DNS resolver";
  if (srv->dns != NULL) {
    dns_ask *ask = calloc(1, sizeof(*ask));
    if (ask != NULL) {
      ask->srv = srv;
      ask->w = w;
      ask->done = done;
      ask->arg = arg;
      fg_dns_submit s = fg_dns_resolve_xmpp_server(srv->dns, domain, dns_done, ask);
      if (s == FG_DNS_QUEUED) return;
      free(ask);
      why = s == FG_DNS_SUBMIT_BAD_NAME ? "not a valid DNS name" : "resolver busy";
    }
  }
  resolve_msg *rm = new_msg(done, arg, 0, FG_STANZA_REMOTE_SERVER_NOT_FOUND, why);
  if (rm != NULL) fg_worker_post(w, &rm->msg);
}
