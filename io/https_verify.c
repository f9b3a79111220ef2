// https_verify.c: PKIX and DNS-ID checks of HTTPS servers. See
// https_verify.h.
#include "io/https_verify.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>

#include "crypto/identity.h"
#include "crypto/san.h"

static void refuse(fg_https_check *chk, const char *fmt, const char *a, const char *b) {
  if (chk == NULL) return;
  chk->refused = 1;
  snprintf(chk->why, sizeof(chk->why), fmt, a, b);
}

// host_named says whether the leaf |der| carries a DNS-ID matching |host|.
static int host_named(const uint8_t *der, size_t len, const char *host, const char **why) {
  fg_cert_ids ids;
  fg_cert_ids_init(&ids);
  fg_identity_ref ref;
  int ok = 0;
  *why = "no DNS-ID matches the host";
  if (!fg_san_parse_cert(&ids, der, len, why)) {
    if (*why == NULL) *why = "malformed certificate";
  } else if (!fg_identity_ref_init(&ref, (const uint8_t *)host, strlen(host), "https")) {
    *why = ref.invalid_reason;
  } else {
    fg_identity_result r;
    ok = fg_identity_match(&r, &ids, &ref, 0) == FG_IDENTITY_MATCH && r.matched != NULL &&
         r.matched->type == FG_ID_DNS;
  }
  fg_cert_ids_cleanup(&ids);
  return ok;
}

static enum fg_tls_verify_result verify_server(fg_tls_conn *t, const CRYPTO_BUFFER *const *chain,
                                               size_t chain_len, void *arg) {
  const fg_trust_store *trust = arg;
  fg_https_check *chk = fg_tls_conn_app_data(t);
  SSL *ssl = fg_tls_conn_ssl(t);
  const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  const STACK_OF(CRYPTO_BUFFER) *sk = SSL_get0_peer_certificates(ssl);
  if (host == NULL || sk == NULL || chain_len == 0) {
    refuse(chk, "%s%s", "no host name or no certificate", "");
    return FG_TLS_VERIFY_REJECT;
  }
  fg_chain_verdict cv;
  // No per-domain pin applies: pins are for XMPP peers, not web servers.
  fg_chain_params params = {.role = FG_ROLE_OUTBOUND, .at = (int64_t)time(NULL)};
  if (fg_chain_verify_buffers(&cv, trust, sk, NULL, &params) != FG_CHAIN_OK) {
    refuse(chk, "certificate of %s: chain %s", host, cv.reason);
    return FG_TLS_VERIFY_REJECT;
  }
  const char *why = NULL;
  if (!host_named(CRYPTO_BUFFER_data(chain[0]), CRYPTO_BUFFER_len(chain[0]), host, &why)) {
    refuse(chk, "certificate of %s: %s", host, why);
    return FG_TLS_VERIFY_REJECT;
  }
  return FG_TLS_VERIFY_OK;
}

fg_tls_ctx *fg_https_ctx_new(const fg_trust_store *trust) {
  fg_tls_ctx_config cc = {0};
  cc.role = FG_TLS_CLIENT;
  cc.verify = verify_server;
  cc.verify_arg = (void *)trust;
  // No session cache: a resumed session would skip the verify hook.
  return fg_tls_ctx_new(&cc);
}

void fg_https_check_attach(fg_tls_conn *t, fg_https_check *chk) {
  fg_tls_conn_set_app_data(t, chk);
}
