// xml_state.h: the state of a streaming XML parser, shared by the
// files that implement gateway/xml/xml_parser.h (not a public interface): the
// parser struct, the records of the element being read (nodes, attributes,
// namespace bindings), spans (strings as tagged offsets into the parser's
// storage) and the growth and error helpers every part uses.
#ifndef FEDGATE_GATEWAY_XML_XML_STATE_H
#define FEDGATE_GATEWAY_XML_XML_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/xml/xml_types.h"

// NONE marks an absent index (no parent, no child) or span.
#define NONE UINT32_MAX

#define CANON_EXACT 1
#define CANON_FORWARDABLE 2
#define CANON_ALL (CANON_EXACT | CANON_FORWARDABLE)

// A span is a string recorded as a tagged offset and a length.
#define TAG_SHIFT 30
#define TAG_MASK (3u << TAG_SHIFT)
#define OFF_MASK ((1u << TAG_SHIFT) - 1)
#define TAG_RAW (0u << TAG_SHIFT)    // item bytes (p->base)
#define TAG_ARENA (1u << TAG_SHIFT)  // decoded strings (p->arena)
#define TAG_HDR (2u << TAG_SHIFT)    // stored stream header (p->hdr)
#define TAG_STATIC (3u << TAG_SHIFT)

typedef struct span {
  uint32_t off;
  uint32_t len;
} span;

static const char kStatic[] = FG_XML_NS_XML;
static const span kSpanEmpty = {TAG_STATIC, 0};
static const span kSpanXmlNs = {TAG_STATIC, sizeof(FG_XML_NS_XML) - 1};
static const span kSpanAbsent = {NONE, 0};

// inode is an element or a text node of the element being read, linked by
// indexes into p->nodes.
typedef struct inode {
  uint8_t type;
  // Elements: 1 when an attribute written on the element is prefixed or is
  // `xmlns` (a declaration), set as attributes are recorded; without one,
  // namespace processing has no declaration to read and no prefix to resolve.
  uint8_t attr_special;
  uint32_t parent, first_child, last_child, next;
  span prefix, local, ns, text;
  uint32_t attr_start, attr_n;
  uint32_t ndecl;  // how many of the attributes are declarations (fg_xml_ns_process)
  uint32_t raw_start, raw_end;
  uint32_t bind_start;
  uint32_t name_off;
  span dflt_out;  // the default namespace in scope around the element
} inode;

// iattr is an attribute (or namespace declaration, |is_decl|) as written.
typedef struct iattr {
  span prefix, local, value, ns;
  uint32_t name_off;
  uint8_t is_decl;
} iattr;

// ibind is a namespace binding in scope; p->binds is a stack.
typedef struct ibind {
  span prefix, uri;
} ibind;

// Where the stream is between items (p->outer).
enum { O_PROLOG, O_BETWEEN, O_CLOSED, O_ERROR };
// What the current item is (p->item_kind).
enum { K_PROLOG, K_ELEMENT };
// What a step of the tokenizer returns.
enum { R_NEED, R_ERR, R_OPEN, R_DONE, R_CLOSE };
// The tokenizer's states (p->state).
enum {
  S_PROLOG,
  S_CONTENT,
  S_LT,
  S_BANG,
  S_CDATA,
  S_PI_TARGET,
  S_XMLDECL,
  S_STAG_NAME,
  S_STAG_SPACE,
  S_STAG_AFTER_VAL,
  S_ATTR_NAME,
  S_ATTR_EQ,
  S_ATTR_QUOTE,
  S_ATTR_VAL,
  S_EMPTY,
  S_ETAG_NAME,
  S_ETAG_SPACE,
};

struct fg_xml_parser {
  // The feed of the instruction-set copy that created the parser
  // (gateway/xml/xml_simd.c); every copy lays the struct out the same way.
  fg_xml_event (*feed)(struct fg_xml_parser *p, size_t *out_used, const uint8_t *in, size_t in_len);
  fg_xml_config cfg;
  int authed;
  int outer;
  int pending_close;
  int item_active, item_kind, item_done;
  int direct;
  const uint8_t *base;
  size_t i, n;
  uint64_t off;       // stream offset of the next unconsumed input byte
  uint64_t item_off;  // stream offset of the item's first byte
  uint8_t *buf;
  size_t buf_len, buf_cap;

  int state;
  uint32_t tag_start, name_start;
  int32_t name_colon;
  uint8_t name_need_start, quote, rb;
  uint32_t ws_count;
  // canon: what the item's bytes are so far, as bits: CANON_EXACT, the
  // canonical form byte for byte; CANON_FORWARDABLE, that form but for where
  // an element's default namespace declaration stands among its attributes.
  // Every other departure clears both (p->canon = 0).
  int canon;

  // Character data / attribute value accumulation.
  int acc_decoded;
  uint32_t acc_raw_start, acc_run_start, acc_arena_start;

  inode *nodes;
  uint32_t nodes_n, nodes_cap;
  iattr *attrs;
  uint32_t attrs_n, attrs_cap;
  ibind *binds;
  uint32_t binds_n, binds_cap, nhdr_binds;
  // The default namespace the bindings in p->binds give (the nearest binding
  // of the empty prefix; empty when none), kept up to date as bindings are
  // pushed and popped so that unprefixed names resolve without a search;
  // |hdr_dflt| is the stream header's.
  span dflt, hdr_dflt;
  uint32_t *open;
  uint32_t open_n, open_cap;
  uint32_t cur;  // element whose start tag is being read
  uint8_t *arena;
  size_t arena_len, arena_cap;

  // Stored stream header: its item bytes followed by its arena bytes.
  uint8_t *hdr;
  size_t hdr_len, hdr_cap;
  span hdr_qname;
  int has_xml_decl;
  int have_header;
  fg_xml_stream_header header;
  fg_xml_nsdecl *hdr_decls;
  fg_xml_attr *hdr_attrs;
  size_t hdr_decls_cap, hdr_attrs_cap;

  // Public views of the last element.
  fg_xml_node *pn;
  size_t pn_cap;
  fg_xml_attr *pa;
  size_t pa_cap;
  fg_xml_nsdecl *pd;
  size_t pd_cap;
  fg_xml_element el;

  size_t ka_bytes;
  int ka_ws;
  fg_xml_error err;
  uint64_t err_off;
};

static inline int grow(void **ptr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 1;
  size_t c = *cap ? *cap : 16;
  while (c < need) c *= 2;
  void *q = realloc(*ptr, c * elem);
  if (q == NULL) return 0;
  *ptr = q;
  *cap = c;
  return 1;
}

// grow_exact is grow without headroom, for what lives as long as the stream
// (the stored header): a few bytes more per idle stream add up.
static inline int grow_exact(void **ptr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 1;
  void *q = realloc(*ptr, need * elem);
  if (q == NULL) return 0;
  *ptr = q;
  *cap = need;
  return 1;
}

static inline int grow32(void **ptr, uint32_t *cap, size_t need, size_t elem) {
  size_t c = *cap;
  if (!grow(ptr, &c, need, elem)) return 0;
  *cap = (uint32_t)c;
  return 1;
}

// ---------------------------------------------------------------------------
// Spans.

static inline span mkspan(uint32_t tag, size_t off, size_t len) {
  span s = {tag | (uint32_t)off, (uint32_t)len};
  return s;
}

// span_base returns where the bytes of spans tagged |tag| live.
static inline const uint8_t *span_base(const fg_xml_parser *p, uint32_t tag) {
  switch (tag) {
    case TAG_RAW:
      return p->base;
    case TAG_ARENA:
      return p->arena;
    case TAG_HDR:
      return p->hdr;
    default:
      return (const uint8_t *)kStatic;
  }
}

// item_records_reset forgets the records of the item being read (nodes,
// attributes, arena, open elements, declarations beyond the header's), so
// that its bytes can be read again from the start or the next item begun.
static inline void item_records_reset(fg_xml_parser *p) {
  p->nodes_n = 0;
  p->attrs_n = 0;
  p->arena_len = 0;
  p->open_n = 0;
  p->binds_n = p->nhdr_binds;
  p->dflt = p->hdr_dflt;
}

static inline fg_xml_str resolve(const fg_xml_parser *p, span s) {
  fg_xml_str r = {NULL, 0};
  if (s.off == NONE) return r;
  r.data = span_base(p, s.off & TAG_MASK) + (s.off & OFF_MASK);
  r.len = s.len;
  return r;
}

// bytes_eq compares |n| bytes without a call: names, prefixes and the
// attribute names compared for uniqueness are short, and a library memcmp
// call costs more than the comparison. Loads overlap instead of looping
// over a tail.
static inline int bytes_eq(const uint8_t *a, const uint8_t *b, size_t n) {
  uint64_t x, y;
  uint32_t u, v;
  if (n >= 8) {
    size_t k = 0;
    for (; k + 8 < n; k += 8) {
      memcpy(&x, a + k, 8);
      memcpy(&y, b + k, 8);
      if (x != y) return 0;
    }
    memcpy(&x, a + n - 8, 8);
    memcpy(&y, b + n - 8, 8);
    return x == y;
  }
  if (n >= 4) {
    memcpy(&u, a, 4);
    memcpy(&v, b, 4);
    if (u != v) return 0;
    memcpy(&u, a + n - 4, 4);
    memcpy(&v, b + n - 4, 4);
    return u == v;
  }
  switch (n) {
    case 3:
      if (a[2] != b[2]) return 0;
      /* fall through */
    case 2:
      if (a[1] != b[1]) return 0;
      /* fall through */
    case 1:
      return a[0] == b[0];
    default:
      return 1;
  }
}

static inline int span_eq(const fg_xml_parser *p, span a, span b) {
  if (a.len != b.len) return 0;
  if (a.len == 0 || a.off == b.off) return 1;
  return bytes_eq(span_base(p, a.off & TAG_MASK) + (a.off & OFF_MASK),
                  span_base(p, b.off & TAG_MASK) + (b.off & OFF_MASK), a.len);
}

static inline int span_eq_c(const fg_xml_parser *p, span a, const char *c, size_t n) {
  if (a.len != n) return 0;
  if (n == 0) return 1;
  return bytes_eq(span_base(p, a.off & TAG_MASK) + (a.off & OFF_MASK), (const uint8_t *)c, n);
}

// retag_hdr moves a span of the stream header item (its bytes or its arena)
// to the stored header, where the item bytes come first, |raw_len| of them.
static inline span retag_hdr(span s, size_t raw_len) {
  if (s.off == NONE) return s;
  switch (s.off & TAG_MASK) {
    case TAG_RAW:
      return mkspan(TAG_HDR, s.off & OFF_MASK, s.len);
    case TAG_ARENA:
      return mkspan(TAG_HDR, (s.off & OFF_MASK) + raw_len, s.len);
    default:
      return s;
  }
}

// fail records the stream error |e| at item offset |rel| and returns R_ERR.
static __attribute__((noinline, cold, unused)) int fail(fg_xml_parser *p, fg_xml_error e,
                                                        size_t rel) {
  p->err = e;
  p->err_off = p->item_off + rel;
  p->outer = O_ERROR;
  return R_ERR;
}

#endif  // FEDGATE_GATEWAY_XML_XML_STATE_H
