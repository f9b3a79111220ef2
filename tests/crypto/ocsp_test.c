// ocsp_test.c: crypto/ocsp against the shared vectors (../shared/vectors/
// ocsp/), against responses built here with CBB over a test PKI, and
// against responses made by `openssl ocsp`. Tests name the RFC section.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/base64.h>
#include <openssl/digest.h>
#include <openssl/ec_key.h>
#include <openssl/mem.h>
#include <openssl/nid.h>

#include "crypto/der.h"
#include "crypto/ocsp.h"
#include "tests/crypto/revocation_testpki.h"
#include "tests/testutil.h"

// --- the shared vectors ---

static int reason_code(const char *name) {
  static const char *const kNames[] = {
      "unspecified",     "key_compromise",         "ca_compromise",    "affiliation_changed",
      "superseded",      "cessation_of_operation", "certificate_hold", "",
      "remove_from_crl", "privilege_withdrawn",    "aa_compromise"};
  for (int i = 0; i < 11; i++) {
    if (strcmp(name, kNames[i]) == 0) return i;
  }
  return -2;
}

static uint8_t *read_vector(const char *file, size_t *len) {
  char rel[256];
  snprintf(rel, sizeof(rel), "ocsp/%s", file);
  uint8_t *der = fg_test_read_vector(rel, len);
  assert_non_null(der);
  return der;
}

// verify_with_any_key checks |r|'s signature with a fresh RSA key: only an
// algorithm refused before the key is looked at gives FG_DER_SIG_UNSUPPORTED.
static fg_der_sig_status verify_with_any_key(const fg_ocsp_response *r) {
  EVP_PKEY *key = fg_devpki_key_rsa(2048);
  CBB cbb;
  uint8_t *spki;
  size_t spki_len;
  assert_true(CBB_init(&cbb, 512) && EVP_marshal_public_key(&cbb, key) &&
              CBB_finish(&cbb, &spki, &spki_len));
  CBS spki_cbs;
  CBS_init(&spki_cbs, spki, spki_len);
  fg_der_sig_status st =
      fg_der_verify(&r->sig_alg, &r->signature, &spki_cbs, CBS_data(&r->tbs), CBS_len(&r->tbs));
  OPENSSL_free(spki);
  EVP_PKEY_free(key);
  return st;
}

// check_row compares one manifest row with what the parser makes of the file.
static void check_row(char **f) {
  const char *file = f[0], *status = f[1], *cert_status = f[2], *notes = f[12];
  size_t len;
  uint8_t *der = read_vector(file, &len);
  const char *why = NULL;
  fg_ocsp_response *r = fg_ocsp_response_parse(der, len, NULL, &why);
  // "algorithm must be rejected" is the check's job (the structure is
  // fine); any other "must be rejected" is the parser's.
  int alg_rejected = strstr(notes, "algorithm must be rejected") != NULL;
  if (!alg_rejected && strstr(notes, "must be rejected") != NULL) {
    if (r != NULL) fail_msg("%s: parsed, must be rejected", file);
    free(der);
    return;
  }
  if (r == NULL) fail_msg("%s: rejected (%s)", file, why);
  if (strcmp(status, "unauthorized") == 0) {
    assert_int_equal(r->status, FG_OCSP_STATUS_UNAUTHORIZED);
    assert_int_equal(r->num_singles, 0);
  } else {
    assert_string_equal(status, "successful");
    assert_int_equal(r->status, FG_OCSP_STATUS_SUCCESSFUL);
    assert_int_equal(r->num_singles, (size_t)atoi(f[3]));
    assert_int_equal(r->responder_by_key, strcmp(f[5], "key") == 0);
    assert_int_equal(r->num_certs, (size_t)atoi(f[7]));
    // cert_status lists the statuses present ("good,revoked").
    static const char *const kStatus[] = {"good", "revoked", "unknown"};
    int seen[3] = {0}, reason_seen = 0, want_reason = reason_code(f[6]);
    for (size_t i = 0; i < r->num_singles; i++) {
      const fg_ocsp_single *s = &r->singles[i];
      seen[s->status] = 1;
      assert_int_equal(s->has_next_update, strcmp(f[4], "yes") == 0);
      if (s->status == FG_OCSP_CERT_REVOKED && s->reason != FG_OCSP_REASON_NONE) {
        if (s->reason == want_reason) reason_seen = 1;
        assert_int_not_equal(want_reason, -2);  // "-": no reason anywhere
      }
      assert_true(s->this_update > 1400000000 && s->this_update < 1700000000);
    }
    for (int k = 0; k < 3; k++) {
      if (seen[k] != (strstr(cert_status, kStatus[k]) != NULL)) {
        fail_msg("%s: status %s presence differs", file, kStatus[k]);
      }
    }
    if (want_reason != -2) assert_true(reason_seen);
    if (alg_rejected) assert_int_equal(verify_with_any_key(r), FG_DER_SIG_UNSUPPORTED);
    // Each embedded certificate is a certificate.
    for (size_t i = 0; i < r->num_certs; i++) {
      fg_der_cert c;
      assert_true(fg_der_cert_parse(&c, CBS_data(&r->certs[i]), CBS_len(&r->certs[i])));
    }
  }
  fg_ocsp_response_free(r);
  free(der);
}

// RFC 6960 §4.2.1: every vector parses to what manifest.tsv says.
static void test_rfc6960_4_2_1_vectors_manifest(void **state) {
  (void)state;
  size_t len;
  char *text = (char *)read_vector("manifest.tsv", &len);
  int rows = 0, rejected = 0;
  char *save = NULL, *line;
  for (strtok_r(text, "\n", &save); (line = strtok_r(NULL, "\n", &save)) != NULL;) {
    char *f[13];
    int n = 0;
    for (char *p = line; n < 13; n++) {
      f[n] = p;
      char *tab = strchr(p, '\t');
      if (tab == NULL) {
        n++;
        break;
      }
      *tab = 0;
      p = tab + 1;
    }
    assert_int_equal(n, 13);
    check_row(f);
    rows++;
    if (strstr(f[12], "must be rejected") != NULL && strcmp(f[9], "ok") != 0) rejected++;
  }
  assert_int_equal(rows, 16);
  assert_int_equal(rejected, 3);
  free(text);
}

// Strict DER: no prefix of a valid response parses, nor the response with
// a byte appended.
static void test_der_truncations_and_trailing_data(void **state) {
  (void)state;
  const char *files[] = {"resp-sha256.der", "resp-revoked-reason.der",
                         "resp-revoked-no-next-update.der", "resp-unauthorized.der"};
  for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
    size_t len;
    uint8_t *der = read_vector(files[k], &len);
    for (size_t n = 0; n < len; n++) {
      fg_ocsp_response *r = fg_ocsp_response_parse(der, n, NULL, NULL);
      if (r != NULL) fail_msg("%s: prefix of %zu bytes parsed", files[k], n);
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, der, len);
    longer[len] = 0;
    assert_null(fg_ocsp_response_parse(longer, len + 1, NULL, NULL));
    free(longer);
    free(der);
  }
}

// parse_vector parses the vector |file| under |lim| (the response keeps
// its own copy of the bytes); |*why| gets the reason when it is refused.
static fg_ocsp_response *parse_vector(const char *file, const fg_ocsp_limits *lim,
                                      const char **why) {
  size_t len;
  uint8_t *der = read_vector(file, &len);
  fg_ocsp_response *r = fg_ocsp_response_parse(der, len, lim, why);
  free(der);
  return r;
}

// Bounded input: the size limit and the SingleResponse limit.
static void test_limits(void **state) {
  (void)state;
  static const char kArmy[] = "ocsp-army.deps.mil-resp.der";
  const size_t army_len = 3587;
  const char *why = NULL;
  fg_ocsp_limits lim = {0};
  fg_ocsp_response *r = parse_vector(kArmy, &lim, NULL);
  assert_non_null(r);
  assert_int_equal(r->num_singles, 20);
  fg_ocsp_response_free(r);
  lim.max_singles = 19;
  assert_null(parse_vector(kArmy, &lim, &why));
  assert_string_equal(why, "too many SingleResponses");
  lim = (fg_ocsp_limits){.max_bytes = army_len - 1, .max_singles = 20};
  assert_null(parse_vector(kArmy, &lim, &why));
  assert_string_equal(why, "response larger than the limit");
  lim.max_bytes = army_len;
  r = parse_vector(kArmy, &lim, NULL);
  assert_non_null(r);
  fg_ocsp_response_free(r);
}

// RFC 6960 §4.2.1, the vectors' details: reason, times, ResponderID, nonce,
// the unknown CertID hash kept as unknown, the md2 signature algorithm refused.
static void test_rfc6960_4_2_1_vector_details(void **state) {
  (void)state;
  fg_ocsp_response *r = parse_vector("resp-revoked-reason.der", NULL, NULL);
  assert_non_null(r);
  assert_int_equal(r->singles[0].reason, 4);
  // Revocation Time: Jun 27 12:30:01 2018 GMT; This Update: Sep 1 19:48:17 2018
  assert_int_equal(r->singles[0].revocation_time, 1530102601);
  assert_int_equal(r->singles[0].this_update, 1535831297);
  assert_int_equal(r->singles[0].hash, FG_OCSP_HASH_SHA1);
  assert_true(r->has_nonce);
  assert_false(r->responder_by_key);
  fg_ocsp_response_free(r);
  r = parse_vector("resp-unknown-hash-alg.der", NULL, NULL);
  assert_non_null(r);
  assert_int_equal(r->singles[0].hash, FG_OCSP_HASH_UNKNOWN);
  fg_ocsp_response_free(r);
  r = parse_vector("resp-invalid-signature-oid.der", NULL, NULL);
  assert_non_null(r);
  assert_int_equal(verify_with_any_key(r), FG_DER_SIG_UNSUPPORTED);
  fg_ocsp_response_free(r);
}

// --- the test PKI and responses built with CBB ---

typedef struct pki {
  rt_pair ca, other_ca, ca_rsa, ca_p384;
  rt_pair leaf, leaf2, leaf_rsa, leaf_p384;
  rt_pair resp_ok, resp_nocheck, resp_noeku, resp_other, resp_expired;
} pki;

static pki g;

static EVP_PKEY *key_p384(void) {
  EC_KEY *ec = EC_KEY_new_by_curve_name(NID_secp384r1);
  EVP_PKEY *pkey = EVP_PKEY_new();
  assert_true(EC_KEY_generate_key(ec) && EVP_PKEY_assign_EC_KEY(pkey, ec));
  return pkey;
}

static void responder(rt_pair *out, const char *cn, unsigned eku, const fg_devpki_ext *ext,
                      int64_t not_after, const rt_pair *issuer) {
  fg_devpki_spec spec = {.cn = cn, .eku = eku, .exts = ext, .num_exts = ext != NULL};
  if (not_after != 0) {
    spec.not_before = RT_NOW - 30 * RT_DAY;
    spec.not_after = not_after;
  }
  assert_true(rt_pair_leaf(out, fg_devpki_key_p256(), spec, issuer));
}

static int setup_pki(void **state) {
  (void)state;
  static const uint8_t kNull[] = {0x05, 0x00};
  fg_devpki_ext nocheck = {"1.3.6.1.5.5.7.48.1.5", 0, kNull, sizeof(kNull)};
  fg_devpki_spec leaf = {.cn = "leaf.example"};
  assert_true(rt_pair_ca(&g.ca, "Test CA", fg_devpki_key_p256()));
  assert_true(rt_pair_ca(&g.other_ca, "Other CA", fg_devpki_key_p256()));
  assert_true(rt_pair_ca(&g.ca_rsa, "RSA CA", fg_devpki_key_rsa(2048)));
  assert_true(rt_pair_ca(&g.ca_p384, "P-384 CA", key_p384()));
  assert_true(rt_pair_leaf(&g.leaf, fg_devpki_key_p256(), leaf, &g.ca));
  assert_true(rt_pair_leaf(&g.leaf2, fg_devpki_key_p256(), leaf, &g.ca));
  assert_true(rt_pair_leaf(&g.leaf_rsa, fg_devpki_key_p256(), leaf, &g.ca_rsa));
  assert_true(rt_pair_leaf(&g.leaf_p384, fg_devpki_key_p256(), leaf, &g.ca_p384));
  responder(&g.resp_ok, "Responder", FG_DEVPKI_EKU_OCSP_SIGNING, NULL, 0, &g.ca);
  responder(&g.resp_nocheck, "Nocheck Responder", FG_DEVPKI_EKU_OCSP_SIGNING, &nocheck, 0, &g.ca);
  responder(&g.resp_noeku, "Server Responder", FG_DEVPKI_EKU_SERVER, NULL, 0, &g.ca);
  responder(&g.resp_other, "Other Responder", FG_DEVPKI_EKU_OCSP_SIGNING, NULL, 0, &g.other_ca);
  responder(&g.resp_expired, "Expired Responder", FG_DEVPKI_EKU_OCSP_SIGNING, NULL, RT_NOW - RT_DAY,
            &g.ca);
  return 0;
}

static int teardown_pki(void **state) {
  (void)state;
  rt_pair *all[] = {&g.ca,         &g.other_ca,   &g.ca_rsa,      &g.ca_p384, &g.leaf,
                    &g.leaf2,      &g.leaf_rsa,   &g.leaf_p384,   &g.resp_ok, &g.resp_nocheck,
                    &g.resp_noeku, &g.resp_other, &g.resp_expired};
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) rt_pair_free(all[i]);
  return 0;
}

// single_spec describes one SingleResponse; resp_spec a whole response.
typedef struct single_spec {
  X509 *cert, *issuer;
  fg_ocsp_hash hash;     // 0: SHA-1
  const char *hash_oid;  // replaces the algorithm OID (unknown hash)
  fg_ocsp_cert_status status;
  int64_t revocation_time;
  int reason;  // -1: none
  int64_t this_update;
  int no_next_update;
  int64_t next_update;
} single_spec;

typedef struct resp_spec {
  int status;            // responseStatus
  const char *type_oid;  // NULL: id-pkix-ocsp-basic
  X509 *responder;       // named by the ResponderID
  int by_key;
  EVP_PKEY *signer;
  rt_sig sig;
  int corrupt;
  X509 *certs[2];
  size_t num_certs;
  single_spec singles[2];
  size_t num_singles;
  const uint8_t *nonce;
  size_t nonce_len;
  const char *ext_oid;  // an extra response extension
  int ext_critical;
  int with_version;
} resp_spec;

// default_spec: "good" for g.leaf, signed by the CA, named by Name.
static resp_spec default_spec(void) {
  resp_spec s = {.responder = g.ca.cert, .signer = g.ca.key, .num_singles = 1};
  s.singles[0] = (single_spec){.cert = g.leaf.cert,
                               .issuer = g.ca.cert,
                               .status = FG_OCSP_CERT_GOOD,
                               .reason = -1,
                               .this_update = RT_NOW - 3600,
                               .next_update = RT_NOW + RT_DAY};
  return s;
}

// delegated_spec: default_spec signed by |r|, which is named and included.
static resp_spec delegated_spec(const rt_pair *r) {
  resp_spec s = default_spec();
  s.responder = r->cert;
  s.signer = r->key;
  s.certs[0] = r->cert;
  s.num_certs = 1;
  return s;
}

static void add_single(CBB *list, const single_spec *s) {
  fg_ocsp_cert_id id;
  fg_ocsp_hash hash = s->hash != 0 ? s->hash : FG_OCSP_HASH_SHA1;
  assert_true(fg_ocsp_cert_id_init(&id, hash, s->cert, s->issuer));
  static const char *const kOids[] = {"", "1.3.14.3.2.26", "2.16.840.1.101.3.4.2.1",
                                      "2.16.840.1.101.3.4.2.2", "2.16.840.1.101.3.4.2.3"};
  const char *oid = s->hash_oid != NULL ? s->hash_oid : kOids[hash];
  CBB one, cid, alg, o, st, t;
  assert_true(
      CBB_add_asn1(list, &one, CBS_ASN1_SEQUENCE) && CBB_add_asn1(&one, &cid, CBS_ASN1_SEQUENCE) &&
      CBB_add_asn1(&cid, &alg, CBS_ASN1_SEQUENCE) && CBB_add_asn1(&alg, &o, CBS_ASN1_OBJECT) &&
      CBB_add_asn1_oid_from_text(&o, oid, strlen(oid)) && CBB_add_asn1(&alg, &o, CBS_ASN1_NULL) &&
      CBB_add_asn1(&cid, &o, CBS_ASN1_OCTETSTRING) &&
      CBB_add_bytes(&o, id.name_hash, id.hash_len) &&
      CBB_add_asn1(&cid, &o, CBS_ASN1_OCTETSTRING) && CBB_add_bytes(&o, id.key_hash, id.hash_len) &&
      CBB_add_asn1(&cid, &o, CBS_ASN1_INTEGER) && CBB_add_bytes(&o, id.serial, id.serial_len));
  switch (s->status) {
    case FG_OCSP_CERT_GOOD:
      assert_true(CBB_add_asn1(&one, &st, CBS_ASN1_CONTEXT_SPECIFIC | 0));
      break;
    case FG_OCSP_CERT_UNKNOWN:
      assert_true(CBB_add_asn1(&one, &st, CBS_ASN1_CONTEXT_SPECIFIC | 2));
      break;
    default:
      assert_true(CBB_add_asn1(&one, &st, FG_DER_TAG_CTX_CONS(1)) &&
                  rt_add_time(&st, s->revocation_time, 1));
      if (s->reason >= 0) {
        assert_true(CBB_add_asn1(&st, &t, FG_DER_TAG_CTX_CONS(0)) &&
                    CBB_add_asn1(&t, &o, CBS_ASN1_ENUMERATED) && CBB_add_u8(&o, s->reason));
      }
  }
  assert_true(rt_add_time(&one, s->this_update, 1));
  if (!s->no_next_update) {
    assert_true(CBB_add_asn1(&one, &t, FG_DER_TAG_CTX_CONS(0)) &&
                rt_add_time(&t, s->next_update, 1));
  }
  assert_true(CBB_flush(list));
}

static uint8_t *build(size_t *out_len, const resp_spec *s) {
  CBB cbb, tbs, rid, v, list, exts_tag, exts, o;
  assert_true(CBB_init(&cbb, 1024) && CBB_add_asn1(&cbb, &tbs, CBS_ASN1_SEQUENCE));
  if (s->with_version) {
    assert_true(CBB_add_asn1(&tbs, &v, FG_DER_TAG_CTX_CONS(0)) && CBB_add_asn1_uint64(&v, 0));
  }
  if (s->by_key) {
    uint8_t h[20];
    unsigned n;
    assert_true(X509_pubkey_digest(s->responder, EVP_sha1(), h, &n));
    assert_true(CBB_add_asn1(&tbs, &rid, FG_DER_TAG_CTX_CONS(2)) &&
                CBB_add_asn1(&rid, &v, CBS_ASN1_OCTETSTRING) && CBB_add_bytes(&v, h, n));
  } else {
    uint8_t *name = NULL;
    int n = i2d_X509_NAME(X509_get_subject_name(s->responder), &name);
    assert_true(n > 0 && CBB_add_asn1(&tbs, &rid, FG_DER_TAG_CTX_CONS(1)) &&
                CBB_add_bytes(&rid, name, (size_t)n));
    OPENSSL_free(name);
  }
  assert_true(rt_add_time(&tbs, RT_NOW - 3600, 1) && CBB_add_asn1(&tbs, &list, CBS_ASN1_SEQUENCE));
  for (size_t i = 0; i < s->num_singles; i++) add_single(&list, &s->singles[i]);
  if (s->nonce != NULL || s->ext_oid != NULL) {
    assert_true(CBB_add_asn1(&tbs, &exts_tag, FG_DER_TAG_CTX_CONS(1)) &&
                CBB_add_asn1(&exts_tag, &exts, CBS_ASN1_SEQUENCE));
    if (s->nonce != NULL) {
      uint8_t val[64];
      val[0] = 0x04;
      val[1] = (uint8_t)s->nonce_len;
      memcpy(val + 2, s->nonce, s->nonce_len);
      assert_true(rt_add_ext(&exts, "1.3.6.1.5.5.7.48.1.2", 0, val, s->nonce_len + 2));
    }
    if (s->ext_oid != NULL) {
      static const uint8_t kNull[] = {0x05, 0x00};
      assert_true(rt_add_ext(&exts, s->ext_oid, s->ext_critical, kNull, sizeof(kNull)));
    }
  }
  size_t tbs_len, certs_len = 0, basic_len;
  uint8_t *tbs_der = rt_finish(&cbb, &tbs_len);
  uint8_t *certs_der = NULL;
  if (s->num_certs > 0) {
    CBB c, tag, seq;
    assert_true(CBB_init(&c, 2048) && CBB_add_asn1(&c, &tag, FG_DER_TAG_CTX_CONS(0)) &&
                CBB_add_asn1(&tag, &seq, CBS_ASN1_SEQUENCE));
    for (size_t i = 0; i < s->num_certs; i++) {
      uint8_t *der = NULL;
      int n = i2d_X509(s->certs[i], &der);
      assert_true(n > 0 && CBB_add_bytes(&seq, der, (size_t)n));
      OPENSSL_free(der);
    }
    certs_der = rt_finish(&c, &certs_len);
  }
  uint8_t *basic =
      rt_sign(&basic_len, tbs_der, tbs_len, s->signer, s->sig, s->corrupt, certs_der, certs_len);
  assert_non_null(basic);
  CBB rb, bytes_tag, bytes, oct;
  const char *type = s->type_oid != NULL ? s->type_oid : "1.3.6.1.5.5.7.48.1.1";
  assert_true(CBB_init(&cbb, basic_len + 64) && CBB_add_asn1(&cbb, &rb, CBS_ASN1_SEQUENCE) &&
              CBB_add_asn1(&rb, &v, CBS_ASN1_ENUMERATED) && CBB_add_u8(&v, (uint8_t)s->status) &&
              CBB_add_asn1(&rb, &bytes_tag, FG_DER_TAG_CTX_CONS(0)) &&
              CBB_add_asn1(&bytes_tag, &bytes, CBS_ASN1_SEQUENCE) &&
              CBB_add_asn1(&bytes, &o, CBS_ASN1_OBJECT) &&
              CBB_add_asn1_oid_from_text(&o, type, strlen(type)) &&
              CBB_add_asn1(&bytes, &oct, CBS_ASN1_OCTETSTRING) &&
              CBB_add_bytes(&oct, basic, basic_len));
  free(tbs_der);
  free(certs_der);
  free(basic);
  return rt_finish(&cbb, out_len);
}

// verdict_of builds |s| and checks it for (cert, issuer) at |now|.
static fg_ocsp_verdict verdict_of(fg_ocsp_result *res, const resp_spec *s, X509 *cert, X509 *issuer,
                                  int64_t now, const fg_ocsp_check_params *p) {
  size_t len;
  uint8_t *der = build(&len, s);
  fg_ocsp_verdict v = fg_ocsp_check_der(res, der, len, cert, issuer, now, p);
  free(der);
  return v;
}

static fg_ocsp_verdict leaf_verdict(const resp_spec *s) {
  fg_ocsp_result res;
  return verdict_of(&res, s, g.leaf.cert, g.ca.cert, RT_NOW, NULL);
}

// RFC 6960 §4.2.2.2: the issuer itself signs, named by Name or by key hash.
static void test_rfc6960_4_2_2_2_issuer_signs(void **state) {
  (void)state;
  resp_spec s = default_spec();
  fg_ocsp_result res;
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, NULL), FG_OCSP_GOOD);
  assert_false(res.delegated);
  assert_int_equal(res.this_update, RT_NOW - 3600);
  assert_true(res.has_next_update);
  s.by_key = 1;
  assert_int_equal(leaf_verdict(&s), FG_OCSP_GOOD);
}

// RFC 6960 §4.2.1: revoked (time, reason), unknown; RFC 5280 §5.3.1 reasons.
static void test_rfc6960_4_2_1_cert_status(void **state) {
  (void)state;
  resp_spec s = default_spec();
  s.singles[0].status = FG_OCSP_CERT_REVOKED;
  s.singles[0].revocation_time = RT_NOW - 10 * RT_DAY;
  s.singles[0].reason = 1;  // keyCompromise
  fg_ocsp_result res;
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, NULL), FG_OCSP_REVOKED);
  assert_int_equal(res.revocation_time, RT_NOW - 10 * RT_DAY);
  assert_int_equal(res.reason, 1);
  s.singles[0].reason = -1;
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, NULL), FG_OCSP_REVOKED);
  assert_int_equal(res.reason, FG_OCSP_REASON_NONE);
  s.singles[0].reason = 7;  // unused value
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, NULL),
                   FG_OCSP_ERR_MALFORMED);
  s.singles[0].reason = 11;
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, NULL),
                   FG_OCSP_ERR_MALFORMED);
  s = default_spec();
  s.singles[0].status = FG_OCSP_CERT_UNKNOWN;
  assert_int_equal(leaf_verdict(&s), FG_OCSP_UNKNOWN);
}

// RFC 6960 §4.1.1: CertIDs with SHA-256/384/512 match; another serial, an
// unknown hash algorithm, or another issuer does not.
static void test_rfc6960_4_1_1_cert_id_matching(void **state) {
  (void)state;
  resp_spec s = default_spec();
  for (fg_ocsp_hash h = FG_OCSP_HASH_SHA256; h <= FG_OCSP_HASH_SHA512; h++) {
    s.singles[0].hash = h;
    assert_int_equal(leaf_verdict(&s), FG_OCSP_GOOD);
  }
  s = default_spec();
  s.singles[0].cert = g.leaf2.cert;
  assert_int_equal(leaf_verdict(&s), FG_OCSP_ERR_NO_MATCH);
  // Two singles: the matching one is found whatever its place.
  s.num_singles = 2;
  s.singles[1] = s.singles[0];
  s.singles[1].cert = g.leaf.cert;
  s.singles[1].status = FG_OCSP_CERT_REVOKED;
  s.singles[1].revocation_time = RT_NOW - RT_DAY;
  assert_int_equal(leaf_verdict(&s), FG_OCSP_REVOKED);
  s = default_spec();
  s.singles[0].hash_oid = "1.2.3.4";
  assert_int_equal(leaf_verdict(&s), FG_OCSP_ERR_NO_MATCH);
  s = default_spec();
  fg_ocsp_result res;
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.other_ca.cert, RT_NOW, NULL),
                   FG_OCSP_ERR_NO_MATCH);
}

// RFC 6960 §4.2.2.2: a delegated responder needs the issuer's signature,
// id-kp-OCSPSigning and validity now, and must be the one the ResponderID names.
static void test_rfc6960_4_2_2_2_delegated_responder(void **state) {
  (void)state;
  resp_spec s = delegated_spec(&g.resp_ok);
  fg_ocsp_result res;
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, NULL), FG_OCSP_GOOD);
  assert_true(res.delegated);
  assert_false(res.nocheck);
  assert_int_equal(res.signer_cert, 0);
  // Found among other certificates, at its own index.
  s.certs[1] = s.certs[0];
  s.certs[0] = g.leaf.cert;
  s.num_certs = 2;
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, NULL), FG_OCSP_GOOD);
  assert_int_equal(res.signer_cert, 1);
  s = delegated_spec(&g.resp_ok);
  s.by_key = 1;
  assert_int_equal(leaf_verdict(&s), FG_OCSP_GOOD);
  // Not included in certs: nobody to check the signature with.
  s.num_certs = 0;
  assert_int_equal(leaf_verdict(&s), FG_OCSP_ERR_UNAUTHORIZED_SIGNER);
  // Included, but the ResponderID names another certificate.
  s.num_certs = 1;
  s.responder = g.resp_noeku.cert;
  assert_int_equal(leaf_verdict(&s), FG_OCSP_ERR_UNAUTHORIZED_SIGNER);

  const rt_pair *bad[] = {&g.resp_noeku, &g.resp_other, &g.resp_expired};
  const char *why[] = {"responder certificate lacks id-kp-OCSPSigning",
                       "responder certificate not issued by the certificate's issuer",
                       "responder certificate expired"};
  for (size_t i = 0; i < 3; i++) {
    s = delegated_spec(bad[i]);
    assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, NULL),
                     FG_OCSP_ERR_UNAUTHORIZED_SIGNER);
    assert_string_equal(res.detail, why[i]);
  }
}

// RFC 6960 §4.2.2.2.1: id-pkix-ocsp-nocheck is reported.
static void test_rfc6960_4_2_2_2_1_nocheck(void **state) {
  (void)state;
  resp_spec s = delegated_spec(&g.resp_nocheck);
  fg_ocsp_result res;
  s.certs[0] = g.resp_ok.cert;  // a decoy first, then the signer
  s.certs[1] = g.resp_nocheck.cert;
  s.num_certs = 2;
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, NULL), FG_OCSP_GOOD);
  assert_true(res.delegated);
  assert_true(res.nocheck);
}

// RFC 6960 §4.2.2.1: a wrong signature, or a signature by another key under
// the issuer's name.
static void test_rfc6960_4_2_2_1_signature(void **state) {
  (void)state;
  resp_spec s = default_spec();
  s.corrupt = 1;
  assert_int_equal(leaf_verdict(&s), FG_OCSP_ERR_BAD_SIGNATURE);
  s.corrupt = 0;
  s.signer = g.other_ca.key;
  assert_int_equal(leaf_verdict(&s), FG_OCSP_ERR_BAD_SIGNATURE);
}

// Signature algorithms: RSA PKCS#1 v1.5 and PSS, ECDSA P-384/SHA-384 accepted;
// SHA-1 refused.
static void test_signature_algorithms(void **state) {
  (void)state;
  fg_ocsp_result res;
  resp_spec s = default_spec();
  s.sig = RT_SIG_SHA1;
  assert_int_equal(leaf_verdict(&s), FG_OCSP_ERR_UNSUPPORTED_ALG);
  s.sig = RT_SIG_SHA384;
  assert_int_equal(leaf_verdict(&s), FG_OCSP_GOOD);

  s = default_spec();
  s.responder = g.ca_rsa.cert;
  s.signer = g.ca_rsa.key;
  s.singles[0].cert = g.leaf_rsa.cert;
  s.singles[0].issuer = g.ca_rsa.cert;
  const rt_sig ok[] = {RT_SIG_SHA256, RT_SIG_SHA384, RT_SIG_PSS_SHA256};
  for (size_t i = 0; i < 3; i++) {
    s.sig = ok[i];
    assert_int_equal(verdict_of(&res, &s, g.leaf_rsa.cert, g.ca_rsa.cert, RT_NOW, NULL),
                     FG_OCSP_GOOD);
  }
  s.sig = RT_SIG_SHA1;
  assert_int_equal(verdict_of(&res, &s, g.leaf_rsa.cert, g.ca_rsa.cert, RT_NOW, NULL),
                   FG_OCSP_ERR_UNSUPPORTED_ALG);

  s = default_spec();
  s.responder = g.ca_p384.cert;
  s.signer = g.ca_p384.key;
  s.singles[0].cert = g.leaf_p384.cert;
  s.singles[0].issuer = g.ca_p384.cert;
  s.sig = RT_SIG_SHA384;
  assert_int_equal(verdict_of(&res, &s, g.leaf_p384.cert, g.ca_p384.cert, RT_NOW, NULL),
                   FG_OCSP_GOOD);
}

// RFC 5019 §4 / RFC 6960 §4.2.2.1: thisUpdate, nextUpdate, skew, max age.
static void test_rfc5019_4_times(void **state) {
  (void)state;
  fg_ocsp_check_params p;
  fg_ocsp_check_params_init(&p);
  fg_ocsp_result res;
  resp_spec s = default_spec();
  s.singles[0].this_update = RT_NOW + p.skew + 1;
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, &p),
                   FG_OCSP_ERR_NOT_YET_VALID);
  s.singles[0].this_update = RT_NOW + p.skew;
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, &p), FG_OCSP_GOOD);
  s = default_spec();
  s.singles[0].next_update = RT_NOW - p.skew - 1;
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, &p), FG_OCSP_ERR_EXPIRED);
  s.singles[0].next_update = RT_NOW - p.skew;
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, &p), FG_OCSP_GOOD);
  // Without nextUpdate the caller's max age applies.
  s = default_spec();
  s.singles[0].no_next_update = 1;
  p.max_age = 3600;
  p.skew = 0;
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, &p), FG_OCSP_GOOD);
  assert_false(res.has_next_update);
  p.max_age = 3599;
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, &p), FG_OCSP_ERR_EXPIRED);
}

// RFC 8954 §3: the nonce sent must come back; one not asked for is ignored.
static void test_rfc8954_nonce(void **state) {
  (void)state;
  static const uint8_t kNonce[16] = "0123456789abcdef";
  static const uint8_t kOther[16] = "0123456789abcdeX";
  fg_ocsp_check_params p;
  fg_ocsp_check_params_init(&p);
  fg_ocsp_result res;
  resp_spec s = default_spec();
  s.nonce = kNonce;
  s.nonce_len = sizeof(kNonce);
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, &p), FG_OCSP_GOOD);
  p.nonce = kNonce;
  p.nonce_len = sizeof(kNonce);
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, &p), FG_OCSP_GOOD);
  s.nonce = kOther;
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, &p), FG_OCSP_ERR_NONCE);
  assert_string_equal(res.detail, "nonce differs");
  s.nonce = NULL;
  assert_int_equal(verdict_of(&res, &s, g.leaf.cert, g.ca.cert, RT_NOW, &p), FG_OCSP_ERR_NONCE);
  assert_string_equal(res.detail, "nonce missing");
}

// RFC 6960 §4.4 / RFC 5280 §4.2: unknown non-critical extensions are
// ignored, unknown critical ones refused; responseType and version.
static void test_rfc6960_4_2_1_structure(void **state) {
  (void)state;
  resp_spec s = default_spec();
  s.ext_oid = "1.2.3.4.5";
  assert_int_equal(leaf_verdict(&s), FG_OCSP_GOOD);
  s.ext_critical = 1;
  assert_int_equal(leaf_verdict(&s), FG_OCSP_ERR_MALFORMED);
  s = default_spec();
  s.type_oid = "1.3.6.1.5.5.7.48.1.3";
  assert_int_equal(leaf_verdict(&s), FG_OCSP_ERR_MALFORMED);
  s = default_spec();
  s.with_version = 1;
  assert_int_equal(leaf_verdict(&s), FG_OCSP_ERR_MALFORMED);
}

// RFC 6960 §4.2.1: every defined responseStatus parses, and is no answer
// unless successful; 4 and 7 are undefined and refused.
static void test_rfc6960_4_2_1_response_status(void **state) {
  (void)state;
  for (uint8_t st = 0; st <= 8; st++) {
    uint8_t der[] = {0x30, 0x03, 0x0a, 0x01, st};
    fg_ocsp_response *r = fg_ocsp_response_parse(der, sizeof(der), NULL, NULL);
    if (st == 0 || st == 4 || st > 6) {
      assert_null(r);  // successful needs responseBytes
      continue;
    }
    assert_non_null(r);
    assert_int_equal(r->status, st);
    fg_ocsp_result res;
    assert_int_equal(fg_ocsp_check(&res, r, g.leaf.cert, g.ca.cert, RT_NOW, NULL),
                     FG_OCSP_ERR_STATUS);
    fg_ocsp_response_free(r);
  }
  // responseBytes with tryLater is refused.
  resp_spec s = default_spec();
  s.status = FG_OCSP_STATUS_TRY_LATER;
  assert_int_equal(leaf_verdict(&s), FG_OCSP_ERR_MALFORMED);
}

// --- requests and the GET form ---

// RFC 6960 §4.1.1 and RFC 8954 §2.1: the request's CertID and nonce.
static void test_rfc6960_4_1_1_request(void **state) {
  (void)state;
  fg_ocsp_cert_id id;
  assert_true(fg_ocsp_cert_id_init(&id, FG_OCSP_HASH_SHA1, g.leaf.cert, g.ca.cert));
  assert_int_equal(id.hash_len, 20);
  // issuerKeyHash is the SHA-1 of the issuer's subjectPublicKey bits.
  uint8_t h[20];
  unsigned n;
  assert_true(X509_pubkey_digest(g.ca.cert, EVP_sha1(), h, &n));
  assert_memory_equal(id.key_hash, h, 20);
  uint8_t *req;
  size_t len;
  static const uint8_t kNonce[32] = {1, 2, 3};
  assert_false(fg_ocsp_request_build(&req, &len, &id, kNonce, 0));
  assert_false(fg_ocsp_request_build(&req, &len, &id, kNonce, 33));
  assert_true(fg_ocsp_request_build(&req, &len, &id, kNonce, 32));
  // OCSPRequest { TBSRequest { requestList { Request { CertID } }, [2] exts } }
  CBS in, ocsp_req, tbs, list, one, cid, exts;
  CBS_init(&in, req, len);
  assert_true(CBS_get_asn1(&in, &ocsp_req, CBS_ASN1_SEQUENCE) && CBS_len(&in) == 0 &&
              CBS_get_asn1(&ocsp_req, &tbs, CBS_ASN1_SEQUENCE) && CBS_len(&ocsp_req) == 0 &&
              CBS_get_asn1(&tbs, &list, CBS_ASN1_SEQUENCE) &&
              CBS_get_asn1(&list, &one, CBS_ASN1_SEQUENCE) && CBS_len(&list) == 0 &&
              CBS_get_asn1(&one, &cid, CBS_ASN1_SEQUENCE) && CBS_len(&one) == 0 &&
              CBS_get_asn1(&tbs, &exts, FG_DER_TAG_CTX_CONS(2)) && CBS_len(&tbs) == 0);
  OPENSSL_free(req);
  assert_true(fg_ocsp_request_build(&req, &len, &id, NULL, 0));
  assert_true(len < 100);
  OPENSSL_free(req);
}

// RFC 5019 §5 / RFC 6960 Appendix A.1: GET with base64 + percent-encoding
// up to 255 bytes, POST beyond.
static void test_rfc5019_5_get_url(void **state) {
  (void)state;
  char url[1024];
  uint8_t buf[300];
  // 189 zero bytes: 252 'A's, no escapes: GET.
  memset(buf, 0, sizeof(buf));
  assert_int_equal(fg_ocsp_request_url(url, sizeof(url), "http://ocsp.example", buf, 189),
                   FG_OCSP_HTTP_GET);
  assert_int_equal(strlen(url), strlen("http://ocsp.example/") + 252);
  // 190 bytes: 256 characters ending "==" (escaped: 260): POST.
  assert_int_equal(fg_ocsp_request_url(url, sizeof(url), "http://ocsp.example", buf, 190),
                   FG_OCSP_HTTP_POST);
  assert_string_equal(url, "http://ocsp.example");
  // 0xfb 0xff 0xbf encodes as "+/+/": every character escaped.
  for (int i = 0; i < 6; i += 3) {
    buf[i] = 0xfb;
    buf[i + 1] = 0xff;
    buf[i + 2] = 0xbf;
  }
  assert_int_equal(fg_ocsp_request_url(url, sizeof(url), "http://ocsp.example/x/", buf, 7),
                   FG_OCSP_HTTP_GET);
  assert_string_equal(url, "http://ocsp.example/x/%2B%2F%2B%2F%2B%2F%2B%2FAA%3D%3D");
  assert_int_equal(fg_ocsp_request_url(url, 10, "http://ocsp.example", buf, 7), FG_OCSP_HTTP_ERROR);
  // A real request round-trips through the URL.
  fg_ocsp_cert_id id;
  uint8_t *req, dec[300];
  size_t len, dec_len;
  assert_true(fg_ocsp_cert_id_init(&id, FG_OCSP_HASH_SHA1, g.leaf.cert, g.ca.cert));
  assert_true(fg_ocsp_request_build(&req, &len, &id, NULL, 0));
  assert_int_equal(fg_ocsp_request_url(url, sizeof(url), "http://o.example", req, len),
                   FG_OCSP_HTTP_GET);
  char b64[400];
  size_t o = 0;
  for (const char *p = url + strlen("http://o.example/"); *p != 0; p++) {
    if (*p == '%') {
      b64[o++] = (char)strtol((char[]){p[1], p[2], 0}, NULL, 16);
      p += 2;
    } else {
      b64[o++] = *p;
    }
  }
  assert_true(EVP_DecodeBase64(dec, &dec_len, sizeof(dec), (const uint8_t *)b64, o));
  assert_int_equal(dec_len, len);
  assert_memory_equal(dec, req, len);
  OPENSSL_free(req);
}

// --- interoperability with `openssl ocsp` ---

// run_openssl_ocsp writes the PKI, asks `openssl ocsp` (acting as the
// responder over an index file, signing with |rsigner|) about |cert| with
// the request |req|, and returns the response's verdict.
static fg_ocsp_verdict openssl_verdict(const char *dir, const char *rsigner, const uint8_t *req,
                                       size_t req_len, X509 *cert, const fg_ocsp_check_params *p,
                                       fg_ocsp_result *res) {
  char path[512];
  snprintf(path, sizeof(path), "%s/req.der", dir);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(req, 1, req_len, f), req_len);
  fclose(f);
  int rc = rt_sh(
      "cd %s && openssl ocsp -index index.txt -CA ca.crt -rsigner %s.crt -rkey %s.key "
      "-reqin req.der -respout resp.der -ndays 1 >out.txt 2>&1",
      dir, rsigner, rsigner);
  if (rc != 0) {
    rt_sh("cat %s/out.txt", dir);
    fail_msg("openssl ocsp failed (%d)", rc);
  }
  snprintf(path, sizeof(path), "%s/resp.der", dir);
  size_t len;
  uint8_t *der = fg_test_read_file(path, &len);
  assert_non_null(der);
  fg_ocsp_verdict v = fg_ocsp_check_der(res, der, len, cert, g.ca.cert, time(NULL), p);
  free(der);
  return v;
}

// RFC 6960 end to end: responses made by OpenSSL for a good and a revoked
// certificate, to requests made by fedgate (with a nonce) and by OpenSSL,
// signed by the CA and by a delegated responder.
static void test_rfc6960_openssl_responses(void **state) {
  (void)state;
  if (!rt_have_openssl()) skip();
  const char *dir = rt_tmpdir();
  assert_non_null(dir);
  // Certificates valid around the real clock, since openssl uses it.
  int64_t now = time(NULL);
  rt_pair ca, good, revoked, resp;
  fg_devpki_spec leaf = {.cn = "leaf.example",
                         .path_len = -1,
                         .not_before = now - RT_DAY,
                         .not_after = now + 30 * RT_DAY};
  fg_devpki_spec rspec = leaf;
  rspec.cn = "OpenSSL Responder";
  rspec.eku = FG_DEVPKI_EKU_OCSP_SIGNING;
  ca.key = fg_devpki_key_p256();
  ca.cert = fg_devpki_mint_ca(ca.key, "Interop CA", now - RT_DAY, now + 365 * RT_DAY);
  assert_non_null(ca.cert);
  assert_true(rt_pair_leaf(&good, fg_devpki_key_p256(), leaf, &ca));
  assert_true(rt_pair_leaf(&revoked, fg_devpki_key_p256(), leaf, &ca));
  assert_true(rt_pair_leaf(&resp, fg_devpki_key_p256(), rspec, &ca));
  assert_true(rt_write_pem(dir, "ca", &ca) && rt_write_pem(dir, "good", &good) &&
              rt_write_pem(dir, "resp", &resp));
  // index.txt: status, expiry, revocation time[,reason], serial, file, subject.
  char good_hex[64], revoked_hex[64], path[512];
  rt_serial_hex(good_hex, sizeof(good_hex), good.cert);
  rt_serial_hex(revoked_hex, sizeof(revoked_hex), revoked.cert);
  snprintf(path, sizeof(path), "%s/index.txt", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "V\t991231235959Z\t\t%s\tunknown\t/CN=leaf.example\n", good_hex);
  fprintf(f, "R\t991231235959Z\t230101000000Z,keyCompromise\t%s\tunknown\t/CN=leaf.example\n",
          revoked_hex);
  fclose(f);

  // A request made by fedgate, with a nonce: OpenSSL echoes it.
  X509 *saved_ca = g.ca.cert;
  g.ca.cert = ca.cert;
  fg_ocsp_cert_id id;
  uint8_t *req;
  size_t req_len;
  static const uint8_t kNonce[20] = "fedgate-nonce-123456";
  fg_ocsp_check_params p;
  fg_ocsp_check_params_init(&p);
  p.nonce = kNonce;
  p.nonce_len = sizeof(kNonce);
  fg_ocsp_result res;
  assert_true(fg_ocsp_cert_id_init(&id, FG_OCSP_HASH_SHA1, revoked.cert, ca.cert));
  assert_true(fg_ocsp_request_build(&req, &req_len, &id, kNonce, sizeof(kNonce)));
  assert_int_equal(openssl_verdict(dir, "ca", req, req_len, revoked.cert, &p, &res),
                   FG_OCSP_REVOKED);
  assert_int_equal(res.reason, 1);
  assert_int_equal(res.revocation_time, 1672531200);  // 2023-01-01T00:00:00Z
  assert_false(res.delegated);
  OPENSSL_free(req);
  // SHA-256 CertID, delegated responder.
  assert_true(fg_ocsp_cert_id_init(&id, FG_OCSP_HASH_SHA256, good.cert, ca.cert));
  assert_true(fg_ocsp_request_build(&req, &req_len, &id, kNonce, sizeof(kNonce)));
  assert_int_equal(openssl_verdict(dir, "resp", req, req_len, good.cert, &p, &res), FG_OCSP_GOOD);
  assert_true(res.delegated);
  OPENSSL_free(req);

  // A request made by OpenSSL (no nonce) for the good certificate.
  assert_int_equal(rt_sh("cd %s && openssl ocsp -issuer ca.crt -cert good.crt -no_nonce "
                         "-reqout req2.der >/dev/null 2>&1",
                         dir),
                   0);
  snprintf(path, sizeof(path), "%s/req2.der", dir);
  req = fg_test_read_file(path, &req_len);
  assert_non_null(req);
  fg_ocsp_check_params_init(&p);
  assert_int_equal(openssl_verdict(dir, "ca", req, req_len, good.cert, &p, &res), FG_OCSP_GOOD);
  assert_int_equal(openssl_verdict(dir, "ca", req, req_len, revoked.cert, &p, &res),
                   FG_OCSP_ERR_NO_MATCH);
  free(req);
  g.ca.cert = saved_ca;
  rt_pair_free(&ca);
  rt_pair_free(&good);
  rt_pair_free(&revoked);
  rt_pair_free(&resp);
  rt_sh("rm -rf %s", dir);
}

int main(void) {
  const struct CMUnitTest vectors[] = {
      cmocka_unit_test(test_rfc6960_4_2_1_vectors_manifest),
      cmocka_unit_test(test_der_truncations_and_trailing_data),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_rfc6960_4_2_1_vector_details),
  };
  const struct CMUnitTest pki_tests[] = {
      cmocka_unit_test(test_rfc6960_4_2_2_2_issuer_signs),
      cmocka_unit_test(test_rfc6960_4_2_1_cert_status),
      cmocka_unit_test(test_rfc6960_4_1_1_cert_id_matching),
      cmocka_unit_test(test_rfc6960_4_2_2_2_delegated_responder),
      cmocka_unit_test(test_rfc6960_4_2_2_2_1_nocheck),
      cmocka_unit_test(test_rfc6960_4_2_2_1_signature),
      cmocka_unit_test(test_signature_algorithms),
      cmocka_unit_test(test_rfc5019_4_times),
      cmocka_unit_test(test_rfc8954_nonce),
      cmocka_unit_test(test_rfc6960_4_2_1_structure),
      cmocka_unit_test(test_rfc6960_4_2_1_response_status),
      cmocka_unit_test(test_rfc6960_4_1_1_request),
      cmocka_unit_test(test_rfc5019_5_get_url),
      cmocka_unit_test(test_rfc6960_openssl_responses),
  };
  int failed = cmocka_run_group_tests_name("ocsp vectors", vectors, NULL, NULL);
  failed += cmocka_run_group_tests_name("ocsp test pki", pki_tests, setup_pki, teardown_pki);
  return failed;
}
