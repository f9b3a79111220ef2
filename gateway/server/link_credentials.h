// link_credentials.h: what an outbound link authenticates with
// (gateway/server/link_credentials.c).
#ifndef FEDGATE_GATEWAY_LINK_CREDENTIALS_H
#define FEDGATE_GATEWAY_LINK_CREDENTIALS_H

#include <openssl/ssl.h>

#include "gateway/server/link_types.h"

// fg_link_hop_uses_internal_ca says whether hop link |l| authenticates with
// a minted certificate (its backend's hop mode is internal-ca) rather than
// dialback. The backend index is the link's own snapshot's.
int fg_link_hop_uses_internal_ca(const link *l);

// fg_link_hosted_cert returns the certificate of |domain| when it is hosted
// here (never the default certificate standing in for an unknown name),
// else NULL.
fg_tls_cert *fg_link_hosted_cert(fg_server *srv, const char *domain);

// fg_link_client_certificate installs on |ssl| the certificate |l|
// authenticates with, if any.
void fg_link_client_certificate(link *l, SSL *ssl);

// fg_link_client_ctx returns the TLS client context of |l|'s STARTTLS.
fg_tls_ctx *fg_link_client_ctx(link *l);

#endif  // FEDGATE_GATEWAY_LINK_CREDENTIALS_H
