// jid.c: domainpart extraction and normalisation for routing decisions.
#include "gateway/jid.h"

#include <string.h>

static int forbidden_byte(uint8_t c) {
  return c <= 0x20 || c == 0x7f || strchr("@/\\\"&'<>:[]", c) != NULL;
}

int fg_domain_normalize(char out[FG_DOMAIN_MAX + 1], const uint8_t *in, size_t len) {
  if (len > 0 && in[len - 1] == '.') len--;
  if (len == 0 || len > FG_DOMAIN_MAX) return 0;
  size_t label = 0;
  int all_digits_or_dots = 1;
  for (size_t i = 0; i < len; i++) {
    uint8_t c = in[i];
    if (c == 0 || forbidden_byte(c)) return 0;
    if (c == '.') {
      if (label == 0) return 0;
      label = 0;
    } else if (++label > 63) {
      return 0;
    }
    if (c != '.' && (c < '0' || c > '9')) all_digits_or_dots = 0;
    out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
  }
  if (label == 0 || all_digits_or_dots) return 0;  // empty last label; IPv4 literal
  out[len] = 0;
  return 1;
}

int fg_jid_domain(char out[FG_DOMAIN_MAX + 1], const uint8_t *jid, size_t len) {
  const uint8_t *slash = memchr(jid, '/', len);
  size_t bare = slash ? (size_t)(slash - jid) : len;
  if (slash != NULL && bare + 1 == len) return 0;  // empty resourcepart
  const uint8_t *at = memchr(jid, '@', bare);
  size_t start = 0;
  if (at != NULL) {
    if (at == jid) return 0;  // empty localpart
    start = (size_t)(at - jid) + 1;
  }
  return fg_domain_normalize(out, jid + start, bare - start);
}
