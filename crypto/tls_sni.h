// tls_sni.h: certificates and the server-name index used to pick one per TLS
// connection. Certificates hold their chain as CRYPTO_BUFFERs from a shared
// CRYPTO_BUFFER_POOL, so thousands of connections reference one copy.
#ifndef FEDGATE_CRYPTO_TLS_SNI_H
#define FEDGATE_CRYPTO_TLS_SNI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/base.h>

typedef struct fg_tls_cert fg_tls_cert;
typedef struct fg_tls_sni fg_tls_sni;

// fg_tls_cert_new builds a certificate from |n| DER certificates (leaf first)
// and |key| (its reference count is incremented). The DER is interned in
// |pool| (may be NULL). It returns NULL on failure. The result has one
// reference.
fg_tls_cert *fg_tls_cert_new(CRYPTO_BUFFER_POOL *pool, const uint8_t *const *der,
                             const size_t *der_len, size_t n, EVP_PKEY *key);

// fg_tls_cert_new_pem is fg_tls_cert_new for a PEM chain and a PEM private key.
fg_tls_cert *fg_tls_cert_new_pem(CRYPTO_BUFFER_POOL *pool, const char *chain_pem,
                                 size_t chain_pem_len, const char *key_pem, size_t key_pem_len);

// fg_tls_cert_up_ref adds a reference to |c|.
void fg_tls_cert_up_ref(fg_tls_cert *c);

// fg_tls_cert_free drops a reference; fg_tls_cert_free(NULL) is a no-op.
void fg_tls_cert_free(fg_tls_cert *c);

// fg_tls_cert_apply installs |c| on |ssl| (SSL_set_chain_and_key: the
// buffers are shared, not copied), and |c|'s staple when one is current
// (BoringSSL sends it only to a client whose hello asked for it with
// status_request, RFC 6066 §8, in TLS 1.2 and 1.3). It returns 1 or 0.
int fg_tls_cert_apply(const fg_tls_cert *c, SSL *ssl);

// fg_tls_use_x509 installs the single certificate |x| with |key| on |ssl|
// as a CRYPTO_BUFFER chain (contexts are TLS_with_buffers_method: no X509
// objects kept per connection). It returns 1 or 0.
int fg_tls_use_x509(SSL *ssl, X509 *x, EVP_PKEY *key);

// fg_tls_cert_leaf returns the leaf certificate's buffer.
const CRYPTO_BUFFER *fg_tls_cert_leaf(const fg_tls_cert *c);

// fg_tls_cert_chain_at returns the |i|th certificate of |c|'s chain (0: the
// leaf), or NULL past its end.
const CRYPTO_BUFFER *fg_tls_cert_chain_at(const fg_tls_cert *c, size_t i);

// fg_tls_cert_set_ocsp publishes the DER OCSP response |der| (copied) as
// |c|'s staple until |not_after| (POSIX seconds); |der| NULL withdraws it.
// Handshakes on any thread read the staple without a lock: the response is
// an immutable blob behind one atomic pointer, and the one it replaces is
// freed through an epoch domain (crypto/epoch.h) once no reader can hold
// it. Callers serialise their calls for one certificate. It returns 1, or
// 0 when memory is short (the old staple stays).
int fg_tls_cert_set_ocsp(fg_tls_cert *c, const uint8_t *der, size_t der_len, int64_t not_after);

// fg_tls_cert_ocsp_current returns 1 when |c| has a staple that is still
// current at |now|.
int fg_tls_cert_ocsp_current(const fg_tls_cert *c, int64_t now);

// fg_tls_sni_new returns an empty index.
fg_tls_sni *fg_tls_sni_new(void);

// fg_tls_sni_free frees |s| and drops its certificate references.
void fg_tls_sni_free(fg_tls_sni *s);

// fg_tls_sni_add maps |name| to |c| (a new reference is taken). |name| is an
// exact host name or "*.suffix" (a wildcard matching exactly one leftmost
// label). Matching is ASCII case-insensitive; one trailing dot is ignored. It
// returns 1, or 0 if |name| is malformed or memory ran out. Adding a name
// again replaces the earlier certificate.
int fg_tls_sni_add(fg_tls_sni *s, const char *name, fg_tls_cert *c);

// fg_tls_sni_add_cert adds every dNSName of |c|'s leaf certificate. It
// returns the number of names added.
size_t fg_tls_sni_add_cert(fg_tls_sni *s, fg_tls_cert *c);

// fg_tls_sni_set_default sets the certificate used when the client sends no
// name or an unknown one (may be NULL: then such handshakes fail).
void fg_tls_sni_set_default(fg_tls_sni *s, fg_tls_cert *c);

// fg_tls_sni_lookup returns the certificate for |name| (NULL name: the
// default): an exact entry, else a wildcard entry for its parent, else the
// default. Lookup cost does not depend on the number of names. Safe to call
// from many threads once the index is no longer modified.
fg_tls_cert *fg_tls_sni_lookup(const fg_tls_sni *s, const char *name);

// fg_tls_sni_find is fg_tls_sni_lookup without the default: NULL when no
// entry, exact or wildcard, names |name| (or |name| is NULL).
fg_tls_cert *fg_tls_sni_find(const fg_tls_sni *s, const char *name);

// fg_tls_sni_count returns the number of names indexed.
size_t fg_tls_sni_count(const fg_tls_sni *s);

#endif  // FEDGATE_CRYPTO_TLS_SNI_H
