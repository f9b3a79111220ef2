// posh_document_fuzzer.c: crypto/posh (fg_posh_parse) on arbitrary bytes, as
// if a domain's https://DOMAIN/.well-known/posh/xmpp-server.json had held
// them (RFC 7711).
//
// Besides the sanitizers, it checks what the gateway relies on: a refused
// document leaves nothing behind (no fingerprint, no url) and says why; an
// accepted one is either primary (at least one usable fingerprint of the
// right length, no url to follow) or a reference (an https:// url, no
// fingerprint); the verdict does not depend on bytes after the input (the
// input is parsed from a copy of exactly its length); and a document the
// writer makes for the input, taken as a certificate, parses back and
// matches it.
// Seeds: fuzz/corpus/posh_document_fuzzer/ (hand-written documents).
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/posh.h"
#include "fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy = malloc(size ? size : 1);
  FUZZ_CHECK(copy != NULL);
  if (size > 0) memcpy(copy, data, size);
  fg_posh_doc doc;
  char why[200];
  fg_posh_status s = fg_posh_parse(&doc, copy, size, why, sizeof(why));
  if (s != FG_POSH_OK) {
    FUZZ_CHECK(doc.n_fingerprints == 0 && doc.url[0] == 0 && why[0] != 0);
  } else if (doc.primary) {
    FUZZ_CHECK(doc.n_fingerprints > 0 && doc.n_fingerprints <= FG_POSH_MAX_FINGERPRINTS);
    FUZZ_CHECK(doc.url[0] == 0);
    for (size_t i = 0; i < doc.n_fingerprints; i++) {
      FUZZ_CHECK(fg_posh_hash_len(doc.fingerprints[i].hash) != 0);
    }
  } else {
    FUZZ_CHECK(doc.n_fingerprints == 0 && strncmp(doc.url, "https://", 8) == 0);
    FUZZ_CHECK(strlen(doc.url) > 8);
  }
  FUZZ_CHECK(s == FG_POSH_OK || s == fg_posh_parse(&doc, copy, size, NULL, 0));
  char out[1024];
  size_t n = fg_posh_write(out, sizeof(out), copy, size, (uint32_t)(size & 0xffff));
  FUZZ_CHECK(n > 0);
  FUZZ_CHECK(fg_posh_parse(&doc, (const uint8_t *)out, n, NULL, 0) == FG_POSH_OK);
  FUZZ_CHECK(fg_posh_match(&doc, copy, size));
  free(copy);
  return 0;
}
