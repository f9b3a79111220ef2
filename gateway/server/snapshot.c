// snapshot.c: builds the immutable snapshot of a configuration (certificates
// and SNI table, trust stores, internal CA, routing table, backend and
// pinned addresses, dialback secret) and frees it with its last reference.
#include "gateway/server/snapshot.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/mem.h>

#include "gateway/server/log.h"
#include "gateway/server/own_listeners.h"
#include "gateway/server/server_internal.h"

// resolve turns host:port into an address once, when the snapshot is built
// (numeric addresses and names from /etc/hosts or DNS alike).
static int resolve(resolved_target *out, const char *host, uint16_t port, char *err,
                   size_t err_len) {
  char portstr[8];
  snprintf(portstr, sizeof(portstr), "%u", port);
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host, portstr, &hints, &res);
  if (rc != 0 || res == NULL) {
    snprintf(err, err_len, "cannot resolve %s: %s", host, gai_strerror(rc));
    return 0;
  }
  memcpy(&out->addr, res->ai_addr, res->ai_addrlen);
  out->addr_len = res->ai_addrlen;
  snprintf(out->name, sizeof(out->name), "%s:%u", host, port);
  freeaddrinfo(res);
  return 1;
}

static char *read_whole(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  if (buf != NULL) {
    buf[n] = 0;
    *len = (size_t)n;
  }
  return buf;
}

static fg_tls_cert *load_cert(CRYPTO_BUFFER_POOL *pool, const char *cert_file, const char *key_file,
                              char *err, size_t err_len) {
  size_t cl = 0, kl = 0;
  char *chain = read_whole(cert_file, &cl);
  char *key = read_whole(key_file, &kl);
  fg_tls_cert *c = NULL;
  if (chain == NULL) {
    snprintf(err, err_len, "%s: cannot read the certificate", cert_file);
  } else if (key == NULL) {
    snprintf(err, err_len, "%s: cannot read the private key", key_file);
  } else {
    c = fg_tls_cert_new_pem(pool, chain, cl, key, kl);
    if (c == NULL) {
      snprintf(err, err_len, "%s / %s: not a PEM certificate chain and matching key", cert_file,
               key_file);
    }
  }
  free(chain);
  if (key != NULL) {
    OPENSSL_cleanse(key, kl);
    free(key);
  }
  return c;
}

// build_sni reads every certificate the configuration names into the SNI
// table. Certificate files are read again for each snapshot: a reload picks
// up renewed certificates under the same names.
static int build_sni(fg_snapshot *s, CRYPTO_BUFFER_POOL *pool, fg_snapshot_cert_fn on_cert,
                     void *arg, char *err, size_t err_len) {
  const fg_config *cfg = s->cfg;
  s->sni = fg_tls_sni_new();
  if (s->sni == NULL) return 0;
  fg_tls_cert *def = NULL;
  if (cfg->tls.default_cert_file != NULL && cfg->tls.default_key_file != NULL) {
    def = load_cert(pool, cfg->tls.default_cert_file, cfg->tls.default_key_file, err, err_len);
    if (def == NULL) return 0;
    fg_tls_sni_set_default(s->sni, def);
    if (on_cert != NULL) on_cert(arg, def, NULL);
  }
  int ok = 1;
  for (size_t i = 0; ok && i < cfg->n_domains; i++) {
    const fg_config_domain *d = &cfg->domains[i];
    fg_tls_cert *c = def;
    if (d->cert_file != NULL && d->key_file != NULL) {
      c = load_cert(pool, d->cert_file, d->key_file, err, err_len);
      if (c == NULL) ok = 0;
    }
    if (c == NULL) continue;
    char name[FG_DOMAIN_MAX + 3];
    snprintf(name, sizeof(name), "%s%s", d->wildcard ? "*." : "", d->name);
    fg_tls_sni_add(s->sni, name, c);
    if (on_cert != NULL) on_cert(arg, c, name);
    if (fg_tls_sni_lookup(s->sni, NULL) == NULL) fg_tls_sni_set_default(s->sni, c);
    if (c != def) fg_tls_cert_free(c);
  }
  fg_tls_cert_free(def);
  return ok;
}

// load_trust fills |ts| from tls.trust_file and tls.trust_dir, or the
// system bundle when neither is set.
static int load_trust(const fg_config *cfg, fg_trust_store *ts, char *err, size_t err_len) {
  const char *paths[2] = {cfg->tls.trust_file, cfg->tls.trust_dir};
  int any = 0;
  for (int i = 0; i < 2; i++) {
    if (paths[i] == NULL) continue;
    any = 1;
    if (fg_trust_store_load(ts, paths[i], err, err_len) == 0) return 0;
  }
  if (!any && fg_trust_store_load(ts, "/etc/ssl/certs/ca-certificates.crt", err, err_len) == 0) {
    fg_log(FG_LOG_SEV_WARN, NULL, NULL, "no trust store: %s", err);
    err[0] = 0;
  }
  return 1;
}

static int build_trust(fg_snapshot *s, char *err, size_t err_len) {
  const fg_config *cfg = s->cfg;
  s->trust = fg_trust_store_new();
  s->trust_internal = fg_trust_store_new();
  if (s->trust == NULL || s->trust_internal == NULL) return 0;
  if (!load_trust(cfg, s->trust, err, err_len) ||
      !load_trust(cfg, s->trust_internal, err, err_len)) {
    return 0;
  }
  // The internal servers may also hold certificates from the internal CA;
  // only the internal side trusts it.
  if (cfg->internal_hop.ca_cert_file != NULL &&
      fg_trust_store_load(s->trust_internal, cfg->internal_hop.ca_cert_file, err, err_len) == 0) {
    return 0;
  }
  // Set only when some backend's hop mode is internal-ca (gateway/config).
  if (cfg->internal_hop.ca_cert_file != NULL) {
    s->ica = fg_internal_ca_load(cfg->internal_hop.ca_cert_file, cfg->internal_hop.ca_key_file,
                                 cfg->internal_hop.cert_lifetime_s, err, err_len);
    if (s->ica == NULL) return 0;
  }
  return 1;
}

static int build_targets(fg_snapshot *s, const struct fg_server *srv, char *err, size_t err_len) {
  const fg_config *cfg = s->cfg;
  s->backend_targets = calloc(cfg->n_backends ? cfg->n_backends : 1, sizeof(resolved_target *));
  if (s->backend_targets == NULL) return 0;
  for (size_t b = 0; b < cfg->n_backends; b++) {
    const fg_config_backend *be = &cfg->backends[b];
    s->backend_targets[b] = calloc(be->n_addresses ? be->n_addresses : 1, sizeof(resolved_target));
    if (s->backend_targets[b] == NULL) return 0;
    for (size_t a = 0; a < be->n_addresses; a++) {
      resolved_target *t = &s->backend_targets[b][a];
      if (!resolve(t, be->addresses[a].host, be->addresses[a].port, err, err_len)) return 0;
      if (fg_own_listener(srv, (const struct sockaddr *)&t->addr)) {
        snprintf(err, err_len, "backends[%zu] (%s): address %s is this gateway's own listener", b,
                 be->name, t->name);
        return 0;
      }
    }
  }
  s->static_routes = calloc(cfg->n_dns_static ? cfg->n_dns_static : 1, sizeof(static_route));
  if (s->static_routes == NULL) return 0;
  for (size_t i = 0; i < cfg->n_dns_static; i++) {
    const fg_config_static_dns *d = &cfg->dns_static[i];
    static_route *r = &s->static_routes[s->n_static_routes++];
    snprintf(r->domain, sizeof(r->domain), "%s", d->domain);
    r->targets = calloc(d->n_targets ? d->n_targets : 1, sizeof(resolved_target));
    if (r->targets == NULL) return 0;
    for (size_t t = 0; t < d->n_targets; t++) {
      if (!resolve(&r->targets[t], d->targets[t].host, d->targets[t].port, err, err_len)) return 0;
      if (fg_own_listener(srv, (const struct sockaddr *)&r->targets[t].addr)) {
        snprintf(err, err_len, "dns.static (%s): target %s is this gateway's own listener",
                 d->domain, r->targets[t].name);
        return 0;
      }
      r->n_targets++;
    }
  }
  return 1;
}

// keep_generated_secret gives |cfg| the dialback secret the gateway started
// with when neither names a secret file (the loader then generates a random
// one each time): keys issued before a reload still verify after it.
static int keep_generated_secret(fg_config *cfg, const fg_config *boot) {
  if (cfg->dialback.secret_file != NULL || boot == NULL || boot->dialback.secret_file != NULL ||
      boot->dialback.secret == NULL) {
    return 1;
  }
  uint8_t *copy = malloc(boot->dialback.secret_len);
  if (copy == NULL) return 0;
  memcpy(copy, boot->dialback.secret, boot->dialback.secret_len);
  if (cfg->dialback.secret != NULL) {
    OPENSSL_cleanse(cfg->dialback.secret, cfg->dialback.secret_len);
    free(cfg->dialback.secret);
  }
  cfg->dialback.secret = copy;
  cfg->dialback.secret_len = boot->dialback.secret_len;
  return 1;
}

fg_snapshot *fg_snapshot_build(struct fg_server *srv, fg_config *cfg, uint64_t generation,
                               fg_snapshot_cert_fn on_cert, void *arg, char *err, size_t err_len) {
  fg_snapshot *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    fg_config_free(cfg);
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  atomic_init(&s->refs, 1);
  s->generation = generation;
  s->cfg = cfg;
  err[0] = 0;
  if (!keep_generated_secret(cfg, srv->boot_cfg)) {
    snprintf(err, err_len, "out of memory");
    goto fail;
  }
  if (cfg->dialback.enabled && cfg->dialback.secret != NULL && cfg->dialback.secret_len > 0) {
    s->have_db_secret =
        fg_dialback_secret_init(&s->db_secret, cfg->dialback.secret, cfg->dialback.secret_len);
  }
  s->router = fg_router_new(cfg);
  if (s->router == NULL) {
    snprintf(err, err_len, "cannot build the routing table");
    goto fail;
  }
  if (!build_trust(s, err, err_len) || !build_sni(s, srv->pool, on_cert, arg, err, err_len) ||
      !build_targets(s, srv, err, err_len)) {
    goto fail;
  }
  return s;
fail:
  if (err[0] == 0) snprintf(err, err_len, "out of memory");
  fg_snapshot_release(s);
  return NULL;
}

fg_snapshot *fg_snapshot_up_ref(fg_snapshot *s) {
  atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
  return s;
}

void fg_snapshot_release(fg_snapshot *s) {
  if (s == NULL || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) return;
  if (s->backend_targets != NULL) {
    for (size_t b = 0; b < s->cfg->n_backends; b++) free(s->backend_targets[b]);
    free(s->backend_targets);
  }
  for (size_t i = 0; i < s->n_static_routes; i++) free(s->static_routes[i].targets);
  free(s->static_routes);
  fg_tls_sni_free(s->sni);
  fg_internal_ca_free(s->ica);
  fg_trust_store_free(s->trust);
  fg_trust_store_free(s->trust_internal);
  fg_router_free(s->router);
  if (s->have_db_secret) fg_dialback_secret_cleanup(&s->db_secret);
  fg_config_free(s->cfg);
  free(s);
}

const static_route *fg_snapshot_static_route(const fg_snapshot *s, const char *domain) {
  for (size_t i = 0; i < s->n_static_routes; i++) {
    if (strcmp(s->static_routes[i].domain, domain) == 0) return &s->static_routes[i];
  }
  return NULL;
}

const resolved_target *fg_snapshot_backend_target(const fg_snapshot *s, const char *domain,
                                                  size_t *backend, size_t *address) {
  fg_route r;
  if (fg_router_route(s->router, domain, strlen(domain), &r) != FG_ROUTE_OK) return NULL;
  *backend = r.backend;
  *address = r.address;
  return &s->backend_targets[r.backend][r.address];
}

int fg_snapshot_is_plaintext_peer(const fg_snapshot *s, const char *peer) {
  for (size_t i = 0; i < s->cfg->tls.n_plaintext_peers; i++) {
    if (strcmp(s->cfg->tls.plaintext_peers[i], peer) == 0) return 1;
  }
  return 0;
}

// drained_in says whether |from| has backend |name|'s address |host|:|port|
// drained.
static int drained_in(const fg_router *from, const char *name, const char *host, uint16_t port) {
  size_t b;
  if (!fg_router_backend_find(from, name, &b)) return 0;
  for (size_t a = 0; a < fg_router_address_count(from, b); a++) {
    const char *h;
    uint16_t p;
    if (fg_router_address(from, b, a, &h, &p) && p == port && strcmp(h, host) == 0) {
      return fg_router_is_drained(from, b, a);
    }
  }
  return 0;
}

void fg_snapshot_copy_drains(fg_router *to, const fg_router *from) {
  if (to == from) return;
  for (size_t b = 0; b < fg_router_backend_count(to); b++) {
    const char *name = fg_router_backend_name(to, b);
    for (size_t a = 0; a < fg_router_address_count(to, b); a++) {
      const char *host;
      uint16_t port;
      if (!fg_router_address(to, b, a, &host, &port)) continue;
      int drained = drained_in(from, name, host, port);
      if (drained != fg_router_is_drained(to, b, a)) fg_router_set_drained(to, b, a, drained);
    }
  }
}
