// devpki.c: certificate minting with BoringSSL. Extensions are built as DER
// with CBB so that the bytes are exactly what the spec says (the tests rely
// on crafted SANs reaching the certificate unchanged).
#include "crypto/devpki.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/bytestring.h>
#include <openssl/ec_key.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/obj.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "crypto/identity.h"

static const uint8_t kOidSrv[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x08, 0x07};
static const uint8_t kOidXmpp[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x08, 0x05};
static const uint8_t kOidServerAuth[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01};
static const uint8_t kOidClientAuth[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02};
static const uint8_t kOidCodeSigning[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03};
static const uint8_t kOidOcspSigning[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09};

EVP_PKEY *fg_devpki_key_p256(void) {
  EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  EVP_PKEY *pkey = EVP_PKEY_new();
  if (ec == NULL || pkey == NULL || !EC_KEY_generate_key(ec) || !EVP_PKEY_assign_EC_KEY(pkey, ec)) {
    EC_KEY_free(ec);
    EVP_PKEY_free(pkey);
    return NULL;
  }
  return pkey;
}

EVP_PKEY *fg_devpki_key_rsa(unsigned bits) {
  RSA *rsa = RSA_new();
  BIGNUM *e = BN_new();
  EVP_PKEY *pkey = EVP_PKEY_new();
  if (rsa == NULL || e == NULL || pkey == NULL || !BN_set_word(e, RSA_F4) ||
      !RSA_generate_key_ex(rsa, (int)bits, e, NULL) || !EVP_PKEY_assign_RSA(pkey, rsa)) {
    RSA_free(rsa);
    BN_free(e);
    EVP_PKEY_free(pkey);
    return NULL;
  }
  BN_free(e);
  return pkey;
}

// add_ext_der adds the extension |nid| whose extnValue is |der|.
static int add_ext_der(X509 *x, int nid, int critical, const uint8_t *der, size_t der_len) {
  ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
  if (os == NULL || !ASN1_OCTET_STRING_set(os, der, (int)der_len)) {
    ASN1_OCTET_STRING_free(os);
    return 0;
  }
  X509_EXTENSION *ext = X509_EXTENSION_create_by_NID(NULL, nid, critical, os);
  ASN1_OCTET_STRING_free(os);
  int ok = ext != NULL && X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  return ok;
}

// add_ext_cbb finishes |cbb| and adds it as extension |nid|.
static int add_ext_cbb(X509 *x, int nid, int critical, CBB *cbb) {
  uint8_t *der = NULL;
  size_t len;
  if (!CBB_finish(cbb, &der, &len)) {
    CBB_cleanup(cbb);
    return 0;
  }
  int ok = add_ext_der(x, nid, critical, der, len);
  OPENSSL_free(der);
  return ok;
}

static int add_other_name(CBB *names, const uint8_t *oid, size_t oid_len, unsigned str_tag,
                          const uint8_t *v, size_t len) {
  CBB gn, o, wrap, s;
  return CBB_add_asn1(names, &gn, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) &&
         CBB_add_asn1(&gn, &o, CBS_ASN1_OBJECT) && CBB_add_bytes(&o, oid, oid_len) &&
         CBB_add_asn1(&gn, &wrap, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) &&
         CBB_add_asn1(&wrap, &s, str_tag) && CBB_add_bytes(&s, v, len) && CBB_flush(names);
}

static int add_san(X509 *x, const fg_devpki_spec *spec) {
  if (spec->san_der != NULL) {
    return add_ext_der(x, NID_subject_alt_name, 0, spec->san_der, spec->san_der_len);
  }
  if (spec->num_names == 0) return 1;
  CBB cbb, seq;
  if (!CBB_init(&cbb, 64) || !CBB_add_asn1(&cbb, &seq, CBS_ASN1_SEQUENCE)) goto err;
  for (size_t i = 0; i < spec->num_names; i++) {
    const fg_devpki_name *n = &spec->names[i];
    CBB s;
    int ok;
    switch (n->kind) {
      case FG_DEVPKI_DNS:
      case FG_DEVPKI_URI:
      case FG_DEVPKI_EMAIL: {
        unsigned tag = n->kind == FG_DEVPKI_DNS ? 2 : n->kind == FG_DEVPKI_URI ? 6 : 1;
        ok = CBB_add_asn1(&seq, &s, CBS_ASN1_CONTEXT_SPECIFIC | tag) &&
             CBB_add_bytes(&s, n->value, n->len) && CBB_flush(&seq);
        break;
      }
      case FG_DEVPKI_SRV:
        ok = add_other_name(&seq, kOidSrv, sizeof(kOidSrv), CBS_ASN1_IA5STRING, n->value, n->len);
        break;
      case FG_DEVPKI_XMPP:
        ok =
            add_other_name(&seq, kOidXmpp, sizeof(kOidXmpp), CBS_ASN1_UTF8STRING, n->value, n->len);
        break;
      default:
        ok = 0;
    }
    if (!ok) goto err;
  }
  return add_ext_cbb(x, NID_subject_alt_name, 0, &cbb);
err:
  CBB_cleanup(&cbb);
  return 0;
}

static int add_basic_constraints(X509 *x, const fg_devpki_spec *spec) {
  if (spec->no_basic_constraints) return 1;
  CBB cbb, seq;
  if (!CBB_init(&cbb, 16) || !CBB_add_asn1(&cbb, &seq, CBS_ASN1_SEQUENCE)) goto err;
  if (spec->is_ca) {
    CBB b;
    if (!CBB_add_asn1(&seq, &b, CBS_ASN1_BOOLEAN) || !CBB_add_u8(&b, 0xff)) goto err;
    if (spec->path_len >= 0 && !CBB_add_asn1_uint64(&seq, (uint64_t)spec->path_len)) goto err;
  }
  return add_ext_cbb(x, NID_basic_constraints, 1, &cbb);
err:
  CBB_cleanup(&cbb);
  return 0;
}

// add_key_usage: RFC 5280 §4.2.1.3. CAs sign certificates; leaves sign
// handshakes (and, for RSA key exchange, encipher keys).
static int add_key_usage(X509 *x, const fg_devpki_spec *spec, EVP_PKEY *key) {
  uint8_t bits = 0x80;                                                 // digitalSignature
  if (spec->is_ca) bits |= 0x04 | 0x02;                                // keyCertSign, cRLSign
  if (!spec->is_ca && EVP_PKEY_id(key) == EVP_PKEY_RSA) bits |= 0x20;  // keyEncipherment
  if (spec->key_usage != 0) bits = spec->key_usage;
  uint8_t unused = 0;
  while (!(bits & (1u << unused))) unused++;
  CBB cbb, bs;
  if (!CBB_init(&cbb, 8) || !CBB_add_asn1(&cbb, &bs, CBS_ASN1_BITSTRING) ||
      !CBB_add_u8(&bs, unused) || !CBB_add_u8(&bs, bits)) {
    CBB_cleanup(&cbb);
    return 0;
  }
  return add_ext_cbb(x, NID_key_usage, 1, &cbb);
}

static int add_eku(X509 *x, unsigned eku) {
  if (eku == 0) return 1;
  CBB cbb, seq, o;
  if (!CBB_init(&cbb, 32) || !CBB_add_asn1(&cbb, &seq, CBS_ASN1_SEQUENCE)) goto err;
  if ((eku & FG_DEVPKI_EKU_SERVER) &&
      (!CBB_add_asn1(&seq, &o, CBS_ASN1_OBJECT) ||
       !CBB_add_bytes(&o, kOidServerAuth, sizeof(kOidServerAuth)))) {
    goto err;
  }
  if ((eku & FG_DEVPKI_EKU_CLIENT) &&
      (!CBB_add_asn1(&seq, &o, CBS_ASN1_OBJECT) ||
       !CBB_add_bytes(&o, kOidClientAuth, sizeof(kOidClientAuth)))) {
    goto err;
  }
  if ((eku & FG_DEVPKI_EKU_CODE_SIGNING) &&
      (!CBB_add_asn1(&seq, &o, CBS_ASN1_OBJECT) ||
       !CBB_add_bytes(&o, kOidCodeSigning, sizeof(kOidCodeSigning)))) {
    goto err;
  }
  if ((eku & FG_DEVPKI_EKU_OCSP_SIGNING) &&
      (!CBB_add_asn1(&seq, &o, CBS_ASN1_OBJECT) ||
       !CBB_add_bytes(&o, kOidOcspSigning, sizeof(kOidOcspSigning)))) {
    goto err;
  }
  return add_ext_cbb(x, NID_ext_key_usage, 0, &cbb);
err:
  CBB_cleanup(&cbb);
  return 0;
}

// add_key_ids adds subjectKeyIdentifier and authorityKeyIdentifier (RFC 5280
// §4.2.1.1-2), both the SHA-1 of the SubjectPublicKeyInfo (method (1)-like).
static int add_key_ids(X509 *x, X509 *issuer) {
  uint8_t ski[EVP_MAX_MD_SIZE], aki[EVP_MAX_MD_SIZE];
  unsigned ski_len, aki_len;
  if (!X509_pubkey_digest(x, EVP_sha1(), ski, &ski_len) ||
      !X509_pubkey_digest(issuer, EVP_sha1(), aki, &aki_len)) {
    return 0;
  }
  CBB cbb, os, seq, kid;
  if (!CBB_init(&cbb, 32) || !CBB_add_asn1(&cbb, &os, CBS_ASN1_OCTETSTRING) ||
      !CBB_add_bytes(&os, ski, ski_len)) {
    CBB_cleanup(&cbb);
    return 0;
  }
  if (!add_ext_cbb(x, NID_subject_key_identifier, 0, &cbb)) return 0;
  if (!CBB_init(&cbb, 32) || !CBB_add_asn1(&cbb, &seq, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&seq, &kid, CBS_ASN1_CONTEXT_SPECIFIC | 0) ||
      !CBB_add_bytes(&kid, aki, aki_len)) {
    CBB_cleanup(&cbb);
    return 0;
  }
  return add_ext_cbb(x, NID_authority_key_identifier, 0, &cbb);
}

static int add_extra_exts(X509 *x, const fg_devpki_spec *spec) {
  for (size_t i = 0; i < spec->num_exts; i++) {
    const fg_devpki_ext *e = &spec->exts[i];
    ASN1_OBJECT *obj = OBJ_txt2obj(e->oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    if (obj != NULL && os != NULL && ASN1_OCTET_STRING_set(os, e->der, (int)e->len)) {
      ext = X509_EXTENSION_create_by_OBJ(NULL, obj, e->critical, os);
    }
    int ok = ext != NULL && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    if (!ok) return 0;
  }
  return 1;
}

static int set_time(ASN1_TIME *t, int64_t when) {
  return ASN1_TIME_set(t, (time_t)when) != NULL;
}

static int add_name_entry(X509_NAME *name, int nid, const char *value) {
  if (value == NULL) return 1;
  return X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, (const uint8_t *)value, -1, -1, 0);
}

X509 *fg_devpki_mint(const fg_devpki_spec *spec, EVP_PKEY *subject_key, X509 *issuer,
                     EVP_PKEY *issuer_key) {
  X509 *x = X509_new();
  X509_NAME *subject = X509_NAME_new();
  uint8_t serial[16];
  BIGNUM *bn = NULL;
  if (x == NULL || subject == NULL) goto err;
  // RFC 5280 §4.1.2.2: positive, at most 20 octets; 127 random bits.
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  serial[0] |= 0x01;
  bn = BN_bin2bn(serial, sizeof(serial), NULL);
  if (bn == NULL || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))) goto err;
  if (!X509_set_version(x, X509_VERSION_3) || !set_time(X509_getm_notBefore(x), spec->not_before) ||
      !set_time(X509_getm_notAfter(x), spec->not_after) ||
      !add_name_entry(subject, NID_organizationName, spec->org) ||
      !add_name_entry(subject, NID_commonName, spec->cn) ||
      !add_name_entry(subject, NID_commonName, spec->cn2) || !X509_set_subject_name(x, subject) ||
      !X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : subject) ||
      !X509_set_pubkey(x, subject_key) || !add_basic_constraints(x, spec) ||
      !add_key_usage(x, spec, subject_key) || !add_eku(x, spec->eku) || !add_san(x, spec) ||
      !add_key_ids(x, issuer != NULL ? issuer : x) || !add_extra_exts(x, spec)) {
    goto err;
  }
  if (!X509_sign(x, issuer_key != NULL ? issuer_key : subject_key,
                 spec->md != NULL ? spec->md : EVP_sha256())) {
    goto err;
  }
  BN_free(bn);
  X509_NAME_free(subject);
  return x;
err:
  BN_free(bn);
  X509_NAME_free(subject);
  X509_free(x);
  return NULL;
}

X509 *fg_devpki_mint_leaf(EVP_PKEY *leaf_key, const char *domain, unsigned ids, int64_t not_before,
                          int64_t not_after, X509 *ca, EVP_PKEY *ca_key) {
  size_t dlen = strlen(domain);
  char srv_server[300], srv_client[300];
  if (dlen > FG_IDENTITY_MAX_NAME) return NULL;
  snprintf(srv_server, sizeof(srv_server), "_xmpp-server.%s", domain);
  snprintf(srv_client, sizeof(srv_client), "_xmpp-client.%s", domain);
  fg_devpki_name names[4];
  size_t n = 0;
  if (ids & FG_DEVPKI_ID_DNS) {
    names[n++] = (fg_devpki_name){FG_DEVPKI_DNS, (const uint8_t *)domain, dlen};
  }
  if (ids & FG_DEVPKI_ID_SRV_SERVER) {
    names[n++] = (fg_devpki_name){FG_DEVPKI_SRV, (const uint8_t *)srv_server, strlen(srv_server)};
  }
  if (ids & FG_DEVPKI_ID_SRV_CLIENT) {
    names[n++] = (fg_devpki_name){FG_DEVPKI_SRV, (const uint8_t *)srv_client, strlen(srv_client)};
  }
  if (ids & FG_DEVPKI_ID_XMPP) {
    names[n++] = (fg_devpki_name){FG_DEVPKI_XMPP, (const uint8_t *)domain, dlen};
  }
  fg_devpki_spec spec = {
      .cn = domain,
      .path_len = -1,
      .eku = FG_DEVPKI_EKU_SERVER | FG_DEVPKI_EKU_CLIENT,
      .not_before = not_before,
      .not_after = not_after,
      .names = names,
      .num_names = n,
  };
  return fg_devpki_mint(&spec, leaf_key, ca, ca_key);
}

X509 *fg_devpki_mint_ca(EVP_PKEY *ca_key, const char *cn, int64_t not_before, int64_t not_after) {
  fg_devpki_spec spec = {
      .cn = cn,
      .is_ca = 1,
      .path_len = -1,
      .not_before = not_before,
      .not_after = not_after,
  };
  return fg_devpki_mint(&spec, ca_key, NULL, NULL);
}

// write_pem writes through a temporary file so a reader never sees half a
// key, and so the key file is never briefly world-readable.
static int write_pem(const char *path, mode_t mode, X509 *cert, EVP_PKEY *key) {
  char tmp[4096];
  if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
    errno = ENAMETOOLONG;
    return 0;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return 0;
  FILE *f = fdopen(fd, "w");
  if (f == NULL) {
    close(fd);
    unlink(tmp);
    return 0;
  }
  int ok = cert != NULL ? PEM_write_X509(f, cert)
                        : PEM_write_PKCS8PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
  if (fclose(f) != 0) ok = 0;
  if (!ok) {
    if (errno == 0) errno = EIO;
    unlink(tmp);
    return 0;
  }
  if (rename(tmp, path) != 0) {
    int saved = errno;
    unlink(tmp);
    errno = saved;
    return 0;
  }
  return 1;
}

int fg_devpki_write_cert(const char *path, X509 *cert) {
  return write_pem(path, 0644, cert, NULL);
}

int fg_devpki_write_key(const char *path, EVP_PKEY *key) {
  return write_pem(path, 0600, NULL, key);
}

static X509 *read_cert(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return NULL;
  X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  return x;
}

static EVP_PKEY *read_key(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return NULL;
  EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  fclose(f);
  return k;
}

#define DAY (24 * 3600)

int fg_devpki_write_dir(const char *dir, const char *const *domains, size_t num_domains,
                        int xmppaddr, char *err, size_t err_len) {
  char path[4096], path2[4096];
  X509 *ca = NULL;
  EVP_PKEY *ca_key = NULL;
  int ok = 0;
  int64_t now = (int64_t)time(NULL);

  // Validate every domain before touching the disk: a domain becomes a file
  // name, and only LDH host names can never escape |dir|.
  for (size_t i = 0; i < num_domains; i++) {
    fg_identity_ref ref;
    if (!fg_identity_ref_init(&ref, (const uint8_t *)domains[i], strlen(domains[i]), NULL)) {
      snprintf(err, err_len, "invalid domain '%s': %s", domains[i], ref.invalid_reason);
      return 0;
    }
  }
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    snprintf(err, err_len, "%s: cannot create directory: %s", dir, strerror(errno));
    return 0;
  }
  snprintf(path, sizeof(path), "%s/ca.crt", dir);
  snprintf(path2, sizeof(path2), "%s/ca.key", dir);
  if (access(path, F_OK) == 0 && access(path2, F_OK) == 0) {
    ca = read_cert(path);
    ca_key = read_key(path2);
    if (ca == NULL || ca_key == NULL || !X509_check_private_key(ca, ca_key)) {
      snprintf(err, err_len, "%s, %s: existing CA unreadable or key does not match", path, path2);
      goto out;
    }
  } else {
    ca_key = fg_devpki_key_p256();
    ca = ca_key != NULL
             ? fg_devpki_mint_ca(ca_key, "fedgate development CA", now - 3600, now + 3650LL * DAY)
             : NULL;
    if (ca == NULL) {
      snprintf(err, err_len, "cannot mint the CA certificate");
      goto out;
    }
    if (!fg_devpki_write_key(path2, ca_key) || !fg_devpki_write_cert(path, ca)) {
      snprintf(err, err_len, "%s: cannot write: %s", dir, strerror(errno));
      goto out;
    }
  }
  for (size_t i = 0; i < num_domains; i++) {
    fg_identity_ref ref;
    fg_identity_ref_init(&ref, (const uint8_t *)domains[i], strlen(domains[i]), NULL);
    unsigned ids = FG_DEVPKI_ID_DNS | FG_DEVPKI_ID_SRV_SERVER | (xmppaddr ? FG_DEVPKI_ID_XMPP : 0);
    EVP_PKEY *key = fg_devpki_key_p256();
    X509 *leaf = key != NULL ? fg_devpki_mint_leaf(key, ref.name, ids, now - 3600,
                                                   now + 397LL * DAY, ca, ca_key)
                             : NULL;
    snprintf(path, sizeof(path), "%s/%s.crt", dir, ref.name);
    snprintf(path2, sizeof(path2), "%s/%s.key", dir, ref.name);
    int wrote = leaf != NULL && fg_devpki_write_key(path2, key) && fg_devpki_write_cert(path, leaf);
    int saved = errno;
    X509_free(leaf);
    EVP_PKEY_free(key);
    if (!wrote) {
      snprintf(err, err_len, "%s: cannot mint or write: %s", path, strerror(saved));
      goto out;
    }
  }
  ok = 1;
out:
  X509_free(ca);
  EVP_PKEY_free(ca_key);
  return ok;
}
