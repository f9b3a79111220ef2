// verdict_scope.c: the scope of a cached certificate verdict.
#include "gateway/server/verdict_scope.h"

#include <stdatomic.h>

#include "crypto/identity.h"
#include "gateway/server/revocation.h"

fg_verdict_scope fg_verdict_scope_now(const fg_server *srv, const fg_snapshot *snap,
                                      fg_verdict_role role, int internal, fg_revocation_mode mode) {
  fg_verdict_scope sc = {
      .role = role,
      .internal = internal != 0,
      .identity_flags = snap->cfg->tls.legacy_cn_id ? FG_IDENTITY_LEGACY_CN_ID : 0,
      .revocation_mode = (uint8_t)mode,
      .trust_generation = atomic_load_explicit(&srv->trust_generation, memory_order_relaxed),
      .revocation_generation =
          mode != FG_REVOCATION_OFF ? fg_revocation_generation(srv->revocation) : 0,
      .config_generation = snap->generation,
  };
  return sc;
}
