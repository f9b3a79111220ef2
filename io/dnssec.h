// dnssec.h: the DNSSEC status of one DNS answer, as io/dns reports it
// (docs/dane.md). Types only.
#ifndef FEDGATE_IO_DNSSEC_H
#define FEDGATE_IO_DNSSEC_H

// fg_dnssec is what a validating resolver said of an answer. fedgate does
// not validate signatures itself: it trusts the AD bit (RFC 4035 §3.2.3,
// RFC 6840 §5.7) only from resolvers configured as validating on trusted
// addresses (dns.dnssec.trusted_resolvers), like Postfix and Exim do.
typedef enum fg_dnssec {
  FG_DNSSEC_INSECURE = 0,  // not validated: no AD bit, or not from a trusted resolver
  FG_DNSSEC_SECURE,        // AD bit from a trusted validating resolver
  FG_DNSSEC_BOGUS,         // a trusted validating resolver refused it (SERVFAIL)
} fg_dnssec;

// fg_dnssec_name returns "insecure", "secure" or "bogus".
static inline const char *fg_dnssec_name(fg_dnssec s) {
  return s == FG_DNSSEC_SECURE ? "secure" : s == FG_DNSSEC_BOGUS ? "bogus" : "insecure";
}

#endif  // FEDGATE_IO_DNSSEC_H
