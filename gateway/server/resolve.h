// resolve.h: where an outbound link to a remote domain connects (RFC 6120
// §3.2): pinned targets from dns.static, else DNS SRV (_xmpps-server and
// _xmpp-server), else the domain's own addresses on port 5269.
#ifndef FEDGATE_GATEWAY_RESOLVE_H
#define FEDGATE_GATEWAY_RESOLVE_H

#include "gateway/server/server_internal.h"
#include "io/dns.h"

// fg_resolve_done_fn receives the candidates found for a domain, or a
// failure when |n| is 0 (bounce with |condition|; |why| for the log). It
// owns |tlsa| (the TLSA answers of the targets, |n_tlsa| of them; indexed by
// resolved_target.tlsa) and frees it with fg_resolve_tlsa_free.
typedef void (*fg_resolve_done_fn)(void *arg, const resolved_target *candidates, size_t n,
                                   fg_stanza_condition condition, const char *why,
                                   fg_dns_tlsa_answer *tlsa, size_t n_tlsa);

// fg_resolve_tlsa_free frees TLSA answers handed to a fg_resolve_done_fn.
void fg_resolve_tlsa_free(fg_dns_tlsa_answer *tlsa, size_t n_tlsa);

// fg_resolve_start finds the candidates for |domain| and calls |done|(|arg|,
// ...) later, on worker |w| (never from inside this call), so that the
// caller can go on using |arg|.
void fg_resolve_start(fg_server *srv, fg_worker *w, const char *domain, fg_resolve_done_fn done,
                      void *arg);

// fg_resolve_refusal says why an address found in DNS may not be connected
// to: this gateway's own listener, or a special-purpose address (RFC 6890)
// outside dns.allowed_networks. It returns NULL when it may.
const char *fg_resolve_refusal(const fg_server *srv, const struct sockaddr *sa);

#endif  // FEDGATE_GATEWAY_RESOLVE_H
