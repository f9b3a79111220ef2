// link_mux.h: whether an established outbound stream may carry a further
// domain pair (XEP-0220 §4.3 multiplexing), so that a provider hosting many
// domains keeps a handful of streams to a peer instead of one per pair.
//
// The rule, for a pair (local L2, remote R2) whose candidates DNS (or
// dns.static) gave, and a ready stream to remote R1 at address A:
//   - A is among R2's candidates: the same server, as R2's DNS names it;
//   - the peer offered dialback (or authenticated the stream with it), so it
//     can take a db:result for the pair (XEP-0220 §2.1, §4.3); the peer
//     decides, with a db:verify round trip or the certificate (XEP-0344);
//   - R2 is R1, or the certificate the peer presented passed PKIX and names
//     R2 (RFC 6120 §13.7.2): a TLS peer proved for R1 is not R2 by address
//     alone; R2 with TLSA records is left to its own stream (DANE is judged
//     per domain at the handshake, RFC 7673);
//   - the stream carries fewer than limits.pairs_per_stream pairs.
#ifndef FEDGATE_GATEWAY_LINK_MUX_H
#define FEDGATE_GATEWAY_LINK_MUX_H

#include <stddef.h>
#include <stdint.h>

// fg_mux_stream describes a ready outbound stream that might carry a pair.
typedef struct fg_mux_stream {
  const char *remote;   // the domain it was opened for (R1)
  int same_address;     // its address is among the pair's candidates
  const uint8_t *leaf;  // the peer's leaf certificate (DER), or NULL
  size_t leaf_len;
  int pkix_ok;              // the peer's chain passed PKIX validation
  int can_multiplex;        // fg_s2s_out_can_multiplex
  size_t pairs, max_pairs;  // pairs carried or asked for, and the bound
} fg_mux_stream;

typedef enum fg_mux_fit {
  FG_MUX_FITS = 0,
  FG_MUX_FULL,           // pairs_per_stream reached
  FG_MUX_NO_DIALBACK,    // the peer takes no further db:result on it
  FG_MUX_OTHER_ADDRESS,  // not one of the pair's candidates
  FG_MUX_NOT_PROVED,     // another remote domain the certificate does not name
} fg_mux_fit;

// fg_link_mux_fits says whether |s| may carry a pair to |remote|; |has_tlsa|
// says DNS gave TLSA records for it; |identity_flags| are
// fg_identity_match's (legacy CN-ID).
fg_mux_fit fg_link_mux_fits(const fg_mux_stream *s, const char *remote, int has_tlsa,
                            unsigned identity_flags);

// fg_link_mux_fit_name names a verdict for logs.
const char *fg_link_mux_fit_name(fg_mux_fit f);

// fg_link_mux_cert_names says whether the DER certificate |der| names
// |domain| (DNS-ID, SRV-ID or XmppAddr per crypto/identity.h). It returns
// 1 or 0.
int fg_link_mux_cert_names(const uint8_t *der, size_t der_len, const char *domain,
                           unsigned identity_flags);

#endif  // FEDGATE_GATEWAY_LINK_MUX_H
