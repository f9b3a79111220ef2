// ocsp_response_fuzzer.c: crypto/ocsp's response parser and check on
// arbitrary bytes, as if an OCSP responder (or anyone on the path of a
// plain-HTTP fetch, or a peer stapling a response) had sent them.
//
// Responses are checked for the leaf of a fixed PKI (fuzz/revocation_fixture.h)
// whose keys signed the fixture-* seeds, so mutations of real responses reach
// the signer, signature, nonce and time checks.
//
// Besides the sanitizers, the harness checks what callers rely on:
//   - a parsed response has a defined status, and only a successful one has
//     SingleResponses (1..limit), each with a defined status and reason;
//   - every CBS of the response points inside the response's own copy;
//   - fg_ocsp_check, for the leaf and its CA, at the fixture's time, 30 days
//     before, 10 years after, and with a nonce expected, returns a defined
//     verdict, never an answer for an unsuccessful response, and an answer
//     (good, revoked, unknown) only when the response is signed by the CA or
//     by a certificate in it that the CA signed (checked with BoringSSL, not
//     crypto/der), a SingleResponse names the leaf by the CertID of
//     fg_ocsp_cert_id_init, the expected nonce came back, and the matching
//     SingleResponse is current at that time.
// Seeds: fuzz/corpus/ocsp_response_fuzzer/ (the shared OCSP vectors, and the
// fixture-* responses of fuzz/revocation_seed_gen.sh).
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/mem.h>

#include "crypto/ocsp.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/revocation_oracle.h"

static X509 *g_ca, *g_leaf;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  g_ca = fixture_cert(kFixtureCaCert);
  g_leaf = fixture_cert(kFixtureLeafCert);
  return 0;
}

static int inside(const fg_ocsp_response *r, const CBS *c) {
  return CBS_len(c) == 0 ||
         (CBS_data(c) >= r->der_ && CBS_data(c) + CBS_len(c) <= r->der_ + r->der_len_);
}

// signed_as_claimed checks an answer's signature independently.
static int signed_as_claimed(const fg_ocsp_response *r, const fg_ocsp_result *res) {
  if (!res->delegated) return oracle_signed_by(g_ca, &r->tbs, &r->signature);
  FUZZ_CHECK(res->signer_cert < r->num_certs);
  const CBS *c = &r->certs[res->signer_cert];
  const uint8_t *p = CBS_data(c);
  X509 *d = d2i_X509(NULL, &p, (long)CBS_len(c));
  EVP_PKEY *ca_key = X509_get_pubkey(g_ca);
  int ok = d != NULL && ca_key != NULL && X509_verify(d, ca_key) == 1 &&
           oracle_signed_by(d, &r->tbs, &r->signature);
  EVP_PKEY_free(ca_key);
  X509_free(d);
  return ok;
}

// answered_for_leaf says whether a SingleResponse names the leaf by the
// CertID fg_ocsp_cert_id_init makes, with the times the answer reports.
static int answered_for_leaf(const fg_ocsp_response *r, const fg_ocsp_result *res) {
  for (size_t i = 0; i < r->num_singles; i++) {
    const fg_ocsp_single *s = &r->singles[i];
    fg_ocsp_cert_id id;
    if (s->hash == FG_OCSP_HASH_UNKNOWN || !fg_ocsp_cert_id_init(&id, s->hash, g_leaf, g_ca)) {
      continue;
    }
    if (CBS_mem_equal(&s->name_hash, id.name_hash, id.hash_len) &&
        CBS_mem_equal(&s->key_hash, id.key_hash, id.hash_len) &&
        CBS_mem_equal(&s->serial, id.serial, id.serial_len) && s->this_update == res->this_update) {
      return 1;
    }
  }
  return 0;
}

static void check_at(const fg_ocsp_response *r, int64_t now, const fg_ocsp_check_params *p) {
  fg_ocsp_result res;
  fg_ocsp_verdict v = fg_ocsp_check(&res, r, g_leaf, g_ca, now, p);
  FUZZ_CHECK(v <= FG_OCSP_ERR_UNSUPPORTED_ALG && v == res.verdict && res.detail != NULL);
  if (r->status != FG_OCSP_STATUS_SUCCESSFUL) FUZZ_CHECK(v == FG_OCSP_ERR_STATUS);
  if (v > FG_OCSP_UNKNOWN) return;
  FUZZ_CHECK(signed_as_claimed(r, &res));
  FUZZ_CHECK(answered_for_leaf(r, &res));
  if (p->nonce != NULL) {
    FUZZ_CHECK(r->has_nonce && CBS_mem_equal(&r->nonce, p->nonce, p->nonce_len));
  }
  FUZZ_CHECK(res.this_update <= now + p->skew);
  if (res.has_next_update) {
    FUZZ_CHECK(res.next_update + p->skew >= now);
  } else {
    FUZZ_CHECK(res.this_update + p->max_age + p->skew >= now);
  }
  if (v == FG_OCSP_REVOKED) {
    FUZZ_CHECK(res.reason == FG_OCSP_REASON_NONE ||
               (res.reason >= 0 && res.reason <= 10 && res.reason != 7));
  }
}

// exercise_request builds the request fedgate would send about the fixture
// leaf, with a nonce and a responder URL taken from the input: the builder
// accepts exactly the nonce lengths RFC 8954 allows, and the GET form (RFC
// 5019 §5) is the responder URL, one '/', and percent-encoded base64 only.
static void exercise_request(const uint8_t *data, size_t size) {
  if (size < 2) return;
  fg_ocsp_cert_id id;
  FUZZ_CHECK(fg_ocsp_cert_id_init(&id, data[0] & 1 ? FG_OCSP_HASH_SHA256 : FG_OCSP_HASH_SHA1,
                                  g_leaf, g_ca));
  size_t nonce_len = data[1] % 40;
  if (nonce_len > size - 2) nonce_len = size - 2;
  uint8_t *req = NULL;
  size_t req_len = 0;
  int ok = fg_ocsp_request_build(&req, &req_len, &id, nonce_len ? data + 2 : NULL, nonce_len);
  FUZZ_CHECK(ok == (nonce_len <= FG_OCSP_MAX_NONCE));
  if (!ok) return;
  char base[300];
  size_t blen = size - 2 - nonce_len < 200 ? size - 2 - nonce_len : 200;
  snprintf(base, sizeof(base), "http://ocsp.test/%.*s", (int)blen,
           (const char *)data + 2 + nonce_len);
  base[strcspn(base, "\r\n")] = 0;
  char url[4096];
  fg_ocsp_http_method m = fg_ocsp_request_url(url, sizeof(url), base, req, req_len);
  FUZZ_CHECK(m == FG_OCSP_HTTP_GET || m == FG_OCSP_HTTP_POST);
  FUZZ_CHECK(strncmp(url, base, strlen(base)) == 0);
  if (m == FG_OCSP_HTTP_GET) {
    const char *enc = url + strlen(base);
    if (*enc == '/') enc++;
    FUZZ_CHECK(strlen(enc) <= FG_OCSP_GET_MAX);
    for (; *enc; enc++) FUZZ_CHECK(isalnum((unsigned char)*enc) || *enc == '%');
  } else {
    FUZZ_CHECK(strcmp(url, base) == 0);
  }
  OPENSSL_free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  exercise_request(data, size);
  fg_ocsp_limits lim = {.max_singles = 16};
  const char *why = NULL;
  fg_ocsp_response *r = fg_ocsp_response_parse(data, size, &lim, &why);
  if (r == NULL) {
    FUZZ_CHECK(why != NULL);
    // The one-call form (default limits) reports the parser's reason, never an answer.
    fg_ocsp_result res;
    fg_ocsp_response *d = fg_ocsp_response_parse(data, size, NULL, NULL);
    fg_ocsp_verdict v = fg_ocsp_check_der(&res, data, size, g_leaf, g_ca, FUZZ_FIXTURE_NOW, NULL);
    FUZZ_CHECK(res.detail != NULL && (d != NULL || v == FG_OCSP_ERR_MALFORMED));
    fg_ocsp_response_free(d);
    return 0;
  }
  FUZZ_CHECK(r->status <= 6 && r->status != 4);
  if (r->status != FG_OCSP_STATUS_SUCCESSFUL) {
    FUZZ_CHECK(r->num_singles == 0);
  } else {
    FUZZ_CHECK(r->num_singles >= 1 && r->num_singles <= 16);
    FUZZ_CHECK(inside(r, &r->tbs) && inside(r, &r->responder) && inside(r, &r->signature) &&
               inside(r, &r->sig_alg) && inside(r, &r->nonce));
    FUZZ_CHECK(r->num_certs <= FG_OCSP_MAX_CERTS);
    for (size_t i = 0; i < r->num_certs; i++) FUZZ_CHECK(inside(r, &r->certs[i]));
    for (size_t i = 0; i < r->num_singles; i++) {
      const fg_ocsp_single *s = &r->singles[i];
      FUZZ_CHECK(s->status <= FG_OCSP_CERT_UNKNOWN);
      FUZZ_CHECK(s->reason == FG_OCSP_REASON_NONE || (s->reason >= 0 && s->reason <= 10));
      FUZZ_CHECK(inside(r, &s->serial) && inside(r, &s->name_hash) && inside(r, &s->key_hash));
    }
  }
  fg_ocsp_check_params p;
  fg_ocsp_check_params_init(&p);
  check_at(r, FUZZ_FIXTURE_NOW, &p);
  check_at(r, FUZZ_FIXTURE_NOW - 30 * 86400, &p);
  check_at(r, FUZZ_FIXTURE_NOW + 3650 * 86400LL, &p);
  static const uint8_t kNonce[] = "fuzz nonce";
  p.nonce = kNonce;
  p.nonce_len = sizeof(kNonce) - 1;
  check_at(r, FUZZ_FIXTURE_NOW, &p);
  fg_ocsp_result res;
  FUZZ_CHECK(fg_ocsp_check(&res, NULL, g_leaf, g_ca, FUZZ_FIXTURE_NOW, NULL) ==
             FG_OCSP_ERR_MALFORMED);
  FUZZ_CHECK(fg_ocsp_verdict_string(res.verdict) != NULL);
  fg_ocsp_response_free(r);
  return 0;
}
