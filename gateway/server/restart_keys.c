// restart_keys.c: which changed keys a reload refuses (see restart_keys.h).
#include "gateway/server/restart_keys.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct diff {
  const fg_config *next;
  fg_text *out;
  unsigned n;
} diff;

static void changed(diff *d, const char *key, const char *was, const char *now) {
  fg_text_printf(d->out, "%s: %s: changed from '%s' to '%s': needs a restart\n", d->next->path, key,
                 was, now);
  d->n++;
}

static void cmp_uint(diff *d, const char *key, uint64_t was, uint64_t now) {
  if (was == now) return;
  char a[24], b[24];
  snprintf(a, sizeof(a), "%llu", (unsigned long long)was);
  snprintf(b, sizeof(b), "%llu", (unsigned long long)now);
  changed(d, key, a, b);
}

static void cmp_str(diff *d, const char *key, const char *was, const char *now) {
  if ((was == NULL && now == NULL) || (was != NULL && now != NULL && strcmp(was, now) == 0)) return;
  changed(d, key, was != NULL ? was : "", now != NULL ? now : "");
}

// cmp_list compares lists by content; the message gives their sizes.
static void cmp_list(diff *d, const char *key, size_t n_was, size_t n_now, int same) {
  if (n_was == n_now && same) return;
  char a[40], b[40];
  snprintf(a, sizeof(a), "%zu entr%s", n_was, n_was == 1 ? "y" : "ies");
  snprintf(b, sizeof(b), "%zu entr%s%s", n_now, n_now == 1 ? "y" : "ies",
           n_was == n_now ? ", different" : "");
  changed(d, key, a, b);
}

static int same_strings(char *const *a, char *const *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(a[i], b[i]) != 0) return 0;
  }
  return 1;
}

static int same_cidrs(const fg_cidr *a, const fg_cidr *b, size_t n) {
  return n == 0 || memcmp(a, b, n * sizeof(*a)) == 0;
}

static int same_responders(const fg_config_responder *a, const fg_config_responder *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *x[3] = {a[i].issuer_file, a[i].url, a[i].crl_url};
    const char *y[3] = {b[i].issuer_file, b[i].url, b[i].crl_url};
    for (int k = 0; k < 3; k++) {
      if ((x[k] == NULL) != (y[k] == NULL) || (x[k] != NULL && strcmp(x[k], y[k]) != 0)) return 0;
    }
  }
  return 1;
}

static void check_listeners(diff *d, const fg_config *a, const fg_config *b) {
  for (int id = 0; id < FG_LISTENER_COUNT; id++) {
    const fg_config_listener *x = &a->listeners[id], *y = &b->listeners[id];
    const char *name = fg_config_listener_name((fg_listener_id)id);
    char key[64];
    snprintf(key, sizeof(key), "listeners.%s.enabled", name);
    cmp_str(d, key, x->enabled ? "true" : "false", y->enabled ? "true" : "false");
    if (!x->enabled || !y->enabled) continue;
    snprintf(key, sizeof(key), "listeners.%s.address", name);
    cmp_str(d, key, x->address, y->address);
    snprintf(key, sizeof(key), "listeners.%s.port", name);
    cmp_uint(d, key, x->port, y->port);
    snprintf(key, sizeof(key), "listeners.%s.socket", name);
    cmp_str(d, key, x->socket_path, y->socket_path);
    // The balancers' networks reload (each worker's listener takes the new
    // list with the snapshot); turning the PROXY protocol on or off changes
    // what the first bytes of every connection are, and takes a restart.
    snprintf(key, sizeof(key), "listeners.%s.proxy_protocol", name);
    cmp_str(d, key, x->n_proxy_trusted > 0 ? "on" : "off", y->n_proxy_trusted > 0 ? "on" : "off");
  }
}

static void check_revocation(diff *d, const fg_config *a, const fg_config *b) {
  // leaf_only, timeout, clock_skew and negative_ttl reload: each check
  // copies them from the snapshot in force (gateway/server/revocation.h).
  cmp_uint(d, "revocation.cache_entries", a->revocation.cache_entries, b->revocation.cache_entries);
  cmp_uint(d, "revocation.cache_bytes", a->revocation.cache_bytes, b->revocation.cache_bytes);
  cmp_list(d, "revocation.allowed_networks", a->revocation.n_allowed_networks,
           b->revocation.n_allowed_networks,
           a->revocation.n_allowed_networks == b->revocation.n_allowed_networks &&
               same_cidrs(a->revocation.allowed_networks, b->revocation.allowed_networks,
                          a->revocation.n_allowed_networks));
  cmp_list(d, "revocation.responders", a->revocation.n_responders, b->revocation.n_responders,
           a->revocation.n_responders == b->revocation.n_responders &&
               same_responders(a->revocation.responders, b->revocation.responders,
                               a->revocation.n_responders));
  cmp_str(d, "revocation.stapling.enabled", a->revocation.stapling.enabled ? "true" : "false",
          b->revocation.stapling.enabled ? "true" : "false");
  cmp_str(d, "revocation.stapling.state_dir", a->revocation.stapling.state_dir,
          b->revocation.stapling.state_dir);
}

// check_posh: POSH is built once with its HTTP client and trust store.
static void check_posh(diff *d, const fg_config *a, const fg_config *b) {
  cmp_str(d, "tls.posh.enabled", a->tls.posh.enabled ? "true" : "false",
          b->tls.posh.enabled ? "true" : "false");
  cmp_uint(d, "tls.posh.timeout (ms)", a->tls.posh.timeout_ms, b->tls.posh.timeout_ms);
  cmp_uint(d, "tls.posh.negative_ttl (s)", a->tls.posh.negative_ttl_s, b->tls.posh.negative_ttl_s);
  cmp_uint(d, "tls.posh.max_ttl (s)", a->tls.posh.max_ttl_s, b->tls.posh.max_ttl_s);
  cmp_list(d, "tls.posh.allowed_networks", a->tls.posh.n_allowed_networks,
           b->tls.posh.n_allowed_networks,
           a->tls.posh.n_allowed_networks == b->tls.posh.n_allowed_networks &&
               same_cidrs(a->tls.posh.allowed_networks, b->tls.posh.allowed_networks,
                          a->tls.posh.n_allowed_networks));
}

// check_process: what the process sets up once: its log output, its drain
// deadline, the TLS contexts' session cache and shared ticket keys.
static void check_process(diff *d, const fg_config *a, const fg_config *b) {
  cmp_uint(d, "log.format", (uint64_t)a->log.format, (uint64_t)b->log.format);
  cmp_str(d, "log.file", a->log.file, b->log.file);
  cmp_uint(d, "shutdown.grace (ms)", a->shutdown.grace_ms, b->shutdown.grace_ms);
  cmp_str(d, "tls.ticket_key_file", a->tls.ticket_key_file, b->tls.ticket_key_file);
  cmp_uint(d, "tls.ticket_key_check (ms)", a->tls.ticket_key_check_ms, b->tls.ticket_key_check_ms);
  cmp_uint(d, "tls.session_cache_entries", a->tls.session_cache_entries,
           b->tls.session_cache_entries);
}

// check_abuse: the limits, the real-time block lists and report forwarding
// are set up at start; abuse.block and abuse.allow_only reload (their lists
// live beside the snapshots: gateway/server/blocks.h).
static void check_abuse(diff *d, const fg_config *a, const fg_config *b) {
  const fg_config_abuse_limits *x = &a->abuse.limits, *y = &b->abuse.limits;
  static const struct {
    const char *key;
    size_t off;
  } kLimits[] = {
#define L(name, unit) {"abuse.limits." #name unit, offsetof(fg_config_abuse_limits, name)}
      L(domain_stanzas, ""),        L(domain_bytes, ""),
      L(address_stanzas, ""),       L(address_bytes, ""),
      L(sender_stanzas, ""),        L(unsolicited_per_minute, ""),
      L(connections, ""),           L(burst_ms, " (ms)"),
      L(sustained_ms, " (ms)"),     L(max_keys, ""),
      L(domain_connections, ""),    L(outbound_domain_stanzas, ""),
      L(outbound_domain_bytes, ""),
#undef L
  };
  for (size_t i = 0; i < sizeof(kLimits) / sizeof(kLimits[0]); i++) {
    cmp_uint(d, kLimits[i].key, *(const uint32_t *)((const char *)x + kLimits[i].off),
             *(const uint32_t *)((const char *)y + kLimits[i].off));
  }
  cmp_str(d, "abuse.reports.enabled", a->abuse.reports ? "true" : "false",
          b->abuse.reports ? "true" : "false");
  int same = a->abuse.n_rtbl == b->abuse.n_rtbl;
  for (size_t i = 0; same && i < a->abuse.n_rtbl; i++) {
    const fg_config_rtbl *p = &a->abuse.rtbl[i], *q = &b->abuse.rtbl[i];
    same = !strcmp(p->service, q->service) && !strcmp(p->node, q->node) && !strcmp(p->jid, q->jid);
  }
  cmp_list(d, "abuse.rtbl", a->abuse.n_rtbl, b->abuse.n_rtbl, same);
}

unsigned fg_restart_keys_check(const fg_config *running, const fg_config *next, fg_text *out) {
  diff d = {next, out, 0};
  check_listeners(&d, running, next);
  cmp_uint(&d, "workers", running->workers, next->workers);
  cmp_uint(&d, "limits.ipv6_prefix", running->limits.ipv6_prefix, next->limits.ipv6_prefix);
  cmp_uint(&d, "limits.handshake_timeout (ms)", running->limits.handshake_timeout_ms,
           next->limits.handshake_timeout_ms);
  cmp_list(&d, "dns.nameservers", running->n_dns_nameservers, next->n_dns_nameservers,
           running->n_dns_nameservers == next->n_dns_nameservers &&
               same_strings(running->dns_nameservers, next->dns_nameservers,
                            running->n_dns_nameservers));
  cmp_uint(&d, "dns.timeout (ms)", running->dns_timeout_ms, next->dns_timeout_ms);
  cmp_list(&d, "dns.dnssec.trusted_resolvers", running->n_dns_trusted_resolvers,
           next->n_dns_trusted_resolvers,
           running->n_dns_trusted_resolvers == next->n_dns_trusted_resolvers &&
               same_strings(running->dns_trusted_resolvers, next->dns_trusted_resolvers,
                            running->n_dns_trusted_resolvers));
  cmp_list(&d, "dns.allowed_networks", running->n_dns_allowed_networks,
           next->n_dns_allowed_networks,
           running->n_dns_allowed_networks == next->n_dns_allowed_networks &&
               same_cidrs(running->dns_allowed_networks, next->dns_allowed_networks,
                          running->n_dns_allowed_networks));
  check_revocation(&d, running, next);
  check_posh(&d, running, next);
  // The XEP-0198 resumption registry is built once, with its keep time.
  cmp_uint(&d, "stream_management.resume_timeout (s)", running->sm.resume_timeout_s,
           next->sm.resume_timeout_s);
  check_process(&d, running, next);
  check_abuse(&d, running, next);
  return d.n;
}
