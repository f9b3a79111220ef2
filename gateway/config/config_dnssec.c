// config_dnssec.c: dns.dnssec (which resolvers' AD bit is believed) and the
// tls.dane keys that depend on it (docs/dane.md).
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/config/config_internal.h"

// ip_key reads the numeric |host| into |out| (16 bytes, IPv4 mapped) and
// says whether it is a loopback address. It returns 0 for a host name.
static int ip_key(const char *host, uint8_t out[16], int *loopback) {
  struct in_addr a4;
  memset(out, 0, 16);
  if (inet_pton(AF_INET, host, &a4) == 1) {
    out[10] = out[11] = 0xff;
    memcpy(out + 12, &a4, 4);
    *loopback = out[12] == 127;
    return 1;
  }
  if (inet_pton(AF_INET6, host, out) != 1) return 0;
  static const uint8_t kLoop6[16] = {[15] = 1};
  *loopback = memcmp(out, kLoop6, 16) == 0;
  return 1;
}

// same_server says whether the nameserver spelled |ns| is |ip|:|port|.
static int same_server(config_ctx *c, const char *ns, const uint8_t ip[16], uint16_t port) {
  fg_config_target t;
  if (!config_parse_target(c, "dns.nameservers", ns, 53, &t)) return 0;
  uint8_t k[16];
  int loop;
  int same = ip_key(t.host, k, &loop) && memcmp(k, ip, 16) == 0 && t.port == port;
  free(t.host);
  return same;
}

void config_load_dnssec(config_ctx *c, const raw_dnssec *r, const raw_tls *tls) {
  fg_config *cfg = c->cfg;
  int allow_remote = 0;
  config_parse_bool(c, "dns.dnssec.allow_non_loopback", r ? r->allow_non_loopback : NULL, 0,
                    &allow_remote);
  config_parse_bool(c, "tls.dane", tls ? tls->dane : NULL, 1, &cfg->tls.dane);
  config_parse_bool(c, "tls.dane_inbound", tls ? tls->dane_inbound : NULL, 0,
                    &cfg->tls.dane_inbound);
  unsigned n = r ? r->n_trusted_resolvers : 0;
  if (n > 0) {
    cfg->dns_trusted_resolvers = calloc(n, sizeof(char *));
    if (cfg->dns_trusted_resolvers == NULL) return;
  }
  for (unsigned i = 0; i < n; i++) {
    char path[64];
    snprintf(path, sizeof(path), "dns.dnssec.trusted_resolvers[%u]", i);
    fg_config_target t;
    if (!config_parse_target(c, path, r->trusted_resolvers[i], 53, &t)) continue;
    uint8_t ip[16];
    int loopback = 0;
    if (!ip_key(t.host, ip, &loopback)) {
      config_err(c, path, "expected a numeric address (IP, IP:port or [IPv6]:port)");
    } else if (!loopback && !allow_remote) {
      // The AD bit is worth what the path from the resolver is worth: on
      // loopback nobody can forge it (RFC 4035 §4.9.3, RFC 6698 §4.1).
      config_err(c, path,
                 "not a loopback address: an AD bit that crossed a network can be forged "
                 "(set dns.dnssec.allow_non_loopback: true if this path is protected)");
    } else {
      int listed = 0;
      for (size_t k = 0; k < cfg->n_dns_nameservers && !listed; k++) {
        listed = same_server(c, cfg->dns_nameservers[k], ip, t.port);
      }
      if (!listed) {
        config_err(c, path, "not one of dns.nameservers (only those are asked)");
      } else {
        cfg->dns_trusted_resolvers[cfg->n_dns_trusted_resolvers++] =
            strdup(r->trusted_resolvers[i]);
      }
    }
    free(t.host);
  }
  if (cfg->tls.dane_inbound && cfg->n_dns_trusted_resolvers == 0) {
    config_warn(c, "tls.dane_inbound",
                "has no effect without dns.dnssec.trusted_resolvers (no answer is ever secure)");
  }
}
