// auth_method.h: how a remote server's identity was established for a
// stream or link: by its certificate through PKIX (RFC 6125/9525), through
// DANE (RFC 7673, end entity or trust anchor), through POSH (RFC 7711), or
// by dialback (XEP-0220) when no certificate proved it. For logs, /streams
// and fedgate_peers_authenticated_total{direction,method}.
#ifndef FEDGATE_GATEWAY_S2S_AUTH_METHOD_H
#define FEDGATE_GATEWAY_S2S_AUTH_METHOD_H

typedef enum fg_auth_method {
  FG_AUTH_NONE = 0,  // nothing proved the peer (plaintext, or an untrusted
                     // certificate on a stream that needed no dialback)
  FG_AUTH_PKIX,      // its certificate chain and identity (RFC 6120 §13.7.2)
  FG_AUTH_DANE_EE,   // a DANE-EE(3) TLSA record (RFC 7673, RFC 7672 §3.1.1)
  FG_AUTH_DANE_TA,   // a DANE-TA(2) TLSA record (RFC 7671 §5.2.2)
  FG_AUTH_POSH,      // POSH (RFC 7711)
  FG_AUTH_DIALBACK,  // XEP-0220 dialback through the peer's DNS
  FG_AUTH_METHOD_COUNT,
} fg_auth_method;

// fg_auth_method_name returns "none", "pkix", "dane-ee", "dane-ta", "posh"
// or "dialback" ("unknown" for anything else).
const char *fg_auth_method_name(fg_auth_method m);

#endif  // FEDGATE_GATEWAY_S2S_AUTH_METHOD_H
