// dns_resolv_diff_fuzzer.c: io/dns_wire's answer parser against a reference
// built here from libresolv's message accessors (ns_initparse, ns_parserr),
// its RR printer (ns_sprintrr, which decodes RDATA by type) and its name
// functions (ns_samename, ns_name_skip), on the same response.
//
// Input: the response; its first two bytes are the transaction ID asked
// with, so the fuzzer does not have to guess it. Each input is tried as the
// answer to SRV _xmpp-server._tcp.example.com, A xmpp.example.com and AAAA
// xmpp.example.com. The reference classifies the message (not ours, truncated,
// NXDOMAIN, server failure or malformed, answered) and for an answered one
// lists the answers: the answer-section records of class IN and the queried
// type owned by the queried name or by the end of the CNAME chain from it
// (RFC 1034 §4.3.2), their RDATA as ns_sprintrr prints it (SRV priority,
// weight, port and target; A and AAAA addresses) and the smallest TTL of the
// records and CNAMEs used, a TTL above 2^31-1 counting as 0 (RFC 2181 §8).
// Both must classify the message alike, and for an answered one report the
// same records in the same order with the same TTL.
//
// fedgate's documented choices are applied to the reference's list rather
// than relaxing the comparison: at most FG_DNS_MAX_RECORDS records and
// FG_DNS_CNAME_HOPS hops; an SRV target must be a host name
// (fg_dns_name_normalize) with a non-zero port, or "."; a name in RDATA
// (SRV target, CNAME alias) must end exactly where the RDATA does.
// Seeds: fuzz/corpus/dns_resolv_diff_fuzzer/ (those of dns_answer_fuzzer).
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/dns_name.h"
#include "io/dns_wire.h"
#include "fuzz/fuzz_check.h"

typedef struct ref_rec {
  uint16_t prio, weight, port;
  int dot;
  char target[FG_DNS_NAME_MAX + 1];
  uint8_t addr[16];
} ref_rec;

typedef struct ref {
  fg_dns_answer verdict;
  fg_dns_rstatus status;
  uint32_t ttl;
  size_t n;
  ref_rec rec[FG_DNS_MAX_RECORDS];
} ref;

// rdata_name_exact reports whether the RDATA of |rr| holds one name starting
// |skip| bytes in and ending exactly at its end.
static int rdata_name_exact(const ns_rr *rr, size_t skip) {
  const uint8_t *p = ns_rr_rdata(*rr) + skip, *end = ns_rr_rdata(*rr) + ns_rr_rdlen(*rr);
  if (ns_rr_rdlen(*rr) <= skip) return 0;
  return ns_name_skip(&p, end) == 0 && p == end;
}

// rdata_text prints |rr| with ns_sprintrr and returns its RDATA part: the
// words after the type mnemonic |type| (NULL if it does not print so).
static const char *rdata_text(ns_msg *m, const ns_rr *rr, const char *type, char *buf, size_t len) {
  if (ns_sprintrr(m, rr, NULL, NULL, buf, len) < 0) return NULL;
  // owner, TTL, class, type, RDATA (tabs and spaces between).
  char *p = buf;
  for (int field = 0; field < 3; field++) {
    p += strcspn(p, " \t");
    p += strspn(p, " \t");
  }
  size_t tl = strlen(type);
  if (strncmp(p, type, tl) != 0 || (p[tl] != ' ' && p[tl] != '\t')) return NULL;
  p += tl;
  return p + strspn(p, " \t");
}

static uint32_t ttl_of(const ns_rr *rr) {
  uint32_t t = ns_rr_ttl(*rr);
  return t > 0x7fffffffu ? 0 : t;
}

// ref_rr adds |rr| (of the queried type) to |r| if its RDATA decodes.
static void ref_rr(ref *r, ns_msg *m, const ns_rr *rr, uint16_t qtype, uint32_t *ttl) {
  char text[4096];
  ref_rec x;
  memset(&x, 0, sizeof(x));
  if (qtype == ns_t_srv) {
    const char *t = rdata_text(m, rr, "SRV", text, sizeof(text));
    if (t == NULL || !rdata_name_exact(rr, 6)) return;
    unsigned prio, weight, port;
    char target[NS_MAXDNAME + 8];
    if (sscanf(t, "%u %u %u %1030s", &prio, &weight, &port, target) != 4) return;
    x.prio = (uint16_t)prio;
    x.weight = (uint16_t)weight;
    x.port = (uint16_t)port;
    size_t tl = strlen(target);
    if (strcmp(target, ".") == 0) {
      x.dot = 1;
    } else {
      if (tl > 0 && target[tl - 1] == '.') target[tl - 1] = 0;
      if (port == 0 || !fg_dns_name_normalize(x.target, target)) return;
    }
  } else {
    const char *t = rdata_text(m, rr, qtype == ns_t_a ? "A" : "AAAA", text, sizeof(text));
    if (t == NULL) return;
    char a[64];
    if (sscanf(t, "%63s", a) != 1) return;
    if (inet_pton(qtype == ns_t_a ? AF_INET : AF_INET6, a, x.addr) != 1) return;
  }
  if (r->n >= FG_DNS_MAX_RECORDS) return;
  r->rec[r->n++] = x;
  if (ttl_of(rr) < *ttl) *ttl = ttl_of(rr);
}

static void reference(ref *r, const uint8_t *in, size_t len, uint16_t id, const char *qname,
                      uint16_t qtype) {
  memset(r, 0, sizeof(*r));
  r->verdict = FG_DNS_ANSWER_IGNORE;
  if (len < NS_HFIXEDSZ || len > 65535) return;
  if (ns_get16(in) != id || !(in[2] & 0x80)) return;
  ns_msg m;
  if (ns_initparse(in, (int)len, &m) < 0) {
    r->verdict = FG_DNS_ANSWER_SERVER_FAIL;
    return;
  }
  ns_rr q;
  if (ns_msg_count(m, ns_s_qd) != 1 || ns_parserr(&m, ns_s_qd, 0, &q) < 0) return;
  if (ns_rr_type(q) != qtype || ns_rr_class(q) != ns_c_in || ns_samename(ns_rr_name(q), qname) != 1)
    return;
  if (ns_msg_getflag(m, ns_f_tc)) {
    r->verdict = FG_DNS_ANSWER_TRUNCATED;
    return;
  }
  int rcode = ns_msg_getflag(m, ns_f_rcode);
  if (rcode == ns_r_nxdomain) {
    r->verdict = FG_DNS_ANSWER_DONE;
    r->status = FG_DNS_RS_NXDOMAIN;
    return;
  }
  int an = ns_msg_count(m, ns_s_an);
  ns_rr rr;
  if (rcode != ns_r_noerror) {
    r->verdict = FG_DNS_ANSWER_SERVER_FAIL;
    return;
  }
  for (int i = 0; i < an; i++) {
    if (ns_parserr(&m, ns_s_an, i, &rr) < 0) {
      r->verdict = FG_DNS_ANSWER_SERVER_FAIL;
      return;
    }
  }
  r->verdict = FG_DNS_ANSWER_DONE;
  // The CNAME chain: the first usable CNAME owned by the current name.
  char cur[NS_MAXDNAME + 8];
  snprintf(cur, sizeof(cur), "%s", qname);
  uint32_t ttl = UINT32_MAX;
  for (int hop = 0; hop < FG_DNS_CNAME_HOPS; hop++) {
    int moved = 0;
    for (int i = 0; i < an && !moved; i++) {
      ns_parserr(&m, ns_s_an, i, &rr);
      if (ns_rr_class(rr) != ns_c_in || ns_rr_type(rr) != ns_t_cname) continue;
      if (ns_samename(ns_rr_name(rr), cur) != 1 || !rdata_name_exact(&rr, 0)) continue;
      char text[4096];
      const char *t = rdata_text(&m, &rr, "CNAME", text, sizeof(text));
      if (t == NULL || sscanf(t, "%1030s", cur) != 1) continue;
      if (ttl_of(&rr) < ttl) ttl = ttl_of(&rr);
      moved = 1;
    }
    if (!moved) break;
  }
  for (int i = 0; i < an; i++) {
    ns_parserr(&m, ns_s_an, i, &rr);
    if (ns_rr_class(rr) != ns_c_in || ns_rr_type(rr) != qtype) continue;
    if (ns_samename(ns_rr_name(rr), cur) != 1) continue;
    ref_rr(r, &m, &rr, qtype, &ttl);
  }
  r->status = r->n > 0 ? FG_DNS_RS_OK : FG_DNS_RS_NODATA;
  r->ttl = r->n > 0 ? ttl : 0;
}

static void one(const uint8_t *data, size_t size, uint16_t id, const char *qname, uint16_t qtype) {
  ref r;
  reference(&r, data, size, id, qname, qtype);
  fg_dns_rrset rs;
  memset(&rs, 0, sizeof(rs));
  char why[96];
  fg_dns_answer a = fg_dns_parse_answer(&rs, why, sizeof(why), data, size, id, qname, qtype);
  if (a != r.verdict) fprintf(stderr, "verdict: fedgate %d, reference %d\n", a, r.verdict);
  FUZZ_CHECK(a == r.verdict);
  if (a == FG_DNS_ANSWER_DONE) {
    if (rs.status != r.status || rs.n != r.n || rs.ttl != r.ttl)
      fprintf(stderr, "%s: status %d/%d, records %zu/%zu, ttl %u/%u (fedgate/reference)\n", qname,
              rs.status, r.status, rs.n, r.n, rs.ttl, r.ttl);
    FUZZ_CHECK(rs.status == r.status);
    FUZZ_CHECK(rs.n == r.n);
    FUZZ_CHECK(rs.ttl == r.ttl);
    for (size_t i = 0; i < rs.n; i++) {
      if (qtype == ns_t_srv) {
        const fg_dns_srv *s = &rs.srv[i];
        const ref_rec *x = &r.rec[i];
        FUZZ_CHECK(s->prio == x->prio && s->weight == x->weight && s->port == x->port);
        FUZZ_CHECK(s->dot == x->dot);
        FUZZ_CHECK(strcmp(s->target, x->target) == 0);
      } else {
        FUZZ_CHECK(memcmp(rs.addr[i], r.rec[i].addr, 16) == 0);
      }
    }
  }
  fg_dns_rrset_cleanup(&rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint16_t id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0x1234;
  one(data, size, id, "_xmpp-server._tcp.example.com", ns_t_srv);
  one(data, size, id, "xmpp.example.com", ns_t_a);
  one(data, size, id, "xmpp.example.com", ns_t_aaaa);
  return 0;
}
