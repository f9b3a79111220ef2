// link_mux.c: the choice of a stream that may carry a further domain pair.
#include "gateway/server/link_mux.h"

#include <string.h>

#include "crypto/identity.h"
#include "crypto/san.h"

static int same_address(const resolved_target *a, const resolved_target *b) {
  return a->addr_len == b->addr_len && a->direct_tls == b->direct_tls &&
         memcmp(&a->addr, &b->addr, a->addr_len) == 0;
}

int fg_link_mux_cert_names(SSL *ssl, const char *domain, unsigned identity_flags) {
  const STACK_OF(CRYPTO_BUFFER) *chain = ssl ? SSL_get0_peer_certificates(ssl) : NULL;
  if (chain == NULL || sk_CRYPTO_BUFFER_num(chain) == 0) return 0;
  const CRYPTO_BUFFER *leaf = sk_CRYPTO_BUFFER_value(chain, 0);
  fg_cert_ids ids;
  fg_cert_ids_init(&ids);
  fg_identity_ref ref;
  int ok = fg_san_parse_cert(&ids, CRYPTO_BUFFER_data(leaf), CRYPTO_BUFFER_len(leaf), NULL) &&
           fg_identity_ref_init(&ref, (const uint8_t *)domain, strlen(domain), NULL) &&
           fg_identity_match(NULL, &ids, &ref, identity_flags) == FG_IDENTITY_MATCH;
  fg_cert_ids_cleanup(&ids);
  return ok;
}

fg_mux_fit fg_link_mux_fits(const fg_mux_stream *s, const char *remote,
                            const resolved_target *cands, size_t n, int has_tlsa,
                            unsigned identity_flags) {
  if (s->pairs >= s->max_pairs) return FG_MUX_FULL;
  if (!s->can_multiplex) return FG_MUX_NO_DIALBACK;
  int found = 0;
  for (size_t i = 0; i < n && !found; i++) found = same_address(s->target, &cands[i]);
  if (!found) return FG_MUX_OTHER_ADDRESS;
  if (strcmp(s->remote, remote) == 0) return FG_MUX_FITS;
  if (has_tlsa || !s->pkix_ok || !fg_link_mux_cert_names(s->ssl, remote, identity_flags)) {
    return FG_MUX_NOT_PROVED;
  }
  return FG_MUX_FITS;
}

const char *fg_link_mux_fit_name(fg_mux_fit f) {
  switch (f) {
    case FG_MUX_FITS:
      return "fits";
    case FG_MUX_FULL:
      return "pairs_per_stream reached";
    case FG_MUX_NO_DIALBACK:
      return "the peer takes no further dialback on it";
    case FG_MUX_OTHER_ADDRESS:
      return "another address";
    case FG_MUX_NOT_PROVED:
      return "the certificate does not name the remote domain";
  }
  return "?";
}
