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
