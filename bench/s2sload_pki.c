// s2sload_pki.c: certificates and TLS contexts of s2sload. The remote
// domains r1..rK.<suffix> each get a client context with their certificate
// (and, for --resume, their own session cache: a session belongs to one
// client identity). Certificates come from --pki DIR (the layout `fedgate
// dev-pki` writes) or are minted in memory for the self test.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bytestring.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "bench/s2sload_core.h"
#include "crypto/chain.h"
#include "crypto/devpki.h"
#include "crypto/tls_sni.h"

static CRYPTO_BUFFER_POOL *g_pool;
static fg_trust_store *g_trust;
static fg_tls_cert **g_certs;  // per remote
static fg_tls_cert *g_sink_cert;
static fg_tls_sni *g_sink_sni;
static EVP_PKEY *g_ca_key;
static X509 *g_ca;

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  size_t cap = 8192, n = 0;
  char *b = malloc(cap);
  size_t k;
  while (b != NULL && (k = fread(b + n, 1, cap - n, f)) > 0) {
    n += k;
    if (n == cap) {
      char *nb = realloc(b, cap *= 2);
      if (nb == NULL) free(b);
      b = nb;
    }
  }
  fclose(f);
  *len = n;
  return b;
}

static fg_tls_cert *load_cert(const char *domain) {
  char crt[1024], key[1024];
  snprintf(crt, sizeof(crt), "%s/%s.crt", g_load.o.pki_dir, domain);
  snprintf(key, sizeof(key), "%s/%s.key", g_load.o.pki_dir, domain);
  size_t crt_len = 0, key_len = 0;
  char *c = read_file(crt, &crt_len), *k = read_file(key, &key_len);
  fg_tls_cert *cert = NULL;
  if (c != NULL && k != NULL) cert = fg_tls_cert_new_pem(g_pool, c, crt_len, k, key_len);
  free(c);
  free(k);
  if (cert == NULL) {
    fprintf(stderr,
            "s2sload: cannot load %s / %s (mint them with `fedgate dev-pki %s --domain %s`)\n", crt,
            key, g_load.o.pki_dir, domain);
  }
  return cert;
}

static fg_tls_cert *mint_cert(const char *domain) {
  int64_t now = (int64_t)time(NULL);
  EVP_PKEY *key = fg_devpki_key_p256();
  X509 *x = key ? fg_devpki_mint_leaf(key, domain, FG_DEVPKI_ID_DNS | FG_DEVPKI_ID_SRV_SERVER,
                                      now - 3600, now + 86400, g_ca, g_ca_key)
                : NULL;
  fg_tls_cert *cert = NULL;
  uint8_t *der = NULL;
  int len = x ? i2d_X509(x, &der) : -1;
  if (len > 0) {
    const uint8_t *ders[1] = {der};
    size_t lens[1] = {(size_t)len};
    cert = fg_tls_cert_new(g_pool, ders, lens, 1, key);
  }
  OPENSSL_free(der);
  X509_free(x);
  EVP_PKEY_free(key);
  if (cert == NULL) fprintf(stderr, "s2sload: cannot mint a certificate for %s\n", domain);
  return cert;
}

static enum fg_tls_verify_result verify_sut(fg_tls_conn *t, const CRYPTO_BUFFER *const *chain,
                                            size_t chain_len, void *arg) {
  (void)chain;
  (void)chain_len;
  (void)arg;
  const STACK_OF(CRYPTO_BUFFER) *peer = SSL_get0_peer_certificates(fg_tls_conn_ssl(t));
  fg_chain_verdict v;
  fg_chain_params params = {0};
  params.role = FG_ROLE_OUTBOUND;
  if (fg_chain_verify_buffers(&v, g_trust, peer, g_load.o.sink_domain, &params) == FG_CHAIN_OK) {
    return FG_TLS_VERIFY_OK;
  }
  fg_load_error("the SUT's certificate does not verify against the CA: %s (--insecure skips this)",
                v.reason);
  return FG_TLS_VERIFY_REJECT;
}

int fg_load_pki_setup(void) {
  const fg_load_opts *o = &g_load.o;
  g_pool = CRYPTO_BUFFER_POOL_new();
  g_trust = fg_trust_store_new();
  if (o->pki_dir != NULL) {
    char ca[1024], err[256] = "";
    snprintf(ca, sizeof(ca), "%s/ca.crt", o->pki_dir);
    if (!o->insecure && fg_trust_store_load(g_trust, ca, err, sizeof(err)) == 0) {
      fprintf(stderr, "s2sload: cannot load %s: %s\n", ca, err);
      return 0;
    }
  } else {
    int64_t now = (int64_t)time(NULL);
    g_ca_key = fg_devpki_key_p256();
    g_ca =
        g_ca_key ? fg_devpki_mint_ca(g_ca_key, "s2sload test CA", now - 3600, now + 86400) : NULL;
    if (g_ca == NULL || !fg_trust_store_add_cert(g_trust, g_ca)) {
      fprintf(stderr, "s2sload: cannot mint a CA\n");
      return 0;
    }
  }
  unsigned k = o->remotes;
  g_certs = calloc(k, sizeof(*g_certs));
  g_load.client_ctx = calloc(k, sizeof(*g_load.client_ctx));
  if (g_certs == NULL || g_load.client_ctx == NULL) return 0;
  for (unsigned i = 0; i < k; i++) {
    const char *name = g_load.remote_names[i];
    g_certs[i] = o->pki_dir ? load_cert(name) : mint_cert(name);
    if (g_certs[i] == NULL) return 0;
    fg_tls_ctx_config cc = {0};
    cc.role = FG_TLS_CLIENT;
    cc.direct_tls = !o->starttls;  // XEP-0368: ALPN xmpp-server
    cc.client_cert = g_certs[i];
    cc.session_cache = o->resume;
    if (!o->insecure) cc.verify = verify_sut;
    g_load.client_ctx[i] = fg_tls_ctx_new(&cc);
    if (g_load.client_ctx[i] == NULL) {
      fprintf(stderr, "s2sload: cannot create a TLS context\n");
      return 0;
    }
  }
  if (strcmp(o->target, "self") == 0) {
    g_sink_cert = o->pki_dir ? load_cert(o->sink_domain) : mint_cert(o->sink_domain);
    if (g_sink_cert == NULL) return 0;
    g_sink_sni = fg_tls_sni_new();
    fg_tls_sni_add(g_sink_sni, o->sink_domain, g_sink_cert);
    fg_tls_sni_set_default(g_sink_sni, g_sink_cert);
    fg_tls_ctx_config sc = {0};
    sc.role = FG_TLS_SERVER;
    sc.direct_tls = 1;
    sc.sni = g_sink_sni;
    // The self sink asks for the remotes' certificates but does not check
    // them (no verify hook): it stands in for a TLS terminator.
    g_load.sink_tls = fg_tls_ctx_new(&sc);
    if (g_load.sink_tls == NULL) return 0;
  }
  return 1;
}

void fg_load_pki_cleanup(void) {
  for (unsigned i = 0; g_load.client_ctx && i < g_load.o.remotes; i++) {
    fg_tls_ctx_free(g_load.client_ctx[i]);
    fg_tls_cert_free(g_certs[i]);
  }
  free(g_load.client_ctx);
  free(g_certs);
  fg_tls_ctx_free(g_load.sink_tls);
  fg_tls_sni_free(g_sink_sni);
  fg_tls_cert_free(g_sink_cert);
  fg_trust_store_free(g_trust);
  X509_free(g_ca);
  EVP_PKEY_free(g_ca_key);
  CRYPTO_BUFFER_POOL_free(g_pool);
  g_load.client_ctx = NULL;
  g_certs = NULL;
}
