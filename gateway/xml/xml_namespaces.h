// xml_namespaces.h: namespace processing for the XML parser
// (gateway/xml/xml_namespaces.c; not a public interface).
#ifndef FEDGATE_GATEWAY_XML_NAMESPACES_H
#define FEDGATE_GATEWAY_XML_NAMESPACES_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/xml/xml_state.h"

// fg_xml_ns_process applies the declarations of element |k| (pushing its
// bindings; the caller pops them back to the node's |bind_start| when the
// element ends), resolves its names, checks attribute uniqueness, and clears
// p->canon unless its namespace declarations are exactly those
// fg_xml_writer_element would write. It returns R_DONE or R_ERR.
int fg_xml_ns_process(fg_xml_parser *p, uint32_t k);

// fg_xml_ns_element is fg_xml_ns_process with the common element in line:
// no prefix and no attribute noted as prefixed or `xmlns`
// (inode.attr_special), so no declaration to apply, its namespace the default
// one in scope and its attributes in no namespace or, prefixed `xml`, in the
// XML namespace; two of them clash when their local names and prefixes
// (empty or `xml`: equal when of one length) are equal. Names are never
// decoded, so they are compared as the item's bytes. Anything else goes to
// fg_xml_ns_process.
static inline __attribute__((always_inline)) int fg_xml_ns_element(fg_xml_parser *p, uint32_t k) {
  inode *nd = &p->nodes[k];
  if (nd->attr_special || nd->prefix.len != 0) return fg_xml_ns_process(p, k);
  uint32_t na = nd->attr_n;
  const iattr *a = p->attrs + nd->attr_start;
  nd->bind_start = p->binds_n;
  nd->dflt_out = p->dflt;
  nd->ns = p->dflt;
  nd->ndecl = 0;
  const uint8_t *b = p->base;
  for (uint32_t j = 1; j < na; j++) {
    uint32_t len = a[j].local.len, plen = a[j].prefix.len;
    const uint8_t *name = b + (a[j].local.off & OFF_MASK);
    for (uint32_t m = 0; m < j; m++)
      if (a[m].local.len == len && a[m].prefix.len == plen &&
          bytes_eq(name, b + (a[m].local.off & OFF_MASK), len))
        return fail(p, FG_XML_ERR_NOT_WELL_FORMED, a[j].name_off);
  }
  return R_DONE;
}

// fg_xml_ns_check_stream checks the stream element (node 0, once
// fg_xml_ns_process has run on it) against RFC 6120 §4.8: its qualified name,
// its prefix if p->cfg requires one, and the content namespace. It returns
// R_DONE with the default namespace in scope (empty when none) in
// |*content_ns|, or R_ERR.
int fg_xml_ns_check_stream(fg_xml_parser *p, span *content_ns);

// fg_xml_ns_keep_stream_context makes the bindings in scope the stream's
// namespace context, in scope for every element until the next reset: they
// move to the stored header, whose item bytes are |raw_len| long (retag_hdr).
void fg_xml_ns_keep_stream_context(fg_xml_parser *p, size_t raw_len);

#endif  // FEDGATE_GATEWAY_XML_NAMESPACES_H
