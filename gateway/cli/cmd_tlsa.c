// cmd_tlsa.c: `fedgate tlsa CERT [--usage U] [--selector S] [--match M]`:
// the RDATA of the TLSA record (RFC 6698 §2.2 presentation form) that binds
// the first certificate of CERT (PEM or DER). By default "3 1 1": DANE-EE,
// SHA-256 of the SubjectPublicKeyInfo, which survives certificate renewals
// that keep the key (RFC 7671 §5.1).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/mem.h>
#include <openssl/x509.h>

#include "crypto/chain.h"
#include "crypto/dane.h"
#include "gateway/cli/cmd.h"
#include "gateway/cli/command.h"

// parse_field reads a TLSA field (0-255) given after |flag|.
static int parse_field(const char *flag, const char *v, uint8_t *out) {
  char *end;
  unsigned long n = v != NULL ? strtoul(v, &end, 10) : 0;
  if (v == NULL || *v == 0 || *end != 0 || n > 255) {
    return fg_usage_error("tlsa", "%s needs a number from 0 to 255 (value '%s')", flag, v ? v : "");
  }
  *out = (uint8_t)n;
  return 0;
}

int fg_cmd_tlsa(int argc, char **argv) {
  const char *cert = NULL;
  uint8_t usage = FG_DANE_USAGE_DANE_EE, selector = FG_DANE_SELECTOR_SPKI,
          mtype = FG_DANE_MATCH_SHA256;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    uint8_t *field = strcmp(a, "--usage") == 0      ? &usage
                     : strcmp(a, "--selector") == 0 ? &selector
                     : strcmp(a, "--match") == 0    ? &mtype
                                                    : NULL;
    if (field != NULL) {
      if (parse_field(a, i + 1 < argc ? argv[i + 1] : NULL, field) != 0) return 2;
      i++;
    } else if (a[0] == '-' && a[1] != 0) {
      return fg_usage_error("tlsa", "unknown option '%s'", a);
    } else if (cert == NULL) {
      cert = a;
    } else {
      return fg_usage_error("tlsa", "unexpected argument '%s'", a);
    }
  }
  if (cert == NULL) return fg_usage_error("tlsa", "name the certificate file");
  // The parameters alone (the data comes from the certificate).
  fg_dane_tlsa probe = {.usage = usage,
                        .selector = selector,
                        .mtype = mtype,
                        .len = mtype == FG_DANE_MATCH_SHA256   ? 32
                               : mtype == FG_DANE_MATCH_SHA512 ? 64
                                                               : 1};
  fg_dane_usability u = fg_dane_tlsa_usability(&probe);
  if (u != FG_DANE_USABLE) {
    return fg_usage_error("tlsa", "%u %u %u: %s (usage 0-3, selector 0-1, match 0-2)", usage,
                          selector, mtype, fg_dane_usability_name(u));
  }
  char err[256];
  STACK_OF(X509) *certs = sk_X509_new_null();
  if (certs == NULL || fg_chain_read_certs(certs, cert, err, sizeof(err)) == 0) {
    fprintf(stderr, "fedgate tlsa: %s\n", certs ? err : "out of memory");
    sk_X509_pop_free(certs, X509_free);
    return 1;
  }
  uint8_t *der = NULL;
  int der_len = i2d_X509(sk_X509_value(certs, 0), &der);
  sk_X509_pop_free(certs, X509_free);
  size_t cap = der_len > 64 ? (size_t)der_len : 64, len = 0;
  uint8_t *out = der_len > 0 ? malloc(cap) : NULL;
  int ok =
      out != NULL && fg_dane_association(out, &len, cap, der, (size_t)der_len, selector, mtype);
  OPENSSL_free(der);
  if (!ok) {
    fprintf(stderr, "fedgate tlsa: %s: the certificate does not parse\n", cert);
    free(out);
    return 1;
  }
  printf("%u %u %u ", usage, selector, mtype);
  for (size_t i = 0; i < len; i++) printf("%02x", out[i]);
  printf("\n");
  free(out);
  return 0;
}
