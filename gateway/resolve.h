// resolve.h: where an outbound link to a remote domain connects (RFC 6120
// §3.2): pinned targets from dns.static, else DNS SRV (_xmpps-server and
// _xmpp-server), else the domain's own addresses on port 5269.
#ifndef FEDGATE_GATEWAY_RESOLVE_H
#define FEDGATE_GATEWAY_RESOLVE_H

#include "gateway/server_internal.h"

// fg_resolve_start finds the candidates for |domain| and hands them to
// fg_link_resolved(l, ...) later, on worker |w| (never from inside this
// call), so that the caller can go on using |l|.
void fg_resolve_start(fg_server *srv, fg_worker *w, link *l, const char *domain);

#endif  // FEDGATE_GATEWAY_RESOLVE_H
