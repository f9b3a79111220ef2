// bidi_hop.c: XEP-0288 on the internal hop: trust of stanzas a backend sends
// back on a hop link, and hop stanzas over a backend's own stream.
#include "gateway/server/bidi_hop.h"

#include <string.h>

#include "gateway/s2s/bidi.h"
#include "gateway/server/bidi_streams.h"
#include "gateway/server/router.h"
#include "io/addr_policy.h"

int fg_bidi_hop_source_is_backend(const fg_snapshot *s, const char *domain,
                                  const struct sockaddr *peer) {
  size_t backend;
  if (peer == NULL || !fg_router_lookup(s->router, domain, strlen(domain), &backend)) return 0;
  const fg_config_backend *be = &s->cfg->backends[backend];
  for (size_t a = 0; a < be->n_addresses; a++) {
    if (fg_addr_same_ip((const struct sockaddr *)&s->backend_targets[backend][a].addr, peer)) {
      return 1;
    }
  }
  return 0;
}

const char *fg_bidi_hop_refusal(const fg_snapshot *s, fg_auth_method proof, const char *hosted,
                                const struct sockaddr *peer) {
  if (!fg_bidi_hop_reverse_trusted(proof, s->cfg->dialback.enabled)) {
    return "the backend was proved in a way the internal listener does not accept";
  }
  if (!fg_bidi_hop_source_is_backend(s, hosted, peer)) {
    return "the link's address is not one of this domain's backend";
  }
  return NULL;
}

int fg_bidi_hop_send(fg_server *srv, worker_state *ws, const char *from, const char *to,
                     const uint8_t *data, size_t len, int is_bounce) {
  if (ws->bidi == NULL || !fg_bidi_streams_send(ws->bidi, from, to, data, len, is_bounce)) return 0;
  fg_metrics_inc(&srv->metrics, FG_M_BIDI_STANZAS_SENT);
  fg_metrics_inc(&srv->metrics, FG_M_HOP_BIDI_STANZAS_SENT);
  return 1;
}
