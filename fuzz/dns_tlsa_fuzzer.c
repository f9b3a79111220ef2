// dns_tlsa_fuzzer.c: TLSA answers (RFC 6698 §2.1) through io/dns_wire's
// response parser and crypto/tlsa, with the RRSIGs, CNAMEs and EDNS records
// a validating resolver's answers carry, on arbitrary bytes.
//
// Each input is the answer to TLSA _5269._tcp.xmpp.example.com (transaction ID
// from its first two bytes). Besides the sanitizers, the harness checks:
//   - the classification is one of the four, and only an answer fills the
//     rrset; a server failure reports only the header's RCODE and AD bit;
//   - the AD bit reported is the header's (io/dns trusts it, or not, by who
//     answered);
//   - at most FG_DANE_MAX_RECORDS records, each with 1 to FG_DANE_MAX_DATA
//     bytes of data, and each record's usage, selector, matching type and
//     data are consecutive bytes of the message (RDATA as sent, RRSIGs and
//     other types never taken for TLSA);
//   - usability is what RFC 7671 §4.1 says for the parameters and lengths;
//   - a deep copy is equal and independent (the cache's copy);
//   - a record's data taken as a certificate (full certificate, 0 0 0) gives
//     an SPKI only from inside itself (crypto/dane's DER walk on peer bytes).
// Seeds: fuzz/corpus/dns_tlsa_fuzzer/ (written by fuzz/dns_tlsa_seed_gen.py).
#include <arpa/nameser.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/dane.h"
#include "crypto/tlsa.h"
#include "fuzz/dns_parse_check.h"
#include "fuzz/fuzz_check.h"
#include "io/dns_wire.h"

static const char kName[] = "_5269._tcp.xmpp.example.com";

// rdata_in_message: the record's RDATA occurs whole in the message.
static int rdata_in_message(const fg_dane_tlsa *r, const uint8_t *msg, size_t len) {
  for (size_t i = 0; i + 3 + r->len <= len; i++) {
    if (msg[i] == r->usage && msg[i + 1] == r->selector && msg[i + 2] == r->mtype &&
        memcmp(msg + i + 3, r->data, r->len) == 0) {
      return 1;
    }
  }
  return 0;
}

static fg_dane_usability expected_usability(const fg_dane_tlsa *r) {
  if (r->usage > 3) return FG_DANE_UNKNOWN_USAGE;
  if (r->selector > 1) return FG_DANE_UNKNOWN_SELECTOR;
  if (r->mtype > 2) return FG_DANE_UNKNOWN_MTYPE;
  if ((r->mtype == 1 && r->len != 32) || (r->mtype == 2 && r->len != 64)) {
    return FG_DANE_BAD_DIGEST_LENGTH;
  }
  return FG_DANE_USABLE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint16_t id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0x1234;
  fg_dns_rrset rs;
  if (!fuzz_dns_parse(&rs, data, size, id, kName, FG_DNS_TYPE_TLSA)) return 0;
  FUZZ_CHECK(rs.srv == NULL && rs.addr == NULL);
  FUZZ_CHECK(rs.n <= FG_DANE_MAX_RECORDS);
  FUZZ_CHECK(rs.status != FG_DNS_RS_OK || (rs.n > 0 && rs.tlsa != NULL && rs.tlsa->n == rs.n));
  if (rs.tlsa != NULL) {
    const fg_dane_rrset *s = rs.tlsa;
    for (size_t i = 0; i < s->n; i++) {
      const fg_dane_tlsa *r = &s->rec[i];
      FUZZ_CHECK(r->len >= 1 && r->len <= FG_DANE_MAX_DATA);
      FUZZ_CHECK(r->data >= s->data && r->data + r->len <= s->data + s->data_len);
      FUZZ_CHECK(rdata_in_message(r, data, size));
      fg_dane_usability u = fg_dane_tlsa_usability(r);
      FUZZ_CHECK(u == expected_usability(r));
      FUZZ_CHECK(fg_dane_usability_name(u) != NULL);
      if (r->selector == FG_DANE_SELECTOR_CERT && r->mtype == FG_DANE_MATCH_FULL) {
        uint8_t *spki = malloc(r->len);
        size_t n = 0;
        if (spki != NULL && fg_dane_association(spki, &n, r->len, r->data, r->len,
                                                FG_DANE_SELECTOR_SPKI, FG_DANE_MATCH_FULL)) {
          FUZZ_CHECK(n > 0 && n < r->len && memmem(r->data, r->len, spki, n) != NULL);
        }
        free(spki);
      }
    }
    fg_dane_rrset copy;
    FUZZ_CHECK(fg_dane_rrset_copy(&copy, s));
    FUZZ_CHECK(copy.n == s->n && copy.data_len == s->data_len);
    for (size_t i = 0; i < s->n; i++) {
      FUZZ_CHECK(copy.rec[i].len == s->rec[i].len && copy.rec[i].usage == s->rec[i].usage);
      FUZZ_CHECK(s->rec[i].len == 0 || copy.rec[i].data != s->rec[i].data);
      FUZZ_CHECK(memcmp(copy.rec[i].data, s->rec[i].data, s->rec[i].len) == 0);
    }
    fg_dane_rrset_cleanup(&copy);
  }
  fg_dns_rrset_cleanup(&rs);
  FUZZ_CHECK(fuzz_is_zero(&rs, sizeof(rs)));
  return 0;
}
