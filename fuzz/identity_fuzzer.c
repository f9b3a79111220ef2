// identity_fuzzer.c: crypto/san + crypto/identity on fuzzed certificates.
//
// Input: [ref_len:1][reference:ref_len][flags:1][DER certificate...].
// flags bit 0: service xmpp-client (else xmpp-server); bit 1: legacy CN-ID.
//
// Besides never crashing, the matcher must agree with oracle_match below: a
// deliberately simple re-statement of the policy (../shared/vectors/
// README.md) that splits names into label arrays and compares label by
// label, sharing no code with crypto/identity.c. Inputs that need IDNA (any
// non-ASCII byte in the reference or an XmppAddr) are only run, not
// compared: the oracle does not implement UTS #46.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/identity.h"
#include "crypto/san.h"

#define MAX_LABELS 128

typedef struct labels {
  size_t n;
  const uint8_t *p[MAX_LABELS];
  size_t len[MAX_LABELS];
} labels;

static int is_ldh(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

static uint8_t lower(uint8_t c) {
  return c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20) : c;
}

// split cuts |s| (one trailing dot dropped) at every '.'; it returns 0 for an
// empty name or too many labels.
static int split(const uint8_t *s, size_t len, labels *out) {
  if (len > 0 && s[len - 1] == '.') len--;
  if (len == 0) return 0;
  out->n = 0;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || s[i] == '.') {
      if (out->n == MAX_LABELS) return 0;
      out->p[out->n] = s + start;
      out->len[out->n] = i - start;
      out->n++;
      start = i + 1;
    }
  }
  return 1;
}

static int label_ok(const uint8_t *p, size_t len) {
  if (len < 1 || len > 63 || p[0] == '-' || p[len - 1] == '-') return 0;
  for (size_t i = 0; i < len; i++) {
    if (!is_ldh(p[i])) return 0;
  }
  return 1;
}

// host_ok: every label LDH-valid from |first| on, total at most 253, last
// label not all digits.
static int host_ok(const uint8_t *s, size_t len, const labels *l, size_t first) {
  if (len > 0 && s[len - 1] == '.') len--;
  if (len > 253) return 0;
  for (size_t i = first; i < l->n; i++) {
    if (!label_ok(l->p[i], l->len[i])) return 0;
  }
  const uint8_t *last = l->p[l->n - 1];
  for (size_t i = 0; i < l->len[l->n - 1]; i++) {
    if (last[i] < '0' || last[i] > '9') return 1;
  }
  return 0;
}

static int label_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
  if (alen != blen) return 0;
  for (size_t i = 0; i < alen; i++) {
    if (lower(a[i]) != lower(b[i])) return 0;
  }
  return 1;
}

static int labels_eq_from(const labels *a, const labels *b, size_t from) {
  if (a->n != b->n) return 0;
  for (size_t i = from; i < a->n; i++) {
    if (!label_eq(a->p[i], a->len[i], b->p[i], b->len[i])) return 0;
  }
  return 1;
}

// dns_rule: DNS-ID (and legacy CN-ID) against the reference labels.
static int dns_rule(const uint8_t *s, size_t len, const labels *ref) {
  labels l;
  if (!split(s, len, &l)) return 0;
  if (l.len[0] == 1 && l.p[0][0] == '*') {
    if (l.n < 3 || !host_ok(s, len, &l, 1)) return 0;
    if (ref->len[0] >= 4 && label_eq(ref->p[0], 4, (const uint8_t *)"xn--", 4)) return 0;
    return labels_eq_from(&l, ref, 1);
  }
  return host_ok(s, len, &l, 0) && labels_eq_from(&l, ref, 0);
}

static int srv_rule(const uint8_t *s, size_t len, const labels *ref, const char *service) {
  if (len < 2 || s[0] != '_') return 0;
  size_t dot = 1;
  while (dot < len && s[dot] != '.') dot++;
  if (dot == len || dot == 1 || dot - 1 > 63) return 0;
  for (size_t i = 1; i < dot; i++) {
    if (!is_ldh(s[i])) return 0;
  }
  if (!label_eq(s + 1, dot - 1, (const uint8_t *)service, strlen(service))) return 0;
  labels l;
  const uint8_t *name = s + dot + 1;
  size_t nlen = len - dot - 1;
  return split(name, nlen, &l) && host_ok(name, nlen, &l, 0) && labels_eq_from(&l, ref, 0);
}

static int xmpp_rule(const uint8_t *s, size_t len, const labels *ref) {
  labels l;
  if (memchr(s, '@', len) != NULL || memchr(s, '/', len) != NULL) return 0;
  return split(s, len, &l) && host_ok(s, len, &l, 0) && labels_eq_from(&l, ref, 0);
}

static int oracle_one(const fg_presented_id *id, const fg_cert_ids *ids, const labels *ref,
                      const char *service, int legacy, size_t num_cn) {
  switch (id->type) {
    case FG_ID_DNS:
      return dns_rule(id->raw, id->raw_len, ref);
    case FG_ID_SRV:
      return srv_rule(id->raw, id->raw_len, ref, service);
    case FG_ID_XMPP:
      return xmpp_rule(id->raw, id->raw_len, ref);
    case FG_ID_CN:
      return legacy && num_cn == 1 &&
             ids->num_san_dns + ids->num_san_srv + ids->num_san_xmpp == 0 &&
             dns_rule(id->raw, id->raw_len, ref);
  }
  return 0;
}

// check_against_boringssl: when BoringSSL also parses the certificate and
// its SAN, both must see the same dNSNames in the same order.
static void check_against_boringssl(const fg_cert_ids *ids, const uint8_t *der, size_t len) {
  const uint8_t *p = der;
  X509 *x = d2i_X509(NULL, &p, (long)len);
  if (x == NULL || p != der + len) {
    X509_free(x);
    ERR_clear_error();
    return;
  }
  GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  if (gens != NULL) {
    size_t k = 0;
    for (size_t i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
      const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
      if (g->type != GEN_DNS) continue;
      while (k < ids->num_ids && ids->ids[k].type != FG_ID_DNS) k++;
      if (k == ids->num_ids) abort();
      size_t glen = (size_t)ASN1_STRING_length(g->d.dNSName);
      if (glen != ids->ids[k].raw_len ||
          memcmp(ASN1_STRING_get0_data(g->d.dNSName), ids->ids[k].raw, glen) != 0) {
        abort();
      }
      k++;
    }
    while (k < ids->num_ids && ids->ids[k].type != FG_ID_DNS) k++;
    if (k != ids->num_ids) abort();
    GENERAL_NAMES_free(gens);
  }
  ERR_clear_error();
  X509_free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t ref_len = data[0];
  if (size < 2 + ref_len) return 0;
  const uint8_t *reference = data + 1;
  uint8_t flags = data[1 + ref_len];
  const uint8_t *der = data + 2 + ref_len;
  size_t der_len = size - 2 - ref_len;
  const char *service = (flags & 1) ? "xmpp-client" : "xmpp-server";
  int legacy = (flags & 2) != 0;

  fg_cert_ids ids;
  fg_cert_ids_init(&ids);
  const char *why = NULL;
  if (!fg_san_parse_cert(&ids, der, der_len, &why)) {
    if (why == NULL) abort();  // every rejection carries a reason
    fg_cert_ids_cleanup(&ids);
    return 0;
  }
  check_against_boringssl(&ids, der, der_len);
  fg_identity_ref ref;
  fg_identity_ref_init(&ref, reference, ref_len, service);
  fg_identity_result res;
  unsigned mflags = legacy ? FG_IDENTITY_LEGACY_CN_ID : 0;
  fg_identity_status st = fg_identity_match(&res, &ids, &ref, mflags);
  char text[2048];
  fg_identity_explain(text, sizeof(text), &ids, &ref, mflags, &res);
  if ((st == FG_IDENTITY_MATCH) != (res.matched != NULL)) abort();

  int needs_idna = 0;
  for (size_t i = 0; i < ref_len; i++) needs_idna |= reference[i] >= 0x80;
  size_t num_cn = 0;
  for (size_t i = 0; i < ids.num_ids; i++) {
    const fg_presented_id *id = &ids.ids[i];
    if (id->type == FG_ID_CN) num_cn++;
    if (id->type != FG_ID_XMPP) continue;
    for (size_t j = 0; j < id->raw_len; j++) needs_idna |= id->raw[j] >= 0x80;
  }
  labels rl;
  int ref_ok = !needs_idna && split(reference, ref_len, &rl) &&
               host_ok(reference, ref_len, &rl, 0) && memchr(reference, 0, ref_len) == NULL;
  if (!needs_idna) {
    if (ref_ok != ref.valid) abort();
    int oracle = 0;
    for (size_t i = 0; ref_ok && i < ids.num_ids; i++) {
      int one = oracle_one(&ids.ids[i], &ids, &rl, service, legacy, num_cn);
      // Each identifier's own verdict agrees too.
      if (one != (fg_identity_id_mismatch(&ids.ids[i], &ids, &ref, mflags) == NULL)) abort();
      oracle |= one;
    }
    if (oracle != (st == FG_IDENTITY_MATCH)) abort();
  }
  fg_cert_ids_cleanup(&ids);
  return 0;
}
