// s2sload_verify.h: the sink's check that a stanza arrived whole. Every
// stanza s2sload writes is a function of its id (s2sload_stanza.h), so from
// the id alone the sink knows the from and to it must carry and the length
// and digest of its filler text. A system that truncates, pads or rewrites
// stanza content cannot count such a stanza as delivered.
//
// The check tolerates what RFC 6120 lets a server change when it re-serialises
// a stanza (§8.1.3: quoting, attribute order, namespace declarations): it
// reads attribute values with either quote, and finds the filler after its
// anchor (the end of the template's middle piece: "<body>", "<status>",
// "client#", "<title>"), whose letters and spaces need no escaping.
#ifndef FEDGATE_BENCH_S2SLOAD_VERIFY_H
#define FEDGATE_BENCH_S2SLOAD_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "bench/s2sload_id.h"
#include "bench/s2sload_stanza.h"

enum fg_stanza_verdict {
  FG_STANZA_WHOLE = 0,       // from, to, filler length and digest as written
  FG_STANZA_CORRUPTED = 1,   // something differs (|why| says what)
  FG_STANZA_INCOMPLETE = 2,  // |raw| ends before the stanza could be checked
};

// fg_stanza_verify checks |raw|, which starts at the stanza's '<' and holds
// the whole stanza (full parse: exactly it) or possibly less or more (a
// scanner's chunk: the stanza start to the end of the chunk; then
// FG_STANZA_INCOMPLETE when the chunk ends too soon). |t| is the template of
// the sending remote domain, |id| the decoded id. On FG_STANZA_CORRUPTED,
// *why (if |why| is not NULL) names the first difference.
enum fg_stanza_verdict fg_stanza_verify(const fg_stanza_tmpl *t, const fg_stanza_id *id,
                                        const uint8_t *raw, size_t raw_len, const char **why);

// fg_stanza_digest is the 64-bit FNV-1a digest of |len| bytes at |p|.
uint64_t fg_stanza_digest(const uint8_t *p, size_t len);

#endif  // FEDGATE_BENCH_S2SLOAD_VERIFY_H
