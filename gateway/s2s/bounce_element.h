// bounce_element.h: the RFC 6120 §8.3 error stanza answering a parsed
// stanza (gateway/s2s/bounce.h for the rules, gateway/xml/xml_parser.h for the tree).
#ifndef FEDGATE_GATEWAY_BOUNCE_ELEMENT_H
#define FEDGATE_GATEWAY_BOUNCE_ELEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/s2s/bounce.h"
#include "gateway/xml/xml_parser.h"

// fg_bounce_element builds into |out| (capacity |max_out|) the error stanza
// answering the top-level stanza |el| with |cond| and the condition's default
// error type, as fg_bounce_build does, and returns its verdict.
fg_bounce_verdict fg_bounce_element(uint8_t *out, size_t *out_len, size_t max_out,
                                    const fg_xml_element *el, fg_stanza_condition cond);

#endif  // FEDGATE_GATEWAY_BOUNCE_ELEMENT_H
