// dns_parse_check.h: what every fuzz target of io/dns_wire's response parser
// checks around the call, whatever the question.
#ifndef FEDGATE_FUZZ_DNS_PARSE_CHECK_H
#define FEDGATE_FUZZ_DNS_PARSE_CHECK_H

#include <arpa/nameser.h>
#include <string.h>

#include "fuzz/fuzz_check.h"
#include "io/dns_wire.h"

// fuzz_dns_parse parses |data| as the answer to (|qname|, |qtype|) with ID
// |id| into |rs| (zeroed here) and checks: one of the four classifications;
// a server failure writes a NUL-terminated reason and reports only the
// header's RCODE and AD bit (or neither, for a message too malformed to
// parse); anything but an answer leaves |rs| untouched. It returns 1 for an
// answer (|rs| to be freed by the caller), else 0.
static inline int fuzz_dns_parse(fg_dns_rrset *rs, const uint8_t *data, size_t size, uint16_t id,
                                 const char *qname, uint16_t qtype) {
  memset(rs, 0, sizeof(*rs));
  char why[96];
  memset(why, 'x', sizeof(why));
  fg_dns_answer a = fg_dns_parse_answer(rs, why, sizeof(why), data, size, id, qname, qtype);
  FUZZ_CHECK(a == FG_DNS_ANSWER_IGNORE || a == FG_DNS_ANSWER_DONE ||
             a == FG_DNS_ANSWER_SERVER_FAIL || a == FG_DNS_ANSWER_TRUNCATED);
  if (a == FG_DNS_ANSWER_SERVER_FAIL) {
    FUZZ_CHECK(memchr(why, 0, sizeof(why)) != NULL);
    // The resolver judges a validating resolver's SERVFAIL by these.
    FUZZ_CHECK(size >= NS_HFIXEDSZ);
    FUZZ_CHECK((rs->rcode == 0 && rs->ad == 0) ||
               (rs->rcode == (data[3] & 0x0f) && rs->ad == ((data[3] >> 5) & 1)));
    rs->rcode = rs->ad = 0;
  }
  if (a != FG_DNS_ANSWER_DONE) {
    FUZZ_CHECK(fuzz_is_zero(rs, sizeof(*rs)));
    return 0;
  }
  // Only an answer from the right ID with the QR bit gets this far.
  FUZZ_CHECK(size >= NS_HFIXEDSZ && ns_get16(data) == id && (data[2] & 0x80));
  FUZZ_CHECK(rs->ad == ((data[3] >> 5) & 1));
  return 1;
}

#endif  // FEDGATE_FUZZ_DNS_PARSE_CHECK_H
