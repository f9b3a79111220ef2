// s2sload_scan.c: id scanner (see s2sload_scan.h).
#include "bench/s2sload_scan.h"

#include <string.h>

static int is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t fg_id_scan(const uint8_t *p, size_t n, fg_id_scan_fn fn, void *arg) {
  const uint8_t *cur = p, *end = p + n;
  for (;;) {
    const uint8_t *hit = memmem(cur, (size_t)(end - cur), "id=", 3);
    if (hit == NULL) break;
    // Keep the byte before a split candidate: it decides the boundary.
    size_t before = hit > p ? (size_t)(hit - 1 - p) : 0;
    if (hit > p && !is_space(hit[-1])) {
      cur = hit + 3;
      continue;
    }
    if (hit + 4 >= end) return before;
    uint8_t q = hit[3];
    if (q != '\'' && q != '"') {
      cur = hit + 3;
      continue;
    }
    const uint8_t *v = hit + 4;
    size_t room = (size_t)(end - v);
    const uint8_t *close = memchr(v, q, room < FG_STANZA_ID_MAX + 1 ? room : FG_STANZA_ID_MAX + 1);
    if (close == NULL) {
      if (room <= FG_STANZA_ID_MAX) return before;
      cur = v;  // longer than any id of ours
      continue;
    }
    if (close > v && v[0] == 'L') fn(arg, v, (size_t)(close - v));
    cur = close + 1;
  }
  size_t done = (size_t)(cur - p);
  size_t safe = n > FG_ID_SCAN_KEEP ? n - FG_ID_SCAN_KEEP : 0;
  // Never start the next call at an 'i': the byte before "id=" decides.
  if (safe > 0 && p[safe] == 'i') safe--;
  return done > safe ? done : safe;
}
