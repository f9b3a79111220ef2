// chain.c: chain validation with BoringSSL's X509_verify_cert plus fedgate's
// algorithm, EKU and pinning policy. See chain.h.
#include "crypto/chain.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crypto/san.h"

// The largest trust bundle or certificate file read (the Debian bundle is
// about 220 KiB).
#define MAX_CERT_FILE (16u << 20)

typedef struct pin {
  char domain[FG_IDENTITY_MAX_NAME + 1];
  fg_pin_kind kind;
  X509 *cert;
  X509_STORE *store;  // just |cert|, used with X509_V_FLAG_PARTIAL_CHAIN
} pin;

struct fg_trust_store {
  X509_STORE *store;
  pin *pins;
  size_t num_pins;
};

fg_trust_store *fg_trust_store_new(void) {
  fg_trust_store *ts = calloc(1, sizeof(*ts));
  if (ts == NULL) return NULL;
  ts->store = X509_STORE_new();
  if (ts->store == NULL) {
    free(ts);
    return NULL;
  }
  return ts;
}

void fg_trust_store_free(fg_trust_store *ts) {
  if (ts == NULL) return;
  for (size_t i = 0; i < ts->num_pins; i++) {
    X509_free(ts->pins[i].cert);
    X509_STORE_free(ts->pins[i].store);
  }
  free(ts->pins);
  X509_STORE_free(ts->store);
  free(ts);
}

int fg_trust_store_add_cert(fg_trust_store *ts, X509 *cert) {
  // BoringSSL reports a duplicate as success; anything else is a failure.
  if (X509_STORE_add_cert(ts->store, cert)) return 1;
  ERR_clear_error();
  return 0;
}

// issued_by says whether |ca|'s subject is |cert|'s issuer and |ca|'s key
// verifies |cert|'s signature.
static int issued_by(X509 *cert, X509 *ca) {
  if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(ca)) != 0) return 0;
  EVP_PKEY *key = X509_get_pubkey(ca);
  int ok = key != NULL && X509_verify(cert, key) == 1;
  EVP_PKEY_free(key);
  ERR_clear_error();
  return ok;
}

X509 *fg_chain_find_issuer(STACK_OF(X509) * candidates, fg_trust_store *ts, X509 *cert) {
  for (size_t i = 0; candidates != NULL && i < sk_X509_num(candidates); i++) {
    X509 *c = sk_X509_value(candidates, i);
    if (c != cert && issued_by(cert, c)) return X509_up_ref(c) ? c : NULL;
  }
  STACK_OF(X509_OBJECT) *objs = ts != NULL ? X509_STORE_get0_objects(ts->store) : NULL;
  for (size_t i = 0; objs != NULL && i < sk_X509_OBJECT_num(objs); i++) {
    X509 *c = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
    if (c != NULL && issued_by(cert, c)) return X509_up_ref(c) ? c : NULL;
  }
  return NULL;
}

// read_file reads at most MAX_CERT_FILE bytes of |path|.
static uint8_t *read_file(const char *path, size_t *out_len, char *err, size_t err_len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, err_len, "%s: not a regular file", path);
    fclose(f);
    return NULL;
  }
  if ((uint64_t)st.st_size > MAX_CERT_FILE) {
    snprintf(err, err_len, "%s: larger than %u bytes", path, MAX_CERT_FILE);
    fclose(f);
    return NULL;
  }
  size_t cap = (size_t)st.st_size + 1;
  uint8_t *buf = malloc(cap);
  if (buf == NULL) {
    snprintf(err, err_len, "%s: out of memory", path);
    fclose(f);
    return NULL;
  }
  size_t n = fread(buf, 1, cap - 1, f);
  int failed = ferror(f);
  fclose(f);
  if (failed) {
    snprintf(err, err_len, "%s: read error", path);
    free(buf);
    return NULL;
  }
  buf[n] = 0;
  *out_len = n;
  return buf;
}

size_t fg_chain_read_certs(STACK_OF(X509) * out, const char *path, char *err, size_t err_len) {
  size_t len;
  uint8_t *data = read_file(path, &len, err, err_len);
  if (data == NULL) return 0;
  size_t count = 0;
  if (memmem(data, len, "-----BEGIN", 10) != NULL) {
    BIO *bio = BIO_new_mem_buf(data, len);
    X509 *x;
    while (bio != NULL && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
      if (!sk_X509_push(out, x)) {
        X509_free(x);
        break;
      }
      count++;
    }
    uint32_t e = ERR_peek_last_error();
    int clean_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    ERR_clear_error();
    BIO_free(bio);
    if (!clean_end && count == 0) {
      snprintf(err, err_len, "%s: malformed PEM certificate", path);
    } else if (!clean_end) {
      snprintf(err, err_len, "%s: malformed PEM certificate after %zu good ones", path, count);
      count = 0;
    } else if (count == 0) {
      snprintf(err, err_len, "%s: no PEM CERTIFICATE block", path);
    }
  } else {
    const uint8_t *p = data;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    ERR_clear_error();
    if (x == NULL || p != data + len) {
      X509_free(x);
      snprintf(err, err_len, "%s: neither PEM nor a DER certificate", path);
    } else if (!sk_X509_push(out, x)) {
      X509_free(x);
      snprintf(err, err_len, "%s: out of memory", path);
    } else {
      count = 1;
    }
  }
  free(data);
  return count;
}

static size_t add_file(fg_trust_store *ts, const char *path, char *err, size_t err_len) {
  STACK_OF(X509) *certs = sk_X509_new_null();
  if (certs == NULL) return 0;
  size_t n = fg_chain_read_certs(certs, path, err, err_len);
  size_t added = 0;
  for (size_t i = 0; i < n; i++) {
    added += (size_t)fg_trust_store_add_cert(ts, sk_X509_value(certs, i));
  }
  sk_X509_pop_free(certs, X509_free);
  return added;
}

size_t fg_trust_store_load(fg_trust_store *ts, const char *path, char *err, size_t err_len) {
  if (path == NULL) path = FG_TRUST_DEFAULT_BUNDLE;
  struct stat st;
  if (stat(path, &st) != 0) {
    snprintf(err, err_len, "%s: %s", path, strerror(errno));
    return 0;
  }
  if (!S_ISDIR(st.st_mode)) return add_file(ts, path, err, err_len);
  DIR *d = opendir(path);
  if (d == NULL) {
    snprintf(err, err_len, "%s: cannot open directory: %s", path, strerror(errno));
    return 0;
  }
  size_t added = 0;
  struct dirent *de;
  char sub[4096], ignored[256];
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue;
    if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= sizeof(sub)) continue;
    struct stat sst;
    if (stat(sub, &sst) != 0 || !S_ISREG(sst.st_mode)) continue;
    // Files that hold no certificate (CRLs, READMEs) are skipped.
    added += add_file(ts, sub, ignored, sizeof(ignored));
  }
  closedir(d);
  if (added == 0) snprintf(err, err_len, "%s: no certificate in this directory", path);
  return added;
}

int fg_trust_store_pin(fg_trust_store *ts, const char *domain, fg_pin_kind kind, X509 *cert) {
  fg_identity_ref ref;
  if (!fg_identity_ref_init(&ref, (const uint8_t *)domain, strlen(domain), NULL)) return 0;
  X509_STORE *store = X509_STORE_new();
  if (store == NULL || !X509_STORE_add_cert(store, cert)) {
    X509_STORE_free(store);
    return 0;
  }
  pin *p = NULL;
  for (size_t i = 0; i < ts->num_pins; i++) {
    if (strcmp(ts->pins[i].domain, ref.name) == 0) p = &ts->pins[i];
  }
  if (p == NULL) {
    pin *grown = realloc(ts->pins, (ts->num_pins + 1) * sizeof(*grown));
    if (grown == NULL) {
      X509_STORE_free(store);
      return 0;
    }
    ts->pins = grown;
    p = &ts->pins[ts->num_pins++];
  } else {
    X509_free(p->cert);
    X509_STORE_free(p->store);
  }
  memcpy(p->domain, ref.name, (size_t)ref.name_len + 1);
  p->kind = kind;
  X509_up_ref(cert);
  p->cert = cert;
  p->store = store;
  return 1;
}

static const pin *find_pin(const fg_trust_store *ts, const char *domain) {
  if (domain == NULL || ts->num_pins == 0) return NULL;
  fg_identity_ref ref;
  if (!fg_identity_ref_init(&ref, (const uint8_t *)domain, strlen(domain), NULL)) return NULL;
  for (size_t i = 0; i < ts->num_pins; i++) {
    if (strcmp(ts->pins[i].domain, ref.name) == 0) return &ts->pins[i];
  }
  return NULL;
}

const char *fg_chain_status_string(fg_chain_status status) {
  switch (status) {
    case FG_CHAIN_OK:
      return "ok";
    case FG_CHAIN_EXPIRED:
      return "expired";
    case FG_CHAIN_NOT_YET_VALID:
      return "not-yet-valid";
    case FG_CHAIN_UNKNOWN_CA:
      return "unknown-ca";
    case FG_CHAIN_SELF_SIGNED:
      return "self-signed";
    case FG_CHAIN_NOT_A_CA:
      return "not-a-ca";
    case FG_CHAIN_PATH_LENGTH:
      return "path-length";
    case FG_CHAIN_BAD_EKU:
      return "bad-eku";
    case FG_CHAIN_WEAK_SIGNATURE:
      return "weak-signature";
    case FG_CHAIN_WEAK_KEY:
      return "weak-key";
    case FG_CHAIN_BAD_SIGNATURE:
      return "bad-signature";
    case FG_CHAIN_TOO_LONG:
      return "too-long";
    case FG_CHAIN_PIN_MISMATCH:
      return "pin-mismatch";
    case FG_CHAIN_REVOKED:
      return "revoked";
    case FG_CHAIN_MALFORMED:
      return "malformed";
    case FG_CHAIN_INVALID:
      return "invalid";
    case FG_CHAIN_INTERNAL:
      return "internal";
  }
  return "unknown";
}

static fg_chain_status set_verdict(fg_chain_verdict *out, fg_chain_status status, int depth,
                                   int x509_error, const char *detail) {
  out->status = status;
  out->depth = depth;
  out->x509_error = x509_error;
  if (status == FG_CHAIN_OK) {
    snprintf(out->reason, sizeof(out->reason), "ok");
  } else if (depth >= 0) {
    snprintf(out->reason, sizeof(out->reason), "%s: %s (depth %d)", fg_chain_status_string(status),
             detail, depth);
  } else {
    snprintf(out->reason, sizeof(out->reason), "%s: %s", fg_chain_status_string(status), detail);
  }
  return status;
}

// weak_signature returns why |x|'s signature algorithm is refused, or NULL.
// Only SHA-2 based RSA/ECDSA, RSA-PSS and Ed25519 are accepted: MD5 and SHA-1
// are collision-prone (RFC 6151, RFC 9155 deprecates SHA-1 in TLS).
static const char *weak_signature(const X509 *x) {
  switch (X509_get_signature_nid(x)) {
    case NID_sha256WithRSAEncryption:
    case NID_sha384WithRSAEncryption:
    case NID_sha512WithRSAEncryption:
    case NID_ecdsa_with_SHA256:
    case NID_ecdsa_with_SHA384:
    case NID_ecdsa_with_SHA512:
    case NID_rsassaPss:
    case NID_ED25519:
      return NULL;
    case NID_md5WithRSAEncryption:
      return "MD5 signature";
    case NID_sha1WithRSAEncryption:
    case NID_ecdsa_with_SHA1:
    case NID_dsaWithSHA1:
      return "SHA-1 signature";
    default:
      return "unsupported signature algorithm";
  }
}

// weak_key returns why |x|'s public key is refused, or NULL.
static const char *weak_key(X509 *x) {
  EVP_PKEY *pk = X509_get_pubkey(x);
  const char *why = NULL;
  if (pk == NULL) return "unparsable public key";
  switch (EVP_PKEY_id(pk)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_bits(pk) < 2048) why = "RSA key below 2048 bits";
      break;
    case EVP_PKEY_EC: {
      const EC_KEY *ec = EVP_PKEY_get0_EC_KEY(pk);
      int curve = ec != NULL ? EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) : NID_undef;
      if (curve != NID_X9_62_prime256v1 && curve != NID_secp384r1 && curve != NID_secp521r1) {
        why = "unsupported elliptic curve";
      }
      break;
    }
    case EVP_PKEY_ED25519:
      break;
    default:
      why = "unsupported public key type";
  }
  EVP_PKEY_free(pk);
  return why;
}

static fg_chain_status map_x509_error(int err) {
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return FG_CHAIN_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return FG_CHAIN_NOT_YET_VALID;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
      return FG_CHAIN_UNKNOWN_CA;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return FG_CHAIN_SELF_SIGNED;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
      return FG_CHAIN_NOT_A_CA;
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      return FG_CHAIN_PATH_LENGTH;
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE:
      return FG_CHAIN_BAD_EKU;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
      return FG_CHAIN_BAD_SIGNATURE;
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      return FG_CHAIN_TOO_LONG;
    case X509_V_ERR_CERT_REVOKED:
      return FG_CHAIN_REVOKED;
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
      return FG_CHAIN_MALFORMED;
    case X509_V_ERR_OUT_OF_MEM:
      return FG_CHAIN_INTERNAL;
    default:
      return FG_CHAIN_INVALID;
  }
}

// is_self_signed says whether |x| names itself as issuer and its signature
// verifies with its own key (whatever its keyUsage says).
static int is_self_signed(X509 *x) {
  return issued_by(x, x);
}

// verify_pinned_leaf checks a peer certificate that is exactly the one
// pinned for its domain: it is its own trust anchor, so only time, usage and
// key strength remain (RFC 5280 §6.1 with the leaf as the trust anchor).
static fg_chain_status verify_pinned_leaf(fg_chain_verdict *out, X509 *leaf,
                                          const fg_chain_params *params) {
  time_t at = params->at != 0 ? (time_t)params->at : time(NULL);
  int nb = X509_cmp_time(X509_get0_notBefore(leaf), &at);
  int na = X509_cmp_time(X509_get0_notAfter(leaf), &at);
  if (nb == 0 || na == 0) return set_verdict(out, FG_CHAIN_MALFORMED, 0, 0, "bad validity time");
  if (nb > 0) return set_verdict(out, FG_CHAIN_NOT_YET_VALID, 0, 0, "certificate is not yet valid");
  if (na < 0) return set_verdict(out, FG_CHAIN_EXPIRED, 0, 0, "certificate has expired");
  int usable = X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0) == 1 ||
               (params->role == FG_ROLE_INBOUND &&
                X509_check_purpose(leaf, X509_PURPOSE_SSL_CLIENT, 0) == 1);
  ERR_clear_error();
  if (!usable) return set_verdict(out, FG_CHAIN_BAD_EKU, 0, 0, "key usage forbids this use");
  const char *why = weak_key(leaf);
  if (why != NULL) return set_verdict(out, FG_CHAIN_WEAK_KEY, 0, 0, why);
  return set_verdict(out, FG_CHAIN_OK, -1, 0, "ok");
}

// path_valid_until returns the earliest notAfter on |chain| as seconds since
// the epoch (|at| is the verification time, which every notAfter is past).
static int64_t path_valid_until(STACK_OF(X509) * chain, time_t at) {
  ASN1_TIME *now = ASN1_TIME_set(NULL, at);
  int64_t until = INT64_MAX;
  for (size_t i = 0; now != NULL && i < sk_X509_num(chain); i++) {
    int days = 0, secs = 0;
    const ASN1_TIME *na = X509_get0_notAfter(sk_X509_value(chain, i));
    if (na == NULL || !ASN1_TIME_diff(&days, &secs, now, na)) {
      until = at;  // unreadable: do not cache beyond now
      break;
    }
    int64_t t = (int64_t)at + (int64_t)days * 86400 + secs;
    if (t < until) until = t;
  }
  ASN1_TIME_free(now);
  return now == NULL ? (int64_t)at : until;
}

// run_verify runs one X509_verify_cert with |purpose| and applies the
// post-path policy (algorithms, revocation hook).
static fg_chain_status run_verify(fg_chain_verdict *out, X509_STORE *store, X509 *leaf,
                                  STACK_OF(X509) * intermediates, int partial, int purpose,
                                  const fg_chain_params *params) {
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  if (ctx == NULL || !X509_STORE_CTX_init(ctx, store, leaf, intermediates)) {
    X509_STORE_CTX_free(ctx);
    return set_verdict(out, FG_CHAIN_INTERNAL, -1, 0, "cannot set up the verifier");
  }
  X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
  time_t at = params->at != 0 ? (time_t)params->at : time(NULL);
  X509_VERIFY_PARAM_set_time(vp, at);
  // BoringSSL reports a depth overrun as a missing issuer; build the path
  // with a generous limit (the presented chain is bounded anyway) and
  // enforce |max_depth| on the result below.
  X509_VERIFY_PARAM_set_depth(vp, FG_CHAIN_MAX_PRESENTED + 1);
  // A pinned CA may be an intermediate and a pinned leaf is its own anchor.
  if (partial) X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_PARTIAL_CHAIN);
  X509_STORE_CTX_set_purpose(ctx, purpose);

  fg_chain_status status = FG_CHAIN_OK;
  if (X509_verify_cert(ctx) != 1) {
    int err = X509_STORE_CTX_get_error(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
    status = map_x509_error(err);
    if (status == FG_CHAIN_UNKNOWN_CA && depth == 0 && is_self_signed(leaf)) {
      set_verdict(out, FG_CHAIN_SELF_SIGNED, 0, err, "self-signed certificate that is not pinned");
      ERR_clear_error();
      X509_STORE_CTX_free(ctx);
      return out->status;
    }
    const char *weak = NULL;
    // BoringSSL may refuse to verify an obsolete algorithm at all; say so.
    if (status == FG_CHAIN_BAD_SIGNATURE && cur != NULL) weak = weak_signature(cur);
    if (weak != NULL) {
      set_verdict(out, FG_CHAIN_WEAK_SIGNATURE, depth, err, weak);
    } else {
      set_verdict(out, status, depth, err, X509_verify_cert_error_string(err));
    }
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    return out->status;
  }
  STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
  int n = (int)sk_X509_num(chain);
  int max_depth = params->max_depth > 0 ? params->max_depth : FG_CHAIN_DEFAULT_MAX_DEPTH;
  // n counts the leaf and the anchor besides the intermediates.
  if (n - 2 > max_depth) {
    status = set_verdict(out, FG_CHAIN_TOO_LONG, n - 1, 0, "more intermediates than allowed");
  }
  for (int i = 0; i < n && status == FG_CHAIN_OK; i++) {
    X509 *x = sk_X509_value(chain, i);
    const char *why = weak_key(x);
    if (why != NULL) {
      status = set_verdict(out, FG_CHAIN_WEAK_KEY, i, 0, why);
      break;
    }
    // The anchor's self-signature is not relied on (RFC 5280 §6.1: the
    // trust anchor is an input, not a certificate to verify).
    if (i < n - 1 && (why = weak_signature(x)) != NULL) {
      status = set_verdict(out, FG_CHAIN_WEAK_SIGNATURE, i, 0, why);
    }
  }
  for (int i = 0; i + 1 < n && status == FG_CHAIN_OK && params->revocation != NULL; i++) {
    fg_chain_status r = params->revocation(params->revocation_arg, sk_X509_value(chain, i),
                                           sk_X509_value(chain, i + 1), i);
    if (r != FG_CHAIN_OK) {
      status = set_verdict(
          out, r, i, 0, r == FG_CHAIN_REVOKED ? "certificate revoked" : "revocation check failed");
    }
  }
  if (status == FG_CHAIN_OK) {
    set_verdict(out, FG_CHAIN_OK, -1, 0, "ok");
    out->valid_until = path_valid_until(chain, at);
  }
  X509_STORE_CTX_free(ctx);
  return status;
}

fg_chain_status fg_chain_verify(fg_chain_verdict *out, const fg_trust_store *ts, X509 *leaf,
                                STACK_OF(X509) * intermediates, const char *domain,
                                const fg_chain_params *params) {
  static const fg_chain_params kDefaults = {0};
  if (params == NULL) params = &kDefaults;
  memset(out, 0, sizeof(*out));
  out->depth = -1;
  if (leaf == NULL) return set_verdict(out, FG_CHAIN_MALFORMED, -1, 0, "no certificate");
  const pin *p = find_pin(ts, domain);
  out->pinned = p != NULL;
  if (p != NULL && p->kind == FG_PIN_LEAF && X509_cmp(leaf, p->cert) != 0) {
    return set_verdict(out, FG_CHAIN_PIN_MISMATCH, 0, 0,
                       "not the certificate pinned for the domain");
  }
  if (p != NULL && p->kind == FG_PIN_LEAF) return verify_pinned_leaf(out, leaf, params);
  X509_STORE *store = p != NULL ? p->store : ts->store;
  fg_chain_status s =
      run_verify(out, store, leaf, intermediates, p != NULL, X509_PURPOSE_SSL_SERVER, params);
  // Inbound peers authenticate with their server certificate as a TLS client
  // certificate; a clientAuth-only certificate is acceptable too.
  if (s == FG_CHAIN_BAD_EKU && params->role == FG_ROLE_INBOUND) {
    fg_chain_verdict second;
    memset(&second, 0, sizeof(second));
    second.pinned = out->pinned;
    if (run_verify(&second, store, leaf, intermediates, p != NULL, X509_PURPOSE_SSL_CLIENT,
                   params) != FG_CHAIN_BAD_EKU) {
      *out = second;
      s = second.status;
    }
  }
  return s;
}

fg_chain_status fg_chain_verify_buffers(fg_chain_verdict *out, const fg_trust_store *ts,
                                        const STACK_OF(CRYPTO_BUFFER) * chain, const char *domain,
                                        const fg_chain_params *params) {
  memset(out, 0, sizeof(*out));
  out->depth = -1;
  size_t n = chain != NULL ? sk_CRYPTO_BUFFER_num(chain) : 0;
  if (n == 0) return set_verdict(out, FG_CHAIN_MALFORMED, -1, 0, "no certificate presented");
  if (n > FG_CHAIN_MAX_PRESENTED) {
    return set_verdict(out, FG_CHAIN_TOO_LONG, -1, 0, "too many certificates presented");
  }
  X509 *leaf = NULL;
  STACK_OF(X509) *rest = sk_X509_new_null();
  if (rest == NULL) return set_verdict(out, FG_CHAIN_INTERNAL, -1, 0, "out of memory");
  for (size_t i = 0; i < n; i++) {
    X509 *x = X509_parse_from_buffer(sk_CRYPTO_BUFFER_value(chain, i));
    if (x == NULL) {
      ERR_clear_error();
      X509_free(leaf);
      sk_X509_pop_free(rest, X509_free);
      return set_verdict(out, FG_CHAIN_MALFORMED, (int)i, 0, "certificate does not parse");
    }
    if (i == 0) {
      leaf = x;
    } else if (!sk_X509_push(rest, x)) {
      X509_free(x);
      X509_free(leaf);
      sk_X509_pop_free(rest, X509_free);
      return set_verdict(out, FG_CHAIN_INTERNAL, -1, 0, "out of memory");
    }
  }
  fg_chain_status s = fg_chain_verify(out, ts, leaf, rest, domain, params);
  X509_free(leaf);
  sk_X509_pop_free(rest, X509_free);
  return s;
}

int fg_peer_verify(fg_peer_verdict *out, const fg_trust_store *ts,
                   const STACK_OF(CRYPTO_BUFFER) * chain, const char *domain, const char *service,
                   unsigned identity_flags, const fg_chain_params *params) {
  memset(out, 0, sizeof(*out));
  fg_cert_ids_init(&out->ids);
  if (domain == NULL) domain = "";
  fg_identity_ref_init(&out->ref, (const uint8_t *)domain, strlen(domain), service);
  size_t n = chain != NULL ? sk_CRYPTO_BUFFER_num(chain) : 0;
  if (n == 0) {
    out->san_error = "no certificate presented";
  } else {
    const CRYPTO_BUFFER *leaf = sk_CRYPTO_BUFFER_value(chain, 0);
    if (!fg_san_parse_cert(&out->ids, CRYPTO_BUFFER_data(leaf), CRYPTO_BUFFER_len(leaf),
                           &out->san_error) &&
        out->san_error == NULL) {
      out->san_error = "malformed certificate";
    }
  }
  if (out->san_error == NULL) {
    fg_identity_match(&out->identity, &out->ids, &out->ref, identity_flags);
  } else {
    out->identity.status = FG_IDENTITY_NOMATCH_NO_IDS;
    out->identity.matched = NULL;
  }
  fg_chain_verify_buffers(&out->chain, ts, chain, domain, params);
  out->ok = out->chain.status == FG_CHAIN_OK && out->identity.status == FG_IDENTITY_MATCH;
  return out->ok;
}

void fg_peer_verdict_cleanup(fg_peer_verdict *v) {
  fg_cert_ids_cleanup(&v->ids);
}
