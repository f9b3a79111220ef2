// header_text.h: a parsed stream header written back as XML text, so that a
// quiet stream can give its parser back and a fresh parser fed that text is
// in the same state at stream level (the same element name, namespace
// declarations and attributes; attribute order and quoting may differ from
// what the peer sent).
#ifndef FEDGATE_GATEWAY_S2S_HEADER_TEXT_H
#define FEDGATE_GATEWAY_S2S_HEADER_TEXT_H

#include <stddef.h>

#include "gateway/xml/xml_types.h"

// fg_header_text writes |h| (an XML declaration first when it had one) as an
// open start tag into |out| (|cap| bytes, NUL-terminated) and returns its
// length, or 0 when it does not fit.
size_t fg_header_text(const fg_xml_stream_header *h, char *out, size_t cap);

#endif  // FEDGATE_GATEWAY_S2S_HEADER_TEXT_H
