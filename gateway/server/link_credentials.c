// link_credentials.c: what an outbound link authenticates with: the
// certificate it presents (minted by the internal CA on the hop, the
// hosted domain's own towards remote servers) and the TLS client context
// its STARTTLS uses.
#include "gateway/server/link_credentials.h"

#include <string.h>
#include <time.h>

#include "crypto/internal_ca.h"

// fg_link_hop_uses_internal_ca: the hop link |l| authenticates with a minted
// certificate (its backend's hop mode is internal-ca); otherwise dialback.
// The backend index is the link's own snapshot's.
int fg_link_hop_uses_internal_ca(const link *l) {
  const fg_config *cfg = l->snap->cfg;
  return l->snap->ica != NULL && l->backend < cfg->n_backends &&
         cfg->backends[l->backend].hop_mode == FG_HOP_INTERNAL_CA;
}

// fg_link_hosted_cert returns the certificate of |domain| when it is hosted here
// (never the default certificate standing in for an unknown name).
fg_tls_cert *fg_link_hosted_cert(fg_server *srv, const char *domain) {
  size_t backend;
  const fg_snapshot *s = link_cur_snapshot(srv);
  if (!fg_router_lookup(s->router, domain, strlen(domain), &backend)) return NULL;
  return fg_tls_sni_lookup(s->sni, domain);
}

// fg_link_client_certificate installs the certificate this link authenticates with:
// the minted one for the remote domain on the hop (mode internal-ca), the
// hosted domain's own towards remote servers.
void fg_link_client_certificate(link *l, SSL *ssl) {
  fg_server *srv = l->srv;
  if (l->kind == LINK_HOP) {
    if (!fg_link_hop_uses_internal_ca(l)) return;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    if (fg_internal_ca_get(l->snap->ica, l->local, time(NULL), &x, &k)) {
      fg_tls_use_x509(ssl, x, k);
      X509_free(x);
      EVP_PKEY_free(k);
    }
    return;
  }
  fg_tls_cert *cert = fg_link_hosted_cert(srv, l->local);
  if (cert != NULL) fg_tls_cert_apply(cert, ssl);
}

// The backend's certificate must be valid; towards remote and
// authoritative servers dialback may still prove the peer.
fg_tls_ctx *fg_link_client_ctx(link *l) {
  return l->kind == LINK_HOP ? l->srv->tls_client : l->srv->tls_client_dialback;
}
