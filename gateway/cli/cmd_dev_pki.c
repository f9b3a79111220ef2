// cmd_dev_pki.c: `fedgate dev-pki DIR [--domain D ...] [--xmppaddr]`
// writes a development CA and one ECDSA P-256 certificate per domain (DNS-ID
// + SRV-ID _xmpp-server.D, optionally XmppAddr) with BoringSSL. Files:
// DIR/ca.crt, DIR/ca.key (reused when present), and DIR/<domain>.crt,
// DIR/<domain>.key per domain (see docs/identity.md). Without --domain it
// writes the CA alone: the internal CA of internal_hop.ca_cert/ca_key.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/devpki.h"
#include "crypto/identity.h"
#include "gateway/cli/cmd.h"
#include "gateway/cli/command.h"

#define CMD "dev-pki"
#define MAX_DOMAINS 256

int fg_cmd_dev_pki(int argc, char **argv) {
  const char *dir = NULL;
  const char *domains[MAX_DOMAINS];
  size_t n = 0;
  int xmppaddr = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--xmppaddr") == 0) {
      xmppaddr = 1;
    } else if (strcmp(a, "--domain") == 0) {
      if (i + 1 >= argc) return fg_usage_error(CMD, "--domain needs a value");
      if (n == MAX_DOMAINS) return fg_usage_error(CMD, "more than %d domains", MAX_DOMAINS);
      domains[n++] = argv[++i];
    } else if (a[0] == '-' && a[1] != 0) {
      return fg_usage_error(CMD, "unknown argument '%s'", a);
    } else if (dir == NULL) {
      dir = a;
    } else {
      return fg_usage_error(CMD, "unexpected argument '%s' (DIR is '%s')", a, dir);
    }
  }
  if (dir == NULL) return fg_usage_error(CMD, "DIR is required");
  if (xmppaddr && n == 0) return fg_usage_error(CMD, "--xmppaddr needs a --domain");
  char err[1024];
  if (!fg_devpki_write_dir(dir, domains, n, xmppaddr, err, sizeof(err))) {
    fprintf(stderr, "fedgate %s: %s\n", CMD, err);
    // Bad domains are usage errors; failing to write is a runtime failure.
    return strncmp(err, "invalid domain", 14) == 0 ? 2 : 1;
  }
  printf("%s/ca.crt\n%s/ca.key\n", dir, dir);
  for (size_t i = 0; i < n; i++) {
    // The file names use the normalised domain (lower case, A-labels).
    fg_identity_ref ref;
    fg_identity_ref_init(&ref, (const uint8_t *)domains[i], strlen(domains[i]), NULL);
    printf("%s/%s.crt\n%s/%s.key\n", dir, ref.name, dir, ref.name);
  }
  return 0;
}
