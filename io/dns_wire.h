// dns_wire.h: DNS messages as bytes, inside io/dns: a question built for a
// nameserver, a response checked against it and its SRV, A or AAAA records
// extracted (names, compression pointers, CNAME chains, TTLs). No sockets, no
// state: fuzz/dns_answer_fuzzer.c and tests/io/dns_wire_test.c feed it bytes
// without a network. Not part of the public API (io/dns.h).
#ifndef FEDGATE_IO_DNS_WIRE_H
#define FEDGATE_IO_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/tlsa.h"
#include "io/dns_name.h"
#include "io/dnssec.h"

struct __res_state;

// FG_DNS_MAX_RECORDS is the most records kept from one answer; later
// matching records are dropped.
#define FG_DNS_MAX_RECORDS 64

// FG_DNS_CNAME_HOPS is the longest CNAME chain followed inside one answer.
#define FG_DNS_CNAME_HOPS 8

// fg_dns_rstatus is the outcome of one question.
typedef enum fg_dns_rstatus {
  FG_DNS_RS_OK = 0,
  FG_DNS_RS_NXDOMAIN,
  FG_DNS_RS_NODATA,
  FG_DNS_RS_TIMEOUT,
  FG_DNS_RS_SERVFAIL,
  FG_DNS_RS_CANCELLED,
} fg_dns_rstatus;

// fg_dns_srv is one SRV record (RFC 2782).
typedef struct fg_dns_srv {
  uint16_t prio, weight, port;
  int dot;  // target "." (then |target| is empty)
  // target is a valid host name (fg_dns_name_valid), lowercase, without a
  // trailing dot; port is then never 0.
  char target[FG_DNS_NAME_MAX + 1];
} fg_dns_srv;

// FG_DNS_TYPE_TLSA is the TLSA record type (RFC 6698 §7.1).
#define FG_DNS_TYPE_TLSA 52

// fg_dns_rrset is one answer: records of one type for one name, or a
// failure. SRV answers fill |srv|, A and AAAA answers |addr| (an A address in
// the first 4 bytes, the other 12 zero), TLSA answers |tlsa|; |n| counts the
// records of any.
typedef struct fg_dns_rrset {
  fg_dns_rstatus status;
  uint32_t ttl;  // seconds still valid: the minimum over the records used
  size_t n;
  fg_dns_srv *srv;
  uint8_t (*addr)[16];
  fg_dane_rrset *tlsa;
  // ad: the response's AD bit (RFC 4035 §3.2.3); rcode: its RCODE. Set by
  // fg_dns_parse_answer whenever the header is ours; what they are worth
  // depends on who answered (io/dns.c sets |dnssec|).
  uint8_t ad, rcode;
  fg_dnssec dnssec;
} fg_dns_rrset;

// fg_dns_rrset_cleanup frees |s|'s records and zeroes it.
void fg_dns_rrset_cleanup(fg_dns_rrset *s);

// fg_dns_build_query writes the query for (|name|, IN, |type|) to |out| (at
// most |max_out| bytes) and its length to |*out_len|. Its header flags come
// from the caller's resolver state |res| (RD when RES_RECURSE is set); use one
// state per thread, as libresolv's res_nmkquery is thread-safe only so. The
// caller sets the transaction ID (the message's first two bytes). It returns
// 1, or 0 if the query does not fit in |max_out| bytes or |name| cannot be
// encoded (too long for the wire).
int fg_dns_build_query(struct __res_state *res, uint8_t *out, size_t *out_len, size_t max_out,
                       const char *name, uint16_t type);

// fg_dns_add_edns_do appends an EDNS0 OPT record (RFC 6891 §6.1.2) with the
// DO bit (RFC 3225 §3) and a UDP payload size of 1232 to the query |msg| of
// |*len| bytes (capacity |max|), so that a validating resolver reports the
// AD bit. It returns 1, or 0 when it does not fit or |msg| already has
// additional records.
int fg_dns_add_edns_do(uint8_t *msg, size_t *len, size_t max);

// fg_dns_answer classifies one response received for a question.
typedef enum fg_dns_answer {
  // Not a response to this question (ID, QR bit or question differ): keep
  // waiting for the real one (RFC 5452 §9.1).
  FG_DNS_ANSWER_IGNORE = 0,
  // The question is answered: the rrset holds the records, NODATA or
  // NXDOMAIN (or SERVFAIL if memory ran out).
  FG_DNS_ANSWER_DONE,
  // The server failed (malformed message, SERVFAIL, REFUSED, other rcode);
  // |why| says how. Ask the next server.
  FG_DNS_ANSWER_SERVER_FAIL,
  // The TC bit is set: ask again over TCP (RFC 7766 §5).
  FG_DNS_ANSWER_TRUNCATED,
} fg_dns_answer;

// fg_dns_parse_answer parses the response |in| (|in_len| bytes, untrusted)
// to the question (|qname|, IN, |qtype|) sent with transaction ID |id|.
// |qname| has no trailing dot; |qtype| is ns_t_srv, ns_t_a, ns_t_aaaa or
// FG_DNS_TYPE_TLSA (records whose RDATA is not usage, selector, matching
// type and at least one byte of data are skipped; at most
// FG_DANE_MAX_RECORDS are kept).
// |out| must be zeroed. On FG_DNS_ANSWER_DONE it holds the result (the caller
// frees it with fg_dns_rrset_cleanup): the records of type |qtype| owned by
// |qname| or by the end of a CNAME chain starting there (at most
// FG_DNS_CNAME_HOPS hops), at most FG_DNS_MAX_RECORDS of them; malformed
// records, SRV targets that are not host names and SRV port 0 are skipped.
// On FG_DNS_ANSWER_SERVER_FAIL a reason is written to |why| (|why_len| bytes,
// NUL-terminated). Whenever the response is ours and not truncated,
// |out->rcode| and |out->ad| are set (also on FG_DNS_ANSWER_SERVER_FAIL);
// |out| is otherwise left unchanged.
fg_dns_answer fg_dns_parse_answer(fg_dns_rrset *out, char *why, size_t why_len, const uint8_t *in,
                                  size_t in_len, uint16_t id, const char *qname, uint16_t qtype);

#endif  // FEDGATE_IO_DNS_WIRE_H
