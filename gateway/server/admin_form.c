// admin_form.c: the admin actions' form bodies (WHATWG URL standard,
// application/x-www-form-urlencoded), decoded strictly: a malformed escape
// is an error, never passed through.
#include "gateway/server/admin_form.h"

#include <string.h>

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// decode writes the |n| encoded bytes at |in| to |out|; 0 on a bad escape,
// a NUL byte or no room.
static int decode(const char *in, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = in[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (i + 2 >= n) return 0;  // two hex digits must follow
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return 0;
      c = (char)(hi * 16 + lo);
      i += 2;
    }
    if (c == 0 || o + 1 >= cap) return 0;
    out[o++] = c;
  }
  out[o] = 0;
  return 1;
}

fg_form_result fg_form_get(const char *body, size_t len, const char *key, char *out, size_t cap) {
  size_t klen = strlen(key);
  size_t i = 0;
  while (i < len) {
    const char *amp = memchr(body + i, '&', len - i);
    size_t end = amp ? (size_t)(amp - body) : len;
    const char *pair = body + i;
    size_t plen = end - i;
    const char *eq = memchr(pair, '=', plen);
    size_t nlen = eq ? (size_t)(eq - pair) : plen;
    if (nlen == klen && memcmp(pair, key, klen) == 0) {
      if (cap == 0) return FG_FORM_BAD;
      const char *v = eq ? eq + 1 : pair + plen;
      size_t vlen = (size_t)(pair + plen - v);
      return decode(v, vlen, out, cap) ? FG_FORM_FOUND : FG_FORM_BAD;
    }
    i = end + 1;
  }
  return FG_FORM_ABSENT;
}

static int unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// put appends |s| encoded at |*o|; 0 when out of room.
static int put(char *out, size_t cap, size_t *o, const char *s) {
  static const char kHex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    size_t need = unreserved(*p) ? 1 : 3;
    if (*o + need >= cap) return 0;
    if (need == 1) {
      out[(*o)++] = (char)*p;
      continue;
    }
    out[(*o)++] = '%';
    out[(*o)++] = kHex[*p >> 4];
    out[(*o)++] = kHex[*p & 15];
  }
  return 1;
}

int fg_form_add(char *out, size_t cap, size_t *len, const char *key, const char *value) {
  size_t o = *len;
  if (o > 0) {
    if (o + 1 >= cap) return 0;
    out[o++] = '&';
  }
  if (!put(out, cap, &o, key) || o + 1 >= cap) goto no_room;
  out[o++] = '=';
  if (!put(out, cap, &o, value)) goto no_room;
  out[o] = 0;
  *len = o;
  return 1;
no_room:
  if (cap > *len) out[*len] = 0;
  return 0;
}
