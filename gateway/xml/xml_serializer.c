// xml_serializer.c: canonical XML writer for XMPP (see xml_serializer.h).
#include "gateway/xml/xml_serializer.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/xml/xml_internal.h"

typedef struct binding {
  fg_xml_str prefix, uri;
} binding;

struct fg_xml_writer {
  uint8_t *out;
  size_t len, cap;
  binding *scope;
  size_t scope_n, scope_cap;
  size_t *marks;
  size_t marks_cap;
  int oom;
};

static const char kXmlNs[] = FG_XML_NS_XML;
static const char kXmlnsNs[] = "http://www.w3.org/2000/xmlns/";

fg_xml_writer *fg_xml_writer_new(void) {
  return calloc(1, sizeof(fg_xml_writer));
}

void fg_xml_writer_free(fg_xml_writer *w) {
  if (w == NULL) return;
  free(w->out);
  free(w->scope);
  free(w->marks);
  free(w);
}

void fg_xml_writer_clear(fg_xml_writer *w) {
  w->len = 0;
}

const uint8_t *fg_xml_writer_data(const fg_xml_writer *w, size_t *out_len) {
  *out_len = w->len;
  return w->out;
}

static int reserve(fg_xml_writer *w, size_t extra) {
  if (w->len + extra <= w->cap) return 1;
  size_t c = w->cap ? w->cap : 256;
  while (c < w->len + extra) c *= 2;
  uint8_t *q = realloc(w->out, c);
  if (q == NULL) {
    w->oom = 1;
    return 0;
  }
  w->out = q;
  w->cap = c;
  return 1;
}

static void put(fg_xml_writer *w, const void *d, size_t n) {
  if (n == 0 || !reserve(w, n)) return;
  memcpy(w->out + w->len, d, n);
  w->len += n;
}

static void puts_(fg_xml_writer *w, const char *s) {
  put(w, s, strlen(s));
}

static void put_str(fg_xml_writer *w, fg_xml_str s) {
  put(w, s.data, s.len);
}

static int str_eq(fg_xml_str a, fg_xml_str b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static int str_is(fg_xml_str a, const char *c) {
  size_t n = strlen(c);
  return a.len == n && (n == 0 || memcmp(a.data, c, n) == 0);
}

// valid_ncname checks Namespaces in XML NCName (a Name without colons).
static int valid_ncname(fg_xml_str s) {
  if (s.len == 0 || s.data == NULL) return 0;
  size_t i = 0;
  int first = 1;
  while (i < s.len) {
    uint8_t c = s.data[i];
    if (c < 0x80) {
      int start = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
      int ch = start || (c >= '0' && c <= '9') || c == '-' || c == '.';
      if (first ? !start : !ch) return 0;
      i++;
    } else {
      uint32_t cp;
      int l = utf8_decode(s.data + i, s.len - i, &cp);
      if (l <= 0 || !(first ? is_name_start_cp(cp) : is_name_char_cp(cp))) return 0;
      i += (size_t)l;
    }
    first = 0;
  }
  return 1;
}

// valid_chars checks that |s| is UTF-8 made of XML 1.0 Chars.
static int valid_chars(fg_xml_str s) {
  if (s.len > 0 && s.data == NULL) return 0;
  size_t i = 0;
  while (i < s.len) {
    uint8_t c = s.data[i];
    if (c >= 0x20 && c < 0x80) {
      i++;
      continue;
    }
    if (c < 0x20) {
      if (c != '\t' && c != '\n' && c != '\r') return 0;
      i++;
      continue;
    }
    uint32_t cp;
    int l = utf8_decode(s.data + i, s.len - i, &cp);
    if (l <= 0 || !is_xml_char(cp)) return 0;
    i += (size_t)l;
  }
  return 1;
}

// put_escaped writes |s| escaped for character data (attr 0) or for an
// attribute value quoted with `'` (attr 1). These escapes are the canonical
// ones the parser recognises (canon_ref in xml_tokenizer.c).
static void put_escaped(fg_xml_writer *w, fg_xml_str s, int attr, int one_line) {
  if (s.len == 0) return;
  size_t run = 0;
  for (size_t i = 0; i < s.len; i++) {
    const char *e = NULL;
    switch (s.data[i]) {
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
        if (attr) e = "&apos;";
        break;
      case '\t':
        if (attr) e = "&#9;";
        break;
      case '\n':
        if (attr || one_line) e = "&#10;";
        break;
    }
    if (e == NULL) continue;
    put(w, s.data + run, i - run);
    puts_(w, e);
    run = i + 1;
  }
  put(w, s.data + run, s.len - run);
}

static int push(fg_xml_writer *w, fg_xml_str prefix, fg_xml_str uri) {
  if (w->scope_n == w->scope_cap) {
    size_t c = w->scope_cap ? w->scope_cap * 2 : 32;
    binding *q = realloc(w->scope, c * sizeof(binding));
    if (q == NULL) return w->oom = 1, 0;
    w->scope = q;
    w->scope_cap = c;
  }
  w->scope[w->scope_n].prefix = prefix;
  w->scope[w->scope_n].uri = uri;
  w->scope_n++;
  return 1;
}

// lookup finds |prefix| in the output scope; *found_at is its index.
static int lookup(const fg_xml_writer *w, fg_xml_str prefix, fg_xml_str *uri, size_t *found_at) {
  for (size_t k = w->scope_n; k > 0; k--) {
    if (str_eq(w->scope[k - 1].prefix, prefix)) {
      *uri = w->scope[k - 1].uri;
      *found_at = k - 1;
      return 1;
    }
  }
  *found_at = SIZE_MAX;
  if (prefix.len == 0) {
    uri->data = (const uint8_t *)"";
    uri->len = 0;
    return 1;
  }
  return 0;
}

static void put_decl(fg_xml_writer *w, fg_xml_str prefix, fg_xml_str uri) {
  if (prefix.len == 0) {
    puts_(w, " xmlns='");
  } else {
    puts_(w, " xmlns:");
    put_str(w, prefix);
    puts_(w, "='");
  }
  put_escaped(w, uri, 1, 0);
  puts_(w, "'");
}

// declare makes |prefix| mean |uri| in the output, writing a declaration on
// the current element (scope entries from |mark| on) when needed.
static int declare(fg_xml_writer *w, fg_xml_str prefix, fg_xml_str uri, size_t mark) {
  if (str_is(prefix, "xml")) return str_is(uri, kXmlNs);
  if (str_is(prefix, "xmlns")) return 0;
  if (str_is(uri, kXmlNs) || str_is(uri, kXmlnsNs)) return 0;
  if (prefix.len > 0 && (uri.len == 0 || !valid_ncname(prefix))) return 0;
  if (!valid_chars(uri)) return 0;
  fg_xml_str cur;
  size_t at;
  int bound = lookup(w, prefix, &cur, &at);
  if (bound && str_eq(cur, uri)) return 1;
  if (bound && at != SIZE_MAX && at >= mark) return 0;  // one prefix, two namespaces
  put_decl(w, prefix, uri);
  return push(w, prefix, uri);
}

static void put_qname(fg_xml_writer *w, fg_xml_str prefix, fg_xml_str local) {
  if (prefix.len > 0) {
    put_str(w, prefix);
    put(w, ":", 1);
  }
  put_str(w, local);
}

// start_tag writes `<qname decls attrs` (without the closing `>` or `/>`).
static int start_tag(fg_xml_writer *w, const fg_xml_node *e, size_t mark) {
  if (!valid_ncname(e->local) || (e->prefix.len > 0 && !valid_ncname(e->prefix))) return 0;
  put(w, "<", 1);
  put_qname(w, e->prefix, e->local);
  if (!declare(w, e->prefix, e->ns, mark)) return 0;
  for (size_t j = 0; j < e->num_attrs; j++) {
    const fg_xml_attr *a = &e->attrs[j];
    if (!valid_ncname(a->local)) return 0;
    if (a->prefix.len == 0) {
      if (a->ns.len != 0 || str_is(a->local, "xmlns")) return 0;
      continue;
    }
    if (!valid_ncname(a->prefix) || !declare(w, a->prefix, a->ns, mark)) return 0;
  }
  for (size_t j = 0; j < e->num_attrs; j++) {
    const fg_xml_attr *a = &e->attrs[j];
    if (!valid_chars(a->value)) return 0;
    // Namespaces §6.3: no two attributes with the same expanded name.
    for (size_t m = 0; m < j; m++)
      if (str_eq(e->attrs[m].local, a->local) && str_eq(e->attrs[m].ns, a->ns)) return 0;
    put(w, " ", 1);
    put_qname(w, a->prefix, a->local);
    put(w, "='", 2);
    put_escaped(w, a->value, 1, 0);
    put(w, "'", 1);
  }
  return 1;
}

static int push_mark(fg_xml_writer *w, size_t depth, size_t mark) {
  if (depth >= w->marks_cap) {
    size_t c = w->marks_cap ? w->marks_cap * 2 : 32;
    size_t *q = realloc(w->marks, c * sizeof(size_t));
    if (q == NULL) return w->oom = 1, 0;
    w->marks = q;
    w->marks_cap = c;
  }
  w->marks[depth] = mark;
  return 1;
}

// has_lang says whether element |e| carries xml:lang.
static int has_lang(const fg_xml_node *e) {
  for (size_t j = 0; j < e->num_attrs; j++)
    if (str_is(e->attrs[j].ns, kXmlNs) && str_is(e->attrs[j].local, "lang")) return 1;
  return 0;
}

int fg_xml_writer_element(fg_xml_writer *w, const fg_xml_node *el, const fg_xml_nsdecl *ctx,
                          size_t ctx_len, unsigned flags) {
  return fg_xml_writer_element_lang(w, el, ctx, ctx_len, flags, (fg_xml_str){NULL, 0});
}

int fg_xml_writer_element_lang(fg_xml_writer *w, const fg_xml_node *el, const fg_xml_nsdecl *ctx,
                               size_t ctx_len, unsigned flags, fg_xml_str lang) {
  if (el == NULL || el->type != FG_XML_NODE_ELEMENT) return 0;
  if (lang.len > 0 && !valid_chars(lang)) return 0;
  if (lang.len > 0 && has_lang(el)) lang.len = 0;  // its own language stays
  size_t start_len = w->len;
  int one_line = (flags & FG_XML_WRITE_ONE_LINE) != 0;
  w->oom = 0;
  w->scope_n = 0;
  for (size_t k = 0; k < ctx_len; k++)
    if (!push(w, ctx[k].prefix, ctx[k].uri)) goto fail;
  const fg_xml_node *n = el;
  size_t depth = 0;
  for (;;) {
    if (n->type == FG_XML_NODE_TEXT) {
      if (!valid_chars(n->text)) goto fail;
      put_escaped(w, n->text, 0, one_line);
    } else {
      size_t mark = w->scope_n;
      if (n->type != FG_XML_NODE_ELEMENT || !start_tag(w, n, mark)) goto fail;
      if (n == el && lang.len > 0) {
        put(w, " xml:lang='", 11);
        put_escaped(w, lang, 1, 0);
        put(w, "'", 1);
      }
      if (n->first_child != NULL) {
        put(w, ">", 1);
        if (!push_mark(w, depth, mark)) goto fail;
        depth++;
        n = n->first_child;
        continue;
      }
      put(w, "/>", 2);
      w->scope_n = mark;
    }
    // Climb to the next node, closing finished elements.
    while (n != el && n->next == NULL) {
      n = n->parent;
      if (n == NULL) goto fail;
      depth--;
      w->scope_n = w->marks[depth];
      put(w, "</", 2);
      put_qname(w, n->prefix, n->local);
      put(w, ">", 1);
    }
    if (n == el) break;
    n = n->next;
  }
  if (w->oom) goto fail;
  return 1;
fail:
  w->len = start_len;
  return 0;
}

int fg_xml_writer_raw_lang(fg_xml_writer *w, const fg_xml_node *el, fg_xml_str lang) {
  if (el == NULL || el->type != FG_XML_NODE_ELEMENT || lang.len == 0 || !valid_chars(lang))
    return 0;
  // The raw bytes start with '<' and the element's name as written.
  size_t name = 1 + el->local.len + (el->prefix.len > 0 ? el->prefix.len + 1 : 0);
  if (el->raw.len <= name || el->raw.data[0] != '<') return 0;
  size_t start_len = w->len;
  w->oom = 0;
  put(w, el->raw.data, name);
  put(w, " xml:lang='", 11);
  put_escaped(w, lang, 1, 0);
  put(w, "'", 1);
  put(w, el->raw.data + name, el->raw.len - name);
  if (!w->oom) return 1;
  w->len = start_len;
  return 0;
}

int fg_xml_writer_stream_open(fg_xml_writer *w, const fg_xml_stream_header *h) {
  size_t start_len = w->len;
  w->oom = 0;
  w->scope_n = 0;
  if (!valid_ncname(h->local) || (h->prefix.len > 0 && !valid_ncname(h->prefix))) goto fail;
  put(w, "<", 1);
  put_qname(w, h->prefix, h->local);
  for (size_t k = 0; k < h->num_decls; k++) {
    const fg_xml_nsdecl *d = &h->decls[k];
    for (size_t m = 0; m < k; m++)
      if (str_eq(h->decls[m].prefix, d->prefix)) goto fail;
    if (str_is(d->prefix, "xml")) {
      if (!str_is(d->uri, kXmlNs)) goto fail;
      continue;
    }
    if (str_is(d->prefix, "xmlns") || str_is(d->uri, kXmlNs) || str_is(d->uri, kXmlnsNs)) goto fail;
    if (d->prefix.len > 0 && (d->uri.len == 0 || !valid_ncname(d->prefix))) goto fail;
    if (!valid_chars(d->uri)) goto fail;
    put_decl(w, d->prefix, d->uri);
    if (!push(w, d->prefix, d->uri)) goto fail;
  }
  // The stream element's own prefix must be bound by these declarations.
  fg_xml_str u;
  size_t at;
  if (!str_is(h->prefix, "xml") && (!lookup(w, h->prefix, &u, &at) || !str_eq(u, h->ns))) goto fail;
  for (size_t j = 0; j < h->num_attrs; j++) {
    const fg_xml_attr *a = &h->attrs[j];
    if (!valid_ncname(a->local) || !valid_chars(a->value)) goto fail;
    if (a->prefix.len > 0) {
      if (!valid_ncname(a->prefix) || str_is(a->prefix, "xmlns")) goto fail;
      if (str_is(a->prefix, "xml") ? !str_is(a->ns, kXmlNs)
                                   : (!lookup(w, a->prefix, &u, &at) || !str_eq(u, a->ns)))
        goto fail;
    } else if (a->ns.len != 0 || str_is(a->local, "xmlns")) {
      goto fail;
    }
    for (size_t m = 0; m < j; m++)
      if (str_eq(h->attrs[m].local, a->local) && str_eq(h->attrs[m].ns, a->ns)) goto fail;
    put(w, " ", 1);
    put_qname(w, a->prefix, a->local);
    put(w, "='", 2);
    put_escaped(w, a->value, 1, 0);
    put(w, "'", 1);
  }
  put(w, ">", 1);
  if (w->oom) goto fail;
  return 1;
fail:
  w->len = start_len;
  return 0;
}

int fg_xml_writer_stream_close(fg_xml_writer *w, const fg_xml_stream_header *h) {
  if (!valid_ncname(h->local) || (h->prefix.len > 0 && !valid_ncname(h->prefix))) return 0;
  size_t start_len = w->len;
  w->oom = 0;
  put(w, "</", 2);
  put_qname(w, h->prefix, h->local);
  put(w, ">", 1);
  if (w->oom) {
    w->len = start_len;
    return 0;
  }
  return 1;
}
