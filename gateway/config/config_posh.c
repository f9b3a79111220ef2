// config_posh.c: tls.posh, the POSH (RFC 7711) settings: whether remote
// domains may be proved by the certificate fingerprints they publish over
// HTTPS, how long a fetch may take, how long results are kept, and which
// special-purpose networks POSH servers may be in.
#include <stdlib.h>

#include "gateway/config/config.h"
#include "gateway/config/config_internal.h"

void config_load_posh(config_ctx *c, const raw_posh *r) {
  fg_config *cfg = c->cfg;
  raw_posh none = {0};
  if (r == NULL) r = &none;
  config_parse_bool(c, "tls.posh.enabled", r->enabled, 0, &cfg->tls.posh.enabled);
  uint64_t v = 0;
  config_parse_duration(c, "tls.posh.timeout", r->timeout, 100, 60000, 5000, &v);
  cfg->tls.posh.timeout_ms = (uint32_t)v;
  config_parse_duration(c, "tls.posh.negative_ttl", r->negative_ttl, 1000, 3600000, 60000, &v);
  cfg->tls.posh.negative_ttl_s = (uint32_t)(v / 1000);
  config_parse_duration(c, "tls.posh.max_ttl", r->max_ttl, 1000, 30ull * 86400000, 86400000, &v);
  cfg->tls.posh.max_ttl_s = (uint32_t)(v / 1000);
  config_parse_networks(c, "tls.posh.allowed_networks", r->allowed_networks, r->n_allowed_networks,
                        &cfg->tls.posh.allowed_networks, &cfg->tls.posh.n_allowed_networks);
}
