// xml_tokenizer.h: the byte-level state machine of the XML parser
// (gateway/xml/xml_tokenizer.c; not a public interface).
#ifndef FEDGATE_GATEWAY_XML_TOKENIZER_H
#define FEDGATE_GATEWAY_XML_TOKENIZER_H

#include "gateway/xml/xml_state.h"

// fg_xml_tokenize reads the current item's bytes p->base[p->i, p->n) from the
// state p->state, recording nodes and attributes as it goes. It returns R_NEED
// when it stopped at p->i for want of bytes (an unfinished token waits at its
// first byte), R_ERR after fail, R_OPEN when the stream header is ready,
// R_DONE when a top-level element ended, or R_CLOSE at the stream's end tag;
// for the last three p->i is the index after the item. Each instruction-set
// copy of the parser has its own (gateway/xml/xml_isa_rename.h).
int fg_xml_tokenize(fg_xml_parser *p);

#endif  // FEDGATE_GATEWAY_XML_TOKENIZER_H
