// responders.h: the OCSP responders and CRLs configured per CA
// (revocation.responders), loaded once, asked by both revocation checking of
// peers (gateway/server/revocation.c) and stapling (gateway/server/stapler.c).
#ifndef FEDGATE_GATEWAY_SERVER_RESPONDERS_H
#define FEDGATE_GATEWAY_SERVER_RESPONDERS_H

#include <openssl/x509.h>

#include "gateway/config/config.h"

typedef struct fg_responders fg_responders;

// fg_responders_load reads the CA certificate of every revocation.responders
// entry of |cfg| (which must outlive it). It returns NULL with the entry and
// the problem in |err| when one cannot be read.
fg_responders *fg_responders_load(const fg_config *cfg, char *err, size_t err_len);

// fg_responders_free frees |r|. NULL is a no-op.
void fg_responders_free(fg_responders *r);

// fg_responders_find returns the entry configured for certificates issued by
// |issuer| (matched by name and by |cert|'s signature), whose url (OCSP) and
// crl_url may each be NULL; or NULL when none is. |r| may be NULL.
const fg_config_responder *fg_responders_find(const fg_responders *r, X509 *cert, X509 *issuer);

#endif  // FEDGATE_GATEWAY_SERVER_RESPONDERS_H
