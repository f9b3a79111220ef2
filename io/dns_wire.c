// dns_wire.c: the DNS message format for io/dns (RFC 1035 §4): builds the
// query for one question and parses the response to it: header, question,
// rcode and TC bit, answer records with their compressed names, CNAME chains,
// SRV (RFC 2782), A and AAAA records, TTLs (RFC 2181 §8). Responses are
// untrusted bytes; glibc's libresolv does the low-level decoding (ns_initparse,
// ns_parserr, dn_expand).
#include "io/dns_wire.h"

#include <arpa/nameser.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int fg_dns_build_query(struct __res_state *res, uint8_t *out, size_t *out_len, size_t max_out,
                       const char *name, uint16_t type) {
  int len = res_nmkquery(res, ns_o_query, name, ns_c_in, type, NULL, 0, NULL, out, (int)max_out);
  if (len < NS_HFIXEDSZ) return 0;
  *out_len = (size_t)len;
  return 1;
}

int fg_dns_add_edns_do(uint8_t *msg, size_t *len, size_t max) {
  static const uint8_t kOpt[11] = {
      0,           // owner: the root
      0,    41,    // type OPT
      0x04, 0xd0,  // class: UDP payload size 1232 (RFC 6891 §6.2.5)
      0,    0,     // extended RCODE, version 0
      0x80, 0,     // flags: DO
      0,    0,     // no options
  };
  if (*len < NS_HFIXEDSZ || *len + sizeof(kOpt) > max || ns_get16(msg + 10) != 0) return 0;
  memcpy(msg + *len, kOpt, sizeof(kOpt));
  *len += sizeof(kOpt);
  ns_put16(1, msg + 10);  // ARCOUNT
  return 1;
}

void fg_dns_rrset_cleanup(fg_dns_rrset *s) {
  free(s->srv);
  free(s->addr);
  if (s->tlsa != NULL) fg_dane_rrset_cleanup(s->tlsa);
  free(s->tlsa);
  memset(s, 0, sizeof(*s));
}

static void add_record(fg_dns_rrset *res, uint16_t qtype, const ns_msg *m, const ns_rr *rr) {
  if (res->n >= FG_DNS_MAX_RECORDS) return;
  const uint8_t *rd = ns_rr_rdata(*rr);
  size_t rdlen = ns_rr_rdlen(*rr);
  if (qtype == FG_DNS_TYPE_TLSA) {
    // A record too short or too long, or beyond FG_DANE_MAX_RECORDS, is
    // skipped; usability (RFC 7671 §4.1) is crypto/dane's to judge.
    if (fg_dane_rrset_add(res->tlsa, rd, rdlen)) res->n++;
  } else if (qtype == ns_t_srv) {
    if (rdlen < 7) return;
    fg_dns_srv *r = &res->srv[res->n];
    r->prio = ns_get16(rd);
    r->weight = ns_get16(rd + 2);
    r->port = ns_get16(rd + 4);
    char t[NS_MAXDNAME];
    int used = dn_expand(ns_msg_base(*m), ns_msg_end(*m), rd + 6, t, sizeof(t));
    if (used < 0 || (size_t)used != rdlen - 6) return;
    r->dot = t[0] == 0 || strcmp(t, ".") == 0;
    // A target that is not a host name (or port 0) cannot be connected to;
    // skip it rather than fail the whole set.
    if (!r->dot && (r->port == 0 || !fg_dns_name_normalize(r->target, t))) return;
    if (r->dot) r->target[0] = 0;
    res->n++;
  } else {
    size_t want = qtype == ns_t_a ? 4 : 16;
    if (rdlen != want) return;
    memset(res->addr[res->n], 0, 16);
    memcpy(res->addr[res->n], rd, want);
    res->n++;
  }
}

// rr_ttl is |rr|'s TTL; RFC 2181 §8: a TTL with the most significant bit set
// counts as 0.
static uint32_t rr_ttl(const ns_rr *rr) {
  uint32_t ttl = ns_rr_ttl(*rr);
  return ttl > INT32_MAX ? 0 : ttl;
}

// parse_records fills |res| from a NOERROR response, following a CNAME chain
// inside the answer section.
static void parse_records(fg_dns_rrset *res, char *why, size_t why_len, ns_msg *m,
                          const char *qname, uint16_t qtype) {
  int an = ns_msg_count(*m, ns_s_an);
  char cur[NS_MAXDNAME];
  snprintf(cur, sizeof(cur), "%s", qname);
  uint32_t ttl = UINT32_MAX;
  ns_rr rr;
  for (int hop = 0; hop < FG_DNS_CNAME_HOPS; hop++) {
    int moved = 0;
    for (int i = 0; i < an && !moved; i++) {
      if (ns_parserr(m, ns_s_an, i, &rr) < 0) break;
      if (ns_rr_class(rr) != ns_c_in || ns_rr_type(rr) != ns_t_cname) continue;
      if (strcasecmp(ns_rr_name(rr), cur) != 0) continue;
      // The alias must fill the RDATA exactly: an empty or short RDATA would
      // otherwise take the next record's bytes as the alias.
      char t[NS_MAXDNAME];
      int used = dn_expand(ns_msg_base(*m), ns_msg_end(*m), ns_rr_rdata(rr), t, sizeof(t));
      if (used < 0 || (size_t)used != ns_rr_rdlen(rr)) continue;
      snprintf(cur, sizeof(cur), "%s", t);
      if (rr_ttl(&rr) < ttl) ttl = rr_ttl(&rr);
      moved = 1;
    }
    if (!moved) break;
  }
  if (qtype == FG_DNS_TYPE_TLSA)
    res->tlsa = calloc(1, sizeof(fg_dane_rrset));
  else if (qtype == ns_t_srv)
    res->srv = calloc(FG_DNS_MAX_RECORDS, sizeof(fg_dns_srv));
  else
    res->addr = calloc(FG_DNS_MAX_RECORDS, 16);
  if (res->srv == NULL && res->addr == NULL && res->tlsa == NULL) {
    res->status = FG_DNS_RS_SERVFAIL;
    snprintf(why, why_len, "out of memory");
    return;
  }
  for (int i = 0; i < an; i++) {
    if (ns_parserr(m, ns_s_an, i, &rr) < 0) break;
    if (ns_rr_class(rr) != ns_c_in || ns_rr_type(rr) != qtype) continue;
    if (strcasecmp(ns_rr_name(rr), cur) != 0) continue;
    size_t before = res->n;
    add_record(res, qtype, m, &rr);
    if (res->n > before && rr_ttl(&rr) < ttl) ttl = rr_ttl(&rr);
  }
  res->status = res->n > 0 ? FG_DNS_RS_OK : FG_DNS_RS_NODATA;
  res->ttl = res->n > 0 ? ttl : 0;
}

static int name_eq(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 0 && a[la - 1] == '.') la--;
  if (lb > 0 && b[lb - 1] == '.') lb--;
  return la == lb && strncasecmp(a, b, la) == 0;
}

fg_dns_answer fg_dns_parse_answer(fg_dns_rrset *out, char *why, size_t why_len, const uint8_t *in,
                                  size_t in_len, uint16_t id, const char *qname, uint16_t qtype) {
  if (in_len < NS_HFIXEDSZ || in_len > 65535) return FG_DNS_ANSWER_IGNORE;
  if (ns_get16(in) != id || !(in[2] & 0x80)) return FG_DNS_ANSWER_IGNORE;
  ns_msg m;
  if (ns_initparse(in, (int)in_len, &m) < 0) {
    snprintf(why, why_len, "malformed response");
    return FG_DNS_ANSWER_SERVER_FAIL;
  }
  // The question must be ours (RFC 5452 §9.1).
  ns_rr qr;
  if (ns_msg_count(m, ns_s_qd) != 1 || ns_parserr(&m, ns_s_qd, 0, &qr) < 0) {
    return FG_DNS_ANSWER_IGNORE;
  }
  if (ns_rr_type(qr) != qtype || ns_rr_class(qr) != ns_c_in || !name_eq(ns_rr_name(qr), qname)) {
    return FG_DNS_ANSWER_IGNORE;
  }
  if (ns_msg_getflag(m, ns_f_tc)) return FG_DNS_ANSWER_TRUNCATED;
  int rcode = ns_msg_getflag(m, ns_f_rcode);
  out->rcode = (uint8_t)rcode;
  out->ad = (uint8_t)ns_msg_getflag(m, ns_f_ad);
  if (rcode == ns_r_nxdomain) {
    out->status = FG_DNS_RS_NXDOMAIN;
    return FG_DNS_ANSWER_DONE;
  }
  if (rcode != ns_r_noerror) {
    snprintf(why, why_len, "%s",
             rcode == ns_r_refused    ? "REFUSED"
             : rcode == ns_r_servfail ? "SERVFAIL"
                                      : "error response");
    return FG_DNS_ANSWER_SERVER_FAIL;
  }
  // An answer record that does not parse (say, a pointer loop in its owner
  // name) makes the message malformed. Reading it as the end of the section
  // would turn a broken answer into NODATA, which is cached and, for SRV,
  // sends the peer to the port 5269 fallback.
  ns_rr rr;
  for (int i = 0; i < ns_msg_count(m, ns_s_an); i++) {
    if (ns_parserr(&m, ns_s_an, i, &rr) < 0) {
      snprintf(why, why_len, "malformed answer record");
      return FG_DNS_ANSWER_SERVER_FAIL;
    }
  }
  parse_records(out, why, why_len, &m, qname, qtype);
  return FG_DNS_ANSWER_DONE;
}
