// dns_answer_fuzzer.c: io/dns_wire's response parser (fg_dns_parse_answer) on
// arbitrary bytes, as if a nameserver (or a spoofer racing it) had sent them.
//
// Each input is tried as the answer to three fixed questions: SRV
// _xmpp-server._tcp.example.com, A xmpp.example.com and AAAA
// xmpp.example.com. The transaction ID is taken from the input's first two
// bytes so that the fuzzer does not have to guess it; a second call with a
// different ID must be ignored. Besides the sanitizers, the harness checks
// what the resolver relies on afterwards:
//   - a response is ignored, answered, a server failure or truncated, and the
//     rrset is only touched when it is answered;
//   - at most FG_DNS_MAX_RECORDS records; status OK exactly when there are
//     records; SRV answers fill |srv| only, A/AAAA answers |addr| only;
//   - every SRV target is "." or a valid lowercase host name of at most 253
//     bytes with a non-zero port, and its priority, weight and port are bytes
//     of the message (as parsed, not invented);
//   - every address is bytes of the message (an A address zero-padded);
//   - the TTL of a positive answer is a TTL field of the message, or 0 (a
//     TTL with the most significant bit set counts as 0, RFC 2181 §8);
//   - the AD bit (and, for a server failure, the RCODE) is the header's.
// Seeds: fuzz/corpus/dns_answer_fuzzer/ (written by fuzz/dns_seed_gen.py).
#include <arpa/nameser.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/dns_name.h"
#include "io/dns_wire.h"
#include "fuzz/dns_parse_check.h"
#include "fuzz/fuzz_check.h"

static const char kSrvName[] = "_xmpp-server._tcp.example.com";
static const char kHostName[] = "xmpp.example.com";

// in_message reports whether |n| bytes |b| occur somewhere in the message.
static int in_message(const uint8_t *msg, size_t len, const uint8_t *b, size_t n) {
  return memmem(msg, len, b, n) != NULL;
}

static void check_srv(const fg_dns_srv *r, const uint8_t *msg, size_t len) {
  uint8_t fixed[6] = {(uint8_t)(r->prio >> 8), (uint8_t)r->prio,        (uint8_t)(r->weight >> 8),
                      (uint8_t)r->weight,      (uint8_t)(r->port >> 8), (uint8_t)r->port};
  FUZZ_CHECK(in_message(msg, len, fixed, sizeof(fixed)));
  size_t tl = strnlen(r->target, sizeof(r->target));
  FUZZ_CHECK(tl < sizeof(r->target));
  if (r->dot) {
    FUZZ_CHECK(tl == 0);
    return;
  }
  FUZZ_CHECK(tl > 0 && tl <= FG_DNS_NAME_MAX);
  FUZZ_CHECK(fg_dns_name_valid(r->target, tl));
  FUZZ_CHECK(r->target[tl - 1] != '.');
  for (size_t i = 0; i < tl; i++) FUZZ_CHECK(!(r->target[i] >= 'A' && r->target[i] <= 'Z'));
  FUZZ_CHECK(r->port != 0);
}

static void one(const uint8_t *data, size_t size, uint16_t id, const char *qname, uint16_t qtype) {
  fg_dns_rrset rs;
  if (!fuzz_dns_parse(&rs, data, size, id, qname, qtype)) return;
  FUZZ_CHECK(rs.tlsa == NULL);
  FUZZ_CHECK(rs.n <= FG_DNS_MAX_RECORDS);
  switch (rs.status) {
    case FG_DNS_RS_OK:
      FUZZ_CHECK(rs.n > 0);
      uint8_t ttl[4] = {(uint8_t)(rs.ttl >> 24), (uint8_t)(rs.ttl >> 16), (uint8_t)(rs.ttl >> 8),
                        (uint8_t)rs.ttl};
      // RFC 2181 §8: a TTL with the most significant bit set counts as 0.
      FUZZ_CHECK(rs.ttl == 0 || in_message(data, size, ttl, sizeof(ttl)));
      break;
    case FG_DNS_RS_NXDOMAIN:
    case FG_DNS_RS_NODATA:
      FUZZ_CHECK(rs.n == 0);
      FUZZ_CHECK(rs.ttl == 0);
      break;
    default:
      // Only memory exhaustion gives anything else (SERVFAIL).
      FUZZ_CHECK(rs.status == FG_DNS_RS_SERVFAIL && rs.n == 0);
      break;
  }
  if (qtype == ns_t_srv) {
    FUZZ_CHECK(rs.addr == NULL);
    FUZZ_CHECK(rs.n == 0 || rs.srv != NULL);
    for (size_t i = 0; i < rs.n; i++) check_srv(&rs.srv[i], data, size);
  } else {
    FUZZ_CHECK(rs.srv == NULL);
    FUZZ_CHECK(rs.n == 0 || rs.addr != NULL);
    size_t alen = qtype == ns_t_a ? 4 : 16;
    for (size_t i = 0; i < rs.n; i++) {
      FUZZ_CHECK(in_message(data, size, rs.addr[i], alen));
      FUZZ_CHECK(fuzz_is_zero(rs.addr[i] + alen, 16 - alen));
    }
  }
  fg_dns_rrset_cleanup(&rs);
  FUZZ_CHECK(fuzz_is_zero(&rs, sizeof(rs)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint16_t id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0x1234;
  one(data, size, id, kSrvName, ns_t_srv);
  one(data, size, id, kHostName, ns_t_a);
  one(data, size, id, kHostName, ns_t_aaaa);
  // RFC 5452 §9.1: another transaction's answer never counts.
  fg_dns_rrset rs;
  memset(&rs, 0, sizeof(rs));
  char why[96];
  FUZZ_CHECK(fg_dns_parse_answer(&rs, why, sizeof(why), data, size, (uint16_t)(id ^ 0x8001),
                                 kSrvName, ns_t_srv) == FG_DNS_ANSWER_IGNORE);
  FUZZ_CHECK(fuzz_is_zero(&rs, sizeof(rs)));
  return 0;
}
