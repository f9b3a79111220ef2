// https_verify.h: the TLS client side of https:// requests (RFC 9110
// §4.3.4): a client context whose verify hook accepts a server only when its
// chain validates by PKIX (RFC 5280) against a trust store and its
// certificate names the requested host in a DNS-ID (RFC 9525 §6.3; SRV-IDs,
// XmppAddrs and the legacy CN do not count for HTTPS).
//
// The host is the SNI the connection sends (fg_connect_config.server_name),
// so a connection made without a host name is refused.
#ifndef FEDGATE_IO_HTTPS_VERIFY_H
#define FEDGATE_IO_HTTPS_VERIFY_H

#include "crypto/chain.h"
#include "crypto/tls.h"

// fg_https_check receives, per connection, why the server was refused.
typedef struct fg_https_check {
  int refused;
  char why[300];
} fg_https_check;

// fg_https_ctx_new returns a client context checking servers against
// |trust| (not owned; it must outlive the context), or NULL.
fg_tls_ctx *fg_https_ctx_new(const fg_trust_store *trust);

// fg_https_check_attach makes the hook of connection |t| report into |chk|
// (which must outlive the handshake). Call it from on_tls_created.
void fg_https_check_attach(fg_tls_conn *t, fg_https_check *chk);

#endif  // FEDGATE_IO_HTTPS_VERIFY_H
