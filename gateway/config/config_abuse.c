// config_abuse.c: the abuse section: the static block list (source "config"),
// the allow list of a closed federation, the real-time block lists fedgate
// follows, the limits per remote domain, address and local sender, and the
// switch for forwarding abuse reports (docs/abuse.md).
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/config/config.h"
#include "gateway/config/config_internal.h"

// is_digest says whether |v| is 64 hex digits: the SHA-256 of a bare JID.
static int is_digest(const char *v) {
  size_t n = strspn(v, "0123456789abcdefABCDEF");
  return n == 64 && v[64] == 0;
}

// block_key returns |v| as the list keeps it (lowercase; "*.suffix" for a
// suffix; a digest only when |digests|), or reports why not and returns NULL.
static char *block_key(config_ctx *c, const char *path, const char *v, int digests) {
  if (v != NULL && is_digest(v)) {
    if (!digests) {
      config_err(c, path, "a JID digest cannot be allowed: list domains or *.suffix");
      return NULL;
    }
    char *d = strdup(v);
    for (char *p = d; p && *p; p++) {
      if (*p >= 'A' && *p <= 'F') *p = (char)(*p + 32);
    }
    return d;
  }
  int wildcard = 0;
  char *name = config_normalize_domain(c, path, v, 1, &wildcard);
  if (name == NULL || !wildcard) return name;
  size_t n = strlen(name) + 3;
  char *out = malloc(n);
  if (out != NULL) snprintf(out, n, "*.%s", name);
  free(name);
  return out;
}

// load_keys checks the |n| entries of |raw| into a new |*out|.
static void load_keys(config_ctx *c, const char *key, char *const *raw, unsigned n, int digests,
                      char ***out, size_t *n_out) {
  *out = calloc(n ? n : 1, sizeof(char *));
  *n_out = 0;
  if (*out == NULL) return;
  for (unsigned i = 0; i < n; i++) {
    char path[MAX_PATH_KEY];
    snprintf(path, sizeof(path), "%s[%u]", key, i);
    char *k = block_key(c, path, raw[i], digests);
    if (k != NULL) (*out)[(*n_out)++] = k;
  }
}

// is_hosted_domain says whether |d| is one of the hosted domains.
static int is_hosted_domain(const fg_config *cfg, const char *d) {
  size_t dl = strlen(d);
  for (size_t i = 0; i < cfg->n_domains; i++) {
    const fg_config_domain *h = &cfg->domains[i];
    size_t hl = strlen(h->name);
    if (!h->wildcard && strcmp(h->name, d) == 0) return 1;
    if (h->wildcard && dl > hl + 1 && d[dl - hl - 1] == '.' && strcmp(d + dl - hl, h->name) == 0) {
      return 1;
    }
  }
  return 0;
}

// parse_jid reads "[local@]domain" (no resource) into a new normalised
// string: the localpart lowercased, the domain as config_normalize_domain
// writes it. |*domain_at| is the offset of the domain in the result.
static char *parse_jid(config_ctx *c, const char *path, const char *v, int need_local,
                       size_t *domain_at) {
  if (v == NULL || v[0] == 0) {
    config_err(c, path, "a JID is required");
    return NULL;
  }
  if (strchr(v, '/') != NULL) {
    config_err(c, path, "a bare JID is required (no /resource)");
    return NULL;
  }
  const char *at = strchr(v, '@');
  if (need_local && at == NULL) {
    config_err(c, path, "a JID with a local part is required (name@hosted.domain)");
    return NULL;
  }
  size_t local_len = at ? (size_t)(at - v) : 0;
  for (size_t i = 0; i < local_len; i++) {
    unsigned char ch = (unsigned char)v[i];
    if (ch <= 0x20 || ch >= 0x7f || strchr("\"&'/:<>@", ch) != NULL) {
      config_err(c, path, "the local part must be printable ASCII without \"&'/:<>@ or spaces");
      return NULL;
    }
  }
  if (at != NULL && local_len == 0) {
    config_err(c, path, "the local part is empty");
    return NULL;
  }
  char *dom = config_normalize_domain(c, path, at ? at + 1 : v, 0, NULL);
  if (dom == NULL) return NULL;
  size_t n = local_len + 1 + strlen(dom) + 1;
  char *out = malloc(n);
  if (out != NULL) {
    snprintf(out, n, "%.*s%s%s", (int)local_len, v, at ? "@" : "", dom);
    for (size_t i = 0; i < local_len; i++) {
      if (out[i] >= 'A' && out[i] <= 'Z') out[i] = (char)(out[i] + 32);
    }
  }
  *domain_at = at ? local_len + 1 : 0;
  free(dom);
  return out;
}

static void load_rtbl(config_ctx *c, const raw_rtbl *raw, unsigned n) {
  fg_config *cfg = c->cfg;
  cfg->abuse.rtbl = calloc(n ? n : 1, sizeof(fg_config_rtbl));
  if (cfg->abuse.rtbl == NULL) return;
  for (unsigned i = 0; i < n; i++) {
    const raw_rtbl *r = &raw[i];
    fg_config_rtbl *o = &cfg->abuse.rtbl[cfg->abuse.n_rtbl];
    char path[MAX_PATH_KEY];
    size_t at = 0;
    snprintf(path, sizeof(path), "abuse.rtbl[%u].service", i);
    o->service = parse_jid(c, path, r->service, 0, &at);
    snprintf(path, sizeof(path), "abuse.rtbl[%u].jid", i);
    o->jid = parse_jid(c, path, r->jid, 1, &at);
    if (o->jid != NULL && !is_hosted_domain(cfg, o->jid + at)) {
      config_err(c, path, "must be on a hosted domain (domains[]): replies come back to it");
    }
    snprintf(path, sizeof(path), "abuse.rtbl[%u].node", i);
    if (r->node == NULL || r->node[0] == 0) {
      config_err(c, path, "a pubsub node name is required");
    } else if (strlen(r->node) > 255 || strspn(r->node,
                                               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY"
                                               "Z0123456789_.:-/+") != strlen(r->node)) {
      config_err(c, path, "node names are 1 to 255 of A-Z a-z 0-9 _ . : - / +");
    } else {
      o->node = strdup(r->node);
    }
    for (size_t j = 0; j < cfg->abuse.n_rtbl && o->service && o->node; j++) {
      const fg_config_rtbl *p = &cfg->abuse.rtbl[j];
      if (p->service && p->node && !strcmp(p->service, o->service) && !strcmp(p->node, o->node)) {
        config_err(c, path, "the same service and node are listed twice");
      }
    }
    cfg->abuse.n_rtbl++;
  }
}

static void load_limits(config_ctx *c, const raw_abuse_limits *r) {
  fg_config_abuse_limits *l = &c->cfg->abuse.limits;
  raw_abuse_limits none = {0};
  if (r == NULL) r = &none;
  static const struct {
    const char *key;
    size_t raw_off, out_off;
  } kRates[] = {
#define RATE(name) \
  {"abuse.limits." #name, offsetof(raw_abuse_limits, name), offsetof(fg_config_abuse_limits, name)}
      RATE(domain_stanzas),        RATE(domain_bytes),       RATE(address_stanzas),
      RATE(address_bytes),         RATE(sender_stanzas),     RATE(unsolicited_per_minute),
      RATE(connections),           RATE(domain_connections), RATE(outbound_domain_stanzas),
      RATE(outbound_domain_bytes),
#undef RATE
  };
  for (size_t i = 0; i < sizeof(kRates) / sizeof(kRates[0]); i++) {
    const char *v = *(char *const *)((const char *)r + kRates[i].raw_off);
    uint64_t n = 0;
    config_parse_uint(c, kRates[i].key, v, 0, 1000000000, 0, &n);
    *(uint32_t *)((char *)l + kRates[i].out_off) = (uint32_t)n;
  }
  uint64_t v = 0;
  config_parse_duration(c, "abuse.limits.burst", r->burst, 100, 3600000, 2000, &v);
  l->burst_ms = (uint32_t)v;
  config_parse_duration(c, "abuse.limits.sustained", r->sustained, 1000, 3600000, 10000, &v);
  l->sustained_ms = (uint32_t)v;
  config_parse_uint(c, "abuse.limits.max_keys", r->max_keys, 64, 100000000, 100000, &v);
  l->max_keys = (uint32_t)v;
}

void config_load_abuse(config_ctx *c, const raw_abuse *r) {
  fg_config *cfg = c->cfg;
  raw_abuse none = {0};
  if (r == NULL) r = &none;
  load_keys(c, "abuse.block", r->block, r->n_block, 1, &cfg->abuse.block, &cfg->abuse.n_block);
  load_keys(c, "abuse.allow_only", r->allow_only, r->n_allow_only, 0, &cfg->abuse.allow_only,
            &cfg->abuse.n_allow_only);
  load_rtbl(c, r->rtbl, r->n_rtbl);
  load_limits(c, r->limits);
  config_parse_bool(c, "abuse.reports.enabled", r->reports ? r->reports->enabled : NULL, 1,
                    &cfg->abuse.reports);
}
