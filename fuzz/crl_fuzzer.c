// crl_fuzzer.c: crypto/crl's CRL parser, check and lookup on arbitrary
// bytes, as if a CRL distribution point (plain HTTP) had sent them; and the
// same bytes as a certificate for fg_crl_urls_from_cert.
//
// Besides the sanitizers, the harness checks what callers rely on:
//   - a parsed CRL's entries are sorted by serial, and looking up each
//     entry's serial finds an entry with that serial;
//   - fg_crl_check against a fixed CA returns a defined status;
//   - URLs taken from a certificate are NUL-terminated, start with http://
//     (any case) and hold printable ASCII only.
// Seeds: fuzz/corpus/crl_fuzzer/ (CRLs from `openssl ca -gencrl`, and a
// certificate with CRL distribution points and AIA).
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/crl.h"
#include "crypto/devpki.h"
#include "fuzz/fuzz_check.h"

static X509 *g_ca;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  EVP_PKEY *key = fg_devpki_key_p256();
  g_ca = fg_devpki_mint_ca(key, "Fuzz CA", 0, 4102444800);
  FUZZ_CHECK(g_ca != NULL);
  EVP_PKEY_free(key);
  return 0;
}

static void check_urls(char urls[][FG_CRL_MAX_URL_LEN], size_t n) {
  FUZZ_CHECK(n <= FG_CRL_MAX_URLS);
  for (size_t i = 0; i < n; i++) {
    size_t len = strnlen(urls[i], FG_CRL_MAX_URL_LEN);
    FUZZ_CHECK(len < FG_CRL_MAX_URL_LEN && strncasecmp(urls[i], "http://", 7) == 0);
    for (size_t k = 0; k < len; k++) FUZZ_CHECK(urls[i][k] > 0x20 && urls[i][k] < 0x7f);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *why = NULL;
  fg_crl *crl = fg_crl_parse(data, size, 1 << 20, &why);
  if (crl == NULL) {
    FUZZ_CHECK(why != NULL);
  } else {
    for (size_t i = 0; i < crl->num_entries; i++) {
      const CBS *s = &crl->entries[i].serial;
      if (i > 0) {
        const CBS *p = &crl->entries[i - 1].serial;
        FUZZ_CHECK(
            CBS_len(p) < CBS_len(s) ||
            (CBS_len(p) == CBS_len(s) && memcmp(CBS_data(p), CBS_data(s), CBS_len(s)) <= 0));
      }
      FUZZ_CHECK(fg_crl_lookup(crl, CBS_data(s), CBS_len(s), NULL, NULL));
    }
    fg_crl_status st = fg_crl_check(crl, g_ca, 1700000000, 300, 86400);
    FUZZ_CHECK(st <= FG_CRL_ERR_EXPIRED);
    fg_crl_free(crl);
  }
  fg_crl_urls urls;
  if (fg_crl_urls_from_cert(&urls, data, size)) {
    check_urls(urls.crl, urls.num_crl);
    check_urls(urls.ocsp, urls.num_ocsp);
  }
  return 0;
}
