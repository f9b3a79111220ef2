// verdict_scope.h: the scope under which a certificate verdict is cached
// (gateway/server/verdict_cache.h), as this gateway stands now: the same
// rule for inbound streams and outbound links.
#ifndef FEDGATE_GATEWAY_VERDICT_SCOPE_H
#define FEDGATE_GATEWAY_VERDICT_SCOPE_H

#include "gateway/server/server_internal.h"
#include "gateway/server/verdict_cache.h"

// fg_verdict_scope_now returns the scope of a question asked by |role| of
// the trust store of the internal servers (|internal|) or of the remote
// ones, under revocation |mode|, with the configuration |snap|: its
// identity rules and generation, the trust stores' generation, and what is
// known of revocations (when |mode| checks them).
fg_verdict_scope fg_verdict_scope_now(const fg_server *srv, const fg_snapshot *snap,
                                      fg_verdict_role role, int internal, fg_revocation_mode mode);

#endif  // FEDGATE_GATEWAY_VERDICT_SCOPE_H
