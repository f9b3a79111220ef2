// header_text.c: a parsed stream header back to XML text.
#include "gateway/s2s/header_text.h"

#include <string.h>

typedef struct out_buf {
  char *p;
  size_t len, cap;
  int full;
} out_buf;

static void put(out_buf *b, const void *data, size_t len) {
  if (b->full || len >= b->cap - b->len) {
    b->full = 1;
    return;
  }
  memcpy(b->p + b->len, data, len);
  b->len += len;
}

static void puts_(out_buf *b, const char *s) {
  put(b, s, strlen(s));
}

// put_value writes a decoded attribute value for single quotes: markup and
// the whitespace that attribute-value normalisation would turn into spaces
// (XML 1.0 §3.3.3) go as references, so the value parses back unchanged.
static void put_value(out_buf *b, fg_xml_str v) {
  for (size_t i = 0; i < v.len; i++) {
    switch (v.data[i]) {
      case '&':
        puts_(b, "&amp;");
        break;
      case '<':
        puts_(b, "&lt;");
        break;
      case '\'':
        puts_(b, "&apos;");
        break;
      case '\t':
        puts_(b, "&#9;");
        break;
      case '\n':
        puts_(b, "&#10;");
        break;
      case '\r':
        puts_(b, "&#13;");
        break;
      default:
        put(b, &v.data[i], 1);
    }
  }
}

// put_quoted writes ='|v|' (escaped).
static void put_quoted(out_buf *b, fg_xml_str v) {
  put(b, "='", 2);
  put_value(b, v);
  put(b, "'", 1);
}

static void put_qname(out_buf *b, fg_xml_str prefix, fg_xml_str local) {
  if (prefix.len > 0) {
    put(b, prefix.data, prefix.len);
    put(b, ":", 1);
  }
  put(b, local.data, local.len);
}

// in_attrs says whether |h|'s attribute list holds |prefix|:|local|.
static int in_attrs(const fg_xml_stream_header *h, const char *prefix, const char *local) {
  for (size_t i = 0; i < h->num_attrs; i++) {
    const fg_xml_attr *a = &h->attrs[i];
    if (a->prefix.len == strlen(prefix) && memcmp(a->prefix.data, prefix, a->prefix.len) == 0 &&
        a->local.len == strlen(local) && memcmp(a->local.data, local, a->local.len) == 0) {
      return 1;
    }
  }
  return 0;
}

// put_named writes a header field the parser keeps apart, unless the
// attribute list carries it already.
static void put_named(out_buf *b, const fg_xml_stream_header *h, const char *prefix,
                      const char *local, fg_xml_str value) {
  if (value.data == NULL || in_attrs(h, prefix, local)) return;  // absent, or below
  put(b, " ", 1);
  if (prefix[0]) {
    puts_(b, prefix);
    put(b, ":", 1);
  }
  puts_(b, local);
  put_quoted(b, value);
}

size_t fg_header_text(const fg_xml_stream_header *h, char *out, size_t cap) {
  if (cap == 0) return 0;
  out_buf b = {out, 0, cap, 0};
  if (h->has_xml_decl) puts_(&b, "<?xml version='1.0'?>");
  put(&b, "<", 1);
  put_qname(&b, h->prefix, h->local);
  for (size_t i = 0; i < h->num_decls; i++) {
    const fg_xml_nsdecl *d = &h->decls[i];
    puts_(&b, d->prefix.len > 0 ? " xmlns:" : " xmlns");
    put(&b, d->prefix.data, d->prefix.len);
    put_quoted(&b, d->uri);
  }
  put_named(&b, h, "", "to", h->to);
  put_named(&b, h, "", "from", h->from);
  put_named(&b, h, "", "id", h->id);
  put_named(&b, h, "", "version", h->version);
  put_named(&b, h, "xml", "lang", h->lang);
  for (size_t i = 0; i < h->num_attrs; i++) {
    const fg_xml_attr *a = &h->attrs[i];
    put(&b, " ", 1);
    put_qname(&b, a->prefix, a->local);
    put_quoted(&b, a->value);
  }
  put(&b, ">", 1);
  if (b.full) return 0;
  out[b.len] = 0;
  return b.len;
}
