// responders.c: the per-CA responder overrides (see responders.h).
#include "gateway/server/responders.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/x509v3.h>

#include "crypto/chain.h"

struct fg_responders {
  const fg_config *cfg;
  X509 **issuers;  // revocation.responders[i]'s CA
  size_t n;
};

fg_responders *fg_responders_load(const fg_config *cfg, char *err, size_t err_len) {
  fg_responders *r = calloc(1, sizeof(*r));
  if (r == NULL ||
      (r->issuers = calloc(cfg->revocation.n_responders + 1, sizeof(X509 *))) == NULL) {
    snprintf(err, err_len, "revocation.responders: out of memory");
    fg_responders_free(r);
    return NULL;
  }
  r->cfg = cfg;
  for (size_t i = 0; i < cfg->revocation.n_responders; i++) {
    STACK_OF(X509) *certs = sk_X509_new_null();
    char why[256] = "";
    if (certs == NULL || fg_chain_read_certs(certs, cfg->revocation.responders[i].issuer_file, why,
                                             sizeof(why)) == 0) {
      snprintf(err, err_len, "revocation.responders[%zu].issuer: %s", i, why);
      sk_X509_pop_free(certs, X509_free);
      fg_responders_free(r);
      return NULL;
    }
    r->issuers[r->n++] = sk_X509_shift(certs);
    sk_X509_pop_free(certs, X509_free);
  }
  return r;
}

void fg_responders_free(fg_responders *r) {
  if (r == NULL) return;
  for (size_t i = 0; i < r->n; i++) X509_free(r->issuers[i]);
  free(r->issuers);
  free(r);
}

const fg_config_responder *fg_responders_find(const fg_responders *r, X509 *cert, X509 *issuer) {
  if (r == NULL || cert == NULL || issuer == NULL) return NULL;
  for (size_t i = 0; i < r->n; i++) {
    if (X509_NAME_cmp(X509_get_subject_name(r->issuers[i]), X509_get_subject_name(issuer)) == 0 &&
        X509_check_issued(r->issuers[i], cert) == X509_V_OK) {
      return &r->cfg->revocation.responders[i];
    }
  }
  return NULL;
}
