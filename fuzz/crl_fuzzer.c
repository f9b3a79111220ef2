// crl_fuzzer.c: crypto/crl's CRL parser, check and lookup on arbitrary
// bytes, as if a CRL distribution point (plain HTTP) had sent them; and the
// same bytes as a certificate for fg_crl_urls_from_cert.
//
// CRLs are checked against the CA of a fixed PKI (fuzz/revocation_fixture.h)
// whose key signed the fixture-* seeds, so mutations of real CRLs reach the
// signature and time checks.
//
// Besides the sanitizers, the harness checks what callers rely on:
//   - a parsed CRL's entries are sorted by serial, and looking up each
//     entry's serial finds an entry with that serial, date and reason;
//   - fg_crl_check against the fixture's CA, at the fixture's time, 30 days
//     before and 10 years after, returns a defined status, and FG_CRL_OK only
//     when the CA's key signed the CRL (checked with BoringSSL, not
//     crypto/der) and the CRL is current at that time; the fixture's leaf is
//     found revoked exactly when its serial is among the entries; no CRL
//     passes against the responder certificate (its keyUsage lacks cRLSign);
//   - URLs taken from a certificate are NUL-terminated, start with http://
//     (any case) and hold printable ASCII only.
// Seeds: fuzz/corpus/crl_fuzzer/ (CRLs from `openssl ca -gencrl`, the
// fixture-* CRLs of fuzz/revocation_seed_gen.sh, and a certificate with CRL
// distribution points and AIA).
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/crl.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/revocation_oracle.h"

static X509 *g_ca, *g_leaf, *g_responder;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  g_ca = fixture_cert(kFixtureCaCert);
  g_leaf = fixture_cert(kFixtureLeafCert);
  g_responder = fixture_cert(kFixtureResponderCert);
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

static void check_at(const fg_crl *crl, int64_t now) {
  const int64_t skew = 300, max_age = 86400;
  fg_crl_status st = fg_crl_check(crl, g_ca, now, skew, max_age);
  FUZZ_CHECK(st <= FG_CRL_ERR_EXPIRED && fg_crl_status_string(st)[0] != '?');
  if (st != FG_CRL_OK) return;
  FUZZ_CHECK(oracle_signed_by(g_ca, &crl->tbs, &crl->signature));
  FUZZ_CHECK(crl->this_update <= now + skew);
  FUZZ_CHECK(crl->has_next_update ? crl->next_update + skew >= now
                                  : crl->this_update + max_age + skew >= now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *why = NULL;
  fg_crl *crl = fg_crl_parse(data, size, 1 << 20, &why);
  if (crl == NULL) {
    FUZZ_CHECK(why != NULL);
  } else {
    static const uint8_t kLeafSerial[] = {0x10, 0x01};
    int leaf_listed = 0;
    for (size_t i = 0; i < crl->num_entries; i++) {
      const fg_crl_entry *e = &crl->entries[i];
      const CBS *s = &e->serial;
      if (i > 0) {
        const CBS *p = &crl->entries[i - 1].serial;
        FUZZ_CHECK(CBS_len(p) < CBS_len(s) ||
                   (CBS_len(p) == CBS_len(s) && memcmp(CBS_data(p), CBS_data(s), CBS_len(s)) <= 0));
      }
      if (CBS_mem_equal(s, kLeafSerial, sizeof(kLeafSerial))) leaf_listed = 1;
      int64_t date = 0;
      int reason = 0;
      FUZZ_CHECK(fg_crl_lookup(crl, CBS_data(s), CBS_len(s), &date, &reason));
      FUZZ_CHECK(reason == FG_CRL_REASON_NONE || fg_crl_reason_string(reason)[0] != '?');
      // With duplicate serials the lookup may find another entry of the same serial.
      int unique =
          (i == 0 || !CBS_mem_equal(&crl->entries[i - 1].serial, CBS_data(s), CBS_len(s))) &&
          (i + 1 == crl->num_entries ||
           !CBS_mem_equal(&crl->entries[i + 1].serial, CBS_data(s), CBS_len(s)));
      if (unique) FUZZ_CHECK(date == e->revocation_date && reason == e->reason);
    }
    FUZZ_CHECK(fg_crl_lookup_cert(crl, g_leaf, NULL, NULL) == leaf_listed);
    check_at(crl, FUZZ_FIXTURE_NOW);
    check_at(crl, FUZZ_FIXTURE_NOW - 30 * 86400);
    check_at(crl, FUZZ_FIXTURE_NOW + 3650 * 86400LL);
    // The responder's keyUsage lacks cRLSign: it never issues a CRL that passes.
    fg_crl_status st = fg_crl_check(crl, g_responder, FUZZ_FIXTURE_NOW, 300, 86400);
    FUZZ_CHECK(st != FG_CRL_OK && fg_crl_status_string(st)[0] != '?');
    fg_crl_free(crl);
  }
  fg_crl_urls urls;
  if (fg_crl_urls_from_cert(&urls, data, size)) {
    check_urls(urls.crl, urls.num_crl);
    check_urls(urls.ocsp, urls.num_ocsp);
  }
  return 0;
}
