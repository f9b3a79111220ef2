// san.c: DER walk of an X.509 certificate to its identifiers (RFC 5280
// §4.1, §4.2.1.6; RFC 4985; RFC 6120 §13.7.1.4). Only CBS, so every length
// is checked and nothing is re-encoded or printed on the way.
#include "crypto/san.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bytestring.h>

#define TAG_CTX(n) (CBS_ASN1_CONTEXT_SPECIFIC | (n))
#define TAG_CTX_CONS(n) (CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | (n))

#define FAIL(msg)                                \
  do {                                           \
    if (out_reason != NULL) *out_reason = (msg); \
    return 0;                                    \
  } while (0)

// 2.5.29.17 subjectAltName
static const uint8_t kOidSan[] = {0x55, 0x1d, 0x11};
// 2.5.4.3 commonName
static const uint8_t kOidCn[] = {0x55, 0x04, 0x03};
// 1.3.6.1.5.5.7.8.7 id-on-dnsSRV
static const uint8_t kOidSrv[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x08, 0x07};
// 1.3.6.1.5.5.7.8.5 id-on-xmppAddr
static const uint8_t kOidXmpp[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x08, 0x05};

static int oid_is(const CBS *oid, const uint8_t *want, size_t want_len) {
  return CBS_mem_equal(oid, want, want_len);
}

static int add_id(fg_cert_ids *ids, fg_id_type type, const CBS *value, const char **out_reason) {
  if (ids->num_ids >= FG_CERT_IDS_MAX) FAIL("more than 1024 identifiers");
  if (!fg_cert_ids_add(ids, type, CBS_data(value), CBS_len(value))) FAIL("out of memory");
  return 1;
}

// utf8_put appends code point |cp| to |out|; it returns the bytes written.
static size_t utf8_put(uint8_t *out, uint32_t cp) {
  if (cp < 0x80) {
    out[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (uint8_t)(0xc0 | (cp >> 6));
    out[1] = (uint8_t)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (uint8_t)(0xe0 | (cp >> 12));
    out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (uint8_t)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (uint8_t)(0xf0 | ((cp >> 18) & 0x07));
  out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
  out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
  out[3] = (uint8_t)(0x80 | (cp & 0x3f));
  return 4;
}

// add_cn adds one commonName value. BMPString (UCS-2) and UniversalString
// (UCS-4) are turned into UTF-8 so the name prints sensibly; the DNS-ID rules
// reject anything non-ASCII later anyway.
static int add_cn(fg_cert_ids *ids, unsigned tag, CBS *value, const char **out_reason) {
  if (tag == CBS_ASN1_UTF8STRING || tag == CBS_ASN1_PRINTABLESTRING || tag == CBS_ASN1_IA5STRING ||
      tag == CBS_ASN1_T61STRING) {
    return add_id(ids, FG_ID_CN, value, out_reason);
  }
  size_t width = tag == CBS_ASN1_BMPSTRING ? 2 : tag == CBS_ASN1_UNIVERSALSTRING ? 4 : 0;
  if (width == 0) FAIL("commonName has an unexpected string type");
  if (CBS_len(value) % width != 0) FAIL("commonName has a truncated character");
  size_t n = CBS_len(value) / width;
  uint8_t *buf = malloc(n * 4 + 1);
  if (buf == NULL) FAIL("out of memory");
  size_t len = 0;
  const uint8_t *p = CBS_data(value);
  for (size_t i = 0; i < n; i++, p += width) {
    uint32_t cp = width == 2
                      ? ((uint32_t)p[0] << 8 | p[1])
                      : ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd;
    len += utf8_put(buf + len, cp);
  }
  CBS conv;
  CBS_init(&conv, buf, len);
  int ok = add_id(ids, FG_ID_CN, &conv, out_reason);
  free(buf);
  return ok;
}

// parse_subject collects the commonName attributes of a Name (RFC 5280
// §4.1.2.4): SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }.
static int parse_subject(fg_cert_ids *ids, CBS *name, const char **out_reason) {
  size_t first_cn = ids->num_ids, num_cn = 0;
  while (CBS_len(name) > 0) {
    CBS rdn;
    if (!CBS_get_asn1(name, &rdn, CBS_ASN1_SET) || CBS_len(&rdn) == 0) {
      FAIL("malformed subject RDN");
    }
    while (CBS_len(&rdn) > 0) {
      CBS atv, oid, value;
      unsigned tag;
      if (!CBS_get_asn1(&rdn, &atv, CBS_ASN1_SEQUENCE) ||
          !CBS_get_asn1(&atv, &oid, CBS_ASN1_OBJECT) || !CBS_get_any_asn1(&atv, &value, &tag) ||
          CBS_len(&atv) != 0) {
        FAIL("malformed subject attribute");
      }
      if (!oid_is(&oid, kOidCn, sizeof(kOidCn))) continue;
      if (!add_cn(ids, tag, &value, out_reason)) return 0;
      num_cn++;
    }
  }
  if (num_cn > 1) {
    for (size_t i = first_cn; i < ids->num_ids; i++) {
      if (ids->ids[i].type != FG_ID_CN) continue;
      ids->ids[i].valid = 0;
      ids->ids[i].name_len = 0;
      ids->ids[i].invalid_reason = "more than one commonName in the subject";
    }
  }
  return 1;
}

// parse_other_name handles otherName ::= SEQUENCE { type-id OID,
// value [0] EXPLICIT ANY } (the outer [0] IMPLICIT tag already removed).
static int parse_other_name(fg_cert_ids *ids, CBS *other, const char **out_reason) {
  CBS oid, wrapped, value;
  unsigned tag;
  if (!CBS_get_asn1(other, &oid, CBS_ASN1_OBJECT) ||
      !CBS_get_asn1(other, &wrapped, TAG_CTX_CONS(0)) || CBS_len(other) != 0 ||
      !CBS_get_any_asn1(&wrapped, &value, &tag) || CBS_len(&wrapped) != 0) {
    FAIL("malformed otherName");
  }
  if (oid_is(&oid, kOidSrv, sizeof(kOidSrv))) {
    // RFC 4985 §2: SRVName ::= IA5String (SIZE (1..MAX)).
    if (tag != CBS_ASN1_IA5STRING) FAIL("SRV-ID is not an IA5String");
    if (CBS_len(&value) == 0) FAIL("empty SRV-ID");
    ids->num_san_srv++;
    return add_id(ids, FG_ID_SRV, &value, out_reason);
  }
  if (oid_is(&oid, kOidXmpp, sizeof(kOidXmpp))) {
    // RFC 6120 §13.7.1.4: id-on-xmppAddr is a UTF8String.
    if (tag != CBS_ASN1_UTF8STRING) FAIL("XmppAddr is not a UTF8String");
    ids->num_san_xmpp++;
    return add_id(ids, FG_ID_XMPP, &value, out_reason);
  }
  ids->num_san_other++;
  return 1;
}

// parse_san walks GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName.
static int parse_san(fg_cert_ids *ids, CBS *ext_value, const char **out_reason) {
  CBS names;
  if (!CBS_get_asn1(ext_value, &names, CBS_ASN1_SEQUENCE) || CBS_len(ext_value) != 0) {
    FAIL("subjectAltName is not a SEQUENCE");
  }
  if (CBS_len(&names) == 0) FAIL("empty subjectAltName");
  while (CBS_len(&names) > 0) {
    CBS gn;
    unsigned tag;
    if (!CBS_get_any_asn1(&names, &gn, &tag)) FAIL("malformed GeneralName");
    switch (tag) {
      case TAG_CTX_CONS(0):
        if (!parse_other_name(ids, &gn, out_reason)) return 0;
        break;
      case TAG_CTX(2):
        // dNSName is an IA5String; its bytes are judged by the matcher
        // (a NUL or non-ASCII byte makes the name unusable, not the SAN).
        ids->num_san_dns++;
        if (!add_id(ids, FG_ID_DNS, &gn, out_reason)) return 0;
        break;
      case TAG_CTX(1):       // rfc822Name
      case TAG_CTX_CONS(3):  // x400Address
      case TAG_CTX_CONS(4):  // directoryName
      case TAG_CTX_CONS(5):  // ediPartyName
      case TAG_CTX(6):       // uniformResourceIdentifier
      case TAG_CTX(7):       // iPAddress
      case TAG_CTX(8):       // registeredID
        ids->num_san_other++;
        break;
      default:
        FAIL("unknown GeneralName type");
    }
  }
  return 1;
}

int fg_san_parse_cert(fg_cert_ids *ids, const uint8_t *der, size_t der_len,
                      const char **out_reason) {
  CBS in, cert, tbs, subject, exts;
  int has_version, has_exts;
  CBS_init(&in, der, der_len);
  // RFC 5280 §4.1: Certificate ::= SEQUENCE { tbsCertificate, sigAlg, sig }.
  if (!CBS_get_asn1(&in, &cert, CBS_ASN1_SEQUENCE) || CBS_len(&in) != 0 ||
      !CBS_get_asn1(&cert, &tbs, CBS_ASN1_SEQUENCE)) {
    FAIL("not a DER certificate");
  }
  if (!CBS_get_optional_asn1(&tbs, NULL, &has_version, TAG_CTX_CONS(0)) ||
      !CBS_get_asn1(&tbs, NULL, CBS_ASN1_INTEGER) ||   // serialNumber
      !CBS_get_asn1(&tbs, NULL, CBS_ASN1_SEQUENCE) ||  // signature
      !CBS_get_asn1(&tbs, NULL, CBS_ASN1_SEQUENCE) ||  // issuer
      !CBS_get_asn1(&tbs, NULL, CBS_ASN1_SEQUENCE) ||  // validity
      !CBS_get_asn1(&tbs, &subject, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&tbs, NULL, CBS_ASN1_SEQUENCE) ||          // subjectPublicKeyInfo
      !CBS_get_optional_asn1(&tbs, NULL, NULL, TAG_CTX(1)) ||  // issuerUniqueID
      !CBS_get_optional_asn1(&tbs, NULL, NULL, TAG_CTX(2)) ||  // subjectUniqueID
      !CBS_get_optional_asn1(&tbs, &exts, &has_exts, TAG_CTX_CONS(3)) || CBS_len(&tbs) != 0) {
    FAIL("malformed tbsCertificate");
  }
  if (!parse_subject(ids, &subject, out_reason)) return 0;
  if (!has_exts) return 1;

  CBS list;
  if (!CBS_get_asn1(&exts, &list, CBS_ASN1_SEQUENCE) || CBS_len(&exts) != 0 ||
      CBS_len(&list) == 0) {
    FAIL("malformed extensions");
  }
  int seen_san = 0;
  while (CBS_len(&list) > 0) {
    // Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE,
    // extnValue OCTET STRING }.
    CBS ext, oid, value;
    if (!CBS_get_asn1(&list, &ext, CBS_ASN1_SEQUENCE) ||
        !CBS_get_asn1(&ext, &oid, CBS_ASN1_OBJECT) ||
        !CBS_get_optional_asn1(&ext, NULL, NULL, CBS_ASN1_BOOLEAN) ||
        !CBS_get_asn1(&ext, &value, CBS_ASN1_OCTETSTRING) || CBS_len(&ext) != 0) {
      FAIL("malformed extension");
    }
    if (!oid_is(&oid, kOidSan, sizeof(kOidSan))) continue;
    // RFC 5280 §4.2: an extension appears at most once.
    if (seen_san) FAIL("duplicate subjectAltName extension");
    seen_san = 1;
    if (!parse_san(ids, &value, out_reason)) return 0;
  }
  return 1;
}
