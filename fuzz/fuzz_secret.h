// fuzz_secret.h: the dialback secret the s2s fuzz targets share, made once.
#ifndef FEDGATE_FUZZ_FUZZ_SECRET_H
#define FEDGATE_FUZZ_FUZZ_SECRET_H

#include "crypto/dialback_key.h"

// fuzz_dialback_secret returns a secret initialised on first use.
static inline const fg_dialback_secret *fuzz_dialback_secret(void) {
  static fg_dialback_secret secret;
  static int init;
  if (!init) {
    fg_dialback_secret_init(&secret, (const uint8_t *)"fuzz", 4);
    init = 1;
  }
  return &secret;
}

#endif  // FEDGATE_FUZZ_FUZZ_SECRET_H
