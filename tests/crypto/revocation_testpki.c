// revocation_testpki.c: see revocation_testpki.h.
#include "tests/crypto/revocation_testpki.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/mem.h>
#include <openssl/rsa.h>

int rt_pair_ca(rt_pair *out, const char *cn, EVP_PKEY *key) {
  out->key = key;
  out->cert = fg_devpki_mint_ca(key, cn, RT_NOW - 30 * RT_DAY, RT_NOW + 3650 * RT_DAY);
  return key != NULL && out->cert != NULL;
}

int rt_pair_leaf(rt_pair *out, EVP_PKEY *key, fg_devpki_spec spec, const rt_pair *issuer) {
  if (spec.not_before == 0 && spec.not_after == 0) {
    spec.not_before = RT_NOW - RT_DAY;
    spec.not_after = RT_NOW + 365 * RT_DAY;
  }
  if (spec.path_len == 0 && !spec.is_ca) spec.path_len = -1;
  out->key = key;
  out->cert = key != NULL ? fg_devpki_mint(&spec, key, issuer->cert, issuer->key) : NULL;
  return out->cert != NULL;
}

void rt_pair_free(rt_pair *p) {
  EVP_PKEY_free(p->key);
  X509_free(p->cert);
  p->key = NULL;
  p->cert = NULL;
}

static const EVP_MD *sig_md(rt_sig sig) {
  switch (sig) {
    case RT_SIG_SHA384:
      return EVP_sha384();
    case RT_SIG_SHA1:
      return EVP_sha1();
    default:
      return EVP_sha256();
  }
}

int rt_add_alg(CBB *cbb, EVP_PKEY *key, rt_sig sig) {
  CBB alg, o;
  const char *oid;
  int rsa = EVP_PKEY_id(key) == EVP_PKEY_RSA;
  if (sig == RT_SIG_PSS_SHA256) {
    // RFC 4055 §3.1 parameters for SHA-256, MGF1-SHA-256, salt 32.
    static const uint8_t kPss256[] = {
        0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30,
        0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
        0x02, 0x01, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
        0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
        0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20};
    return CBB_add_bytes(cbb, kPss256, sizeof(kPss256));
  }
  if (rsa) {
    oid = sig == RT_SIG_SHA1     ? "1.2.840.113549.1.1.5"
          : sig == RT_SIG_SHA384 ? "1.2.840.113549.1.1.12"
                                 : "1.2.840.113549.1.1.11";
  } else {
    oid = sig == RT_SIG_SHA1     ? "1.2.840.10045.4.1"
          : sig == RT_SIG_SHA384 ? "1.2.840.10045.4.3.3"
                                 : "1.2.840.10045.4.3.2";
  }
  if (!CBB_add_asn1(cbb, &alg, CBS_ASN1_SEQUENCE) || !CBB_add_asn1(&alg, &o, CBS_ASN1_OBJECT) ||
      !CBB_add_asn1_oid_from_text(&o, oid, strlen(oid))) {
    return 0;
  }
  if (rsa && !CBB_add_asn1(&alg, &o, CBS_ASN1_NULL)) return 0;
  return CBB_flush(cbb);
}

uint8_t *rt_sign(size_t *out_len, const uint8_t *tbs, size_t tbs_len, EVP_PKEY *key, rt_sig sig,
                 int corrupt, const uint8_t *tail, size_t tail_len) {
  uint8_t sigbuf[1024];
  size_t sig_len = sizeof(sigbuf);
  EVP_MD_CTX ctx;
  EVP_PKEY_CTX *pctx = NULL;
  EVP_MD_CTX_init(&ctx);
  int ok = EVP_DigestSignInit(&ctx, &pctx, sig_md(sig), NULL, key);
  if (ok && sig == RT_SIG_PSS_SHA256) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, -1) &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256());
  }
  ok = ok && EVP_DigestSign(&ctx, sigbuf, &sig_len, tbs, tbs_len);
  EVP_MD_CTX_cleanup(&ctx);
  if (!ok) return NULL;
  if (corrupt) sigbuf[sig_len - 1] ^= 0x01;
  CBB cbb, seq, bits;
  if (!CBB_init(&cbb, tbs_len + sig_len + 64) || !CBB_add_asn1(&cbb, &seq, CBS_ASN1_SEQUENCE) ||
      !CBB_add_bytes(&seq, tbs, tbs_len) || !rt_add_alg(&seq, key, sig) ||
      !CBB_add_asn1(&seq, &bits, CBS_ASN1_BITSTRING) || !CBB_add_u8(&bits, 0) ||
      !CBB_add_bytes(&bits, sigbuf, sig_len) ||
      (tail != NULL && !CBB_add_bytes(&seq, tail, tail_len))) {
    CBB_cleanup(&cbb);
    return NULL;
  }
  return rt_finish(&cbb, out_len);
}

int rt_add_time(CBB *cbb, int64_t t, int generalized) {
  time_t tt = (time_t)t;
  struct tm tm;
  char buf[32];
  gmtime_r(&tt, &tm);
  strftime(buf, sizeof(buf), generalized ? "%Y%m%d%H%M%SZ" : "%y%m%d%H%M%SZ", &tm);
  CBB v;
  return CBB_add_asn1(cbb, &v, generalized ? CBS_ASN1_GENERALIZEDTIME : CBS_ASN1_UTCTIME) &&
         CBB_add_bytes(&v, (const uint8_t *)buf, strlen(buf)) && CBB_flush(cbb);
}

int rt_add_ext(CBB *exts, const char *oid, int critical, const uint8_t *der, size_t len) {
  CBB ext, o, b, v;
  if (!CBB_add_asn1(exts, &ext, CBS_ASN1_SEQUENCE) || !CBB_add_asn1(&ext, &o, CBS_ASN1_OBJECT) ||
      !CBB_add_asn1_oid_from_text(&o, oid, strlen(oid))) {
    return 0;
  }
  if (critical && (!CBB_add_asn1(&ext, &b, CBS_ASN1_BOOLEAN) || !CBB_add_u8(&b, 0xff))) return 0;
  return CBB_add_asn1(&ext, &v, CBS_ASN1_OCTETSTRING) && CBB_add_bytes(&v, der, len) &&
         CBB_flush(exts);
}

uint8_t *rt_finish(CBB *cbb, size_t *out_len) {
  uint8_t *der = NULL;
  if (!CBB_finish(cbb, &der, out_len)) {
    CBB_cleanup(cbb);
    return NULL;
  }
  uint8_t *copy = malloc(*out_len);
  if (copy != NULL) memcpy(copy, der, *out_len);
  OPENSSL_free(der);
  return copy;
}

const char *rt_tmpdir(void) {
  static char dir[256];
  const char *base = getenv("TEST_TMPDIR");
  snprintf(dir, sizeof(dir), "%s/revXXXXXX", base != NULL ? base : "/tmp");
  return mkdtemp(dir);
}

int rt_sh(const char *fmt, ...) {
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  int st = system(cmd);
  if (st == -1 || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

int rt_have_openssl(void) {
  return rt_sh("openssl version >/dev/null 2>&1") == 0;
}

int rt_write_pem(const char *dir, const char *name, const rt_pair *p) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s.crt", dir, name);
  if (!fg_devpki_write_cert(path, p->cert)) return 0;
  snprintf(path, sizeof(path), "%s/%s.key", dir, name);
  return fg_devpki_write_key(path, p->key);
}

void rt_serial_hex(char *out, size_t out_len, X509 *cert) {
  const ASN1_INTEGER *s = X509_get0_serialNumber(cert);
  const uint8_t *p = ASN1_STRING_get0_data(s);
  size_t n = (size_t)ASN1_STRING_length(s), o = 0;
  while (n > 1 && p[0] == 0) {
    p++;
    n--;
  }
  for (size_t i = 0; i < n && o + 3 <= out_len; i++) o += snprintf(out + o, 3, "%02X", p[i]);
  out[o] = 0;
}
