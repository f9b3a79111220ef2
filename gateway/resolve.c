// resolve.c: candidates for outbound links, delivered to the link's worker
// by a message, so that resolution never runs inside the caller's stack.
#include "gateway/resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct resolve_msg {
  fg_msg msg;
  link *l;
  fg_stanza_condition condition;
  char why[128];
  size_t n;
  resolved_target targets[];
} resolve_msg;

static void deliver(fg_worker *w, fg_msg *m) {
  (void)w;
  resolve_msg *rm = (resolve_msg *)m;
  fg_link_resolved(rm->l, rm->targets, rm->n, rm->condition, rm->why);
  free(rm);
}

static void post(fg_worker *w, link *l, const resolved_target *t, size_t n,
                 fg_stanza_condition cond, const char *why) {
  resolve_msg *rm = calloc(1, sizeof(*rm) + n * sizeof(resolved_target));
  if (rm == NULL) return;  // the link stays resolving until shutdown; logged by the caller
  rm->msg.fn = deliver;
  rm->l = l;
  rm->condition = cond;
  snprintf(rm->why, sizeof(rm->why), "%s", why);
  rm->n = n;
  if (n) memcpy(rm->targets, t, n * sizeof(*t));
  fg_worker_post(w, &rm->msg);
}

void fg_resolve_start(fg_server *srv, fg_worker *w, link *l, const char *domain) {
  const static_route *r = fg_server_static_route(srv, domain);
  if (r != NULL) {
    post(w, l, r->targets, r->n_targets, FG_STANZA_REMOTE_SERVER_NOT_FOUND,
         "dns.static entry has no usable target");
    return;
  }
  // RFC 6120 §10.4.3: a domain that cannot be resolved is remote-server-not-found.
  post(w, l, NULL, 0, FG_STANZA_REMOTE_SERVER_NOT_FOUND, "no DNS resolver configured");
}
