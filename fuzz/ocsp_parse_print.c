// ocsp_parse_print.c: prints crypto/ocsp's parse of each OCSP response file
// named on the command line, one line per file, for
// fuzz/ocsp_openssl_diff_test.py to compare with `openssl ocsp -resp_text`:
//
//   FILE parsed STATUS N_SINGLE CERT_STATUS...   (good, revoked or unknown)
//   FILE rejected REASON
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "crypto/ocsp.h"

static const char *const kCertStatus[] = {
    [FG_OCSP_CERT_GOOD] = "good",
    [FG_OCSP_CERT_REVOKED] = "revoked",
    [FG_OCSP_CERT_UNKNOWN] = "unknown",
};

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (f == NULL) {
      fprintf(stderr, "ocsp_parse_print: cannot open %s\n", argv[i]);
      return 1;
    }
    static uint8_t buf[1 << 20];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    const char *reason = "?";
    fg_ocsp_response *r = fg_ocsp_response_parse(buf, len, NULL, &reason);
    if (r == NULL) {
      printf("%s rejected %s\n", argv[i], reason);
      continue;
    }
    printf("%s parsed %d %zu", argv[i], (int)r->status, r->num_singles);
    for (size_t k = 0; k < r->num_singles; k++) printf(" %s", kCertStatus[r->singles[k].status]);
    printf("\n");
    fg_ocsp_response_free(r);
  }
  return 0;
}
