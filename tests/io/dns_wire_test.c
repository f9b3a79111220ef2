// dns_wire_test.c: io/dns_wire without a network: queries built by
// fg_dns_build_query and responses, written byte by byte, fed to
// fg_dns_parse_answer.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/nameser.h>
#include <resolv.h>
#include <stdint.h>
#include <string.h>

#include "io/dns_wire.h"

// --- parsing a response (fg_dns_parse_answer) ---

// wire is a DNS message being built: a header, one question, answers.
typedef struct wire {
  uint8_t b[2048];
  size_t len;
  size_t an_at;  // where the ANCOUNT goes
} wire;

static void put(wire *w, const void *p, size_t n) {
  assert_true(w->len + n <= sizeof(w->b));
  memcpy(w->b + w->len, p, n);
  w->len += n;
}

static void put16(wire *w, uint16_t v) {
  uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  put(w, b, 2);
}

static void put32(wire *w, uint32_t v) {
  put16(w, (uint16_t)(v >> 16));
  put16(w, (uint16_t)v);
}

// put_name writes |name| uncompressed ("" is the root).
static void put_name(wire *w, const char *name) {
  while (*name) {
    const char *dot = strchr(name, '.');
    size_t n = dot ? (size_t)(dot - name) : strlen(name);
    uint8_t l = (uint8_t)n;
    put(w, &l, 1);
    put(w, name, n);
    name += n + (dot ? 1 : 0);
  }
  put(w, "", 1);
}

// wire_start writes a response header (ID 0x1234, QR RD RA, |flags2| for the
// TC bit and rcode) and the question |qname| |qtype| IN at offset 12.
static void wire_start(wire *w, uint8_t flags1, uint8_t rcode, const char *qname, uint16_t qtype) {
  memset(w, 0, sizeof(*w));
  put16(w, 0x1234);
  uint8_t f[2] = {(uint8_t)(0x81 | flags1), (uint8_t)(0x80 | rcode)};
  put(w, f, 2);
  put16(w, 1);
  w->an_at = w->len;
  put16(w, 0);
  put16(w, 0);
  put16(w, 0);
  put_name(w, qname);
  put16(w, qtype);
  put16(w, 1);
}

// wire_rr starts an answer record owned by the question name (pointer c00c)
// or by |owner| when not NULL; the caller then writes |rdlen| bytes of RDATA.
static void wire_rr(wire *w, const char *owner, uint16_t type, uint32_t ttl, uint16_t rdlen) {
  if (owner != NULL)
    put_name(w, owner);
  else
    put16(w, 0xc00c);
  put16(w, type);
  put16(w, 1);
  put32(w, ttl);
  put16(w, rdlen);
  uint16_t an = (uint16_t)(w->b[w->an_at] << 8 | w->b[w->an_at + 1]) + 1;
  w->b[w->an_at] = (uint8_t)(an >> 8);
  w->b[w->an_at + 1] = (uint8_t)an;
}

static fg_dns_answer parse(const wire *w, const char *qname, uint16_t qtype, fg_dns_rrset *rs,
                           char *why) {
  memset(rs, 0, sizeof(*rs));
  why[0] = 0;
  return fg_dns_parse_answer(rs, why, 96, w->b, w->len, 0x1234, qname, qtype);
}

#define SRV_Q "_xmpp-server._tcp.example.com"

static void test_rfc2782_srv_answer_parsed(void **state) {
  wire w;
  wire_start(&w, 0, 0, SRV_Q, 33);
  wire_rr(&w, NULL, 33, 300, 6 + 19);
  put16(&w, 5);
  put16(&w, 10);
  put16(&w, 5269);
  put_name(&w, "XMPP1.example.com");
  wire_rr(&w, NULL, 33, 200, 6 + 1);
  put16(&w, 0);
  put16(&w, 0);
  put16(&w, 0);
  put_name(&w, "");
  // Compressed into the question's "example.com" (offset 12 + 13 + 5).
  wire_rr(&w, NULL, 33, 400, 6 + 3 + 2);
  put16(&w, 7);
  put16(&w, 1);
  put16(&w, 5270);
  put(&w, "\x02s2\xc0\x1e", 5);
  fg_dns_rrset rs;
  char why[96];
  assert_int_equal(parse(&w, SRV_Q, 33, &rs, why), FG_DNS_ANSWER_DONE);
  assert_int_equal(rs.status, FG_DNS_RS_OK);
  assert_int_equal(rs.n, 3);
  assert_int_equal(rs.ttl, 200);
  assert_int_equal(rs.srv[0].prio, 5);
  assert_int_equal(rs.srv[0].weight, 10);
  assert_int_equal(rs.srv[0].port, 5269);
  assert_string_equal(rs.srv[0].target, "xmpp1.example.com");
  assert_true(rs.srv[1].dot);
  assert_string_equal(rs.srv[1].target, "");
  assert_string_equal(rs.srv[2].target, "s2.example.com");
  assert_int_equal(rs.srv[2].port, 5270);
  fg_dns_rrset_cleanup(&rs);
}

static void test_rfc5452_9_1_parser_ignores_foreign_answers(void **state) {
  wire w;
  wire_start(&w, 0, 0, SRV_Q, 33);
  fg_dns_rrset rs;
  char why[96];
  memset(&rs, 0, sizeof(rs));
  assert_int_equal(fg_dns_parse_answer(&rs, why, sizeof(why), w.b, w.len, 0x1235, SRV_Q, 33),
                   FG_DNS_ANSWER_IGNORE);
  assert_int_equal(parse(&w, "_xmpps-server._tcp.example.com", 33, &rs, why), FG_DNS_ANSWER_IGNORE);
  assert_int_equal(parse(&w, SRV_Q, 1, &rs, why), FG_DNS_ANSWER_IGNORE);
  w.b[2] &= 0x7f;  // a query, not a response
  assert_int_equal(parse(&w, SRV_Q, 33, &rs, why), FG_DNS_ANSWER_IGNORE);
  assert_int_equal(parse(&w, SRV_Q, 33, &rs, why), FG_DNS_ANSWER_IGNORE);
  assert_int_equal(fg_dns_parse_answer(&rs, why, sizeof(why), w.b, 11, 0x1234, SRV_Q, 33),
                   FG_DNS_ANSWER_IGNORE);
  assert_int_equal(rs.n, 0);
}

static void test_rfc1035_4_1_1_parser_rcode_and_tc(void **state) {
  wire w;
  fg_dns_rrset rs;
  char why[96];
  wire_start(&w, 0x02, 0, SRV_Q, 33);
  assert_int_equal(parse(&w, SRV_Q, 33, &rs, why), FG_DNS_ANSWER_TRUNCATED);
  wire_start(&w, 0, 3, SRV_Q, 33);
  assert_int_equal(parse(&w, SRV_Q, 33, &rs, why), FG_DNS_ANSWER_DONE);
  assert_int_equal(rs.status, FG_DNS_RS_NXDOMAIN);
  wire_start(&w, 0, 2, SRV_Q, 33);
  assert_int_equal(parse(&w, SRV_Q, 33, &rs, why), FG_DNS_ANSWER_SERVER_FAIL);
  assert_string_equal(why, "SERVFAIL");
  wire_start(&w, 0, 0, SRV_Q, 33);
  assert_int_equal(parse(&w, SRV_Q, 33, &rs, why), FG_DNS_ANSWER_DONE);
  assert_int_equal(rs.status, FG_DNS_RS_NODATA);
  fg_dns_rrset_cleanup(&rs);
}

// Found by fuzz/dns_answer_fuzzer's seeds: a CNAME with an empty RDATA made
// the parser read the next record's owner name as the alias, and so accept
// that record's address for the asked name.
static void test_rfc1035_3_3_1_cname_alias_must_fill_rdata(void **state) {
  wire w;
  wire_start(&w, 0, 0, "xmpp.example.com", 1);
  wire_rr(&w, NULL, 5, 500, 0);
  wire_rr(&w, "other.example.org", 1, 300, 4);
  put(&w, "\xcb\x00\x71\x0a", 4);
  fg_dns_rrset rs;
  char why[96];
  assert_int_equal(parse(&w, "xmpp.example.com", 1, &rs, why), FG_DNS_ANSWER_DONE);
  assert_int_equal(rs.status, FG_DNS_RS_NODATA);
  assert_int_equal(rs.n, 0);
  fg_dns_rrset_cleanup(&rs);
  // A well-formed CNAME to the same owner is followed.
  wire_start(&w, 0, 0, "xmpp.example.com", 1);
  wire_rr(&w, NULL, 5, 500, 19);
  put_name(&w, "other.example.org");
  wire_rr(&w, "other.example.org", 1, 300, 4);
  put(&w, "\xcb\x00\x71\x0a", 4);
  assert_int_equal(parse(&w, "xmpp.example.com", 1, &rs, why), FG_DNS_ANSWER_DONE);
  assert_int_equal(rs.status, FG_DNS_RS_OK);
  assert_int_equal(rs.n, 1);
  assert_memory_equal(rs.addr[0], "\xcb\x00\x71\x0a\0\0\0\0\0\0\0\0\0\0\0\0", 16);
  assert_int_equal(rs.ttl, 300);
  fg_dns_rrset_cleanup(&rs);
}

// Found by review while writing the fuzz seeds: a TTL above 2^31-1 was used
// as is (then capped by max_ttl_s) instead of as 0, i.e. not cached.
static void test_rfc2181_8_ttl_with_msb_set_counts_as_zero(void **state) {
  wire w;
  wire_start(&w, 0, 0, "xmpp.example.com", 28);
  wire_rr(&w, NULL, 28, 0x80000001u, 16);
  put(&w, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
  fg_dns_rrset rs;
  char why[96];
  assert_int_equal(parse(&w, "xmpp.example.com", 28, &rs, why), FG_DNS_ANSWER_DONE);
  assert_int_equal(rs.status, FG_DNS_RS_OK);
  assert_int_equal(rs.ttl, 0);
  fg_dns_rrset_cleanup(&rs);
}

// Found by fuzz/dns_answer_fuzzer's seeds: an answer record whose owner name
// does not parse (a compression pointer to itself) ended the section, and the
// response counted as NODATA (negative-cached; for SRV, the 5269 fallback).
static void test_rfc1035_4_1_4_malformed_answer_is_server_failure(void **state) {
  wire w;
  wire_start(&w, 0, 0, SRV_Q, 33);
  size_t self = w.len;
  wire_rr(&w, NULL, 33, 300, 6 + 18);
  w.b[self] = (uint8_t)(0xc0 | (self >> 8));
  w.b[self + 1] = (uint8_t)self;
  put16(&w, 0);
  put16(&w, 0);
  put16(&w, 5269);
  put_name(&w, "xmpp.example.com");
  fg_dns_rrset rs;
  char why[96];
  assert_int_equal(parse(&w, SRV_Q, 33, &rs, why), FG_DNS_ANSWER_SERVER_FAIL);
  assert_string_equal(why, "malformed answer record");
  assert_null(rs.srv);
  // A pointer loop inside an SRV target only skips that record (documented:
  // targets that are not host names are skipped).
  wire_start(&w, 0, 0, SRV_Q, 33);
  wire_rr(&w, NULL, 33, 300, 6 + 2);
  put16(&w, 0);
  put16(&w, 0);
  put16(&w, 5269);
  size_t at = w.len;
  put16(&w, (uint16_t)(0xc000 | at));
  assert_int_equal(parse(&w, SRV_Q, 33, &rs, why), FG_DNS_ANSWER_DONE);
  assert_int_equal(rs.status, FG_DNS_RS_NODATA);
  fg_dns_rrset_cleanup(&rs);
}

static void test_dns_answer_records_bounded(void **state) {
  wire w;
  wire_start(&w, 0, 0, "xmpp.example.com", 1);
  for (int i = 0; i < FG_DNS_MAX_RECORDS + 6; i++) {
    wire_rr(&w, NULL, 1, 60, 4);
    uint8_t a[4] = {192, 0, 2, (uint8_t)i};
    put(&w, a, 4);
  }
  fg_dns_rrset rs;
  char why[96];
  assert_int_equal(parse(&w, "xmpp.example.com", 1, &rs, why), FG_DNS_ANSWER_DONE);
  assert_int_equal(rs.n, FG_DNS_MAX_RECORDS);
  assert_int_equal(rs.addr[FG_DNS_MAX_RECORDS - 1][3], FG_DNS_MAX_RECORDS - 1);
  fg_dns_rrset_cleanup(&rs);
}

// --- building a query ---

// RFC 1035 §4.1: header with one question, the name as length-prefixed
// labels, then QTYPE and QCLASS IN; the flags follow the resolver state (RD).
static void test_rfc1035_4_1_query_built(void **state) {
  struct __res_state res;
  memset(&res, 0, sizeof(res));
  assert_int_equal(res_ninit(&res), 0);
  res.options |= RES_RECURSE;
  uint8_t msg[NS_PACKETSZ];
  size_t len = 0;
  assert_true(fg_dns_build_query(&res, msg, &len, sizeof(msg), SRV_Q, 33));
  static const uint8_t kQuestion[] =
      "\x0c_xmpp-server\x04_tcp\x07"
      "example\x03"
      "com";
  assert_int_equal(len, 12 + sizeof(kQuestion) + 4);
  assert_int_equal(msg[2] & 0x80, 0);                   // a query
  assert_int_equal(msg[2] & 0x01, 1);                   // RD
  assert_memory_equal(msg + 4, "\0\1\0\0\0\0\0\0", 8);  // QD 1, AN, NS, AR 0
  assert_memory_equal(msg + 12, kQuestion, sizeof(kQuestion));
  assert_memory_equal(msg + 12 + sizeof(kQuestion), "\0\x21\0\1", 4);  // SRV IN

  // The response to it (QR set, same ID) is this question's answer.
  msg[2] |= 0x80;
  fg_dns_rrset rs;
  memset(&rs, 0, sizeof(rs));
  char why[96] = "";
  uint16_t id = (uint16_t)(msg[0] << 8 | msg[1]);
  assert_int_equal(fg_dns_parse_answer(&rs, why, sizeof(why), msg, len, id, SRV_Q, 33),
                   FG_DNS_ANSWER_DONE);
  assert_int_equal(rs.status, FG_DNS_RS_NODATA);
  fg_dns_rrset_cleanup(&rs);

  // A name longer than the wire allows (RFC 1035 §3.1: 255 bytes) or a
  // buffer too small gives no query.
  char big[300];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = 0;
  for (size_t i = 60; i < sizeof(big) - 1; i += 61) big[i] = '.';
  assert_false(fg_dns_build_query(&res, msg, &len, sizeof(msg), big, 1));
  assert_false(fg_dns_build_query(&res, msg, &len, 20, SRV_Q, 33));
  res_nclose(&res);
}

#define TLSA_Q "_5269._tcp.xmpp.example.com"

// RFC 6698 §2.1 with RFC 4035 §3.2.3: TLSA records parsed, RRSIGs beside
// them skipped, the AD bit and RCODE reported.
static void test_rfc6698_2_1_tlsa_answer_parsed(void **state) {
  (void)state;
  wire w;
  wire_start(&w, 0, 0, TLSA_Q, 52);
  w.b[3] |= 0x20;  // AD
  wire_rr(&w, NULL, 52, 300, 3 + 32);
  put(&w, "\x03\x01\x01", 3);
  for (int i = 0; i < 32; i++) put(&w, "\xab", 1);
  wire_rr(&w, NULL, 46, 300, 4);  // an RRSIG: not a TLSA record
  put32(&w, 0x00340d04);
  wire_rr(&w, NULL, 52, 200, 3 + 1);
  put(&w, "\x02\x00\x00\x30", 4);
  wire_rr(&w, NULL, 52, 200, 3);  // no association data: skipped
  put(&w, "\x03\x01\x01", 3);
  fg_dns_rrset rs;
  char why[96];
  assert_int_equal(parse(&w, TLSA_Q, 52, &rs, why), FG_DNS_ANSWER_DONE);
  assert_int_equal(rs.status, FG_DNS_RS_OK);
  assert_int_equal(rs.ad, 1);
  assert_int_equal(rs.rcode, 0);
  assert_int_equal(rs.n, 2);
  assert_non_null(rs.tlsa);
  assert_int_equal(rs.tlsa->n, 2);
  assert_int_equal(rs.tlsa->rec[0].usage, 3);
  assert_int_equal(rs.tlsa->rec[0].len, 32);
  assert_int_equal(rs.tlsa->rec[0].data[31], 0xab);
  assert_int_equal(rs.tlsa->rec[1].usage, 2);
  assert_int_equal(rs.tlsa->rec[1].data[0], 0x30);
  assert_int_equal(rs.ttl, 200);
  fg_dns_rrset_cleanup(&rs);

  // No AD bit; a SERVFAIL reports its RCODE for the resolver to judge.
  wire_start(&w, 0, 0, TLSA_Q, 52);
  assert_int_equal(parse(&w, TLSA_Q, 52, &rs, why), FG_DNS_ANSWER_DONE);
  assert_int_equal(rs.ad, 0);
  assert_int_equal(rs.status, FG_DNS_RS_NODATA);
  fg_dns_rrset_cleanup(&rs);
  wire_start(&w, 0, 2, TLSA_Q, 52);
  assert_int_equal(parse(&w, TLSA_Q, 52, &rs, why), FG_DNS_ANSWER_SERVER_FAIL);
  assert_int_equal(rs.rcode, 2);
  fg_dns_rrset_cleanup(&rs);
}

// RFC 6891 §6.1.2 and RFC 3225 §3: the OPT record with the DO bit.
static void test_rfc3225_3_do_bit_added(void **state) {
  (void)state;
  struct __res_state res;
  memset(&res, 0, sizeof(res));
  assert_int_equal(res_ninit(&res), 0);
  uint8_t msg[NS_PACKETSZ];
  size_t len = 0;
  assert_true(fg_dns_build_query(&res, msg, &len, sizeof(msg), TLSA_Q, 52));
  size_t before = len;
  assert_true(fg_dns_add_edns_do(msg, &len, sizeof(msg)));
  assert_int_equal(len, before + 11);
  assert_memory_equal(msg + 10, "\0\1", 2);  // ARCOUNT 1
  assert_memory_equal(msg + before, "\0\0\x29\x04\xd0\0\0\x80\0\0\0", 11);
  // Only once, and only where it fits.
  assert_false(fg_dns_add_edns_do(msg, &len, sizeof(msg)));
  assert_true(fg_dns_build_query(&res, msg, &len, sizeof(msg), TLSA_Q, 52));
  assert_false(fg_dns_add_edns_do(msg, &len, len + 10));
  res_nclose(&res);
}

int main(void) {
  const struct CMUnitTest parser[] = {
      cmocka_unit_test(test_rfc2782_srv_answer_parsed),
      cmocka_unit_test(test_rfc5452_9_1_parser_ignores_foreign_answers),
      cmocka_unit_test(test_rfc1035_4_1_1_parser_rcode_and_tc),
      cmocka_unit_test(test_rfc1035_3_3_1_cname_alias_must_fill_rdata),
      cmocka_unit_test(test_rfc2181_8_ttl_with_msb_set_counts_as_zero),
      cmocka_unit_test(test_rfc1035_4_1_4_malformed_answer_is_server_failure),
      cmocka_unit_test(test_dns_answer_records_bounded),
  };
  const struct CMUnitTest query[] = {
      cmocka_unit_test(test_rfc1035_4_1_query_built),
      cmocka_unit_test(test_rfc6698_2_1_tlsa_answer_parsed),
      cmocka_unit_test(test_rfc3225_3_do_bit_added),
  };
  int failed = cmocka_run_group_tests_name("dns_parser", parser, NULL, NULL);
  failed += cmocka_run_group_tests_name("dns_query", query, NULL, NULL);
  return failed;
}
