// stanza_reparse.h: parsing again a stanza held as bytes (a request fedgate
// sent, a bounce of one, a held report), in the s2s stream's context, on
// paths rare enough that holding bytes beats holding a parsed tree.
#ifndef FEDGATE_GATEWAY_SERVER_STANZA_REPARSE_H
#define FEDGATE_GATEWAY_SERVER_STANZA_REPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/xml/xml_parser.h"

// fg_stanza_reparse parses the one top-level element in |data| (|len|
// bytes, written for a jabber:server stream) and points |*el| at it. It
// returns the parser, which owns |*el| (free it with fg_xml_parser_free), or
// NULL when out of memory or the bytes are not one element.
fg_xml_parser *fg_stanza_reparse(const uint8_t *data, size_t len, const fg_xml_element **el);

#endif  // FEDGATE_GATEWAY_SERVER_STANZA_REPARSE_H
