// xml_parser.h: streaming (push) parser for XMPP streams, RFC 6120 §4 and §11.
//
// The parser accepts the bytes a peer sends, in chunks of any size, and
// returns one event at a time: the stream header, each complete top-level
// element (stanza or nonza) as a tree, whitespace keepalives, and the stream
// close. It enforces restricted XML (RFC 6120 §11.1), strict UTF-8 (§11.6),
// Namespaces in XML, and configurable size limits; every failure is one RFC
// 6120 §4.9.3 stream error condition plus the byte offset that caused it.
//
// Usage (the pull loop):
//
//   size_t used;
//   while (len > 0 || fg_xml_parser_pending(p)) {
//     fg_xml_event ev = fg_xml_parser_feed(p, &used, in, len);
//     in += used;
//     len -= used;
//     if (ev == FG_XML_EVENT_NEED_MORE) break;
//     ... handle ev (fg_xml_parser_element(p), fg_xml_parser_header(p), ...)
//   }
//
// Bytes are examined once (linear time); chunking never changes the events
// (apart from how keepalive runs are split) or the error and its offset.
// After warm-up the parser allocates nothing per stanza: its buffers are
// reused and only grow up to the configured limits.
#ifndef FEDGATE_GATEWAY_XML_PARSER_H
#define FEDGATE_GATEWAY_XML_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/xml/xml_types.h"

#ifdef __cplusplus
extern "C" {
#endif

// fg_xml_error_condition returns the RFC 6120 element name of |err|, e.g.
// "not-well-formed", or "none" for FG_XML_ERR_NONE.
const char *fg_xml_error_condition(fg_xml_error err);

// fg_xml_limits_default fills |lim| with the defaults documented in docs/xml.md.
void fg_xml_limits_default(fg_xml_limits *lim);

// fg_xml_config_default fills |cfg| with the defaults.
void fg_xml_config_default(fg_xml_config *cfg);

// fg_xml_parser_new returns a parser configured by |cfg| (NULL: defaults), or
// NULL when out of memory. Free it with fg_xml_parser_free.
fg_xml_parser *fg_xml_parser_new(const fg_xml_config *cfg);

// fg_xml_parser_free releases |p| and everything it returned. NULL is a no-op.
void fg_xml_parser_free(fg_xml_parser *p);

// fg_xml_parser_feed parses bytes of |in| up to and including the next event
// and returns that event, storing in |*out_used| how many bytes of |in| it
// consumed. The caller passes the unconsumed rest in the next call. When it
// returns FG_XML_EVENT_NEED_MORE every byte was consumed (and kept as needed).
// It may return an event with |in_len| 0 (see fg_xml_parser_pending). After
// FG_XML_EVENT_ERROR every call returns it again and consumes nothing.
fg_xml_event fg_xml_parser_feed(fg_xml_parser *p, size_t *out_used, const uint8_t *in,
                                size_t in_len);

// fg_xml_parser_pending returns 1 when an event is ready without more input
// (the close after a self-closed `<stream:stream/>`).
int fg_xml_parser_pending(const fg_xml_parser *p);

// fg_xml_parser_header returns the stream header once FG_XML_EVENT_STREAM_OPEN
// was returned, else NULL.
const fg_xml_stream_header *fg_xml_parser_header(const fg_xml_parser *p);

// fg_xml_parser_element returns the element of the last FG_XML_EVENT_ELEMENT,
// with the views of all its nodes; valid until the next call on |p|.
const fg_xml_element *fg_xml_parser_element(const fg_xml_parser *p);

// fg_xml_parser_element_root returns the same element. With the
// configuration's |root_views| set it has the view of its root only: the
// root's names and raw bytes, the routing attributes (to, from, type, id),
// |canonical| and |num_nodes| are set, but the root has no attributes,
// declarations or children linked (|attrs|, |decls| and |first_child| are
// NULL, the counts 0). It is what a router reads of a stanza; the parser has
// checked the whole element all the same. A consumer that reads more calls
// fg_xml_element_full (or fg_xml_parser_element), which builds the other
// views in place on first call. Without |root_views| the element has every
// view already.
const fg_xml_element *fg_xml_parser_element_root(const fg_xml_parser *p);

// fg_xml_parser_keepalive_bytes returns the byte count of the last
// FG_XML_EVENT_KEEPALIVE, and in |*out_whitespace| whether it was whitespace
// only (RFC 6120 §4.6.1) rather than other character data at stream level.
size_t fg_xml_parser_keepalive_bytes(const fg_xml_parser *p, int *out_whitespace);

// fg_xml_parser_error returns the stream error condition (FG_XML_ERR_NONE if
// none) and stores in |*out_offset| (if not NULL) the offset of the byte that
// caused it, counted from the first byte after the last reset.
fg_xml_error fg_xml_parser_error(const fg_xml_parser *p, uint64_t *out_offset);

// fg_xml_parser_offset returns how many bytes were consumed since the last reset.
uint64_t fg_xml_parser_offset(const fg_xml_parser *p);

// fg_xml_parser_set_authenticated switches to the post-authentication element
// size limit (RFC 6120 §13.12). It survives fg_xml_parser_reset.
void fg_xml_parser_set_authenticated(fg_xml_parser *p);

// fg_xml_parser_reset forgets the current stream so that the next byte is the
// first of a new one, as after STARTTLS or SASL success (RFC 6120 §4.3.3).
// Buffers are kept for reuse; offsets restart at 0.
void fg_xml_parser_reset(fg_xml_parser *p);

// fg_xml_parser_trim gives back the memory kept for reuse between elements
// (element, attribute and text buffers; the stream header is kept) when no
// element is half-read; otherwise it does nothing. For quiet streams: the
// next element allocates again. The last element's views become invalid.
void fg_xml_parser_trim(fg_xml_parser *p);

// fg_xml_parser_context returns the namespace declarations in scope at stream
// level (those of the stream header), for fg_xml_writer_element. It returns
// NULL (and 0) before the stream header.
const fg_xml_nsdecl *fg_xml_parser_context(const fg_xml_parser *p, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif  // FEDGATE_GATEWAY_XML_PARSER_H
