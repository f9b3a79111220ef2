// devpki.h: minting certificates with BoringSSL alone (no openssl CLI).
//
// Used by `fedgate dev-pki` (a development CA plus one certificate per
// domain), by the tests and fuzz seed tool (certificates with crafted
// identifiers and flaws), and later by the internal-CA mode, which mints
// short-lived certificates for authenticated remote domains.
#ifndef FEDGATE_CRYPTO_DEVPKI_H
#define FEDGATE_CRYPTO_DEVPKI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

// fg_devpki_name_kind is the GeneralName form of one SAN entry.
typedef enum fg_devpki_name_kind {
  FG_DEVPKI_DNS = 1,  // dNSName (IA5String)
  FG_DEVPKI_SRV,      // otherName id-on-dnsSRV, IA5String "_service.domain"
  FG_DEVPKI_XMPP,     // otherName id-on-xmppAddr, UTF8String
  FG_DEVPKI_URI,      // uniformResourceIdentifier
  FG_DEVPKI_EMAIL,    // rfc822Name
} fg_devpki_name_kind;

// fg_devpki_name is one SAN entry; |value| may hold any bytes (NUL too).
typedef struct fg_devpki_name {
  fg_devpki_name_kind kind;
  const uint8_t *value;
  size_t len;
} fg_devpki_name;

// Extended key usage bits for |fg_devpki_spec.eku|.
#define FG_DEVPKI_EKU_SERVER 1u        // id-kp-serverAuth
#define FG_DEVPKI_EKU_CLIENT 2u        // id-kp-clientAuth
#define FG_DEVPKI_EKU_CODE_SIGNING 4u  // id-kp-codeSigning (tests: a wrong EKU)
#define FG_DEVPKI_EKU_OCSP_SIGNING 8u  // id-kp-OCSPSigning (delegated OCSP responders)

// fg_devpki_ext is an extra extension: dotted OID, critical flag, extnValue.
typedef struct fg_devpki_ext {
  const char *oid;
  int critical;
  const uint8_t *der;
  size_t len;
} fg_devpki_ext;

// fg_devpki_spec describes one certificate. Zero-initialise and set what you
// need: the zero spec is a leaf with no subject, no SAN and no EKU, signed
// with SHA-256, valid from |not_before| 0 to |not_after| 0 (set both).
typedef struct fg_devpki_spec {
  const char *cn;            // subject commonName, or NULL
  const char *cn2;           // a second commonName (tests), or NULL
  const char *org;           // subject organizationName, or NULL
  int is_ca;                 // basicConstraints cA TRUE, keyCertSign
  int path_len;              // with |is_ca|: pathLenConstraint, or -1 for none
  int no_basic_constraints;  // omit basicConstraints entirely
  unsigned eku;              // FG_DEVPKI_EKU_* bits; 0 omits the extension
  // key_usage, when non-zero, replaces the keyUsage bits (first octet of the
  // BIT STRING, 0x80 = digitalSignature ... 0x04 = keyCertSign) (tests).
  uint8_t key_usage;
  int64_t not_before, not_after;  // POSIX seconds
  const EVP_MD *md;               // signature digest; NULL means SHA-256
  const fg_devpki_name *names;    // SAN entries (none: no SAN extension)
  size_t num_names;
  // san_der, when set, is used verbatim as the SAN extnValue (tests).
  const uint8_t *san_der;
  size_t san_der_len;
  // exts are added after the others, as given (tests: CRL distribution
  // points, AIA, id-pkix-ocsp-nocheck).
  const fg_devpki_ext *exts;
  size_t num_exts;
} fg_devpki_spec;

// fg_devpki_key_p256 returns a new ECDSA P-256 key, or NULL.
EVP_PKEY *fg_devpki_key_p256(void);

// fg_devpki_key_rsa returns a new RSA key of |bits| bits, or NULL.
EVP_PKEY *fg_devpki_key_rsa(unsigned bits);

// fg_devpki_mint returns a new certificate for |subject_key| described by
// |spec|, signed by |issuer_key| and naming |issuer| as issuer (both NULL:
// self-signed with |subject_key|). The serial number is random. It returns
// NULL on failure. The caller owns the result (X509_free).
X509 *fg_devpki_mint(const fg_devpki_spec *spec, EVP_PKEY *subject_key, X509 *issuer,
                     EVP_PKEY *issuer_key);

// Identifier bits for |fg_devpki_mint_leaf|.
#define FG_DEVPKI_ID_DNS 1u         // dNSName D
#define FG_DEVPKI_ID_SRV_SERVER 2u  // SRV-ID _xmpp-server.D
#define FG_DEVPKI_ID_SRV_CLIENT 4u  // SRV-ID _xmpp-client.D
#define FG_DEVPKI_ID_XMPP 8u        // XmppAddr D

// fg_devpki_mint_leaf returns a server certificate for |domain| (ASCII,
// A-labels) carrying the identifiers in |ids|, EKU serverAuth + clientAuth,
// CN |domain|, valid from |not_before| to |not_after|, signed by |ca| /
// |ca_key| with SHA-256. It returns NULL on failure.
X509 *fg_devpki_mint_leaf(EVP_PKEY *leaf_key, const char *domain, unsigned ids, int64_t not_before,
                          int64_t not_after, X509 *ca, EVP_PKEY *ca_key);

// fg_devpki_mint_ca returns a self-signed CA certificate (CN |cn|, no path
// length limit) for |ca_key|. It returns NULL on failure.
X509 *fg_devpki_mint_ca(EVP_PKEY *ca_key, const char *cn, int64_t not_before, int64_t not_after);

// fg_devpki_write_cert writes |cert| as PEM to |path| (mode 0644).
// fg_devpki_write_key writes |key| as PKCS#8 PEM to |path| (mode 0600).
// Both replace the file atomically (temporary file + rename) and return 1 on
// success, 0 on failure with errno set.
int fg_devpki_write_cert(const char *path, X509 *cert);
int fg_devpki_write_key(const char *path, EVP_PKEY *key);

// fg_devpki_write_dir creates |dir| if needed and writes (or reuses, when
// both files exist) the CA "ca.crt" + "ca.key", then for each of the
// |num_domains| domains "<domain>.crt" + "<domain>.key": an ECDSA P-256 key
// and a certificate with DNS-ID and SRV-ID _xmpp-server.<domain> (plus
// XmppAddr when |xmppaddr|), valid for 397 days from an hour ago. Domains
// are normalised to lower-case A-labels and must be valid host names. With
// no domains (|domains| may then be NULL) it writes the CA alone. On failure
// it returns 0 and writes a message into |err|.
int fg_devpki_write_dir(const char *dir, const char *const *domains, size_t num_domains,
                        int xmppaddr, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif

#endif  // FEDGATE_CRYPTO_DEVPKI_H
