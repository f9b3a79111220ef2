// s2sload_verify.c: the sink's whole-stanza check (see s2sload_verify.h).
#include "bench/s2sload_verify.h"

#include <string.h>

static const uint64_t kFnvOffset = 1469598103934665603ull, kFnvPrime = 1099511628211ull;

uint64_t fg_stanza_digest(const uint8_t *p, size_t len) {
  uint64_t h = kFnvOffset;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * kFnvPrime;
  return h;
}

static uint64_t expected_digest(const fg_stanza_layout *l) {
  uint64_t h = kFnvOffset;
  for (size_t i = 0; i < l->fill_len; i++)
    h = (h ^ fg_stanza_filler_byte(l->fill_start + i)) * kFnvPrime;
  return h;
}

static int is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// attr finds attribute |name| in the start tag |tag| (up to its '>'); it
// returns 1 and the value, 0 when absent, -1 when the tag ends too soon.
static int attr(const uint8_t *tag, size_t len, const char *name, const uint8_t **v,
                size_t *v_len) {
  size_t nl = strlen(name);
  for (size_t i = 1; i + nl + 2 < len; i++) {
    if (tag[i] == '>') return 0;
    if (!is_space(tag[i - 1]) || memcmp(tag + i, name, nl) != 0 || tag[i + nl] != '=') continue;
    uint8_t q = tag[i + nl + 1];
    if (q != '\'' && q != '"') continue;
    const uint8_t *start = tag + i + nl + 2;
    const uint8_t *end = memchr(start, q, len - (size_t)(start - tag));
    if (end == NULL) return -1;
    *v = start;
    *v_len = (size_t)(end - start);
    return 1;
  }
  return -1;
}

static int same(const uint8_t *v, size_t len, const char *want) {
  return len == strlen(want) && memcmp(v, want, len) == 0;
}

// anchor is the end of the piece before the filler: from its last '>' or
// '#' on (what survives re-serialisation unchanged).
static void anchor(const fg_stanza_piece *p, const uint8_t **a, size_t *a_len) {
  size_t i = p->mid_len;
  while (i > 0 && p->mid[i - 1] != '>' && p->mid[i - 1] != '#') i--;
  size_t start = i;
  while (start > 0 && p->mid[start - 1] != '<' && p->mid[start - 1] != '/' && i - start < 8)
    start--;
  if (start > 0 && p->mid[start - 1] == '<') start--;
  *a = (const uint8_t *)p->mid + start;
  *a_len = i - start;
}

static enum fg_stanza_verdict bad(const char **why, const char *what) {
  if (why != NULL) *why = what;
  return FG_STANZA_CORRUPTED;
}

// stanza_start says whether |q| (|len| bytes left) starts a stanza's start
// tag: <message, <presence or <iq, then a space or '>'.
static int stanza_start(const uint8_t *q, size_t len) {
  static const char *const kNames[] = {"message", "presence", "iq"};
  for (size_t i = 0; i < sizeof(kNames) / sizeof(kNames[0]); i++) {
    size_t n = strlen(kNames[i]);
    if (len > n + 1 && q[0] == '<' && memcmp(q + 1, kNames[i], n) == 0 &&
        (q[n + 1] == ' ' || q[n + 1] == '>'))
      return 1;
  }
  return 0;
}

// check_tail checks what follows the filler (|rest|, |rest_len| bytes to the
// end of |raw|): the stanza's own end tag must come before any other stanza
// starts, and no sooner than the template's tail puts it. Re-serialising
// (RFC 6120 §8.1.3: quotes, attribute order, namespace declarations, an empty
// element written in full) keeps that part as long or makes it longer; a
// system that drops an element or cuts the stanza makes it shorter or loses
// the end tag.
static enum fg_stanza_verdict check_tail(const fg_stanza_piece *p, const uint8_t *rest,
                                         size_t rest_len, const char **why) {
  char end_tag[32] = "</";
  size_t n = strcspn(p->head + 1, " >");
  if (n == 0 || n + 4 > sizeof(end_tag)) return bad(why, "no root name");
  memcpy(end_tag + 2, p->head + 1, n);
  memcpy(end_tag + 2 + n, ">", 2);
  size_t window = p->tail_len + 512 < rest_len ? p->tail_len + 512 : rest_len;
  const uint8_t *hit = memmem(rest, window, end_tag, n + 3);
  const uint8_t *stop = hit != NULL ? hit : rest + window;
  for (const uint8_t *q = rest; q < stop; q++)
    if (stanza_start(q, (size_t)(rest + rest_len - q))) return bad(why, "end tag missing");
  if (hit == NULL)
    return window < p->tail_len + 512 ? FG_STANZA_INCOMPLETE : bad(why, "end tag missing");
  if ((size_t)(hit + n + 3 - rest) < p->tail_len) return bad(why, "shorter after the filler");
  return FG_STANZA_WHOLE;
}

enum fg_stanza_verdict fg_stanza_verify(const fg_stanza_tmpl *t, const fg_stanza_id *id,
                                        const uint8_t *raw, size_t raw_len, const char **why) {
  fg_stanza_layout l;
  fg_stanza_layout_of(t, id, &l);
  const uint8_t *v = NULL;
  size_t vl = 0;
  int r = attr(raw, raw_len, "from", &v, &vl);
  if (r < 0) return FG_STANZA_INCOMPLETE;
  if (r == 0 || !same(v, vl, t->from)) return bad(why, "from differs");
  r = attr(raw, raw_len, "to", &v, &vl);
  if (r < 0) return FG_STANZA_INCOMPLETE;
  if (r == 0 || !same(v, vl, t->to)) return bad(why, "to differs");
  // An empty filler leaves nothing to check, and a server may write its
  // empty element self-closed (<status/>, XML 1.0 §3.1).
  if (l.fill_len == 0) return FG_STANZA_WHOLE;
  // The filler lies after the anchor, within what the stanza may hold
  // (re-serialising adds some bytes: namespace declarations).
  const uint8_t *a;
  size_t a_len;
  anchor(l.piece, &a, &a_len);
  size_t bound = l.len + 512 < raw_len ? l.len + 512 : raw_len;
  const uint8_t *hit = memmem(raw, bound, a, a_len);
  if (hit == NULL) return bound < l.len + 512 ? FG_STANZA_INCOMPLETE : bad(why, "filler missing");
  const uint8_t *f = hit + a_len, *end = raw + raw_len, *e = f;
  while (e < end && *e != '<' && *e != '\'' && *e != '"') e++;
  if (e == end) return FG_STANZA_INCOMPLETE;
  if ((size_t)(e - f) != l.fill_len) return bad(why, "filler length differs");
  if (fg_stanza_digest(f, l.fill_len) != expected_digest(&l)) return bad(why, "digest differs");
  return check_tail(l.piece, e, (size_t)(end - e), why);
}
