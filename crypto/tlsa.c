// tlsa.c: TLSA record sets and their usability (see tlsa.h).
#include "crypto/tlsa.h"

#include <stdlib.h>
#include <string.h>

int fg_dane_rrset_add(fg_dane_rrset *s, const uint8_t *rdata, size_t rdata_len) {
  if (rdata_len < 4 || rdata_len - 3 > FG_DANE_MAX_DATA || s->n >= FG_DANE_MAX_RECORDS) return 0;
  size_t len = rdata_len - 3;
  uint8_t *grown = realloc(s->data, s->data_len + len);
  if (grown == NULL) return 0;
  // The records' pointers move with the buffer.
  for (size_t i = 0; i < s->n; i++) s->rec[i].data = grown + (s->rec[i].data - s->data);
  s->data = grown;
  memcpy(s->data + s->data_len, rdata + 3, len);
  s->rec[s->n] = (fg_dane_tlsa){.usage = rdata[0],
                                .selector = rdata[1],
                                .mtype = rdata[2],
                                .len = len,
                                .data = s->data + s->data_len};
  s->data_len += len;
  s->n++;
  return 1;
}

int fg_dane_rrset_copy(fg_dane_rrset *dst, const fg_dane_rrset *src) {
  *dst = *src;
  dst->data = NULL;
  if (src->data_len == 0) return 1;
  dst->data = malloc(src->data_len);
  if (dst->data == NULL) {
    memset(dst, 0, sizeof(*dst));
    return 0;
  }
  memcpy(dst->data, src->data, src->data_len);
  for (size_t i = 0; i < src->n; i++) dst->rec[i].data = dst->data + (src->rec[i].data - src->data);
  return 1;
}

void fg_dane_rrset_cleanup(fg_dane_rrset *s) {
  free(s->data);
  memset(s, 0, sizeof(*s));
}

fg_dane_usability fg_dane_tlsa_usability(const fg_dane_tlsa *r) {
  if (r->usage > FG_DANE_USAGE_DANE_EE) return FG_DANE_UNKNOWN_USAGE;
  if (r->selector > FG_DANE_SELECTOR_SPKI) return FG_DANE_UNKNOWN_SELECTOR;
  if (r->mtype > FG_DANE_MATCH_SHA512) return FG_DANE_UNKNOWN_MTYPE;
  if (r->len == 0) return FG_DANE_EMPTY_DATA;
  // RFC 7671 §4.1: a digest of the wrong length can never match; such a
  // record is unusable, not a mismatch.
  if ((r->mtype == FG_DANE_MATCH_SHA256 && r->len != 32) ||
      (r->mtype == FG_DANE_MATCH_SHA512 && r->len != 64)) {
    return FG_DANE_BAD_DIGEST_LENGTH;
  }
  return FG_DANE_USABLE;
}

const char *fg_dane_usability_name(fg_dane_usability u) {
  switch (u) {
    case FG_DANE_USABLE:
      return "usable";
    case FG_DANE_UNKNOWN_USAGE:
      return "unknown-usage";
    case FG_DANE_UNKNOWN_SELECTOR:
      return "unknown-selector";
    case FG_DANE_UNKNOWN_MTYPE:
      return "unknown-matching-type";
    case FG_DANE_BAD_DIGEST_LENGTH:
      return "bad-digest-length";
    case FG_DANE_EMPTY_DATA:
      return "empty-data";
  }
  return "unknown";
}
