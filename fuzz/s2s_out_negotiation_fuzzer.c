// s2s_out_negotiation_fuzzer.c: the initiating side (gateway/s2s/s2s_out.c)
// driven through whole negotiations. Where s2s_out_fuzzer feeds raw bytes,
// this target reads its input as a script: each step either feeds one of the
// pieces a remote server answers with (stream headers with chosen ids and
// versions, features offering STARTTLS, SASL EXTERNAL or dialback, <proceed/>,
// SASL success and failure, db:result and db:verify answers for chosen
// domains and ids, stream errors and close), feeds raw bytes, or makes a call
// the gateway makes (TLS established, a verification question, a stanza,
// close). The first byte picks the configuration (purpose, direct TLS,
// client certificate, plaintext allowed, dialback secret, stream tag).
//
// Besides the sanitizers it checks what the session does:
//   - everything it sends is a well-formed stream for a peer's parser (a new
//     header restarts it), and it sends nothing after reporting failure;
//   - ready at most once, never after failure, never without TLS unless the
//     connection was direct TLS or plaintext is allowed; a SASL <auth/> only
//     over TLS with a client certificate; a <db:result/> only with a secret;
//   - a verification answer only for a question asked, sent and not yet
//     answered; a stanza is taken only when ready for stanzas.
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/dialback_key.h"
#include "fuzz/fuzz_secret.h"
#include "gateway/s2s/s2s_out.h"
#include "gateway/xml/xml_names.h"
#include "fuzz/fuzz_check.h"

#define HDR(attrs) FG_S2S_STREAM_OPEN " from='b.example' to='a.example' " attrs ">"
#define FEAT(x) "<stream:features>" x "</stream:features>"
#define STARTTLS "<starttls xmlns='" FG_NS_TLS "'><required/></starttls>"
#define MECHS(m) "<mechanisms xmlns='" FG_NS_SASL "'>" m "</mechanisms>"
#define DBFEAT "<dialback xmlns='" FG_NS_DIALBACK_FEATURE "'><errors/></dialback>"

// The peer's pieces a step can feed.
static const char *const kPieces[] = {
    HDR("id='s1' version='1.0'"),
    HDR("id='0123456789abcdef0123' version='1.0'"),  // carries the stream tag below
    HDR("version='1.0'"),
    HDR("id='s2' version='0.9'"),
    HDR("id='s3'"),
    FEAT(STARTTLS),
    FEAT(STARTTLS MECHS("<mechanism>EXTERNAL</mechanism>") DBFEAT),
    FEAT(MECHS("<mechanism>EXTERNAL</mechanism><mechanism>PLAIN</mechanism>") DBFEAT),
    FEAT(MECHS("<mechanism>PLAIN</mechanism>")),
    FEAT(DBFEAT),
    FEAT(""),
    "<proceed xmlns='" FG_NS_TLS "'/>",
    "<failure xmlns='" FG_NS_TLS "'/>",
    "<success xmlns='" FG_NS_SASL "'/>",
    "<failure xmlns='" FG_NS_SASL "'><not-authorized/></failure>",
    "<db:result from='b.example' to='a.example' type='valid'/>",
    "<db:result from='B.EXAMPLE.' to='a.example' type='valid'/>",
    "<db:result from='b.example' to='a.example' type='invalid'/>",
    "<db:result from='c.example' to='a.example' type='valid'/>",
    "<db:result from='b.example' to='a.example'/>",
    "<db:verify from='b.example' to='a.example' id='q1' type='valid'/>",
    "<db:verify from='b.example' to='a.example' id='q2' type='invalid'/>",
    "<db:verify from='c.example' to='a.example' id='q1' type='valid'/>",
    "<db:verify from='b.example' to='a.example' id='q1'/>",
    "<stream:error><host-unknown xmlns='" FG_NS_STREAM_ERRORS "'/></stream:error>",
    "<stream:error><text xmlns='" FG_NS_STREAM_ERRORS "'>x</text></stream:error>",
    "<stream:error/>",
    "<message from='b.example' to='a.example'/>",
    "<stream:other/>",
    " ",
    "</stream:stream>",
    "<db:result",
};
#define NUM_PIECES (sizeof(kPieces) / sizeof(kPieces[0]))

static const char *const kDomains[] = {"a.example", "b.example", "c.example", "A.EXAMPLE"};
static const char *const kIds[] = {"q1", "q2", "s1", "x'y", ""};

typedef struct question {
  const char *receiving, *originating, *id;
} question;

typedef struct env {
  fg_s2s_out_config cfg;
  fg_xml_parser *peer;  // parses what the session sends
  int tls, starttls, ready, failed;
  int sent_auth, sent_result;
  question q[64];
  int num_q, num_sent;
} env;

static void op_send(void *arg, const uint8_t *d, size_t n) {
  env *e = arg;
  FUZZ_CHECK(!e->failed);
  if (n >= 5 && memcmp(d, "<?xml", 5) == 0) fg_xml_parser_reset(e->peer);
  if (memmem(d, n, "<auth ", 6) != NULL) {
    FUZZ_CHECK(e->tls && e->cfg.client_cert);
    e->sent_auth = 1;
  }
  if (memmem(d, n, "<db:result ", 11) != NULL) {
    FUZZ_CHECK(e->cfg.dialback_secret != NULL);
    e->sent_result = 1;
  }
  if (memmem(d, n, "<db:verify ", 11) != NULL) e->num_sent = e->num_q;
  size_t off = 0;
  while (off < n) {
    size_t used = 0;
    fg_xml_event ev = fg_xml_parser_feed(e->peer, &used, d + off, n - off);
    off += used;
    if (ev == FG_XML_EVENT_ERROR) {
      fprintf(stderr, "sent malformed XML (%s): %.*s\n",
              fg_xml_error_condition(fg_xml_parser_error(e->peer, NULL)), (int)n, (const char *)d);
    }
    FUZZ_CHECK(ev != FG_XML_EVENT_ERROR);
    if (ev == FG_XML_EVENT_NEED_MORE || ev == FG_XML_EVENT_STREAM_CLOSE) break;
  }
}

static void op_ready(void *arg, int method) {
  env *e = arg;
  FUZZ_CHECK(!e->ready && !e->failed);
  FUZZ_CHECK(e->tls || e->cfg.allow_plaintext);
  if (e->cfg.purpose == FG_S2S_OUT_VERIFY) FUZZ_CHECK(method == 0);
  if (method == FG_S2S_AUTH_SASL_EXTERNAL) FUZZ_CHECK(e->sent_auth);
  if (method == FG_S2S_AUTH_DIALBACK) FUZZ_CHECK(e->sent_result);
  e->ready = 1;
}

static void op_failed(void *arg, const char *c) {
  env *e = arg;
  FUZZ_CHECK(c != NULL && c[0] != 0);
  FUZZ_CHECK(!e->failed);
  e->failed = 1;
}

static void op_answer(void *arg, const char *r, const char *o, const char *id, int valid) {
  env *e = arg;
  (void)valid;
  for (int i = 0; i < e->num_sent; i++) {
    question *q = &e->q[i];
    if (strcmp(q->receiving, r) == 0 && strcmp(q->originating, o) == 0 && strcmp(q->id, id) == 0) {
      e->q[i] = e->q[--e->num_sent];
      e->q[e->num_sent] = e->q[--e->num_q];
      return;
    }
  }
  FUZZ_CHECK(!"an answer to no question asked");
}

static const fg_s2s_out_ops kOps = {op_send, op_ready, op_failed, op_answer, NULL};

static void feed(fg_s2s_out *s, env *e, const uint8_t *d, size_t n) {
  size_t used = 0;
  fg_s2s_out_status st = fg_s2s_out_feed(s, d, n, &used);
  FUZZ_CHECK(used <= n);
  if (st == FG_S2S_OUT_CLOSED) FUZZ_CHECK(e->failed);
  if (st == FG_S2S_OUT_STARTTLS) e->starttls = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t flags = data[0];
  size_t pos = 1;
  env e;
  memset(&e, 0, sizeof(e));
  fg_s2s_out_config_default(&e.cfg);
  e.cfg.local = "a.example";
  e.cfg.remote = "b.example";
  e.cfg.purpose = (flags & 1) ? FG_S2S_OUT_VERIFY : FG_S2S_OUT_STANZAS;
  e.cfg.tls_active = (flags & 2) != 0;
  e.cfg.client_cert = (flags & 4) != 0;
  e.cfg.allow_plaintext = (flags & 8) != 0;
  e.cfg.dialback_secret = (flags & 16) ? fuzz_dialback_secret() : NULL;
  if (flags & 32) {
    e.cfg.stream_tag.set = 1;
    memcpy(e.cfg.stream_tag.bytes, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
  }
  e.tls = e.cfg.tls_active;
  fg_xml_config pc;
  fg_xml_config_default(&pc);
  pc.content_ns = FG_XML_NS_SERVER;
  e.peer = fg_xml_parser_new(&pc);
  fg_s2s_out *s = fg_s2s_out_new(&e.cfg, &kOps, &e);
  if (s == NULL || e.peer == NULL) goto done;
  fg_s2s_out_start(s);
  while (pos < size) {
    uint8_t op = data[pos++];
    uint8_t arg = pos < size ? data[pos] : 0;
    switch (op % 8) {
      case 0:
      case 1:
      case 2: {  // one of the peer's pieces
        const char *p = kPieces[arg % NUM_PIECES];
        pos++;
        feed(s, &e, (const uint8_t *)p, strlen(p));
        break;
      }
      case 3: {  // raw bytes
        size_t n = arg % 64;
        pos++;
        if (n > size - pos) n = size - pos;
        feed(s, &e, data + pos, n);
        pos += n;
        break;
      }
      case 4:
        // The handshake is only run when the session asked for it.
        fg_s2s_out_tls_established(s);
        if (e.starttls && !e.failed) e.tls = 1;
        e.starttls = 0;
        break;
      case 5: {  // a verification question
        pos++;
        question q = {kDomains[arg & 3], kDomains[(arg >> 2) & 3], kIds[(arg >> 4) % 5]};
        int was_ready = e.ready && !e.failed;
        if (fg_s2s_out_verify(s, q.receiving, q.originating, q.id, (const uint8_t *)"k3y", 3)) {
          FUZZ_CHECK(e.num_q < 64);
          e.q[e.num_q++] = q;
          if (was_ready) e.num_sent = e.num_q;
        }
        break;
      }
      case 6: {
        int ok = fg_s2s_out_send_stanza(s, (const uint8_t *)"<message/>", 10, 0);
        FUZZ_CHECK(ok == (e.ready && !e.failed && e.cfg.purpose == FG_S2S_OUT_STANZAS));
        break;
      }
      case 7:
        fg_s2s_out_close(s);
        break;
    }
  }
done:
  fg_s2s_out_free(s);
  fg_xml_parser_free(e.peer);
  return 0;
}
