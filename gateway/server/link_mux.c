// link_mux.c: the choice of a stream that may carry a further domain pair.
#include "gateway/server/link_mux.h"

#include <string.h>

#include "crypto/identity.h"
#include "crypto/san.h"

int fg_link_mux_cert_names(const uint8_t *der, size_t der_len, const char *domain,
                           unsigned identity_flags) {
  if (der == NULL || der_len == 0) return 0;
  fg_cert_ids ids;
  fg_cert_ids_init(&ids);
  fg_identity_ref ref;
  int ok = fg_san_parse_cert(&ids, der, der_len, NULL) &&
           fg_identity_ref_init(&ref, (const uint8_t *)domain, strlen(domain), NULL) &&
           fg_identity_match(NULL, &ids, &ref, identity_flags) == FG_IDENTITY_MATCH;
  fg_cert_ids_cleanup(&ids);
  return ok;
}

fg_mux_fit fg_link_mux_fits(const fg_mux_stream *s, const char *remote, int has_tlsa,
                            unsigned identity_flags) {
  if (s->pairs >= s->max_pairs) return FG_MUX_FULL;
  if (!s->can_multiplex) return FG_MUX_NO_DIALBACK;
  if (!s->same_address) return FG_MUX_OTHER_ADDRESS;
  if (strcmp(s->remote, remote) == 0) return FG_MUX_FITS;
  if (has_tlsa || !s->pkix_ok ||
      !fg_link_mux_cert_names(s->leaf, s->leaf_len, remote, identity_flags)) {
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
