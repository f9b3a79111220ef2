// link_trust.h: trust decisions about an outbound link's peer after TLS
// (gateway/server/link_trust.c). Worker thread only.
#ifndef FEDGATE_GATEWAY_LINK_TRUST_H
#define FEDGATE_GATEWAY_LINK_TRUST_H

#include "gateway/server/link_types.h"

// fg_link_trust_prepare_dane decides whether DANE judges |l|'s connection
// to |t| and sets up what its handshake must prove
// (gateway/server/dane_check.h).
void fg_link_trust_prepare_dane(link *l, const resolved_target *t);

// fg_link_trust_resumed_ok counts a resumed handshake of |c| and ends the
// connection when the session's carried verdict may not carry |l|; it
// returns 1 when the link goes on (resumed or not).
int fg_link_trust_resumed_ok(link *l, fg_conn *c);

// fg_link_trust_check judges the peer of |l| whose handshake is done:
// remote servers' certificates are checked for revocation first (answers
// the shared cache lacks are fetched while this link alone waits), then
// fg_link_trust_peer. A refused certificate ends the connection (the next
// candidate is tried).
void fg_link_trust_check(link *l);

// fg_link_trust_peer goes on with |l| whose certificate passed the
// revocation step: PKIX proved the peer, or POSH may (fetched first), or
// dialback will; then the stream starts (direct TLS) or restarts over TLS.
void fg_link_trust_peer(link *l);

#endif  // FEDGATE_GATEWAY_LINK_TRUST_H
