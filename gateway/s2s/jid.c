// jid.c: domainpart extraction and normalisation for routing decisions.
#include "gateway/s2s/jid.h"

#include <string.h>

// kForbidden: bytes that never appear in a domainpart we route on (controls,
// space, DEL, and @ / \ " & ' < > : [ ]), one bit per byte.
static const uint32_t kForbidden[8] = {
    0xffffffffu,                                           // 0x00-0x1f
    (1u << 0) | (1u << ('"' - 32)) | (1u << ('&' - 32)) |  // 0x20-0x3f: space " & ' / : < >
        (1u << ('\'' - 32)) | (1u << ('/' - 32)) | (1u << (':' - 32)) | (1u << ('<' - 32)) |
        (1u << ('>' - 32)),
    (1u << ('@' - 64)) | (1u << ('[' - 64)) | (1u << ('\\' - 64)) | (1u << (']' - 64)),
    1u << (0x7f - 96),  // DEL
    0,
    0,
    0,
    0,  // 0x80-0xff: UTF-8 bytes of IDNs
};

static int forbidden_byte(uint8_t c) {
  return (kForbidden[c >> 5] >> (c & 31)) & 1u;
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

// kPartMax: the longest localpart and resourcepart, in bytes (RFC 7622
// §3.3.1, §3.4.1).
enum { kPartMax = 1023 };

int fg_jid_domain_span(const uint8_t *jid, size_t len, size_t *start, size_t *dlen) {
  const uint8_t *slash = memchr(jid, '/', len);
  size_t bare = slash ? (size_t)(slash - jid) : len;
  if (slash != NULL && (bare + 1 == len || len - bare - 1 > kPartMax)) return 0;  // resourcepart
  const uint8_t *at = memchr(jid, '@', bare);
  *start = 0;
  if (at != NULL) {
    if (at == jid || at - jid > kPartMax) return 0;  // empty or too long localpart
    *start = (size_t)(at - jid) + 1;
  }
  *dlen = bare - *start;
  return 1;
}

size_t fg_jid_bare_key(uint8_t *out, size_t cap, const uint8_t *jid, size_t len,
                       const char *domain) {
  const uint8_t *slash = len > 0 ? memchr(jid, '/', len) : NULL;
  size_t bare = slash != NULL ? (size_t)(slash - jid) : len;
  const uint8_t *at = bare > 0 ? memchr(jid, '@', bare) : NULL;
  size_t local = at != NULL ? (size_t)(at - jid) + 1 : 0, dlen = strlen(domain);
  if (local + dlen > cap) return 0;
  for (size_t i = 0; i < local; i++) {
    out[i] = jid[i] >= 'A' && jid[i] <= 'Z' ? (uint8_t)(jid[i] + 32) : jid[i];
  }
  memcpy(out + local, domain, dlen);
  return local + dlen;
}

int fg_jid_domain(char out[FG_DOMAIN_MAX + 1], const uint8_t *jid, size_t len) {
  size_t start, dlen;
  return fg_jid_domain_span(jid, len, &start, &dlen) && fg_domain_normalize(out, jid + start, dlen);
}
