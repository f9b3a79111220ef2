// cmd_posh.c: `fedgate posh CERT [--expires SECONDS]`: the POSH document
// (RFC 7711 §3.2) to publish at https://DOMAIN/.well-known/posh/xmpp-server.json
// for our certificate: its sha-256 and sha-512 fingerprints over the whole
// DER certificate, in base64 (docs/posh.md).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/mem.h>
#include <openssl/x509.h>

#include "crypto/chain.h"
#include "crypto/posh.h"
#include "gateway/cli/cmd.h"
#include "gateway/cli/command.h"

#define CMD "posh"

int fg_cmd_posh(int argc, char **argv) {
  const char *cert = NULL;
  unsigned long expires = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--expires") == 0) {
      if (i + 1 >= argc) return fg_usage_error(CMD, "--expires needs a value");
      char *end = NULL;
      const char *v = argv[++i];
      expires = strtoul(v, &end, 10);
      if (v[0] < '0' || v[0] > '9' || *end != 0 || expires > 0x7fffffffUL) {
        return fg_usage_error(CMD, "--expires wants 0 to 2147483647 seconds, not '%s'", v);
      }
    } else if (argv[i][0] == '-') {
      return fg_usage_error(CMD, "unknown argument '%s'", argv[i]);
    } else if (cert != NULL) {
      return fg_usage_error(CMD, "unexpected argument '%s' (one certificate)", argv[i]);
    } else {
      cert = argv[i];
    }
  }
  if (cert == NULL) return fg_usage_error(CMD, "a certificate file is required");
  STACK_OF(X509) *certs = sk_X509_new_null();
  char err[256];
  if (certs == NULL || fg_chain_read_certs(certs, cert, err, sizeof(err)) == 0) {
    fprintf(stderr, "fedgate posh: %s\n", certs == NULL ? "out of memory" : err);
    sk_X509_pop_free(certs, X509_free);
    return 1;
  }
  // The first certificate of a chain file is the server's own (the leaf).
  uint8_t *der = NULL;
  int len = i2d_X509(sk_X509_value(certs, 0), &der);
  sk_X509_pop_free(certs, X509_free);
  if (len <= 0) {
    fprintf(stderr, "fedgate posh: %s: cannot encode the certificate\n", cert);
    return 1;
  }
  char out[1024];
  size_t n = fg_posh_write(out, sizeof(out), der, (size_t)len, (uint32_t)expires);
  OPENSSL_free(der);
  if (n == 0) return 1;
  fputs(out, stdout);
  return 0;
}
