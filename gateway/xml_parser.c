// xml_parser.c: streaming parser for XMPP streams (RFC 6120 §4, §11).
//
// Design. Bytes outside top-level elements (whitespace keepalives) are skipped
// in place. Each "item" (the prolog plus stream header, or one top-level
// element with any stray character data before it) is tokenised by a byte
// state machine over one contiguous view of the item's bytes: the caller's
// buffer while the item lies inside one chunk (zero copy), else an internal
// buffer that grows up to the element size limit. Tokens that need a few
// bytes of lookahead (UTF-8 sequences, references, `]]>`, `<!--`) wait at
// their first byte for more input; everything longer (names, attribute values,
// text) is resumed where it stopped, so no byte is scanned more than a
// constant number of times. Strings are recorded as tagged offsets (item
// bytes, decoded-text arena, stored header) and turned into pointers once per
// element. All arrays are reused between elements.
#include "gateway/xml_parser.h"
#include "gateway/xml_parser_internal.h"
#include "gateway/xml_internal.h"
#include "gateway/xml_namespaces.h"
#include "gateway/xml_scan.h"
#include "gateway/xml_tree.h"

#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------
// Limits of this implementation.

// How much of a straddling element is copied per step: small enough that
// little is copied past the element's end, large enough to amortise.
#define COPY_BLOCK 512
#define MAX_REF_LEN 32
#define MAX_DECL_LEN 256

const char *fg_xml_error_condition(fg_xml_error err) {
  switch (err) {
    case FG_XML_ERR_NONE:
      return "none";
    case FG_XML_ERR_BAD_FORMAT:
      return "bad-format";
    case FG_XML_ERR_BAD_NAMESPACE_PREFIX:
      return "bad-namespace-prefix";
    case FG_XML_ERR_INVALID_NAMESPACE:
      return "invalid-namespace";
    case FG_XML_ERR_INVALID_XML:
      return "invalid-xml";
    case FG_XML_ERR_NOT_WELL_FORMED:
      return "not-well-formed";
    case FG_XML_ERR_POLICY_VIOLATION:
      return "policy-violation";
    case FG_XML_ERR_RESOURCE_CONSTRAINT:
      return "resource-constraint";
    case FG_XML_ERR_RESTRICTED_XML:
      return "restricted-xml";
    case FG_XML_ERR_UNSUPPORTED_ENCODING:
      return "unsupported-encoding";
    case FG_XML_ERR_UNSUPPORTED_VERSION:
      return "unsupported-version";
  }
  return "undefined-condition";
}

void fg_xml_limits_default(fg_xml_limits *lim) {
  lim->max_element_bytes_preauth = 16384;
  lim->max_element_bytes_postauth = 512 * 1024;
  lim->max_depth = 128;
  lim->max_attrs = 64;
  lim->max_name_len = 1024;
  lim->max_ns_decls = 64;
  lim->max_nodes = 16384;
}

void fg_xml_config_default(fg_xml_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  fg_xml_limits_default(&cfg->limits);
  cfg->content_ns = FG_XML_NS_SERVER;
}

// ---------------------------------------------------------------------------
// Storage.

static int fail_at(fg_xml_parser *p, fg_xml_error e, uint64_t abs_off) {
  p->err = e;
  p->err_off = abs_off;
  p->outer = O_ERROR;
  return R_ERR;
}

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
  if (i > p->acc_run_start && !arena_append(p, p->base + p->acc_run_start, i - p->acc_run_start))
    return 0;
  if (rep_len > 0 && !arena_append(p, rep, rep_len)) return 0;
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

static int parse_ref(fg_xml_parser *p, size_t i, uint32_t *cp, size_t *rlen) {
  const uint8_t *s = p->base;
  size_t n = p->n, j = i + 1;
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
// the escape fg_xml_writer_element writes for |cp| (gateway/xml_serializer.c).
static int canon_ref(const uint8_t *ref, size_t rl, uint32_t cp, int in_attr) {
  const char *e = NULL;
  switch (cp) {
    case '&':
      e = "&amp;";
      break;
    case '<':
      e = "&lt;";
      break;
    case '>':
      e = "&gt;";
      break;
    case '\r':
      e = "&#13;";
      break;
    case '\'':
      e = in_attr ? "&apos;" : NULL;
      break;
    case '\t':
      e = in_attr ? "&#9;" : NULL;
      break;
    case '\n':
      e = in_attr ? "&#10;" : NULL;
      break;
  }
  return e != NULL && strlen(e) == rl && memcmp(ref, e, rl) == 0;
}

// ---------------------------------------------------------------------------
// Names.

static inline void name_begin(fg_xml_parser *p, size_t i) {
  p->name_start = (uint32_t)i;
  p->name_colon = -1;
  p->name_need_start = 1;
}

// name_scan reads a QName from p->i. It returns R_DONE with p->i at the first
// byte after the name, R_NEED, or R_ERR.
static int name_scan(fg_xml_parser *p, int qname) {
  const uint8_t *s = p->base;
  size_t i = p->i, n = p->n, max = p->name_start + p->cfg.limits.max_name_len;
  for (;;) {
    while (i < n && i < max) {
      uint8_t c = s[i];
      uint8_t k = fg_xml_byte_class[c];
      if (k & C_NAMECHAR) {
        if (p->name_need_start && !(k & C_NAMESTART)) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
        p->name_need_start = 0;
        i++;
        continue;
      }
      break;
    }
    if (i >= n) {
      p->i = i;
      return R_NEED;
    }
    uint8_t c = s[i];
    if (c == ':' && qname) {
      if (p->name_colon >= 0 || p->name_need_start) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
      if (i >= max) return fail(p, FG_XML_ERR_POLICY_VIOLATION, i);
      p->name_colon = (int32_t)(i - p->name_start);
      p->name_need_start = 1;
      i++;
      continue;
    }
    if (c >= 0x80) {
      if (i >= max) return fail(p, FG_XML_ERR_POLICY_VIOLATION, i);
      uint32_t cp;
      int l = utf8_decode(s + i, n - i, &cp);
      if (l == 0) {
        p->i = i;
        return R_NEED;
      }
      if (l < 0 || !(p->name_need_start ? is_name_start_cp(cp) : is_name_char_cp(cp)))
        return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
      p->name_need_start = 0;
      i += (size_t)l;
      continue;
    }
    if (i >= max && (fg_xml_byte_class[c] & C_NAMECHAR))
      return fail(p, FG_XML_ERR_POLICY_VIOLATION, i);
    // The name ends here.
    if (i == p->name_start || p->name_need_start) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
    p->i = i;
    return R_DONE;
  }
}

static void name_spans(const fg_xml_parser *p, size_t end, span *prefix, span *local) {
  if (p->name_colon < 0) {
    *prefix = kSpanEmpty;
    *local = mkspan(TAG_RAW, p->name_start, end - p->name_start);
    return;
  }
  size_t c = p->name_start + (size_t)p->name_colon;
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

static size_t item_limit(const fg_xml_parser *p) {
  size_t pre = p->cfg.limits.max_element_bytes_preauth;
  size_t post = p->cfg.limits.max_element_bytes_postauth;
  if (pre < 10000) pre = 10000;  // RFC 6120 §13.12
  if (post < 10000) post = 10000;
  if (p->item_kind == K_PROLOG || !p->authed) return pre;
  return post;
}

static int begin_element(fg_xml_parser *p, size_t name_end) {
  int header = p->item_kind == K_PROLOG;
  if (!header && p->open_n + 1 > p->cfg.limits.max_depth)
    return fail(p, FG_XML_ERR_POLICY_VIOLATION, p->tag_start);
  uint32_t k = fg_xml_tree_new_node(p, FG_XML_NODE_ELEMENT);
  if (k == NONE) return fail(p, FG_XML_ERR_POLICY_VIOLATION, p->tag_start);
  if (k == NONE - 1) return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, p->tag_start);
  inode *nd = &p->nodes[k];
  name_spans(p, name_end, &nd->prefix, &nd->local);
  nd->attr_start = p->attrs_n;
  nd->raw_start = p->tag_start;
  nd->name_off = p->name_start;
  p->cur = k;
  return R_DONE;
}

static int add_attr(fg_xml_parser *p, size_t name_end) {
  inode *nd = &p->nodes[p->cur];
  if (nd->attr_n + 1 > p->cfg.limits.max_attrs)
    return fail(p, FG_XML_ERR_POLICY_VIOLATION, p->name_start);
  if (!grow32((void **)&p->attrs, &p->attrs_cap, p->attrs_n + 1, sizeof(iattr)))
    return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, p->name_start);
  iattr *a = &p->attrs[p->attrs_n++];
  nd->attr_n++;
  name_spans(p, name_end, &a->prefix, &a->local);
  a->name_off = p->name_start;
  a->is_decl = 0;
  a->value = kSpanEmpty;
  a->ns = kSpanEmpty;
  return R_DONE;
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
        memcmp(resolve(p, p->hdr_qname).data, p->base + p->name_start, len) != 0)
      return fail(p, FG_XML_ERR_NOT_WELL_FORMED, p->tag_start);
    p->i = end;
    return R_CLOSE;
  }
  uint32_t k = p->open[p->open_n - 1];
  inode *nd = &p->nodes[k];
  size_t qlen = (nd->prefix.len ? nd->prefix.len + 1 : 0) + nd->local.len;
  // XML 1.0 WFC Element Type Match: the same QName, not just the same expanded name.
  if (qlen != len || memcmp(p->base + nd->name_off, p->base + p->name_start, len) != 0)
    return fail(p, FG_XML_ERR_NOT_WELL_FORMED, p->tag_start);
  if (nd->first_child == NONE) p->canon = 0;  // canonical form writes <a/>
  nd->raw_end = (uint32_t)end;
  p->binds_n = nd->bind_start;
  p->open_n--;
  p->i = end;
  if (p->open_n == 0) return R_DONE;
  p->state = S_CONTENT;
  p->rb = 0;
  acc_begin(p, end);
  return R_NEED;
}

// ---------------------------------------------------------------------------
// The state machine over p->base[p->i, p->n).

static int run(fg_xml_parser *p) {
  const uint8_t *s = p->base;
  size_t n = p->n;
  size_t i = p->i;
  int r;
  for (;;) {
    switch (p->state) {
      case S_PROLOG:
        while (i < n && is_ws(s[i])) i++;
        if (i >= n) goto need;
        if (s[i] == '<') {
          p->tag_start = (uint32_t)i++;
          p->state = S_LT;
          break;
        }
        if (p->item_off + i == 0 && (s[i] == 0xEF || s[i] == 0xFE || s[i] == 0xFF || s[i] == 0))
          return fail(p, FG_XML_ERR_UNSUPPORTED_ENCODING, i);  // BOM or UTF-16/32
        return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);

      case S_CONTENT: {
        int discard = p->open_n == 0;
        for (;;) {
#if defined(__AVX2__)
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
            break;
          }
          if (c == '&') {
            uint32_t cp;
            size_t rl;
            p->i = i;
            r = parse_ref(p, i, &cp, &rl);
            if (r == R_ERR) return r;
            if (r == R_NEED) goto need;
            p->rb = 0;
            if (!discard) {
              uint8_t u[4];
              size_t ul = put_utf8(u, cp);
              if (!canon_ref(s + i, rl, cp, 0)) p->canon = 0;
              if (!acc_replace(p, i, rl, u, ul)) return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, i);
            }
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

      case S_LT: {
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
          if ((r = text_close(p, p->tag_start)) == R_ERR) return r;
          i++;
          name_begin(p, i);
          p->state = S_ETAG_NAME;
          break;
        }
        if ((r = text_close(p, p->tag_start)) == R_ERR) return r;
        name_begin(p, i);
        p->state = S_STAG_NAME;
        break;
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
              break;
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
        r = name_scan(p, 0);
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
        p->i = i;
        if ((r = name_scan(p, 1)) != R_DONE) return r;
        i = p->i;
        if ((r = begin_element(p, i)) != R_DONE) return r;
        p->state = S_STAG_AFTER_VAL;
        break;

      case S_STAG_AFTER_VAL: {
        // After the element name or an attribute value: whitespace, `/` or `>`.
        if (i >= n) goto need;
        uint8_t c = s[i];
        if (is_ws(c)) {
          p->ws_count = 0;
          p->state = S_STAG_SPACE;
          break;
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
          break;
        }
        return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
      }

      case S_STAG_SPACE: {
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
            break;
          }
          p->i = i + 1;
          if ((r = finish_stag(p, 0, i + 1)) != R_NEED) return r;
          i = p->i;
          break;
        }
        if (p->ws_count != 1) p->canon = 0;
        name_begin(p, i);
        p->state = S_ATTR_NAME;
        break;
      }

      case S_ATTR_NAME:
        p->i = i;
        if ((r = name_scan(p, 1)) != R_DONE) return r;
        i = p->i;
        if ((r = add_attr(p, i)) != R_DONE) return r;
        if (s[i] == '=') {
          i++;
          p->state = S_ATTR_QUOTE;
          break;
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
        break;

      case S_ATTR_QUOTE:
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
        break;

      case S_ATTR_VAL:
        for (;;) {
          i = scan_attr(s, i, n, p->quote);
          if (i >= n) goto need;
          uint8_t c = s[i];
          if (c == p->quote) {
            iattr *a = &p->attrs[p->attrs_n - 1];
            if (!acc_end(p, i, &a->value)) return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, i);
            i++;
            p->state = S_STAG_AFTER_VAL;
            break;
          }
          if (c == '&') {
            uint32_t cp;
            size_t rl;
            p->i = i;
            r = parse_ref(p, i, &cp, &rl);
            if (r == R_ERR) return r;
            if (r == R_NEED) goto need;
            uint8_t u[4];
            size_t ul = put_utf8(u, cp);
            if (!canon_ref(s + i, rl, cp, 1)) p->canon = 0;
            if (!acc_replace(p, i, rl, u, ul)) return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, i);
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
        if (i >= n) goto need;
        if (s[i] != '>') return fail(p, FG_XML_ERR_NOT_WELL_FORMED, i);
        p->i = i + 1;
        if ((r = finish_stag(p, 1, i + 1)) != R_NEED) return r;
        i = p->i;
        break;

      case S_ETAG_NAME: {
        p->i = i;
        if ((r = name_scan(p, 1)) != R_DONE) return r;
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

// ---------------------------------------------------------------------------
// Items and the outer loop.

static void item_reset_storage(fg_xml_parser *p) {
  p->nodes_n = 0;
  p->attrs_n = 0;
  p->arena_len = 0;
  p->open_n = 0;
  p->binds_n = p->nhdr_binds;
  p->buf_len = 0;
}

static void item_start(fg_xml_parser *p, int kind, int state, uint64_t off) {
  item_reset_storage(p);
  p->item_active = 1;
  p->item_kind = kind;
  p->direct = 1;
  p->item_off = off;
  p->state = state;
  p->i = 0;
  p->rb = 0;
  p->canon = 1;
}

// item_feed runs the current item over |in| (whose first byte is the item's
// next byte) and returns R_*; |*used| is how many bytes of |in| it consumed.
static int item_feed(fg_xml_parser *p, const uint8_t *in, size_t len, size_t *used) {
  size_t lim = item_limit(p);
  if (p->direct) {
    p->base = in;
    p->n = len < lim ? len : lim;
    int r = run(p);
    if (r == R_ERR) return r;
    if (r != R_NEED) {
      *used = p->i;
      return r;
    }
    if (len > lim) return fail(p, FG_XML_ERR_POLICY_VIOLATION, lim);
    // The item continues in the next chunk: keep its bytes.
    if (!grow((void **)&p->buf, &p->buf_cap, p->n ? p->n : 1, 1))
      return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, p->i);
    memcpy(p->buf, in, p->n);
    p->buf_len = p->n;
    p->base = p->buf;
    p->direct = 0;
    *used = len;
    return R_NEED;
  }
  size_t u = 0;
  while (u < len) {
    size_t room = lim > p->buf_len ? lim - p->buf_len : 0;
    if (room == 0) return fail(p, FG_XML_ERR_POLICY_VIOLATION, lim);
    // Copy in steps that grow with what is buffered: little is copied past
    // the element's end, and the total copy stays linear.
    size_t k = len - u, step = p->buf_len > COPY_BLOCK ? p->buf_len : COPY_BLOCK;
    if (k > step) k = step;
    if (k > room) k = room;
    if (!grow((void **)&p->buf, &p->buf_cap, p->buf_len + k, 1))
      return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, p->buf_len);
    size_t old = p->buf_len;
    memcpy(p->buf + old, in + u, k);
    p->buf_len += k;
    p->base = p->buf;
    p->n = p->buf_len;
    int r = run(p);
    if (r == R_ERR) return r;
    if (r != R_NEED) {
      *used = u + (p->i - old);
      return r;
    }
    u += k;
  }
  *used = len;
  return R_NEED;
}

fg_xml_event fg_xml_parser_feed(fg_xml_parser *p, size_t *out_used, const uint8_t *in,
                                size_t in_len) {
  *out_used = 0;
  if (p->outer == O_ERROR) return FG_XML_EVENT_ERROR;
  if (p->pending_close) {
    p->pending_close = 0;
    p->outer = O_CLOSED;
    return FG_XML_EVENT_STREAM_CLOSE;
  }
  if (p->item_done) {
    item_reset_storage(p);
    p->item_done = 0;
  }
  size_t u = 0;
  for (;;) {
    if (!p->item_active) {
      if (p->outer == O_PROLOG) {
        if (u >= in_len) break;
        item_start(p, K_PROLOG, S_PROLOG, p->off + u);
      } else {
        size_t w = u;
        while (w < in_len && is_ws(in[w])) w++;
        if (p->outer == O_CLOSED) {
          if (w < in_len) {
            *out_used = w;
            fail_at(p, FG_XML_ERR_NOT_WELL_FORMED, p->off + w);
            return FG_XML_EVENT_ERROR;
          }
          u = w;
          break;
        }
        if (w > u) {
          p->ka_bytes = w - u;
          p->ka_ws = 1;
          p->off += w;
          *out_used = w;
          return FG_XML_EVENT_KEEPALIVE;
        }
        if (u >= in_len) break;
        item_start(p, K_ELEMENT, S_CONTENT, p->off + u);
      }
    }
    if (u >= in_len) break;
    size_t used = 0;
    int r = item_feed(p, in + u, in_len - u, &used);
    if (r == R_ERR) {
      *out_used = u;
      return FG_XML_EVENT_ERROR;
    }
    u += used;
    if (r == R_NEED) break;
    p->item_active = 0;
    p->off += u;
    *out_used = u;
    if (r == R_OPEN) {
      p->outer = O_BETWEEN;
      item_reset_storage(p);
      return FG_XML_EVENT_STREAM_OPEN;
    }
    if (r == R_CLOSE) {
      p->outer = O_CLOSED;
      item_reset_storage(p);
      return FG_XML_EVENT_STREAM_CLOSE;
    }
    if (!fg_xml_tree_build_element(p)) {
      fail_at(p, FG_XML_ERR_RESOURCE_CONSTRAINT, p->off);
      return FG_XML_EVENT_ERROR;
    }
    p->item_done = 1;
    return FG_XML_EVENT_ELEMENT;
  }
  p->off += u;
  *out_used = u;
  return FG_XML_EVENT_NEED_MORE;
}

// ---------------------------------------------------------------------------
// Lifecycle and accessors.

fg_xml_parser *fg_xml_parser_new(const fg_xml_config *cfg) {
  fg_xml_scan_init();
  fg_xml_parser *p = calloc(1, sizeof(*p));
  if (p == NULL) return NULL;
  if (cfg != NULL)
    p->cfg = *cfg;
  else
    fg_xml_config_default(&p->cfg);
  if (p->cfg.content_ns == NULL) p->cfg.content_ns = FG_XML_NS_SERVER;
  if (p->cfg.limits.max_depth == 0) p->cfg.limits.max_depth = 1;
  if (p->cfg.limits.max_nodes == 0) p->cfg.limits.max_nodes = 1;
  if (p->cfg.limits.max_name_len == 0) p->cfg.limits.max_name_len = 1;
  fg_xml_parser_reset(p);
  return p;
}

void fg_xml_parser_free(fg_xml_parser *p) {
  if (p == NULL) return;
  free(p->buf);
  free(p->nodes);
  free(p->attrs);
  free(p->binds);
  free(p->open);
  free(p->arena);
  free(p->hdr);
  free(p->hdr_decls);
  free(p->hdr_attrs);
  free(p->pn);
  free(p->pa);
  free(p->pd);
  free(p);
}

void fg_xml_parser_trim(fg_xml_parser *p) {
  if (p->item_active || p->pending_close) return;
  item_reset_storage(p);
  free(p->buf);
  free(p->nodes);
  free(p->attrs);
  free(p->open);
  free(p->arena);
  free(p->pn);
  free(p->pa);
  free(p->pd);
  p->buf = p->arena = NULL;
  p->nodes = NULL;
  p->attrs = NULL;
  p->open = NULL;
  p->pn = NULL;
  p->pa = NULL;
  p->pd = NULL;
  p->buf_cap = p->arena_cap = p->pn_cap = p->pa_cap = p->pd_cap = 0;
  p->nodes_cap = p->attrs_cap = p->open_cap = 0;
  // Keep the stream header's namespace bindings only, at their exact size.
  if (p->binds_cap > p->nhdr_binds) {
    ibind *b = p->nhdr_binds ? realloc(p->binds, p->nhdr_binds * sizeof(ibind)) : NULL;
    if (p->nhdr_binds == 0) {
      free(p->binds);
      p->binds = NULL;
      p->binds_cap = 0;
    } else if (b != NULL) {
      p->binds = b;
      p->binds_cap = p->nhdr_binds;
    }
  }
  p->base = NULL;
  p->n = p->i = 0;
  p->item_done = 0;
  memset(&p->el, 0, sizeof(p->el));
}

void fg_xml_parser_reset(fg_xml_parser *p) {
  p->outer = O_PROLOG;
  p->pending_close = 0;
  p->item_active = 0;
  p->item_done = 0;
  p->off = 0;
  p->nhdr_binds = 0;
  item_reset_storage(p);
  p->have_header = 0;
  p->has_xml_decl = 0;
  p->hdr_len = 0;
  p->err = FG_XML_ERR_NONE;
  p->err_off = 0;
  p->ka_bytes = 0;
  memset(&p->header, 0, sizeof(p->header));
}

int fg_xml_parser_pending(const fg_xml_parser *p) {
  return p->pending_close;
}

const fg_xml_stream_header *fg_xml_parser_header(const fg_xml_parser *p) {
  return p->have_header ? &p->header : NULL;
}

const fg_xml_element *fg_xml_parser_element(const fg_xml_parser *p) {
  return p->item_done ? &p->el : NULL;
}

size_t fg_xml_parser_keepalive_bytes(const fg_xml_parser *p, int *out_whitespace) {
  if (out_whitespace != NULL) *out_whitespace = p->ka_ws;
  return p->ka_bytes;
}

fg_xml_error fg_xml_parser_error(const fg_xml_parser *p, uint64_t *out_offset) {
  if (out_offset != NULL) *out_offset = p->err_off;
  return p->err;
}

uint64_t fg_xml_parser_offset(const fg_xml_parser *p) {
  return p->off;
}

void fg_xml_parser_set_authenticated(fg_xml_parser *p) {
  p->authed = 1;
}

const fg_xml_nsdecl *fg_xml_parser_context(const fg_xml_parser *p, size_t *out_len) {
  if (!p->have_header) {
    *out_len = 0;
    return NULL;
  }
  *out_len = p->header.num_decls;
  return p->header.decls;
}
