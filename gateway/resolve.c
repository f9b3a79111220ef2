// resolve.c: candidates for outbound links. Pinned targets (dns.static) are
// known at start-up; everything else is asked of the shared asynchronous
// resolver (io/dns.h). Either way the answer reaches the link's worker as a
// message, so resolution never runs inside the caller's stack nor blocks a
// worker.
#include "gateway/resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/dns.h"

typedef struct resolve_msg {
  fg_msg msg;
  link *l;
  fg_stanza_condition condition;
  char why[512];
  size_t n;
  resolved_target targets[];
} resolve_msg;

static void deliver(fg_worker *w, fg_msg *m) {
  (void)w;
  resolve_msg *rm = (resolve_msg *)m;
  fg_link_resolved(rm->l, rm->targets, rm->n, rm->condition, rm->why);
  free(rm);
}

static resolve_msg *new_msg(link *l, size_t n, fg_stanza_condition cond, const char *why) {
  resolve_msg *rm = calloc(1, sizeof(*rm) + n * sizeof(resolved_target));
  if (rm == NULL) return NULL;
  rm->msg.fn = deliver;
  rm->l = l;
  rm->condition = cond;
  snprintf(rm->why, sizeof(rm->why), "%s", why);
  rm->n = n;
  return rm;
}

typedef struct dns_ask {
  fg_worker *w;
  link *l;
} dns_ask;

// dns_done runs on a resolver thread: it converts the answer and posts it to
// the worker that asked.
static void dns_done(void *arg, fg_dns_result *res) {
  dns_ask *ask = arg;
  // RFC 6120 §10.4.3: a domain that cannot be resolved is remote-server-not-found.
  size_t n = res->status == FG_DNS_OK ? res->num_candidates : 0;
  char why[512];
  snprintf(why, sizeof(why), "DNS: %s%s%s", fg_dns_status_name(res->status),
           res->reason[0] ? ": " : "", res->reason);
  resolve_msg *rm = new_msg(ask->l, n, FG_STANZA_REMOTE_SERVER_NOT_FOUND, why);
  if (rm != NULL) {
    for (size_t i = 0; i < n; i++) {
      const fg_dns_candidate *c = &res->candidates[i];
      resolved_target *t = &rm->targets[i];
      memcpy(&t->addr, &c->addr, sizeof(c->addr));
      t->addr_len = c->addr_len;
      t->direct_tls = c->direct_tls;
      snprintf(t->name, sizeof(t->name), "%s:%u%s", c->host, c->port,
               c->direct_tls ? " (direct TLS)" : "");
    }
    fg_worker_post(ask->w, &rm->msg);
  }
  fg_dns_result_free(res);
  free(ask);
}

void fg_resolve_start(fg_server *srv, fg_worker *w, link *l, const char *domain) {
  const static_route *r = fg_server_static_route(srv, domain);
  if (r != NULL) {
    resolve_msg *rm = new_msg(l, r->n_targets, FG_STANZA_REMOTE_SERVER_NOT_FOUND,
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
      ask->w = w;
      ask->l = l;
      fg_dns_submit s = fg_dns_resolve_xmpp_server(srv->dns, domain, dns_done, ask);
      if (s == FG_DNS_QUEUED) return;
      free(ask);
      why = s == FG_DNS_SUBMIT_BAD_NAME ? "not a valid DNS name" : "resolver busy";
    }
  }
  resolve_msg *rm = new_msg(l, 0, FG_STANZA_REMOTE_SERVER_NOT_FOUND, why);
  if (rm != NULL) fg_worker_post(w, &rm->msg);
}
