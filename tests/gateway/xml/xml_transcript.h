// xml_transcript.h: test and fuzz helper for gateway/xml_parser and
// gateway/xml_serializer. It feeds a stream to the parser in chosen chunks and
// records a transcript of the events (each one written canonically), so that
// runs with different chunkings, and parse/serialize round trips, can be
// compared byte for byte.
#ifndef FEDGATE_TESTS_GATEWAY_XML_TRANSCRIPT_H
#define FEDGATE_TESTS_GATEWAY_XML_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/xml/xml_parser.h"

typedef struct fg_xml_transcript {
  fg_xml_error err;
  uint64_t err_off;
  size_t elements;          // FG_XML_EVENT_ELEMENT count
  size_t opens, closes;     // stream header / close events
  size_t keepalive_ws;      // whitespace bytes reported as keepalives
  size_t canon_elements;    // elements flagged canonical
  size_t forward_elements;  // elements flagged forwardable but not canonical
  // Invariant violations found while running (must stay 0): an element
  // flagged canonical whose raw bytes differ from the writer's output (or
  // flagged forwardable, whose raw bytes with each start tag's default
  // namespace declaration moved first differ from it; or canonical and not
  // forwardable), an event the writer refused, bytes consumed that do not
  // add up.
  size_t canon_mismatch, write_fail, accounting;
  // An element whose root view (fg_xml_parser_element_root) links attributes
  // or children, or changes or moves when the other views are built.
  size_t root_view_mismatch;
  char *events;  // "O <header>\n", "E <element>\n", "C </stream>\n"
  size_t events_len, events_cap;
  char *replay;  // the canonical stream: header, elements (not one-line), close
  size_t replay_len, replay_cap;
} fg_xml_transcript;

// fg_xml_transcript_run parses |in| with |cfg| (NULL: defaults) and
// |root_views| set, cutting it before each offset of |splits| (sorted;
// out-of-range values are ignored), and fills |t| (which it initialises),
// reading each element by its root view first. It returns 0 only when out
// of memory.
int fg_xml_transcript_run(fg_xml_transcript *t, const fg_xml_config *cfg, const uint8_t *in,
                          size_t len, const size_t *splits, size_t nsplits);

// fg_xml_transcript_run_trimming is fg_xml_transcript_run calling
// fg_xml_parser_trim before every chunk (what a quiet stream does), with
// |root_views| unset (every view built with the element): the transcript
// must not change.
int fg_xml_transcript_run_trimming(fg_xml_transcript *t, const fg_xml_config *cfg,
                                   const uint8_t *in, size_t len, const size_t *splits,
                                   size_t nsplits);

// fg_xml_transcript_run_step is fg_xml_transcript_run with chunks of |step| bytes.
int fg_xml_transcript_run_step(fg_xml_transcript *t, const fg_xml_config *cfg, const uint8_t *in,
                               size_t len, size_t step);

// fg_xml_transcript_same returns 1 when |a| and |b| have the same events,
// error, error offset and keepalive byte count.
int fg_xml_transcript_same(const fg_xml_transcript *a, const fg_xml_transcript *b);

// fg_xml_transcript_roundtrip parses t->replay (the canonical rewrite of what
// |t| accepted) and returns 1 when that parse has no error and the same
// events as |t| (parse(serialize(parse(x))) == parse(x)); otherwise it writes
// a reason to |why|.
int fg_xml_transcript_roundtrip(const fg_xml_transcript *t, const fg_xml_config *cfg, char *why,
                                size_t why_len);

void fg_xml_transcript_free(fg_xml_transcript *t);

#endif  // FEDGATE_TESTS_GATEWAY_XML_TRANSCRIPT_H
