// xml_internal.h: character rules shared by the XML parser (gateway/xml/xml_scan.h,
// gateway/xml/xml_tokenizer.c) and gateway/xml/xml_serializer.c (not a public
// interface).
#ifndef FEDGATE_GATEWAY_XML_INTERNAL_H
#define FEDGATE_GATEWAY_XML_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

// utf8_decode decodes one strict UTF-8 sequence (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF) starting with a byte >= 0x80. It returns
// its length, 0 when the bytes seen so far are valid but |avail| is too short,
// or -1 when invalid.
static inline int utf8_decode(const uint8_t *s, size_t avail, uint32_t *cp) {
  uint8_t c = s[0], lo = 0x80, hi = 0xBF;
  int need;
  uint32_t v;
  if (c < 0xC2) return -1;
  if (c < 0xE0) {
    need = 1;
    v = c & 0x1F;
  } else if (c < 0xF0) {
    need = 2;
    v = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c < 0xF5) {
    need = 3;
    v = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  for (int k = 1; k <= need; k++) {
    if ((size_t)k >= avail) return 0;
    uint8_t b = s[k];
    if (b < lo || b > hi) return -1;
    lo = 0x80;
    hi = 0xBF;
    v = (v << 6) | (b & 0x3F);
  }
  *cp = v;
  return need + 1;
}

// XML 1.0 §2.2 Char, for code points decoded from UTF-8 (>= 0x80) or refs.
static inline int is_xml_char(uint32_t v) {
  if (v < 0x20) return v == 0x9 || v == 0xA || v == 0xD;
  if (v <= 0xD7FF) return 1;
  if (v < 0xE000) return 0;
  if (v <= 0xFFFD) return 1;
  return v >= 0x10000 && v <= 0x10FFFF;
}

// XML 1.0 §2.3 NameStartChar / NameChar for non-ASCII code points.
static inline int is_name_start_cp(uint32_t v) {
  return (v >= 0xC0 && v <= 0xD6) || (v >= 0xD8 && v <= 0xF6) || (v >= 0xF8 && v <= 0x2FF) ||
         (v >= 0x370 && v <= 0x37D) || (v >= 0x37F && v <= 0x1FFF) ||
         (v >= 0x200C && v <= 0x200D) || (v >= 0x2070 && v <= 0x218F) ||
         (v >= 0x2C00 && v <= 0x2FEF) || (v >= 0x3001 && v <= 0xD7FF) ||
         (v >= 0xF900 && v <= 0xFDCF) || (v >= 0xFDF0 && v <= 0xFFFD) ||
         (v >= 0x10000 && v <= 0xEFFFF);
}

static inline int is_name_char_cp(uint32_t v) {
  return is_name_start_cp(v) || v == 0xB7 || (v >= 0x300 && v <= 0x36F) ||
         (v >= 0x203F && v <= 0x2040);
}

#endif  // FEDGATE_GATEWAY_XML_INTERNAL_H
