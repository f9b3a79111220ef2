// config_revocation.c: the revocation section: the policy for remote
// servers' certificates (mode, leaf_only, per-domain modes), the fetches
// (timeout, clock skew, responder overrides, networks responders may be in)
// and the shared cache's bounds; the stapling of fedgate's own certificates.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/config/config.h"
#include "gateway/config/config_internal.h"

static int parse_mode(config_ctx *c, const char *path, const char *v, fg_revocation_mode *out) {
  if (v == NULL) return 1;
  if (strcmp(v, "off") == 0) {
    *out = FG_REVOCATION_OFF;
  } else if (strcmp(v, "soft-fail") == 0) {
    *out = FG_REVOCATION_SOFT_FAIL;
  } else if (strcmp(v, "hard-fail") == 0) {
    *out = FG_REVOCATION_HARD_FAIL;
  } else {
    config_err(c, path, "expected off, soft-fail or hard-fail");
    return 0;
  }
  return 1;
}

// http_url_ok: an http:// URL with a host (OCSP and CRL fetches are plain
// HTTP, RFC 6960 Appendix A.1 and RFC 5280 §4.2.1.13).
static int http_url_ok(const char *url) {
  return url != NULL && strncmp(url, "http://", 7) == 0 && url[7] != 0 && url[7] != '/' &&
         strpbrk(url, " \t\r\n") == NULL;
}

static void load_responders(config_ctx *c, const raw_revocation *r) {
  fg_config *cfg = c->cfg;
  if (r->n_responders == 0) return;
  cfg->revocation.responders = calloc(r->n_responders, sizeof(fg_config_responder));
  if (cfg->revocation.responders == NULL) return;
  for (unsigned i = 0; i < r->n_responders; i++) {
    char path[96];
    const raw_responder *rr = &r->responders[i];
    snprintf(path, sizeof(path), "revocation.responders[%u].url", i);
    if (rr->url != NULL && !http_url_ok(rr->url)) {
      config_err(c, path, "expected an http:// URL");
      continue;
    }
    snprintf(path, sizeof(path), "revocation.responders[%u].crl", i);
    if (rr->crl != NULL && !http_url_ok(rr->crl)) {
      config_err(c, path, "expected an http:// URL");
      continue;
    }
    if (rr->url == NULL && rr->crl == NULL) {
      snprintf(path, sizeof(path), "revocation.responders[%u]", i);
      config_err(c, path, "needs url (OCSP), crl, or both");
      continue;
    }
    snprintf(path, sizeof(path), "revocation.responders[%u].issuer", i);
    if (rr->issuer == NULL) {
      config_err(c, path, "required key missing (the CA certificate, PEM)");
      continue;
    }
    char *file = config_resolve_path(c, rr->issuer);
    if (file == NULL || !config_check_file(c, path, file, 0)) {
      free(file);
      continue;
    }
    fg_config_responder *out = &cfg->revocation.responders[cfg->revocation.n_responders++];
    out->issuer_file = file;
    out->url = rr->url != NULL ? strdup(rr->url) : NULL;
    out->crl_url = rr->crl != NULL ? strdup(rr->crl) : NULL;
  }
}

static void load_domain_modes(config_ctx *c, const raw_revocation *r) {
  fg_config *cfg = c->cfg;
  if (r->n_domains == 0) return;
  cfg->revocation.domains = calloc(r->n_domains, sizeof(fg_config_domain_policy));
  if (cfg->revocation.domains == NULL) return;
  for (unsigned i = 0; i < r->n_domains; i++) {
    char path[96];
    snprintf(path, sizeof(path), "revocation.domains[%u].domain", i);
    char *d = config_normalize_domain(c, path, r->domains[i].domain, 0, NULL);
    if (d == NULL) continue;
    snprintf(path, sizeof(path), "revocation.domains[%u].mode", i);
    fg_revocation_mode m = cfg->revocation.mode;
    if (r->domains[i].mode == NULL) {
      config_err(c, path, "required key missing (off, soft-fail or hard-fail)");
      free(d);
      continue;
    }
    if (!parse_mode(c, path, r->domains[i].mode, &m)) {
      free(d);
      continue;
    }
    fg_config_domain_policy *out = &cfg->revocation.domains[cfg->revocation.n_domains++];
    out->domain = d;
    out->mode = m;
  }
}

// load_stapling reads revocation.stapling. The state directory must exist
// and be writable now: finding out at the first refresh, hours after
// start-up, would leave the responses unsaved without anyone noticing.
static void load_stapling(config_ctx *c, const raw_stapling *s) {
  fg_config *cfg = c->cfg;
  cfg->revocation.stapling.enabled = 1;
  if (s == NULL) return;
  config_parse_bool(c, "revocation.stapling.enabled", s->enabled, 1,
                    &cfg->revocation.stapling.enabled);
  if (s->state_dir == NULL) return;
  static const char kPath[] = "revocation.stapling.state_dir";
  char *dir = config_resolve_path(c, s->state_dir);
  if (dir == NULL || !config_check_file(c, kPath, dir, 1)) {
    free(dir);
    return;
  }
  if (access(dir, W_OK | X_OK) != 0) {
    config_err(c, kPath, "cannot write in %s: %s", dir, strerror(errno));
    free(dir);
    return;
  }
  cfg->revocation.stapling.state_dir = dir;
}

void config_load_revocation(config_ctx *c, const raw_revocation *r) {
  fg_config *cfg = c->cfg;
  raw_revocation none = {0};
  if (r == NULL) r = &none;
  cfg->revocation.mode = FG_REVOCATION_SOFT_FAIL;
  parse_mode(c, "revocation.mode", r->mode, &cfg->revocation.mode);
  config_parse_bool(c, "revocation.leaf_only", r->leaf_only, 0, &cfg->revocation.leaf_only);
  uint64_t v = 0;
  config_parse_duration(c, "revocation.timeout", r->timeout, 100, 60000, 5000, &v);
  cfg->revocation.timeout_ms = (uint32_t)v;
  config_parse_duration(c, "revocation.clock_skew", r->clock_skew, 0, 3600000, 300000, &v);
  cfg->revocation.clock_skew_s = (uint32_t)(v / 1000);
  config_parse_duration(c, "revocation.negative_ttl", r->negative_ttl, 1000, 3600000, 60000, &v);
  cfg->revocation.negative_ttl_s = (uint32_t)(v / 1000);
  config_parse_uint(c, "revocation.cache_entries", r->cache_entries, 16, 10000000, 65536, &v);
  cfg->revocation.cache_entries = (size_t)v;
  config_parse_uint(c, "revocation.cache_bytes", r->cache_bytes, 1 << 16, 1ull << 34, 64u << 20,
                    &v);
  cfg->revocation.cache_bytes = (size_t)v;
  config_parse_networks(c, "revocation.allowed_networks", r->allowed_networks,
                        r->n_allowed_networks, &cfg->revocation.allowed_networks,
                        &cfg->revocation.n_allowed_networks);
  load_responders(c, r);
  load_domain_modes(c, r);
  load_stapling(c, r->stapling);
}
