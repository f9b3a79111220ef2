// dane_inbound.h: DANE for inbound streams (tls.dane_inbound): a remote
// server whose chain PKIX refuses may be authenticated by the TLSA records of
// its own SRV targets (RFC 7673 applied to the connecting side, as in XEP-0344
// and Prosody's mod_s2s_auth_dane). The lookup is asynchronous: only the
// waiting stream pauses.
#ifndef FEDGATE_GATEWAY_DANE_INBOUND_H
#define FEDGATE_GATEWAY_DANE_INBOUND_H

#include <openssl/ssl.h>

#include "gateway/server/server_internal.h"

typedef struct fg_dane_inbound fg_dane_inbound;

// fg_dane_inbound_done_fn receives the verdict for the peer domain: |ok| is
// the fg_auth_method that proved the chain (FG_AUTH_DANE_EE or
// FG_AUTH_DANE_TA) when a secure, usable TLSA RRset of one of its SRV
// targets authenticates it, else 0; |why| says what decided, for the log.
typedef void (*fg_dane_inbound_done_fn)(void *arg, int ok, const char *why);

// fg_dane_inbound_start looks up |peer|'s _xmpp-server SRV targets and their
// TLSA records and judges |chain| (references are taken) against them, then
// calls |done|(|arg|, ...) on worker |w|, never from inside this call. It
// returns the pending check, or NULL (no callback) when it cannot start.
fg_dane_inbound *fg_dane_inbound_start(fg_server *srv, fg_worker *w, const char *peer,
                                       const STACK_OF(CRYPTO_BUFFER) * chain,
                                       fg_dane_inbound_done_fn done, void *arg);

// fg_dane_inbound_cancel drops a pending check: its callback never runs.
// NULL is a no-op.
void fg_dane_inbound_cancel(fg_dane_inbound *q);

#endif  // FEDGATE_GATEWAY_DANE_INBOUND_H
