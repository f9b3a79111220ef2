// server.c: assembles a running gateway from a configuration snapshot:
// certificates and TLS contexts, trust store, router, internal CA, worker
// runtime, listeners, and the admin endpoint (/metrics, /ready).
#include "gateway/server/server.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "gateway/server/admin.h"
#include "gateway/server/inbound.h"
#include "gateway/server/link.h"
#include "gateway/server/ip_limits.h"
#include "gateway/server/sm_registry.h"
#include "gateway/server/log.h"
#include "gateway/server/resolve.h"
#include "gateway/server/posh_auth.h"
#include "gateway/server/revocation.h"
#include "gateway/server/server_internal.h"
#include "gateway/server/stapler.h"
#include "gateway/server/verdict_cache.h"
#include "gateway/xml/xml_serializer.h"
#include "io/dns.h"
#include "io/ktls.h"
#include "io/listener.h"

const fg_metrics *fg_server_metrics(const fg_server *s) {
  return &s->metrics;
}

uint16_t fg_server_port(const fg_server *s, fg_listener_id id) {
  return id < FG_LISTENER_COUNT ? s->ports[id] : 0;
}

// resolve turns host:port into an address once, at start-up (numeric
// addresses and names from /etc/hosts or DNS alike).
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

static fg_tls_cert *load_cert(fg_server *srv, const char *cert_file, const char *key_file,
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
    c = fg_tls_cert_new_pem(srv->pool, chain, cl, key, kl);
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

// verify_peer is the custom-verify hook of every context. Inbound peers are
// judged later, per domain, when the stream names them (SASL EXTERNAL,
// XEP-0344); outbound peers must be valid for the domain we connected to
// (RFC 6120 §13.7.2.1), the SNI we sent.
static enum fg_tls_verify_result verify_with(fg_server *srv, const fg_trust_store *ts,
                                             fg_tls_conn *t) {
  SSL *ssl = fg_tls_conn_ssl(t);
  if (SSL_is_server(ssl)) return FG_TLS_VERIFY_UNTRUSTED;
  const char *domain = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  const STACK_OF(CRYPTO_BUFFER) *sk = SSL_get0_peer_certificates(ssl);
  if (domain == NULL || sk == NULL) return FG_TLS_VERIFY_REJECT;
  unsigned flags = srv->cfg->tls.legacy_cn_id ? FG_IDENTITY_LEGACY_CN_ID : 0;
  // Revocation of remote servers (not of the backends): what the shared
  // cache knows decides now; the rest is fetched before the link is trusted
  // (gateway/server/link.c).
  fg_revocation_probe probe;
  fg_revocation_probe_init(&probe, srv->revocation,
                           srv->revocation != NULL && ts == srv->trust
                               ? fg_revocation_mode_for(srv->revocation, domain)
                               : FG_REVOCATION_OFF,
                           1);
  // Scope: outbound, which trust store, which identity rules, which
  // revocation knowledge (a learned revocation voids cached verdicts).
  uint32_t scope = 0x200u | (ts == srv->trust_internal ? 1u : 0u) | flags << 4;
  if (probe.mode != FG_REVOCATION_OFF) {
    scope ^= fg_revocation_generation(srv->revocation) << 12 | (uint32_t)probe.mode << 8;
  }
  fg_verdict_key key;
  int64_t now = (int64_t)time(NULL);
  int keyed = fg_verdict_key_make(&key, sk, domain, scope);
  if (keyed && fg_verdict_cache_hit(&key, now)) {
    fg_metrics_inc(&srv->metrics, FG_M_VERDICT_CACHE_HITS);
    return FG_TLS_VERIFY_OK;
  }
  fg_peer_verdict v;
  fg_chain_params params = {.role = FG_ROLE_OUTBOUND, .at = now};
  fg_revocation_params(&params, &probe);
  int ok = fg_peer_verify(&v, ts, sk, domain, "xmpp-server", flags, &params);
  int64_t until = v.chain.valid_until;
  if (probe.expires != 0 && probe.expires < until) until = probe.expires;
  // Only a verdict that needed no fetch is remembered.
  if (ok && keyed && probe.n_missing == 0) fg_verdict_cache_put(&key, now, until);
  if (probe.revoked) fg_metrics_inc(&srv->metrics, FG_M_PEERS_REFUSED_REVOKED);
  fg_revocation_probe_cleanup(&probe);
  if (!ok) {
    fg_log(FG_LOG_SEV_WARN, NULL, domain, "outbound: certificate refused: chain %s%s",
           v.chain.reason, v.identity.status == FG_IDENTITY_MATCH ? "" : ", identity mismatch");
  }
  fg_peer_verdict_cleanup(&v);
  return ok ? FG_TLS_VERIFY_OK : FG_TLS_VERIFY_REJECT;
}

static enum fg_tls_verify_result verify_peer(fg_tls_conn *t, const CRYPTO_BUFFER *const *chain,
                                             size_t chain_len, void *arg) {
  (void)chain;
  (void)chain_len;
  fg_server *srv = arg;
  return verify_with(srv, srv->trust, t);
}

// verify_backend checks an internal server on the hop: the trust store plus
// the internal CA.
static enum fg_tls_verify_result verify_backend(fg_tls_conn *t, const CRYPTO_BUFFER *const *chain,
                                                size_t chain_len, void *arg) {
  (void)chain;
  (void)chain_len;
  fg_server *srv = arg;
  return verify_with(srv, srv->trust_internal, t);
}

static enum fg_tls_verify_result verify_peer_dialback(fg_tls_conn *t,
                                                      const CRYPTO_BUFFER *const *chain,
                                                      size_t chain_len, void *arg) {
  fg_server *srv = arg;
  enum fg_tls_verify_result r = verify_peer(t, chain, chain_len, arg);
  // Without dialback nothing but the certificate can prove the peer: PKIX
  // here, or POSH once the handshake is done (gateway/server/link.c).
  if (r == FG_TLS_VERIFY_OK || (!srv->cfg->dialback.enabled && srv->posh == NULL)) return r;
  return FG_TLS_VERIFY_UNTRUSTED;
}

// setup_tls builds the TLS contexts. With |ktls|, they keep the traffic
// secrets the runtime needs to hand records to kernel TLS after handshakes.
static int setup_tls(fg_server *srv, int ktls, char *err, size_t err_len) {
  const fg_config *cfg = srv->cfg;
  srv->pool = CRYPTO_BUFFER_POOL_new();
  srv->sni = fg_tls_sni_new();
  srv->stapler = fg_stapler_new(cfg, &srv->metrics);
  if (srv->pool == NULL || srv->sni == NULL || srv->stapler == NULL) {
    snprintf(err, err_len, "out of memory");
    return 0;
  }
  fg_tls_cert *def = NULL;
  if (cfg->tls.default_cert_file != NULL && cfg->tls.default_key_file != NULL) {
    def = load_cert(srv, cfg->tls.default_cert_file, cfg->tls.default_key_file, err, err_len);
    if (def == NULL) return 0;
    fg_tls_sni_set_default(srv->sni, def);
    fg_stapler_add(srv->stapler, def, NULL);
  }
  for (size_t i = 0; i < cfg->n_domains; i++) {
    const fg_config_domain *d = &cfg->domains[i];
    fg_tls_cert *c = def;
    if (d->cert_file != NULL && d->key_file != NULL) {
      c = load_cert(srv, d->cert_file, d->key_file, err, err_len);
      if (c == NULL) return 0;
    }
    if (c == NULL) continue;
    char name[FG_DOMAIN_MAX + 3];
    snprintf(name, sizeof(name), "%s%s", d->wildcard ? "*." : "", d->name);
    fg_tls_sni_add(srv->sni, name, c);
    fg_stapler_add(srv->stapler, c, name);
    if (srv->sni != NULL && fg_tls_sni_lookup(srv->sni, NULL) == NULL) {
      fg_tls_sni_set_default(srv->sni, c);
    }
    if (c != def) fg_tls_cert_free(c);
  }
  fg_tls_cert_free(def);
  fg_tls_ctx_config tc = {0};
  tc.role = FG_TLS_SERVER;
  tc.sni = srv->sni;
  tc.verify = verify_peer;
  tc.verify_arg = srv;
  tc.buffer_pool = srv->pool;  // a peer's chain kept once, not per stream
  tc.capture_secrets = ktls;
  // One TLS 1.3 ticket per handshake: an s2s peer reconnects one stream at a
  // time and every resumed handshake hands it a fresh ticket (RFC 8446
  // §4.6.1); a second ticket would only cost an encryption per handshake.
  tc.num_tickets = 1;
  srv->tls_starttls = fg_tls_ctx_new(&tc);
  tc.direct_tls = 1;
  srv->tls_direct = fg_tls_ctx_new(&tc);
  fg_tls_ctx_config cc = {0};
  cc.role = FG_TLS_CLIENT;
  cc.verify = verify_peer;
  cc.verify_arg = srv;
  cc.session_cache = 1;
  cc.buffer_pool = srv->pool;
  cc.capture_secrets = ktls;
  cc.verify = verify_backend;
  srv->tls_client = fg_tls_ctx_new(&cc);
  cc.verify = verify_peer;
  // Towards remote and authoritative servers an invalid certificate does not
  // end the stream: dialback (XEP-0220) proves the peer through DNS instead.
  cc.verify = verify_peer_dialback;
  // Their stapled OCSP response answers the revocation check without a
  // fetch (gateway/server/revocation.h).
  cc.ocsp_stapling = 1;
  srv->tls_client_dialback = fg_tls_ctx_new(&cc);
  cc.direct_tls = 1;  // XEP-0368: ALPN xmpp-server, SNI the remote domain
  srv->tls_client_direct = fg_tls_ctx_new(&cc);
  if (srv->tls_starttls == NULL || srv->tls_direct == NULL || srv->tls_client == NULL ||
      srv->tls_client_dialback == NULL || srv->tls_client_direct == NULL) {
    snprintf(err, err_len, "cannot create the TLS contexts");
    return 0;
  }
  return 1;
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

static int setup_trust(fg_server *srv, char *err, size_t err_len) {
  const fg_config *cfg = srv->cfg;
  srv->trust = fg_trust_store_new();
  srv->trust_internal = fg_trust_store_new();
  if (srv->trust == NULL || srv->trust_internal == NULL) return 0;
  if (!load_trust(cfg, srv->trust, err, err_len) ||
      !load_trust(cfg, srv->trust_internal, err, err_len)) {
    return 0;
  }
  // The internal servers may also hold certificates from the internal CA;
  // only the internal side trusts it.
  if (cfg->internal_hop.ca_cert_file != NULL &&
      fg_trust_store_load(srv->trust_internal, cfg->internal_hop.ca_cert_file, err, err_len) == 0) {
    return 0;
  }
  if (cfg->internal_hop.mode == FG_HOP_INTERNAL_CA && cfg->internal_hop.ca_cert_file != NULL) {
    srv->ica = fg_internal_ca_load(cfg->internal_hop.ca_cert_file, cfg->internal_hop.ca_key_file,
                                   cfg->internal_hop.cert_lifetime_s, err, err_len);
    if (srv->ica == NULL) return 0;
  }
  return 1;
}

static int setup_targets(fg_server *srv, char *err, size_t err_len) {
  const fg_config *cfg = srv->cfg;
  srv->backend_targets = calloc(cfg->n_backends ? cfg->n_backends : 1, sizeof(resolved_target *));
  if (srv->backend_targets == NULL) return 0;
  for (size_t b = 0; b < cfg->n_backends; b++) {
    const fg_config_backend *be = &cfg->backends[b];
    srv->backend_targets[b] =
        calloc(be->n_addresses ? be->n_addresses : 1, sizeof(resolved_target));
    if (srv->backend_targets[b] == NULL) return 0;
    for (size_t a = 0; a < be->n_addresses; a++) {
      resolved_target *t = &srv->backend_targets[b][a];
      if (!resolve(t, be->addresses[a].host, be->addresses[a].port, err, err_len)) return 0;
      if (fg_resolve_is_own_listener(srv, (const struct sockaddr *)&t->addr)) {
        snprintf(err, err_len, "backends[%zu] (%s): address %s is this gateway's own listener", b,
                 be->name, t->name);
        return 0;
      }
    }
  }
  srv->static_routes = calloc(cfg->n_dns_static ? cfg->n_dns_static : 1, sizeof(static_route));
  if (srv->static_routes == NULL) return 0;
  for (size_t i = 0; i < cfg->n_dns_static; i++) {
    const fg_config_static_dns *d = &cfg->dns_static[i];
    static_route *r = &srv->static_routes[srv->n_static_routes++];
    snprintf(r->domain, sizeof(r->domain), "%s", d->domain);
    r->targets = calloc(d->n_targets ? d->n_targets : 1, sizeof(resolved_target));
    if (r->targets == NULL) return 0;
    for (size_t t = 0; t < d->n_targets; t++) {
      if (!resolve(&r->targets[t], d->targets[t].host, d->targets[t].port, err, err_len)) return 0;
      if (fg_resolve_is_own_listener(srv, (const struct sockaddr *)&r->targets[t].addr)) {
        snprintf(err, err_len, "dns.static (%s): target %s is this gateway's own listener",
                 d->domain, r->targets[t].name);
        return 0;
      }
      r->n_targets++;
    }
  }
  return 1;
}

// make_stream_tag picks the tag that starts every stream id this gateway
// issues: derived from the dialback secret when one is configured (instances
// sharing the secret recognise each other's streams as their own), else random.
static void make_stream_tag(fg_server *srv) {
  static const char kLabel[] = "fedgate stream id tag";
  const fg_config *cfg = srv->cfg;
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned md_len = 0;
  if (cfg->dialback.secret_file != NULL && cfg->dialback.secret_len > 0 &&
      HMAC(EVP_sha256(), cfg->dialback.secret, cfg->dialback.secret_len, (const uint8_t *)kLabel,
           sizeof(kLabel) - 1, md, &md_len) != NULL &&
      md_len >= FG_STREAM_TAG_LEN) {
    memcpy(srv->stream_tag.bytes, md, FG_STREAM_TAG_LEN);
  } else {
    RAND_bytes(srv->stream_tag.bytes, FG_STREAM_TAG_LEN);
  }
  srv->stream_tag.set = 1;
}

// runtime_notice logs what the io runtime tells the operator (accepting
// paused for want of file descriptors, and resumed).
static void runtime_notice(const char *text) {
  fg_log(FG_LOG_SEV_WARN, NULL, NULL, "%s", text);
}

fg_server *fg_server_new(fg_config *cfg, const fg_worker_options *wo, char *err, size_t err_len) {
  fg_server *srv = calloc(1, sizeof(*srv));
  if (srv == NULL) {
    fg_config_free(cfg);
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  srv->cfg = cfg;
  srv->listener_arg.srv = srv;
  srv->answer_dialback = fg_inbound_dialback_answer;
  fg_log_set_level((fg_log_severity)cfg->log_level);
  if (cfg->dialback.enabled && cfg->dialback.secret != NULL && cfg->dialback.secret_len > 0) {
    srv->have_db_secret =
        fg_dialback_secret_init(&srv->db_secret, cfg->dialback.secret, cfg->dialback.secret_len);
  }
  make_stream_tag(srv);
  srv->ip_limits = fg_ip_limits_new(cfg->limits.ipv6_prefix);
  if (srv->ip_limits == NULL) goto fail;
  if (cfg->sm.enabled && cfg->sm.resume_timeout_s) {
    // XEP-0198 §5: ended inbound streams, resumable on any worker.
    srv->sm_registry = fg_sm_registry_new(65536, cfg->sm.resume_timeout_s * 1000ull);
    if (srv->sm_registry == NULL) goto fail;
  }
  if (!fg_resolve_local_addresses(srv)) {
    fg_log(FG_LOG_SEV_WARN, NULL, NULL,
           "cannot list this host's addresses: only loopback counts as our own for outbound "
           "targets");
  }
  srv->router = fg_router_new(cfg);
  if (srv->router == NULL) {
    snprintf(err, err_len, "cannot build the routing table");
    goto fail;
  }
  // Kernel TLS (io/ktls.h) when the kernel offers it and --no-ktls is not
  // given; otherwise records stay in user space.
  char why[160] = "";
  int ktls = wo->ktls && fg_ktls_probe(why, sizeof(why));
  fg_log(FG_LOG_SEV_INFO, NULL, NULL, "kernel TLS: %s%s",
         ktls ? "on" : "off: ", ktls ? "" : (wo->ktls ? why : "--no-ktls"));
  if (ktls && !fg_ktls_rekey_probe()) {
    fg_log(FG_LOG_SEV_WARN, NULL, NULL,
           "kernel TLS: this kernel cannot re-key after a TLS 1.3 KeyUpdate (Linux < 6.14): a "
           "peer's KeyUpdate closes its stream (counted as ktls_rekey_closes); --no-ktls keeps "
           "every record in user space");
  }
  if (!setup_trust(srv, err, err_len) || !setup_tls(srv, ktls, err, err_len) ||
      !setup_targets(srv, err, err_len)) {
    goto fail;
  }
  fg_dns_config dc;
  fg_dns_config_init(&dc);
  dc.nameservers = (const char *const *)cfg->dns_nameservers;
  dc.n_nameservers = cfg->n_dns_nameservers;
  if (cfg->dns_timeout_ms) dc.timeout_ms = cfg->dns_timeout_ms;
  srv->dns = fg_dns_new(&dc, err, err_len);
  if (srv->dns == NULL) {
    // Without a resolver only hosted domains and dns.static peers are reachable.
    fg_log(FG_LOG_SEV_WARN, NULL, NULL, "DNS resolver unavailable: %s", err);
    err[0] = 0;
  }
  fg_worker_options o = *wo;
  o.notice = runtime_notice;
  if (o.workers == 0 && cfg->workers != 0) o.workers = cfg->workers;
  if (cfg->limits.handshake_timeout_ms) o.handshake_timeout_ms = cfg->limits.handshake_timeout_ms;
  srv->rt = fg_runtime_new(&o);
  if (srv->rt == NULL) {
    snprintf(err, err_len, "cannot start the workers (see 'fedgate probe')");
    goto fail;
  }
  srv->responders = fg_responders_load(cfg, err, err_len);
  if (srv->responders == NULL) goto fail;
  if (fg_revocation_needed(cfg)) {
    srv->revocation =
        fg_revocation_new(cfg, srv->responders, srv->rt, srv->dns, &srv->metrics, err, err_len);
    if (srv->revocation == NULL) goto fail;
  }
  if (!fg_stapler_start(srv->stapler, srv->responders, srv->rt, srv->dns, err, err_len)) goto fail;
  if (cfg->tls.posh.enabled) {
    srv->posh = fg_posh_auth_new(cfg, srv->rt, srv->dns, srv->trust, &srv->metrics);
  }
  srv->num_workers = fg_runtime_num_workers(srv->rt);
  srv->workers = calloc(srv->num_workers, sizeof(worker_state));
  if (srv->workers == NULL) goto fail;
  for (unsigned i = 0; i < srv->num_workers; i++) {
    srv->workers[i].writer = fg_xml_writer_new();
    if (srv->workers[i].writer == NULL) goto fail;
  }
  return srv;
fail:
  if (err[0] == 0) snprintf(err, err_len, "out of memory");
  fg_server_free(srv);
  return NULL;
}

int fg_server_start(fg_server *srv, char *err, size_t err_len) {
  static const fg_conn_handler *const handlers[FG_LISTENER_COUNT] = {
      &fg_inbound_handler_s2s, &fg_inbound_handler_s2s_tls, &fg_inbound_handler_internal,
      &fg_admin_handler};
  for (int id = 0; id < FG_LISTENER_COUNT; id++) {
    const fg_config_listener *l = &srv->cfg->listeners[id];
    if (!l->enabled) continue;
    fg_listener_config lc = {0};
    lc.host = l->address;
    lc.port = l->port;
    lc.tls = id == FG_LISTENER_S2S_TLS ? srv->tls_direct : NULL;
    lc.handler = handlers[id];
    lc.arg = &srv->listener_arg;
    if (l->socket_path[0]) {
      // listeners.admin.socket: the only admin endpoint, for the owner and
      // group of the file (mode 0660).
      lc.unix_path = l->socket_path;
      lc.unix_mode = 0660;
      if (!fg_runtime_listen(srv->rt, &lc, NULL)) {
        snprintf(err, err_len, "cannot listen on the Unix socket %s (listener %s)", l->socket_path,
                 fg_config_listener_name((fg_listener_id)id));
        return 0;
      }
      continue;
    }
    if (!fg_runtime_listen(srv->rt, &lc, &srv->ports[id])) {
      snprintf(err, err_len, "cannot listen on %s port %u (listener %s)", l->address, l->port,
               fg_config_listener_name((fg_listener_id)id));
      return 0;
    }
  }
  return 1;
}

typedef struct shutdown_msg {
  fg_msg msg;
  fg_server *srv;
} shutdown_msg;

static void close_streams(fg_worker *w, fg_msg *m) {
  shutdown_msg *sm = (shutdown_msg *)m;
  worker_state *ws = fg_server_worker_state(sm->srv, w);
  fg_inbound_shutdown(ws);
  fg_link_shutdown(ws);
  atomic_fetch_sub(&sm->srv->shutdown_pending, 1);
  free(sm);
}

void fg_server_stop(fg_server *srv, unsigned drain_ms) {
  if (srv->stopped) return;
  srv->stopped = 1;
  if (srv->rt == NULL) return;
  // Each worker ends its own streams at the XMPP level first (peers learn
  // why), then the runtime flushes and closes the connections.
  atomic_store(&srv->stopping, 1);
  if (drain_ms > 0) {
    atomic_store(&srv->shutdown_pending, srv->num_workers);
    for (unsigned i = 0; i < srv->num_workers; i++) {
      shutdown_msg *sm = calloc(1, sizeof(*sm));
      if (sm == NULL) {
        atomic_fetch_sub(&srv->shutdown_pending, 1);
        continue;
      }
      sm->msg.fn = close_streams;
      sm->srv = srv;
      fg_worker_post(fg_runtime_worker(srv->rt, i), &sm->msg);
    }
    for (int i = 0; i < 200 && atomic_load(&srv->shutdown_pending) > 0; i++) {
      struct timespec ts = {0, 5000000};
      nanosleep(&ts, NULL);
    }
  }
  fg_runtime_shutdown(srv->rt, drain_ms);
  const fg_config_listener *admin = &srv->cfg->listeners[FG_LISTENER_ADMIN];
  if (admin->enabled && admin->socket_path[0]) remove(admin->socket_path);  // ours, bound at start
}

static void free_unreachable_memory(fg_server *srv) {
  for (unsigned i = 0; srv->workers != NULL && i < srv->num_workers; i++) {
    for (unreachable *u = srv->workers[i].unreachable, *n; u != NULL; u = n) {
      n = u->next;
      free(u);
    }
    srv->workers[i].unreachable = NULL;
  }
}

void fg_server_free(fg_server *srv) {
  if (srv == NULL) return;
  // The resolver goes first: its cancelled callbacks post to the workers.
  fg_dns_free(srv->dns);
  srv->dns = NULL;
  fg_server_stop(srv, 0);
  fg_revocation_free(srv->revocation);  // after the workers stopped, before they go
  fg_posh_auth_free(srv->posh);
  fg_stapler_free(srv->stapler);
  fg_responders_free(srv->responders);
  fg_runtime_free(srv->rt);
  free_unreachable_memory(srv);
  for (unsigned i = 0; srv->workers != NULL && i < srv->num_workers; i++) {
    fg_xml_writer_free(srv->workers[i].writer);
  }
  free(srv->workers);
  free(srv->local_addrs);
  fg_ip_limits_free(srv->ip_limits);
  fg_sm_registry_free(srv->sm_registry);
  if (srv->backend_targets != NULL) {
    for (size_t b = 0; b < srv->cfg->n_backends; b++) free(srv->backend_targets[b]);
    free(srv->backend_targets);
  }
  for (size_t i = 0; i < srv->n_static_routes; i++) free(srv->static_routes[i].targets);
  free(srv->static_routes);
  fg_tls_ctx_free(srv->tls_starttls);
  fg_tls_ctx_free(srv->tls_direct);
  fg_tls_ctx_free(srv->tls_client);
  fg_tls_ctx_free(srv->tls_client_dialback);
  fg_tls_ctx_free(srv->tls_client_direct);
  fg_tls_sni_free(srv->sni);
  if (srv->pool != NULL) CRYPTO_BUFFER_POOL_free(srv->pool);
  fg_internal_ca_free(srv->ica);
  fg_trust_store_free(srv->trust);
  fg_trust_store_free(srv->trust_internal);
  fg_router_free(srv->router);
  if (srv->have_db_secret) fg_dialback_secret_cleanup(&srv->db_secret);
  fg_config_free(srv->cfg);
  free(srv);
}
