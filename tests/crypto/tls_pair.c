// tls_pair.c: see tls_pair.h.
#include "tests/crypto/tls_pair.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

int tls_pair_pipe_write(void *arg, const uint8_t *d, size_t n) {
  pipe_buf *b = arg;
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->p = realloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, d, n);
  b->len += n;
  return 1;
}

// feed moves bytes from |in| into |t| (|chunk| at a time, 0 = all) and reads.
static void feed(fg_tls_conn *t, pipe_buf *in, size_t chunk, uint8_t *got, size_t *got_len,
                 int *done, int *err, int *closed) {
  size_t off = 0;
  while (off < in->len) {
    size_t n = chunk && in->len - off > chunk ? chunk : in->len - off;
    fg_tls_conn_set_input(t, in->p + off, n);
    off += n;
    for (;;) {
      size_t len;
      enum fg_tls_status st = fg_tls_conn_read(t, got + *got_len, 65536 - *got_len, &len);
      if (st == FG_TLS_WANT_INPUT) break;
      if (st == FG_TLS_HANDSHAKE_DONE) *done = 1;
      if (st == FG_TLS_DATA) *got_len += len;
      if (st == FG_TLS_CLOSED) {
        *closed = 1;
        break;
      }
      if (st == FG_TLS_ERROR) {
        *err = 1;
        break;
      }
    }
    assert_true(fg_tls_conn_input_done(t));
    if (*err) break;
  }
  in->len = 0;
}

void pump(pair *p, size_t chunk) {
  for (int i = 0; i < 20 && (p->to_s.len || p->to_c.len); i++) {
    feed(p->s, &p->to_s, chunk, p->got_s, &p->got_s_len, &p->done_s, &p->err_s, &p->closed_s);
    feed(p->c, &p->to_c, chunk, p->got_c, &p->got_c_len, &p->done_c, &p->err_c, &p->closed_c);
  }
}

pair *pair_new(fg_tls_ctx *sctx, fg_tls_ctx *cctx, const char *sni) {
  pair *p = calloc(1, sizeof(*p));
  p->s = fg_tls_conn_new(sctx, NULL, tls_pair_pipe_write, &p->to_c);
  p->c = fg_tls_conn_new(cctx, sni, tls_pair_pipe_write, &p->to_s);
  assert_non_null(p->s);
  assert_non_null(p->c);
  return p;
}

void pair_free(pair *p) {
  fg_tls_conn_free(p->s);
  fg_tls_conn_free(p->c);
  free(p->to_s.p);
  free(p->to_c.p);
  free(p);
}

int handshake(pair *p, size_t chunk) {
  assert_true(fg_tls_conn_start(p->c));
  pump(p, chunk);
  return p->done_c && p->done_s && !p->err_c && !p->err_s;
}
