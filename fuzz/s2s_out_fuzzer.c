// s2s_out_fuzzer.c: the outbound s2s state machine (gateway/s2s/s2s_out.c) on
// arbitrary bytes from the remote server. The first byte chooses the setup
// (purpose, TLS active, client certificate, plaintext allowed, dialback); the
// rest arrives in fuzzer-chosen chunks, TLS "established" whenever the
// session asks for it. The session must never crash, never report ready
// twice, and only pass on verification answers for questions it asked.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/dialback_key.h"
#include "fuzz/fuzz_secret.h"
#include "gateway/s2s/s2s_out.h"

typedef struct env {
  int ready, failed, answers;
} env;

static void op_send(void *arg, const uint8_t *d, size_t n) {
  (void)arg;
  (void)d;
  (void)n;
}
static void op_ready(void *arg, int method) {
  (void)method;
  if (((env *)arg)->ready++) abort();
}
static void op_failed(void *arg, const char *c) {
  (void)c;
  ((env *)arg)->failed++;
}
static void op_answer(void *arg, const char *r, const char *o, const char *id, int valid) {
  (void)valid;
  // Only the question asked below may be answered.
  if (strcmp(r, "a.example") || strcmp(o, "b.example") || strcmp(id, "q1")) abort();
  ((env *)arg)->answers++;
}
// op_stanza: XEP-0288 §2.2: only stanzas from the stream's remote domain to
// its local one are ever handed over.
static const char *op_stanza(void *arg, const fg_xml_element *el, const char *from,
                             const char *to) {
  char f[FG_DOMAIN_MAX + 1], t[FG_DOMAIN_MAX + 1];
  (void)arg;
  if (strcmp(from, "b.example") || strcmp(to, "a.example")) abort();
  if (!fg_jid_domain(f, el->from.data, el->from.len) || strcmp(f, from)) abort();
  if (!fg_jid_domain(t, el->to.data, el->to.len) || strcmp(t, to)) abort();
  return NULL;
}
static const fg_s2s_out_ops kOps = {op_send, op_ready, op_failed, op_answer,
                                    NULL,    NULL,     op_stanza, NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  uint8_t flags = data[0], seed = data[1];
  data += 2;
  size -= 2;
  env e = {0};
  fg_s2s_out_config c;
  fg_s2s_out_config_default(&c);
  c.local = "a.example";
  c.remote = "b.example";
  c.purpose = (flags & 1) ? FG_S2S_OUT_VERIFY : FG_S2S_OUT_STANZAS;
  c.tls_active = (flags & 2) != 0;
  c.client_cert = (flags & 4) != 0;
  c.allow_plaintext = (flags & 8) != 0;
  c.dialback_secret = (flags & 16) ? fuzz_dialback_secret() : NULL;
  c.sm = (flags & 64) != 0;  // XEP-0198 when offered: <a/> from the input acks
  c.sm_max_stanzas = 8;
  c.sm_request_every = 2;
  c.bidi = (flags & 128) != 0;  // XEP-0288 when offered: stanzas may come back
  fg_s2s_out *s = fg_s2s_out_new(&c, &kOps, &e);
  if (s == NULL) return 0;
  fg_s2s_out_start(s);
  if (flags & 1) fg_s2s_out_verify(s, "a.example", "b.example", "q1", (const uint8_t *)"k", 1);
  size_t off = 0;
  while (off < size) {
    size_t chunk = 1 + (seed = (uint8_t)(seed * 29 + 7)) % 64;
    if (chunk > size - off) chunk = size - off;
    size_t used = 0;
    fg_s2s_out_status st = fg_s2s_out_feed(s, data + off, chunk, &used);
    if (used > chunk) abort();
    off += chunk;
    if (st == FG_S2S_OUT_STARTTLS) fg_s2s_out_tls_established(s);
    if (st == FG_S2S_OUT_CLOSED) break;
    if (fg_s2s_out_is_ready(s) && (flags & 32) && fg_s2s_out_can_send(s, 10)) {
      fg_s2s_out_send_stanza(s, (const uint8_t *)"<message/>", 10, 0);
    }
    if (fg_s2s_out_unacked(s) > 8) abort();  // the queue stays within its bound
  }
  if (e.answers > 1) abort();
  fg_s2s_out_free(s);
  return 0;
}
