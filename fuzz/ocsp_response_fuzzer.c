// ocsp_response_fuzzer.c: crypto/ocsp's response parser and check on
// arbitrary bytes, as if an OCSP responder (or anyone on the path of a
// plain-HTTP fetch, or a peer stapling a response) had sent them.
//
// Besides the sanitizers, the harness checks what callers rely on:
//   - a parsed response has a defined status, and only a successful one has
//     SingleResponses (1..limit), each with a defined status and reason;
//   - every CBS of the response points inside the response's own copy;
//   - fg_ocsp_check on it, for a fixed certificate and issuer, returns a
//     defined verdict, and never an answer for an unsuccessful response.
// Seeds: fuzz/corpus/ocsp_response_fuzzer/ (the shared OCSP vectors).
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "crypto/devpki.h"
#include "fuzz/fuzz_check.h"
#include "crypto/ocsp.h"

static X509 *g_ca, *g_leaf;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  EVP_PKEY *ca_key = fg_devpki_key_p256(), *leaf_key = fg_devpki_key_p256();
  g_ca = fg_devpki_mint_ca(ca_key, "Fuzz CA", 0, 4102444800);
  g_leaf = fg_devpki_mint_leaf(leaf_key, "leaf.example", 1, 0, 4102444800, g_ca, ca_key);
  FUZZ_CHECK(g_ca != NULL && g_leaf != NULL);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(leaf_key);
  return 0;
}

static int inside(const fg_ocsp_response *r, const CBS *c) {
  return CBS_len(c) == 0 ||
         (CBS_data(c) >= r->der_ && CBS_data(c) + CBS_len(c) <= r->der_ + r->der_len_);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fg_ocsp_limits lim = {.max_singles = 16};
  const char *why = NULL;
  fg_ocsp_response *r = fg_ocsp_response_parse(data, size, &lim, &why);
  if (r == NULL) {
    FUZZ_CHECK(why != NULL);
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
  fg_ocsp_result res;
  fg_ocsp_verdict v = fg_ocsp_check(&res, r, g_leaf, g_ca, 1700000000, NULL);
  FUZZ_CHECK(v <= FG_OCSP_ERR_UNSUPPORTED_ALG && res.detail != NULL);
  if (r->status != FG_OCSP_STATUS_SUCCESSFUL) FUZZ_CHECK(v == FG_OCSP_ERR_STATUS);
  fg_ocsp_response_free(r);
  return 0;
}
