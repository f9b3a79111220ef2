// internal_ca.h: the internal hop's certificate authority (mode internal-ca).
//
// fedgate presents, on its stream to an internal server, a short-lived
// certificate naming the remote domain it has authenticated, signed by a CA
// that only the internal servers trust; they then run ordinary TLS + SASL
// EXTERNAL (XEP-0178). Certificates are minted on first use per domain, kept
// in a cache shared by all workers, and re-minted once less than a third of
// their lifetime is left, so a hop connection never waits on an expired one.
#ifndef FEDGATE_CRYPTO_INTERNAL_CA_H
#define FEDGATE_CRYPTO_INTERNAL_CA_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

typedef struct fg_internal_ca fg_internal_ca;

// fg_internal_ca_load reads the CA certificate and key (PEM) and returns a
// CA that mints certificates valid for |lifetime_s| seconds (0: one day). On
// failure it returns NULL and writes a message naming the file and problem
// into |err|.
fg_internal_ca *fg_internal_ca_load(const char *cert_path, const char *key_path, int64_t lifetime_s,
                                    char *err, size_t err_len);

// fg_internal_ca_new takes a reference to |cert| and |key| (the caller keeps
// its own) and returns a CA as above, or NULL.
fg_internal_ca *fg_internal_ca_new(X509 *cert, EVP_PKEY *key, int64_t lifetime_s);

// fg_internal_ca_free frees |ca| and every cached certificate; NULL is a no-op.
void fg_internal_ca_free(fg_internal_ca *ca);

// fg_internal_ca_get returns in |*out_cert| and |*out_key| (new references,
// the caller frees them) a certificate for |domain| (lower-case A-labels)
// carrying dNSName and SRV-ID _xmpp-server.<domain> (no XmppAddr: ejabberd
// 23.01 rejects a bare-domain one on s2s), valid at
// |now| (POSIX seconds) for at least a third of the lifetime. It reuses the
// cached certificate when it is fresh enough and mints a new one otherwise.
// Thread-safe. It returns 1, or 0 when minting fails.
int fg_internal_ca_get(fg_internal_ca *ca, const char *domain, int64_t now, X509 **out_cert,
                       EVP_PKEY **out_key);

// fg_internal_ca_minted returns how many certificates |ca| has minted (for
// /metrics and tests).
uint64_t fg_internal_ca_minted(const fg_internal_ca *ca);

#endif  // FEDGATE_CRYPTO_INTERNAL_CA_H
