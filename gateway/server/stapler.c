// stapler.c: fetching, checking, publishing and persisting the OCSP
// responses of fedgate's own certificates (see stapler.h). Fetches and
// timers run on worker 0, and so does the swap of the certificate set a
// reload hands over; what /certs shows is guarded by one mutex that the
// handshake path never takes (handshakes read the staple published on the
// certificate).
#include "gateway/server/stapler.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/mem.h>
#include <openssl/pool.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/chain.h"
#include "crypto/crl.h"
#include "crypto/ocsp.h"
#include "gateway/server/log.h"
#include "gateway/server/staple_schedule.h"
#include "io/http_client.h"

enum { kDomainsMax = 1024, kNameMax = 256, kPathMax = 4096 };

typedef struct entry {
  fg_stapler *st;
  fg_tls_cert *cert;
  X509 *leaf, *issuer;  // issuer NULL: nothing to staple
  char domains[kDomainsMax];
  char subject[kNameMax], issuer_name[kNameMax];
  int64_t cert_not_after;
  char url[FG_CRL_MAX_URL_LEN];  // "" without a responder
  char state_file[kPathMax];     // "" without state_dir
  int fetching;                  // worker 0 keeps its staple current (timer set up)
  fg_timer timer;                // zeroed until then: cancelling it is a no-op
  fg_http_request *req;
  unsigned failures;
  // Under st->mu: the last good response's times (|have| 0: none known).
  int have;
  int64_t this_update, next_update, not_after;
  // The last good response itself (worker 0, or the starting thread before
  // worker 0 runs): a reload that presents the same certificate again
  // publishes it on the new certificate object.
  uint8_t *staple;
  size_t staple_len;
} entry;

// cert_set is the list of certificates one snapshot presents.
typedef struct cert_set {
  entry **entries;
  size_t n, cap;
} cert_set;

struct fg_stapler_certs {
  cert_set set;
  int incomplete;  // memory ran short while collecting
};

struct fg_stapler {
  const fg_config *cfg;
  fg_metrics *metrics;
  fg_http_client *http;
  fg_worker *w;  // worker 0, once started
  double fraction;
  pthread_mutex_t mu;
  pthread_cond_t applied_cv;
  uint64_t posted, applied;  // certificate sets handed to worker 0, and taken (under mu)
  cert_set cur;              // swapped on worker 0 under mu; readers hold mu
  const fg_responders *responders;
  fg_msg start_msg;
};

fg_stapler *fg_stapler_new(const fg_config *cfg, fg_metrics *metrics) {
  fg_stapler *s = calloc(1, sizeof(*s));
  if (s == NULL) return NULL;
  s->cfg = cfg;
  s->metrics = metrics;
  // For tests only: a shorter refresh than half of the window.
  s->fraction = fg_staple_fraction_parse(getenv("FEDGATE_TEST_STAPLE_REFRESH_FRACTION"));
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->applied_cv, NULL);
  return s;
}

static void entry_free(entry *e) {
  fg_tls_cert_free(e->cert);
  X509_free(e->leaf);
  X509_free(e->issuer);
  free(e->staple);
  free(e);
}

static void set_cleanup(cert_set *set) {
  for (size_t i = 0; i < set->n; i++) entry_free(set->entries[i]);
  free(set->entries);
  memset(set, 0, sizeof(*set));
}

void fg_stapler_free(fg_stapler *s) {
  if (s == NULL) return;
  fg_http_client_free(s->http);
  set_cleanup(&s->cur);
  pthread_cond_destroy(&s->applied_cv);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

// set_add records |c| for |domain| in |set| (entries of |s|).
static int set_add(cert_set *set, fg_stapler *s, fg_tls_cert *c, const char *domain) {
  entry *e = NULL;
  for (size_t i = 0; i < set->n && e == NULL; i++) {
    if (set->entries[i]->cert == c) e = set->entries[i];
  }
  if (e == NULL) {
    if (set->n == set->cap) {
      size_t cap = set->cap ? 2 * set->cap : 8;
      entry **grown = realloc(set->entries, cap * sizeof(*grown));
      if (grown == NULL) return 0;
      set->entries = grown;
      set->cap = cap;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL) return 0;
    e->st = s;
    e->cert = c;
    fg_tls_cert_up_ref(c);
    set->entries[set->n++] = e;
  }
  if (domain != NULL && domain[0] != 0) {
    size_t len = strlen(e->domains);
    snprintf(e->domains + len, sizeof(e->domains) - len, "%s%s", len ? "," : "", domain);
  }
  return 1;
}

int fg_stapler_add(fg_stapler *s, fg_tls_cert *c, const char *domain) {
  return set_add(&s->cur, s, c, domain);
}

fg_stapler_certs *fg_stapler_certs_new(void) {
  return calloc(1, sizeof(fg_stapler_certs));
}

void fg_stapler_certs_free(fg_stapler_certs *certs) {
  if (certs == NULL) return;
  set_cleanup(&certs->set);
  free(certs);
}

void fg_stapler_certs_add(void *certs, fg_tls_cert *c, const char *domain) {
  fg_stapler_certs *cs = certs;
  // The entry learns its stapler when the set is handed over.
  if (!set_add(&cs->set, NULL, c, domain)) cs->incomplete = 1;
}

static X509 *x509_of(const CRYPTO_BUFFER *b) {
  if (b == NULL) return NULL;
  const uint8_t *p = CRYPTO_BUFFER_data(b);
  return d2i_X509(NULL, &p, (long)CRYPTO_BUFFER_len(b));
}

// name_text writes |name| in RFC 4514 form with spaces escaped (\20), so
// that a /certs line stays a list of space-separated key=value pairs.
static void name_text(char *out, size_t cap, X509_NAME *name) {
  BIO *bio = BIO_new(BIO_s_mem());
  char buf[kNameMax] = "";
  if (bio != NULL && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
    int n = BIO_read(bio, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = 0;
  }
  BIO_free(bio);
  size_t o = 0;
  for (const char *p = buf; *p && o + 4 < cap; p++) {
    if (*p == ' ') {
      memcpy(out + o, "\\20", 3);
      o += 3;
    } else {
      out[o++] = *p;
    }
  }
  out[o] = 0;
  if (o == 0) snprintf(out, cap, "-");
}

static void iso_time(char *out, size_t cap, int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (gmtime_r(&tt, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    snprintf(out, cap, "-");
  }
}

// find_responder: a configured responder for |e|'s issuer, else the
// certificate's first AIA OCSP URL.
static void find_responder(fg_stapler *s, entry *e) {
  const fg_config_responder *cr = fg_responders_find(s->responders, e->leaf, e->issuer);
  if (cr != NULL && cr->url != NULL) {
    snprintf(e->url, sizeof(e->url), "%s", cr->url);
    return;
  }
  const CRYPTO_BUFFER *leaf = fg_tls_cert_leaf(e->cert);
  fg_crl_urls urls;
  if (fg_crl_urls_from_cert(&urls, CRYPTO_BUFFER_data(leaf), CRYPTO_BUFFER_len(leaf)) &&
      urls.num_ocsp > 0) {
    snprintf(e->url, sizeof(e->url), "%s", urls.ocsp[0]);
  }
}

static int64_t now_s(void) {
  return (int64_t)time(NULL);
}

// check judges |der| for |e|'s certificate; GOOD fills |res|.
static fg_ocsp_verdict check(const entry *e, const uint8_t *der, size_t len, fg_ocsp_result *res) {
  fg_ocsp_check_params p;
  fg_ocsp_check_params_init(&p);
  p.skew = e->st->cfg->revocation.clock_skew_s;
  memset(res, 0, sizeof(*res));
  return fg_ocsp_check_der(res, der, len, e->leaf, e->issuer, now_s(), &p);
}

// publish makes |der| (checked GOOD, times in |res|) the staple of |e|.
static void publish(entry *e, const uint8_t *der, size_t len, const fg_ocsp_result *res) {
  int64_t end = fg_staple_not_after(res->this_update, res->has_next_update, res->next_update);
  if (!fg_tls_cert_set_ocsp(e->cert, der, len, end)) return;
  uint8_t *copy = malloc(len ? len : 1);
  if (copy != NULL) memcpy(copy, der, len);
  free(e->staple);
  e->staple = copy;
  e->staple_len = copy != NULL ? len : 0;
  pthread_mutex_lock(&e->st->mu);
  e->have = 1;
  e->this_update = res->this_update;
  e->next_update = res->has_next_update ? res->next_update : 0;
  e->not_after = end;
  pthread_mutex_unlock(&e->st->mu);
}

// withdraw stops stapling |e| (a revoked or unknown answer: never stapled,
// and the old good one must not outlive what the responder now says).
static void withdraw(entry *e) {
  fg_tls_cert_set_ocsp(e->cert, NULL, 0, 0);
  free(e->staple);
  e->staple = NULL;
  e->staple_len = 0;
  pthread_mutex_lock(&e->st->mu);
  e->have = 0;
  pthread_mutex_unlock(&e->st->mu);
  if (e->state_file[0] != 0) unlink(e->state_file);
}

// persist writes |der| to the state file: a temporary file, then rename, so
// a crash leaves the old response or the new one, never half of one.
static void persist(entry *e, const uint8_t *der, size_t len) {
  if (e->state_file[0] == 0) return;
  char tmp[kPathMax + 16];
  snprintf(tmp, sizeof(tmp), "%s.tmp", e->state_file);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int ok = fd >= 0 && write(fd, der, len) == (ssize_t)len && fsync(fd) == 0;
  if (fd >= 0 && close(fd) != 0) ok = 0;
  if (ok && rename(tmp, e->state_file) == 0) return;
  fg_log(FG_LOG_SEV_WARN, NULL, NULL, "stapling: cannot save the OCSP response of %s to %s: %s",
         e->subject, e->state_file, strerror(errno));
  unlink(tmp);
}

// load_persisted serves the saved response of |e| when it still checks good.
static void load_persisted(entry *e) {
  if (e->state_file[0] == 0) return;
  FILE *f = fopen(e->state_file, "rb");
  if (f == NULL) return;
  uint8_t *buf = malloc(FG_OCSP_DEFAULT_MAX_BYTES);
  size_t len = buf != NULL ? fread(buf, 1, FG_OCSP_DEFAULT_MAX_BYTES, f) : 0;
  fclose(f);
  fg_ocsp_result res = {0};
  fg_ocsp_verdict v = buf != NULL ? check(e, buf, len, &res) : FG_OCSP_ERR_MALFORMED;
  if (v == FG_OCSP_GOOD) {
    publish(e, buf, len, &res);
    fg_log(FG_LOG_SEV_INFO, NULL, NULL, "stapling: serving the saved OCSP response of %s (%s)",
           e->subject, e->state_file);
  } else {
    fg_log(FG_LOG_SEV_INFO, NULL, NULL, "stapling: saved OCSP response of %s not used: %s%s%s",
           e->subject, fg_ocsp_verdict_string(v), res.detail ? ": " : "",
           res.detail ? res.detail : "");
  }
  free(buf);
}

static void fetch(entry *e);

static void on_timer(fg_timer *t, void *arg) {
  (void)t;
  entry *e = arg;
  if (!fg_worker_stopping(e->st->w)) fetch(e);
}

static void arm_at(entry *e, int64_t at) {
  int64_t delay = at - now_s();
  fg_worker_timer_arm(e->st->w, &e->timer, delay > 0 ? (uint64_t)delay * 1000 : 0);
}

static void failed(entry *e, fg_log_severity sev, const char *why) {
  fg_metrics_inc(e->st->metrics, FG_M_STAPLE_FETCHES_FAILED);
  e->failures++;
  int64_t retry = fg_staple_backoff(e->failures);
  fg_log(sev, NULL, NULL, "stapling: OCSP response of %s from %s: %s (retry in %llds)", e->subject,
         e->url, why, (long long)retry);
  arm_at(e, now_s() + retry);
}

static void on_response(void *arg, const fg_http_result *r) {
  entry *e = arg;
  e->req = NULL;
  if (fg_worker_stopping(e->st->w)) return;
  char why[512];
  if (r->error != FG_HTTP_OK || r->status != 200) {
    if (r->error != FG_HTTP_OK) {
      snprintf(why, sizeof(why), "%s", r->text);
    } else {
      snprintf(why, sizeof(why), "HTTP status %d", r->status);
    }
    failed(e, FG_LOG_SEV_WARN, why);
    return;
  }
  fg_ocsp_result res;
  fg_ocsp_verdict v = check(e, r->body, r->body_len, &res);
  if (v != FG_OCSP_GOOD) {
    snprintf(why, sizeof(why), "%s%s%s: not stapled", fg_ocsp_verdict_string(v),
             res.detail ? ": " : "", res.detail ? res.detail : "");
    // The responder's word about our certificate stands: a revoked or
    // unknown certificate is not stapled, whatever was fetched before.
    if (v == FG_OCSP_REVOKED || v == FG_OCSP_UNKNOWN) withdraw(e);
    failed(e, v == FG_OCSP_REVOKED ? FG_LOG_SEV_ERROR : FG_LOG_SEV_WARN, why);
    return;
  }
  fg_metrics_inc(e->st->metrics, FG_M_STAPLE_FETCHES_OK);
  e->failures = 0;
  publish(e, r->body, r->body_len, &res);
  persist(e, r->body, r->body_len);
  uint32_t rnd = 0;
  RAND_bytes((uint8_t *)&rnd, sizeof(rnd));
  double jitter = (double)rnd / (double)UINT32_MAX * 2.0 - 1.0;
  arm_at(e, fg_staple_refresh_at(res.this_update, res.has_next_update, res.next_update, now_s(),
                                 e->st->fraction, jitter));
}

// fetch asks |e|'s responder (SHA-1 CertID, no nonce: RFC 5019 §2.1).
static void fetch(entry *e) {
  fg_stapler *s = e->st;
  fg_ocsp_cert_id id;
  uint8_t *der = NULL;
  size_t der_len = 0;
  char target[4096];
  fg_ocsp_http_method m = FG_OCSP_HTTP_ERROR;
  if (fg_ocsp_cert_id_init(&id, FG_OCSP_HASH_SHA1, e->leaf, e->issuer) &&
      fg_ocsp_request_build(&der, &der_len, &id, NULL, 0)) {
    m = fg_ocsp_request_url(target, sizeof(target), e->url, der, der_len);
  }
  // An OCSP request is idempotent: a POST may be sent again.
  const fg_http_options o = {.timeout_ms = s->cfg->revocation.timeout_ms,
                             .max_response = FG_OCSP_DEFAULT_MAX_BYTES,
                             .accept = "application/ocsp-response",
                             .retry_post = 1};
  e->req = NULL;
  if (m == FG_OCSP_HTTP_GET) e->req = fg_http_get(s->http, s->w, target, &o, on_response, e);
  if (m == FG_OCSP_HTTP_POST) {
    e->req = fg_http_post(s->http, s->w, target, "application/ocsp-request", der, der_len, &o,
                          on_response, e);
  }
  OPENSSL_free(der);
  if (e->req == NULL) failed(e, FG_LOG_SEV_WARN, "cannot build or send the request");
}

// describe_cert fills |e|'s issuer, names and state file; it returns 1 when
// |e| can be stapled.
static int describe_cert(fg_stapler *s, entry *e) {
  e->leaf = x509_of(fg_tls_cert_leaf(e->cert));
  if (e->leaf == NULL) return 0;
  name_text(e->subject, sizeof(e->subject), X509_get_subject_name(e->leaf));
  name_text(e->issuer_name, sizeof(e->issuer_name), X509_get_issuer_name(e->leaf));
  const ASN1_TIME *na = X509_get0_notAfter(e->leaf);
  int days = 0, secs = 0;
  if (na != NULL && ASN1_TIME_diff(&days, &secs, NULL, na)) {
    e->cert_not_after = now_s() + (int64_t)days * 86400 + secs;
  }
  X509 *issuer = x509_of(fg_tls_cert_chain_at(e->cert, 1));
  if (issuer == NULL || X509_check_issued(issuer, e->leaf) != X509_V_OK) {
    X509_free(issuer);
    return 0;
  }
  e->issuer = issuer;
  find_responder(s, e);
  const char *dir = s->cfg->revocation.stapling.state_dir;
  if (dir != NULL) {
    const CRYPTO_BUFFER *leaf = fg_tls_cert_leaf(e->cert);
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(CRYPTO_BUFFER_data(leaf), CRYPTO_BUFFER_len(leaf), md);
    int n = snprintf(e->state_file, sizeof(e->state_file), "%s/", dir);
    for (size_t i = 0; i < sizeof(md) && n > 0 && (size_t)n + 3 < sizeof(e->state_file); i++) {
      n += snprintf(e->state_file + n, sizeof(e->state_file) - (size_t)n, "%02x", md[i]);
    }
    snprintf(e->state_file + n, sizeof(e->state_file) - (size_t)n, ".der");
  }
  return 1;
}

// begin_fetching runs on worker 0 for a stapled certificate: with a good
// saved (or carried) response it waits for the refresh time, else it asks now.
static void begin_fetching(fg_stapler *s, entry *e) {
  e->fetching = 1;
  fg_timer_init(&e->timer, on_timer, e);
  pthread_mutex_lock(&s->mu);
  int have = e->have;
  int64_t this_update = e->this_update, next_update = e->next_update;
  pthread_mutex_unlock(&s->mu);
  if (!have) {
    fetch(e);
    return;
  }
  arm_at(e,
         fg_staple_refresh_at(this_update, next_update != 0, next_update, now_s(), s->fraction, 0));
}

// fetchable says whether worker 0 keeps |e|'s staple current.
static int fetchable(const fg_stapler *s, const entry *e) {
  return s->http != NULL && e->issuer != NULL && e->url[0] != 0;
}

static void start_fetches(fg_worker *w, fg_msg *m) {
  fg_stapler *s = (fg_stapler *)((char *)m - offsetof(fg_stapler, start_msg));
  (void)w;
  for (size_t i = 0; i < s->cur.n; i++) {
    if (fetchable(s, s->cur.entries[i])) begin_fetching(s, s->cur.entries[i]);
  }
}

// prepare describes a certificate new to the stapler, says why it cannot be
// stapled, and serves its saved response when that still checks good.
static void prepare(fg_stapler *s, entry *e) {
  int enabled = s->cfg->revocation.stapling.enabled;
  if (!describe_cert(s, e)) {
    if (enabled) {
      fg_log(FG_LOG_SEV_INFO, NULL, NULL,
             "stapling: %s: its issuer is not in the certificate file's chain: not stapled",
             e->subject[0] ? e->subject : "a certificate");
    }
    return;
  }
  if (!enabled) return;
  if (e->url[0] == 0) {
    fg_log(FG_LOG_SEV_INFO, NULL, NULL,
           "stapling: %s: no OCSP responder (no AIA OCSP URL, none in revocation.responders): "
           "not stapled",
           e->subject);
    return;
  }
  load_persisted(e);
}

int fg_stapler_start(fg_stapler *s, const fg_responders *responders, fg_runtime *rt,
                     struct fg_dns *dns, char *err, size_t err_len) {
  const fg_config *cfg = s->cfg;
  s->responders = responders;
  s->w = fg_runtime_worker(rt, 0);
  for (size_t i = 0; i < s->cur.n; i++) prepare(s, s->cur.entries[i]);
  if (!cfg->revocation.stapling.enabled) return 1;
  // Also without a certificate to staple now: a reload may bring one.
  fg_http_client_config hc = {0};
  hc.dns = dns;
  hc.allowed_networks = cfg->revocation.allowed_networks;
  hc.n_allowed_networks = cfg->revocation.n_allowed_networks;
  s->http = fg_http_client_new(rt, &hc);
  if (s->http == NULL) {
    snprintf(err, err_len, "stapling: cannot create the HTTP client");
    return 0;
  }
  s->start_msg.fn = start_fetches;
  fg_worker_post(s->w, &s->start_msg);
  return 1;
}

// --- following reloads ---

// kFollowWaitS bounds the wait for worker 0 to take a new set (it takes it
// between two events; only a wedged worker takes longer).
enum { kFollowWaitS = 10 };

typedef struct follow_msg {
  fg_msg msg;
  fg_stapler *s;
  cert_set next;
} follow_msg;

static int same_leaf(const fg_tls_cert *a, const fg_tls_cert *b) {
  const CRYPTO_BUFFER *x = fg_tls_cert_leaf(a), *y = fg_tls_cert_leaf(b);
  return CRYPTO_BUFFER_len(x) == CRYPTO_BUFFER_len(y) &&
         memcmp(CRYPTO_BUFFER_data(x), CRYPTO_BUFFER_data(y), CRYPTO_BUFFER_len(x)) == 0;
}

// retire forgets |e| (no longer presented; readers no longer see it): its
// timer and request are cancelled on worker 0, so no callback finds it.
static void retire(fg_stapler *s, entry *e) {
  fg_worker_timer_cancel(s->w, &e->timer);
  if (e->req != NULL) fg_http_cancel(e->req);
  e->req = NULL;
  entry_free(e);
}

// carry moves what the stapler knows of |old| (same leaf) to |fresh|'s
// certificate object: the staple is published on it at once, the timer and
// a request under way go on. |fresh| ends up holding |old|'s certificate.
static void carry(fg_stapler *s, entry *old, entry *fresh) {
  if (old->staple != NULL) {
    pthread_mutex_lock(&s->mu);
    int64_t end = old->not_after;
    pthread_mutex_unlock(&s->mu);
    fg_tls_cert_set_ocsp(fresh->cert, old->staple, old->staple_len, end);
  }
  pthread_mutex_lock(&s->mu);
  fg_tls_cert *c = old->cert;
  old->cert = fresh->cert;
  fresh->cert = c;
  memcpy(old->domains, fresh->domains, sizeof(old->domains));
  pthread_mutex_unlock(&s->mu);
}

// take_set runs on worker 0, where every fetch and timer of the stapler
// runs: certificates presented before keep their entries (and staples), new
// ones get theirs, the others are retired.
static void take_set(fg_worker *w, fg_msg *m) {
  (void)w;
  follow_msg *fm = (follow_msg *)m;
  fg_stapler *s = fm->s;
  cert_set next = fm->next, old = s->cur;
  free(fm);
  unsigned char *taken = calloc(old.n + 1, 1);
  for (size_t i = 0; i < next.n; i++) {
    entry *fresh = next.entries[i], *kept = NULL;
    fresh->st = s;
    for (size_t j = 0; taken != NULL && j < old.n && kept == NULL; j++) {
      if (!taken[j] && same_leaf(old.entries[j]->cert, fresh->cert)) {
        kept = old.entries[j];
        taken[j] = 1;
      }
    }
    if (kept == NULL) {
      prepare(s, fresh);
      continue;
    }
    carry(s, kept, fresh);
    next.entries[i] = kept;
    entry_free(fresh);
  }
  pthread_mutex_lock(&s->mu);
  s->cur = next;
  pthread_mutex_unlock(&s->mu);
  for (size_t j = 0; j < old.n; j++) {
    if (taken == NULL || !taken[j]) retire(s, old.entries[j]);
  }
  for (size_t i = 0; i < next.n; i++) {
    entry *e = next.entries[i];
    if (!e->fetching && fetchable(s, e)) begin_fetching(s, e);
  }
  free(taken);
  free(old.entries);
  pthread_mutex_lock(&s->mu);
  s->applied++;
  pthread_cond_broadcast(&s->applied_cv);
  pthread_mutex_unlock(&s->mu);
}

int fg_stapler_follow(fg_stapler *s, fg_stapler_certs *certs) {
  follow_msg *fm = certs != NULL && !certs->incomplete ? calloc(1, sizeof(*fm)) : NULL;
  if (fm == NULL || s->w == NULL) {
    free(fm);
    fg_stapler_certs_free(certs);
    return 0;
  }
  fm->msg.fn = take_set;
  fm->s = s;
  fm->next = certs->set;
  free(certs);
  pthread_mutex_lock(&s->mu);
  uint64_t seq = ++s->posted;
  pthread_mutex_unlock(&s->mu);
  fg_worker_post(s->w, &fm->msg);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += kFollowWaitS;
  int ok = 1;
  pthread_mutex_lock(&s->mu);
  while (ok && s->applied < seq) {
    ok = pthread_cond_timedwait(&s->applied_cv, &s->mu, &until) == 0;
  }
  pthread_mutex_unlock(&s->mu);
  return ok;
}

// staple_state says what /certs shows for |e| at |now|.
static const char *staple_state(const entry *e, int64_t now) {
  if (fg_tls_cert_ocsp_current(e->cert, now)) return "good";
  return e->have ? "expired" : "none";
}

void fg_stapler_describe(fg_stapler *s, fg_text *out, int64_t now) {
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->cur.n; i++) {
    const entry *e = s->cur.entries[i];
    char not_after[32], this_update[32] = "-", next_update[32] = "-", age[24] = "-";
    iso_time(not_after, sizeof(not_after), e->cert_not_after);
    if (e->have) {
      iso_time(this_update, sizeof(this_update), e->this_update);
      if (e->next_update != 0) iso_time(next_update, sizeof(next_update), e->next_update);
      snprintf(age, sizeof(age), "%lld", (long long)(now - e->this_update));
    }
    int64_t left = e->cert_not_after - now;
    fg_text_printf(out,
                   "cert domains=%s subject=%s issuer=%s not_after=%s days_left=%lld staple=%s "
                   "staple_this_update=%s staple_next_update=%s staple_age_s=%s responder=%s\n",
                   e->domains[0] ? e->domains : "-", e->subject[0] ? e->subject : "-",
                   e->issuer_name[0] ? e->issuer_name : "-", not_after,
                   (long long)(left >= 0 ? left / 86400 : -((-left + 86399) / 86400)),
                   staple_state(e, now), this_update, next_update, age, e->url[0] ? e->url : "-");
  }
  pthread_mutex_unlock(&s->mu);
}

void fg_stapler_metrics(fg_stapler *s, fg_text *out, int64_t now) {
  if (s == NULL) return;
  pthread_mutex_lock(&s->mu);
  fg_text_printf(out,
                 "# TYPE fedgate_staple_age_seconds gauge\n"
                 "# TYPE fedgate_certificate_expiry_timestamp_seconds gauge\n");
  for (size_t i = 0; i < s->cur.n; i++) {
    const entry *e = s->cur.entries[i];
    char label[128];
    size_t k = 0;
    // The first domain the certificate serves; '-' for a default one.
    for (const char *d = e->domains[0] ? e->domains : "-"; *d && *d != ',' && k + 1 < sizeof(label);
         d++) {
      label[k++] = *d;
    }
    label[k] = 0;
    if (e->have && fg_tls_cert_ocsp_current(e->cert, now)) {
      fg_text_printf(out, "fedgate_staple_age_seconds{cert=\"%s\"} %lld\n", label,
                     (long long)(now - e->this_update));
    }
    fg_text_printf(out, "fedgate_certificate_expiry_timestamp_seconds{cert=\"%s\"} %lld\n", label,
                   (long long)e->cert_not_after);
  }
  pthread_mutex_unlock(&s->mu);
}

unsigned fg_stapler_current(fg_stapler *s, int64_t now) {
  unsigned n = 0;
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->cur.n; i++) {
    n += (unsigned)fg_tls_cert_ocsp_current(s->cur.entries[i]->cert, now);
  }
  pthread_mutex_unlock(&s->mu);
  return n;
}
