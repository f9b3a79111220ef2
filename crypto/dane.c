// dane.c: TLSA records against a certificate chain (RFC 6698 §2.1, RFC 7671
// §5, RFC 7672 §3.1, RFC 7673 §4.2). See dane.h.
#include "crypto/dane.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bytestring.h>
#include <openssl/mem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "crypto/identity.h"
#include "crypto/san.h"

const char *fg_dane_status_name(fg_dane_status s) {
  switch (s) {
    case FG_DANE_NO_USABLE:
      return "no-usable-tlsa";
    case FG_DANE_OK_EE:
      return "dane-ee";
    case FG_DANE_OK_TA:
      return "dane-ta";
    case FG_DANE_OK_PKIX_EE:
      return "pkix-ee";
    case FG_DANE_OK_PKIX_TA:
      return "pkix-ta";
    case FG_DANE_MISMATCH:
      return "mismatch";
  }
  return "unknown";
}

// cert_spki finds the DER SubjectPublicKeyInfo inside the certificate |der|
// (RFC 5280 §4.1: the seventh field of the TBSCertificate, after an
// optional version).
static int cert_spki(CBS *spki, const uint8_t *der, size_t der_len) {
  CBS in, cert, tbs;
  CBS_init(&in, der, der_len);
  if (!CBS_get_asn1(&in, &cert, CBS_ASN1_SEQUENCE) || CBS_len(&in) != 0 ||
      !CBS_get_asn1(&cert, &tbs, CBS_ASN1_SEQUENCE) ||
      !CBS_get_optional_asn1(&tbs, NULL, NULL,
                             CBS_ASN1_CONSTRUCTED | CBS_ASN1_CONTEXT_SPECIFIC | 0) ||
      !CBS_get_asn1(&tbs, NULL, CBS_ASN1_INTEGER) ||   // serialNumber
      !CBS_get_asn1(&tbs, NULL, CBS_ASN1_SEQUENCE) ||  // signature
      !CBS_get_asn1(&tbs, NULL, CBS_ASN1_SEQUENCE) ||  // issuer
      !CBS_get_asn1(&tbs, NULL, CBS_ASN1_SEQUENCE) ||  // validity
      !CBS_get_asn1(&tbs, NULL, CBS_ASN1_SEQUENCE) ||  // subject
      !CBS_get_asn1_element(&tbs, spki, CBS_ASN1_SEQUENCE)) {
    return 0;
  }
  return 1;
}

int fg_dane_association(uint8_t *out, size_t *out_len, size_t max_out, const uint8_t *der,
                        size_t der_len, uint8_t selector, uint8_t mtype) {
  CBS sel;
  if (selector == FG_DANE_SELECTOR_CERT) {
    CBS_init(&sel, der, der_len);
  } else if (selector != FG_DANE_SELECTOR_SPKI || !cert_spki(&sel, der, der_len)) {
    return 0;
  }
  switch (mtype) {
    case FG_DANE_MATCH_FULL:
      if (CBS_len(&sel) > max_out) return 0;
      memcpy(out, CBS_data(&sel), CBS_len(&sel));
      *out_len = CBS_len(&sel);
      return 1;
    case FG_DANE_MATCH_SHA256:
      if (max_out < SHA256_DIGEST_LENGTH) return 0;
      SHA256(CBS_data(&sel), CBS_len(&sel), out);
      *out_len = SHA256_DIGEST_LENGTH;
      return 1;
    case FG_DANE_MATCH_SHA512:
      if (max_out < SHA512_DIGEST_LENGTH) return 0;
      SHA512(CBS_data(&sel), CBS_len(&sel), out);
      *out_len = SHA512_DIGEST_LENGTH;
      return 1;
  }
  return 0;
}

// matches says whether the certificate |cb| has |r|'s association data.
static int matches(const fg_dane_tlsa *r, const CRYPTO_BUFFER *cb) {
  size_t cap = r->mtype == FG_DANE_MATCH_FULL ? CRYPTO_BUFFER_len(cb) : SHA512_DIGEST_LENGTH;
  uint8_t *buf = malloc(cap ? cap : 1);
  size_t len = 0;
  int ok = buf != NULL && fg_dane_association(buf, &len, cap, CRYPTO_BUFFER_data(cb),
                                              CRYPTO_BUFFER_len(cb), r->selector, r->mtype);
  ok = ok && len == r->len && CRYPTO_memcmp(buf, r->data, len) == 0;
  free(buf);
  return ok;
}

// names_match says whether the leaf |der| carries one of |p|'s reference
// identifiers (RFC 7673 §4.2), with the project's identity rules.
static int names_match(const uint8_t *der, size_t der_len, const fg_dane_params *p) {
  fg_cert_ids ids;
  fg_cert_ids_init(&ids);
  int ok = 0;
  if (fg_san_parse_cert(&ids, der, der_len, NULL)) {
    for (size_t i = 0; i < p->n_names && !ok; i++) {
      fg_identity_ref ref;
      if (p->names[i] == NULL) continue;
      fg_identity_ref_init(&ref, (const uint8_t *)p->names[i], strlen(p->names[i]), p->service);
      ok = fg_identity_match(NULL, &ids, &ref, p->identity_flags) == FG_IDENTITY_MATCH;
    }
  }
  fg_cert_ids_cleanup(&ids);
  return ok;
}

// chain_to_anchor says whether the leaf of |chain| validates, at |at|, up to
// the certificate at |ta_depth| taken as the only trust anchor (RFC 7671
// §5.2.2: DANE-TA; the anchor need not be self-signed).
static int chain_to_anchor(const CRYPTO_BUFFER *const *chain, size_t chain_len, size_t ta_depth,
                           int64_t at) {
  X509_STORE *store = X509_STORE_new();
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  STACK_OF(X509) *untrusted = sk_X509_new_null();
  X509 *leaf = X509_parse_from_buffer((CRYPTO_BUFFER *)chain[0]);
  X509 *anchor = X509_parse_from_buffer((CRYPTO_BUFFER *)chain[ta_depth]);
  int ok = 0;
  if (store == NULL || ctx == NULL || untrusted == NULL || leaf == NULL || anchor == NULL ||
      !X509_STORE_add_cert(store, anchor)) {
    goto out;
  }
  for (size_t i = 1; i < ta_depth; i++) {
    X509 *x = X509_parse_from_buffer((CRYPTO_BUFFER *)chain[i]);
    if (x == NULL || !sk_X509_push(untrusted, x)) {
      X509_free(x);
      goto out;
    }
  }
  if (!X509_STORE_CTX_init(ctx, store, leaf, untrusted)) goto out;
  X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
  X509_STORE_CTX_set_time(ctx, 0, (time_t)at);
  ok = X509_verify_cert(ctx) == 1;
out:
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  sk_X509_pop_free(untrusted, X509_free);
  X509_free(leaf);
  X509_free(anchor);
  return ok;
}

// record_authenticates says whether usable record |r| authenticates the
// chain; |*depth| is where it matched. When the record matched a
// certificate but another rule failed, |why| says which.
static int record_authenticates(const fg_dane_tlsa *r, const CRYPTO_BUFFER *const *chain,
                                size_t chain_len, const fg_dane_params *p, int *depth,
                                const char **why) {
  const CRYPTO_BUFFER *leaf = chain[0];
  switch (r->usage) {
    case FG_DANE_USAGE_DANE_EE:
      // RFC 7672 §3.1.1: the key is the server's; names and dates do not count.
      *depth = 0;
      return matches(r, leaf);
    case FG_DANE_USAGE_PKIX_EE:
      *depth = 0;
      if (!matches(r, leaf)) return 0;
      if (!p->pkix_ok) *why = "a PKIX-EE record matched the leaf, but PKIX refuses the chain";
      return p->pkix_ok;
    case FG_DANE_USAGE_DANE_TA:
    case FG_DANE_USAGE_PKIX_TA:
      // The anchor is an issuer the server presents (RFC 7671 §5.2.2 asks
      // servers to include it); the leaf itself is never its own anchor.
      for (size_t d = 1; d < chain_len; d++) {
        if (!matches(r, chain[d])) continue;
        *depth = (int)d;
        if (r->usage == FG_DANE_USAGE_PKIX_TA) {
          if (!p->pkix_ok) *why = "a PKIX-TA record matched an issuer, but PKIX refuses the chain";
          return p->pkix_ok;
        }
        if (!chain_to_anchor(chain, chain_len, d, p->at)) {
          *why = "a DANE-TA record matched an issuer, but the chain does not validate to it";
          return 0;
        }
        if (!names_match(CRYPTO_BUFFER_data(leaf), CRYPTO_BUFFER_len(leaf), p)) {
          *why = "a DANE-TA record matched an issuer, but the leaf names no reference identity";
          return 0;
        }
        return 1;
      }
      return 0;
  }
  return 0;
}

static fg_dane_status status_of_usage(uint8_t usage) {
  static const fg_dane_status kByUsage[] = {FG_DANE_OK_PKIX_TA, FG_DANE_OK_PKIX_EE, FG_DANE_OK_TA,
                                            FG_DANE_OK_EE};
  return kByUsage[usage];
}

fg_dane_status fg_dane_verify(fg_dane_verdict *out, const fg_dane_rrset *tlsa,
                              const CRYPTO_BUFFER *const *chain, size_t chain_len,
                              const fg_dane_params *p) {
  memset(out, 0, sizeof(*out));
  out->record = out->depth = -1;
  fg_dane_params np = *p;
  if (np.at == 0) np.at = (int64_t)time(NULL);
  // DANE-EE first, then DANE-TA, then the PKIX usages: the cheapest check
  // that can succeed decides, and the verdict names the strongest reason.
  static const uint8_t kOrder[] = {FG_DANE_USAGE_DANE_EE, FG_DANE_USAGE_DANE_TA,
                                   FG_DANE_USAGE_PKIX_EE, FG_DANE_USAGE_PKIX_TA};
  for (size_t i = 0; i < tlsa->n; i++) {
    if (fg_dane_tlsa_usability(&tlsa->rec[i]) == FG_DANE_USABLE) {
      out->n_usable++;
    } else {
      out->n_unusable++;
    }
  }
  if (out->n_usable == 0) {
    out->status = FG_DANE_NO_USABLE;
    snprintf(out->reason, sizeof(out->reason), "no usable TLSA record (%zu unusable)",
             out->n_unusable);
    return out->status;
  }
  if (chain_len == 0) {
    out->status = FG_DANE_MISMATCH;
    snprintf(out->reason, sizeof(out->reason), "no certificate presented");
    return out->status;
  }
  const char *why = NULL;  // the first record that matched a certificate, and what failed
  for (size_t o = 0; o < sizeof(kOrder); o++) {
    for (size_t i = 0; i < tlsa->n; i++) {
      const fg_dane_tlsa *r = &tlsa->rec[i];
      if (r->usage != kOrder[o] || fg_dane_tlsa_usability(r) != FG_DANE_USABLE) continue;
      int depth = -1;
      if (!record_authenticates(r, chain, chain_len, &np, &depth, &why)) continue;
      out->status = status_of_usage(r->usage);
      out->record = (int)i;
      out->depth = depth;
      snprintf(out->reason, sizeof(out->reason), "TLSA %u %u %u matched at depth %d", r->usage,
               r->selector, r->mtype, depth);
      return out->status;
    }
  }
  out->status = FG_DANE_MISMATCH;
  snprintf(out->reason, sizeof(out->reason),
           "none of %zu usable TLSA record%s authenticates the chain of %zu certificate%s%s%s",
           out->n_usable, out->n_usable == 1 ? "" : "s", chain_len, chain_len == 1 ? "" : "s",
           why ? ": " : "", why ? why : "");
  return out->status;
}
