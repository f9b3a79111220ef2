// xml_expat_diff_fuzzer.c: gateway/xml's stream parser against expat on the
// XML both must agree on.
//
// Input: one control byte, one length byte L, L bytes of stream header
// attributes, then the stream's content. The document fed to both parsers is
//
//   [XML declaration picked by the control byte]
//   <stream:stream xmlns:stream='http://etherx.jabber.org/streams'
//     xmlns='jabber:server' ATTRIBUTES>CONTENT</stream:stream>
//
// fedgate parses it whole (default configuration, limits raised beyond any
// input: see below); expat 2.x parses it with namespace processing, UTF-8
// forced, prefixes reported. Both must accept it (fedgate: the stream's close
// without an error; expat: XML_STATUS_OK) or both reject it, and when both
// accept, the stream element's attributes and every top-level element (names,
// namespace URIs, prefixes, attributes with their decoded values, text with
// adjacent runs and CDATA sections merged) must be equal.
//
// The subset compared is restricted XML (RFC 6120 §11.1) in UTF-8. Inputs on
// which the two differ by design are skipped here, before parsing, so that
// the comparison itself stays strict (docs/development.md lists them):
//   - comments, processing instructions, DOCTYPE (any "<!" that does not open
//     a CDATA section, any "<?"): restricted-xml in fedgate, allowed by expat;
//   - stream header attributes containing "xmlns" or "version" (the bytes
//     up to the open tag's `>` outside quotes, which a quote left open in
//     the header bytes moves into the content): the stream element's
//     namespace rules (RFC 6120 §4.8) and version check (§4.7.5) are
//     XMPP's, not XML's;
//   - character references longer than 32 bytes (leading zeros): fedgate's
//     policy-violation;
//   - bytes above 0x7F inside markup (names): fedgate follows XML 1.0 fifth
//     edition's NameStartChar/NameChar, expat the fourth edition's tables;
//   - qualified names with more than one colon, or starting or ending with
//     one: not namespace-well-formed (Namespaces in XML §7), and expat does
//     not check.
// fedgate's size limits are raised above what an input of max_len bytes can
// reach, so that they never fire. Empty text nodes are not compared (expat
// reports no data for `<![CDATA[]]>`).
#include <expat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/xml/xml_parser.h"
#include "fuzz/fuzz_check.h"

static const char *const kDecls[4] = {
    "",
    "<?xml version='1.0'?>",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
    "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n",
};
static const char kOpen[] =
    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:server' ";
static const char kClose[] = "</stream:stream>";
#define SEP '\x01'  // not an XML 1.0 Char: never in a name or a URI

// --- a growable byte string: each parser's view of the document ---

typedef struct buf {
  char *d;
  size_t len, cap;
} buf;

static void put(buf *b, const void *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    b->d = realloc(b->d, cap);
    FUZZ_CHECK(b->d != NULL);
    b->cap = cap;
  }
  memcpy(b->d + b->len, p, n);
  b->len += n;
  b->d[b->len] = 0;
}

static void puts_(buf *b, const char *s) {
  put(b, s, strlen(s));
}

// put_field appends one length-prefixed field, so that no content can fake
// the structure.
static void put_field(buf *b, const void *p, size_t n) {
  char len[24];
  snprintf(len, sizeof(len), "%zu:", n);
  puts_(b, len);
  put(b, p, n);
}

// An attribute as both sides report it, sorted by (ns, local) before output.
typedef struct attr {
  const char *ns, *local, *prefix, *value;
  size_t ns_len, local_len, prefix_len, value_len;
} attr;

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl) {
  int c = memcmp(a, b, al < bl ? al : bl);
  if (c != 0) return c;
  return al < bl ? -1 : al > bl;
}

static int cmp_attr(const void *x, const void *y) {
  const attr *a = x, *b = y;
  int c = cmp_bytes(a->ns, a->ns_len, b->ns, b->ns_len);
  return c != 0 ? c : cmp_bytes(a->local, a->local_len, b->local, b->local_len);
}

static void put_attrs(buf *b, attr *a, size_t n) {
  qsort(a, n, sizeof(*a), cmp_attr);
  for (size_t i = 0; i < n; i++) {
    puts_(b, "A");
    put_field(b, a[i].ns, a[i].ns_len);
    put_field(b, a[i].local, a[i].local_len);
    put_field(b, a[i].prefix, a[i].prefix_len);
    put_field(b, a[i].value, a[i].value_len);
  }
}

// --- fedgate ---

#define S(x) (const char *)(x).data, (x).len

// fg_attrs writes fedgate's attributes |a| (|n| of them), sorted.
static void fg_attrs(buf *b, const fg_xml_attr *s, size_t n) {
  attr *a = calloc(n + 1, sizeof(*a));
  FUZZ_CHECK(a != NULL);
  for (size_t i = 0; i < n; i++) {
    a[i] = (attr){(const char *)s[i].ns.data,
                  (const char *)s[i].local.data,
                  (const char *)s[i].prefix.data,
                  (const char *)s[i].value.data,
                  s[i].ns.len,
                  s[i].local.len,
                  s[i].prefix.len,
                  s[i].value.len};
  }
  put_attrs(b, a, n);
  free(a);
}

static void fg_node(buf *b, const fg_xml_node *n) {
  if (n->type == FG_XML_NODE_TEXT) {
    if (n->text.len == 0) return;
    puts_(b, "T");
    put_field(b, S(n->text));
    return;
  }
  puts_(b, "E");
  put_field(b, S(n->ns));
  put_field(b, S(n->local));
  put_field(b, S(n->prefix));
  fg_attrs(b, n->attrs, n->num_attrs);
  for (const fg_xml_node *c = n->first_child; c != NULL; c = c->next) fg_node(b, c);
  puts_(b, "/");
}

// g_fg_error describes fedgate's error, for the report of a difference.
static char g_fg_error[64];

// run_fedgate returns 1 when fedgate accepts the whole document, writing
// what it saw to |out|.
static int run_fedgate(const uint8_t *doc, size_t len, buf *out) {
  fg_xml_config cfg;
  fg_xml_config_default(&cfg);
  cfg.limits.max_element_bytes_preauth = 1 << 24;
  cfg.limits.max_element_bytes_postauth = 1 << 24;
  cfg.limits.max_depth = UINT32_MAX;
  cfg.limits.max_attrs = UINT32_MAX;
  cfg.limits.max_name_len = UINT32_MAX;
  cfg.limits.max_ns_decls = UINT32_MAX;
  cfg.limits.max_nodes = UINT32_MAX;
  fg_xml_parser *p = fg_xml_parser_new(&cfg);
  FUZZ_CHECK(p != NULL);
  snprintf(g_fg_error, sizeof(g_fg_error), "no stream close");
  int closed = 0, ok = 1;
  while (ok && (len > 0 || fg_xml_parser_pending(p))) {
    size_t used = 0;
    fg_xml_event ev = fg_xml_parser_feed(p, &used, doc, len);
    doc += used;
    len -= used;
    switch (ev) {
      case FG_XML_EVENT_STREAM_OPEN: {
        const fg_xml_stream_header *h = fg_xml_parser_header(p);
        puts_(out, "H");
        fg_attrs(out, h->attrs, h->num_attrs);
        puts_(out, "\n");
        break;
      }
      case FG_XML_EVENT_ELEMENT:
        fg_node(out, fg_xml_parser_element(p)->root);
        puts_(out, "\n");
        break;
      case FG_XML_EVENT_STREAM_CLOSE:
        closed = 1;
        break;
      case FG_XML_EVENT_ERROR: {
        uint64_t off = 0;
        fg_xml_error e = fg_xml_parser_error(p, &off);
        // The limits never fire and memory does not run out here.
        snprintf(g_fg_error, sizeof(g_fg_error), "%s at %llu", fg_xml_error_condition(e),
                 (unsigned long long)off);
        if (e == FG_XML_ERR_POLICY_VIOLATION || e == FG_XML_ERR_RESOURCE_CONSTRAINT)
          fprintf(stderr, "fedgate: %s\n", g_fg_error);
        FUZZ_CHECK(e != FG_XML_ERR_POLICY_VIOLATION && e != FG_XML_ERR_RESOURCE_CONSTRAINT);
        ok = 0;
        break;
      }
      case FG_XML_EVENT_KEEPALIVE:
        break;
      case FG_XML_EVENT_NEED_MORE:
        if (len == 0) goto done;
        break;
    }
  }
done:
  fg_xml_parser_free(p);
  return ok && closed;
}

// --- expat ---

typedef struct ex_state {
  buf *out;
  buf text;  // character data not yet written (merged runs)
  int depth;
} ex_state;

// split_name turns expat's "uri SEP local [SEP prefix]" or "local" into an
// attribute record.
static void split_name(const char *name, attr *a) {
  const char *s1 = strchr(name, SEP);
  if (s1 == NULL) {
    a->ns = a->prefix = "";
    a->ns_len = a->prefix_len = 0;
    a->local = name;
    a->local_len = strlen(name);
    return;
  }
  a->ns = name;
  a->ns_len = (size_t)(s1 - name);
  a->local = s1 + 1;
  const char *s2 = strchr(a->local, SEP);
  if (s2 == NULL) {
    a->local_len = strlen(a->local);
    a->prefix = "";
    a->prefix_len = 0;
  } else {
    a->local_len = (size_t)(s2 - a->local);
    a->prefix = s2 + 1;
    a->prefix_len = strlen(a->prefix);
  }
}

static void ex_flush(ex_state *s) {
  if (s->depth >= 2 && s->text.len > 0) {
    puts_(s->out, "T");
    put_field(s->out, s->text.d, s->text.len);
  }
  s->text.len = 0;
}

static void XMLCALL ex_start(void *u, const XML_Char *name, const XML_Char **atts) {
  ex_state *s = u;
  ex_flush(s);
  size_t n = 0;
  while (atts[2 * n] != NULL) n++;
  attr *a = calloc(n + 1, sizeof(*a));
  FUZZ_CHECK(a != NULL);
  for (size_t i = 0; i < n; i++) {
    split_name(atts[2 * i], &a[i]);
    a[i].value = atts[2 * i + 1];
    a[i].value_len = strlen(atts[2 * i + 1]);
  }
  if (s->depth == 0) {
    puts_(s->out, "H");
  } else {
    attr el;
    split_name(name, &el);
    puts_(s->out, "E");
    put_field(s->out, el.ns, el.ns_len);
    put_field(s->out, el.local, el.local_len);
    put_field(s->out, el.prefix, el.prefix_len);
  }
  put_attrs(s->out, a, n);
  free(a);
  if (s->depth == 0) puts_(s->out, "\n");
  s->depth++;
}

static void XMLCALL ex_end(void *u, const XML_Char *name) {
  ex_state *s = u;
  ex_flush(s);
  s->depth--;
  if (s->depth >= 1) puts_(s->out, "/");
  if (s->depth == 1) puts_(s->out, "\n");
}

static void XMLCALL ex_text(void *u, const XML_Char *d, int len) {
  ex_state *s = u;
  if (s->depth >= 2) put(&s->text, d, (size_t)len);
}

// g_ex_error describes expat's error, for the report of a difference.
static char g_ex_error[128];

static int run_expat(const uint8_t *doc, size_t len, buf *out) {
  XML_Parser p = XML_ParserCreateNS("UTF-8", SEP);
  FUZZ_CHECK(p != NULL);
  ex_state s = {out, {0}, 0};
  XML_SetUserData(p, &s);
  XML_SetReturnNSTriplet(p, 1);
  XML_SetElementHandler(p, ex_start, ex_end);
  XML_SetCharacterDataHandler(p, ex_text);
  int ok = XML_Parse(p, (const char *)doc, (int)len, 1) == XML_STATUS_OK;
  snprintf(g_ex_error, sizeof(g_ex_error), "%s at %ld", XML_ErrorString(XML_GetErrorCode(p)),
           (long)XML_GetCurrentByteIndex(p));
  XML_ParserFree(p);
  free(s.text.d);
  return ok;
}

// --- the inputs compared ---

static int has(const uint8_t *d, size_t n, const char *s) {
  return memmem(d, n, s, strlen(s)) != NULL;
}

static int is_name_byte(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == ':' || c >= 0x80;
}

// outside_subset reports whether |d| (the document after the harness's own
// XML declaration) holds something the two parsers differ on by design.
static int outside_subset(const uint8_t *d, size_t n) {
  for (size_t i = 0; i + 1 < n; i++) {
    if (d[i] == '<' && d[i + 1] == '?') return 1;
    if (d[i] == '<' && d[i + 1] == '!' && (n - i < 9 || memcmp(d + i, "<![CDATA[", 9) != 0))
      return 1;
    if (d[i] == '&' && d[i + 1] == '#') {
      size_t j = i + 2;
      while (j < n && d[j] != ';' && j - i < 40) j++;
      if (j - i + 1 > 32) return 1;
    }
  }
  // Markup: names outside quoted values, between '<' and '>' (CDATA skipped).
  int in_tag = 0;
  uint8_t quote = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = d[i];
    if (!in_tag) {
      if (c == '<') {
        if (n - i >= 9 && memcmp(d + i, "<![CDATA[", 9) == 0) {
          const uint8_t *e = memmem(d + i, n - i, "]]>", 3);
          if (e == NULL) return 0;
          i = (size_t)(e - d) + 2;
          continue;
        }
        in_tag = 1;
      }
      continue;
    }
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '>') {
      in_tag = 0;
    } else if (c >= 0x80) {
      return 1;
    } else if (is_name_byte(c)) {
      // One name: at most one colon, not first or last.
      size_t j = i;
      int colons = 0;
      while (j < n && is_name_byte(d[j])) colons += d[j++] == ':';
      if (colons > 1 || (colons == 1 && (d[i] == ':' || d[j - 1] == ':'))) return 1;
      for (size_t k = i; k < j; k++)
        if (d[k] >= 0x80) return 1;
      i = j - 1;
    }
  }
  return 0;
}

// stream_tag_len returns how many bytes of |d|, which follow kOpen, belong
// to the stream's open tag: up to its `>` outside quotes. A quote the header
// attributes leave open moves that `>` into the content, and the attributes
// with it.
static size_t stream_tag_len(const uint8_t *d, size_t n) {
  uint8_t quote = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = d[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '>') {
      return i;
    }
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  uint8_t ctl = data[0];
  size_t hl = data[1];
  data += 2;
  size -= 2;
  if (hl > size) hl = size;
  const uint8_t *hdr = data, *body = data + hl;
  size_t bl = size - hl;
  if (has(hdr, hl, "xmlns") || has(hdr, hl, "version")) return 0;

  buf doc = {0};
  puts_(&doc, kDecls[ctl & 3]);
  size_t decl_len = doc.len;
  puts_(&doc, kOpen);
  put(&doc, hdr, hl);
  puts_(&doc, ">");
  put(&doc, body, bl);
  puts_(&doc, kClose);
  const uint8_t *attrs = (const uint8_t *)doc.d + decl_len + sizeof(kOpen) - 1;
  size_t al = stream_tag_len(attrs, doc.len - decl_len - (sizeof(kOpen) - 1));
  if (has(attrs, al, "xmlns") || has(attrs, al, "version") ||
      outside_subset((const uint8_t *)doc.d + decl_len, doc.len - decl_len)) {
    free(doc.d);
    return 0;
  }

  buf fo = {0}, eo = {0};
  int f_ok = run_fedgate((const uint8_t *)doc.d, doc.len, &fo);
  int e_ok = run_expat((const uint8_t *)doc.d, doc.len, &eo);
  if (f_ok != e_ok || (f_ok && (fo.len != eo.len || memcmp(fo.d, eo.d, fo.len) != 0))) {
    fprintf(stderr, "document (%zu bytes):\n%.*s\n", doc.len, (int)doc.len, doc.d);
    fprintf(stderr, "fedgate %s (%s):\n%.*s\nexpat %s (%s):\n%.*s\n", f_ok ? "accepts" : "rejects",
            f_ok ? "-" : g_fg_error, (int)fo.len, fo.d ? fo.d : "", e_ok ? "accepts" : "rejects",
            e_ok ? "-" : g_ex_error, (int)eo.len, eo.d ? eo.d : "");
    FUZZ_CHECK(f_ok == e_ok);
    FUZZ_CHECK(fo.len == eo.len && memcmp(fo.d, eo.d, fo.len) == 0);
  }
  free(doc.d);
  free(fo.d);
  free(eo.d);
  return 0;
}
