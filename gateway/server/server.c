// server.c: assembles a running gateway from a configuration snapshot:
// certificates and TLS contexts, trust store, router, internal CA, worker
// runtime, listeners, and the admin endpoint (/metrics, /ready).
#include "gateway/server/dane_check.h"
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
#include "gateway/server/admit.h"
#include "gateway/server/cert_expiry.h"
#include "gateway/server/inbound.h"
#include "gateway/server/link_admin.h"
#include "gateway/server/link_loss.h"
#include "gateway/server/bidi_park.h"
#include "gateway/server/abuse_limits.h"
#include "gateway/server/abuse_reports.h"
#include "gateway/server/block_watch.h"
#include "gateway/server/blocks.h"
#include "gateway/server/ip_limits.h"
#include "gateway/server/rtbl.h"
#include "gateway/server/sm_registry.h"
#include "gateway/server/log.h"
#include "gateway/server/reload.h"
#include "gateway/server/own_listeners.h"
#include "gateway/server/restart_keys.h"
#include "gateway/server/posh_auth.h"
#include "gateway/server/revocation.h"
#include "gateway/server/server_internal.h"
#include "gateway/server/stapler.h"
#include "gateway/server/ticket_watch.h"
#include "gateway/server/verdict_cache.h"
#include "gateway/server/verdict_scope.h"
#include "gateway/xml/xml_serializer.h"
#include "io/dns.h"
#include "io/ktls.h"
#include "io/listener.h"

const fg_metrics *fg_server_metrics(const fg_server *s) {
  return &s->metrics;
}

fg_runtime *fg_server_runtime(fg_server *s) {
  return s->rt;
}

unsigned fg_server_shutdown_grace_ms(const fg_server *s) {
  return s->boot_cfg->shutdown.grace_ms;
}

uint16_t fg_server_port(const fg_server *s, fg_listener_id id) {
  return id < FG_LISTENER_COUNT ? s->ports[id] : 0;
}

// verify_peer is the custom-verify hook of every context. Inbound peers are
// judged later, per domain, when the stream names them (SASL EXTERNAL,
// XEP-0344); outbound peers must be valid for the domain we connected to
// (RFC 6120 §13.7.2.1), the SNI we sent.
static enum fg_tls_verify_result verify_with(fg_server *srv, int internal, fg_tls_conn *t) {
  SSL *ssl = fg_tls_conn_ssl(t);
  if (SSL_is_server(ssl)) return FG_TLS_VERIFY_UNTRUSTED;
  const char *domain = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  const STACK_OF(CRYPTO_BUFFER) *sk = SSL_get0_peer_certificates(ssl);
  if (domain == NULL || sk == NULL) return FG_TLS_VERIFY_REJECT;
  const fg_snapshot *snap = fg_server_snapshot(srv);
  unsigned flags = snap->cfg->tls.legacy_cn_id ? FG_IDENTITY_LEGACY_CN_ID : 0;
  // Revocation of remote servers (not of the backends): what the shared
  // cache knows decides now; the rest is fetched before the link is trusted
  // (gateway/server/link.c).
  fg_revocation_probe probe;
  const fg_trust_store *ts = internal ? snap->trust_internal : snap->trust;
  fg_revocation_probe_init(&probe, srv->revocation, snap->cfg,
                           srv->revocation != NULL && !internal
                               ? fg_revocation_mode_in(snap->cfg, domain)
                               : FG_REVOCATION_OFF,
                           1);
  // Scope: outbound, which trust store, which identity rules, which
  // revocation knowledge (a learned revocation voids cached verdicts).
  fg_verdict_scope scope =
      fg_verdict_scope_now(srv, snap, FG_VERDICT_OUTBOUND, internal, probe.mode);
  fg_verdict_key key;
  int64_t now = (int64_t)time(NULL);
  int keyed = fg_verdict_key_make(&key, sk, domain, &scope);
  // What was found goes with the session, so that resuming it later trusts
  // the peer exactly as much (crypto/tls_verdict.h).
  fg_tls_verdict tv = {0};
  if (keyed && fg_verdict_cache_hit(&key, now)) {
    fg_metrics_inc(&srv->metrics, FG_M_VERDICT_CACHE_HITS);
    tv.chain = FG_CHAIN_OK;
    tv.identity = FG_IDENTITY_MATCH;
    tv.revocation = probe.mode == FG_REVOCATION_OFF ? 0 : 1;
    fg_tls_conn_set_verdict(t, &tv);
    fg_revocation_probe_cleanup(&probe);
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
  // Revocation: 0 not checked, 1 not revoked as far as known, 2 revoked,
  // 3 answers still missing (gateway/server/link.c fetches them).
  tv.chain = (int)v.chain.status;
  tv.identity = (int)v.identity.status;
  tv.revocation = probe.mode == FG_REVOCATION_OFF ? 0
                  : probe.revoked                 ? 2
                  : probe.n_missing > 0           ? 3
                                                  : 1;
  fg_tls_conn_set_verdict(t, &tv);
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
  return verify_with(srv, 0, t);
}

// verify_backend checks an internal server on the hop: the trust store plus
// the internal CA.
static enum fg_tls_verify_result verify_backend(fg_tls_conn *t, const CRYPTO_BUFFER *const *chain,
                                                size_t chain_len, void *arg) {
  (void)chain;
  (void)chain_len;
  fg_server *srv = arg;
  return verify_with(srv, 1, t);
}

static enum fg_tls_verify_result verify_peer_dialback(fg_tls_conn *t,
                                                      const CRYPTO_BUFFER *const *chain,
                                                      size_t chain_len, void *arg) {
  fg_server *srv = arg;
  SSL *ssl = fg_tls_conn_ssl(t);
  fg_dane_expect *dane = fg_dane_expect_of(ssl);
  if (dane != NULL) {
    // A secure, usable TLSA RRset decides alone (RFC 7673 §4.2): no PKIX
    // or dialback fallback when it refuses.
    int pkix =
        fg_dane_wants_pkix(dane->tlsa) && verify_peer(t, chain, chain_len, arg) == FG_TLS_VERIFY_OK;
    return fg_dane_check(srv, dane, SSL_get0_peer_certificates(ssl), pkix);
  }
  enum fg_tls_verify_result r = verify_peer(t, chain, chain_len, arg);
  // Without dialback nothing but the certificate can prove the peer: PKIX
  // here, or POSH once the handshake is done (gateway/server/link.c).
  if (r == FG_TLS_VERIFY_OK ||
      (!fg_server_snapshot(srv)->cfg->dialback.enabled && srv->posh == NULL)) {
    return r;
  }
  return FG_TLS_VERIFY_UNTRUSTED;
}

// current_sni is the server contexts' certificate index: the snapshot of
// the worker running the handshake, so that a reload's certificates serve
// the next handshake.
static const fg_tls_sni *current_sni(void *arg) {
  return fg_server_snapshot(arg)->sni;
}

// staple_cert registers a certificate of the first snapshot with the stapler.
static void staple_cert(void *arg, fg_tls_cert *c, const char *name) {
  fg_stapler_add(arg, c, name);
}

// outbound_scope is what outbound certificate verdicts depend on beyond the
// chain and the name: which trust stores, the identity rules, and what is
// known about revocations. A cached session verified under another scope is
// not offered (crypto/tls.h verify_scope): a reload that drops a CA, or a
// learned revocation, forces full handshakes.
static uint64_t outbound_scope(void *arg) {
  fg_server *srv = arg;
  uint64_t scope = (uint64_t)atomic_load_explicit(&srv->trust_generation, memory_order_relaxed)
                   << 1;
  scope |= fg_server_snapshot(srv)->cfg->tls.legacy_cn_id ? 1u : 0u;
  if (srv->revocation != NULL) scope |= (uint64_t)fg_revocation_generation(srv->revocation) << 32;
  return scope;
}

// setup_tls builds the TLS contexts. With |ktls|, they keep the traffic
// secrets the runtime needs to hand records to kernel TLS after handshakes.
static int setup_tls(fg_server *srv, int ktls, char *err, size_t err_len) {
  fg_tls_ctx_config tc = {0};
  tc.role = FG_TLS_SERVER;
  tc.sni_current = current_sni;
  tc.sni_arg = srv;
  tc.verify = verify_peer;
  tc.verify_arg = srv;
  tc.buffer_pool = srv->pool;  // a peer's chain kept once, not per stream
  tc.capture_secrets = ktls;
  // One TLS 1.3 ticket per handshake: an s2s peer reconnects one stream at a
  // time and every resumed handshake hands it a fresh ticket (RFC 8446
  // §4.6.1); a second ticket would only cost an encryption per handshake.
  tc.num_tickets = 1;
  // Tickets sealed with the keys every instance shares (tls.ticket_key_file)
  // resume on any of them, e.g. behind a load balancer.
  tc.ticket_keys = srv->tickets != NULL ? fg_ticket_watch_keys(srv->tickets) : NULL;
  srv->tls_starttls = fg_tls_ctx_new(&tc);
  tc.direct_tls = 1;
  srv->tls_direct = fg_tls_ctx_new(&tc);
  fg_tls_ctx_config cc = {0};
  cc.role = FG_TLS_CLIENT;
  cc.verify = verify_peer;
  cc.verify_arg = srv;
  cc.session_cache = 1;
  cc.session_cache_entries = srv->boot_cfg->tls.session_cache_entries;
  cc.verify_scope = outbound_scope;
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

// make_stream_tag picks the tag that starts every stream id this gateway
// issues: derived from the dialback secret when one is configured (instances
// sharing the secret recognise each other's streams as their own), else random.
static void make_stream_tag(fg_server *srv) {
  static const char kLabel[] = "fedgate stream id tag";
  const fg_config *cfg = srv->boot_cfg;
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

static int take_own_bounce(fg_server *srv, const uint8_t *data, size_t len) {
  return fg_rtbl_take_bounce(srv->rtbl, data, len) || fg_reports_take_bounce(srv, data, len);
}

fg_server *fg_server_new(fg_config *cfg, const fg_worker_options *wo, char *err, size_t err_len) {
  fg_server *srv = calloc(1, sizeof(*srv));
  if (srv == NULL) {
    fg_config_free(cfg);
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  srv->boot_cfg = cfg;
  srv->listener_arg.srv = srv;
  srv->answer_dialback = fg_inbound_dialback_answer;
  srv->reverse = &fg_inbound_reverse_ops;
  srv->link_lost = fg_link_loss_report;
  fg_log_set_level((fg_log_severity)cfg->log_level);
  make_stream_tag(srv);
  srv->ip_limits = fg_ip_limits_new(cfg->limits.ipv6_prefix);
  if (srv->ip_limits == NULL) goto fail;
  // The block lists outlive configuration snapshots; a reload calls
  // fg_blocks_apply_config again.
  srv->blocks = fg_blocks_new();
  if (srv->blocks == NULL || !fg_blocks_apply_config(srv->blocks, cfg, err, err_len)) goto fail;
  int oom = 0;
  srv->limits = fg_abuse_limits_new(cfg, &oom);
  if (oom) goto fail;
  srv->take_own_bounce = take_own_bounce;
  if (cfg->sm.enabled && cfg->sm.resume_timeout_s) {
    // XEP-0198 §5: ended inbound streams, resumable on any worker.
    srv->sm_registry = fg_sm_registry_new(65536, cfg->sm.resume_timeout_s * 1000ull);
    if (srv->sm_registry == NULL) goto fail;
  }
  if (!fg_own_listeners_load(srv)) {
    fg_log(FG_LOG_SEV_WARN, NULL, NULL,
           "cannot list this host's addresses: only loopback counts as our own for outbound "
           "targets");
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
  atomic_init(&srv->trust_generation, 1);
  if (cfg->tls.ticket_key_file != NULL) {
    srv->tickets = fg_ticket_watch_new(cfg->tls.ticket_key_file, cfg->tls.ticket_key_check_ms,
                                       &srv->metrics, err, err_len);
    if (srv->tickets == NULL) goto fail;
  }
  srv->pool = CRYPTO_BUFFER_POOL_new();
  srv->stapler = fg_stapler_new(cfg, &srv->metrics);
  if (srv->pool == NULL || srv->stapler == NULL) goto fail;
  // The first snapshot is built from a second load of the same file: the
  // snapshot owns its configuration (and frees it when replaced), while
  // |cfg| stays for what only a restart changes.
  fg_config_diag diag;
  fg_config_diag_init(&diag);
  fg_config *snap_cfg = fg_config_load(cfg->path, &diag);
  fg_config_diag_cleanup(&diag);
  fg_text changed = {0};
  if (snap_cfg == NULL || fg_restart_keys_check(cfg, snap_cfg, &changed) > 0) {
    snprintf(err, err_len, "%s: changed while starting; not starting", cfg->path);
    fg_config_free(snap_cfg);
    free(changed.data);
    goto fail;
  }
  fg_snapshot *first = fg_snapshot_build(srv, snap_cfg, 1, staple_cert, srv->stapler, err, err_len);
  if (first == NULL) goto fail;
  atomic_store(&srv->snap, first);
  if (!setup_tls(srv, ktls, err, err_len)) goto fail;
  fg_dns_config dc;
  fg_dns_config_init(&dc);
  dc.nameservers = (const char *const *)cfg->dns_nameservers;
  dc.n_nameservers = cfg->n_dns_nameservers;
  if (cfg->dns_timeout_ms) dc.timeout_ms = cfg->dns_timeout_ms;
  dc.trusted_resolvers = (const char *const *)cfg->dns_trusted_resolvers;
  dc.n_trusted_resolvers = cfg->n_dns_trusted_resolvers;
  dc.dane = cfg->tls.dane && cfg->n_dns_trusted_resolvers > 0;
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
  // The engine exists even when revocation is off: a reload may turn it on
  // (the snapshot's revocation.mode decides when it checks).
  srv->revocation =
      fg_revocation_new(cfg, srv->responders, srv->rt, srv->dns, &srv->metrics, err, err_len);
  if (srv->revocation == NULL) goto fail;
  if (!fg_stapler_start(srv->stapler, srv->responders, srv->rt, srv->dns, err, err_len)) goto fail;
  if (srv->tickets != NULL) fg_ticket_watch_start(srv->tickets, srv->rt);
  if (cfg->tls.posh.enabled) {
    // POSH checks HTTPS servers with the trust store the gateway started
    // with (its settings need a restart: gateway/server/restart_keys.c).
    srv->posh_snap = fg_snapshot_up_ref(first);
    srv->posh = fg_posh_auth_new(cfg, srv->rt, srv->dns, first->trust, &srv->metrics);
  }
  srv->num_workers = fg_runtime_num_workers(srv->rt);
  srv->workers = calloc(srv->num_workers, sizeof(worker_state));
  if (srv->workers == NULL) goto fail;
  for (unsigned i = 0; i < srv->num_workers; i++) {
    srv->workers[i].writer = fg_xml_writer_new();
    if (srv->workers[i].writer == NULL) goto fail;
    srv->workers[i].snap = fg_snapshot_up_ref(first);
  }
  if (cfg->abuse.n_rtbl > 0) {  // after the runtime: its lists live on worker 0
    srv->rtbl = fg_rtbl_new(srv);
    if (srv->rtbl == NULL) goto fail;
  }
  if (!fg_reload_state_new(srv)) goto fail;
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
    const fg_config_listener *l = &srv->boot_cfg->listeners[id];
    if (!l->enabled) continue;
    fg_listener_config lc = {0};
    lc.host = l->address;
    lc.port = l->port;
    lc.tls = id == FG_LISTENER_S2S_TLS ? srv->tls_direct : NULL;
    lc.handler = handlers[id];
    lc.arg = &srv->listener_arg;
    if (srv->limits != NULL && srv->boot_cfg->abuse.limits.connections &&
        id != FG_LISTENER_INTERNAL && id != FG_LISTENER_ADMIN) {
      lc.admit = fg_admit_accepted;
    }
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
    lc.proxy_trusted = l->proxy_trusted;
    lc.n_proxy_trusted = l->n_proxy_trusted;
    if (!fg_runtime_listen(srv->rt, &lc, &srv->ports[id])) {
      snprintf(err, err_len, "cannot listen on %s port %u (listener %s)", l->address, l->port,
               fg_config_listener_name((fg_listener_id)id));
      return 0;
    }
  }
  if (!fg_block_watch_start(srv) || !fg_rtbl_start(srv->rtbl)) {
    snprintf(err, err_len, "out of memory");
    return 0;
  }
  // Expiry warnings about the certificates in force: logged now, then daily
  // on worker 0; each reload hands over its list (gateway/server/reload.c).
  srv->expiry = fg_cert_expiry_start(fg_server_snapshot(srv)->cfg, srv->rt);
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
  fg_link_loss_shutdown(ws);
  fg_bidi_park_shutdown(ws);
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
  // An admin reload still running posts its answer to a worker: it must
  // find the workers alive (new ones are refused from here on).
  for (int i = 0; i < 3000 && atomic_load(&srv->admin_threads) > 0; i++) {
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
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
  const fg_config_listener *admin = &srv->boot_cfg->listeners[FG_LISTENER_ADMIN];
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
  fg_reload_state_free(srv);  // waits for a reload in progress
  fg_dns_free(srv->dns);
  srv->dns = NULL;
  fg_server_stop(srv, 0);
  fg_revocation_free(srv->revocation);  // after the workers stopped, before they go
  fg_posh_auth_free(srv->posh);
  fg_snapshot_release(srv->posh_snap);
  fg_stapler_free(srv->stapler);
  fg_responders_free(srv->responders);
  fg_runtime_free(srv->rt);
  fg_cert_expiry_free(srv->expiry);  // its timer was on a worker
  free_unreachable_memory(srv);
  for (unsigned i = 0; srv->workers != NULL && i < srv->num_workers; i++) {
    fg_xml_writer_free(srv->workers[i].writer);
    fg_reports_free_all(&srv->workers[i]);
    fg_snapshot_release(srv->workers[i].snap);
  }
  free(srv->workers);
  free(srv->local_addrs);
  fg_ip_limits_free(srv->ip_limits);
  fg_rtbl_free(srv->rtbl);
  fg_abuse_limits_free(srv->limits);
  fg_blocks_free(srv->blocks);
  fg_sm_registry_free(srv->sm_registry);
  fg_tls_ctx_free(srv->tls_starttls);
  fg_tls_ctx_free(srv->tls_direct);
  fg_tls_ctx_free(srv->tls_client);
  fg_tls_ctx_free(srv->tls_client_dialback);
  fg_tls_ctx_free(srv->tls_client_direct);
  fg_ticket_watch_free(srv->tickets);  // after the contexts that use its keys
  fg_snapshot_release(atomic_load(&srv->snap));
  if (srv->pool != NULL) CRYPTO_BUFFER_POOL_free(srv->pool);
  fg_config_free(srv->boot_cfg);
  free(srv);
}
