// revocation.c: revocation checking of remote servers' certificates: the
// cache lookups of the chain hook and the asynchronous OCSP and CRL fetches
// behind them (see revocation.h).
#include "gateway/server/revocation.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/mem.h>
#include <openssl/x509v3.h>

#include "crypto/crl.h"
#include "crypto/ocsp.h"
#include "crypto/ocsp_cache.h"
#include "gateway/server/log.h"
#include "io/http_client.h"

// Without nextUpdate, an answer is kept this long (RFC 5019 §6.1 leaves it
// to the client); a CRL without nextUpdate likewise.
enum { kDefaultLifetime = 3600, kMaxLifetime = 7 * 86400 };

struct fg_revocation {
  fg_ocsp_cache *cache;
  fg_http_client *http;
  fg_metrics *metrics;
  const fg_responders *responders;
  _Atomic uint32_t generation;
};

fg_revocation *fg_revocation_new(const fg_config *cfg, const fg_responders *responders,
                                 fg_runtime *rt, struct fg_dns *dns, fg_metrics *metrics, char *err,
                                 size_t err_len) {
  fg_revocation *r = calloc(1, sizeof(*r));
  if (r == NULL) return NULL;
  r->metrics = metrics;
  r->responders = responders;
  r->cache = fg_ocsp_cache_new(cfg->revocation.cache_entries, cfg->revocation.cache_bytes);
  fg_http_client_config hc = {0};
  hc.dns = dns;
  hc.allowed_networks = cfg->revocation.allowed_networks;
  hc.n_allowed_networks = cfg->revocation.n_allowed_networks;
  r->http = fg_http_client_new(rt, &hc);
  if (r->cache == NULL || r->http == NULL) {
    snprintf(err, err_len, "revocation: out of memory");
    fg_revocation_free(r);
    return NULL;
  }
  atomic_store(&r->generation, 1);
  return r;
}

void fg_revocation_free(fg_revocation *r) {
  if (r == NULL) return;
  fg_http_client_free(r->http);
  fg_ocsp_cache_free(r->cache);
  free(r);
}

fg_revocation_mode fg_revocation_mode_in(const fg_config *cfg, const char *domain) {
  if (domain != NULL) {
    for (size_t i = 0; i < cfg->revocation.n_domains; i++) {
      if (strcmp(cfg->revocation.domains[i].domain, domain) == 0) {
        return cfg->revocation.domains[i].mode;
      }
    }
  }
  return cfg->revocation.mode;
}

int fg_revocation_needed(const fg_config *cfg) {
  if (cfg->revocation.mode != FG_REVOCATION_OFF) return 1;
  for (size_t i = 0; i < cfg->revocation.n_domains; i++) {
    if (cfg->revocation.domains[i].mode != FG_REVOCATION_OFF) return 1;
  }
  return 0;
}

uint32_t fg_revocation_generation(const fg_revocation *r) {
  return atomic_load_explicit(&r->generation, memory_order_relaxed);
}

// cache_key is the SHA-1 CertID of (cert, issuer) as bytes: the hash
// algorithm, both issuer hashes, the serial.
static size_t cache_key(uint8_t *out, size_t cap, X509 *cert, X509 *issuer) {
  fg_ocsp_cert_id id;
  if (!fg_ocsp_cert_id_init(&id, FG_OCSP_HASH_SHA1, cert, issuer)) return 0;
  size_t need = 1 + 2 * id.hash_len + id.serial_len;
  if (need > cap) return 0;
  out[0] = (uint8_t)id.hash;
  memcpy(out + 1, id.name_hash, id.hash_len);
  memcpy(out + 1 + id.hash_len, id.key_hash, id.hash_len);
  memcpy(out + 1 + 2 * id.hash_len, id.serial, id.serial_len);
  return need;
}

void fg_revocation_probe_init(fg_revocation_probe *p, fg_revocation *r, const fg_config *cfg,
                              fg_revocation_mode mode, int collect) {
  memset(p, 0, sizeof(*p));
  p->rev = r;
  p->set.leaf_only = cfg->revocation.leaf_only;
  p->set.timeout_ms = cfg->revocation.timeout_ms;
  p->set.clock_skew_s = cfg->revocation.clock_skew_s;
  p->set.negative_ttl_s = cfg->revocation.negative_ttl_s;
  p->mode = mode;
  p->collect = collect;
  p->now = (int64_t)time(NULL);
}

void fg_revocation_probe_cleanup(fg_revocation_probe *p) {
  for (int i = 0; i < p->n_missing; i++) {
    X509_free(p->missing_cert[i]);
    X509_free(p->missing_issuer[i]);
  }
  p->n_missing = 0;
}

void fg_revocation_params(fg_chain_params *params, fg_revocation_probe *p) {
  if (p->rev == NULL || p->mode == FG_REVOCATION_OFF) return;
  params->revocation = fg_revocation_hook;
  params->revocation_arg = p;
}

static void note_expiry(fg_revocation_probe *p, int64_t expires) {
  if (p->expires == 0 || expires < p->expires) p->expires = expires;
}

static int64_t lifetime_end(int64_t now, int has_next, int64_t next, int64_t skew);

// use_staple takes the peer's stapled response for the leaf |cert| as a
// fetched answer: a good or revoked verdict goes into the shared cache.
static void use_staple(fg_revocation_probe *p, X509 *cert, X509 *issuer) {
  fg_revocation *r = p->rev;
  uint8_t key[FG_OCSP_CACHE_KEY_MAX];
  size_t key_len = cache_key(key, sizeof(key), cert, issuer);
  fg_ocsp_check_params params;
  fg_ocsp_check_params_init(&params);
  params.skew = p->set.clock_skew_s;
  fg_ocsp_result res = {0};
  fg_ocsp_verdict v =
      fg_ocsp_check_der(&res, p->staple, p->staple_len, cert, issuer, p->now, &params);
  if (key_len == 0 || (v != FG_OCSP_GOOD && v != FG_OCSP_REVOKED)) {
    fg_metrics_inc(r->metrics, FG_M_REVOCATION_STAPLES_INVALID);
    fg_log(FG_LOG_SEV_INFO, NULL, NULL, "revocation: stapled OCSP response ignored: %s%s%s",
           fg_ocsp_verdict_string(v), res.detail ? ": " : "", res.detail ? res.detail : "");
    return;
  }
  const fg_ocsp_cache_value cv = {
      .status = v,
      .reason = res.reason,
      .revoked_at = res.revocation_time,
      .this_update = res.this_update,
      .next_update = res.has_next_update ? res.next_update : 0,
      .expires_at = lifetime_end(p->now, res.has_next_update, res.next_update, p->set.clock_skew_s),
  };
  fg_ocsp_cache_put(r->cache, key, key_len, &cv, p->staple, p->staple_len);
  if (v == FG_OCSP_REVOKED) atomic_fetch_add(&r->generation, 1);
  fg_metrics_inc(r->metrics, FG_M_REVOCATION_STAPLES_USED);
}

fg_chain_status fg_revocation_hook(void *arg, X509 *cert, X509 *issuer, int depth) {
  fg_revocation_probe *p = arg;
  fg_revocation *r = p->rev;
  if (depth == 0 && p->staple != NULL && p->staple_len > 0) {
    use_staple(p, cert, issuer);
    p->staple = NULL;  // once per probe
  }
  if (p->set.leaf_only && depth > 0) return FG_CHAIN_OK;
  uint8_t key[FG_OCSP_CACHE_KEY_MAX];
  size_t key_len = cache_key(key, sizeof(key), cert, issuer);
  fg_ocsp_cache_value v;
  if (key_len > 0 && fg_ocsp_cache_get(r->cache, key, key_len, p->now, &v, NULL, 0, NULL)) {
    fg_metrics_inc(r->metrics, FG_M_REVOCATION_CACHE_HITS);
    note_expiry(p, v.expires_at);
    if (!v.negative && v.status == FG_OCSP_REVOKED) {
      p->revoked = 1;
      snprintf(p->why, sizeof(p->why), "certificate at depth %d revoked (reason %d)", depth,
               v.reason);
      return FG_CHAIN_REVOKED;
    }
    if (!v.negative && v.status == FG_OCSP_GOOD) return FG_CHAIN_OK;
    // unknown, or a remembered failure: no answer.
  } else if (p->collect) {
    if (p->n_missing < FG_REVOCATION_MAX_MISSING && X509_up_ref(cert) && X509_up_ref(issuer)) {
      p->missing_cert[p->n_missing] = cert;
      p->missing_issuer[p->n_missing] = issuer;
      p->n_missing++;
    }
    return FG_CHAIN_OK;  // decided after the fetch
  }
  p->no_answer = 1;
  note_expiry(p, p->now + p->set.negative_ttl_s);
  if (p->mode == FG_REVOCATION_HARD_FAIL && !p->collect) {
    snprintf(p->why, sizeof(p->why), "no revocation answer for the certificate at depth %d", depth);
    fg_metrics_inc(r->metrics, FG_M_REVOCATION_HARD_FAIL_REFUSED);
    return FG_CHAIN_INVALID;
  }
  if (!p->collect) fg_metrics_inc(r->metrics, FG_M_REVOCATION_SOFT_FAIL_ACCEPTED);
  return FG_CHAIN_OK;
}

// --- fetching ---

typedef struct item {
  struct fg_revocation_fetch *f;
  X509 *cert, *issuer;
  uint8_t key[FG_OCSP_CACHE_KEY_MAX];
  size_t key_len;
  char ocsp_url[FG_CRL_MAX_URL_LEN], crl_url[FG_CRL_MAX_URL_LEN];
  fg_http_request *req;
  int crl_tried, done;
} item;

struct fg_revocation_fetch {
  fg_revocation *r;
  fg_revocation_settings set;  // the starting probe's
  fg_worker *w;
  void (*done)(void *arg);
  void *arg;
  int pending;
  int n;
  item items[FG_REVOCATION_MAX_MISSING];
};

static void fetch_free(fg_revocation_fetch *f) {
  for (int i = 0; i < f->n; i++) {
    X509_free(f->items[i].cert);
    X509_free(f->items[i].issuer);
  }
  free(f);
}

static void remember(item *it, const fg_ocsp_cache_value *v, const uint8_t *der, size_t der_len) {
  fg_revocation *r = it->f->r;
  if (it->key_len > 0) fg_ocsp_cache_put(r->cache, it->key, it->key_len, v, der, der_len);
  if (!v->negative && v->status == FG_OCSP_REVOKED) {
    atomic_fetch_add(&r->generation, 1);  // cached verdicts made before are void
  }
}

static void remember_negative(item *it, const char *why) {
  fg_ocsp_cache_value v = {0};
  int64_t now = (int64_t)time(NULL);
  v.negative = 1;
  v.status = FG_OCSP_UNKNOWN;
  v.expires_at = now + it->f->set.negative_ttl_s;
  remember(it, &v, NULL, 0);
  char subject[256] = "";
  X509_NAME_oneline(X509_get_subject_name(it->cert), subject, sizeof(subject));
  fg_log(FG_LOG_SEV_INFO, NULL, NULL, "revocation: no answer for %s: %s", subject, why);
}

static int64_t lifetime_end(int64_t now, int has_next, int64_t next, int64_t skew) {
  int64_t end = has_next ? next + skew : now + kDefaultLifetime;
  if (end > now + kMaxLifetime) end = now + kMaxLifetime;
  if (end <= now) end = now + 1;
  return end;
}

static void item_finished(item *it) {
  fg_revocation_fetch *f = it->f;
  it->done = 1;
  it->req = NULL;
  if (--f->pending > 0) return;
  f->done(f->arg);
  fetch_free(f);
}

static void start_item(item *it);

static void on_crl(void *arg, const fg_http_result *res) {
  item *it = arg;
  fg_revocation *r = it->f->r;
  it->req = NULL;
  int64_t now = (int64_t)time(NULL);
  char why[1024];
  if (res->error != FG_HTTP_OK || res->status != 200) {
    fg_metrics_inc(r->metrics, FG_M_REVOCATION_CRL_FAILED);
    snprintf(why, sizeof(why), "CRL %s: %s", it->crl_url,
             res->error != FG_HTTP_OK ? res->text : "HTTP status not 200");
    remember_negative(it, why);
    item_finished(it);
    return;
  }
  const char *reason = NULL;
  fg_crl *crl = fg_crl_parse(res->body, res->body_len, 10u << 20, &reason);
  fg_crl_status st = crl != NULL
                         ? fg_crl_check(crl, it->issuer, now, it->f->set.clock_skew_s, kMaxLifetime)
                         : FG_CRL_ERR_MALFORMED;
  if (st != FG_CRL_OK) {
    fg_metrics_inc(r->metrics, FG_M_REVOCATION_CRL_FAILED);
    snprintf(why, sizeof(why), "CRL %s: %s%s%s", it->crl_url, fg_crl_status_string(st),
             reason ? ": " : "", reason ? reason : "");
    remember_negative(it, why);
  } else {
    fg_metrics_inc(r->metrics, FG_M_REVOCATION_CRL_OK);
    fg_ocsp_cache_value v = {0};
    int64_t date = 0;
    int rsn = 0;
    v.status = fg_crl_lookup_cert(crl, it->cert, &date, &rsn) ? FG_OCSP_REVOKED : FG_OCSP_GOOD;
    v.revoked_at = date;
    v.reason = rsn;
    v.this_update = crl->this_update;
    v.next_update = crl->has_next_update ? crl->next_update : 0;
    v.expires_at =
        lifetime_end(now, crl->has_next_update, crl->next_update, it->f->set.clock_skew_s);
    remember(it, &v, NULL, 0);
  }
  fg_crl_free(crl);
  item_finished(it);
}

static int start_crl(item *it) {
  fg_revocation_fetch *f = it->f;
  it->crl_tried = 1;
  if (it->crl_url[0] == 0) return 0;
  fg_http_options o = {0};
  o.timeout_ms = f->set.timeout_ms;
  o.max_response = 10u << 20;
  o.accept = "application/pkix-crl";
  it->req = fg_http_get(f->r->http, f->w, it->crl_url, &o, on_crl, it);
  return it->req != NULL;
}

static void on_ocsp(void *arg, const fg_http_result *res) {
  item *it = arg;
  fg_revocation *r = it->f->r;
  it->req = NULL;
  int64_t now = (int64_t)time(NULL);
  char why[1024];
  fg_ocsp_result out;
  memset(&out, 0, sizeof(out));
  fg_ocsp_verdict v = FG_OCSP_ERR_MALFORMED;
  if (res->error == FG_HTTP_OK && res->status == 200) {
    fg_ocsp_check_params params;
    fg_ocsp_check_params_init(&params);
    params.skew = it->f->set.clock_skew_s;
    v = fg_ocsp_check_der(&out, res->body, res->body_len, it->cert, it->issuer, now, &params);
  }
  if (v == FG_OCSP_GOOD || v == FG_OCSP_REVOKED || v == FG_OCSP_UNKNOWN) {
    fg_metrics_inc(r->metrics, FG_M_REVOCATION_OCSP_OK);
    fg_ocsp_cache_value cv = {0};
    cv.status = v;
    cv.reason = out.reason;
    cv.revoked_at = out.revocation_time;
    cv.this_update = out.this_update;
    cv.next_update = out.has_next_update ? out.next_update : 0;
    cv.expires_at =
        lifetime_end(now, out.has_next_update, out.next_update, it->f->set.clock_skew_s);
    if (v == FG_OCSP_UNKNOWN) {
      // RFC 6960 §2.2: the responder does not know the certificate: ask the
      // CRL when there is one, else remember "no answer" briefly.
      if (!it->crl_tried && start_crl(it)) return;
      cv.expires_at = now + it->f->set.negative_ttl_s;
    }
    remember(it, &cv, res->body, res->body_len);
    item_finished(it);
    return;
  }
  fg_metrics_inc(r->metrics, FG_M_REVOCATION_OCSP_FAILED);
  if (res->error != FG_HTTP_OK) {
    snprintf(why, sizeof(why), "OCSP %s: %s", it->ocsp_url, res->text);
  } else if (res->status != 200) {
    snprintf(why, sizeof(why), "OCSP %s: HTTP status %d", it->ocsp_url, res->status);
  } else {
    snprintf(why, sizeof(why), "OCSP %s: %s (%s)", it->ocsp_url, fg_ocsp_verdict_string(v),
             out.detail ? out.detail : "");
  }
  fg_log(FG_LOG_SEV_INFO, NULL, NULL, "revocation: %s", why);
  if (!it->crl_tried && start_crl(it)) return;  // RFC 5280 CRL as the fallback
  remember_negative(it, why);
  item_finished(it);
}

static void start_item(item *it) {
  fg_revocation_fetch *f = it->f;
  fg_revocation *r = f->r;
  if (it->ocsp_url[0] != 0) {
    fg_ocsp_cert_id id;
    uint8_t *req = NULL;
    size_t req_len = 0;
    char url[4096];
    if (fg_ocsp_cert_id_init(&id, FG_OCSP_HASH_SHA1, it->cert, it->issuer) &&
        fg_ocsp_request_build(&req, &req_len, &id, NULL, 0)) {
      fg_ocsp_http_method m = fg_ocsp_request_url(url, sizeof(url), it->ocsp_url, req, req_len);
      fg_http_options o = {0};
      o.timeout_ms = f->set.timeout_ms;
      o.max_response = 64u << 10;
      o.accept = "application/ocsp-response";
      o.retry_post = 1;  // an OCSP request is idempotent
      if (m == FG_OCSP_HTTP_GET) {
        it->req = fg_http_get(r->http, f->w, url, &o, on_ocsp, it);
      } else if (m == FG_OCSP_HTTP_POST) {
        it->req = fg_http_post(r->http, f->w, url, "application/ocsp-request", req, req_len, &o,
                               on_ocsp, it);
      }
    }
    OPENSSL_free(req);
    if (it->req != NULL) return;
  }
  if (start_crl(it)) return;
  remember_negative(it, "no OCSP responder or CRL distribution point usable");
  it->done = 1;
  f->pending--;
}

// urls_of fills |it|'s URLs: those configured for its issuer
// (revocation.responders), else the certificate's AIA OCSP URL and first
// CRL distribution point.
static void urls_of(fg_revocation *r, item *it) {
  const fg_config_responder *cr = fg_responders_find(r->responders, it->cert, it->issuer);
  if (cr != NULL && cr->url != NULL) snprintf(it->ocsp_url, sizeof(it->ocsp_url), "%s", cr->url);
  if (cr != NULL && cr->crl_url != NULL) {
    snprintf(it->crl_url, sizeof(it->crl_url), "%s", cr->crl_url);
  }
  uint8_t *der = NULL;
  int len = i2d_X509(it->cert, &der);
  fg_crl_urls urls;
  if (len > 0 && fg_crl_urls_from_cert(&urls, der, (size_t)len)) {
    if (it->ocsp_url[0] == 0 && urls.num_ocsp > 0) {
      snprintf(it->ocsp_url, sizeof(it->ocsp_url), "%s", urls.ocsp[0]);
    }
    if (it->crl_url[0] == 0 && urls.num_crl > 0) {
      snprintf(it->crl_url, sizeof(it->crl_url), "%s", urls.crl[0]);
    }
  }
  OPENSSL_free(der);
}

fg_revocation_fetch *fg_revocation_fetch_start(fg_revocation *r, fg_worker *w,
                                               fg_revocation_probe *p, void (*done)(void *arg),
                                               void *arg) {
  if (p->n_missing == 0) return NULL;
  fg_revocation_fetch *f = calloc(1, sizeof(*f));
  if (f == NULL) return NULL;
  f->r = r;
  f->set = p->set;
  f->w = w;
  f->done = done;
  f->arg = arg;
  for (int i = 0; i < p->n_missing; i++) {
    item *it = &f->items[f->n++];
    it->f = f;
    it->cert = p->missing_cert[i];
    it->issuer = p->missing_issuer[i];
    it->key_len = cache_key(it->key, sizeof(it->key), it->cert, it->issuer);
    urls_of(r, it);
  }
  p->n_missing = 0;  // the fetch holds the references now
  f->pending = f->n;
  for (int i = 0; i < f->n; i++) start_item(&f->items[i]);
  if (f->pending == 0) {
    // Nothing could even be asked: every answer is already remembered as
    // missing. Run |done| from the worker's loop, never from here.
    fetch_free(f);
    return NULL;
  }
  return f;
}

void fg_revocation_fetch_cancel(fg_revocation_fetch *f) {
  if (f == NULL) return;
  for (int i = 0; i < f->n; i++) {
    if (f->items[i].req != NULL) fg_http_cancel(f->items[i].req);
  }
  fetch_free(f);
}
