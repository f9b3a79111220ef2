// http_response_fuzzer.c: io/http_response (fg_http_response_feed) on
// arbitrary bytes, as if an OCSP or CRL server had sent them.
//
// The first input byte picks the setting (bit 0: the request was HEAD; bit 1:
// small bounds, so that the caps are reached; bit 2: end of connection after
// the input); the rest is the response. The oracle: the bytes fed in one
// chunk and the same bytes fed in chunks of pseudo-random sizes (drawn from a
// generator seeded by the input) give the same outcome: status, bytes
// consumed, status code, keep-alive, number of fields and body. Besides the
// sanitizers, it checks the bounds the caller relies on: the body never
// exceeds max_body, consumed never exceeds the input, an error or DONE is
// final, and keep-alive is only ever claimed for a complete response.
// Seeds: fuzz/corpus/http_response_fuzzer/ (hand-written responses).
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_check.h"
#include "io/http_response.h"

typedef struct outcome {
  fg_http_parse_status st;
  uint64_t consumed;
  int code, keep;
  size_t fields, body_len;
  uint8_t *body;  // a copy
} outcome;

static uint64_t next_rand(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

// run feeds |in| in one chunk when |seed| is 0, else in random chunks.
static outcome run(const uint8_t *in, size_t len, const fg_http_response_limits *lim, int head,
                   int eof, uint64_t seed) {
  fg_http_response r;
  fg_http_response_init(&r, lim, head);
  outcome o = {0};
  fg_http_parse_status st = FG_HTTP_PARSE_NEED_MORE;
  size_t pos = 0;
  do {
    size_t n = len - pos;
    if (seed != 0 && n > 0) n = 1 + (size_t)(next_rand(&seed) % (n < 64 ? n : 64));
    size_t used = 0;
    st = fg_http_response_feed(&r, in + pos, n, &used);
    FUZZ_CHECK(used <= n);
    if (st == FG_HTTP_PARSE_NEED_MORE) FUZZ_CHECK(used == n);
    o.consumed += used;
    pos += n;
    if (st != FG_HTTP_PARSE_NEED_MORE) {
      // Final: nothing more is consumed, the status stays.
      size_t again = 1;
      FUZZ_CHECK(fg_http_response_feed(&r, in, len, &again) == st && again == 0);
    }
  } while (pos < len && st == FG_HTTP_PARSE_NEED_MORE);
  if (eof) {
    fg_http_parse_status f = fg_http_response_finish(&r);
    if (st != FG_HTTP_PARSE_NEED_MORE) FUZZ_CHECK(f == st);
    FUZZ_CHECK(f != FG_HTTP_PARSE_NEED_MORE);
    st = f;
  }
  FUZZ_CHECK(st == fg_http_response_result(&r));
  FUZZ_CHECK(o.consumed <= len && o.consumed == fg_http_response_bytes(&r));
  o.st = st;
  o.code = fg_http_response_code(&r);
  FUZZ_CHECK(o.code == 0 || (o.code >= 100 && o.code <= 599));
  o.keep = fg_http_response_keep_alive(&r);
  if (o.keep) FUZZ_CHECK(st == FG_HTTP_PARSE_DONE);
  o.fields = fg_http_response_num_fields(&r);
  FUZZ_CHECK(o.fields <= lim->max_fields);
  const uint8_t *b = fg_http_response_body(&r, &o.body_len);
  FUZZ_CHECK(o.body_len <= lim->max_body);
  if (o.body_len > 0) {
    o.body = malloc(o.body_len);
    FUZZ_CHECK(o.body != NULL);
    memcpy(o.body, b, o.body_len);
  }
  fg_http_response_cleanup(&r);
  return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  uint8_t mode = data[0];
  const uint8_t *in = data + 1;
  size_t len = size - 1;
  fg_http_response_limits lim = {.max_header_bytes = 16384, .max_fields = 64, .max_body = 1 << 20};
  if (mode & 2)
    lim = (fg_http_response_limits){.max_header_bytes = 96, .max_fields = 3, .max_body = 16};
  int head = mode & 1, eof = (mode & 4) != 0;
  outcome whole = run(in, len, &lim, head, eof, 0);
  uint64_t seed = 0x9e3779b97f4a7c15ull ^ size;
  for (size_t i = 0; i < size && i < 32; i++) seed = seed * 31 + data[i];
  if (seed == 0) seed = 1;
  for (int round = 0; round < 3; round++) {
    outcome cut = run(in, len, &lim, head, eof, seed + (uint64_t)round);
    FUZZ_CHECK(cut.st == whole.st);
    FUZZ_CHECK(cut.consumed == whole.consumed);
    FUZZ_CHECK(cut.code == whole.code);
    FUZZ_CHECK(cut.keep == whole.keep);
    FUZZ_CHECK(cut.fields == whole.fields);
    FUZZ_CHECK(cut.body_len == whole.body_len);
    if (whole.body_len > 0) FUZZ_CHECK(memcmp(cut.body, whole.body, whole.body_len) == 0);
    free(cut.body);
  }
  free(whole.body);
  return 0;
}
