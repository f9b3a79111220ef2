// posh_auth.c: POSH fetches, the per-worker cache and the certificate
// check. See posh_auth.h.
#include "gateway/server/posh_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/posh.h"
#include "gateway/server/log.h"
#include "io/http_client.h"

// kDefaultTtl: how long a document without "expires" is kept (before the
// max_ttl cap); a document with "expires": 0 is still used once, by the
// streams that waited for it.
enum { kDefaultTtl = 3600, kMinTtl = 1 };

typedef struct entry {
  char domain[FG_DOMAIN_MAX + 1];
  int64_t expires_at;  // wall clock seconds; 0: free slot
  int ok;              // a document: fingerprints below
  size_t n;
  fg_posh_fingerprint fps[FG_POSH_MAX_FINGERPRINTS];
} entry;

typedef struct pending pending;

struct fg_posh_auth_fetch {
  pending *p;
  void (*done)(void *arg);
  void *arg;
  fg_posh_auth_fetch *prev, *next;
};

// pending is one fetch under way for one domain on one worker.
struct pending {
  fg_posh_auth *pa;
  fg_worker *w;
  char domain[FG_DOMAIN_MAX + 1];
  fg_http_request *req;
  int followed;  // the "url" of a reference was taken (once only)
  int has_ttl;   // the reference's "expires", kept for the result
  uint32_t ttl;
  uint64_t deadline_ns;  // the whole fetch, redirection included
  fg_posh_auth_fetch *waiters;
  pending *prev, *next;
};

typedef struct wcache {
  entry *entries;  // FG_POSH_AUTH_CACHE_ENTRIES slots
  pending *pending;
  size_t n_pending;
} wcache;

struct fg_posh_auth {
  const fg_config *cfg;
  fg_metrics *metrics;
  fg_http_client *http;
  unsigned n_workers;
  wcache wc[];
};

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (p == NULL) abort();  // out of memory is the only fatal error
  return p;
}

fg_posh_auth *fg_posh_auth_new(const fg_config *cfg, fg_runtime *rt, struct fg_dns *dns,
                               const fg_trust_store *trust, fg_metrics *metrics) {
  unsigned n = fg_runtime_num_workers(rt);
  fg_posh_auth *pa = xcalloc(1, sizeof(*pa) + n * sizeof(wcache));
  pa->cfg = cfg;
  pa->metrics = metrics;
  pa->n_workers = n;
  fg_http_client_config hc = {0};
  hc.dns = dns;
  hc.allowed_networks = cfg->tls.posh.allowed_networks;
  hc.n_allowed_networks = cfg->tls.posh.n_allowed_networks;
  hc.https_trust = trust;
  pa->http = fg_http_client_new(rt, &hc);
  for (unsigned i = 0; i < n; i++) {
    pa->wc[i].entries = xcalloc(FG_POSH_AUTH_CACHE_ENTRIES, sizeof(entry));
  }
  return pa;
}

void fg_posh_auth_free(fg_posh_auth *pa) {
  if (pa == NULL) return;
  for (unsigned i = 0; i < pa->n_workers; i++) {
    while (pa->wc[i].pending != NULL) {
      pending *p = pa->wc[i].pending;
      pa->wc[i].pending = p->next;
      while (p->waiters != NULL) {
        fg_posh_auth_fetch *f = p->waiters;
        p->waiters = f->next;
        free(f);
      }
      free(p);
    }
    free(pa->wc[i].entries);
  }
  fg_http_client_free(pa->http);
  free(pa);
}

const char *fg_posh_verdict_name(fg_posh_verdict v) {
  static const char *const kNames[] = {"unknown", "match", "mismatch", "unavailable"};
  return (unsigned)v < 4 ? kNames[v] : "unknown";
}

static wcache *wc_of(fg_posh_auth *pa, fg_worker *w) {
  return &pa->wc[fg_worker_index(w)];
}

static entry *lookup(wcache *wc, const char *domain, int64_t now) {
  for (size_t i = 0; i < FG_POSH_AUTH_CACHE_ENTRIES; i++) {
    entry *e = &wc->entries[i];
    if (e->expires_at > now && strcmp(e->domain, domain) == 0) return e;
  }
  return NULL;
}

// slot_for returns where |domain|'s answer goes: its old entry, a free or
// expired slot, else the entry closest to expiry.
static entry *slot_for(wcache *wc, const char *domain, int64_t now) {
  entry *best = &wc->entries[0];
  for (size_t i = 0; i < FG_POSH_AUTH_CACHE_ENTRIES; i++) {
    entry *e = &wc->entries[i];
    if (strcmp(e->domain, domain) == 0 || e->expires_at <= now) return e;
    if (e->expires_at < best->expires_at) best = e;
  }
  return best;
}

fg_posh_verdict fg_posh_auth_verify(fg_posh_auth *pa, fg_worker *w, const char *domain,
                                    const STACK_OF(CRYPTO_BUFFER) * chain, const char *stream_id) {
  const entry *e = lookup(wc_of(pa, w), domain, (int64_t)time(NULL));
  if (e == NULL) return FG_POSH_VERDICT_UNKNOWN;
  if (!e->ok) return FG_POSH_VERDICT_UNAVAILABLE;
  if (chain == NULL || sk_CRYPTO_BUFFER_num(chain) == 0) return FG_POSH_VERDICT_MISMATCH;
  const CRYPTO_BUFFER *leaf = sk_CRYPTO_BUFFER_value(chain, 0);
  fg_posh_doc doc;
  memset(&doc, 0, sizeof(doc));
  memcpy(doc.fingerprints, e->fps, e->n * sizeof(e->fps[0]));
  doc.n_fingerprints = e->n;
  doc.primary = 1;
  if (fg_posh_match(&doc, CRYPTO_BUFFER_data(leaf), CRYPTO_BUFFER_len(leaf))) {
    fg_metrics_inc(pa->metrics, FG_M_POSH_MATCHED);
    return FG_POSH_VERDICT_MATCH;
  }
  fg_metrics_inc(pa->metrics, FG_M_POSH_MISMATCHED);
  fg_log(FG_LOG_SEV_WARN, stream_id, domain,
         "POSH: the certificate presented is not among the %zu fingerprint%s the domain publishes",
         e->n, e->n == 1 ? "" : "s");
  return FG_POSH_VERDICT_MISMATCH;
}

// --- fetching ---

static void finish(pending *p) {
  wcache *wc = wc_of(p->pa, p->w);
  if (p->prev) p->prev->next = p->next;
  if (p->next) p->next->prev = p->prev;
  if (wc->pending == p) wc->pending = p->next;
  wc->n_pending--;
  // Each waiter is unlinked before its callback runs; a callback may still
  // cancel the waiters after it (the list stays consistent) but not itself.
  while (p->waiters != NULL) {
    fg_posh_auth_fetch *f = p->waiters;
    p->waiters = f->next;
    if (p->waiters != NULL) p->waiters->prev = NULL;
    void (*done)(void *) = f->done;
    void *arg = f->arg;
    free(f);
    done(arg);
  }
  free(p);
}

static void failed(pending *p, fg_posh_failure why, const char *text) {
  fg_posh_auth *pa = p->pa;
  int64_t now = (int64_t)time(NULL);
  entry *e = slot_for(wc_of(pa, p->w), p->domain, now);
  memset(e, 0, sizeof(*e));
  snprintf(e->domain, sizeof(e->domain), "%s", p->domain);
  e->expires_at = now + (int64_t)pa->cfg->tls.posh.negative_ttl_s;
  fg_metrics_posh_failed(pa->metrics, why);
  fg_log(FG_LOG_SEV_WARN, NULL, p->domain, "POSH fetch failed (%s): %s; not retried for %u s",
         fg_posh_failure_name(why), text, pa->cfg->tls.posh.negative_ttl_s);
  finish(p);
}

static void stored(pending *p, const fg_posh_doc *doc) {
  fg_posh_auth *pa = p->pa;
  int64_t now = (int64_t)time(NULL);
  // RFC 7711 §3.2/§3.3: "expires" bounds the caching of each document; the
  // shorter of the reference's and the primary's holds.
  uint32_t ttl = kDefaultTtl;
  if (doc->has_expires) ttl = doc->expires;
  if (p->has_ttl && p->ttl < ttl) ttl = p->ttl;
  if (ttl > pa->cfg->tls.posh.max_ttl_s) ttl = pa->cfg->tls.posh.max_ttl_s;
  if (ttl < kMinTtl) ttl = kMinTtl;
  entry *e = slot_for(wc_of(pa, p->w), p->domain, now);
  memset(e, 0, sizeof(*e));
  snprintf(e->domain, sizeof(e->domain), "%s", p->domain);
  e->expires_at = now + (int64_t)ttl;
  e->ok = 1;
  e->n = doc->n_fingerprints;
  memcpy(e->fps, doc->fingerprints, e->n * sizeof(e->fps[0]));
  fg_metrics_inc(pa->metrics, FG_M_POSH_FETCHED);
  fg_log(FG_LOG_SEV_INFO, NULL, p->domain, "POSH document fetched%s: %zu fingerprint%s, kept %u s",
         p->followed ? " through its reference" : "", e->n, e->n == 1 ? "" : "s", ttl);
  finish(p);
}

static fg_posh_failure failure_of(fg_http_error e) {
  switch (e) {
    case FG_HTTP_ERR_RESOLVE:
      return FG_POSH_FAIL_RESOLVE;
    case FG_HTTP_ERR_ADDRESS_REFUSED:
      return FG_POSH_FAIL_ADDRESS_REFUSED;
    case FG_HTTP_ERR_CONNECT:
      return FG_POSH_FAIL_CONNECT;
    case FG_HTTP_ERR_TIMEOUT:
      return FG_POSH_FAIL_TIMEOUT;
    case FG_HTTP_ERR_TLS:
      return FG_POSH_FAIL_TLS;
    case FG_HTTP_ERR_TOO_LARGE:
      return FG_POSH_FAIL_TOO_LARGE;
    case FG_HTTP_ERR_SHUTDOWN:
      return FG_POSH_FAIL_SHUTDOWN;
    case FG_HTTP_ERR_URL:
    case FG_HTTP_ERR_SCHEME:
      return FG_POSH_FAIL_REFERENCE;
    default:
      return FG_POSH_FAIL_PROTOCOL;
  }
}

static void get(pending *p, const char *url);

static void http_done(void *arg, const fg_http_result *res) {
  pending *p = arg;
  p->req = NULL;
  if (res->error != FG_HTTP_OK) {
    failed(p, failure_of(res->error), res->text);
    return;
  }
  if (res->status != 200) {
    char text[300];
    // RFC 7711 §3.3: delegation is the document's "url", not an HTTP
    // redirect, which is not followed.
    snprintf(text, sizeof(text), "HTTP %d%s%s", res->status,
             res->status / 100 == 3 ? ", redirect not followed, to " : "",
             res->status / 100 == 3 ? res->location : "");
    failed(p, FG_POSH_FAIL_HTTP_STATUS, text);
    return;
  }
  fg_posh_doc doc;
  char why[200];
  fg_posh_status s = fg_posh_parse(&doc, res->body, res->body_len, why, sizeof(why));
  if (s != FG_POSH_OK) {
    char text[300];
    snprintf(text, sizeof(text), "not a POSH document (%s): %s", fg_posh_status_name(s), why);
    failed(p, FG_POSH_FAIL_MALFORMED, text);
    return;
  }
  if (doc.primary) {
    stored(p, &doc);
    return;
  }
  if (p->followed) {
    failed(p, FG_POSH_FAIL_REFERENCE, "the reference leads to another reference");
    return;
  }
  p->followed = 1;
  p->has_ttl = doc.has_expires;
  p->ttl = doc.expires;
  get(p, doc.url);
}

static void get(pending *p, const char *url) {
  uint64_t now = fg_worker_now_ns(p->w);
  uint64_t left = p->deadline_ns > now ? (p->deadline_ns - now) / 1000000 : 0;
  if (left == 0) {
    failed(p, FG_POSH_FAIL_TIMEOUT, "no time left for the reference");
    return;
  }
  fg_http_options o = {.timeout_ms = (unsigned)left,
                       .max_response = FG_POSH_MAX_DOCUMENT,
                       .accept = "application/json"};
  p->req = fg_http_get(p->pa->http, p->w, url, &o, http_done, p);
  if (p->req == NULL) failed(p, FG_POSH_FAIL_PROTOCOL, "not on the worker's thread");
}

fg_posh_auth_fetch *fg_posh_auth_fetch_start(fg_posh_auth *pa, fg_worker *w, const char *domain,
                                             void (*done)(void *arg), void *arg) {
  wcache *wc = wc_of(pa, w);
  if (fg_worker_current() != w || domain == NULL || domain[0] == 0 ||
      lookup(wc, domain, (int64_t)time(NULL)) != NULL) {
    return NULL;
  }
  pending *p = wc->pending;
  while (p != NULL && strcmp(p->domain, domain) != 0) p = p->next;
  int fresh = p == NULL;
  if (fresh && wc->n_pending >= FG_POSH_AUTH_MAX_PENDING) {
    fg_metrics_posh_failed(pa->metrics, FG_POSH_FAIL_BUSY);
    fg_log(FG_LOG_SEV_WARN, NULL, domain, "POSH not fetched: %d fetches already under way",
           FG_POSH_AUTH_MAX_PENDING);
    return NULL;
  }
  if (fresh) {
    wc->n_pending++;
    p = xcalloc(1, sizeof(*p));
    p->pa = pa;
    p->w = w;
    snprintf(p->domain, sizeof(p->domain), "%s", domain);
    p->deadline_ns = fg_worker_now_ns(w) + (uint64_t)pa->cfg->tls.posh.timeout_ms * 1000000u;
    p->next = wc->pending;
    if (wc->pending) wc->pending->prev = p;
    wc->pending = p;
  }
  fg_posh_auth_fetch *f = xcalloc(1, sizeof(*f));
  f->p = p;
  f->done = done;
  f->arg = arg;
  f->next = p->waiters;
  if (p->waiters) p->waiters->prev = f;
  p->waiters = f;
  if (fresh) {
    // RFC 7711 §3.1: https://DOMAIN/.well-known/posh/SERVICE.json; for XMPP
    // server-to-server the service is "xmpp-server" (RFC 7712 §4).
    char url[FG_DOMAIN_MAX + 64];
    snprintf(url, sizeof(url), "https://%s/.well-known/posh/xmpp-server.json", domain);
    get(p, url);
  }
  return f;
}

void fg_posh_auth_fetch_cancel(fg_posh_auth_fetch *f) {
  if (f == NULL) return;
  pending *p = f->p;
  if (f->prev) f->prev->next = f->next;
  if (f->next) f->next->prev = f->prev;
  if (p->waiters == f) p->waiters = f->next;
  free(f);
}
