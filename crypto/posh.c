// posh.c: POSH documents (RFC 7711). See posh.h.
//
// The JSON reader is a recursive descent over RFC 8259's grammar with a
// depth bound, used for this one document shape: every value is checked for
// well-formedness (strings as UTF-8 with valid escapes, numbers by the
// grammar), and only the members the POSH reader needs are decoded.
#include "crypto/posh.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/base64.h>
#include <openssl/sha.h>

typedef struct cursor {
  const uint8_t *p;
  size_t len, pos;
  int depth;
  fg_posh_status err;
  char *why;
  size_t why_len;
} cursor;

// fail records the first problem only; every caller returns 0 after it.
static int fail(cursor *c, fg_posh_status s, const char *fmt, ...) {
  if (c->err != FG_POSH_OK) return 0;
  c->err = s;
  if (c->why_len == 0) return 0;
  char text[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  snprintf(c->why, c->why_len, "%s at byte %zu", text, c->pos);
  return 0;
}

#define GUARD(x)        \
  do {                  \
    if (!(x)) return 0; \
  } while (0)

static void skip_ws(cursor *c) {
  while (c->pos < c->len) {
    uint8_t b = c->p[c->pos];
    if (b != ' ' && b != '\t' && b != '\n' && b != '\r') return;
    c->pos++;
  }
}

static int peek(const cursor *c) {
  return c->pos < c->len ? c->p[c->pos] : -1;
}

// wrong_type fails with |s| for a member value of the wrong JSON type, or
// as a syntax error when the document simply ends there.
static int wrong_type(cursor *c, fg_posh_status s, const char *name, const char *what) {
  if (peek(c) < 0) return fail(c, FG_POSH_ERR_SYNTAX, "the document ends inside \"%s\"", name);
  return fail(c, s, "\"%s\" is not %s", name, what);
}

static int expect(cursor *c, uint8_t ch) {
  skip_ws(c);
  if (peek(c) != ch) return fail(c, FG_POSH_ERR_SYNTAX, "expected '%c'", ch);
  c->pos++;
  return 1;
}

static int literal(cursor *c, const char *word) {
  size_t n = strlen(word);
  if (c->len - c->pos < n || memcmp(c->p + c->pos, word, n) != 0) {
    return fail(c, FG_POSH_ERR_SYNTAX, "unexpected character");
  }
  c->pos += n;
  return 1;
}

static int hex4(cursor *c, uint32_t *out) {
  if (c->len - c->pos < 4) return fail(c, FG_POSH_ERR_SYNTAX, "short \\u escape");
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    uint8_t b = c->p[c->pos++];
    v <<= 4;
    if (b >= '0' && b <= '9') {
      v |= (uint32_t)(b - '0');
    } else if ((b | 0x20) >= 'a' && (b | 0x20) <= 'f') {
      v |= (uint32_t)((b | 0x20) - 'a' + 10);
    } else {
      return fail(c, FG_POSH_ERR_SYNTAX, "bad \\u escape");
    }
  }
  *out = v;
  return 1;
}

// put appends |n| bytes to the decoded string; past |cap| it only counts.
static void put(uint8_t *buf, size_t cap, size_t *n, const uint8_t *b, size_t len) {
  if (buf != NULL && *n + len <= cap) memcpy(buf + *n, b, len);
  *n += len;
}

static size_t utf8_encode(uint8_t out[4], uint32_t cp) {
  if (cp < 0x80) {
    out[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (uint8_t)(0xc0 | cp >> 6);
    out[1] = (uint8_t)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (uint8_t)(0xe0 | cp >> 12);
    out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    out[2] = (uint8_t)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (uint8_t)(0xf0 | cp >> 18);
  out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
  out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
  out[3] = (uint8_t)(0x80 | (cp & 0x3f));
  return 4;
}

// utf8_len returns the length of the well-formed UTF-8 sequence at |p|
// (RFC 3629 §4: no overlongs, no surrogates, at most U+10FFFF), or 0.
static size_t utf8_len(const uint8_t *p, size_t avail) {
  uint8_t b = p[0];
  size_t n;
  uint32_t cp, min;
  if (b >= 0xc2 && b <= 0xdf) {
    n = 2, cp = b & 0x1fu, min = 0x80;
  } else if (b >= 0xe0 && b <= 0xef) {
    n = 3, cp = b & 0x0fu, min = 0x800;
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4, cp = b & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (avail < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (p[i] & 0x3fu);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

// string reads a JSON string at the cursor (after whitespace) and decodes
// it into |buf| (|cap| bytes, may be NULL to only check it); |*out_len| is
// the decoded length even when it exceeded |cap|.
static int string(cursor *c, uint8_t *buf, size_t cap, size_t *out_len) {
  size_t n = 0;
  GUARD(expect(c, '"'));
  for (;;) {
    if (c->pos >= c->len) return fail(c, FG_POSH_ERR_SYNTAX, "unterminated string");
    uint8_t b = c->p[c->pos];
    if (b == '"') {
      c->pos++;
      break;
    }
    if (b < 0x20) return fail(c, FG_POSH_ERR_SYNTAX, "control character in a string");
    if (b >= 0x80) {
      size_t k = utf8_len(c->p + c->pos, c->len - c->pos);
      if (k == 0) return fail(c, FG_POSH_ERR_SYNTAX, "invalid UTF-8");
      put(buf, cap, &n, c->p + c->pos, k);
      c->pos += k;
      continue;
    }
    c->pos++;
    if (b != '\\') {
      put(buf, cap, &n, &b, 1);
      continue;
    }
    if (c->pos >= c->len) return fail(c, FG_POSH_ERR_SYNTAX, "unterminated escape");
    uint8_t e = c->p[c->pos++];
    static const char kFrom[] = "\"\\/bfnrt", kTo[] = "\"\\/\b\f\n\r\t";
    const char *hit = e != 0 ? strchr(kFrom, e) : NULL;
    if (hit != NULL) {
      uint8_t d = (uint8_t)kTo[hit - kFrom];
      put(buf, cap, &n, &d, 1);
      continue;
    }
    if (e != 'u') return fail(c, FG_POSH_ERR_SYNTAX, "bad escape");
    uint32_t cp;
    GUARD(hex4(c, &cp));
    if (cp >= 0xdc00 && cp <= 0xdfff) return fail(c, FG_POSH_ERR_SYNTAX, "lone low surrogate");
    if (cp >= 0xd800 && cp <= 0xdbff) {
      uint32_t lo;
      if (c->len - c->pos < 2 || c->p[c->pos] != '\\' || c->p[c->pos + 1] != 'u') {
        return fail(c, FG_POSH_ERR_SYNTAX, "lone high surrogate");
      }
      c->pos += 2;
      GUARD(hex4(c, &lo));
      if (lo < 0xdc00 || lo > 0xdfff) return fail(c, FG_POSH_ERR_SYNTAX, "bad surrogate pair");
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    uint8_t u[4];
    put(buf, cap, &n, u, utf8_encode(u, cp));
  }
  *out_len = n;
  return 1;
}

// number reads a JSON number (RFC 8259 §6); |*is_uint| says whether it is a
// plain non-negative integer, whose value (saturated) is |*value|.
static int number(cursor *c, uint64_t *value, int *is_uint) {
  size_t start = c->pos;
  uint64_t v = 0;
  int neg = 0, frac = 0;
  if (peek(c) == '-') neg = 1, c->pos++;
  int d = peek(c);
  if (d == '0') {
    c->pos++;
  } else if (d >= '1' && d <= '9') {
    while ((d = peek(c)) >= '0' && d <= '9') {
      v = v > UINT32_MAX * 16ull ? v : v * 10 + (uint64_t)(d - '0');
      c->pos++;
    }
  } else {
    return fail(c, FG_POSH_ERR_SYNTAX, "bad number");
  }
  if (peek(c) == '.') {
    frac = 1;
    c->pos++;
    if (!((d = peek(c)) >= '0' && d <= '9')) return fail(c, FG_POSH_ERR_SYNTAX, "bad fraction");
    while ((d = peek(c)) >= '0' && d <= '9') c->pos++;
  }
  if (peek(c) == 'e' || peek(c) == 'E') {
    frac = 1;
    c->pos++;
    if (peek(c) == '+' || peek(c) == '-') c->pos++;
    if (!((d = peek(c)) >= '0' && d <= '9')) return fail(c, FG_POSH_ERR_SYNTAX, "bad exponent");
    while ((d = peek(c)) >= '0' && d <= '9') c->pos++;
  }
  *is_uint = !neg && !frac && c->pos > start;
  *value = v;
  return 1;
}

static int value(cursor *c);

// container walks the items of an array or object between |open| and
// |close|, calling |item| with the cursor at each one; |item| must consume
// it. Nesting is bounded here, for both.
typedef int (*item_fn)(cursor *c, void *arg);

static int container(cursor *c, uint8_t open, uint8_t close, item_fn item, void *arg) {
  GUARD(expect(c, open));
  if (++c->depth > FG_POSH_MAX_DEPTH) return fail(c, FG_POSH_ERR_TOO_DEEP, "nesting too deep");
  skip_ws(c);
  if (peek(c) == close) {
    c->pos++;
    c->depth--;
    return 1;
  }
  for (;;) {
    GUARD(item(c, arg));
    skip_ws(c);
    if (peek(c) == ',') {
      c->pos++;
      continue;
    }
    GUARD(expect(c, close));
    c->depth--;
    return 1;
  }
}

// member_fn is called for each member of an object with its name, the
// cursor at its value; it must consume the value.
typedef int (*member_fn)(cursor *c, const char *name, size_t name_len, void *arg);

typedef struct members {
  member_fn member;
  void *arg;
} members;

static int member_item(cursor *c, void *arg) {
  const members *m = arg;
  char name[32];
  size_t nl;
  GUARD(string(c, (uint8_t *)name, sizeof(name) - 1, &nl));
  // A name longer than any we use is kept truncated: it is then unknown.
  if (nl >= sizeof(name)) nl = sizeof(name) - 1;
  name[nl] = 0;
  GUARD(expect(c, ':'));
  return m->member(c, name, nl, m->arg);
}

static int object(cursor *c, member_fn member, void *arg) {
  members m = {member, arg};
  return container(c, '{', '}', member_item, &m);
}

static int skip_member(cursor *c, const char *name, size_t name_len, void *arg) {
  (void)name, (void)name_len, (void)arg;
  return value(c);
}

static int array(cursor *c, item_fn element, void *arg) {
  return container(c, '[', ']', element, arg);
}

static int skip_element(cursor *c, void *arg) {
  (void)arg;
  return value(c);
}

// value checks any JSON value at the cursor.
static int value(cursor *c) {
  skip_ws(c);
  size_t n;
  uint64_t v;
  int u;
  switch (peek(c)) {
    case '{':
      return object(c, skip_member, NULL);
    case '[':
      return array(c, skip_element, NULL);
    case '"':
      return string(c, NULL, 0, &n);
    case 't':
      return literal(c, "true");
    case 'f':
      return literal(c, "false");
    case 'n':
      return literal(c, "null");
    default:
      return number(c, &v, &u);
  }
}

// --- the POSH document ---

static const struct {
  const char *name;
  fg_posh_hash hash;
} kHashes[] = {
    {"sha-256", FG_POSH_SHA256},
    {"sha-384", FG_POSH_SHA384},
    {"sha-512", FG_POSH_SHA512},
};

size_t fg_posh_hash_len(fg_posh_hash h) {
  return h == FG_POSH_SHA256 ? 32 : h == FG_POSH_SHA384 ? 48 : h == FG_POSH_SHA512 ? 64 : 0;
}

typedef struct descriptor {
  fg_posh_doc *doc;
  unsigned seen;  // bit per kHashes entry: a hash named twice is refused
} descriptor;

static int fingerprint_member(cursor *c, const char *name, size_t name_len, void *arg) {
  descriptor *d = arg;
  (void)name_len;
  size_t i = 0;
  while (i < sizeof(kHashes) / sizeof(kHashes[0]) && strcmp(kHashes[i].name, name) != 0) i++;
  if (i == sizeof(kHashes) / sizeof(kHashes[0])) return value(c);  // another hash: skipped
  if (d->seen & 1u << i) return fail(c, FG_POSH_ERR_DUPLICATE_KEY, "\"%s\" given twice", name);
  d->seen |= 1u << i;
  skip_ws(c);
  if (peek(c) != '"') return wrong_type(c, FG_POSH_ERR_FINGERPRINTS, name, "a string");
  char text[128];
  size_t tl;
  GUARD(string(c, (uint8_t *)text, sizeof(text), &tl));
  size_t want = fg_posh_hash_len(kHashes[i].hash), max = 0, got = 0;
  fg_posh_doc *doc = d->doc;
  if (doc->n_fingerprints == FG_POSH_MAX_FINGERPRINTS) {
    return fail(c, FG_POSH_ERR_FINGERPRINTS, "more than %d fingerprints", FG_POSH_MAX_FINGERPRINTS);
  }
  fg_posh_fingerprint *fp = &doc->fingerprints[doc->n_fingerprints];
  uint8_t raw[96];
  if (tl > sizeof(text) || !EVP_DecodedLength(&max, tl) || max > sizeof(raw) ||
      !EVP_DecodeBase64(raw, &got, sizeof(raw), (const uint8_t *)text, tl)) {
    return fail(c, FG_POSH_ERR_FINGERPRINTS, "\"%s\" is not base64", name);
  }
  if (got != want) {
    return fail(c, FG_POSH_ERR_FINGERPRINTS, "\"%s\" holds %zu bytes, not %zu", name, got, want);
  }
  fp->hash = kHashes[i].hash;
  memcpy(fp->digest, raw, want);
  doc->n_fingerprints++;
  return 1;
}

static int fingerprint_element(cursor *c, void *arg) {
  skip_ws(c);
  if (peek(c) != '{') return wrong_type(c, FG_POSH_ERR_FINGERPRINTS, "fingerprints", "objects");
  descriptor d = {.doc = arg};
  return object(c, fingerprint_member, &d);
}

enum { SEEN_FINGERPRINTS = 1, SEEN_EXPIRES = 2, SEEN_URL = 4 };

typedef struct top {
  fg_posh_doc *doc;
  unsigned seen;
} top;

static int once(cursor *c, top *t, unsigned bit, const char *name) {
  if (t->seen & bit) return fail(c, FG_POSH_ERR_DUPLICATE_KEY, "\"%s\" given twice", name);
  t->seen |= bit;
  skip_ws(c);
  return 1;
}

static int top_member(cursor *c, const char *name, size_t name_len, void *arg) {
  top *t = arg;
  fg_posh_doc *doc = t->doc;
  (void)name_len;
  if (strcmp(name, "fingerprints") == 0) {
    GUARD(once(c, t, SEEN_FINGERPRINTS, name));
    if (peek(c) != '[') return wrong_type(c, FG_POSH_ERR_FINGERPRINTS, name, "an array");
    doc->primary = 1;
    return array(c, fingerprint_element, doc);
  }
  if (strcmp(name, "expires") == 0) {
    GUARD(once(c, t, SEEN_EXPIRES, name));
    uint64_t v = 0;
    int is_uint = 0;
    if (peek(c) != '-' && !(peek(c) >= '0' && peek(c) <= '9')) {
      return wrong_type(c, FG_POSH_ERR_EXPIRES, name, "a number");
    }
    GUARD(number(c, &v, &is_uint));
    if (!is_uint || v > INT32_MAX) {
      return fail(c, FG_POSH_ERR_EXPIRES, "\"expires\" is not a whole number of seconds");
    }
    doc->has_expires = 1;
    doc->expires = (uint32_t)v;
    return 1;
  }
  if (strcmp(name, "url") == 0) {
    GUARD(once(c, t, SEEN_URL, name));
    if (peek(c) != '"') return wrong_type(c, FG_POSH_ERR_URL, name, "a string");
    size_t n;
    GUARD(string(c, (uint8_t *)doc->url, sizeof(doc->url) - 1, &n));
    if (n >= sizeof(doc->url)) return fail(c, FG_POSH_ERR_URL, "\"url\" too long");
    doc->url[n] = 0;
    // RFC 7711 §3.3: the reference is itself fetched over HTTPS.
    if (n <= 8 || strncmp(doc->url, "https://", 8) != 0 || memchr(doc->url, 0, n) != NULL) {
      return fail(c, FG_POSH_ERR_URL, "\"url\" is not an https:// URL");
    }
    return 1;
  }
  return value(c);
}

fg_posh_status fg_posh_parse(fg_posh_doc *out, const uint8_t *in, size_t in_len, char *why,
                             size_t why_len) {
  memset(out, 0, sizeof(*out));
  cursor c = {.p = in, .len = in_len, .why = why, .why_len = why_len};
  if (why_len > 0) why[0] = 0;
  if (in_len > FG_POSH_MAX_DOCUMENT) {
    fail(&c, FG_POSH_ERR_TOO_LARGE, "document of %zu bytes (limit %d)", in_len,
         FG_POSH_MAX_DOCUMENT);
    return c.err;
  }
  // RFC 8259 §8.1: a byte order mark may be ignored.
  if (in_len >= 3 && memcmp(in, "\xef\xbb\xbf", 3) == 0) c.pos = 3;
  skip_ws(&c);
  if (peek(&c) != '{') {
    fail(&c, c.pos == c.len ? FG_POSH_ERR_SYNTAX : FG_POSH_ERR_NOT_OBJECT,
         "the document is not a JSON object");
    return c.err;
  }
  top t = {.doc = out};
  if (object(&c, top_member, &t)) {
    skip_ws(&c);
    if (c.pos != c.len) fail(&c, FG_POSH_ERR_SYNTAX, "bytes after the document");
  }
  if (c.err == FG_POSH_OK && out->n_fingerprints == 0 && (out->primary || out->url[0] == 0)) {
    fail(&c, FG_POSH_ERR_EMPTY,
         out->primary ? "no sha-256, sha-384 or sha-512 fingerprint"
                      : "neither fingerprints nor url");
  }
  if (c.err != FG_POSH_OK) {
    memset(out, 0, sizeof(*out));
    return c.err;
  }
  if (out->primary) out->url[0] = 0;  // fingerprints win: no further fetch
  return FG_POSH_OK;
}

const char *fg_posh_status_name(fg_posh_status s) {
  static const char *const kNames[] = {
      "ok",           "too-large", "syntax", "too-deep", "not-object", "duplicate-key",
      "fingerprints", "expires",   "url",    "empty",
  };
  return (size_t)s < sizeof(kNames) / sizeof(kNames[0]) ? kNames[s] : "unknown";
}

static void digest(fg_posh_hash h, const uint8_t *der, size_t len, uint8_t out[64]) {
  if (h == FG_POSH_SHA256) {
    SHA256(der, len, out);
  } else if (h == FG_POSH_SHA384) {
    SHA384(der, len, out);
  } else {
    SHA512(der, len, out);
  }
}

int fg_posh_match(const fg_posh_doc *doc, const uint8_t *der, size_t der_len) {
  uint8_t have[3][64];
  unsigned done = 0;
  for (size_t i = 0; i < doc->n_fingerprints; i++) {
    const fg_posh_fingerprint *fp = &doc->fingerprints[i];
    unsigned k = (unsigned)fp->hash - 1;
    if (k > 2) continue;
    if (!(done & 1u << k)) {
      digest(fp->hash, der, der_len, have[k]);
      done |= 1u << k;
    }
    if (memcmp(have[k], fp->digest, fg_posh_hash_len(fp->hash)) == 0) return 1;
  }
  return 0;
}

size_t fg_posh_write(char *out, size_t cap, const uint8_t *der, size_t der_len, uint32_t expires) {
  uint8_t d256[32], d512[64];
  char b256[64], b512[128];
  SHA256(der, der_len, d256);
  SHA512(der, der_len, d512);
  EVP_EncodeBlock((uint8_t *)b256, d256, sizeof(d256));
  EVP_EncodeBlock((uint8_t *)b512, d512, sizeof(d512));
  int n;
  if (expires != 0) {
    n = snprintf(out, cap,
                 "{\n  \"fingerprints\": [\n    {\n      \"sha-256\": \"%s\",\n      \"sha-512\": "
                 "\"%s\"\n    }\n  ],\n  \"expires\": %u\n}\n",
                 b256, b512, expires);
  } else {
    n = snprintf(out, cap,
                 "{\n  \"fingerprints\": [\n    {\n      \"sha-256\": \"%s\",\n      \"sha-512\": "
                 "\"%s\"\n    }\n  ]\n}\n",
                 b256, b512);
  }
  return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
