// config.c: what every user of the snapshot needs: fg_config_free and the
// name functions. Loading is config_load.c.
#include "gateway/config/config.h"
#include "gateway/config/config_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/mem.h>

static void free_targets(fg_config_target *t, size_t n) {
  if (t == NULL) return;
  for (size_t i = 0; i < n; i++) free(t[i].host);
  free(t);
}

void fg_config_free(fg_config *cfg) {
  if (cfg == NULL) return;
  free(cfg->path);
  free(cfg->dir);
  if (cfg->domains != NULL) {
    for (size_t i = 0; i < cfg->n_domains; i++) {
      free(cfg->domains[i].name);
      free(cfg->domains[i].cert_file);
      free(cfg->domains[i].key_file);
    }
  }
  free(cfg->domains);
  if (cfg->backends != NULL) {
    for (size_t i = 0; i < cfg->n_backends; i++) {
      free(cfg->backends[i].name);
      free_targets(cfg->backends[i].addresses, cfg->backends[i].n_addresses);
    }
  }
  free(cfg->backends);
  if (cfg->tls.plaintext_peers != NULL) {
    for (size_t i = 0; i < cfg->tls.n_plaintext_peers; i++) free(cfg->tls.plaintext_peers[i]);
  }
  free(cfg->tls.plaintext_peers);
  free(cfg->tls.default_cert_file);
  free(cfg->tls.default_key_file);
  free(cfg->tls.trust_file);
  free(cfg->tls.ticket_key_file);
  free(cfg->tls.trust_dir);
  free(cfg->dialback.secret_file);
  if (cfg->dialback.secret != NULL) OPENSSL_cleanse(cfg->dialback.secret, cfg->dialback.secret_len);
  free(cfg->dialback.secret);
  free(cfg->internal_hop.ca_cert_file);
  free(cfg->internal_hop.ca_key_file);
  if (cfg->dns_static != NULL) {
    for (size_t i = 0; i < cfg->n_dns_static; i++) {
      free(cfg->dns_static[i].domain);
      free_targets(cfg->dns_static[i].targets, cfg->dns_static[i].n_targets);
    }
  }
  free(cfg->dns_static);
  for (size_t i = 0; i < cfg->n_dns_nameservers; i++) free(cfg->dns_nameservers[i]);
  free(cfg->dns_nameservers);
  free(cfg->dns_allowed_networks);
  free(cfg->admin_allowed_networks);
  for (int i = 0; i < FG_LISTENER_COUNT; i++) free(cfg->listeners[i].proxy_trusted);
  for (size_t i = 0; i < cfg->n_dns_trusted_resolvers; i++) free(cfg->dns_trusted_resolvers[i]);
  free(cfg->dns_trusted_resolvers);
  free(cfg->revocation.allowed_networks);
  free(cfg->tls.posh.allowed_networks);
  for (size_t i = 0; i < cfg->revocation.n_responders; i++) {
    free(cfg->revocation.responders[i].issuer_file);
    free(cfg->revocation.responders[i].url);
    free(cfg->revocation.responders[i].crl_url);
  }
  free(cfg->revocation.responders);
  for (size_t i = 0; i < cfg->revocation.n_domains; i++) free(cfg->revocation.domains[i].domain);
  free(cfg->revocation.domains);
  free(cfg->revocation.stapling.state_dir);
  for (size_t i = 0; i < cfg->abuse.n_block; i++) free(cfg->abuse.block[i]);
  free(cfg->abuse.block);
  for (size_t i = 0; i < cfg->abuse.n_allow_only; i++) free(cfg->abuse.allow_only[i]);
  free(cfg->abuse.allow_only);
  for (size_t i = 0; i < cfg->abuse.n_rtbl; i++) {
    free(cfg->abuse.rtbl[i].service);
    free(cfg->abuse.rtbl[i].node);
    free(cfg->abuse.rtbl[i].jid);
  }
  free(cfg->abuse.rtbl);
  free(cfg->log.file);
  free(cfg);
}

static const char *const kListenerNames[FG_LISTENER_COUNT] = {"s2s", "s2s-tls", "internal",
                                                              "admin"};

const char *fg_config_listener_name(fg_listener_id id) {
  return (unsigned)id < FG_LISTENER_COUNT ? kListenerNames[id] : "unknown";
}

const char *fg_config_log_level_name(fg_log_level l) {
  static const char *const kNames[] = {"error", "warn", "info", "debug"};
  return (unsigned)l <= FG_LOG_DEBUG ? kNames[l] : "unknown";
}

const char *fg_config_revocation_mode_name(fg_revocation_mode m) {
  return m == FG_REVOCATION_OFF ? "off" : m == FG_REVOCATION_HARD_FAIL ? "hard-fail" : "soft-fail";
}

const char *fg_config_hop_mode_name(fg_hop_mode m) {
  return m == FG_HOP_DIALBACK ? "dialback" : "internal-ca";
}
