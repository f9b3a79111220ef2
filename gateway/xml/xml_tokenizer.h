// xml_tokenizer.h: the byte-level state machine of the XML parser
// (gateway/xml/xml_tokenizer.c; not a public interface).
#ifndef FEDGATE_GATEWAY_XML_TOKENIZER_H
#define FEDGATE_GATEWAY_XML_TOKENIZER_H

#include "gateway/xml/xml_state.h"

// A tokenizer reads the current item's bytes p->base[p->i, p->n) from the
// state p->state, recording nodes and attributes as it goes. It returns
// R_NEED when it stopped at p->i for want of bytes (an unfinished token waits
// at its first byte), R_ERR after fail, R_OPEN when the stream header is
// ready, R_DONE when a top-level element ended, or R_CLOSE at the stream's end
// tag; for the last three p->i is the index after the item.
typedef int (*fg_xml_tokenize_fn)(fg_xml_parser *p);

// The two builds of the state machine: the baseline x86-64 one (SSE2
// scanners, or scalar ones elsewhere), and the AVX2 one, which exists only in
// x86-64 builds and must only run where the CPU has AVX2.
int fg_xml_tokenize_baseline(fg_xml_parser *p);
int fg_xml_tokenize_avx2(fg_xml_parser *p);

// fg_xml_tokenizer_avx2_built is 1 when fg_xml_tokenize_avx2 really was
// compiled with AVX2 (x86-64 builds), else 0.
extern const int fg_xml_tokenizer_avx2_built;

// fg_xml_tokenizer_active returns the build new parsers use
// (gateway/xml/xml_simd.c: the best this CPU runs, unless a test or benchmark
// chose with fg_xml_simd_select).
fg_xml_tokenize_fn fg_xml_tokenizer_active(void);

#endif  // FEDGATE_GATEWAY_XML_TOKENIZER_H
