// auth_method.h: how a remote server's identity was established for a
// stream: by its certificate through PKIX (RFC 6125/9525), through DANE
// (RFC 7673, end entity or trust anchor), through POSH (RFC 7711), or by
// dialback (XEP-0220) when no certificate proved it.
#ifndef FEDGATE_GATEWAY_S2S_AUTH_METHOD_H
#define FEDGATE_GATEWAY_S2S_AUTH_METHOD_H

typedef enum fg_auth_method {
  FG_AUTH_PKIX = 0,
  FG_AUTH_DANE_EE,
  FG_AUTH_DANE_TA,
  FG_AUTH_POSH,
  FG_AUTH_DIALBACK,
  FG_AUTH_METHOD_COUNT,
} fg_auth_method;

// fg_auth_method_name returns "pkix", "dane-ee", "dane-ta", "posh" or
// "dialback" ("unknown" for anything else).
const char *fg_auth_method_name(fg_auth_method m);

#endif  // FEDGATE_GATEWAY_S2S_AUTH_METHOD_H
