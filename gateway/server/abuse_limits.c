// abuse_limits.c: rates per remote domain, address, sender pair and local
// sender over one shared table of token buckets, and the marks of pairs
// that had a reply.
#include "gateway/server/abuse_limits.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <xxhash.h>

#include "gateway/policy/rate_limit.h"
#include "gateway/s2s/jid.h"
#include "io/addr_policy.h"

// Key prefixes: one table holds every kind of bucket.
enum {
  K_DOMAIN_STANZAS = 1,
  K_DOMAIN_BYTES,
  K_ADDR_STANZAS,
  K_ADDR_BYTES,
  K_PAIR,
  K_SENDER,
  K_CONN,
  K_CONN_DOMAIN,
  K_OUT_DOMAIN,
  K_OUT_DOMAIN_BYTES
};

struct fg_abuse_limits {
  fg_config_abuse_limits cfg;
  unsigned ipv6_prefix;
  fg_rate_limits *t;
  fg_rate domain_stanzas, domain_bytes, address_stanzas, address_bytes, unsolicited, sender,
      connections, domain_connections, out_domain_stanzas, out_domain_bytes;
  // Solicited pairs: a keyed 64-bit hash of (remote bare JID, local bare
  // JID) per slot, overwritten on collision (a lost mark only means the
  // lower budget for that pair until the next reply).
  _Atomic uint64_t *marks;
  size_t marks_mask;
  uint64_t seed;
};

static fg_rate rate_of(uint32_t per_second, uint32_t burst_ms) {
  fg_rate r = {(double)per_second, (double)per_second * burst_ms / 1000.0};
  if (r.burst < 1) r.burst = 1;
  return r;
}

fg_abuse_limits *fg_abuse_limits_new(const fg_config *cfg, int *oom) {
  const fg_config_abuse_limits *c = &cfg->abuse.limits;
  *oom = 0;
  if (!c->domain_stanzas && !c->domain_bytes && !c->address_stanzas && !c->address_bytes &&
      !c->sender_stanzas && !c->unsolicited_per_minute && !c->connections &&
      !c->domain_connections && !c->outbound_domain_stanzas && !c->outbound_domain_bytes) {
    return NULL;
  }
  fg_abuse_limits *l = calloc(1, sizeof(*l));
  *oom = 1;
  if (l == NULL) return NULL;
  l->cfg = *c;
  l->ipv6_prefix = cfg->limits.ipv6_prefix ? cfg->limits.ipv6_prefix : 64;
  l->t = fg_rate_limits_new(c->max_keys);
  size_t n = 1;
  while (n < c->max_keys) n <<= 1;
  l->marks = c->unsolicited_per_minute ? calloc(n, sizeof(*l->marks)) : NULL;
  if (l->t == NULL || (c->unsolicited_per_minute && l->marks == NULL)) {
    fg_abuse_limits_free(l);
    return NULL;
  }
  l->marks_mask = n - 1;
  if (getrandom(&l->seed, sizeof(l->seed), 0) != (ssize_t)sizeof(l->seed)) {
    l->seed = (uint64_t)(uintptr_t)l * 0x9E3779B97F4A7C15ull;
  }
  l->domain_stanzas = rate_of(c->domain_stanzas, c->burst_ms);
  l->domain_bytes = rate_of(c->domain_bytes, c->burst_ms);
  l->address_stanzas = rate_of(c->address_stanzas, c->burst_ms);
  l->address_bytes = rate_of(c->address_bytes, c->burst_ms);
  l->sender = rate_of(c->sender_stanzas, c->burst_ms);
  l->connections = rate_of(c->connections, c->burst_ms);
  l->domain_connections = rate_of(c->domain_connections, c->burst_ms);
  l->out_domain_stanzas = rate_of(c->outbound_domain_stanzas, c->burst_ms);
  l->out_domain_bytes = rate_of(c->outbound_domain_bytes, c->burst_ms);
  // A per-minute budget, all of it available at once.
  l->unsolicited = (fg_rate){c->unsolicited_per_minute / 60.0, (double)c->unsolicited_per_minute};
  if (l->unsolicited.burst < 1) l->unsolicited.burst = 1;
  *oom = 0;
  return l;
}

void fg_abuse_limits_free(fg_abuse_limits *l) {
  if (l == NULL) return;
  fg_rate_limits_free(l->t);
  free(l->marks);
  free(l);
}

// key_of writes prefix |kind| then |a| (|an| bytes), a 0 byte and |b|.
static size_t key_of(uint8_t *out, size_t cap, int kind, const void *a, size_t an, const void *b,
                     size_t bn) {
  if (an >= cap || bn >= cap || 2 + an + bn > cap) return 0;
  out[0] = (uint8_t)kind;
  if (an) memcpy(out + 1, a, an);
  out[1 + an] = 0;
  if (bn) memcpy(out + 2 + an, b, bn);
  return 2 + an + bn;
}

// address_bytes reduces |peer| to what its budget is kept under
// (io/addr_policy.h: IPv6 by limits.ipv6_prefix).
static size_t address_bytes(const fg_abuse_limits *l, const struct sockaddr *peer,
                            uint8_t out[16]) {
  return fg_addr_budget_key(peer, l->ipv6_prefix, out);
}

// take takes |cost| from |key|, or fills |res| with the refusal.
static int take(fg_abuse_limits *l, const uint8_t *key, size_t klen, const fg_rate *r, double cost,
                uint64_t now, fg_limit_result *res, const char *what, fg_stanza_condition cond) {
  if (klen == 0 || fg_rate_take(l->t, key, klen, r, cost, now, NULL)) return 1;
  res->refused = 1;
  res->condition = cond;
  res->limit = what;
  res->stream_rate = cond == FG_STANZA_RESOURCE_CONSTRAINT;
  return 0;
}

static size_t bare_len(fg_xml_str jid) {
  size_t n = 0;
  while (n < jid.len && jid.data[n] != '/') n++;
  return n;
}

// pair_key writes into |out| (2 * FG_BARE_JID_MAX + 1 bytes) the pair of
// bare JIDs (|remote| at |remote_domain|, |local| at |local_domain|) as
// budgets and marks name it: both as fg_jid_bare_key writes them (RFC 7622
// §3.2), a 0 byte between. It returns the length, and the remote one's in
// |*rn|; 0 when one does not fit.
static size_t pair_key(uint8_t *out, size_t *rn, fg_xml_str remote, const char *remote_domain,
                       fg_xml_str local, const char *local_domain) {
  *rn = fg_jid_bare_key(out, FG_BARE_JID_MAX, remote.data, remote.len, remote_domain);
  size_t ln =
      *rn ? fg_jid_bare_key(out + *rn + 1, FG_BARE_JID_MAX, local.data, local.len, local_domain)
          : 0;
  if (ln == 0) return 0;
  out[*rn] = 0;
  return *rn + 1 + ln;
}

static uint64_t pair_hash(const fg_abuse_limits *l, const uint8_t *pair, size_t len) {
  uint64_t h = XXH3_64bits_withSeed(pair, len, l->seed);
  return h ? h : 1;
}

// unsolicited_kind says whether |el| is what the unsolicited budget counts:
// a message that is not an error or groupchat, or a subscription request.
static int unsolicited_kind(const fg_xml_element *el) {
  const fg_xml_str local = el->root->local;
  if (fg_xml_str_eq(local, "message")) {
    return !fg_xml_str_eq(el->type, "error") && !fg_xml_str_eq(el->type, "groupchat");
  }
  return fg_xml_str_eq(local, "presence") && fg_xml_str_eq(el->type, "subscribe");
}

// Lease slots (fg_limit_lease.left).
enum { L_DOMAIN_STANZAS = 0, L_DOMAIN_BYTES, L_ADDR_STANZAS, L_ADDR_BYTES, L_PAIR };

// leased spends |cost| from the stream's lease |slot|; when the lease runs
// out it takes 10 ms of the rate (at least |cost|, at most the burst) from
// the shared bucket of (|kind|, |a|, |b|), and on refusal fills |res|. The
// key is built only then.
static int leased(fg_abuse_limits *l, fg_limit_lease *lease, int slot, int kind, const void *a,
                  size_t an, const void *b, size_t bn, const fg_rate *r, double cost, uint64_t now,
                  fg_limit_result *res, const char *what, fg_stanza_condition cond) {
  if (lease->left[slot] >= cost) {
    lease->left[slot] -= cost;
    return 1;
  }
  uint8_t key[2 * 3072 + 8];
  size_t klen = key_of(key, sizeof(key), kind, a, an, b, bn);
  double chunk = r->per_second / 100;
  if (chunk > r->burst) chunk = r->burst;
  if (chunk > cost && klen && fg_rate_take(l->t, key, klen, r, chunk, now, NULL)) {
    lease->left[slot] += chunk - cost;
    return 1;
  }
  return take(l, key, klen, r, cost, now, res, what, cond);
}

// same_pair says whether |el|'s bare (from, to) is the lease's last pair,
// and remembers it otherwise.
static int same_pair(fg_limit_lease *lease, const fg_xml_element *el) {
  size_t fn = bare_len(el->from), tn = bare_len(el->to);
  if (fn + 1 + tn > sizeof(lease->pair_raw)) {
    lease->pair_raw_len = 0;
    return 0;
  }
  if (lease->pair_raw_len == fn + 1 + tn && memcmp(lease->pair_raw, el->from.data, fn) == 0 &&
      memcmp(lease->pair_raw + fn + 1, el->to.data, tn) == 0 && lease->pair_raw[fn] == 0) {
    return 1;
  }
  memcpy(lease->pair_raw, el->from.data, fn);
  lease->pair_raw[fn] = 0;
  memcpy(lease->pair_raw + fn + 1, el->to.data, tn);
  lease->pair_raw_len = fn + 1 + tn;
  return 0;
}

fg_limit_result fg_abuse_limits_inbound(fg_abuse_limits *l, fg_limit_lease *lease,
                                        const fg_xml_element *el, size_t len,
                                        const char *from_domain, const char *to_domain,
                                        const struct sockaddr *peer, uint64_t now) {
  fg_limit_result res = {0, FG_STANZA_CONDITION_COUNT, NULL, 0};
  if (l == NULL) return res;
  const fg_config_abuse_limits *c = &l->cfg;
  // The domain's length is needed only to hash it or build a bucket key.
  int need_domain = lease->domain_at != from_domain ||
                    (c->domain_stanzas && lease->left[L_DOMAIN_STANZAS] < 1) ||
                    (c->domain_bytes && lease->left[L_DOMAIN_BYTES] < (double)len);
  size_t dn = need_domain ? strlen(from_domain) : 0;
  // A stream may carry several domains. The caller passes the stream's own
  // copy of the domain, so the same address is the same domain unless the
  // hash says otherwise (checked whenever the address changes).
  if ((c->domain_stanzas || c->domain_bytes) && lease->domain_at != from_domain) {
    uint64_t dh = XXH3_64bits_withSeed(from_domain, dn, l->seed) | 1;
    lease->domain_at = from_domain;
    if (lease->domain != dh) {
      lease->domain = dh;
      lease->left[L_DOMAIN_STANZAS] = lease->left[L_DOMAIN_BYTES] = 0;
    }
  }
  if (c->domain_stanzas && !leased(l, lease, L_DOMAIN_STANZAS, K_DOMAIN_STANZAS, from_domain, dn,
                                   NULL, 0, &l->domain_stanzas, 1, now, &res, "stanzas per domain",
                                   FG_STANZA_RESOURCE_CONSTRAINT)) {
    return res;
  }
  if (c->domain_bytes &&
      !leased(l, lease, L_DOMAIN_BYTES, K_DOMAIN_BYTES, from_domain, dn, NULL, 0, &l->domain_bytes,
              (double)len, now, &res, "bytes per domain", FG_STANZA_RESOURCE_CONSTRAINT)) {
    return res;
  }
  // A stream's address never changes: its leases need no key check.
  uint8_t a[16];
  size_t an = 0;
  int need_addr = (c->address_stanzas && lease->left[L_ADDR_STANZAS] < 1) ||
                  (c->address_bytes && lease->left[L_ADDR_BYTES] < (double)len);
  if (need_addr && peer != NULL) an = address_bytes(l, peer, a);
  if (c->address_stanzas && (an || !need_addr) &&
      !leased(l, lease, L_ADDR_STANZAS, K_ADDR_STANZAS, a, an, NULL, 0, &l->address_stanzas, 1, now,
              &res, "stanzas per address", FG_STANZA_RESOURCE_CONSTRAINT)) {
    return res;
  }
  if (c->address_bytes && (an || !need_addr) &&
      !leased(l, lease, L_ADDR_BYTES, K_ADDR_BYTES, a, an, NULL, 0, &l->address_bytes, (double)len,
              now, &res, "bytes per address", FG_STANZA_RESOURCE_CONSTRAINT)) {
    return res;
  }
  if (c->unsolicited_per_minute && unsolicited_kind(el)) {
    // The same pair as the last stanza, with budget in hand: nothing to
    // look up (a reply since then only means this budget was spent early).
    if (same_pair(lease, el) && lease->left[L_PAIR] >= 1) {
      lease->left[L_PAIR] -= 1;
      return res;
    }
    uint8_t pair[2 * FG_BARE_JID_MAX + 1];
    size_t rn, pn = pair_key(pair, &rn, el->from, from_domain, el->to, to_domain);
    if (pn == 0) return res;  // no bare JIDs to name (refused earlier by the addressing checks)
    uint64_t h = pair_hash(l, pair, pn);
    if (atomic_load_explicit(&l->marks[h & l->marks_mask], memory_order_relaxed) == h) return res;
    if (lease->pair != h) {
      lease->pair = h;
      lease->left[L_PAIR] = 0;
    }
    // Unsolicited traffic is refused, never a reason to close the stream:
    // the stream also carries other senders' replies.
    leased(l, lease, L_PAIR, K_PAIR, pair, rn, pair + rn + 1, pn - rn - 1, &l->unsolicited, 1, now,
           &res, "unsolicited per sender and recipient", FG_STANZA_POLICY_VIOLATION);
  }
  return res;
}

fg_limit_result fg_abuse_limits_outbound(fg_abuse_limits *l, const fg_xml_element *el,
                                         const char *from_domain, const char *to_domain,
                                         uint64_t now) {
  fg_limit_result res = {0, FG_STANZA_CONDITION_COUNT, NULL, 0};
  if (l == NULL) return res;
  if (l->cfg.unsolicited_per_minute && !fg_xml_str_eq(el->type, "error")) {
    uint8_t pair[2 * FG_BARE_JID_MAX + 1];
    size_t rn, pn = pair_key(pair, &rn, el->to, to_domain, el->from, from_domain);
    uint64_t h = pn ? pair_hash(l, pair, pn) : 0;
    if (h) atomic_store_explicit(&l->marks[h & l->marks_mask], h, memory_order_relaxed);
  }
  if (l->cfg.sender_stanzas) {
    uint8_t sender[FG_BARE_JID_MAX], key[sizeof(sender) + 8];
    size_t sn = fg_jid_bare_key(sender, sizeof(sender), el->from.data, el->from.len, from_domain);
    take(l, key, sn ? key_of(key, sizeof(key), K_SENDER, sender, sn, NULL, 0) : 0, &l->sender, 1,
         now, &res, "stanzas per local sender", FG_STANZA_RESOURCE_CONSTRAINT);
    res.stream_rate = 0;  // the internal server's stream carries everyone's traffic
  }
  if (!res.refused && (l->cfg.outbound_domain_stanzas || l->cfg.outbound_domain_bytes)) {
    // The remote domain as routed, not as spelled (RFC 7622 §3.2).
    size_t dn = strlen(to_domain);
    uint8_t key[256 + 8];
    size_t klen;
    if (l->cfg.outbound_domain_stanzas) {
      klen = key_of(key, sizeof(key), K_OUT_DOMAIN, to_domain, dn, NULL, 0);
      take(l, key, klen, &l->out_domain_stanzas, 1, now, &res, "stanzas per remote domain",
           FG_STANZA_RESOURCE_CONSTRAINT);
    }
    if (!res.refused && l->cfg.outbound_domain_bytes) {
      klen = key_of(key, sizeof(key), K_OUT_DOMAIN_BYTES, to_domain, dn, NULL, 0);
      double cost = (double)el->root->raw.len;
      if (cost > l->out_domain_bytes.burst) cost = l->out_domain_bytes.burst;
      take(l, key, klen, &l->out_domain_bytes, cost, now, &res, "bytes per remote domain",
           FG_STANZA_RESOURCE_CONSTRAINT);
    }
    res.stream_rate = 0;
  }
  return res;
}

int fg_abuse_limits_admit(fg_abuse_limits *l, const struct sockaddr *peer, uint64_t now,
                          int *first) {
  *first = 0;
  if (l == NULL || !l->cfg.connections) return 1;
  uint8_t a[16], key[24];
  size_t an = address_bytes(l, peer, a);
  if (an == 0) return 1;
  fg_rate_verdict v;
  if (fg_rate_take(l->t, key, key_of(key, sizeof(key), K_CONN, a, an, NULL, 0), &l->connections, 1,
                   now, &v)) {
    return 1;
  }
  *first = v.over_since_ns == now;
  return 0;
}

int fg_abuse_limits_admit_domain(fg_abuse_limits *l, const char *domain, uint64_t now, int *first) {
  *first = 0;
  if (l == NULL || !l->cfg.domain_connections) return 1;
  uint8_t key[2 + 256];
  size_t n =
      key_of(key, sizeof(key), K_CONN_DOMAIN, (const uint8_t *)domain, strlen(domain), NULL, 0);
  fg_rate_verdict v;
  if (n == 0 || fg_rate_take(l->t, key, n, &l->domain_connections, 1, now, &v)) return 1;
  *first = v.over_since_ns == now;
  return 0;
}

size_t fg_abuse_limits_bytes(const fg_abuse_limits *l) {
  if (l == NULL) return 0;
  return sizeof(*l) + fg_rate_limits_bytes(l->t) +
         (l->marks != NULL ? (l->marks_mask + 1) * sizeof(*l->marks) : 0);
}
