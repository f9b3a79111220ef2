// proxy_header_fuzzer.c: io/proxy_header (fg_proxy_header_feed) on arbitrary
// bytes, as if a load balancer, or someone pretending to be one, had written
// them at the start of a connection.
//
// The oracle: the bytes fed in one chunk and in chunks of pseudo-random sizes
// (seeded by the input) give the same outcome: status, bytes consumed,
// refusal reason and result. Besides the sanitizers it checks what the
// connection relies on: NEED_MORE takes every byte; nothing is taken past
// the header (a v1 header ends with CRLF within 107 bytes; a v2 header is
// exactly 16 bytes plus its length field, at most FG_PROXY_V2_MAX_LEN); a
// decision is final; addresses are only ever IPv4 or IPv6; and a TCP4 line
// printed back from the result is the line consumed; a v2 header names
// addresses only for PROXY over TCP4 or TCP6.
// Seeds: fuzz/corpus/proxy_header_fuzzer/ (HAProxy-style headers, v1 and v2,
// with TLVs, LOCAL, and malformed ones).
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz/fuzz_check.h"
#include "io/proxy_header.h"

typedef struct outcome {
  fg_proxy_status st;
  size_t consumed;
  fg_proxy_error err;
  fg_proxy_result res;
} outcome;

static uint64_t next_rand(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static outcome run(const uint8_t *in, size_t len, uint64_t seed) {
  fg_proxy_header p;
  fg_proxy_header_init(&p);
  outcome o;
  memset(&o, 0, sizeof(o));
  o.st = FG_PROXY_NEED_MORE;
  size_t pos = 0;
  while (pos < len && o.st == FG_PROXY_NEED_MORE) {
    size_t n = len - pos;
    if (seed != 0) n = 1 + (size_t)(next_rand(&seed) % (n < 32 ? n : 32));
    size_t used = 0;
    o.st = fg_proxy_header_feed(&p, in + pos, n, &used);
    FUZZ_CHECK(used <= n);
    if (o.st == FG_PROXY_NEED_MORE) FUZZ_CHECK(used == n);
    o.consumed += used;
    pos += n;
  }
  if (o.st != FG_PROXY_NEED_MORE) {
    size_t again = 1;
    FUZZ_CHECK(fg_proxy_header_feed(&p, in, len, &again) == o.st && again == 0);
  }
  o.err = fg_proxy_header_error(&p);
  FUZZ_CHECK((o.st == FG_PROXY_FAILED) == (o.err != FG_PROXY_OK));
  FUZZ_CHECK(o.err < FG_PROXY_ERR_TRUNCATED);  // the others are the connection's
  FUZZ_CHECK(strcmp(fg_proxy_error_name(o.err), "unknown") != 0);
  FUZZ_CHECK(strcmp(fg_proxy_error_text(o.err), "unknown") != 0);
  const fg_proxy_result *r = fg_proxy_header_result(&p);
  FUZZ_CHECK((o.st == FG_PROXY_DONE) == (r != NULL));
  if (r != NULL) o.res = *r;
  return o;
}

static void check_done(const uint8_t *in, const outcome *o) {
  const fg_proxy_result *r = &o->res;
  if (r->version == 1) {
    FUZZ_CHECK(o->consumed <= FG_PROXY_V1_MAX && o->consumed >= 8);
    FUZZ_CHECK(memcmp(in, "PROXY ", 6) == 0);
    FUZZ_CHECK(in[o->consumed - 2] == '\r' && in[o->consumed - 1] == '\n');
    FUZZ_CHECK(memchr(in, '\n', o->consumed - 1) == NULL);
  } else {
    FUZZ_CHECK(r->version == 2);
    FUZZ_CHECK(o->consumed >= 16);
    size_t len_field = (size_t)in[14] << 8 | in[15];
    FUZZ_CHECK(len_field <= FG_PROXY_V2_MAX_LEN && o->consumed == 16 + len_field);
  }
  if (!r->has_addresses) return;
  // §2.2: only PROXY over TCP4 or TCP6 names addresses (LOCAL, UNSPEC and
  // the UDP and UNIX families keep the connection's own).
  if (r->version == 2) FUZZ_CHECK(in[12] == 0x21 && (in[13] == 0x11 || in[13] == 0x21));
  int fam = r->src.sa.sa_family;
  FUZZ_CHECK(fam == AF_INET || fam == AF_INET6);
  FUZZ_CHECK(r->dst.sa.sa_family == fam);
  if (r->version == 1 && fam == AF_INET) {
    char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN], line[160];
    inet_ntop(AF_INET, &r->src.in.sin_addr, s, sizeof(s));
    inet_ntop(AF_INET, &r->dst.in.sin_addr, d, sizeof(d));
    int n = snprintf(line, sizeof(line), "PROXY TCP4 %s %s %u %u\r\n", s, d,
                     ntohs(r->src.in.sin_port), ntohs(r->dst.in.sin_port));
    FUZZ_CHECK(n > 0 && (size_t)n == o->consumed && memcmp(line, in, o->consumed) == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  outcome whole = run(data, size, 0);
  if (whole.st == FG_PROXY_DONE) check_done(data, &whole);
  uint64_t seed = 0x9E3779B97F4A7C15ull ^ size;
  for (size_t i = 0; i < size && i < 8; i++) seed = seed * 131 + data[i];
  if (seed == 0) seed = 1;
  outcome pieces = run(data, size, seed);
  FUZZ_CHECK(pieces.st == whole.st && pieces.consumed == whole.consumed && pieces.err == whole.err);
  FUZZ_CHECK(memcmp(&pieces.res, &whole.res, sizeof(whole.res)) == 0);
  return 0;
}
