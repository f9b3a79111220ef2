// dane_check.h: DANE for outbound links (RFC 7673 with the rules of RFC
// 7671 and RFC 7672): whether a target's TLSA answer applies, and the check
// of the peer's chain against it during the TLS handshake. The link
// (link.c) attaches what it expects to the connection's SSL; the server's
// verify hook (server.c) finds it there and asks fg_dane_check.
#ifndef FEDGATE_GATEWAY_DANE_CHECK_H
#define FEDGATE_GATEWAY_DANE_CHECK_H

#include <openssl/ssl.h>

#include "crypto/dane.h"
#include "crypto/tls.h"
#include "gateway/s2s/auth_method.h"
#include "gateway/server/server_internal.h"
#include "io/dns.h"

// fg_dane_expect is what one outbound connection's peer must prove.
typedef struct fg_dane_expect {
  const fg_dane_rrset *tlsa;  // secure, with at least one usable record
  const char *domain;         // the service domain: the remote XMPP domain
  const char *host;           // the SRV target host name
  const char *target;         // host:port, for logs
  char ip[64];                // the address connected to, for logs
  unsigned identity_flags;    // FG_IDENTITY_LEGACY_CN_ID
  fg_auth_method method;      // set by fg_dane_check when the chain passed
  int refused;                // set by fg_dane_check when it did not
  char why[512];              // why it was refused
} fg_dane_expect;

// fg_dane_applies says whether DANE decides for the candidate |t| of
// |domain| whose TLSA answer is |a| (NULL: none was asked): the SRV, address
// and TLSA answers are secure and at least one record is usable (RFC 7673
// §3.3, RFC 7671 §4.1). With |report|, each unusable record is logged once
// and counted. Otherwise the PKIX rules apply as before.
int fg_dane_applies(fg_server *srv, const char *domain, const resolved_target *t,
                    const fg_dns_tlsa_answer *a, int report);

// fg_dane_expect_attach makes |x| the expectation of |ssl|'s handshake. |x|
// must outlive the handshake.
void fg_dane_expect_attach(SSL *ssl, fg_dane_expect *x);

// fg_dane_expect_of returns what is attached to |ssl|, or NULL.
fg_dane_expect *fg_dane_expect_of(const SSL *ssl);

// fg_dane_wants_pkix says whether |s| has a usable PKIX-TA(0) or PKIX-EE(1)
// record, which needs the caller's PKIX verdict.
int fg_dane_wants_pkix(const fg_dane_rrset *s);

// fg_dane_check judges the peer |chain| against |x| (|pkix_ok|: the chain
// passed PKIX for the service domain). It returns FG_TLS_VERIFY_OK and sets
// |x->method|, or FG_TLS_VERIFY_REJECT (never a downgrade to PKIX or
// dialback: RFC 7672 §2.2) after logging why and counting it.
enum fg_tls_verify_result fg_dane_check(fg_server *srv, fg_dane_expect *x,
                                        const STACK_OF(CRYPTO_BUFFER) * chain, int pkix_ok);

#endif  // FEDGATE_GATEWAY_DANE_CHECK_H
