// xml_types.h: the XML stream parser's public types: strings into the
// parser's buffers, nodes, elements, the stream header, limits, events, and
// the accessors on them (defined in xml_tree.c). The functions of the parser
// itself are in xml_parser.h; the parser's own files use these types without
// depending on xml_parser.c.
#ifndef FEDGATE_GATEWAY_XML_XML_TYPES_H
#define FEDGATE_GATEWAY_XML_XML_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// FG_XML_NS_STREAMS is the stream namespace (RFC 6120 §4.8.1).
#define FG_XML_NS_STREAMS "http://etherx.jabber.org/streams"
// FG_XML_NS_SERVER is the s2s content namespace (RFC 6120 §4.8.2).
#define FG_XML_NS_SERVER "jabber:server"
// FG_XML_NS_CLIENT is the c2s content namespace (RFC 6120 §4.8.2).
#define FG_XML_NS_CLIENT "jabber:client"
// FG_XML_NS_XML is the namespace bound to the reserved prefix `xml`.
#define FG_XML_NS_XML "http://www.w3.org/XML/1998/namespace"

// fg_xml_error is an RFC 6120 §4.9.3 stream error condition.
typedef enum fg_xml_error {
  FG_XML_ERR_NONE = 0,
  FG_XML_ERR_BAD_FORMAT,            // §4.9.3.1
  FG_XML_ERR_BAD_NAMESPACE_PREFIX,  // §4.9.3.2
  FG_XML_ERR_INVALID_NAMESPACE,     // §4.9.3.10
  FG_XML_ERR_INVALID_XML,           // §4.9.3.11
  FG_XML_ERR_NOT_WELL_FORMED,       // §4.9.3.13
  FG_XML_ERR_POLICY_VIOLATION,      // §4.9.3.14
  FG_XML_ERR_RESOURCE_CONSTRAINT,   // §4.9.3.17 (the gateway ran out of memory)
  FG_XML_ERR_RESTRICTED_XML,        // §4.9.3.18
  FG_XML_ERR_UNSUPPORTED_ENCODING,  // §4.9.3.22
  FG_XML_ERR_UNSUPPORTED_VERSION,   // §4.9.3.25
} fg_xml_error;

// fg_xml_str is a byte string that is not NUL-terminated. |data| is NULL when
// the value is absent (an absent attribute); an empty present value has a
// non-NULL |data| and |len| 0.
typedef struct fg_xml_str {
  const uint8_t *data;
  size_t len;
} fg_xml_str;

// fg_xml_str_eq returns 1 when |s| is present and equals the NUL-terminated |c|.
int fg_xml_str_eq(fg_xml_str s, const char *c);

// fg_xml_attr is one attribute after namespace processing. |ns| is the empty
// string for unprefixed attributes. |value| is decoded (references replaced,
// whitespace normalised per XML 1.0 §3.3.3).
typedef struct fg_xml_attr {
  fg_xml_str ns;
  fg_xml_str prefix;  // empty when unprefixed
  fg_xml_str local;
  fg_xml_str value;
} fg_xml_attr;

// fg_xml_nsdecl is one namespace declaration as written (`xmlns='uri'` has an
// empty |prefix|).
typedef struct fg_xml_nsdecl {
  fg_xml_str prefix;
  fg_xml_str uri;
} fg_xml_nsdecl;

typedef enum fg_xml_node_type {
  FG_XML_NODE_ELEMENT = 1,
  FG_XML_NODE_TEXT = 2,
} fg_xml_node_type;

// fg_xml_node is an element or a run of character data inside a top-level
// element. Children keep document order; adjacent character data (including
// CDATA sections) forms one text node.
typedef struct fg_xml_node {
  fg_xml_node_type type;
  const struct fg_xml_node *parent;       // NULL for the top-level element
  const struct fg_xml_node *first_child;  // elements only
  const struct fg_xml_node *next;         // next sibling
  // Elements: resolved namespace URI (empty: no namespace), the prefix as
  // written (empty when unprefixed) and the local name.
  fg_xml_str ns, prefix, local;
  const fg_xml_attr *attrs;  // without the namespace declarations
  size_t num_attrs;
  const fg_xml_nsdecl *decls;  // the declarations written on this element
  size_t num_decls;
  fg_xml_str text;  // text nodes: decoded character data
  fg_xml_str raw;   // elements: the original bytes, from '<' to the final '>'
} fg_xml_node;

// fg_xml_node_attr returns the value of the attribute |local| in namespace
// |ns| ("" for unprefixed attributes) of element |node|, or an absent string.
fg_xml_str fg_xml_node_attr(const fg_xml_node *node, const char *ns, const char *local);

// fg_xml_node_child returns the first child element of |node| with namespace
// |ns| and local name |local| (either may be NULL to match any), or NULL.
const fg_xml_node *fg_xml_node_child(const fg_xml_node *node, const char *ns, const char *local);

// fg_xml_element is a complete top-level element (a stanza or a nonza). The
// routing attributes are at hand: |to|, |from|, |type| and |id| are the
// unprefixed attributes of the root (absent when not written).
//
// |canonical| is 1 when |root->raw| is byte for byte what fg_xml_writer_element
// writes for |root| in the namespace context of this stream's header
// (fg_xml_parser_context), so a router may forward the original bytes
// unchanged (zero copy). |forwardable| is 1 when it is that but for where an
// element's default namespace declaration (xmlns='...', one the element needs)
// stands among its attributes: the writer puts it first, Prosody where its
// attribute table happens to hold it. The bytes mean the same to any
// namespace-aware parser, so they may be forwarded as well; canonical
// implies forwardable. Everything here points into parser-owned memory (or
// into the caller's input buffer) and stays valid only until the next call on
// the parser.
typedef struct fg_xml_element {
  const fg_xml_node *root;
  fg_xml_str to, from, type, id;
  fg_xml_str lang;  // the root's xml:lang (absent when none): its language, RFC 6120 §8.1.5
  int canonical;
  int forwardable;
  size_t num_nodes;  // elements and text nodes in the tree
  // Private: the parser that has still to build the views beyond the root's
  // own (fg_xml_parser_element_root), NULL once they exist.
  struct fg_xml_parser *_views_pending;
} fg_xml_element;

// fg_xml_element_full returns |el| with the views of all its nodes. An
// element from fg_xml_parser_element_root of a parser configured with
// |root_views| has the view of its root only (names, raw bytes; no
// attributes, declarations or children); the first call builds the others in
// place, so |el| and |el->root| stay where they are. Like the element, the
// result is valid until the next call on the parser that read it.
const fg_xml_element *fg_xml_element_full(const fg_xml_element *el);

// fg_xml_stream_header is the stream open tag (RFC 6120 §4.7). Its strings
// stay valid until fg_xml_parser_reset or fg_xml_parser_free.
typedef struct fg_xml_stream_header {
  fg_xml_str ns, prefix, local;            // the stream element's qualified name
  fg_xml_str content_ns;                   // the default namespace in scope (may be empty)
  fg_xml_str to, from, id, version, lang;  // lang is xml:lang
  int version_major, version_minor;        // -1/-1 when `version` is absent
  const fg_xml_nsdecl *decls;              // declarations on the stream element
  size_t num_decls;
  const fg_xml_attr *attrs;  // the other attributes, in order
  size_t num_attrs;
  int has_xml_decl;  // an XML declaration preceded the stream element
} fg_xml_stream_header;

// fg_xml_limits bounds what a peer can make the parser hold (DESIGN.md: every
// length, count and depth is bounded). Exceeding one is policy-violation.
typedef struct fg_xml_limits {
  // Bytes of one top-level element (and of the prolog plus stream header),
  // before and after fg_xml_parser_set_authenticated. RFC 6120 §13.12 forbids
  // limits below 10000; smaller values are raised to 10000.
  size_t max_element_bytes_preauth;
  size_t max_element_bytes_postauth;
  uint32_t max_depth;     // element nesting, the top-level element is depth 1
  uint32_t max_attrs;     // attributes (declarations included) on one element
  uint32_t max_name_len;  // bytes of a qualified name or entity name
  uint32_t max_ns_decls;  // declarations in scope inside one top-level element
  uint32_t max_nodes;     // elements plus text nodes in one top-level element
} fg_xml_limits;

// fg_xml_config configures a parser. Pass NULL to fg_xml_parser_new for the
// defaults (fg_xml_limits_default, jabber:server, any stream prefix).
typedef struct fg_xml_config {
  fg_xml_limits limits;
  // The only content namespace accepted as the stream's default namespace
  // (RFC 6120 §4.8.2); NULL means FG_XML_NS_SERVER. The string must outlive
  // the parser.
  const char *content_ns;
  // When set, a stream element whose prefix is not `stream` is rejected with
  // bad-namespace-prefix (RFC 6120 §4.8.5 allows a receiver to insist).
  int require_stream_prefix;
  // When set, an element comes with the view of its root only
  // (fg_xml_parser_element_root: what a router reads), and the other views
  // are built when asked for (fg_xml_element_full). Unset, every view is
  // built with the element, which is cheaper for a consumer that reads them
  // all (docs/xml.md, "Views of the root only").
  int root_views;
} fg_xml_config;

typedef enum fg_xml_event {
  FG_XML_EVENT_NEED_MORE = 0,  // all input consumed; feed more bytes
  FG_XML_EVENT_STREAM_OPEN,    // fg_xml_parser_header is ready
  FG_XML_EVENT_ELEMENT,        // fg_xml_parser_element is ready
  FG_XML_EVENT_KEEPALIVE,      // character data between top-level elements
  FG_XML_EVENT_STREAM_CLOSE,   // the stream's end tag (or `/>` on the header)
  FG_XML_EVENT_ERROR,          // fg_xml_parser_error says which; sticky
} fg_xml_event;

typedef struct fg_xml_parser fg_xml_parser;

#ifdef __cplusplus
}
#endif

#endif  // FEDGATE_GATEWAY_XML_XML_TYPES_H
