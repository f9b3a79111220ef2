// bidi.h: the rules of XEP-0288 (bidirectional server-to-server streams)
// that do not depend on a stream's state machine: the names on the wire,
// which stanzas the initiating side accepts back on a stream it opened, and
// whether the way the receiving server was proved lets that side trust them.
//
// XEP-0288 in short: the receiving server offers <bidi
// xmlns='urn:xmpp:features:bidi'/> among its stream features (§2.1, after
// TLS when TLS is negotiated); the initiating server answers with <bidi
// xmlns='urn:xmpp:bidi'/> before SASL or dialback (§2.2). From then on the
// receiving server may send stanzas back on the same stream, but only for
// the pairs the initiating server authenticated, in the inverse direction
// (§2.2): from the stream's 'to' (SASL) or from the receiving domain of a
// dialback request, to the initiating server's domain.
#ifndef FEDGATE_GATEWAY_S2S_BIDI_H
#define FEDGATE_GATEWAY_S2S_BIDI_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/s2s/auth_method.h"

#define FG_NS_BIDI "urn:xmpp:bidi"                   // XEP-0288 §2.2
#define FG_NS_BIDI_FEATURE "urn:xmpp:features:bidi"  // XEP-0288 §2.1

// FG_BIDI_FEATURE is the stream feature element (XEP-0288 §2.1).
#define FG_BIDI_FEATURE "<bidi xmlns='" FG_NS_BIDI_FEATURE "'/>"
// FG_BIDI_REQUEST is the element enabling bidirectionality (XEP-0288 §2.2).
#define FG_BIDI_REQUEST "<bidi xmlns='" FG_NS_BIDI "'/>"

// fg_bidi_verdict is what the initiating side makes of a stanza the
// receiving server sent back on a bidirectional stream.
typedef enum fg_bidi_verdict {
  FG_BIDI_OK = 0,
  FG_BIDI_IMPROPER_ADDRESSING,  // 'to' or 'from' missing or not an address
  FG_BIDI_INVALID_FROM,         // 'from' is not the stream's receiving domain
  FG_BIDI_HOST_UNKNOWN,         // 'to' is not the stream's originating domain
} fg_bidi_verdict;

// fg_bidi_check_reverse judges the addresses of a stanza received on the
// stream we opened from |local| to |remote|: by XEP-0288 §2.2 the peer may
// send only from |remote| to |local|. |from|/|to| are the raw attribute
// values (NULL when absent). On FG_BIDI_OK the normalised domains are in
// |out_from| and |out_to| (each FG_DOMAIN_MAX + 1 bytes).
fg_bidi_verdict fg_bidi_check_reverse(const char *local, const char *remote, const uint8_t *from,
                                      size_t from_len, const uint8_t *to, size_t to_len,
                                      char *out_from, char *out_to);

// fg_bidi_verdict_condition returns the RFC 6120 §4.9.3 stream error that
// ends a stream on |v| ("improper-addressing", "invalid-from",
// "host-unknown"), or NULL for FG_BIDI_OK.
const char *fg_bidi_verdict_condition(fg_bidi_verdict v);

// fg_bidi_reverse_trusted says whether stanzas the receiving server sends
// back may be accepted, given how that server was proved on the stream we
// opened (|proof|) and whether this gateway accepts dialback on its inbound
// streams (|inbound_dialback|): never more than an inbound stream with the
// same proof would get. A certificate (PKIX, DANE, POSH) proves the domain
// as SASL EXTERNAL would; without one, our own dialback request proved only
// us to the peer, and the peer stands on DNS alone (the answer we reached
// it by), which is what inbound dialback trusts: accepted only where
// inbound dialback is (XEP-0288 §2.2, §4; XEP-0220 §2.1).
int fg_bidi_reverse_trusted(fg_auth_method proof, int inbound_dialback);

// fg_bidi_hop_reverse_trusted says the same of an internal server (a
// backend) on a hop link, by what its own streams to the internal listener
// may authenticate with: a certificate the internal trust store validates
// for the hosted domain (the hop's TLS accepts no other, PKIX), or, on a
// plaintext hop, dialback where dialback is accepted (|dialback|). Never
// DANE or POSH, which the internal listener does not use.
int fg_bidi_hop_reverse_trusted(fg_auth_method proof, int dialback);

#endif  // FEDGATE_GATEWAY_S2S_BIDI_H
