// ocsp_query.c: see ocsp_query.h.
#include "gateway/cli/ocsp_query.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/rand.h>

#include "io/addr_policy.h"
#include "io/dns.h"
#include "io/http_client.h"
#include "io/worker.h"

// NONCE_LEN: RFC 8954 §2.1 asks for at least 16 bytes (and at most 32).
#define NONCE_LEN 16

// fetch is one HTTP exchange handed to the worker and waited for here.
typedef struct fetch {
  fg_msg m;
  fg_http_client *hc;
  const char *url;
  const uint8_t *post;  // NULL: GET
  size_t post_len;
  fg_http_options opts;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  fg_http_error error;
  int status;
  uint8_t *body;
  size_t body_len;
  char text[256];
} fetch;

static void on_result(void *arg, const fg_http_result *res) {
  fetch *f = arg;
  pthread_mutex_lock(&f->mu);
  f->error = res->error;
  f->status = res->status;
  snprintf(f->text, sizeof(f->text), "%s", res->text);
  f->body = malloc(res->body_len ? res->body_len : 1);
  if (f->body != NULL) {
    memcpy(f->body, res->body, res->body_len);
    f->body_len = res->body_len;
  }
  f->done = 1;
  pthread_cond_signal(&f->cv);
  pthread_mutex_unlock(&f->mu);
}

// start runs on the worker: the client's calls must be made on its thread.
static void start(fg_worker *w, fg_msg *m) {
  fetch *f = (fetch *)m;
  fg_http_request *r = f->post != NULL ? fg_http_post(f->hc, w, f->url, "application/ocsp-request",
                                                      f->post, f->post_len, &f->opts, on_result, f)
                                       : fg_http_get(f->hc, w, f->url, &f->opts, on_result, f);
  if (r == NULL) {
    fg_http_result res = {.error = FG_HTTP_ERR_SHUTDOWN, .body = (const uint8_t *)""};
    snprintf(res.text, sizeof(res.text), "request not started");
    on_result(f, &res);
  }
}

// http_exchange makes the request on a runtime of one worker started for it
// and waits for the callback. It returns 0 with |err| set when the runtime,
// resolver or client cannot start.
static int http_exchange(fetch *f, int numeric_host, char *err, size_t err_len) {
  fg_worker_options wo;
  fg_worker_options_init(&wo);
  wo.workers = 1;
  fg_runtime *rt = fg_runtime_new(&wo);
  if (rt == NULL) {
    snprintf(err, err_len, "cannot start the io runtime");
    return 0;
  }
  fg_dns *dns = NULL;
  if (!numeric_host) {
    fg_dns_config dc;
    fg_dns_config_init(&dc);
    dc.threads = 1;
    char why[256];
    dns = fg_dns_new(&dc, why, sizeof(why));
    if (dns == NULL) {
      snprintf(err, err_len, "no DNS resolver: %s", why);
      fg_runtime_free(rt);
      return 0;
    }
  }
  fg_http_client_config hcfg = {.dns = dns, .allow_special = 1};
  f->hc = fg_http_client_new(rt, &hcfg);
  if (f->hc == NULL) {
    snprintf(err, err_len, "cannot start the HTTP client");
    fg_dns_free(dns);
    fg_runtime_free(rt);
    return 0;
  }
  f->m.fn = start;
  fg_worker_post(fg_runtime_worker(rt, 0), &f->m);
  pthread_mutex_lock(&f->mu);
  while (!f->done) pthread_cond_wait(&f->cv, &f->mu);
  pthread_mutex_unlock(&f->mu);
  // The order io/http_client.h asks for.
  fg_dns_free(dns);
  fg_runtime_shutdown(rt, 0);
  fg_http_client_free(f->hc);
  fg_runtime_free(rt);
  return 1;
}

static void note(fg_ocsp_answer *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(fg_ocsp_answer *out, const char *fmt, ...) {
  if (out->num_notes >= FG_OCSP_QUERY_NOTES) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->notes[out->num_notes++], sizeof(out->notes[0]), fmt, ap);
  va_end(ap);
}

static int fail(fg_ocsp_answer *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(fg_ocsp_answer *out, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->error, sizeof(out->error), fmt, ap);
  va_end(ap);
  out->answered = 0;
  return 0;
}

// pick_url sets |out->url| to the responder to ask; 0 when there is none.
static int pick_url(fg_ocsp_answer *out, const fg_ocsp_query *q) {
  if (q->url != NULL) {
    snprintf(out->url, sizeof(out->url), "%s", q->url);
    return 1;
  }
  uint8_t *der = NULL;
  int len = i2d_X509(q->cert, &der);
  fg_crl_urls urls;
  int ok = len > 0 && fg_crl_urls_from_cert(&urls, der, (size_t)len);
  OPENSSL_free(der);
  if (!ok) return fail(out, "cannot read the certificate's authorityInfoAccess");
  if (urls.num_ocsp == 0) return fail(out, "no OCSP responder URL");
  snprintf(out->url, sizeof(out->url), "%s", urls.ocsp[0]);
  return 1;
}

// responder_cn copies the subject CN of the delegated responder certificate.
static void responder_cn(fg_ocsp_answer *out, const fg_ocsp_response *resp) {
  if (!out->res.delegated || out->res.signer_cert >= resp->num_certs) return;
  const CBS *c = &resp->certs[out->res.signer_cert];
  const uint8_t *p = CBS_data(c);
  X509 *x = d2i_X509(NULL, &p, (long)CBS_len(c));
  if (x == NULL || X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
                                             out->responder_cn, sizeof(out->responder_cn)) < 0) {
    out->responder_cn[0] = 0;
  }
  X509_free(x);
}

// judge checks the response body and fills |out|.
static int judge(fg_ocsp_answer *out, const fg_ocsp_query *q, const uint8_t *body, size_t len,
                 const uint8_t *nonce) {
  const char *why = NULL;
  fg_ocsp_response *resp = fg_ocsp_response_parse(body, len, NULL, &why);
  if (resp == NULL) return fail(out, "parse error: %s", why);
  fg_ocsp_check_params p;
  fg_ocsp_check_params_init(&p);
  // RFC 5019 §2.1.1 lets responders answer from a cache and leave the nonce
  // out; one that is echoed must be ours (RFC 8954 §2.1).
  if (resp->status == FG_OCSP_STATUS_SUCCESSFUL && resp->has_nonce) {
    p.nonce = nonce;
    p.nonce_len = NONCE_LEN;
  } else if (resp->status == FG_OCSP_STATUS_SUCCESSFUL) {
    note(out, "the responder did not echo the request's nonce");
  }
  fg_ocsp_verdict v = fg_ocsp_check(&out->res, resp, q->cert, q->issuer, q->now, &p);
  responder_cn(out, resp);
  fg_ocsp_response_free(resp);
  if (v == FG_OCSP_GOOD || v == FG_OCSP_REVOKED || v == FG_OCSP_UNKNOWN) {
    out->answered = 1;
    return 1;
  }
  return fail(out, "%s: %s", fg_ocsp_verdict_string(v), out->res.detail);
}

int fg_ocsp_query_run(fg_ocsp_answer *out, const fg_ocsp_query *q) {
  memset(out, 0, sizeof(*out));
  if (!pick_url(out, q)) return 0;
  if (q->issuer == NULL) return fail(out, "issuer certificate not found in --chain or --ca");

  char why[256];
  fg_http_url u;
  if (fg_http_url_parse(&u, out->url, why, sizeof(why)) != FG_HTTP_OK) {
    return fail(out, "bad responder URL: %s", why);
  }
  const char *special = u.numeric ? fg_addr_special_purpose((struct sockaddr *)&u.addr) : NULL;
  if (q->url == NULL && special != NULL) {
    note(out, "the certificate's responder is a %s address; allowed for check-cert only", special);
  }

  fg_ocsp_cert_id id;
  uint8_t nonce[NONCE_LEN];
  uint8_t *req = NULL;
  size_t req_len = 0;
  if (!fg_ocsp_cert_id_init(&id, FG_OCSP_HASH_SHA1, q->cert, q->issuer) ||
      !RAND_bytes(nonce, sizeof(nonce)) ||
      !fg_ocsp_request_build(&req, &req_len, &id, nonce, sizeof(nonce))) {
    return fail(out, "cannot build the OCSP request");
  }
  char target[sizeof(out->url) + 4 * FG_OCSP_GET_MAX];
  fg_ocsp_http_method method = fg_ocsp_request_url(target, sizeof(target), out->url, req, req_len);
  fetch f = {.url = target, .post_len = req_len};
  f.post = method == FG_OCSP_HTTP_POST ? req : NULL;
  f.opts.timeout_ms = q->timeout_ms;
  f.opts.accept = "application/ocsp-response";
  f.opts.retry_post = 1;  // OCSP POSTs are idempotent
  pthread_mutex_init(&f.mu, NULL);
  pthread_cond_init(&f.cv, NULL);
  char err[300];
  int ran = method != FG_OCSP_HTTP_ERROR && http_exchange(&f, u.numeric, err, sizeof(err));
  OPENSSL_free(req);
  pthread_mutex_destroy(&f.mu);
  pthread_cond_destroy(&f.cv);
  if (method == FG_OCSP_HTTP_ERROR) return fail(out, "cannot encode the OCSP request");
  if (!ran) return fail(out, "%s", err);

  int answered = 0;
  if (f.error != FG_HTTP_OK) {
    fail(out, "HTTP %s: %s", fg_http_error_name(f.error), f.text);
  } else if (f.status != 200) {
    fail(out, "HTTP status %d", f.status);
  } else if (f.body == NULL) {
    fail(out, "out of memory");
  } else {
    answered = judge(out, q, f.body, f.body_len, nonce);
  }
  free(f.body);
  return answered;
}
