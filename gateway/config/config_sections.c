// config_sections.c: the semantic checks of each section (listeners, tls,
// backends, domains, dialback, internal_hop, limits, dns) into the fg_config
// snapshot: defaults, ranges, duplicates and cross-references.
#include "gateway/config/config.h"
#include "gateway/config/config_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <xxhash.h>

static int is_loopback(const char *addr) {
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, addr, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, addr, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return 0;
}

// load_proxy_protocol reads listeners.NAME.proxy_protocol: the load
// balancers (trusted_networks) allowed to connect and to name the real peer.
static void load_proxy_protocol(config_ctx *c, fg_listener_id id, const raw_proxy_protocol *r) {
  if (r == NULL) return;
  char path[128];
  snprintf(path, sizeof(path), "listeners.%s.proxy_protocol", fg_config_listener_name(id));
  if (id != FG_LISTENER_S2S && id != FG_LISTENER_S2S_TLS) {
    config_err(c, path, "only the public listeners (s2s, s2s-tls) take the PROXY protocol");
    return;
  }
  fg_config_listener *l = &c->cfg->listeners[id];
  snprintf(path, sizeof(path), "listeners.%s.proxy_protocol.trusted_networks",
           fg_config_listener_name(id));
  if (r->n_trusted_networks == 0) {
    config_err(c, path,
               "list the load balancers' networks (e.g. [10.0.0.0/8]): only they may connect "
               "and name the peer");
    return;
  }
  config_parse_networks(c, path, r->trusted_networks, r->n_trusted_networks, &l->proxy_trusted,
                        &l->n_proxy_trusted);
}

// load_socket reads listeners.admin.socket: a path (relative to the
// configuration file's directory) that fits a Unix socket address, in a
// directory that exists.
static void load_socket(config_ctx *c, fg_listener_id id, fg_config_listener *l, const char *v) {
  char path[64];
  snprintf(path, sizeof(path), "listeners.%s.socket", fg_config_listener_name(id));
  if (id != FG_LISTENER_ADMIN) {
    config_err(c, path, "only the admin listener can be a Unix socket");
    return;
  }
  char *abs = v[0] ? config_resolve_path(c, v) : NULL;
  if (abs == NULL || strlen(abs) >= sizeof(l->socket_path)) {
    config_err(c, path, "expected a file name of at most %zu bytes", sizeof(l->socket_path) - 1);
    free(abs);
    return;
  }
  char *slash = strrchr(abs, '/');
  *slash = 0;
  if (access(abs[0] ? abs : "/", W_OK | X_OK) != 0) {
    config_err(c, path, "its directory %s does not exist or is not writable", abs);
    free(abs);
    return;
  }
  *slash = '/';
  snprintf(l->socket_path, sizeof(l->socket_path), "%s", abs);
  free(abs);
}

static void load_listener(config_ctx *c, fg_listener_id id, const raw_listener *r,
                          const char *def_addr, uint16_t def_port) {
  fg_config_listener *l = &c->cfg->listeners[id];
  char path[128];
  snprintf(l->address, sizeof(l->address), "%s", def_addr);
  l->port = def_port;
  l->enabled = 1;
  if (r == NULL) return;
  snprintf(path, sizeof(path), "listeners.%s.enabled", fg_config_listener_name(id));
  config_parse_bool(c, path, r->enabled, 1, &l->enabled);
  snprintf(path, sizeof(path), "listeners.%s.port", fg_config_listener_name(id));
  uint64_t port;
  if (config_parse_uint(c, path, r->port, 1, 65535, def_port, &port)) l->port = (uint16_t)port;
  if (r->address != NULL) {
    snprintf(path, sizeof(path), "listeners.%s.address", fg_config_listener_name(id));
    char a[64];
    const char *v = r->address;
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '[' && v[n - 1] == ']' && n - 2 < sizeof(a)) {
      memcpy(a, v + 1, n - 2);
      a[n - 2] = 0;
    } else if (n < sizeof(a)) {
      memcpy(a, v, n + 1);
    } else {
      a[0] = 0;
    }
    struct in_addr a4;
    struct in6_addr a6;
    if (n >= sizeof(a) || (inet_pton(AF_INET, a, &a4) != 1 && inet_pton(AF_INET6, a, &a6) != 1)) {
      config_err(c, path, "expected a numeric IPv4 or IPv6 address (0.0.0.0 or :: for all)");
    } else {
      snprintf(l->address, sizeof(l->address), "%s", a);
    }
  }
  if (r->socket != NULL) load_socket(c, id, l, r->socket);
  if (id == FG_LISTENER_ADMIN && l->enabled && l->socket_path[0] == 0 && !is_loopback(l->address)) {
    int allow = 0;
    snprintf(path, sizeof(path), "listeners.admin.allow_non_loopback");
    config_parse_bool(c, path, r->allow_non_loopback, 0, &allow);
    snprintf(path, sizeof(path), "listeners.admin.address");
    if (!allow) {
      config_err(
          c, path,
          "the admin listener serves /streams and /metrics without authentication: bind it to "
          "loopback, or set allow_non_loopback: true");
    }
  } else if (r->allow_non_loopback != NULL && id != FG_LISTENER_ADMIN) {
    snprintf(path, sizeof(path), "listeners.%s.allow_non_loopback", fg_config_listener_name(id));
    config_err(c, path, "only the admin listener has this setting");
  }
  load_proxy_protocol(c, id, r->proxy_protocol);
}

static void check_listener_clashes(config_ctx *c) {
  fg_config_listener *ls = c->cfg->listeners;
  for (int i = 0; i < FG_LISTENER_COUNT; i++) {
    for (int j = i + 1; j < FG_LISTENER_COUNT; j++) {
      if (!ls[i].enabled || !ls[j].enabled || ls[i].port != ls[j].port) continue;
      if (ls[i].socket_path[0] || ls[j].socket_path[0]) continue;  // no TCP port
      // "::" binds IPv4 too (IPV6_V6ONLY off); "0.0.0.0" covers every IPv4 address.
      const char *x = ls[i].address, *y = ls[j].address;
      int v4x = strchr(x, ':') == NULL, v4y = strchr(y, ':') == NULL;
      int clash = strcmp(x, y) == 0 || strcmp(x, "::") == 0 || strcmp(y, "::") == 0 ||
                  (strcmp(x, "0.0.0.0") == 0 && v4y) || (strcmp(y, "0.0.0.0") == 0 && v4x);
      if (!clash) continue;
      char path[64];
      snprintf(path, sizeof(path), "listeners.%s.port", fg_config_listener_name((fg_listener_id)j));
      config_err(c, path, "listener %s uses the same address and port (%s port %u)",
                 fg_config_listener_name((fg_listener_id)i), ls[i].address, ls[i].port);
    }
  }
}

static void load_backends(config_ctx *c, const raw_top *t) {
  fg_config *cfg = c->cfg;
  char path[128];
  if (t->n_backends == 0) {
    config_err(c, "backends", "at least one backend (internal server) is required");
    return;
  }
  cfg->backends = calloc(t->n_backends, sizeof(fg_config_backend));
  if (cfg->backends == NULL) return;
  for (unsigned i = 0; i < t->n_backends; i++) {
    const raw_backend *rb = &t->backends[i];
    fg_config_backend *b = &cfg->backends[cfg->n_backends++];
    snprintf(path, sizeof(path), "backends[%u].name", i);
    b->name = strdup(rb->name != NULL ? rb->name : "");
    if (b->name == NULL) return;
    if (b->name[0] == 0) config_err(c, path, "a backend needs a name");
    for (unsigned j = 0; j < i; j++) {
      if (strcmp(cfg->backends[j].name, b->name) == 0) {
        char other[64];
        snprintf(other, sizeof(other), "backends[%u].name", j);
        const config_node *nd;
        config_err(c, path, "duplicate backend name (first at line %u)",
                   config_nearest_line(c, other, &nd));
        break;
      }
    }
    snprintf(path, sizeof(path), "backends[%u].addresses", i);
    if (rb->n_addresses == 0) {
      config_err(c, path, "a backend needs at least one host:port address");
      continue;
    }
    b->addresses = calloc(rb->n_addresses, sizeof(fg_config_target));
    if (b->addresses == NULL) return;
    for (unsigned a = 0; a < rb->n_addresses; a++) {
      snprintf(path, sizeof(path), "backends[%u].addresses[%u]", i, a);
      fg_config_target tg;
      if (!config_parse_target(c, path, rb->addresses[a], FG_CONFIG_DEFAULT_BACKEND_PORT, &tg))
        continue;
      int dup = 0;
      for (size_t k = 0; k < b->n_addresses; k++) {
        dup |= strcmp(b->addresses[k].host, tg.host) == 0 && b->addresses[k].port == tg.port;
      }
      if (dup) {
        config_err(c, path, "this address is listed twice for the backend");
        free(tg.host);
        continue;
      }
      b->addresses[b->n_addresses++] = tg;
    }
  }
}

static void load_domains(config_ctx *c, const raw_top *t) {
  fg_config *cfg = c->cfg;
  char path[128], other[128];
  if (t->n_domains == 0) {
    config_err(c, "domains", "at least one hosted domain is required");
    return;
  }
  cfg->domains = calloc(t->n_domains, sizeof(fg_config_domain));
  size_t *first = calloc(t->n_domains, sizeof(size_t));  // raw index of each kept domain
  unsigned char *used = calloc(cfg->n_backends + 1, 1);
  size_t mask = 15;
  while (mask + 1 < 2 * (size_t)t->n_domains) mask = 2 * mask + 1;
  size_t *seen = calloc(mask + 1, sizeof(size_t));
  if (cfg->domains == NULL || first == NULL || used == NULL || seen == NULL) goto done;
  for (unsigned i = 0; i < t->n_domains; i++) {
    const raw_domain *rd = &t->domains[i];
    snprintf(path, sizeof(path), "domains[%u].name", i);
    int wildcard = 0;
    char *name = config_normalize_domain(c, path, rd->name, 1, &wildcard);
    if (name == NULL) continue;
    // Duplicates: an open-addressing set of kept domains (index + 1), so that
    // files with 100,000 domains load in linear time.
    uint64_t h = XXH3_64bits_withSeed(name, strlen(name), (uint64_t)wildcard);
    size_t slot = h & mask;
    int dup = 0;
    for (; seen[slot] != 0; slot = (slot + 1) & mask) {
      const fg_config_domain *o = &cfg->domains[seen[slot] - 1];
      if (o->wildcard == wildcard && strcmp(o->name, name) == 0) {
        snprintf(other, sizeof(other), "domains[%zu].name", first[seen[slot] - 1]);
        const config_node *nd;
        config_err(c, path, "duplicate domain (first at line %u)",
                   config_nearest_line(c, other, &nd));
        dup = 1;
        break;
      }
    }
    if (dup) {
      free(name);
      continue;
    }
    seen[slot] = cfg->n_domains + 1;
    fg_config_domain *d = &cfg->domains[cfg->n_domains];
    first[cfg->n_domains++] = i;
    d->name = name;
    d->wildcard = wildcard;
    snprintf(path, sizeof(path), "domains[%u].backend", i);
    size_t b = 0;
    while (b < cfg->n_backends && strcmp(cfg->backends[b].name, rd->backend) != 0) b++;
    if (b == cfg->n_backends) {
      config_err(c, path, "no backend has this name");
    } else {
      d->backend = b;
      used[b] = 1;
    }
    char cert_path[128], key_path[128];
    snprintf(cert_path, sizeof(cert_path), "domains[%u].cert", i);
    snprintf(key_path, sizeof(key_path), "domains[%u].key", i);
    if ((rd->cert == NULL) != (rd->key == NULL)) {
      config_err(c, rd->cert == NULL ? key_path : cert_path, "cert and key must be given together");
    } else if (rd->cert != NULL) {
      d->cert_file = config_resolve_path(c, rd->cert);
      d->key_file = config_resolve_path(c, rd->key);
      if (d->cert_file != NULL && d->key_file != NULL) {
        config_check_pair(c, cert_path, d->cert_file, key_path, d->key_file);
      }
    } else if (cfg->tls.default_cert_file != NULL) {
      d->cert_file = strdup(cfg->tls.default_cert_file);
      d->key_file = strdup(cfg->tls.default_key_file);
    } else {
      snprintf(path, sizeof(path), "domains[%u]", i);
      config_err(c, path, "%s%s has no certificate: give cert and key, or tls.default_cert",
                 wildcard ? "*." : "", name);
    }
  }
  for (size_t b = 0; b < cfg->n_backends; b++) {
    if (used[b]) continue;
    snprintf(path, sizeof(path), "backends[%zu].name", b);
    config_warn(c, path, "no domain uses this backend");
  }
done:
  free(first);
  free(used);
  free(seen);
}

static void load_tls(config_ctx *c, const raw_tls *r) {
  fg_config *cfg = c->cfg;
  raw_tls none = {0};
  if (r == NULL) r = &none;
  config_parse_bool(c, "tls.required", r->required, 1, &cfg->tls.required);
  config_parse_bool(c, "tls.legacy_cn_id", r->legacy_cn_id, 0, &cfg->tls.legacy_cn_id);
  config_load_posh(c, r->posh);
  if ((r->default_cert == NULL) != (r->default_key == NULL)) {
    config_err(c, r->default_cert == NULL ? "tls.default_key" : "tls.default_cert",
               "default_cert and default_key must be given together");
  } else if (r->default_cert != NULL) {
    char *cert = config_resolve_path(c, r->default_cert),
         *key = config_resolve_path(c, r->default_key);
    if (cert != NULL && key != NULL &&
        config_check_pair(c, "tls.default_cert", cert, "tls.default_key", key)) {
      cfg->tls.default_cert_file = cert;
      cfg->tls.default_key_file = key;
    } else {
      free(cert);
      free(key);
    }
  }
  if (r->trust_file != NULL) {
    cfg->tls.trust_file = config_resolve_path(c, r->trust_file);
    if (cfg->tls.trust_file != NULL) config_check_file(c, "tls.trust_file", cfg->tls.trust_file, 0);
  }
  if (r->trust_dir != NULL) {
    cfg->tls.trust_dir = config_resolve_path(c, r->trust_dir);
    if (cfg->tls.trust_dir != NULL) config_check_file(c, "tls.trust_dir", cfg->tls.trust_dir, 1);
  }
  if (r->trust_file == NULL && r->trust_dir == NULL) {
    const char *sys = "/etc/ssl/certs/ca-certificates.crt";
    if (access(sys, R_OK) == 0) {
      cfg->tls.trust_file = strdup(sys);
    } else {
      config_err(c, "tls", "no trust store: set tls.trust_file or tls.trust_dir (%s is missing)",
                 sys);
    }
  }
  if (r->ticket_key_file != NULL) {
    cfg->tls.ticket_key_file = config_resolve_path(c, r->ticket_key_file);
    if (cfg->tls.ticket_key_file != NULL) {
      config_check_ticket_keys(c, "tls.ticket_key_file", cfg->tls.ticket_key_file);
    }
  }
  uint64_t v = 0;
  config_parse_duration(c, "tls.ticket_key_check_interval", r->ticket_key_check_interval, 100,
                        3600000, 5000, &v);
  cfg->tls.ticket_key_check_ms = (uint32_t)v;
  config_parse_uint(c, "tls.session_cache_entries", r->session_cache_entries, 4, 1u << 24, 4096,
                    &v);
  cfg->tls.session_cache_entries = (size_t)v;
  if (r->n_plaintext_peers > 0) {
    cfg->tls.plaintext_peers = calloc(r->n_plaintext_peers, sizeof(char *));
    if (cfg->tls.plaintext_peers == NULL) return;
    for (unsigned i = 0; i < r->n_plaintext_peers; i++) {
      char path[64];
      snprintf(path, sizeof(path), "tls.plaintext_peers[%u]", i);
      char *d = config_normalize_domain(c, path, r->plaintext_peers[i], 0, NULL);
      if (d != NULL) cfg->tls.plaintext_peers[cfg->tls.n_plaintext_peers++] = d;
    }
    if (!cfg->tls.required) {
      config_warn(c, "tls.plaintext_peers", "has no effect while tls.required is false");
    }
  }
  if (!cfg->tls.required) {
    config_warn(c, "tls.required",
                "remote servers may federate without TLS: their traffic and "
                "dialback keys cross the internet in clear text");
  }
}

static void load_dialback(config_ctx *c, const raw_dialback *r) {
  fg_config *cfg = c->cfg;
  raw_dialback none = {0};
  if (r == NULL) r = &none;
  config_parse_bool(c, "dialback.enabled", r->enabled, 1, &cfg->dialback.enabled);
  if (r->secret_file != NULL) {
    cfg->dialback.secret_file = config_resolve_path(c, r->secret_file);
    if (cfg->dialback.secret_file != NULL) {
      config_read_secret(c, "dialback.secret_file", cfg->dialback.secret_file);
    }
    return;
  }
  if (!cfg->dialback.enabled) return;
  // XEP-0185 §3: any secret works for one process; instances that share a
  // DNS name need the same one, hence the warning.
  cfg->dialback.secret = malloc(32);
  if (cfg->dialback.secret == NULL || !RAND_bytes(cfg->dialback.secret, 32)) return;
  cfg->dialback.secret_len = 32;
  config_warn(c, "dialback",
              "no secret_file: using a random secret, so keys issued before a restart "
              "or by another instance will not verify");
}

static int parse_hop_mode(config_ctx *c, const char *path, const char *v, fg_hop_mode *out) {
  if (strcmp(v, "internal-ca") == 0) {
    *out = FG_HOP_INTERNAL_CA;
  } else if (strcmp(v, "dialback") == 0) {
    *out = FG_HOP_DIALBACK;
  } else {
    config_err(c, path, "expected internal-ca or dialback");
    return 0;
  }
  return 1;
}

// load_backend_hop_modes gives each backend its hop mode (backends[].hop_mode,
// else internal_hop.mode) and returns 1 when any backend uses internal-ca
// (then the CA is loaded). A mixed fleet needs both the CA and dialback.
static int load_backend_hop_modes(config_ctx *c, const raw_top *t) {
  fg_config *cfg = c->cfg;
  int any_ca = 0;
  for (size_t b = 0; b < cfg->n_backends; b++) {
    fg_config_backend *be = &cfg->backends[b];
    be->hop_mode = cfg->internal_hop.mode;
    const char *v = b < t->n_backends ? t->backends[b].hop_mode : NULL;
    if (v != NULL) {
      char path[64];
      snprintf(path, sizeof(path), "backends[%zu].hop_mode", b);
      parse_hop_mode(c, path, v, &be->hop_mode);
      // The backend's own line names the problem when its mode lacks what it needs.
      if (be->hop_mode == FG_HOP_DIALBACK && !cfg->dialback.enabled) {
        config_err(c, path, "dialback mode needs dialback.enabled: true");
      }
      if (be->hop_mode == FG_HOP_INTERNAL_CA) {
        const raw_hop *r = t->internal_hop;
        if (r == NULL || r->ca_cert == NULL || r->ca_key == NULL) {
          config_err(c, path, "internal-ca mode needs internal_hop.ca_cert and ca_key");
        }
        if (cfg->internal_hop.plaintext) {
          config_err(c, path, "internal-ca mode cannot work with internal_hop.plaintext");
        }
      }
    }
    if (be->hop_mode == FG_HOP_INTERNAL_CA) any_ca = 1;
    uint64_t pairs = 1;
    char ppath[64];
    snprintf(ppath, sizeof(ppath), "backends[%zu].pairs_per_stream", b);
    config_parse_uint(c, ppath, b < t->n_backends ? t->backends[b].pairs_per_stream : NULL, 1, 1000,
                      1, &pairs);
    be->pairs_per_stream = (unsigned)pairs;
    if (pairs > 1 && !cfg->dialback.enabled) {
      config_err(c, ppath, "further pairs on a hop stream need dialback.enabled: true");
    }
  }
  return any_ca;
}

static void load_hop(config_ctx *c, const raw_top *t) {
  fg_config *cfg = c->cfg;
  raw_hop none = {0};
  const raw_hop *r = t->internal_hop != NULL ? t->internal_hop : &none;
  cfg->internal_hop.mode = FG_HOP_INTERNAL_CA;
  if (r->mode != NULL) parse_hop_mode(c, "internal_hop.mode", r->mode, &cfg->internal_hop.mode);
  config_parse_bool(c, "internal_hop.plaintext", r->plaintext, 0, &cfg->internal_hop.plaintext);
  config_parse_bool(c, "internal_hop.close_on_link_loss", r->close_on_link_loss, 1,
                    &cfg->internal_hop.close_on_link_loss);
  config_parse_bool(c, "internal_hop.bidi", r->bidi, 1, &cfg->internal_hop.bidi);
  uint64_t ms;
  config_parse_duration(c, "internal_hop.cert_lifetime", r->cert_lifetime, 3600000,
                        30 * 86400000ull, 86400000, &ms);
  cfg->internal_hop.cert_lifetime_s = (uint32_t)(ms / 1000);
  int instance_ca = cfg->internal_hop.mode == FG_HOP_INTERNAL_CA;
  // Without backends (reported already) the instance-wide mode alone counts.
  int any_ca = cfg->n_backends == 0 ? instance_ca : load_backend_hop_modes(c, t);
  if (instance_ca && cfg->internal_hop.plaintext) {
    config_err(c, "internal_hop.plaintext",
               "internal-ca mode authenticates with TLS client certificates: plaintext needs mode "
               "dialback");
  }
  if (any_ca && r->ca_cert != NULL && r->ca_key != NULL) {
    cfg->internal_hop.ca_cert_file = config_resolve_path(c, r->ca_cert);
    cfg->internal_hop.ca_key_file = config_resolve_path(c, r->ca_key);
    if (cfg->internal_hop.ca_cert_file != NULL && cfg->internal_hop.ca_key_file != NULL) {
      config_check_pair(c, "internal_hop.ca_cert", cfg->internal_hop.ca_cert_file,
                        "internal_hop.ca_key", cfg->internal_hop.ca_key_file);
    }
  } else if (any_ca && instance_ca && (r->ca_cert == NULL || r->ca_key == NULL)) {
    config_err(c, r->ca_cert == NULL ? "internal_hop.ca_cert" : "internal_hop.ca_key",
               "internal-ca mode needs ca_cert and ca_key");
  } else if (!any_ca && (r->ca_cert != NULL || r->ca_key != NULL)) {
    config_warn(c, r->ca_cert != NULL ? "internal_hop.ca_cert" : "internal_hop.ca_key",
                "ignored in dialback mode");
  }
  if (!instance_ca && !cfg->dialback.enabled) {
    config_err(c, "internal_hop.mode", "dialback mode needs dialback.enabled: true");
  }
  if (cfg->internal_hop.plaintext) {
    config_warn(c, "internal_hop.plaintext",
                "stanzas cross the internal hop unencrypted: use only on a trusted network");
  }
}

static void load_limits(config_ctx *c, const raw_limits *r) {
  fg_config *cfg = c->cfg;
  raw_limits none = {0};
  if (r == NULL) r = &none;
  uint64_t v;
  const uint64_t max_el = 64u << 20;
  config_parse_uint(c, "limits.element_bytes_before_auth", r->element_bytes_before_auth,
                    FG_CONFIG_MIN_ELEMENT_BYTES, max_el,
                    FG_CONFIG_DEFAULT_ELEMENT_BYTES_BEFORE_AUTH, &v);
  cfg->limits.element_bytes_before_auth = v;
  config_parse_uint(c, "limits.element_bytes_after_auth", r->element_bytes_after_auth,
                    FG_CONFIG_MIN_ELEMENT_BYTES, max_el, FG_CONFIG_DEFAULT_ELEMENT_BYTES_AFTER_AUTH,
                    &v);
  cfg->limits.element_bytes_after_auth = v;
  if (cfg->limits.element_bytes_before_auth > cfg->limits.element_bytes_after_auth) {
    config_err(
        c, "limits.element_bytes_before_auth",
        "is larger than element_bytes_after_auth (%zu): unauthenticated peers would get more",
        cfg->limits.element_bytes_after_auth);
  }
  config_parse_uint(c, "limits.streams_per_ip", r->streams_per_ip, 1, 1000000, 32, &v);
  cfg->limits.streams_per_ip = (unsigned)v;
  config_parse_duration(c, "limits.handshake_timeout", r->handshake_timeout, 1000, 3600000, 30000,
                        &v);
  cfg->limits.handshake_timeout_ms = (uint32_t)v;
  config_parse_duration(c, "limits.idle_timeout", r->idle_timeout, 1000, 7 * 86400000ull, 600000,
                        &v);
  cfg->limits.idle_timeout_ms = (uint32_t)v;
  config_parse_uint(c, "limits.queue_stanzas", r->queue_stanzas, 1, 10000000, 1000, &v);
  cfg->limits.queue_stanzas = v;
  config_parse_uint(c, "limits.queue_bytes", r->queue_bytes, 1024, 1ull << 32, 1u << 20, &v);
  cfg->limits.queue_bytes = v;
  config_parse_uint(c, "limits.streams_per_pair", r->streams_per_pair, 1, 16, 1, &v);
  cfg->limits.streams_per_pair = (unsigned)v;
  config_parse_uint(c, "limits.pairs_per_stream", r->pairs_per_stream, 1, 1000, 32, &v);
  cfg->limits.pairs_per_stream = (unsigned)v;
  config_parse_uint(c, "limits.ipv6_prefix", r->ipv6_prefix, 16, 128, 64, &v);
  cfg->limits.ipv6_prefix = (unsigned)v;
}

// load_admin reads admin.allowed_networks; without it only loopback
// (127.0.0.0/8 and ::1) may use the admin listener.
static void load_admin(config_ctx *c, const raw_admin *r) {
  fg_config *cfg = c->cfg;
  if (r != NULL && r->n_allowed_networks > 0) {
    config_parse_networks(c, "admin.allowed_networks", r->allowed_networks, r->n_allowed_networks,
                          &cfg->admin_allowed_networks, &cfg->n_admin_allowed_networks);
    return;
  }
  static char *const kLoopback[] = {"127.0.0.0/8", "::1"};
  config_parse_networks(c, "admin.allowed_networks", kLoopback, 2, &cfg->admin_allowed_networks,
                        &cfg->n_admin_allowed_networks);
}

static void load_dns(config_ctx *c, const raw_dns *r) {
  fg_config *cfg = c->cfg;
  uint64_t v = 0;
  config_parse_duration(c, "dns.timeout", r ? r->timeout : NULL, 100, 60000, 2000, &v);
  cfg->dns_timeout_ms = (uint32_t)v;
  if (r != NULL && r->n_nameservers > 0) {
    cfg->dns_nameservers = calloc(r->n_nameservers, sizeof(char *));
    if (cfg->dns_nameservers == NULL) return;
    for (unsigned i = 0; i < r->n_nameservers; i++) {
      char path[64];
      snprintf(path, sizeof(path), "dns.nameservers[%u]", i);
      fg_config_target t = {0};
      // IP, IP:port or [IPv6]:port; host names are not allowed here.
      if (!config_parse_target(c, path, r->nameservers[i], 53, &t)) continue;
      free(t.host);
      cfg->dns_nameservers[cfg->n_dns_nameservers++] = strdup(r->nameservers[i]);
    }
  }
  if (r != NULL) {
    config_parse_networks(c, "dns.allowed_networks", r->allowed_networks, r->n_allowed_networks,
                          &cfg->dns_allowed_networks, &cfg->n_dns_allowed_networks);
  }
  if (r == NULL || r->n_statics == 0) return;
  cfg->dns_static = calloc(r->n_statics, sizeof(fg_config_static_dns));
  if (cfg->dns_static == NULL) return;
  char path[128];
  for (unsigned i = 0; i < r->n_statics; i++) {
    const raw_static *rs = &r->statics[i];
    snprintf(path, sizeof(path), "dns.static[%u].domain", i);
    char *d = config_normalize_domain(c, path, rs->domain, 0, NULL);
    if (d == NULL) continue;
    int dup = 0;
    for (size_t k = 0; k < cfg->n_dns_static; k++) dup |= strcmp(cfg->dns_static[k].domain, d) == 0;
    if (dup) {
      config_err(c, path, "this domain already has a static entry");
      free(d);
      continue;
    }
    fg_config_static_dns *s = &cfg->dns_static[cfg->n_dns_static++];
    s->domain = d;
    snprintf(path, sizeof(path), "dns.static[%u].targets", i);
    if (rs->n_targets == 0) {
      config_err(c, path, "needs at least one host:port target");
      continue;
    }
    s->targets = calloc(rs->n_targets, sizeof(fg_config_target));
    if (s->targets == NULL) return;
    for (unsigned t = 0; t < rs->n_targets; t++) {
      snprintf(path, sizeof(path), "dns.static[%u].targets[%u]", i, t);
      if (config_parse_target(c, path, rs->targets[t], 5269, &s->targets[s->n_targets]))
        s->n_targets++;
    }
  }
}

void config_load_sections(config_ctx *c, const raw_top *t) {
  fg_config *cfg = c->cfg;
  cfg->log_level = FG_LOG_INFO;
  if (t->log_level != NULL) {
    static const char *const kLevels[] = {"error", "warn", "info", "debug"};
    int found = 0;
    for (int i = 0; i < 4; i++) {
      if (strcmp(t->log_level, kLevels[i]) == 0) {
        cfg->log_level = (fg_log_level)i;
        found = 1;
      }
    }
    if (!found) config_err(c, "log_level", "expected error, warn, info or debug");
  }
  uint64_t w;
  config_parse_uint(c, "workers", t->workers, 0, 1024, 0, &w);
  cfg->workers = (unsigned)w;

  const raw_listeners *rl = t->listeners;
  load_listener(c, FG_LISTENER_S2S, rl ? rl->s2s : NULL, "::", FG_CONFIG_DEFAULT_S2S_PORT);
  load_listener(c, FG_LISTENER_S2S_TLS, rl ? rl->s2s_tls : NULL,
                "::", FG_CONFIG_DEFAULT_S2S_TLS_PORT);
  load_listener(c, FG_LISTENER_INTERNAL, rl ? rl->internal : NULL, "127.0.0.1",
                FG_CONFIG_DEFAULT_INTERNAL_PORT);
  load_listener(c, FG_LISTENER_ADMIN, rl ? rl->admin : NULL, "127.0.0.1",
                FG_CONFIG_DEFAULT_ADMIN_PORT);
  check_listener_clashes(c);
  if (!cfg->listeners[FG_LISTENER_S2S].enabled && !cfg->listeners[FG_LISTENER_S2S_TLS].enabled) {
    config_err(c, "listeners", "both public listeners (s2s and s2s-tls) are disabled");
  }

  load_tls(c, t->tls);  // before domains: they fall back to the default pair
  load_backends(c, t);
  load_domains(c, t);
  load_dialback(c, t->dialback);
  load_hop(c, t);
  load_limits(c, t->limits);
  load_dns(c, t->dns);
  config_load_revocation(c, t->revocation);
  load_admin(c, t->admin);
  config_load_abuse(c, t->abuse);  // after domains: RTBL JIDs must be hosted
  config_load_operation(c, t);
  config_load_dnssec(c, t->dns ? t->dns->dnssec : NULL, t->tls);
  config_load_sm(c, t->stream_management);
  config_load_bidi(c, t->bidi);
}
