// xml_namespaces.c: namespace processing for the XML parser (Namespaces in
// XML 1.0 §3, §5, §6; RFC 6120 §4.8): the stack of bindings in scope, each
// element's declarations, the resolution of element and attribute prefixes,
// unique expanded attribute names, whether the declarations are the canonical
// ones, and the stream's namespace context (the header's bindings, in scope
// for every element of the stream).
#include "gateway/xml/xml_namespaces.h"

#include <string.h>

// lookup stores in |*uri| the namespace that the bindings below |top| (and
// Namespaces in XML §3 for `xml`) give |prefix|. It returns 0 when |prefix|
// is unbound; the empty prefix always resolves (to no namespace when unbound).
static int lookup(const fg_xml_parser *p, span prefix, uint32_t top, span *uri) {
  if (prefix.len == 0 && top == p->binds_n) {
    *uri = p->dflt;
    return 1;
  }
  if (span_eq_c(p, prefix, "xml", 3)) {
    *uri = kSpanXmlNs;
    return 1;
  }
  for (uint32_t k = top; k > 0; k--) {
    if (span_eq(p, p->binds[k - 1].prefix, prefix)) {
      *uri = p->binds[k - 1].uri;
      return 1;
    }
  }
  if (prefix.len == 0) {  // no default namespace declared: no namespace
    *uri = kSpanEmpty;
    return 1;
  }
  return 0;
}

static int push_bind(fg_xml_parser *p, span prefix, span uri) {
  if (!grow32((void **)&p->binds, &p->binds_cap, p->binds_n + 1, sizeof(ibind))) return 0;
  p->binds[p->binds_n].prefix = prefix;
  p->binds[p->binds_n].uri = uri;
  p->binds_n++;
  if (prefix.len == 0) p->dflt = uri;
  return 1;
}

static int is_reserved_ns(const fg_xml_parser *p, span uri) {
  return span_eq_c(p, uri, FG_XML_NS_XML, sizeof(FG_XML_NS_XML) - 1) ||
         span_eq_c(p, uri, "http://www.w3.org/2000/xmlns/", 29);
}

// ns_plain finishes an element that has no prefix, no prefixed attribute
// but `xml:` ones and at most one declaration, of the default namespace
// (most elements of a stanza: in the stream's default namespace, or a
// payload such as <active xmlns='http://jabber.org/protocol/chatstates'/>):
// its namespace is the default one in scope, its attributes are in no
// namespace or, prefixed `xml`, in the XML namespace (the tokenizer set
// both), two attributes clash when their local names and their prefixes
// (empty or `xml`: equal when of one length) are equal (the declaration's,
// `xmlns`, cannot recur: a second one would be a second declaration), and its
// declarations are the canonical ones when they are exactly the one its name
// needs, written first (an `xml:` attribute needs none); the one it needs
// written after other attributes still means the same (CANON_FORWARDABLE).
static inline __attribute__((always_inline)) int ns_plain(fg_xml_parser *p, inode *nd, iattr *a,
                                                          uint32_t na, uint32_t ndecl) {
  nd->ns = p->dflt;
  nd->ndecl = ndecl;
  for (uint32_t j = 1; j < na; j++)
    for (uint32_t m = 0; m < j; m++)
      if (a[j].prefix.len == a[m].prefix.len && span_eq(p, a[j].local, a[m].local))
        return fail(p, FG_XML_ERR_NOT_WELL_FORMED, a[j].name_off);
  if (ndecl == 1 && p->canon) {
    if (span_eq(p, nd->dflt_out, nd->ns))
      p->canon = 0;  // a declaration the canonical form leaves out
    else if (!a[0].is_decl)
      p->canon &= ~CANON_EXACT;
  }
  return R_DONE;
}

int fg_xml_ns_process(fg_xml_parser *p, uint32_t k) {
  inode *nd = &p->nodes[k];
  uint32_t na = nd->attr_n, ndecl = 0, prefixed = 0;
  iattr *a = na ? p->attrs + nd->attr_start : NULL;
  nd->bind_start = p->binds_n;
  nd->dflt_out = p->dflt;
  // No prefix and no declaration (the tokenizer noted none): nothing to
  // bind or resolve, only the unique attribute names to check.
  if (!nd->attr_special && nd->prefix.len == 0) return ns_plain(p, nd, a, na, 0);
  for (uint32_t j = 0; j < na; j++) {
    prefixed += a[j].prefix.len != 0;
    if (a[j].prefix.len == 0 && span_eq_c(p, a[j].local, "xmlns", 5)) {
      if (is_reserved_ns(p, a[j].value)) return fail(p, FG_XML_ERR_NOT_WELL_FORMED, a[j].name_off);
      a[j].is_decl = 1;
      if (!push_bind(p, kSpanEmpty, a[j].value))
        return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, a[j].name_off);
    } else if (span_eq_c(p, a[j].prefix, "xmlns", 5)) {
      a[j].is_decl = 1;
      if (span_eq_c(p, a[j].local, "xmlns", 5))
        return fail(p, FG_XML_ERR_NOT_WELL_FORMED, a[j].name_off);
      if (span_eq_c(p, a[j].local, "xml", 3)) {
        if (!span_eq_c(p, a[j].value, FG_XML_NS_XML, sizeof(FG_XML_NS_XML) - 1))
          return fail(p, FG_XML_ERR_NOT_WELL_FORMED, a[j].name_off);
        ndecl++;
        continue;
      }
      if (a[j].value.len == 0 || is_reserved_ns(p, a[j].value))
        return fail(p, FG_XML_ERR_NOT_WELL_FORMED, a[j].name_off);
      if (!push_bind(p, a[j].local, a[j].value))
        return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, a[j].name_off);
    } else {
      continue;
    }
    ndecl++;
  }
  if (p->binds_n - p->nhdr_binds > p->cfg.limits.max_ns_decls)
    return fail(p, FG_XML_ERR_POLICY_VIOLATION, nd->name_off);
  if (ndecl <= 1 && prefixed == 0 && nd->prefix.len == 0) return ns_plain(p, nd, a, na, ndecl);
  nd->ndecl = ndecl;
  if (!lookup(p, nd->prefix, p->binds_n, &nd->ns))
    return fail(p, FG_XML_ERR_NOT_WELL_FORMED, nd->name_off);
  for (uint32_t j = 0; j < na; j++) {
    if (a[j].is_decl) {
      a[j].ns = kSpanEmpty;
      continue;
    }
    if (a[j].prefix.len == 0) {
      a[j].ns = kSpanEmpty;
    } else if (!lookup(p, a[j].prefix, p->binds_n, &a[j].ns)) {
      return fail(p, FG_XML_ERR_NOT_WELL_FORMED, a[j].name_off);
    }
  }
  // XML 1.0 WFC Unique Att Spec, then Namespaces §6.3 (expanded names).
  for (uint32_t j = 1; j < na; j++) {
    for (uint32_t m = 0; m < j; m++) {
      if (a[j].local.len != a[m].local.len) continue;
      if (span_eq(p, a[j].local, a[m].local) &&
          (span_eq(p, a[j].prefix, a[m].prefix) ||
           (!a[j].is_decl && !a[m].is_decl && span_eq(p, a[j].ns, a[m].ns))))
        return fail(p, FG_XML_ERR_NOT_WELL_FORMED, a[j].name_off);
    }
  }
  if (!p->canon) return R_DONE;
  // Canonical form: the declarations written are exactly the ones needed by
  // the element's and its attributes' prefixes, in that order, first.
  span need_p[8], need_u[8];
  uint32_t nneed = 0;
  span u;
  if (!span_eq_c(p, nd->prefix, "xml", 3) &&
      (!lookup(p, nd->prefix, nd->bind_start, &u) || !span_eq(p, u, nd->ns))) {
    need_p[nneed] = nd->prefix;
    need_u[nneed++] = nd->ns;
  }
  for (uint32_t j = 0; j < na && p->canon; j++) {
    if (a[j].is_decl || a[j].prefix.len == 0 || span_eq_c(p, a[j].prefix, "xml", 3)) continue;
    int have = 0;
    for (uint32_t m = 0; m < nneed; m++)
      if (span_eq(p, need_p[m], a[j].prefix)) have = 1;
    if (have) continue;
    if (lookup(p, a[j].prefix, nd->bind_start, &u) && span_eq(p, u, a[j].ns)) continue;
    if (nneed == 8) {
      p->canon = 0;
      break;
    }
    need_p[nneed] = a[j].prefix;
    need_u[nneed++] = a[j].ns;
  }
  if (ndecl != nneed) p->canon = 0;
  for (uint32_t m = 0; m < nneed && p->canon; m++) {
    span dp = a[m].prefix.len == 0 ? kSpanEmpty : a[m].local;
    if (!a[m].is_decl || !span_eq(p, dp, need_p[m]) || !span_eq(p, a[m].value, need_u[m]))
      p->canon = 0;
  }
  return R_DONE;
}

int fg_xml_ns_check_stream(fg_xml_parser *p, span *content_ns) {
  inode *nd = &p->nodes[0];
  size_t at = nd->raw_start;
  if (!span_eq_c(p, nd->local, "stream", 6) ||
      !span_eq_c(p, nd->ns, FG_XML_NS_STREAMS, sizeof(FG_XML_NS_STREAMS) - 1))
    return fail(p, FG_XML_ERR_INVALID_NAMESPACE, at);
  if (p->cfg.require_stream_prefix && !span_eq_c(p, nd->prefix, "stream", 6))
    return fail(p, FG_XML_ERR_BAD_NAMESPACE_PREFIX, at);
  span dflt = kSpanEmpty;
  for (uint32_t k = p->binds_n; k > 0; k--)
    if (p->binds[k - 1].prefix.len == 0) {
      dflt = p->binds[k - 1].uri;
      break;
    }
  const char *cns = p->cfg.content_ns ? p->cfg.content_ns : FG_XML_NS_SERVER;
  int has_default = 0;
  for (uint32_t k = 0; k < p->binds_n; k++)
    if (p->binds[k].prefix.len == 0) has_default = 1;
  // RFC 6120 §4.8.2: the content namespace must be the one this stream
  // carries; an unprefixed stream element makes the stream namespace the
  // default, which is acceptable (§4.8.5 lets the receiver insist on a prefix).
  if (nd->prefix.len != 0 && has_default && !span_eq_c(p, dflt, cns, strlen(cns)))
    return fail(p, FG_XML_ERR_INVALID_NAMESPACE, at);
  *content_ns = dflt;
  return R_DONE;
}

void fg_xml_ns_keep_stream_context(fg_xml_parser *p, size_t raw_len) {
  for (uint32_t k = 0; k < p->binds_n; k++) {
    p->binds[k].prefix = retag_hdr(p->binds[k].prefix, raw_len);
    p->binds[k].uri = retag_hdr(p->binds[k].uri, raw_len);
  }
  p->nhdr_binds = p->binds_n;
  p->dflt = p->hdr_dflt = retag_hdr(p->dflt, raw_len);
}
