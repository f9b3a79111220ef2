// der.c: certificate fields, times, extension lists and signature checks
// for the revocation modules (RFC 5280 §4.1, §5.1; RFC 4055; RFC 5758).
#include "crypto/der.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/rsa.h>

// 1.2.840.113549.1.1.{10,11,12,13}: RSASSA-PSS, sha{256,384,512}WithRSAEncryption
static const uint8_t kOidRsaPss[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a};
static const uint8_t kOidRsaSha256[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b};
static const uint8_t kOidRsaSha384[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c};
static const uint8_t kOidRsaSha512[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d};
// 1.2.840.113549.1.1.8 id-mgf1
static const uint8_t kOidMgf1[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08};
// 1.2.840.10045.4.3.{2,3}: ecdsa-with-SHA{256,384}
static const uint8_t kOidEcdsaSha256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const uint8_t kOidEcdsaSha384[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
// 2.16.840.1.101.3.4.2.{1,2,3}: id-sha{256,384,512}
static const uint8_t kOidSha256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
static const uint8_t kOidSha384[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
static const uint8_t kOidSha512[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03};

#define ENSURE(cond)       \
  do {                     \
    if (!(cond)) return 0; \
  } while (0)

int fg_der_get_bit_string(CBS *cbs, CBS *out) {
  uint8_t unused;
  ENSURE(CBS_get_asn1(cbs, out, CBS_ASN1_BITSTRING));
  ENSURE(CBS_get_u8(out, &unused) && unused == 0);
  return 1;
}

int fg_der_get_small_enum(CBS *cbs, unsigned tag, int *out) {
  CBS v;
  ENSURE(CBS_get_asn1(cbs, &v, tag) && CBS_len(&v) == 1 && CBS_data(&v)[0] < 0x80);
  *out = CBS_data(&v)[0];
  return 1;
}

int fg_der_get_serial(CBS *cbs, CBS *out) {
  ENSURE(CBS_get_asn1(cbs, out, CBS_ASN1_INTEGER));
  ENSURE(CBS_is_valid_asn1_integer(out, NULL));
  // 20 octets of value plus the 0x00 that keeps a high first bit positive.
  ENSURE(CBS_len(out) <= 21);
  return 1;
}

// --- times ---

static int get_digits(const uint8_t **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    uint8_t c = (*p)[i];
    ENSURE(c >= '0' && c <= '9');
    v = v * 10 + (c - '0');
  }
  *p += n;
  *out = v;
  return 1;
}

static int is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

// leaps_through counts the leap years in 1..y.
static int64_t leaps_through(int64_t y) {
  return y / 4 - y / 100 + y / 400;
}

// civil_to_posix turns a validated UTC date and time into POSIX seconds.
static int64_t civil_to_posix(int y, int mon, int d, int h, int mi, int s) {
  static const int kBefore[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  int64_t days = 365 * ((int64_t)y - 1970) + leaps_through(y - 1) - leaps_through(1969);
  days += kBefore[mon - 1] + (mon > 2 && is_leap(y)) + (d - 1);
  return days * 86400 + h * 3600 + mi * 60 + s;
}

// parse_time reads |digits_year| year digits then MMDDHHMMSS and a final
// 'Z': the only forms RFC 5280 §4.1.2.5 permits.
static int parse_time(const CBS *t, int digits_year, int64_t *out) {
  static const int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const uint8_t *p = CBS_data(t);
  int y, mon, d, h, mi, s;
  ENSURE(CBS_len(t) == (size_t)digits_year + 11 && p[CBS_len(t) - 1] == 'Z');
  ENSURE(get_digits(&p, digits_year, &y) && get_digits(&p, 2, &mon) && get_digits(&p, 2, &d) &&
         get_digits(&p, 2, &h) && get_digits(&p, 2, &mi) && get_digits(&p, 2, &s));
  if (digits_year == 2) y += y < 50 ? 2000 : 1900;
  ENSURE(mon >= 1 && mon <= 12 && d >= 1);
  ENSURE(d <= kDays[mon - 1] + (mon == 2 && is_leap(y)));
  ENSURE(h <= 23 && mi <= 59 && s <= 59);
  *out = civil_to_posix(y, mon, d, h, mi, s);
  return 1;
}

int fg_der_get_generalized_time(CBS *cbs, int64_t *out) {
  CBS t;
  ENSURE(CBS_get_asn1(cbs, &t, CBS_ASN1_GENERALIZEDTIME));
  return parse_time(&t, 4, out);
}

int fg_der_get_time(CBS *cbs, int64_t *out) {
  CBS t;
  if (CBS_peek_asn1_tag(cbs, CBS_ASN1_UTCTIME)) {
    ENSURE(CBS_get_asn1(cbs, &t, CBS_ASN1_UTCTIME));
    return parse_time(&t, 2, out);
  }
  return fg_der_get_generalized_time(cbs, out);
}

// --- extensions ---

int fg_der_ext_next(CBS *list, fg_der_ext *out) {
  CBS ext;
  int critical = 0;
  if (CBS_len(list) == 0 || !CBS_get_asn1(list, &ext, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&ext, &out->oid, CBS_ASN1_OBJECT)) {
    return 0;
  }
  if (CBS_peek_asn1_tag(&ext, CBS_ASN1_BOOLEAN)) {
    CBS b;
    // DER: a BOOLEAN TRUE is 0xff, and FALSE (the DEFAULT) is never encoded.
    ENSURE(CBS_get_asn1(&ext, &b, CBS_ASN1_BOOLEAN) && CBS_len(&b) == 1 && CBS_data(&b)[0] == 0xff);
    critical = 1;
  }
  ENSURE(CBS_get_asn1(&ext, &out->value, CBS_ASN1_OCTETSTRING) && CBS_len(&ext) == 0);
  ENSURE(CBS_len(&out->oid) > 0);
  out->critical = critical;
  return 1;
}

int fg_der_extensions_check(const CBS *list) {
  CBS walk = *list;
  CBS oids[FG_DER_MAX_EXTENSIONS];
  size_t n = 0;
  ENSURE(CBS_len(&walk) > 0);
  while (CBS_len(&walk) > 0) {
    fg_der_ext ext;
    ENSURE(n < FG_DER_MAX_EXTENSIONS && fg_der_ext_next(&walk, &ext));
    for (size_t i = 0; i < n; i++) {
      ENSURE(!CBS_mem_equal(&oids[i], CBS_data(&ext.oid), CBS_len(&ext.oid)));
    }
    oids[n++] = ext.oid;
  }
  return 1;
}

int fg_der_find_ext(const CBS *list, const uint8_t *oid, size_t oid_len, fg_der_ext *out) {
  CBS walk = *list;
  while (fg_der_ext_next(&walk, out)) {
    if (CBS_mem_equal(&out->oid, oid, oid_len)) return 1;
  }
  return 0;
}

// --- certificates ---

int fg_der_cert_parse(fg_der_cert *out, const uint8_t *der, size_t der_len) {
  CBS in, cert, tbs, validity, spki_copy, spki_inner, exts, exts_list;
  int has_exts;
  memset(out, 0, sizeof(*out));
  CBS_init(&in, der, der_len);
  ENSURE(CBS_get_asn1(&in, &cert, CBS_ASN1_SEQUENCE) && CBS_len(&in) == 0);
  ENSURE(CBS_get_asn1_element(&cert, &out->tbs, CBS_ASN1_SEQUENCE));
  ENSURE(CBS_get_asn1_element(&cert, &out->sig_alg, CBS_ASN1_SEQUENCE));
  ENSURE(fg_der_get_bit_string(&cert, &out->signature) && CBS_len(&cert) == 0);
  tbs = out->tbs;
  ENSURE(CBS_get_asn1(&tbs, &tbs, CBS_ASN1_SEQUENCE));
  ENSURE(CBS_get_optional_asn1(&tbs, NULL, NULL, FG_DER_TAG_CTX_CONS(0)));
  ENSURE(fg_der_get_serial(&tbs, &out->serial));
  ENSURE(CBS_get_asn1_element(&tbs, &out->tbs_sig_alg, CBS_ASN1_SEQUENCE));
  ENSURE(CBS_get_asn1_element(&tbs, &out->issuer, CBS_ASN1_SEQUENCE));
  ENSURE(CBS_get_asn1(&tbs, &validity, CBS_ASN1_SEQUENCE));
  ENSURE(fg_der_get_time(&validity, &out->not_before) &&
         fg_der_get_time(&validity, &out->not_after) && CBS_len(&validity) == 0);
  ENSURE(CBS_get_asn1_element(&tbs, &out->subject, CBS_ASN1_SEQUENCE));
  ENSURE(CBS_get_asn1_element(&tbs, &out->spki, CBS_ASN1_SEQUENCE));
  spki_copy = out->spki;
  ENSURE(CBS_get_asn1(&spki_copy, &spki_inner, CBS_ASN1_SEQUENCE) &&
         CBS_get_asn1(&spki_inner, NULL, CBS_ASN1_SEQUENCE) &&
         fg_der_get_bit_string(&spki_inner, &out->key_bits) && CBS_len(&spki_inner) == 0);
  ENSURE(CBS_get_optional_asn1(&tbs, NULL, NULL, FG_DER_TAG_CTX(1)) &&
         CBS_get_optional_asn1(&tbs, NULL, NULL, FG_DER_TAG_CTX(2)) &&
         CBS_get_optional_asn1(&tbs, &exts, &has_exts, FG_DER_TAG_CTX_CONS(3)) &&
         CBS_len(&tbs) == 0);
  // RFC 5280 §4.1.1.2: the two algorithm fields must be the same.
  ENSURE(CBS_len(&out->sig_alg) == CBS_len(&out->tbs_sig_alg) &&
         memcmp(CBS_data(&out->sig_alg), CBS_data(&out->tbs_sig_alg), CBS_len(&out->sig_alg)) == 0);
  CBS_init(&out->extensions, NULL, 0);
  if (!has_exts) return 1;
  ENSURE(CBS_get_asn1(&exts, &exts_list, CBS_ASN1_SEQUENCE) && CBS_len(&exts) == 0);
  ENSURE(fg_der_extensions_check(&exts_list));
  out->extensions = exts_list;
  return 1;
}

uint8_t *fg_der_cert_from_x509(fg_der_cert *out, X509 *x) {
  uint8_t *der = NULL;
  int len = x != NULL ? i2d_X509(x, &der) : -1;
  if (len > 0 && fg_der_cert_parse(out, der, (size_t)len)) return der;
  OPENSSL_free(der);
  return NULL;
}

uint8_t *fg_der_dup(const uint8_t *in, size_t in_len) {
  uint8_t *copy = malloc(in_len > 0 ? in_len : 1);
  if (copy != NULL && in_len > 0) memcpy(copy, in, in_len);
  return copy;
}

// --- signatures ---

typedef struct sigalg {
  const EVP_MD *md;
  int key_type;  // EVP_PKEY_RSA or EVP_PKEY_EC
  int pss;
} sigalg;

// pss_params_ok: RFC 4055 §3.1 parameters with the hash and the MGF1 hash
// both |hash_oid| (with NULL parameters, as OpenSSL and BoringSSL write
// them), saltLength equal to the hash length and the default trailerField.
// They are compared with the one DER encoding those values have.
static int pss_params_ok(const CBS *params, const uint8_t *hash_oid, size_t oid_len,
                         size_t salt_len) {
  CBB cbb, seq, a0, alg, o, a1, mgf, mo, halg, ho, a2;
  uint8_t *want = NULL;
  size_t want_len = 0;
  int ok = CBB_init(&cbb, 64) && CBB_add_asn1(&cbb, &seq, CBS_ASN1_SEQUENCE) &&
           CBB_add_asn1(&seq, &a0, FG_DER_TAG_CTX_CONS(0)) &&
           CBB_add_asn1(&a0, &alg, CBS_ASN1_SEQUENCE) && CBB_add_asn1(&alg, &o, CBS_ASN1_OBJECT) &&
           CBB_add_bytes(&o, hash_oid, oid_len) && CBB_add_asn1(&alg, &o, CBS_ASN1_NULL) &&
           CBB_add_asn1(&seq, &a1, FG_DER_TAG_CTX_CONS(1)) &&
           CBB_add_asn1(&a1, &mgf, CBS_ASN1_SEQUENCE) && CBB_add_asn1(&mgf, &mo, CBS_ASN1_OBJECT) &&
           CBB_add_bytes(&mo, kOidMgf1, sizeof(kOidMgf1)) &&
           CBB_add_asn1(&mgf, &halg, CBS_ASN1_SEQUENCE) &&
           CBB_add_asn1(&halg, &ho, CBS_ASN1_OBJECT) && CBB_add_bytes(&ho, hash_oid, oid_len) &&
           CBB_add_asn1(&halg, &ho, CBS_ASN1_NULL) &&
           CBB_add_asn1(&seq, &a2, FG_DER_TAG_CTX_CONS(2)) && CBB_add_asn1_uint64(&a2, salt_len) &&
           CBB_finish(&cbb, &want, &want_len);
  if (!ok) CBB_cleanup(&cbb);
  ok = ok && CBS_mem_equal(params, want, want_len);
  OPENSSL_free(want);
  return ok;
}

// sigalg_lookup maps an AlgorithmIdentifier TLV to what fedgate accepts.
// RFC 4055 §5 / RFC 8017: PKCS#1 v1.5 parameters are NULL (absent is seen
// too and accepted); RFC 5758 §3.2: ECDSA parameters are absent.
static int sigalg_lookup(const CBS *alg_tlv, sigalg *out) {
  CBS alg = *alg_tlv, seq, oid, params;
  ENSURE(CBS_get_asn1(&alg, &seq, CBS_ASN1_SEQUENCE) && CBS_len(&alg) == 0 &&
         CBS_get_asn1(&seq, &oid, CBS_ASN1_OBJECT));
  params = seq;
  out->pss = 0;
  if (CBS_mem_equal(&oid, kOidEcdsaSha256, sizeof(kOidEcdsaSha256)) ||
      CBS_mem_equal(&oid, kOidEcdsaSha384, sizeof(kOidEcdsaSha384))) {
    ENSURE(CBS_len(&params) == 0);
    out->key_type = EVP_PKEY_EC;
    out->md = CBS_data(&oid)[7] == 0x02 ? EVP_sha256() : EVP_sha384();
    return 1;
  }
  out->key_type = EVP_PKEY_RSA;
  if (CBS_mem_equal(&oid, kOidRsaPss, sizeof(kOidRsaPss))) {
    out->pss = 1;
    static const struct {
      const uint8_t *oid;
      const EVP_MD *(*md)(void);
    } kPss[] = {{kOidSha256, EVP_sha256}, {kOidSha384, EVP_sha384}, {kOidSha512, EVP_sha512}};
    for (size_t i = 0; i < sizeof(kPss) / sizeof(kPss[0]); i++) {
      const EVP_MD *md = kPss[i].md();
      if (pss_params_ok(&params, kPss[i].oid, sizeof(kOidSha256), EVP_MD_size(md))) {
        out->md = md;
        return 1;
      }
    }
    return 0;
  }
  if (CBS_mem_equal(&oid, kOidRsaSha256, sizeof(kOidRsaSha256))) {
    out->md = EVP_sha256();
  } else if (CBS_mem_equal(&oid, kOidRsaSha384, sizeof(kOidRsaSha384))) {
    out->md = EVP_sha384();
  } else if (CBS_mem_equal(&oid, kOidRsaSha512, sizeof(kOidRsaSha512))) {
    out->md = EVP_sha512();
  } else {
    return 0;  // SHA-1, MD5, MD2, DSA, Ed25519 and anything unknown
  }
  static const uint8_t kNull[] = {0x05, 0x00};
  ENSURE(CBS_len(&params) == 0 || CBS_mem_equal(&params, kNull, sizeof(kNull)));
  return 1;
}

// key_ok: the key type fits the algorithm and is strong enough (the same
// floor as crypto/chain: RSA >= 2048; here ECDSA on P-256 or P-384 only).
static int key_ok(EVP_PKEY *key, const sigalg *alg) {
  ENSURE(EVP_PKEY_id(key) == alg->key_type);
  if (alg->key_type == EVP_PKEY_RSA) return EVP_PKEY_bits(key) >= 2048;
  const EC_KEY *ec = EVP_PKEY_get0_EC_KEY(key);
  int curve = ec != NULL ? EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) : NID_undef;
  return curve == NID_X9_62_prime256v1 || curve == NID_secp384r1;
}

fg_der_sig_status fg_der_verify(const CBS *sig_alg, const CBS *signature, const CBS *spki,
                                const uint8_t *msg, size_t msg_len) {
  sigalg alg;
  if (!sigalg_lookup(sig_alg, &alg)) return FG_DER_SIG_UNSUPPORTED;
  CBS key_cbs = *spki;
  EVP_PKEY *key = EVP_parse_public_key(&key_cbs);
  if (key == NULL || CBS_len(&key_cbs) != 0) {
    EVP_PKEY_free(key);
    return FG_DER_SIG_UNSUPPORTED;
  }
  if (!key_ok(key, &alg)) {
    EVP_PKEY_free(key);
    return FG_DER_SIG_UNSUPPORTED;
  }
  EVP_MD_CTX ctx;
  EVP_MD_CTX_init(&ctx);
  EVP_PKEY_CTX *pctx = NULL;
  int ok = EVP_DigestVerifyInit(&ctx, &pctx, alg.md, NULL, key);
  if (ok && alg.pss) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, -1 /* = hash length */) &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, alg.md);
  }
  ok = ok && EVP_DigestVerify(&ctx, CBS_data(signature), CBS_len(signature), msg, msg_len);
  EVP_MD_CTX_cleanup(&ctx);
  EVP_PKEY_free(key);
  ERR_clear_error();
  return ok ? FG_DER_SIG_OK : FG_DER_SIG_BAD;
}
