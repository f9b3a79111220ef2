// jid_fuzzer.c: gateway/s2s/jid.c (fg_jid_domain, fg_jid_domain_span,
// fg_domain_normalize) on arbitrary bytes, as found in a peer's 'from' and
// 'to' attributes. Besides the sanitizers, the harness checks against the
// contract of jid.h, restated here without its code:
//   - the span lies inside the input, after the first '@' and before the
//     first '/', and fg_jid_domain accepts only what normalising the span
//     accepts, with the same result;
//   - an accepted domain is 1-253 bytes, NUL-terminated, without ASCII
//     capitals, forbidden bytes or a trailing dot, made of labels of 1-63
//     bytes, not an IPv4 literal, and normalising it again is the identity;
//   - it is the span lower-cased (one trailing dot dropped);
//   - a span that is a valid LDH host name (RFC 1123 §2.1, at most 253 bytes,
//     last label not all digits) is always accepted.
// jid.h accepts more than LDH on purpose (U-labels, '_'), so the LDH rule is
// a lower bound here, not the contract.
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/s2s/jid.h"
#include "fuzz/fuzz_check.h"

static int forbidden(uint8_t c) {
  return c < 0x20 || c == 0x7f || (c != 0 && strchr(" \"&'/:<>@[\\]", c) != NULL);
}

static uint8_t lower(uint8_t c) {
  return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

// ldh_host reports whether |s| (|len| bytes, one trailing dot allowed) is an
// RFC 1123 host name that is not an IPv4 literal.
static int ldh_host(const uint8_t *s, size_t len) {
  if (len > 0 && s[len - 1] == '.') len--;
  if (len == 0 || len > FG_DOMAIN_MAX) return 0;
  size_t label = 0;
  int last_all_digits = 1;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || s[i] == '.') {
      if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-') return 0;
      if (i < len) last_all_digits = 1;
      label = 0;
      continue;
    }
    uint8_t c = lower(s[i]);
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return 0;
    if (c < '0' || c > '9') last_all_digits = 0;
    label++;
  }
  return !last_all_digits;
}

static void check_domain(const char *d, const uint8_t *in, size_t len) {
  size_t n = strnlen(d, FG_DOMAIN_MAX + 1);
  FUZZ_CHECK(n >= 1 && n <= FG_DOMAIN_MAX);
  FUZZ_CHECK(d[n - 1] != '.' && d[0] != '.');
  size_t label = 0;
  int all_digits_or_dots = 1;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = (uint8_t)d[i];
    FUZZ_CHECK(!forbidden(c));
    FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    if (c == '.') {
      FUZZ_CHECK(label > 0);
      label = 0;
      continue;
    }
    FUZZ_CHECK(++label <= 63);
    if (c < '0' || c > '9') all_digits_or_dots = 0;
  }
  FUZZ_CHECK(!all_digits_or_dots);
  // The span lower-cased, without one trailing dot.
  if (len > 0 && in[len - 1] == '.') len--;
  FUZZ_CHECK(len == n);
  for (size_t i = 0; i < n; i++) FUZZ_CHECK((uint8_t)d[i] == lower(in[i]));
  // Normalising again is the identity.
  char again[FG_DOMAIN_MAX + 1];
  FUZZ_CHECK(fg_domain_normalize(again, (const uint8_t *)d, n));
  FUZZ_CHECK(strcmp(again, d) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char dom[FG_DOMAIN_MAX + 1], norm[FG_DOMAIN_MAX + 1];
  size_t start = 0, dlen = 0;
  int span = fg_jid_domain_span(data, size, &start, &dlen);
  int ok = fg_jid_domain(dom, data, size);
  if (!span) {
    FUZZ_CHECK(!ok);
  } else {
    FUZZ_CHECK(start <= size && dlen <= size - start);
    const uint8_t *slash = memchr(data, '/', size);
    size_t bare = slash ? (size_t)(slash - data) : size;
    FUZZ_CHECK(start + dlen == bare);
    if (start > 0)
      FUZZ_CHECK(start >= 2 && data[start - 1] == '@' && !memchr(data, '@', start - 1));
    int nok = fg_domain_normalize(norm, data + start, dlen);
    FUZZ_CHECK(ok == nok);
    if (ok) FUZZ_CHECK(strcmp(dom, norm) == 0);
    if (ldh_host(data + start, dlen)) FUZZ_CHECK(ok);
  }
  if (ok) check_domain(dom, data + start, dlen);
  // The whole input as a bare domain.
  if (fg_domain_normalize(norm, data, size)) check_domain(norm, data, size);
  if (ldh_host(data, size)) FUZZ_CHECK(fg_domain_normalize(norm, data, size));
  return 0;
}
