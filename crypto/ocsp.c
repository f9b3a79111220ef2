// ocsp.c: OCSP CertIDs, requests, response parsing and checking (RFC 6960,
// RFC 5019, RFC 8954). Parsing is CBS over one owned copy of the response;
// the structures point into it, so a response is two allocations.
#include "crypto/ocsp.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/base64.h>
#include <openssl/digest.h>
#include <openssl/mem.h>

#include "crypto/der.h"

#define FAIL(msg)                                \
  do {                                           \
    if (out_reason != NULL) *out_reason = (msg); \
    return 0;                                    \
  } while (0)

// 1.3.6.1.5.5.7.48.1.1 id-pkix-ocsp-basic
static const uint8_t kOidOcspBasic[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01};
// 1.3.6.1.5.5.7.48.1.2 id-pkix-ocsp-nonce
static const uint8_t kOidOcspNonce[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02};
// 1.3.6.1.5.5.7.48.1.5 id-pkix-ocsp-nocheck
static const uint8_t kOidOcspNocheck[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x05};
// 1.3.6.1.5.5.7.3.9 id-kp-OCSPSigning
static const uint8_t kOidOcspSigning[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09};
// 2.5.29.37 extKeyUsage
static const uint8_t kOidEku[] = {0x55, 0x1d, 0x25};

// CertID hash algorithms: 1.3.14.3.2.26 and 2.16.840.1.101.3.4.2.{1,2,3}.
static const struct {
  fg_ocsp_hash hash;
  uint8_t oid[9];
  size_t oid_len;
  const EVP_MD *(*md)(void);
} kHashes[] = {
    {FG_OCSP_HASH_SHA1, {0x2b, 0x0e, 0x03, 0x02, 0x1a}, 5, EVP_sha1},
    {FG_OCSP_HASH_SHA256, {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01}, 9, EVP_sha256},
    {FG_OCSP_HASH_SHA384, {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02}, 9, EVP_sha384},
    {FG_OCSP_HASH_SHA512, {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03}, 9, EVP_sha512},
};
#define NUM_HASHES (sizeof(kHashes) / sizeof(kHashes[0]))

static int hash_index(fg_ocsp_hash hash) {
  for (size_t i = 0; i < NUM_HASHES; i++) {
    if (kHashes[i].hash == hash) return (int)i;
  }
  return -1;
}

// --- CertID ---

static int cert_id_from_fields(fg_ocsp_cert_id *out, fg_ocsp_hash hash, const fg_der_cert *cert,
                               const fg_der_cert *issuer) {
  int i = hash_index(hash);
  if (i < 0 || CBS_len(&cert->serial) > sizeof(out->serial)) return 0;
  const EVP_MD *md = kHashes[i].md();
  unsigned n1, n2;
  memset(out, 0, sizeof(*out));
  if (!EVP_Digest(CBS_data(&issuer->subject), CBS_len(&issuer->subject), out->name_hash, &n1, md,
                  NULL) ||
      !EVP_Digest(CBS_data(&issuer->key_bits), CBS_len(&issuer->key_bits), out->key_hash, &n2, md,
                  NULL)) {
    return 0;
  }
  out->hash = hash;
  out->hash_len = n1;
  out->serial_len = CBS_len(&cert->serial);
  memcpy(out->serial, CBS_data(&cert->serial), out->serial_len);
  return 1;
}

int fg_ocsp_cert_id_init(fg_ocsp_cert_id *out, fg_ocsp_hash hash, X509 *cert, X509 *issuer) {
  fg_der_cert c, i;
  uint8_t *c_der = fg_der_cert_from_x509(&c, cert);
  uint8_t *i_der = fg_der_cert_from_x509(&i, issuer);
  int ok = c_der != NULL && i_der != NULL && cert_id_from_fields(out, hash, &c, &i);
  OPENSSL_free(c_der);
  OPENSSL_free(i_der);
  return ok;
}

// --- requests ---

static int add_cert_id(CBB *parent, const fg_ocsp_cert_id *id) {
  int i = hash_index(id->hash);
  CBB seq, alg, o, s;
  return i >= 0 && CBB_add_asn1(parent, &seq, CBS_ASN1_SEQUENCE) &&
         CBB_add_asn1(&seq, &alg, CBS_ASN1_SEQUENCE) && CBB_add_asn1(&alg, &o, CBS_ASN1_OBJECT) &&
         CBB_add_bytes(&o, kHashes[i].oid, kHashes[i].oid_len) &&
         CBB_add_asn1(&alg, &o, CBS_ASN1_NULL) && CBB_add_asn1(&seq, &s, CBS_ASN1_OCTETSTRING) &&
         CBB_add_bytes(&s, id->name_hash, id->hash_len) &&
         CBB_add_asn1(&seq, &s, CBS_ASN1_OCTETSTRING) &&
         CBB_add_bytes(&s, id->key_hash, id->hash_len) &&
         CBB_add_asn1(&seq, &s, CBS_ASN1_INTEGER) &&
         CBB_add_bytes(&s, id->serial, id->serial_len) && CBB_flush(parent);
}

int fg_ocsp_request_build(uint8_t **out, size_t *out_len, const fg_ocsp_cert_id *id,
                          const uint8_t *nonce, size_t nonce_len) {
  if (nonce != NULL && (nonce_len < 1 || nonce_len > FG_OCSP_MAX_NONCE)) return 0;
  CBB cbb, req, tbs, list, one, exts_tag, exts, ext, o, val, inner;
  // OCSPRequest ::= SEQUENCE { tbsRequest, optionalSignature [0] (absent) }
  // TBSRequest ::= SEQUENCE { version DEFAULT v1 (absent), requestorName
  // (absent), requestList SEQUENCE OF Request, requestExtensions [2] }
  int ok = CBB_init(&cbb, 128) && CBB_add_asn1(&cbb, &req, CBS_ASN1_SEQUENCE) &&
           CBB_add_asn1(&req, &tbs, CBS_ASN1_SEQUENCE) &&
           CBB_add_asn1(&tbs, &list, CBS_ASN1_SEQUENCE) &&
           CBB_add_asn1(&list, &one, CBS_ASN1_SEQUENCE) && add_cert_id(&one, id);
  if (ok && nonce != NULL) {
    // RFC 8954 §2.1: extnValue is the DER of Nonce ::= OCTET STRING.
    ok = CBB_add_asn1(&tbs, &exts_tag, FG_DER_TAG_CTX_CONS(2)) &&
         CBB_add_asn1(&exts_tag, &exts, CBS_ASN1_SEQUENCE) &&
         CBB_add_asn1(&exts, &ext, CBS_ASN1_SEQUENCE) && CBB_add_asn1(&ext, &o, CBS_ASN1_OBJECT) &&
         CBB_add_bytes(&o, kOidOcspNonce, sizeof(kOidOcspNonce)) &&
         CBB_add_asn1(&ext, &val, CBS_ASN1_OCTETSTRING) &&
         CBB_add_asn1(&val, &inner, CBS_ASN1_OCTETSTRING) &&
         CBB_add_bytes(&inner, nonce, nonce_len);
  }
  if (!ok || !CBB_finish(&cbb, out, out_len)) {
    CBB_cleanup(&cbb);
    return 0;
  }
  return 1;
}

fg_ocsp_http_method fg_ocsp_request_url(char *out, size_t out_len, const char *responder_url,
                                        const uint8_t *req, size_t req_len) {
  size_t url_len = responder_url != NULL ? strlen(responder_url) : 0;
  if (url_len == 0 || req == NULL || req_len == 0 || out_len == 0) return FG_OCSP_HTTP_ERROR;
  // Base64 makes four characters of every three bytes; escaping adds two per
  // '+', '/' or '='. A request whose base64 alone is over the limit is never
  // encoded.
  uint8_t b64[FG_OCSP_GET_MAX + 4];
  size_t b64_len = 4 * ((req_len + 2) / 3), enc_len = b64_len;
  if (b64_len <= FG_OCSP_GET_MAX) {
    EVP_EncodeBlock(b64, req, req_len);
    for (size_t i = 0; i < b64_len; i++) {
      if (b64[i] == '+' || b64[i] == '/' || b64[i] == '=') enc_len += 2;
    }
  }
  if (enc_len > FG_OCSP_GET_MAX) {
    if (url_len + 1 > out_len) return FG_OCSP_HTTP_ERROR;
    memcpy(out, responder_url, url_len + 1);
    return FG_OCSP_HTTP_POST;
  }
  size_t slash = responder_url[url_len - 1] != '/';
  if (url_len + slash + enc_len + 1 > out_len) return FG_OCSP_HTTP_ERROR;
  static const char kHex[] = "0123456789ABCDEF";
  char *p = out;
  memcpy(p, responder_url, url_len);
  p += url_len;
  if (slash) *p++ = '/';
  for (size_t i = 0; i < b64_len; i++) {
    uint8_t c = b64[i];
    if (c == '+' || c == '/' || c == '=') {
      *p++ = '%';
      *p++ = kHex[c >> 4];
      *p++ = kHex[c & 15];
    } else {
      *p++ = (char)c;
    }
  }
  *p = 0;
  return FG_OCSP_HTTP_GET;
}

// --- response parsing ---

// parse_cert_id: CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier,
// issuerNameHash OCTET STRING, issuerKeyHash OCTET STRING, serialNumber
// CertificateSerialNumber }. An unknown hash algorithm is kept (the single
// can never match); a known one needs NULL or absent parameters and hashes
// of its length.
static int parse_cert_id(CBS *in, fg_ocsp_single *s, const char **out_reason) {
  CBS id, alg;
  if (!CBS_get_asn1(in, &id, CBS_ASN1_SEQUENCE) || !CBS_get_asn1(&id, &alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&alg, &s->hash_oid, CBS_ASN1_OBJECT) ||
      !CBS_get_asn1(&id, &s->name_hash, CBS_ASN1_OCTETSTRING) ||
      !CBS_get_asn1(&id, &s->key_hash, CBS_ASN1_OCTETSTRING) ||
      !fg_der_get_serial(&id, &s->serial) || CBS_len(&id) != 0) {
    FAIL("malformed CertID");
  }
  s->hash = FG_OCSP_HASH_UNKNOWN;
  for (size_t i = 0; i < NUM_HASHES; i++) {
    if (!CBS_mem_equal(&s->hash_oid, kHashes[i].oid, kHashes[i].oid_len)) continue;
    static const uint8_t kNull[] = {0x05, 0x00};
    if (CBS_len(&alg) != 0 && !CBS_mem_equal(&alg, kNull, sizeof(kNull))) {
      FAIL("CertID hash algorithm has parameters");
    }
    size_t len = EVP_MD_size(kHashes[i].md());
    if (CBS_len(&s->name_hash) != len || CBS_len(&s->key_hash) != len) {
      FAIL("CertID hash of the wrong length");
    }
    s->hash = kHashes[i].hash;
  }
  return 1;
}

// parse_single: SingleResponse ::= SEQUENCE { certID, certStatus,
// thisUpdate GeneralizedTime, nextUpdate [0] EXPLICIT OPTIONAL,
// singleExtensions [1] EXPLICIT OPTIONAL } (RFC 6960 §4.2.1).
static int parse_single(CBS *in, fg_ocsp_single *s, const char **out_reason) {
  CBS single, status, next, exts;
  unsigned tag;
  int has_next, has_exts;
  if (!CBS_get_asn1(in, &single, CBS_ASN1_SEQUENCE)) FAIL("malformed SingleResponse");
  if (!parse_cert_id(&single, s, out_reason)) return 0;
  if (!CBS_get_any_asn1(&single, &status, &tag)) FAIL("malformed certStatus");
  s->reason = FG_OCSP_REASON_NONE;
  s->revocation_time = 0;
  switch (tag) {
    case FG_DER_TAG_CTX(0):  // good [0] IMPLICIT NULL
    case FG_DER_TAG_CTX(2):  // unknown [2] IMPLICIT UnknownInfo (NULL)
      if (CBS_len(&status) != 0) FAIL("malformed certStatus");
      s->status = tag == FG_DER_TAG_CTX(0) ? FG_OCSP_CERT_GOOD : FG_OCSP_CERT_UNKNOWN;
      break;
    case FG_DER_TAG_CTX_CONS(1): {  // revoked [1] IMPLICIT RevokedInfo
      CBS reason;
      int has_reason;
      s->status = FG_OCSP_CERT_REVOKED;
      if (!fg_der_get_generalized_time(&status, &s->revocation_time)) {
        FAIL("malformed revocationTime");
      }
      if (!CBS_get_optional_asn1(&status, &reason, &has_reason, FG_DER_TAG_CTX_CONS(0)) ||
          CBS_len(&status) != 0) {
        FAIL("malformed RevokedInfo");
      }
      // RFC 5280 §5.3.1: CRLReason 0..10, 7 unused.
      if (has_reason && (!fg_der_get_small_enum(&reason, CBS_ASN1_ENUMERATED, &s->reason) ||
                         CBS_len(&reason) != 0 || s->reason > 10 || s->reason == 7)) {
        FAIL("bad revocationReason");
      }
      break;
    }
    default:
      FAIL("unknown certStatus");
  }
  if (!fg_der_get_generalized_time(&single, &s->this_update)) FAIL("malformed thisUpdate");
  if (!CBS_get_optional_asn1(&single, &next, &has_next, FG_DER_TAG_CTX_CONS(0)) ||
      (has_next && (!fg_der_get_generalized_time(&next, &s->next_update) || CBS_len(&next) != 0))) {
    FAIL("malformed nextUpdate");
  }
  s->has_next_update = has_next;
  // singleExtensions (CRL reason, SCT lists, ...) carry nothing the verdict
  // uses; they are checked for shape only.
  if (!CBS_get_optional_asn1(&single, &exts, &has_exts, FG_DER_TAG_CTX_CONS(1)) ||
      CBS_len(&single) != 0) {
    FAIL("malformed SingleResponse");
  }
  CBS list;
  if (has_exts && (!CBS_get_asn1(&exts, &list, CBS_ASN1_SEQUENCE) || CBS_len(&exts) != 0 ||
                   !fg_der_extensions_check(&list))) {
    FAIL("malformed singleExtensions");
  }
  return 1;
}

// parse_response_exts captures the nonce and refuses unknown critical
// extensions (RFC 5280 §4.2, which RFC 6960 §4.4 follows).
static int parse_response_exts(fg_ocsp_response *r, CBS *exts, const char **out_reason) {
  CBS list;
  if (!CBS_get_asn1(exts, &list, CBS_ASN1_SEQUENCE) || CBS_len(exts) != 0 ||
      !fg_der_extensions_check(&list)) {
    FAIL("malformed responseExtensions");
  }
  fg_der_ext ext;
  while (fg_der_ext_next(&list, &ext)) {
    if (CBS_mem_equal(&ext.oid, kOidOcspNonce, sizeof(kOidOcspNonce))) {
      if (!CBS_get_asn1(&ext.value, &r->nonce, CBS_ASN1_OCTETSTRING) || CBS_len(&ext.value) != 0) {
        FAIL("nonce is not an OCTET STRING");
      }
      r->has_nonce = 1;
    } else if (ext.critical) {
      FAIL("unknown critical response extension");
    }
  }
  return 1;
}

// parse_basic: BasicOCSPResponse ::= SEQUENCE { tbsResponseData
// ResponseData, signatureAlgorithm, signature BIT STRING, certs [0]
// EXPLICIT SEQUENCE OF Certificate OPTIONAL }.
static int parse_basic(fg_ocsp_response *r, CBS *in, size_t max_singles, const char **out_reason) {
  CBS basic, tbs, rid, certs_tag, certs, list, exts;
  int has_certs, has_exts;
  unsigned tag;
  if (!CBS_get_asn1(in, &basic, CBS_ASN1_SEQUENCE) || CBS_len(in) != 0 ||
      !CBS_get_asn1_element(&basic, &r->tbs, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_element(&basic, &r->sig_alg, CBS_ASN1_SEQUENCE) ||
      !fg_der_get_bit_string(&basic, &r->signature) ||
      !CBS_get_optional_asn1(&basic, &certs_tag, &has_certs, FG_DER_TAG_CTX_CONS(0)) ||
      CBS_len(&basic) != 0) {
    FAIL("malformed BasicOCSPResponse");
  }
  CBS alg = r->sig_alg, alg_seq;
  if (!CBS_get_asn1(&alg, &alg_seq, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&alg_seq, NULL, CBS_ASN1_OBJECT)) {
    FAIL("malformed signatureAlgorithm");
  }
  if (has_certs) {
    if (!CBS_get_asn1(&certs_tag, &certs, CBS_ASN1_SEQUENCE) || CBS_len(&certs_tag) != 0) {
      FAIL("malformed certs");
    }
    while (CBS_len(&certs) > 0) {
      if (r->num_certs == FG_OCSP_MAX_CERTS) FAIL("too many certificates");
      if (!CBS_get_asn1_element(&certs, &r->certs[r->num_certs++], CBS_ASN1_SEQUENCE)) {
        FAIL("malformed certificate in certs");
      }
    }
  }
  // ResponseData ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1,
  // responderID, producedAt, responses SEQUENCE OF SingleResponse,
  // responseExtensions [1] EXPLICIT OPTIONAL }. v1 is the only version and
  // DER omits a DEFAULT value, so a version field is never valid.
  tbs = r->tbs;
  if (!CBS_get_asn1(&tbs, &tbs, CBS_ASN1_SEQUENCE)) FAIL("malformed ResponseData");
  if (CBS_peek_asn1_tag(&tbs, FG_DER_TAG_CTX_CONS(0))) FAIL("ResponseData version present");
  if (!CBS_get_any_asn1(&tbs, &rid, &tag)) FAIL("malformed ResponderID");
  if (tag == FG_DER_TAG_CTX_CONS(1)) {  // byName [1] Name
    if (!CBS_get_asn1_element(&rid, &r->responder, CBS_ASN1_SEQUENCE) || CBS_len(&rid) != 0) {
      FAIL("malformed ResponderID byName");
    }
  } else if (tag == FG_DER_TAG_CTX_CONS(2)) {  // byKey [2] KeyHash (SHA-1, RFC 6960 §4.2.1)
    if (!CBS_get_asn1(&rid, &r->responder, CBS_ASN1_OCTETSTRING) || CBS_len(&rid) != 0 ||
        CBS_len(&r->responder) != 20) {
      FAIL("malformed ResponderID byKey");
    }
    r->responder_by_key = 1;
  } else {
    FAIL("unknown ResponderID choice");
  }
  if (!fg_der_get_generalized_time(&tbs, &r->produced_at)) FAIL("malformed producedAt");
  if (!CBS_get_asn1(&tbs, &list, CBS_ASN1_SEQUENCE)) FAIL("malformed responses");
  // Count first so the array is allocated once and bounded before use.
  CBS walk = list;
  size_t n = 0;
  while (CBS_len(&walk) > 0) {
    if (n == max_singles) FAIL("too many SingleResponses");
    if (!CBS_get_asn1(&walk, NULL, CBS_ASN1_SEQUENCE)) FAIL("malformed SingleResponse");
    n++;
  }
  if (n == 0) FAIL("no SingleResponse");
  r->singles = calloc(n, sizeof(*r->singles));
  if (r->singles == NULL) FAIL("out of memory");
  for (; r->num_singles < n; r->num_singles++) {
    if (!parse_single(&list, &r->singles[r->num_singles], out_reason)) return 0;
  }
  if (!CBS_get_optional_asn1(&tbs, &exts, &has_exts, FG_DER_TAG_CTX_CONS(1)) ||
      CBS_len(&tbs) != 0) {
    FAIL("malformed ResponseData");
  }
  return !has_exts || parse_response_exts(r, &exts, out_reason);
}

// parse_response: OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED,
// responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }.
static int parse_response(fg_ocsp_response *r, const uint8_t *der, size_t der_len,
                          const fg_ocsp_limits *lim, const char **out_reason) {
  CBS in, resp, bytes_tag, bytes, type, octets;
  int status, has_bytes;
  if (der_len > lim->max_bytes) FAIL("response larger than the limit");
  r->der_ = fg_der_dup(der, der_len);
  if (r->der_ == NULL) FAIL("out of memory");
  r->der_len_ = der_len;
  CBS_init(&in, r->der_, r->der_len_);
  if (!CBS_get_asn1(&in, &resp, CBS_ASN1_SEQUENCE) || CBS_len(&in) != 0) {
    FAIL("not a DER OCSPResponse");
  }
  if (!fg_der_get_small_enum(&resp, CBS_ASN1_ENUMERATED, &status)) FAIL("malformed responseStatus");
  if (status > 6 || status == 4) FAIL("undefined responseStatus");
  r->status = (fg_ocsp_response_status)status;
  if (!CBS_get_optional_asn1(&resp, &bytes_tag, &has_bytes, FG_DER_TAG_CTX_CONS(0)) ||
      CBS_len(&resp) != 0) {
    FAIL("malformed OCSPResponse");
  }
  // RFC 6960 §4.2.1: only a successful response carries responseBytes.
  if (status != FG_OCSP_STATUS_SUCCESSFUL) {
    if (has_bytes) FAIL("responseBytes in an unsuccessful response");
    return 1;
  }
  if (!has_bytes) FAIL("successful response without responseBytes");
  // ResponseBytes ::= SEQUENCE { responseType OID, response OCTET STRING }
  if (!CBS_get_asn1(&bytes_tag, &bytes, CBS_ASN1_SEQUENCE) || CBS_len(&bytes_tag) != 0 ||
      !CBS_get_asn1(&bytes, &type, CBS_ASN1_OBJECT) ||
      !CBS_get_asn1(&bytes, &octets, CBS_ASN1_OCTETSTRING) || CBS_len(&bytes) != 0) {
    FAIL("malformed responseBytes");
  }
  if (!CBS_mem_equal(&type, kOidOcspBasic, sizeof(kOidOcspBasic))) {
    FAIL("responseType is not id-pkix-ocsp-basic");
  }
  return parse_basic(r, &octets, lim->max_singles, out_reason);
}

fg_ocsp_response *fg_ocsp_response_parse(const uint8_t *in, size_t in_len,
                                         const fg_ocsp_limits *limits, const char **out_reason) {
  fg_ocsp_limits lim = {FG_OCSP_DEFAULT_MAX_BYTES, FG_OCSP_DEFAULT_MAX_SINGLES};
  if (limits != NULL && limits->max_bytes != 0) lim.max_bytes = limits->max_bytes;
  if (limits != NULL && limits->max_singles != 0) lim.max_singles = limits->max_singles;
  fg_ocsp_response *r = calloc(1, sizeof(*r));
  if (r != NULL && parse_response(r, in, in_len, &lim, out_reason)) return r;
  if (r == NULL && out_reason != NULL) *out_reason = "out of memory";
  fg_ocsp_response_free(r);
  return NULL;
}

void fg_ocsp_response_free(fg_ocsp_response *resp) {
  if (resp == NULL) return;
  free(resp->singles);
  free(resp->der_);
  free(resp);
}

// --- checking ---

const char *fg_ocsp_verdict_string(fg_ocsp_verdict v) {
  static const char *const kNames[] = {
      [FG_OCSP_GOOD] = "good",
      [FG_OCSP_REVOKED] = "revoked",
      [FG_OCSP_UNKNOWN] = "unknown",
      [FG_OCSP_ERR_MALFORMED] = "malformed",
      [FG_OCSP_ERR_STATUS] = "status-not-successful",
      [FG_OCSP_ERR_NO_MATCH] = "no-matching-response",
      [FG_OCSP_ERR_BAD_SIGNATURE] = "bad-signature",
      [FG_OCSP_ERR_UNAUTHORIZED_SIGNER] = "unauthorized-signer",
      [FG_OCSP_ERR_NOT_YET_VALID] = "not-yet-valid",
      [FG_OCSP_ERR_EXPIRED] = "expired",
      [FG_OCSP_ERR_NONCE] = "nonce-mismatch",
      [FG_OCSP_ERR_UNSUPPORTED_ALG] = "unsupported-algorithm",
  };
  return (size_t)v < sizeof(kNames) / sizeof(kNames[0]) ? kNames[v] : "?";
}

void fg_ocsp_check_params_init(fg_ocsp_check_params *params) {
  memset(params, 0, sizeof(*params));
  params->skew = FG_OCSP_DEFAULT_SKEW;
  params->max_age = FG_OCSP_DEFAULT_MAX_AGE;
}

static fg_ocsp_verdict verdict(fg_ocsp_result *out, fg_ocsp_verdict v, const char *detail) {
  out->verdict = v;
  out->detail = detail;
  return v;
}

// find_single returns the first SingleResponse whose CertID is |cert|'s
// under its own hash algorithm, or NULL.
static const fg_ocsp_single *find_single(const fg_ocsp_response *r, const fg_der_cert *cert,
                                         const fg_der_cert *issuer) {
  fg_ocsp_cert_id ids[NUM_HASHES];
  int have[NUM_HASHES] = {0};
  for (size_t i = 0; i < r->num_singles; i++) {
    const fg_ocsp_single *s = &r->singles[i];
    int h = hash_index(s->hash);
    if (h < 0) continue;
    if (!have[h]) have[h] = cert_id_from_fields(&ids[h], s->hash, cert, issuer) ? 1 : -1;
    if (have[h] != 1) continue;
    if (CBS_mem_equal(&s->name_hash, ids[h].name_hash, ids[h].hash_len) &&
        CBS_mem_equal(&s->key_hash, ids[h].key_hash, ids[h].hash_len) &&
        CBS_mem_equal(&s->serial, ids[h].serial, ids[h].serial_len)) {
      return s;
    }
  }
  return NULL;
}

// responder_is says whether the ResponderID names the certificate |c|.
static int responder_is(const fg_ocsp_response *r, const fg_der_cert *c) {
  if (!r->responder_by_key) {
    return CBS_len(&r->responder) == CBS_len(&c->subject) &&
           memcmp(CBS_data(&r->responder), CBS_data(&c->subject), CBS_len(&c->subject)) == 0;
  }
  uint8_t h[20];
  return EVP_Digest(CBS_data(&c->key_bits), CBS_len(&c->key_bits), h, NULL, EVP_sha1(), NULL) &&
         CBS_mem_equal(&r->responder, h, sizeof(h));
}

static int has_ocsp_signing(const fg_der_cert *c) {
  fg_der_ext ext;
  CBS seq, oid;
  if (!fg_der_find_ext(&c->extensions, kOidEku, sizeof(kOidEku), &ext) ||
      !CBS_get_asn1(&ext.value, &seq, CBS_ASN1_SEQUENCE) || CBS_len(&ext.value) != 0) {
    return 0;
  }
  while (CBS_get_asn1(&seq, &oid, CBS_ASN1_OBJECT)) {
    if (CBS_mem_equal(&oid, kOidOcspSigning, sizeof(kOidOcspSigning))) return 1;
  }
  return 0;
}

// delegate_problem says why |d| cannot sign for |issuer| at |now|, or NULL
// when it can (RFC 6960 §4.2.2.2).
static const char *delegate_problem(const fg_der_cert *d, const fg_der_cert *issuer, int64_t now,
                                    int64_t skew) {
  if (!CBS_mem_equal(&d->issuer, CBS_data(&issuer->subject), CBS_len(&issuer->subject))) {
    return "responder certificate not issued by the certificate's issuer";
  }
  fg_der_sig_status s =
      fg_der_verify(&d->sig_alg, &d->signature, &issuer->spki, CBS_data(&d->tbs), CBS_len(&d->tbs));
  if (s != FG_DER_SIG_OK) return "responder certificate not signed by the issuer";
  if (!has_ocsp_signing(d)) return "responder certificate lacks id-kp-OCSPSigning";
  if (now + skew < d->not_before) return "responder certificate not yet valid";
  if (now - skew > d->not_after) return "responder certificate expired";
  return NULL;
}

// find_signer picks the key that must have signed: the issuer's when the
// ResponderID names it, else a delegated responder's from |r->certs|.
static fg_ocsp_verdict find_signer(fg_ocsp_result *out, const fg_ocsp_response *r,
                                   const fg_der_cert *issuer, int64_t now, int64_t skew,
                                   fg_der_cert *signer) {
  if (responder_is(r, issuer)) {
    *signer = *issuer;
    return FG_OCSP_GOOD;
  }
  const char *why = "responder is neither the issuer nor in the response's certs";
  for (size_t i = 0; i < r->num_certs; i++) {
    fg_der_cert d;
    if (!fg_der_cert_parse(&d, CBS_data(&r->certs[i]), CBS_len(&r->certs[i])) ||
        !responder_is(r, &d)) {
      continue;
    }
    const char *problem = delegate_problem(&d, issuer, now, skew);
    if (problem != NULL) {
      why = problem;
      continue;
    }
    fg_der_ext ext;
    out->delegated = 1;
    out->signer_cert = i;
    out->nocheck = fg_der_find_ext(&d.extensions, kOidOcspNocheck, sizeof(kOidOcspNocheck), &ext);
    *signer = d;
    return FG_OCSP_GOOD;
  }
  return verdict(out, FG_OCSP_ERR_UNAUTHORIZED_SIGNER, why);
}

static fg_ocsp_verdict check_fields(fg_ocsp_result *out, const fg_ocsp_response *r,
                                    const fg_der_cert *cert, const fg_der_cert *issuer, int64_t now,
                                    const fg_ocsp_check_params *p) {
  if (r->status != FG_OCSP_STATUS_SUCCESSFUL) {
    return verdict(out, FG_OCSP_ERR_STATUS, "responseStatus is not successful");
  }
  const fg_ocsp_single *s = find_single(r, cert, issuer);
  if (s == NULL) return verdict(out, FG_OCSP_ERR_NO_MATCH, "no SingleResponse for the certificate");
  out->this_update = s->this_update;
  out->has_next_update = s->has_next_update;
  out->next_update = s->next_update;

  fg_der_cert signer;
  if (find_signer(out, r, issuer, now, p->skew, &signer) != FG_OCSP_GOOD) return out->verdict;
  switch (fg_der_verify(&r->sig_alg, &r->signature, &signer.spki, CBS_data(&r->tbs),
                        CBS_len(&r->tbs))) {
    case FG_DER_SIG_OK:
      break;
    case FG_DER_SIG_UNSUPPORTED:
      return verdict(out, FG_OCSP_ERR_UNSUPPORTED_ALG, "signature algorithm or key refused");
    default:
      return verdict(out, FG_OCSP_ERR_BAD_SIGNATURE, "signature does not verify");
  }
  // RFC 8954 §3: a nonce sent must come back unchanged.
  if (p->nonce != NULL && (!r->has_nonce || !CBS_mem_equal(&r->nonce, p->nonce, p->nonce_len))) {
    return verdict(out, FG_OCSP_ERR_NONCE, r->has_nonce ? "nonce differs" : "nonce missing");
  }
  // RFC 5019 §4, RFC 6960 §4.2.2.1: thisUpdate not in the future,
  // nextUpdate not in the past; without nextUpdate the caller's max age.
  if (s->this_update > now + p->skew) {
    return verdict(out, FG_OCSP_ERR_NOT_YET_VALID, "thisUpdate is in the future");
  }
  if (s->has_next_update && s->next_update + p->skew < now) {
    return verdict(out, FG_OCSP_ERR_EXPIRED, "nextUpdate has passed");
  }
  if (!s->has_next_update && s->this_update + p->max_age + p->skew < now) {
    return verdict(out, FG_OCSP_ERR_EXPIRED, "no nextUpdate and thisUpdate too old");
  }
  switch (s->status) {
    case FG_OCSP_CERT_GOOD:
      return verdict(out, FG_OCSP_GOOD, "good");
    case FG_OCSP_CERT_REVOKED:
      out->revocation_time = s->revocation_time;
      out->reason = s->reason;
      return verdict(out, FG_OCSP_REVOKED, "revoked");
    default:
      return verdict(out, FG_OCSP_UNKNOWN, "responder does not know the certificate");
  }
}

fg_ocsp_verdict fg_ocsp_check(fg_ocsp_result *out, const fg_ocsp_response *resp, X509 *cert,
                              X509 *issuer, int64_t now, const fg_ocsp_check_params *params) {
  fg_ocsp_check_params defaults;
  if (params == NULL) {
    fg_ocsp_check_params_init(&defaults);
    params = &defaults;
  }
  memset(out, 0, sizeof(*out));
  out->reason = FG_OCSP_REASON_NONE;
  if (resp == NULL) return verdict(out, FG_OCSP_ERR_MALFORMED, "no response");
  fg_der_cert c, i;
  uint8_t *c_der = fg_der_cert_from_x509(&c, cert);
  uint8_t *i_der = fg_der_cert_from_x509(&i, issuer);
  fg_ocsp_verdict v =
      c_der != NULL && i_der != NULL
          ? check_fields(out, resp, &c, &i, now, params)
          : verdict(out, FG_OCSP_ERR_MALFORMED, "certificate or issuer does not parse");
  OPENSSL_free(c_der);
  OPENSSL_free(i_der);
  return v;
}

fg_ocsp_verdict fg_ocsp_check_der(fg_ocsp_result *out, const uint8_t *der, size_t der_len,
                                  X509 *cert, X509 *issuer, int64_t now,
                                  const fg_ocsp_check_params *params) {
  const char *why = "malformed";
  fg_ocsp_response *r = fg_ocsp_response_parse(der, der_len, NULL, &why);
  fg_ocsp_verdict v = fg_ocsp_check(out, r, cert, issuer, now, params);
  if (r == NULL) out->detail = why;
  fg_ocsp_response_free(r);
  return v;
}
