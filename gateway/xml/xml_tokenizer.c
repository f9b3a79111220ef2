// xml_tokenizer.c: the byte-level state machine of the XML parser. It reads
// one item (the prolog and stream header, or one top-level element) from
// p->base: the XML declaration, tags, names, attributes, character data,
// CDATA sections and references, with their XML 1.0 well-formedness rules,
// RFC 6120 §11 restrictions and UTF-8 checks, and records what it reads as
// nodes and attributes for gateway/xml/xml_tree.c and gateway/xml/xml_namespaces.c.
// In the x86-64-v3 copy a whole top-level element in the bytes at hand is
// first read through a structural index (element_fast, over
// gateway/xml/xml_index.h), which hands anything else to the states.
#include "gateway/xml/xml_tokenizer.h"

#include <string.h>

#include "gateway/xml/xml_index.h"
#include "gateway/xml/xml_internal.h"
#include "gateway/xml/xml_namespaces.h"
#include "gateway/xml/xml_scan.h"
#include "gateway/xml/xml_tree.h"

#define MAX_REF_LEN 32
#define MAX_DECL_LEN 256
// What a fast path returns when its input is not of the form it reads.
#define R_SLOW (-1)

// ---------------------------------------------------------------------------
// Character data and attribute values.

static int arena_append(fg_xml_parser *p, const uint8_t *d, size_t len) {
  if (!grow((void **)&p->arena, &p->arena_cap, p->arena_len + len, 1)) return 0;
  memcpy(p->arena + p->arena_len, d, len);
  p->arena_len += len;
  return 1;
}

static size_t put_utf8(uint8_t *o, uint32_t v) {
  if (v < 0x80) {
    o[0] = (uint8_t)v;
    return 1;
  }
  if (v < 0x800) {
    o[0] = (uint8_t)(0xC0 | (v >> 6));
    o[1] = (uint8_t)(0x80 | (v & 0x3F));
    return 2;
  }
  if (v < 0x10000) {
    o[0] = (uint8_t)(0xE0 | (v >> 12));
    o[1] = (uint8_t)(0x80 | ((v >> 6) & 0x3F));
    o[2] = (uint8_t)(0x80 | (v & 0x3F));
    return 3;
  }
  o[0] = (uint8_t)(0xF0 | (v >> 18));
  o[1] = (uint8_t)(0x80 | ((v >> 12) & 0x3F));
  o[2] = (uint8_t)(0x80 | ((v >> 6) & 0x3F));
  o[3] = (uint8_t)(0x80 | (v & 0x3F));
  return 4;
}

// Accumulation of character data or an attribute value. Until something must
// be rewritten the value is a span of the item bytes; from then on it lives in
// the arena, and |acc_run_start| marks item bytes not yet copied there.
static inline void acc_begin(fg_xml_parser *p, size_t i) {
  p->acc_decoded = 0;
  p->acc_raw_start = (uint32_t)i;
}

// acc_replace replaces item bytes [i, i + skip) with |rep| in the value.
static int acc_replace(fg_xml_parser *p, size_t i, size_t skip, const uint8_t *rep,
                       size_t rep_len) {
  if (!p->acc_decoded) {
    p->acc_decoded = 1;
    p->acc_arena_start = (uint32_t)p->arena_len;
    p->acc_run_start = p->acc_raw_start;
  }
  // One capacity check and one copy call for the run and the replacement
  // (a character, at most 4 bytes, copied by hand).
  size_t run = i > p->acc_run_start ? i - p->acc_run_start : 0;
  if (run + rep_len > 0) {
    if (!grow((void **)&p->arena, &p->arena_cap, p->arena_len + run + rep_len, 1)) return 0;
    uint8_t *o = p->arena + p->arena_len;
    if (run > 0) memcpy(o, p->base + p->acc_run_start, run);
    for (size_t k = 0; k < rep_len; k++) o[run + k] = rep[k];
    p->arena_len += run + rep_len;
  }
  p->acc_run_start = (uint32_t)(i + skip);
  return 1;
}

static int acc_end(fg_xml_parser *p, size_t i, span *out) {
  if (!p->acc_decoded) {
    *out = mkspan(TAG_RAW, p->acc_raw_start, i - p->acc_raw_start);
    return 1;
  }
  if (i > p->acc_run_start && !arena_append(p, p->base + p->acc_run_start, i - p->acc_run_start))
    return 0;
  *out = mkspan(TAG_ARENA, p->acc_arena_start, p->arena_len - p->acc_arena_start);
  return 1;
}

// text_pending says whether character data may precede the tag starting at
// |i| (text_close has work): most tags follow a tag at once, and then the
// call is skipped. Outside elements the fields may be stale, which costs at
// most a call (text_close keeps nothing there).
static inline int text_pending(const fg_xml_parser *p, size_t i) {
  return p->acc_decoded || p->acc_raw_start != i;
}

// text_close ends the character data that precedes a tag starting at |i|.
static int text_close(fg_xml_parser *p, size_t i) {
  if (p->open_n == 0) return R_NEED;  // stream-level data is not kept
  span t;
  if (!acc_end(p, i, &t)) return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, i);
  if (t.len == 0) return R_NEED;
  uint32_t k = fg_xml_tree_new_node(p, FG_XML_NODE_TEXT);
  if (k == NONE) return fail(p, FG_XML_ERR_POLICY_VIOLATION, i);
  if (k == NONE - 1) return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, i);
  p->nodes[k].text = t;
  return R_NEED;
}

// ---------------------------------------------------------------------------
// References (XML 1.0 §4.1; RFC 6120 §11.1 allows only the five predefined
// entities). Returns R_NEED (wait for more bytes), R_ERR, or R_DONE with the
// decoded character in |*cp| and the reference length in |*rlen|.

// ref_word returns the 4 bytes at |d| as a number, for comparing with the
// spellings of the predefined entities.
static inline uint32_t ref_word(const void *d) {
  uint32_t w;
  memcpy(&w, d, 4);
  return w;
}

static int parse_ref(fg_xml_parser *p, size_t i, uint32_t *cp, size_t *rlen) {
  const uint8_t *s = p->base;
  size_t n = p->n, j = i + 1;
  if (n - i >= 6) {
    // The predefined entities, whole and in the chunk: one or two word
    // comparisons instead of the general reader below.
    uint32_t w = ref_word(s + j);
    static const uint8_t kAmp[4] = {'a', 'm', 'p', ';'}, kQuot[4] = {'q', 'u', 'o', 't'},
                         kApos[4] = {'a', 'p', 'o', 's'}, kLt[4] = {'l', 't', ';', 0},
                         kGt[4] = {'g', 't', ';', 0}, kThree[4] = {0xFF, 0xFF, 0xFF, 0};
    const uint32_t three = ref_word(kThree);  // keeps the first three bytes
    uint32_t v = 0;
    size_t l = 0;
    if (w == ref_word(kAmp))
      v = '&', l = 5;
    else if ((w & three) == ref_word(kLt))
      v = '<', l = 4;
    else if ((w & three) == ref_word(kGt))
      v = '>', l = 4;
    else if (s[i + 5] == ';' && w == ref_word(kQuot))
      v = '"', l = 6;
    else if (s[i + 5] == ';' && w == ref_word(kApos))
      v = '\'', l = 6;
    if (l != 0) {
      *cp = v;
      *rlen = l;
      return R_DONE;
    }
  }
  if (j >= n) return R_NEED;
  if (s[j] == '#') {
    j++;
    if (j >= n) return R_NEED;
    int hex = s[j] == 'x';
    if (hex) j++;
    uint32_t v = 0;
    size_t digits = 0;
    for (;; j++) {
      if (j - i > MAX_REF_LEN) return fail(p, FG_XML_ERR_POLICY_VIOLATION, i);
      if (j >= n) return R_NEED;
      uint8_t c = s[j];
      if (c == ';') break;
      uint32_t d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (hex && c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (hex && c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
      v = v * (hex ? 16 : 10) + d;
      if (v > 0x10FFFF) v = 0x110000;  // saturate: still illegal, never wraps
      digits++;
    }
    if (digits == 0 || !is_xml_char(v)) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
    *cp = v;
    *rlen = j + 1 - i;
    return R_DONE;
  }
  if (s[j] < 0x80 && !(fg_xml_byte_class[s[j]] & C_NAMESTART))
    return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
  for (;; j++) {
    if (j - i > MAX_REF_LEN) return fail(p, FG_XML_ERR_RESTRICTED_XML, i);
    if (j >= n) return R_NEED;
    uint8_t c = s[j];
    if (c == ';') break;
    // Namespaces in XML §7: entity names contain no colons.
    if (c < 0x80 && !(fg_xml_byte_class[c] & C_NAMECHAR))
      return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
  }
  const uint8_t *nm = s + i + 1;
  size_t len = j - i - 1;
  uint32_t v;
  if (len == 3 && memcmp(nm, "amp", 3) == 0)
    v = '&';
  else if (len == 2 && memcmp(nm, "lt", 2) == 0)
    v = '<';
  else if (len == 2 && memcmp(nm, "gt", 2) == 0)
    v = '>';
  else if (len == 4 && memcmp(nm, "quot", 4) == 0)
    v = '"';
  else if (len == 4 && memcmp(nm, "apos", 4) == 0)
    v = '\'';
  else
    return fail(p, FG_XML_ERR_RESTRICTED_XML, i);
  *cp = v;
  *rlen = j + 1 - i;
  return R_DONE;
}

// canon_ref says whether the reference |ref| (|rl| bytes, decoding to |cp|) is
// the escape fg_xml_writer_element writes for |cp| (gateway/xml/xml_serializer.c).
static int canon_ref(const uint8_t *ref, size_t rl, uint32_t cp, int in_attr) {
  const char *e;
  size_t el;
  switch (cp) {
    case '&':
      e = "&amp;", el = 5;
      break;
    case '<':
      e = "&lt;", el = 4;
      break;
    case '>':
      e = "&gt;", el = 4;
      break;
    case '\r':
      e = "&#13;", el = 5;
      break;
    case '\'':
      if (!in_attr) return 0;
      e = "&apos;", el = 6;
      break;
    case '\t':
      if (!in_attr) return 0;
      e = "&#9;", el = 4;
      break;
    case '\n':
      if (!in_attr) return 0;
      e = "&#10;", el = 5;
      break;
    default:
      return 0;
  }
  // No library call: a reference costs a few comparisons, not strlen and memcmp.
  return rl == el && bytes_eq(ref, (const uint8_t *)e, el);
}

// ref_append puts the character |cp| of the reference of |rl| bytes at |i|
// into the text or value being kept, in UTF-8, noting when the reference is
// not the canonical form's (|in_attr|: in an attribute value). It returns 0
// when out of memory.
static inline int ref_append(fg_xml_parser *p, size_t i, size_t rl, uint32_t cp, int in_attr) {
  uint8_t u[4];
  size_t ul = put_utf8(u, cp);
  if (!canon_ref(p->base + i, rl, cp, in_attr)) p->canon = 0;
  return acc_replace(p, i, rl, u, ul);
}

// text_ref_fast reads `&amp;`, `&lt;` or `&gt;` at |i| in character data
// kept in the tree, whole in the bytes at hand: the escapes the canonical
// form writes for these characters (canon_ref holds), and nearly all
// references text carries. It appends the character to the text and
// returns the reference's length, 0 when the reference is not one of these
// (nothing done: parse_ref reads it), or -1 when out of memory. It stands
// for parse_ref, canon_ref and put_utf8, which give the same there.
static inline long text_ref_fast(fg_xml_parser *p, size_t i) {
  if (p->n - i < 6) return 0;
  static const uint8_t kAmp[4] = {'a', 'm', 'p', ';'}, kLt[4] = {'l', 't', ';', 0},
                       kGt[4] = {'g', 't', ';', 0}, kThree[4] = {0xFF, 0xFF, 0xFF, 0};
  uint32_t w = ref_word(p->base + i + 1), w3 = w & ref_word(kThree);
  uint8_t c;
  long l;
  if (w == ref_word(kAmp))
    c = '&', l = 5;
  else if (w3 == ref_word(kLt))
    c = '<', l = 4;
  else if (w3 == ref_word(kGt))
    c = '>', l = 4;
  else
    return 0;
  return acc_replace(p, i, (size_t)l, &c, 1) ? l : -1;
}

// ---------------------------------------------------------------------------
// Names.

static inline void name_begin(fg_xml_parser *p, size_t i) {
  p->name_start = (uint32_t)i;
  p->name_colon = -1;
  p->name_need_start = 1;
}

// name_scan reads a QName from p->i. It returns R_DONE with p->i at the first
// byte after the name and in |*colon_out| the colon's offset in the name (-1:
// none), R_NEED, or R_ERR. The scan state lives in locals (the
// input bytes may alias the parser, so fields would be reloaded every byte)
// and goes back to the parser only when the name continues in the next chunk.
static inline __attribute__((always_inline)) int name_scan(fg_xml_parser *p, int qname,
                                                           int32_t *colon_out) {
  const uint8_t *s = p->base;
  const uint8_t *cls = fg_xml_byte_class;
  size_t i = p->i, n = p->n, max = (size_t)p->name_start + p->cfg.limits.max_name_len;
  size_t lim = n < max ? n : max;
  int need_start = p->name_need_start;
  int32_t colon = p->name_colon;
  for (;;) {
    if (need_start && i < lim) {
      uint8_t k = cls[s[i]];
      if (k & C_NAMECHAR) {
        if (!(k & C_NAMESTART)) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
        need_start = 0;
        i++;
      }
    }
    if (!need_start) i = scan_name(s, i, lim);
    if (i >= n) {
      p->i = i;
      p->name_need_start = (uint8_t)need_start;
      p->name_colon = colon;
      return R_NEED;
    }
    uint8_t c = s[i];
    if (c == ':' && qname) {
      if (colon >= 0 || need_start) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
      if (i >= max) return fail(p, FG_XML_ERR_POLICY_VIOLATION, i);
      colon = (int32_t)(i - p->name_start);
      need_start = 1;
      i++;
      continue;
    }
    if (c >= 0x80) {
      if (i >= max) return fail(p, FG_XML_ERR_POLICY_VIOLATION, i);
      uint32_t cp;
      int l = utf8_decode(s + i, n - i, &cp);
      if (l == 0) {
        p->i = i;
        p->name_need_start = (uint8_t)need_start;
        p->name_colon = colon;
        return R_NEED;
      }
      if (l < 0 || !(need_start ? is_name_start_cp(cp) : is_name_char_cp(cp)))
        return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
      need_start = 0;
      i += (size_t)l;
      continue;
    }
    if (i >= max && (cls[c] & C_NAMECHAR)) return fail(p, FG_XML_ERR_POLICY_VIOLATION, i);
    // The name ends here.
    if (i == p->name_start || need_start) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
    // The colon's place goes back in a register, not through the parser: a
    // store here and a wider load of the neighbouring fields right after it
    // would defeat store-to-load forwarding.
    *colon_out = colon;
    p->i = i;
    return R_DONE;
  }
}

static void name_spans(const fg_xml_parser *p, int32_t colon, size_t end, span *prefix,
                       span *local) {
  if (colon < 0) {
    *prefix = kSpanEmpty;
    *local = mkspan(TAG_RAW, p->name_start, end - p->name_start);
    return;
  }
  size_t c = p->name_start + (size_t)colon;
  *prefix = mkspan(TAG_RAW, p->name_start, c - p->name_start);
  *local = mkspan(TAG_RAW, c + 1, end - c - 1);
}

// ---------------------------------------------------------------------------
// The XML declaration (XML 1.0 §2.8), allowed only as the stream's first bytes.

static size_t decl_ws(const uint8_t *d, size_t k, size_t m) {
  while (k < m && is_ws(d[k])) k++;
  return k;
}

// decl_attr reads `name S? = S? quoted` at |*k|; the value goes to |*v|.
static int decl_attr(const uint8_t *d, size_t *k, size_t m, const char *name, fg_xml_str *v) {
  size_t n = strlen(name), j = *k;
  if (m - j < n || memcmp(d + j, name, n) != 0) return 0;
  j = decl_ws(d, j + n, m);
  if (j >= m || d[j] != '=') return -1;
  j = decl_ws(d, j + 1, m);
  if (j >= m || (d[j] != '\'' && d[j] != '"')) return -1;
  uint8_t q = d[j++];
  size_t s = j;
  while (j < m && d[j] != q) j++;
  if (j >= m) return -1;
  v->data = d + s;
  v->len = j - s;
  *k = j + 1;
  return 1;
}

static int parse_decl(fg_xml_parser *p, const uint8_t *d, size_t m, size_t at) {
  size_t k = 0;
  fg_xml_str v;
  for (size_t j = 0; j < m; j++)
    if (d[j] < 0x20 ? !is_ws(d[j]) : d[j] >= 0x7F) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, at);
  size_t k2 = decl_ws(d, k, m);
  if (k2 == k) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, at);
  k = k2;
  if (decl_attr(d, &k, m, "version", &v) != 1) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, at);
  if (!(v.len == 3 && memcmp(v.data, "1.0", 3) == 0)) {
    // VersionNum is '1.' [0-9]+; anything but 1.0 is not XMPP (RFC 6120 §11.8).
    int ok = v.len > 2 && v.data[0] == '1' && v.data[1] == '.';
    for (size_t j = 2; ok && j < v.len; j++) ok = v.data[j] >= '0' && v.data[j] <= '9';
    return fail(p, ok ? FG_XML_ERR_RESTRICTED_XML : FG_XML_ERR_NOT_WELL_FORMED, at);
  }
  k2 = decl_ws(d, k, m);
  if (k2 == m) return R_DONE;
  if (k2 == k) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, at);
  k = k2;
  int r = decl_attr(d, &k, m, "encoding", &v);
  if (r < 0) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, at);
  if (r == 1) {
    int ok = v.len > 0 && ((v.data[0] | 0x20) >= 'a' && (v.data[0] | 0x20) <= 'z');
    for (size_t j = 1; ok && j < v.len; j++) {
      uint8_t c = v.data[j];
      ok = (fg_xml_byte_class[c] & C_NAMECHAR) && c != ':';
    }
    if (!ok) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, at);
    if (!(v.len == 5 && (v.data[0] | 0x20) == 'u' && (v.data[1] | 0x20) == 't' &&
          (v.data[2] | 0x20) == 'f' && v.data[3] == '-' && v.data[4] == '8'))
      return fail(p, FG_XML_ERR_UNSUPPORTED_ENCODING, at);  // RFC 6120 §11.6
    k2 = decl_ws(d, k, m);
    if (k2 == m) return R_DONE;
    if (k2 == k) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, at);
    k = k2;
  }
  r = decl_attr(d, &k, m, "standalone", &v);
  if (r != 1 || !((v.len == 3 && memcmp(v.data, "yes", 3) == 0) ||
                  (v.len == 2 && memcmp(v.data, "no", 2) == 0)))
    return fail(p, FG_XML_ERR_NOT_WELL_FORMED, at);
  if (decl_ws(d, k, m) != m) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, at);
  return R_DONE;
}

// ---------------------------------------------------------------------------
// Tags.

static inline __attribute__((always_inline)) int begin_element(fg_xml_parser *p, size_t name_end,
                                                               int32_t colon) {
  int header = p->item_kind == K_PROLOG;
  if (!header && p->open_n + 1 > p->cfg.limits.max_depth)
    return fail(p, FG_XML_ERR_POLICY_VIOLATION, p->tag_start);
  uint32_t k = fg_xml_tree_new_node(p, FG_XML_NODE_ELEMENT);
  if (k == NONE) return fail(p, FG_XML_ERR_POLICY_VIOLATION, p->tag_start);
  if (k == NONE - 1) return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, p->tag_start);
  inode *nd = &p->nodes[k];
  name_spans(p, colon, name_end, &nd->prefix, &nd->local);
  nd->attr_start = p->attrs_n;
  nd->attr_n = 0;
  nd->attr_special = 0;
  nd->raw_start = p->tag_start;
  nd->name_off = p->name_start;
  p->cur = k;
  return R_DONE;
}

// attr_note notes what namespace processing needs of the attribute |a| of
// element |nd|, named |name| (|len| bytes, its colon at |colon|, -1: none):
// an attribute prefixed `xml` is in the XML namespace, bound by definition
// (Namespaces in XML §3), like `xml:lang` on every message; one otherwise
// prefixed, or `xmlns`, marks the element for the general path
// (inode.attr_special); the others are in no namespace.
static inline void attr_note(inode *nd, iattr *a, const uint8_t *name, size_t len, int32_t colon) {
  a->ns = kSpanEmpty;
  if (colon == 3 && bytes_eq(name, (const uint8_t *)"xml", 3))
    a->ns = kSpanXmlNs;
  else if (colon >= 0 || (len == 5 && bytes_eq(name, (const uint8_t *)"xmlns", 5)))
    nd->attr_special = 1;
}

static int add_attr(fg_xml_parser *p, size_t name_end, int32_t colon) {
  inode *nd = &p->nodes[p->cur];
  if (nd->attr_n + 1 > p->cfg.limits.max_attrs)
    return fail(p, FG_XML_ERR_POLICY_VIOLATION, p->name_start);
  if (!grow32((void **)&p->attrs, &p->attrs_cap, p->attrs_n + 1, sizeof(iattr)))
    return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, p->name_start);
  iattr *a = &p->attrs[p->attrs_n++];
  nd->attr_n++;
  name_spans(p, colon, name_end, &a->prefix, &a->local);
  a->name_off = p->name_start;
  a->is_decl = 0;  // its value comes at the quote
  attr_note(nd, a, p->base + p->name_start, name_end - p->name_start, colon);
  return R_DONE;
}

static int pop_element(fg_xml_parser *p, inode *nd, size_t end);

// qname_len is the length of the element's QName as written.
static inline size_t qname_len(const inode *nd) {
  return (nd->prefix.len ? nd->prefix.len + 1 : 0) + nd->local.len;
}

static int open_push(fg_xml_parser *p, uint32_t k) {
  if (!grow32((void **)&p->open, &p->open_cap, p->open_n + 1, sizeof(uint32_t))) return 0;
  p->open[p->open_n++] = k;
  return 1;
}

// finish_stag handles the `>` (or `/>`) ending a start tag; |end| is the index
// after it.
static int finish_stag(fg_xml_parser *p, int self_closing, size_t end) {
  uint32_t k = p->cur;
  int r = fg_xml_ns_process(p, k);
  if (r != R_DONE) return r;
  if (p->item_kind == K_PROLOG) {
    if (fg_xml_tree_build_header(p, end) != R_DONE) return R_ERR;
    p->pending_close = self_closing;
    p->i = end;
    return R_OPEN;
  }
  inode *nd = &p->nodes[k];
  p->i = end;
  if (self_closing) {
    nd->raw_end = (uint32_t)end;
    p->binds_n = nd->bind_start;
    p->dflt = nd->dflt_out;
    if (p->open_n == 0) return R_DONE;
  } else if (!open_push(p, k)) {
    return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, p->tag_start);
  }
  p->state = S_CONTENT;
  p->rb = 0;
  acc_begin(p, end);
  return R_NEED;
}

static int finish_etag(fg_xml_parser *p, size_t name_end, size_t end) {
  size_t len = name_end - p->name_start;
  if (p->open_n == 0) {
    // RFC 6120 §4.4: the stream's own end tag.
    if (!p->have_header || p->hdr_qname.len != len ||
        !bytes_eq(resolve(p, p->hdr_qname).data, p->base + p->name_start, len))
      return fail(p, FG_XML_ERR_NOT_WELL_FORMED, p->tag_start);
    p->i = end;
    return R_CLOSE;
  }
  inode *nd = &p->nodes[p->open[p->open_n - 1]];
  // XML 1.0 WFC Element Type Match: the same QName, not just the same expanded name.
  if (qname_len(nd) != len || !bytes_eq(p->base + nd->name_off, p->base + p->name_start, len))
    return fail(p, FG_XML_ERR_NOT_WELL_FORMED, p->tag_start);
  return pop_element(p, nd, end);
}

// etag_fast reads the end tag whose name starts at |i| when it is the open
// element's name as its start tag wrote it, followed at once by `>` (the
// common end tag): that name was checked already, so one comparison stands
// for the name scan. It returns what finish_etag does, or R_SLOW when
// the tag is not of that form (nothing read, nothing changed).
static inline int etag_fast(fg_xml_parser *p, size_t i) {
  if (p->open_n == 0) return R_SLOW;
  inode *nd = &p->nodes[p->open[p->open_n - 1]];
  size_t len = qname_len(nd);
  if (i + len >= p->n || p->base[i + len] != '>' ||
      !bytes_eq(p->base + nd->name_off, p->base + i, len))
    return R_SLOW;
  return pop_element(p, nd, i + len + 1);
}

// attr_record records the attribute whose name is [a0, e) (its colon at
// |colon| in it, -1: none) and whose value, in quotes |q|, is [v, ve) with nothing to decode. It
// returns 0, recording nothing, when the element has its limit of attributes or memory runs out:
// the byte states then read the attribute and fail as they do.
static inline __attribute__((always_inline)) int attr_record(fg_xml_parser *p, size_t a0, size_t e,
                                                             int32_t colon, size_t v, size_t ve,
                                                             uint8_t q) {
  inode *nd = &p->nodes[p->cur];
  if (nd->attr_n + 1 > p->cfg.limits.max_attrs) return 0;
  if (p->attrs_n >= p->attrs_cap &&
      !grow32((void **)&p->attrs, &p->attrs_cap, p->attrs_n + 1, sizeof(iattr)))
    return 0;
  iattr *a = &p->attrs[p->attrs_n++];
  nd->attr_n++;
  if (colon < 0) {
    a->prefix = kSpanEmpty;
    a->local = mkspan(TAG_RAW, a0, e - a0);
  } else {
    size_t c = a0 + (size_t)colon;
    a->prefix = mkspan(TAG_RAW, a0, c - a0);
    a->local = mkspan(TAG_RAW, c + 1, e - c - 1);
  }
  a->value = mkspan(TAG_RAW, v, ve - v);
  a->name_off = (uint32_t)a0;
  a->is_decl = 0;
  attr_note(nd, a, p->base + a0, e - a0, colon);
  if (q == '"') p->canon = 0;
  return 1;
}

// attr_fast reads the common attribute, ` name='value'` (or with double
// quotes) from the space at |i|: one space, an ASCII QName, `=` right after
// it and a value of printable ASCII without `&`, `<` or `>`, all in the
// bytes at hand. It records the attribute and returns the index after the
// closing quote, or 0 when the attribute is not of that form (nothing
// recorded): the states of the tokenizer then read it from the same space.
// One load finds a short name's `=` (name_before_eq), else one scan per
// name part finds its end; one scan finds the end of the value.
static inline __attribute__((always_inline)) size_t attr_fast(fg_xml_parser *p, size_t i) {
  const uint8_t *s = p->base;
  size_t n = p->n, a0 = i + 1, maxn = p->cfg.limits.max_name_len, e;
  int32_t colon = -1;
  size_t el = a0 + 16 <= n ? name_before_eq(s + a0, &colon) : 0;
  if (el != 0 && el <= maxn &&
      (colon < 0 || (fg_xml_byte_class[s[a0 + (size_t)colon + 1]] & C_NAMESTART))) {
    e = a0 + el;
  } else {
    size_t max = a0 + maxn, lim = n < max ? n : max;
    e = scan_name(s, a0 + 1, lim);
    colon = -1;
    if (e + 1 < lim && s[e] == ':' && (fg_xml_byte_class[s[e + 1]] & C_NAMESTART)) {
      colon = (int32_t)(e - a0);
      e = scan_name(s, e + 2, lim);
    }
  }
  if (e + 2 >= n || s[e] != '=') return 0;
  uint8_t q = s[e + 1];
  if (q != '\'' && q != '"') return 0;
  size_t v = e + 2, ve = scan_attr(s, v, n, q);
  if (ve >= n || s[ve] != q) return 0;
  return attr_record(p, a0, e, colon, v, ve, q) ? ve + 1 : 0;
}

// pop_element closes the open element |nd| whose end tag ends before |end|.
static int pop_element(fg_xml_parser *p, inode *nd, size_t end) {
  if (nd->first_child == NONE) p->canon = 0;  // canonical form writes <a/>
  nd->raw_end = (uint32_t)end;
  p->binds_n = nd->bind_start;
  p->dflt = nd->dflt_out;
  p->open_n--;
  p->i = end;
  if (p->open_n == 0) return R_DONE;
  p->state = S_CONTENT;
  p->rb = 0;
  acc_begin(p, end);
  return R_NEED;
}

#if defined(XIDX_ENABLED)
// ---------------------------------------------------------------------------
// The whole-element path: a top-level element that lies in the bytes at hand,
// read through the structural index (gateway/xml/xml_index.h) instead of the
// per-token scans. It reads the common forms only (ASCII names, tags with
// single spaces between attributes, attribute values without references,
// TAB, LF or CR, character data with the predefined and character
// references but without CR, `>` or markup other than tags) and records them
// with the byte states' own helpers, in the order the byte states call them;
// before each helper that can fail, the bytes before it are known to be
// strict UTF-8, so a failure there is the one the byte states would report.
// On anything else it returns R_SLOW and the byte states read the rest of
// the element from its last mark (below) or from its first byte, so
// errors, their offsets and the records are theirs.

// fast_qname returns the end of the ASCII QName starting at |a| (an ASCII
// NameStartChar) found through the index, with the colon's offset in the
// name in |*colon| (-1: none), or SIZE_MAX when the name is not of that form
// or the input ends within it.
static inline __attribute__((always_inline)) size_t fast_qname(fg_xml_parser *p, xidx *w, size_t a,
                                                               int32_t *colon) {
  const uint8_t *s = p->base;
  size_t n = p->n, e = xidx_next(w, XIDX_NAME, a + 1);
  *colon = -1;
  if (e >= n) return SIZE_MAX;
  if (s[e] == ':') {
    if (e + 1 >= n || !(fg_xml_byte_class[s[e + 1]] & C_NAMESTART)) return SIZE_MAX;
    *colon = (int32_t)(e - a);
    e = xidx_next(w, XIDX_NAME, e + 2);
    if (e >= n || s[e] == ':') return SIZE_MAX;
  }
  if (e - a > p->cfg.limits.max_name_len) return SIZE_MAX;
  return e;
}

// A point where element_fast's records are those the byte states have at the
// same byte, with the bytes before it strict UTF-8: in character data after
// a tag or a reference (state S_CONTENT), with the counts that
// what follows changes. Position 0 is the item's start.
typedef struct fast_mark {
  size_t i;
  uint32_t nodes_n, attrs_n;
  size_t arena_len;
  int canon;
} fast_mark;

static inline __attribute__((always_inline)) void fast_mark_set(fg_xml_parser *p, fast_mark *m,
                                                                size_t i) {
  m->i = i;
  m->nodes_n = p->nodes_n;
  m->attrs_n = p->attrs_n;
  m->arena_len = p->arena_len;
  m->canon = p->canon;
}

// fast_handover hands the element to the byte states at the last mark:
// from the item's start it forgets all element_fast recorded; else it takes
// back what it recorded after the mark (nodes, all children of the open
// element, attributes, arena bytes) and leaves the byte states in character
// data at the mark. It returns R_SLOW.
static __attribute__((noinline)) int fast_handover(fg_xml_parser *p, const fast_mark *m) {
  p->state = S_CONTENT;
  p->i = m->i;
  p->rb = 0;
  if (m->i == 0) {
    item_records_reset(p);
    p->canon = CANON_ALL;
    return R_SLOW;
  }
  // The open element's last child at the mark: nodes are numbered in
  // document order, so it is its child with the highest number below the
  // mark's (found here, on the way out, rather than kept at every mark).
  uint32_t pk = p->open[p->open_n - 1], last = NONE;
  for (uint32_t k = m->nodes_n; k > pk + 1;)
    if (p->nodes[--k].parent == pk) {
      last = k;
      break;
    }
  inode *par = &p->nodes[pk];
  par->last_child = last;
  if (last == NONE)
    par->first_child = NONE;
  else
    p->nodes[last].next = NONE;
  p->nodes_n = m->nodes_n;
  p->attrs_n = m->attrs_n;
  p->arena_len = m->arena_len;
  p->canon = m->canon;
  return R_SLOW;
}

// element_fast reads the top-level element at the start of the item
// (s[0] == '<'). It returns R_DONE with p->i after the element, R_ERR after
// fail, or R_SLOW.
static int element_fast(fg_xml_parser *p) {
  const uint8_t *s = p->base;
  size_t n = p->n, i = 0;
  xidx w;
  int r;
  int32_t colon;
  fast_mark mk;
  mk.i = 0;
  xidx_start(&w, s, n);
  for (;;) {
    // A tag at s[i] == '<'.
    p->tag_start = (uint32_t)i;
    if (i + 2 >= n) return fast_handover(p, &mk);
    uint8_t c = s[i + 1];
    if (c == '/') {
      if (!xidx_clean_before(&w, i + 1)) return fast_handover(p, &mk);
      if (text_pending(p, i) && (r = text_close(p, i)) == R_ERR) return r;
      // The end tag's bytes are the start tag's ASCII name and `>`: with
      // the bytes before the `<` checked, all before p->i are UTF-8.
      r = etag_fast(p, i + 2);
      if (r == R_SLOW) return fast_handover(p, &mk);
      if (r != R_NEED) return r;
      i = p->i;
      fast_mark_set(p, &mk, i);
    } else {
      if (!(fg_xml_byte_class[c] & C_NAMESTART)) return fast_handover(p, &mk);
      size_t e = fast_qname(p, &w, i + 1, &colon);
      if (e == SIZE_MAX || !(s[e] == ' ' || s[e] == '>' || s[e] == '/'))
        return fast_handover(p, &mk);
      if (!xidx_clean_before(&w, e)) return fast_handover(p, &mk);
      if (text_pending(p, i) && (r = text_close(p, i)) == R_ERR) return r;
      p->name_start = (uint32_t)(i + 1);
      if ((r = begin_element(p, e, colon)) != R_DONE) return r;
      // Attributes, each ` name='value'`, then `>` or `/>`.
      size_t j = e;
      while (s[j] == ' ') {
        size_t a0 = j + 1;
        if (a0 >= n) return fast_handover(p, &mk);
        if (!(fg_xml_byte_class[s[a0]] & C_NAMESTART)) {
          if (s[a0] != '/' && s[a0] != '>') return fast_handover(p, &mk);
          p->canon = 0;  // ` />`: the canonical form writes no space there
          j = a0;
          break;
        }
        size_t ae = fast_qname(p, &w, a0, &colon);
        if (ae == SIZE_MAX || ae + 2 >= n || s[ae] != '=') return fast_handover(p, &mk);
        uint8_t q = s[ae + 1];
        if (q != '\'' && q != '"') return fast_handover(p, &mk);
        size_t v = ae + 2, ve = v;
        for (;;) {
          ve = xidx_next(&w, XIDX_STOP, ve);
          if (ve >= n) return fast_handover(p, &mk);
          uint8_t c = s[ve];
          if (c == q) break;
          if (c == '>')
            p->canon = 0;  // the canonical form escapes '>'
          else if (c != '\'' && c != '"')
            return fast_handover(p, &mk);
          ve++;
        }
        if (!attr_record(p, a0, ae, colon, v, ve, q)) return fast_handover(p, &mk);
        j = ve + 1;
        if (j >= n) return fast_handover(p, &mk);
      }
      int empty = s[j] == '/';
      if (empty) {
        if (++j >= n) return fast_handover(p, &mk);
      }
      if (s[j] != '>') return fast_handover(p, &mk);
      if (!xidx_clean_before(&w, j + 1)) return fast_handover(p, &mk);
      p->i = j + 1;
      if ((r = finish_stag(p, empty, j + 1)) != R_NEED) return r;
      i = j + 1;
      fast_mark_set(p, &mk, i);
    }
    // Character data up to the next tag.
    for (;;) {
      i = xidx_next(&w, XIDX_STOP, i);
      if (i >= n) return fast_handover(p, &mk);
      uint8_t c = s[i];
      if (c == '<') break;
      if (c == '\'' || c == '"' || c == '\t' || c == '\n') {
        i++;
        continue;
      }
      if (c != '&') return fast_handover(p, &mk);
      if (!xidx_clean_before(&w, i + 1)) return fast_handover(p, &mk);
      long fl = text_ref_fast(p, i);
      if (fl < 0) return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, i);
      if (fl > 0) {
        i += (size_t)fl;
        fast_mark_set(p, &mk, i);
        continue;
      }
      uint32_t cp;
      size_t rl;
      p->i = i;
      r = parse_ref(p, i, &cp, &rl);
      if (r == R_ERR) return r;
      if (r != R_DONE) return fast_handover(p, &mk);
      if (!ref_append(p, i, rl, cp, 0)) return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, i);
      i += rl;
      fast_mark_set(p, &mk, i);
    }
  }
}
#endif

// ---------------------------------------------------------------------------
// The state machine over p->base[p->i, p->n).

int fg_xml_tokenize(fg_xml_parser *p) {
  const uint8_t *s = p->base;
  size_t n = p->n;
  size_t i = p->i;
  int r;
  int32_t colon = -1;  // where name_scan found the colon of the name just read
#if defined(XIDX_ENABLED)
  if (i == 0 && p->direct && p->state == S_CONTENT && n > 2 && s[0] == '<' &&
      p->item_kind == K_ELEMENT) {
    if ((r = element_fast(p)) != R_SLOW) return r;
    i = p->i;
  }
#endif
  for (;;) {
    switch (p->state) {
      case S_PROLOG:
        while (i < n && is_ws(s[i])) i++;
        if (i >= n) goto need;
        if (s[i] == '<') {
          p->tag_start = (uint32_t)i++;
          p->state = S_LT;
          goto l_lt;
        }
        if (p->item_off + i == 0 && (s[i] == 0xEF || s[i] == 0xFE || s[i] == 0xFF || s[i] == 0))
          return fail(p, FG_XML_ERR_UNSUPPORTED_ENCODING, i);  // BOM or UTF-16/32
        return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);

      case S_CONTENT:
      l_content : {
        int discard = p->open_n == 0;
        for (;;) {
#if defined(__AVX2__) || defined(__SSE2__)
          size_t j = scan_text_utf8(s, i, n);
#else
          size_t j = scan_text(s, i, n);
#endif
          if (j != i) p->rb = 0;
          i = j;
          if (i >= n) goto need;
          uint8_t c = s[i];
          if (c == '<') {
            p->tag_start = (uint32_t)i++;
            p->state = S_LT;
            goto l_lt;
          }
          if (c == '&') {
            if (!discard) {
              long fl = text_ref_fast(p, i);
              if (fl < 0) return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, i);
              if (fl > 0) {
                p->rb = 0;
                i += (size_t)fl;
                continue;
              }
            }
            uint32_t cp;
            size_t rl;
            p->i = i;
            r = parse_ref(p, i, &cp, &rl);
            if (r == R_ERR) return r;
            if (r == R_NEED) goto need;
            p->rb = 0;
            if (!discard && !ref_append(p, i, rl, cp, 0))
              return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, i);
            i += rl;
            continue;
          }
          if (c == ']') {
            if (p->rb < 2) p->rb++;
            i++;
            continue;
          }
          if (c == '>') {
            // XML 1.0 §2.4: `]]>` may not appear in character data.
            if (p->rb >= 2) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
            if (!discard) p->canon = 0;  // the canonical form escapes '>'
            p->rb = 0;                   // `]>]>` holds no `]]>`
            i++;
            continue;
          }
          p->rb = 0;
          if (c == '\n' || c == '\t') {
            i++;
            continue;
          }
          if (c == '\r') {
            // XML 1.0 §2.11: CR LF and lone CR become LF.
            if (i + 1 >= n) goto need;
            size_t sk = s[i + 1] == '\n' ? 2 : 1;
            if (!discard) p->canon = 0;
            if (!discard && !acc_replace(p, i, sk, (const uint8_t *)"\n", 1))
              return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, i);
            i += sk;
            continue;
          }
          if (c < 0x20) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
          // Non-ASCII (or where the SIMD scan handed over): validate the run of text (mixed scripts
          // interleave ASCII spaces and punctuation) in one tight loop.
          int st;
          i = utf8_text_run(s, i, n, &st);
          if (st > 0) goto need;
          if (st < 0) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
        }
        break;
      }

      case S_LT:
      l_lt : {
        if (i >= n) goto need;
        uint8_t c = s[i];
        if (c == '!') {
          i++;
          p->state = S_BANG;
          break;
        }
        if (c == '?') {
          i++;
          name_begin(p, i);
          p->state = S_PI_TARGET;
          break;
        }
        if (p->item_kind == K_PROLOG && c == 0)
          return fail(p, FG_XML_ERR_UNSUPPORTED_ENCODING, i);  // UTF-16LE
        if (c == '/') {
          if (p->item_kind == K_PROLOG) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
          if (text_pending(p, p->tag_start) && (r = text_close(p, p->tag_start)) == R_ERR) return r;
          i++;
          if ((r = etag_fast(p, i)) != R_SLOW) {
            if (r != R_NEED) return r;
            i = p->i;
            break;
          }
          name_begin(p, i);
          p->state = S_ETAG_NAME;
          goto l_etag_name;
        }
        if (text_pending(p, p->tag_start) && (r = text_close(p, p->tag_start)) == R_ERR) return r;
        if (fg_xml_byte_class[c] & C_NAMESTART) {
          // The common element name: an ASCII QName ended by a space, `>` or
          // `/`, in the bytes at hand; read without the name states.
          size_t max = i + p->cfg.limits.max_name_len, lim = n < max ? n : max;
          size_t e = scan_name(s, i + 1, lim);
          int32_t col = -1;
          if (e + 1 < lim && s[e] == ':' && (fg_xml_byte_class[s[e + 1]] & C_NAMESTART)) {
            col = (int32_t)(e - i);
            e = scan_name(s, e + 2, lim);
          }
          if (e < n && (s[e] == ' ' || s[e] == '>' || s[e] == '/')) {
            p->name_start = (uint32_t)i;
            if ((r = begin_element(p, e, col)) != R_DONE) return r;
            i = e;
            p->state = S_STAG_AFTER_VAL;
            goto l_stag_after_val;
          }
        }
        name_begin(p, i);
        p->state = S_STAG_NAME;
        goto l_stag_name;
      }

      case S_BANG: {
        // `<!--` and `<!DOCTYPE` are restricted (RFC 6120 §11.1); CDATA is not.
        static const char *const kw[3] = {"<!--", "<![CDATA[", "<!DOCTYPE"};
        size_t avail = n - p->tag_start;
        int partial = 0;
        for (int w = 0; w < 3; w++) {
          size_t kl = strlen(kw[w]), m = avail < kl ? avail : kl;
          if (memcmp(s + p->tag_start, kw[w], m) != 0) continue;
          if (m < kl) {
            partial = 1;
            continue;
          }
          if (w != 1 || p->item_kind == K_PROLOG)
            return fail(p, w == 1 ? FG_XML_ERR_NOT_WELL_FORMED : FG_XML_ERR_RESTRICTED_XML,
                        p->tag_start);
          p->canon = 0;
          if (p->open_n > 0 && !acc_replace(p, p->tag_start, kl, NULL, 0))
            return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, i);
          i = p->tag_start + kl;
          p->rb = 0;
          p->state = S_CDATA;
          break;
        }
        if (p->state == S_CDATA) break;
        if (partial) {
          i = n;
          goto need;
        }
        return fail(p, FG_XML_ERR_NOT_WELL_FORMED, p->tag_start);
      }

      case S_CDATA: {
        int discard = p->open_n == 0;
        for (;;) {
          while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != ']') i++;
          if (i >= n) goto need;
          uint8_t c = s[i];
          if (c == ']') {
            if (i + 2 >= n) {
              // Need the two bytes that may complete `]]>`.
              if (i + 1 < n && s[i + 1] != ']') {
                i++;
                continue;
              }
              goto need;
            }
            if (s[i + 1] == ']' && s[i + 2] == '>') {
              if (!discard && !acc_replace(p, i, 3, NULL, 0))
                return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, i);
              i += 3;
              p->rb = 0;
              p->state = S_CONTENT;
              goto l_content;
            }
            i++;
            continue;
          }
          if (c == '\n' || c == '\t') {
            i++;
            continue;
          }
          if (c == '\r') {
            if (i + 1 >= n) goto need;
            size_t sk = s[i + 1] == '\n' ? 2 : 1;
            if (!discard && !acc_replace(p, i, sk, (const uint8_t *)"\n", 1))
              return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, i);
            i += sk;
            continue;
          }
          if (c < 0x80) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
          uint32_t cp;
          int l = utf8_decode(s + i, n - i, &cp);
          if (l == 0) goto need;
          if (l < 0 || cp == 0xFFFE || cp == 0xFFFF) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
          i += (size_t)l;
        }
        break;
      }

      case S_PI_TARGET: {
        p->i = i;
        r = name_scan(p, 0, &colon);
        if (r != R_DONE) return r;
        i = p->i;
        size_t tl = i - p->name_start;
        const uint8_t *t = s + p->name_start;
        if (tl == 3 && t[0] == 'x' && t[1] == 'm' && t[2] == 'l') {
          if (p->item_off + p->tag_start != 0 || !(is_ws(s[i]) || s[i] == '?'))
            return fail(p, FG_XML_ERR_NOT_WELL_FORMED, p->tag_start);
          p->state = S_XMLDECL;
          break;
        }
        if (tl == 3 && (t[0] | 0x20) == 'x' && (t[1] | 0x20) == 'm' && (t[2] | 0x20) == 'l')
          return fail(p, FG_XML_ERR_NOT_WELL_FORMED, p->tag_start);  // reserved target
        return fail(p, FG_XML_ERR_RESTRICTED_XML, p->tag_start);
      }

      case S_XMLDECL:
        for (;;) {
          if (i - p->tag_start > MAX_DECL_LEN)
            return fail(p, FG_XML_ERR_NOT_WELL_FORMED, p->tag_start);
          if (i >= n) goto need;
          uint8_t c = s[i];
          if (c == '?') {
            if (i + 1 >= n) goto need;
            if (s[i + 1] == '>') break;
          }
          // Bytes no declaration can hold fail at once, not at `?>`.
          if (c == '<' || c == '>' || c >= 0x7F || (c < 0x20 && !is_ws(c)))
            return fail(p, FG_XML_ERR_NOT_WELL_FORMED, p->tag_start);
          i++;
        }
        if (parse_decl(p, s + p->tag_start + 5, i - p->tag_start - 5, p->tag_start) == R_ERR)
          return R_ERR;
        p->has_xml_decl = 1;
        i += 2;
        p->state = S_PROLOG;
        break;

      case S_STAG_NAME:
      l_stag_name:
        p->i = i;
        if ((r = name_scan(p, 1, &colon)) != R_DONE) return r;
        i = p->i;
        if ((r = begin_element(p, i, colon)) != R_DONE) return r;
        p->state = S_STAG_AFTER_VAL;
        goto l_stag_after_val;

      case S_STAG_AFTER_VAL:
      l_stag_after_val : {
        // After the element name or an attribute value: whitespace, `/` or `>`.
        while (i + 2 < n && s[i] == ' ' && (fg_xml_byte_class[s[i + 1]] & C_NAMESTART)) {
          size_t j = attr_fast(p, i);
          if (j == 0) break;
          i = j;
        }
        if (i >= n) goto need;
        uint8_t c = s[i];
        if (is_ws(c)) {
          p->ws_count = 0;
          p->state = S_STAG_SPACE;
          goto l_stag_space;
        }
        if (c == '>') {
          p->i = i + 1;
          if ((r = finish_stag(p, 0, i + 1)) != R_NEED) return r;
          i = p->i;
          break;
        }
        if (c == '/') {
          i++;
          p->state = S_EMPTY;
          goto l_empty;
        }
        return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
      }

      case S_STAG_SPACE:
      l_stag_space : {
        while (i < n && is_ws(s[i])) {
          if (s[i] != ' ') p->canon = 0;
          p->ws_count++;
          i++;
        }
        if (i >= n) goto need;
        uint8_t c = s[i];
        if (c == '>' || c == '/') {
          p->canon = 0;
          if (c == '/') {
            i++;
            p->state = S_EMPTY;
            goto l_empty;
          }
          p->i = i + 1;
          if ((r = finish_stag(p, 0, i + 1)) != R_NEED) return r;
          i = p->i;
          break;
        }
        if (p->ws_count != 1) p->canon = 0;
        name_begin(p, i);
        p->state = S_ATTR_NAME;
        goto l_attr_name;
      }

      case S_ATTR_NAME:
      l_attr_name:
        p->i = i;
        if ((r = name_scan(p, 1, &colon)) != R_DONE) return r;
        i = p->i;
        if ((r = add_attr(p, i, colon)) != R_DONE) return r;
        if (s[i] == '=') {
          i++;
          p->state = S_ATTR_QUOTE;
          goto l_attr_quote;
        }
        p->state = S_ATTR_EQ;
        break;

      case S_ATTR_EQ:
        while (i < n && is_ws(s[i])) {
          p->canon = 0;
          i++;
        }
        if (i >= n) goto need;
        if (s[i] != '=') return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
        i++;
        p->state = S_ATTR_QUOTE;
        goto l_attr_quote;

      case S_ATTR_QUOTE:
      l_attr_quote:
        while (i < n && is_ws(s[i])) {
          p->canon = 0;
          i++;
        }
        if (i >= n) goto need;
        if (s[i] != '\'' && s[i] != '"') return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
        if (s[i] == '"') p->canon = 0;
        p->quote = s[i++];
        acc_begin(p, i);
        p->state = S_ATTR_VAL;
        goto l_attr_val;

      case S_ATTR_VAL:
      l_attr_val:
        for (;;) {
          i = scan_attr(s, i, n, p->quote);
          if (i >= n) goto need;
          uint8_t c = s[i];
          if (c == p->quote) {
            iattr *a = &p->attrs[p->attrs_n - 1];
            if (!acc_end(p, i, &a->value)) return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, i);
            i++;
            p->state = S_STAG_AFTER_VAL;
            goto l_stag_after_val;
          }
          if (c == '&') {
            uint32_t cp;
            size_t rl;
            p->i = i;
            r = parse_ref(p, i, &cp, &rl);
            if (r == R_ERR) return r;
            if (r == R_NEED) goto need;
            if (!ref_append(p, i, rl, cp, 1)) return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, i);
            i += rl;
            continue;
          }
          if (c == '<')
            return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);  // WFC No < in Attribute Values
          if (c == '>' || c == '\'' || c == '"') {
            if (c == '>') p->canon = 0;
            i++;
            continue;
          }
          if (c == '\t' || c == '\n' || c == '\r') {
            // XML 1.0 §3.3.3: literal whitespace becomes a space.
            size_t sk = 1;
            if (c == '\r') {
              if (i + 1 >= n) goto need;
              if (s[i + 1] == '\n') sk = 2;
            }
            p->canon = 0;
            if (!acc_replace(p, i, sk, (const uint8_t *)" ", 1))
              return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, i);
            i += sk;
            continue;
          }
          if (c < 0x80) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
          uint32_t cp;
          int l = utf8_decode(s + i, n - i, &cp);
          if (l == 0) goto need;
          if (l < 0 || cp == 0xFFFE || cp == 0xFFFF) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
          i += (size_t)l;
        }
        break;

      case S_EMPTY:
      l_empty:
        if (i >= n) goto need;
        if (s[i] != '>') return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
        p->i = i + 1;
        if ((r = finish_stag(p, 1, i + 1)) != R_NEED) return r;
        i = p->i;
        break;

      case S_ETAG_NAME:
      l_etag_name : {
        p->i = i;
        if ((r = name_scan(p, 1, &colon)) != R_DONE) return r;
        i = p->i;
        uint8_t c = s[i];
        if (c == '>') {
          if ((r = finish_etag(p, i, i + 1)) != R_NEED) return r;
          i = p->i;
          break;
        }
        if (!is_ws(c)) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
        p->canon = 0;
        p->ws_count = (uint32_t)(i - p->name_start);  // name length, kept for the end
        p->state = S_ETAG_SPACE;
        break;
      }

      case S_ETAG_SPACE:
        while (i < n && is_ws(s[i])) i++;
        if (i >= n) goto need;
        if (s[i] != '>') return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
        if ((r = finish_etag(p, p->name_start + p->ws_count, i + 1)) != R_NEED) return r;
        i = p->i;
        break;
    }
  }
need:
  p->i = i;
  return R_NEED;
}
