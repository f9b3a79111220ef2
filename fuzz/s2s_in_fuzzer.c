// s2s_in_fuzzer.c: the inbound s2s state machine (gateway/s2s/s2s_in.c) on
// arbitrary peer bytes. The first input byte chooses the environment (TLS
// active, certificate valid, plaintext allowed, whether dialback answers come
// back valid); the rest is fed in chunks whose sizes the fuzzer also chooses,
// with TLS "established" whenever the session asks for it and the memory of
// a quiet stream given back between chunks (fg_s2s_in_trim). The session must
// never crash, must stop consuming once closed, and must only route stanzas
// whose own addresses (the domainparts of the stanza's 'from' and 'to', not
// what the session says they are) form a pair it authenticated; without TLS,
// only for an exempt domain; with dialback off, never by dialback.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/dialback_key.h"
#include "fuzz/fuzz_secret.h"
#include "gateway/s2s/s2s_in.h"

typedef struct env {
  uint8_t flags;
  int tls;
  int routed_unauthenticated;
  fg_s2s_in *s;
  char pending_from[FG_DOMAIN_MAX + 1], pending_to[FG_DOMAIN_MAX + 1];
  int pending;
} env;

static void op_send(void *arg, const uint8_t *d, size_t n) {
  (void)arg;
  (void)d;
  (void)n;
}
static int op_hosted(void *arg, const char *d) {
  (void)arg;
  return strcmp(d, "b.example") == 0 || strcmp(d, "c.example") == 0;
}
// Plaintext is allowed (flag 4) for a.example only.
static int op_plain(void *arg, const char *p) {
  return (((env *)arg)->flags & 4) != 0 && strcmp(p, "a.example") == 0;
}
static int op_cert(void *arg, const char *d) {
  return (((env *)arg)->flags & 2) != 0 && strcmp(d, "a.example") == 0;
}
static int op_verify(void *arg, const char *o, const char *r, const uint8_t *k, size_t kl,
                     const char *id) {
  env *e = arg;
  (void)k;
  (void)kl;
  (void)id;
  strncpy(e->pending_from, o, FG_DOMAIN_MAX);
  strncpy(e->pending_to, r, FG_DOMAIN_MAX);
  e->pending = 1;
  return (e->flags & 16) == 0;
}
static fg_stanza_condition op_route(void *arg, const fg_xml_element *el, const char *from,
                                    const char *to) {
  env *e = arg;
  char own_from[FG_DOMAIN_MAX + 1], own_to[FG_DOMAIN_MAX + 1];
  if (!fg_jid_domain(own_from, el->from.data, el->from.len) ||
      !fg_jid_domain(own_to, el->to.data, el->to.len) || strcmp(own_from, from) != 0 ||
      strcmp(own_to, to) != 0) {
    e->routed_unauthenticated = 1;  // the session named other domains than the stanza's
  }
  int method = fg_s2s_in_is_authenticated(e->s, own_from, own_to);
  if (!method) e->routed_unauthenticated = 1;
  if (!e->tls && !op_plain(e, own_from)) e->routed_unauthenticated = 1;
  if ((e->flags & 128) && method != FG_S2S_AUTH_SASL_EXTERNAL) e->routed_unauthenticated = 1;
  return (e->flags & 32) ? FG_STANZA_SERVICE_UNAVAILABLE : FG_STANZA_CONDITION_COUNT;
}
static void op_bounce(void *arg, const uint8_t *d, size_t n, const char *l, const char *t) {
  (void)arg;
  (void)d;
  (void)n;
  (void)l;
  (void)t;
}
static const fg_s2s_in_ops kOps = {op_send,   op_hosted, op_plain,  op_cert,
                                   op_verify, op_route,  op_bounce, NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  env e = {0};
  e.flags = data[0];
  uint8_t chunk_seed = data[1];
  data += 2;
  size -= 2;
  fg_s2s_in_config cfg;
  fg_s2s_in_config_default(&cfg);
  cfg.tls_active = e.flags & 1;
  cfg.dialback_secret = (e.flags & 8) ? fuzz_dialback_secret() : NULL;
  cfg.dialback = (e.flags & 128) == 0;
  cfg.sm = 1;    // XEP-0198 offered; <enable/> only counts once authenticated
  cfg.bidi = 1;  // XEP-0288 offered: this side may send back what the checks allow
  cfg.bidi_sm_max_stanzas = 8;
  e.tls = cfg.tls_active;
  e.s = fg_s2s_in_new(&cfg, &kOps, &e);
  if (e.s == NULL) return 0;
  size_t off = 0;
  while (off < size) {
    size_t chunk = 1 + (chunk_seed = (uint8_t)(chunk_seed * 37 + 11)) % 64;
    if (chunk > size - off) chunk = size - off;
    size_t used = 0;
    fg_s2s_in_status st = fg_s2s_in_feed(e.s, data + off, chunk, &used);
    if (used > chunk) abort();
    off += chunk;  // the transport discards what was not used after STARTTLS
    if (st == FG_S2S_IN_STARTTLS) {
      fg_s2s_in_tls_established(e.s);
      e.tls = 1;
    }
    // XEP-0288 §2.2: stanzas go back only for a pair the peer authenticated
    // here, inversed; the unacknowledged ones stay within their bound.
    if (fg_s2s_in_bidi_send(e.s, "b.example", "a.example", (const uint8_t *)"<message/>", 10, 0) &&
        (!fg_s2s_in_is_authenticated(e.s, "a.example", "b.example") ||
         (!e.tls && !op_plain(&e, "a.example")))) {
      abort();
    }
    if (fg_s2s_in_bidi_unacked(e.s, NULL) > 8) abort();
    if (st == FG_S2S_IN_CLOSED) {
      size_t again = 0;
      if (fg_s2s_in_feed(e.s, data, size, &again) != FG_S2S_IN_CLOSED || again != 0) abort();
      break;
    }
    // The stream goes quiet after about one chunk in two: the gateway gives
    // memory back (the parser too, between elements), and the next chunk
    // must find everything as it was.
    if (chunk_seed & 0x80) fg_s2s_in_trim(e.s);
    if (e.pending) {
      e.pending = 0;
      fg_s2s_in_dialback_answer(e.s, e.pending_from, e.pending_to, (e.flags & 64) != 0);
    }
  }
  if (e.routed_unauthenticated) abort();
  fg_s2s_in_free(e.s);
  return 0;
}
