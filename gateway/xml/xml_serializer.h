// xml_serializer.h: canonical writer for XMPP stream headers and elements.
//
// The writer turns trees from gateway/xml/xml_parser.h (or trees built by the
// gateway itself) into bytes. Its output is canonical: attributes in order,
// quoted with `'`, `/>` for empty elements, each namespace declaration written
// on the first element that needs it and nowhere else, and fixed escapes
// (text: &amp; &lt; &gt; &#13;; attributes also &apos; &#9; &#10;). It checks
// every name, namespace and string it writes (UTF-8 and XML 1.0 Char, QName
// syntax, reserved prefixes), so it never writes bytes the parser would reject
// and never lets a crafted value close or open markup (stanza smuggling, the
// CVE-2022-22784 class). For a parsed element x, parsing the output yields the
// same tree: parse(serialize(parse(x))) == parse(x).
#ifndef FEDGATE_GATEWAY_XML_SERIALIZER_H
#define FEDGATE_GATEWAY_XML_SERIALIZER_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/xml/xml_parser.h"

#ifdef __cplusplus
extern "C" {
#endif

// FG_XML_WRITE_ONE_LINE also escapes line feeds in character data (as &#10;)
// so that an element takes exactly one line (`fedgate parse-stream`).
#define FG_XML_WRITE_ONE_LINE 1u

typedef struct fg_xml_writer fg_xml_writer;

// fg_xml_writer_new returns an empty writer, or NULL when out of memory.
fg_xml_writer *fg_xml_writer_new(void);

// fg_xml_writer_free releases |w|. NULL is a no-op.
void fg_xml_writer_free(fg_xml_writer *w);

// fg_xml_writer_clear empties the output, keeping the memory for reuse.
void fg_xml_writer_clear(fg_xml_writer *w);

// fg_xml_writer_data returns the bytes written since the last clear and
// stores their count in |*out_len|. The pointer is valid until the next call
// that writes.
const uint8_t *fg_xml_writer_data(const fg_xml_writer *w, size_t *out_len);

// fg_xml_writer_stream_open appends the stream header |h|: its qualified
// name, its namespace declarations in order, then its other attributes in
// order. It returns 1, or 0 (output unchanged) when |h| holds something that
// cannot be written as well-formed XML or when out of memory.
int fg_xml_writer_stream_open(fg_xml_writer *w, const fg_xml_stream_header *h);

// fg_xml_writer_stream_close appends the end tag matching |h|; 1 or 0.
int fg_xml_writer_stream_close(fg_xml_writer *w, const fg_xml_stream_header *h);

// fg_xml_writer_element appends element |el| and its subtree canonically, in
// the namespace context |ctx| (the declarations of the stream header it will
// be written under, e.g. from fg_xml_parser_context). |flags| is 0 or
// FG_XML_WRITE_ONE_LINE. It returns 1, or 0 (output unchanged) when the tree
// is invalid (bad names or characters, a prefix bound to two namespaces on
// one element, reserved prefixes misused) or when out of memory.
int fg_xml_writer_element(fg_xml_writer *w, const fg_xml_node *el, const fg_xml_nsdecl *ctx,
                          size_t ctx_len, unsigned flags);

// fg_xml_writer_element_lang is fg_xml_writer_element that also gives |el|
// xml:lang='|lang|' when |el| has no xml:lang of its own and |lang| is not
// empty: the default language of the stream it was read from made explicit
// for a stream that declares none (RFC 6120 §4.7.4). Its descendants inherit
// it as before. 1 or 0 as fg_xml_writer_element (also for a |lang| that is
// not XML character data).
int fg_xml_writer_element_lang(fg_xml_writer *w, const fg_xml_node *el, const fg_xml_nsdecl *ctx,
                               size_t ctx_len, unsigned flags, fg_xml_str lang);

// fg_xml_writer_raw_lang appends the bytes |el| was read from (el->raw),
// with xml:lang='|lang|' added right after its name: for an element without
// xml:lang of its own whose raw bytes may be passed on as they are
// (forwardable, fg_xml_element, in the context they go to), the default language of the stream it
// was read from made explicit (RFC 6120 §4.7.4) without writing it anew. It reads the root's names
// and raw bytes only (a root view will do). It returns 1, or 0 (output unchanged) for an empty
// |lang|, one that is not XML character data, or when out of memory.
int fg_xml_writer_raw_lang(fg_xml_writer *w, const fg_xml_node *el, fg_xml_str lang);

#ifdef __cplusplus
}
#endif

#endif  // FEDGATE_GATEWAY_XML_SERIALIZER_H
