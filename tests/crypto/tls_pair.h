// tls_pair.h: a TLS client and server of crypto/tls.h wired to each other
// in memory, for the tests of tls.c and of resumption.
#ifndef FEDGATE_TESTS_CRYPTO_TLS_PAIR_H
#define FEDGATE_TESTS_CRYPTO_TLS_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/tls.h"

typedef struct pipe_buf {
  uint8_t *p;
  size_t len, cap;
} pipe_buf;

typedef struct pair {
  fg_tls_conn *c, *s;
  pipe_buf to_s, to_c;
  uint8_t got_c[65536], got_s[65536];
  size_t got_c_len, got_s_len;
  int done_c, done_s, err_c, err_s, closed_c, closed_s;
} pair;

// tls_pair_pipe_write appends ciphertext to the pipe_buf |arg|.
int tls_pair_pipe_write(void *arg, const uint8_t *d, size_t n);

// pump moves bytes both ways (|chunk| at a time, 0 = all) until quiet.
void pump(pair *p, size_t chunk);

// pair_new connects a server of |sctx| and a client of |cctx| asking |sni|.
pair *pair_new(fg_tls_ctx *sctx, fg_tls_ctx *cctx, const char *sni);
void pair_free(pair *p);

// handshake starts the client and pumps; it returns 1 when both sides
// completed the handshake without error.
int handshake(pair *p, size_t chunk);

#endif  // FEDGATE_TESTS_CRYPTO_TLS_PAIR_H
