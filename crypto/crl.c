// crl.c: CRL parsing, checking and lookup (RFC 5280 §5), and the revocation
// URLs of a certificate (§4.2.1.13, §4.2.2.1). CBS over one owned copy of
// the CRL; entries point into it and are sorted once for binary search.
#include "crypto/crl.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/mem.h>

#include "crypto/der.h"

#define FAIL(msg)                                \
  do {                                           \
    if (out_reason != NULL) *out_reason = (msg); \
    return 0;                                    \
  } while (0)

// CRL extensions (RFC 5280 §5.2) fedgate knows; 2.5.29.x.
static const uint8_t kOidAki[] = {0x55, 0x1d, 0x23};            // authorityKeyIdentifier
static const uint8_t kOidIssuerAltName[] = {0x55, 0x1d, 0x12};  // issuerAltName
static const uint8_t kOidCrlNumber[] = {0x55, 0x1d, 0x14};      // cRLNumber
static const uint8_t kOidDeltaCrl[] = {0x55, 0x1d, 0x1b};       // deltaCRLIndicator
static const uint8_t kOidIdp[] = {0x55, 0x1d, 0x1c};            // issuingDistributionPoint
static const uint8_t kOidFreshest[] = {0x55, 0x1d, 0x2e};       // freshestCRL
// CRL entry extensions (RFC 5280 §5.3).
static const uint8_t kOidReason[] = {0x55, 0x1d, 0x15};      // reasonCode
static const uint8_t kOidInvalidity[] = {0x55, 0x1d, 0x18};  // invalidityDate
static const uint8_t kOidCertIssuer[] = {0x55, 0x1d, 0x1d};  // certificateIssuer
// Certificate extensions read here.
static const uint8_t kOidKeyUsage[] = {0x55, 0x1d, 0x0f};
static const uint8_t kOidCrlDp[] = {0x55, 0x1d, 0x1f};
// 1.3.6.1.5.5.7.1.1 authorityInfoAccess, 1.3.6.1.5.5.7.48.1 id-ad-ocsp
static const uint8_t kOidAia[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01};
static const uint8_t kOidAdOcsp[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01};

static int oid_is(const CBS *oid, const uint8_t *want, size_t want_len) {
  return CBS_mem_equal(oid, want, want_len);
}

// parse_crl_exts: RFC 5280 §5.2. Delta and scoped CRLs would need state and
// scope checks fedgate does not do, so they are refused whatever their
// criticality rather than mistaken for complete CRLs.
static int parse_crl_exts(CBS *exts, const char **out_reason) {
  CBS list;
  if (!CBS_get_asn1(exts, &list, CBS_ASN1_SEQUENCE) || CBS_len(exts) != 0 ||
      !fg_der_extensions_check(&list)) {
    FAIL("malformed crlExtensions");
  }
  fg_der_ext ext;
  while (fg_der_ext_next(&list, &ext)) {
    if (oid_is(&ext.oid, kOidDeltaCrl, sizeof(kOidDeltaCrl))) FAIL("delta CRLs are not supported");
    if (oid_is(&ext.oid, kOidIdp, sizeof(kOidIdp))) {
      FAIL("CRLs with an issuingDistributionPoint are not supported");
    }
    if (!ext.critical || oid_is(&ext.oid, kOidAki, sizeof(kOidAki)) ||
        oid_is(&ext.oid, kOidIssuerAltName, sizeof(kOidIssuerAltName)) ||
        oid_is(&ext.oid, kOidCrlNumber, sizeof(kOidCrlNumber)) ||
        oid_is(&ext.oid, kOidFreshest, sizeof(kOidFreshest))) {
      continue;
    }
    FAIL("unknown critical CRL extension");
  }
  return 1;
}

// parse_entry_exts reads the reasonCode and refuses what would change the
// entry's meaning: certificateIssuer (indirect CRLs) and unknown critical
// extensions (RFC 5280 §5.3).
static int parse_entry_exts(CBS *list, fg_crl_entry *e, const char **out_reason) {
  if (!fg_der_extensions_check(list)) FAIL("malformed crlEntryExtensions");
  fg_der_ext ext;
  while (fg_der_ext_next(list, &ext)) {
    if (oid_is(&ext.oid, kOidReason, sizeof(kOidReason))) {
      // CRLReason 0..10, 7 unused; removeFromCRL (8) only in delta CRLs.
      if (!fg_der_get_small_enum(&ext.value, CBS_ASN1_ENUMERATED, &e->reason) ||
          CBS_len(&ext.value) != 0 || e->reason > 10 || e->reason == 7 || e->reason == 8) {
        FAIL("bad reasonCode");
      }
    } else if (oid_is(&ext.oid, kOidCertIssuer, sizeof(kOidCertIssuer))) {
      FAIL("indirect CRLs (certificateIssuer) are not supported");
    } else if (ext.critical && !oid_is(&ext.oid, kOidInvalidity, sizeof(kOidInvalidity))) {
      FAIL("unknown critical CRL entry extension");
    }
  }
  return 1;
}

static int compare_serial(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) {
  if (a_len != b_len) return a_len < b_len ? -1 : 1;
  return memcmp(a, b, a_len);
}

static int compare_entries(const void *pa, const void *pb) {
  const fg_crl_entry *a = pa, *b = pb;
  return compare_serial(CBS_data(&a->serial), CBS_len(&a->serial), CBS_data(&b->serial),
                        CBS_len(&b->serial));
}

// parse_entries: revokedCertificates SEQUENCE OF SEQUENCE { userCertificate,
// revocationDate Time, crlEntryExtensions Extensions OPTIONAL }. A present
// list is never empty (RFC 5280 §5.1.2.6).
static int parse_entries(fg_crl *crl, CBS *list, int v2, const char **out_reason) {
  CBS walk = *list;
  size_t n = 0;
  while (CBS_len(&walk) > 0) {
    if (!CBS_get_asn1(&walk, NULL, CBS_ASN1_SEQUENCE)) FAIL("malformed revokedCertificates");
    n++;
  }
  if (n == 0) FAIL("empty revokedCertificates");
  crl->entries = calloc(n, sizeof(*crl->entries));
  if (crl->entries == NULL) FAIL("out of memory");
  for (; crl->num_entries < n; crl->num_entries++) {
    fg_crl_entry *e = &crl->entries[crl->num_entries];
    CBS entry;
    e->reason = FG_CRL_REASON_NONE;
    if (!CBS_get_asn1(list, &entry, CBS_ASN1_SEQUENCE) || !fg_der_get_serial(&entry, &e->serial) ||
        !fg_der_get_time(&entry, &e->revocation_date)) {
      FAIL("malformed revoked certificate entry");
    }
    if (CBS_len(&entry) == 0) continue;
    CBS exts;
    if (!v2) FAIL("entry extensions in a v1 CRL");
    if (!CBS_get_asn1(&entry, &exts, CBS_ASN1_SEQUENCE) || CBS_len(&entry) != 0) {
      FAIL("malformed revoked certificate entry");
    }
    if (!parse_entry_exts(&exts, e, out_reason)) return 0;
  }
  qsort(crl->entries, crl->num_entries, sizeof(*crl->entries), compare_entries);
  return 1;
}

// parse_crl: CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm,
// signatureValue BIT STRING }; TBSCertList ::= SEQUENCE { version OPTIONAL
// (v2 = 1), signature, issuer, thisUpdate, nextUpdate OPTIONAL,
// revokedCertificates OPTIONAL, crlExtensions [0] EXPLICIT OPTIONAL }.
static int parse_crl(fg_crl *crl, const uint8_t *der, size_t der_len, size_t max_bytes,
                     const char **out_reason) {
  CBS in, list, tbs, inner_alg, revoked, exts;
  int has_exts, v2 = 0;
  if (der_len > (max_bytes != 0 ? max_bytes : FG_CRL_DEFAULT_MAX_BYTES)) {
    FAIL("CRL larger than the limit");
  }
  crl->der_ = fg_der_dup(der, der_len);
  if (crl->der_ == NULL) FAIL("out of memory");
  crl->der_len_ = der_len;
  CBS_init(&in, crl->der_, crl->der_len_);
  if (!CBS_get_asn1(&in, &list, CBS_ASN1_SEQUENCE) || CBS_len(&in) != 0 ||
      !CBS_get_asn1_element(&list, &crl->tbs, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_element(&list, &crl->sig_alg, CBS_ASN1_SEQUENCE) ||
      !fg_der_get_bit_string(&list, &crl->signature) || CBS_len(&list) != 0) {
    FAIL("not a DER CertificateList");
  }
  tbs = crl->tbs;
  if (!CBS_get_asn1(&tbs, &tbs, CBS_ASN1_SEQUENCE)) FAIL("malformed tbsCertList");
  if (CBS_peek_asn1_tag(&tbs, CBS_ASN1_INTEGER)) {
    uint64_t version;
    if (!CBS_get_asn1_uint64(&tbs, &version) || version != 1) FAIL("CRL version is not v2");
    v2 = 1;
  }
  if (!CBS_get_asn1_element(&tbs, &inner_alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_element(&tbs, &crl->issuer, CBS_ASN1_SEQUENCE)) {
    FAIL("malformed tbsCertList");
  }
  // RFC 5280 §5.1.1.2: the inner and outer algorithms must be the same.
  if (!CBS_mem_equal(&inner_alg, CBS_data(&crl->sig_alg), CBS_len(&crl->sig_alg))) {
    FAIL("signature algorithms differ");
  }
  if (!fg_der_get_time(&tbs, &crl->this_update)) FAIL("malformed thisUpdate");
  if (CBS_peek_asn1_tag(&tbs, CBS_ASN1_UTCTIME) ||
      CBS_peek_asn1_tag(&tbs, CBS_ASN1_GENERALIZEDTIME)) {
    if (!fg_der_get_time(&tbs, &crl->next_update)) FAIL("malformed nextUpdate");
    crl->has_next_update = 1;
  }
  if (CBS_peek_asn1_tag(&tbs, CBS_ASN1_SEQUENCE)) {
    if (!CBS_get_asn1(&tbs, &revoked, CBS_ASN1_SEQUENCE)) FAIL("malformed revokedCertificates");
    if (!parse_entries(crl, &revoked, v2, out_reason)) return 0;
  }
  if (!CBS_get_optional_asn1(&tbs, &exts, &has_exts, FG_DER_TAG_CTX_CONS(0)) ||
      CBS_len(&tbs) != 0) {
    FAIL("malformed tbsCertList");
  }
  if (has_exts && !v2) FAIL("crlExtensions in a v1 CRL");
  return !has_exts || parse_crl_exts(&exts, out_reason);
}

fg_crl *fg_crl_parse(const uint8_t *in, size_t in_len, size_t max_bytes, const char **out_reason) {
  fg_crl *crl = calloc(1, sizeof(*crl));
  if (crl != NULL && parse_crl(crl, in, in_len, max_bytes, out_reason)) return crl;
  if (crl == NULL && out_reason != NULL) *out_reason = "out of memory";
  fg_crl_free(crl);
  return NULL;
}

const char *fg_crl_status_string(fg_crl_status s) {
  switch (s) {
    case FG_CRL_OK:
      return "ok";
    case FG_CRL_ERR_MALFORMED:
      return "malformed";
    case FG_CRL_ERR_WRONG_ISSUER:
      return "wrong-issuer";
    case FG_CRL_ERR_NOT_CRL_SIGNER:
      return "not-crl-signer";
    case FG_CRL_ERR_BAD_SIGNATURE:
      return "bad-signature";
    case FG_CRL_ERR_UNSUPPORTED_ALG:
      return "unsupported-algorithm";
    case FG_CRL_ERR_NOT_YET_VALID:
      return "not-yet-valid";
    case FG_CRL_ERR_EXPIRED:
      return "expired";
  }
  return "?";
}

// may_sign_crls: without keyUsage any use is allowed; with it, cRLSign
// (bit 6) must be set (RFC 5280 §4.2.1.3, §6.3.3 (f)).
static int may_sign_crls(const fg_der_cert *issuer) {
  fg_der_ext ext;
  CBS bits;
  if (!fg_der_find_ext(&issuer->extensions, kOidKeyUsage, sizeof(kOidKeyUsage), &ext)) return 1;
  return CBS_get_asn1(&ext.value, &bits, CBS_ASN1_BITSTRING) && CBS_len(&ext.value) == 0 &&
         CBS_asn1_bitstring_has_bit(&bits, 6);
}

static fg_crl_status check_fields(const fg_crl *crl, const fg_der_cert *issuer, int64_t now,
                                  int64_t skew, int64_t max_age) {
  if (!CBS_mem_equal(&crl->issuer, CBS_data(&issuer->subject), CBS_len(&issuer->subject))) {
    return FG_CRL_ERR_WRONG_ISSUER;
  }
  if (!may_sign_crls(issuer)) return FG_CRL_ERR_NOT_CRL_SIGNER;
  switch (fg_der_verify(&crl->sig_alg, &crl->signature, &issuer->spki, CBS_data(&crl->tbs),
                        CBS_len(&crl->tbs))) {
    case FG_DER_SIG_OK:
      break;
    case FG_DER_SIG_UNSUPPORTED:
      return FG_CRL_ERR_UNSUPPORTED_ALG;
    default:
      return FG_CRL_ERR_BAD_SIGNATURE;
  }
  if (crl->this_update > now + skew) return FG_CRL_ERR_NOT_YET_VALID;
  if (crl->has_next_update && crl->next_update + skew < now) return FG_CRL_ERR_EXPIRED;
  if (!crl->has_next_update && crl->this_update + max_age + skew < now) return FG_CRL_ERR_EXPIRED;
  return FG_CRL_OK;
}

fg_crl_status fg_crl_check(const fg_crl *crl, X509 *issuer, int64_t now, int64_t skew,
                           int64_t max_age) {
  fg_der_cert f;
  uint8_t *der = fg_der_cert_from_x509(&f, issuer);
  fg_crl_status s =
      crl != NULL && der != NULL ? check_fields(crl, &f, now, skew, max_age) : FG_CRL_ERR_MALFORMED;
  OPENSSL_free(der);
  return s;
}

int fg_crl_lookup(const fg_crl *crl, const uint8_t *serial, size_t serial_len, int64_t *out_date,
                  int *out_reason) {
  size_t lo = 0, hi = crl->num_entries;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const fg_crl_entry *e = &crl->entries[mid];
    int c = compare_serial(serial, serial_len, CBS_data(&e->serial), CBS_len(&e->serial));
    if (c == 0) {
      if (out_date != NULL) *out_date = e->revocation_date;
      if (out_reason != NULL) *out_reason = e->reason;
      return 1;
    }
    if (c < 0) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return 0;
}

const char *fg_crl_reason_string(int reason) {
  // RFC 5280 §5.3.1; 7 is unused.
  static const char *const kNames[] = {
      "unspecified",   "keyCompromise",        "cACompromise",    "affiliationChanged",
      "superseded",    "cessationOfOperation", "certificateHold", NULL,
      "removeFromCRL", "privilegeWithdrawn",   "aACompromise",
  };
  if (reason == FG_CRL_REASON_NONE) return "none";
  if (reason < 0 || (size_t)reason >= sizeof(kNames) / sizeof(kNames[0]) ||
      kNames[reason] == NULL) {
    return "?";
  }
  return kNames[reason];
}

int fg_crl_lookup_cert(const fg_crl *crl, X509 *cert, int64_t *out_date, int *out_reason) {
  fg_der_cert f;
  uint8_t *der = fg_der_cert_from_x509(&f, cert);
  int revoked = der != NULL &&
                fg_crl_lookup(crl, CBS_data(&f.serial), CBS_len(&f.serial), out_date, out_reason);
  OPENSSL_free(der);
  return revoked;
}

void fg_crl_free(fg_crl *crl) {
  if (crl == NULL) return;
  free(crl->entries);
  free(crl->der_);
  free(crl);
}

// --- URLs in a certificate ---

// add_http_url copies a uniformResourceIdentifier that is an http URL of
// printable ASCII into |urls| when there is room.
static void add_http_url(char urls[][FG_CRL_MAX_URL_LEN], size_t *num, const CBS *uri) {
  static const char kScheme[] = "http://";
  size_t len = CBS_len(uri);
  const uint8_t *p = CBS_data(uri);
  if (*num == FG_CRL_MAX_URLS || len >= FG_CRL_MAX_URL_LEN || len <= sizeof(kScheme) - 1) return;
  for (size_t i = 0; i < sizeof(kScheme) - 1; i++) {
    uint8_t c = p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i];
    if (c != (uint8_t)kScheme[i]) return;
  }
  for (size_t i = 0; i < len; i++) {
    if (p[i] <= 0x20 || p[i] >= 0x7f) return;
  }
  memcpy(urls[*num], p, len);
  urls[*num][len] = 0;
  (*num)++;
}

// add_general_names adds the http URIs among GeneralNames (the contents).
static int add_general_names(char urls[][FG_CRL_MAX_URL_LEN], size_t *num, CBS *names) {
  while (CBS_len(names) > 0) {
    CBS gn;
    unsigned tag;
    if (!CBS_get_any_asn1(names, &gn, &tag)) return 0;
    if (tag == FG_DER_TAG_CTX(6)) add_http_url(urls, num, &gn);
  }
  return 1;
}

// parse_crl_dp: CRLDistributionPoints ::= SEQUENCE OF DistributionPoint
// { distributionPoint [0] DistributionPointName OPTIONAL, reasons [1]
// OPTIONAL, cRLIssuer [2] OPTIONAL }; DistributionPointName ::= CHOICE {
// fullName [0] GeneralNames, nameRelativeToCRLIssuer [1] }.
static int parse_crl_dp(fg_crl_urls *out, CBS *value) {
  CBS dps;
  if (!CBS_get_asn1(value, &dps, CBS_ASN1_SEQUENCE) || CBS_len(value) != 0) return 0;
  while (CBS_len(&dps) > 0) {
    CBS dp, name, full;
    int has_name, has_reasons, has_issuer, has_full;
    if (!CBS_get_asn1(&dps, &dp, CBS_ASN1_SEQUENCE) ||
        !CBS_get_optional_asn1(&dp, &name, &has_name, FG_DER_TAG_CTX_CONS(0)) ||
        !CBS_get_optional_asn1(&dp, NULL, &has_reasons, FG_DER_TAG_CTX(1)) ||
        !CBS_get_optional_asn1(&dp, NULL, &has_issuer, FG_DER_TAG_CTX_CONS(2)) ||
        CBS_len(&dp) != 0) {
      return 0;
    }
    if (!has_name || has_reasons || has_issuer) continue;
    if (!CBS_get_optional_asn1(&name, &full, &has_full, FG_DER_TAG_CTX_CONS(0))) return 0;
    if (has_full && !add_general_names(out->crl, &out->num_crl, &full)) return 0;
  }
  return 1;
}

// parse_aia: AuthorityInfoAccessSyntax ::= SEQUENCE OF AccessDescription
// { accessMethod OID, accessLocation GeneralName }.
static int parse_aia(fg_crl_urls *out, CBS *value) {
  CBS seq;
  if (!CBS_get_asn1(value, &seq, CBS_ASN1_SEQUENCE) || CBS_len(value) != 0) return 0;
  while (CBS_len(&seq) > 0) {
    CBS ad, method, location;
    unsigned tag;
    if (!CBS_get_asn1(&seq, &ad, CBS_ASN1_SEQUENCE) ||
        !CBS_get_asn1(&ad, &method, CBS_ASN1_OBJECT) || !CBS_get_any_asn1(&ad, &location, &tag) ||
        CBS_len(&ad) != 0) {
      return 0;
    }
    if (tag == FG_DER_TAG_CTX(6) && oid_is(&method, kOidAdOcsp, sizeof(kOidAdOcsp))) {
      add_http_url(out->ocsp, &out->num_ocsp, &location);
    }
  }
  return 1;
}

int fg_crl_urls_from_cert(fg_crl_urls *out, const uint8_t *der, size_t der_len) {
  fg_der_cert cert;
  fg_der_ext ext;
  memset(out, 0, sizeof(*out));
  if (!fg_der_cert_parse(&cert, der, der_len)) return 0;
  if (fg_der_find_ext(&cert.extensions, kOidCrlDp, sizeof(kOidCrlDp), &ext) &&
      !parse_crl_dp(out, &ext.value)) {
    return 0;
  }
  if (fg_der_find_ext(&cert.extensions, kOidAia, sizeof(kOidAia), &ext) &&
      !parse_aia(out, &ext.value)) {
    return 0;
  }
  return 1;
}
