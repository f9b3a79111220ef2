// s2s_out.h: one outbound server-to-server stream, initiating side (RFC 6120
// §4-§6, XEP-0178 SASL EXTERNAL, XEP-0220 dialback with XEP-0185 keys).
//
// Sans-I/O like gateway/s2s/s2s_in.h: fed the plaintext the peer sends, it
// answers through an operations table. fedgate opens such streams to the
// internal servers (the internal hop, carrying stanzas of authenticated remote
// domains), to remote servers, and to authoritative servers to ask dialback
// verification questions (XEP-0220 §2.3).
//
//   start → header → features → STARTTLS (feed returns FG_S2S_OUT_STARTTLS:
//   the caller runs the client handshake, then fg_s2s_out_tls_established)
//   → header → features → SASL EXTERNAL when offered and we hold a
//   certificate, else dialback → ops->ready: stanzas may flow.
#ifndef FEDGATE_GATEWAY_S2S_OUT_H
#define FEDGATE_GATEWAY_S2S_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/dialback_key.h"
#include "gateway/s2s/jid.h"
#include "gateway/s2s/pair_set.h"
#include "gateway/s2s/s2s_in.h"
#include "gateway/s2s/sm.h"
#include "gateway/xml/xml_parser.h"

typedef struct fg_s2s_out fg_s2s_out;

typedef enum fg_s2s_out_purpose {
  FG_S2S_OUT_STANZAS = 0,  // authenticate local→remote, then carry stanzas
  FG_S2S_OUT_VERIFY,       // only ask db:verify questions (no authentication)
} fg_s2s_out_purpose;

typedef struct fg_s2s_out_ops {
  void (*send)(void *arg, const uint8_t *data, size_t len);
  // ready: the stream is authenticated (or, for FG_S2S_OUT_VERIFY, able to
  // carry questions). |method| is an fg_s2s_auth_method (0 for VERIFY).
  void (*ready)(void *arg, int method);
  // failed: the stream will not become (or stay) usable. |condition| is the
  // remote stream error condition, or one of "tls-unavailable",
  // "auth-failed", "dialback-invalid", "closed", "protocol", "loop".
  void (*failed)(void *arg, const char *condition);
  // verify_answer: the answer to a question asked with fg_s2s_out_verify on
  // this very stream (answers matching no question are dropped and counted).
  void (*verify_answer)(void *arg, const char *receiving, const char *originating,
                        const char *stream_id, int valid);
  // acked: the peer acknowledged |it| (XEP-0198), the oldest unacknowledged
  // stanza; called once per stanza, in order. NULL: not told.
  void (*acked)(void *arg, const fg_sm_item *it);
  // resumed: the peer resumed the stream named by sm_previd (XEP-0198 §5)
  // and had handled |h| of its stanzas: the caller drops those it still
  // holds and sends the rest first. Called before ops->ready. NULL: never.
  void (*resumed)(void *arg, uint32_t h);
  // stanza: on a bidirectional stream (XEP-0288), a stanza the peer sent
  // back, its addresses already checked: from |from_domain| (the stream's
  // remote) to |to_domain| (its local). The callee routes it or bounces it
  // and returns NULL, or returns the RFC 6120 §4.9.3 stream error condition
  // that ends the stream (the peer may not send it at all). NULL op: bidi
  // is never requested.
  const char *(*stanza)(void *arg, const fg_xml_element *el, const char *from_domain,
                        const char *to_domain);
  // refused: a stanza the peer sent back was refused by the rules of
  // gateway/s2s/bidi.h (or came before authentication): the stream ends
  // with the stream error |condition|. NULL: not told.
  void (*refused)(void *arg, const fg_xml_element *el, const char *condition);
  // pair_answer: the peer's answer to fg_s2s_out_add_pair for (from, to):
  // |condition| NULL when valid, else "invalid" or the dialback error's
  // condition (XEP-0220 §2.4). NULL: never called.
  void (*pair_answer)(void *arg, const char *from, const char *to, const char *condition);
} fg_s2s_out_ops;

typedef struct fg_s2s_out_config {
  const char *local;   // our domain: the stream's 'from' (originating)
  const char *remote;  // the peer's domain: the stream's 'to' (receiving)
  fg_s2s_out_purpose purpose;
  int tls_active;                             // direct TLS: the connection is already secure
  int allow_plaintext;                        // go on without TLS when the peer offers none
  int client_cert;                            // we present a certificate for |local|: try EXTERNAL
  const fg_dialback_secret *dialback_secret;  // NULL: no dialback
  // stream_tag: this gateway's stream id tag (fg_stream_tag in s2s_in.h). A
  // peer header whose id carries it means the stream reached the gateway
  // itself: it fails with "loop" before anything else is sent.
  fg_stream_tag stream_tag;
  fg_xml_limits limits;
  // sm: enable XEP-0198 when the peer offers it (FG_S2S_OUT_STANZAS only):
  // <enable/> is sent once authenticated and answered before ops->ready.
  // Every stanza written is then kept until the peer acknowledges it, at
  // most sm_max_stanzas / sm_max_bytes (0: unbounded); an <r/> goes out
  // after every sm_request_every stanzas (0: only fg_s2s_out_request_ack).
  int sm;
  size_t sm_max_stanzas, sm_max_bytes;
  unsigned sm_request_every;
  // sm_resume: ask for a resumable stream (<enable resume='true'/>).
  int sm_resume;
  // sm_previd: resume this ended stream instead of enabling anew (when the
  // peer refuses, XEP-0198 is enabled anew). NULL or "": none.
  const char *sm_previd;
  // sm_previd_h: on a bidirectional stream (XEP-0288), how many stanzas the
  // peer sent back on the stream sm_previd names that this side handled
  // (fg_s2s_out_reverse_h of it): the h of <resume/> (XEP-0198 §5), from
  // which counting goes on once resumed.
  uint32_t sm_previd_h;
  // bidi: when the peer offers XEP-0288 (and ops->stanza is set), send
  // <bidi xmlns='urn:xmpp:bidi'/> before authenticating (§2.2), then accept
  // stanzas from |remote| to |local| on the stream (FG_S2S_OUT_STANZAS only).
  int bidi;
  // max_pairs: domain pairs the stream may carry besides its own
  // (XEP-0220 §4.3, fg_s2s_out_add_pair). 0: none.
  size_t max_pairs;
} fg_s2s_out_config;

// fg_s2s_out_config_default zeroes |cfg| and sets default limits.
void fg_s2s_out_config_default(fg_s2s_out_config *cfg);

// fg_s2s_out_new returns a stream (nothing is sent yet), or NULL.
fg_s2s_out *fg_s2s_out_new(const fg_s2s_out_config *cfg, const fg_s2s_out_ops *ops, void *arg);
void fg_s2s_out_free(fg_s2s_out *s);

// fg_s2s_out_start sends the initial stream header.
void fg_s2s_out_start(fg_s2s_out *s);

typedef enum fg_s2s_out_status {
  FG_S2S_OUT_CONTINUE = 0,
  FG_S2S_OUT_STARTTLS,  // <proceed/> received: start the client handshake
  FG_S2S_OUT_CLOSED,
} fg_s2s_out_status;

fg_s2s_out_status fg_s2s_out_feed(fg_s2s_out *s, const uint8_t *in, size_t in_len,
                                  size_t *out_used);

// fg_s2s_out_tls_established restarts the stream over TLS (RFC 6120 §5.4.3.3).
void fg_s2s_out_tls_established(fg_s2s_out *s);

// fg_s2s_out_can_send returns 1 when a stanza of |len| bytes may be written
// now: the stream is ready and, with XEP-0198, the unacknowledged stanzas
// leave room for it.
int fg_s2s_out_can_send(const fg_s2s_out *s, size_t len);

// fg_s2s_out_send_stanza writes a serialized stanza; only once ready. With
// XEP-0198 a copy is kept (tagged |tag|) until acknowledged. It returns 1, or
// 0 when the stream is not ready.
int fg_s2s_out_send_stanza(fg_s2s_out *s, const uint8_t *data, size_t len, int tag);

// fg_s2s_out_request_ack sends <r/> (XEP-0198 §4) when stanzas are
// unacknowledged. It returns how many are.
size_t fg_s2s_out_request_ack(fg_s2s_out *s);

// fg_s2s_out_sm_enabled returns 1 when XEP-0198 is on for this stream.
int fg_s2s_out_sm_enabled(const fg_s2s_out *s);

// fg_s2s_out_sm_id returns the resume id the peer gave the stream ("":
// not resumable).
const char *fg_s2s_out_sm_id(const fg_s2s_out *s);

// fg_s2s_out_reverse_h returns how many stanzas the peer sent back on the
// bidirectional stream this side handled (XEP-0198 §4, §5), counted since
// <enable/> and across resumptions.
uint32_t fg_s2s_out_reverse_h(const fg_s2s_out *s);

// fg_s2s_out_sm_acked returns the peer's last h (XEP-0198 §4).
uint32_t fg_s2s_out_sm_acked(const fg_s2s_out *s);

// fg_s2s_out_unacked returns the number of stanzas written and not yet
// acknowledged (0 without XEP-0198).
size_t fg_s2s_out_unacked(const fg_s2s_out *s);

// fg_s2s_out_take_unacked hands the unacknowledged stanzas (oldest first)
// to the caller, who frees each with free(): the stream died and they go
// out again elsewhere, or are bounced.
fg_sm_item *fg_s2s_out_take_unacked(fg_s2s_out *s);

// fg_s2s_out_verify asks (XEP-0220 §2.3.1) whether |key| is valid for
// (receiving, originating, stream_id). Questions asked before the stream is
// ready are held and sent when it is. It returns 1, or 0 when too many are
// pending.
int fg_s2s_out_verify(fg_s2s_out *s, const char *receiving, const char *originating,
                      const char *stream_id, const uint8_t *key, size_t key_len);

// fg_s2s_out_can_multiplex returns 1 when fg_s2s_out_add_pair may be
// called: the stream is ready and carries stanzas, its peer offered
// dialback (XEP-0220 §2.1) or authenticated it with dialback, we hold a
// dialback secret, and fewer than max_pairs further pairs are on it.
int fg_s2s_out_can_multiplex(const fg_s2s_out *s);

// fg_s2s_out_add_pair asks the peer (XEP-0220 §4.3) to accept stanzas from
// |from| (one of our domains) to |to| (a domain the peer serves) on this
// stream: a db:result with the key for this stream's id. The answer comes
// through ops->pair_answer. It returns 1, or 0 when the stream cannot take
// the pair (fg_s2s_out_can_multiplex, or already asked).
int fg_s2s_out_add_pair(fg_s2s_out *s, const char *from, const char *to);

// fg_s2s_out_pair_state returns where (from, to) stands on this stream:
// the stream's own pair is valid once ready.
fg_pair_state fg_s2s_out_pair_state(const fg_s2s_out *s, const char *from, const char *to);

// fg_s2s_out_pairs returns the number of pairs the stream carries or asked
// for, its own included.
size_t fg_s2s_out_pairs(const fg_s2s_out *s);

// fg_s2s_out_close ends the stream (RFC 6120 §4.4) at once.
void fg_s2s_out_close(fg_s2s_out *s);

// fg_s2s_out_end closes a ready stream the RFC 6120 §4.4 way: our
// </stream:stream> goes out, nothing more is sent, and the stream fails with
// "closed" only when the peer's closing tag arrives (fg_s2s_out_feed). With
// stanzas still unacknowledged (XEP-0198) an <r/> goes before the closing
// tag, so that the peer's last <a/> counts. A stream that is not ready is
// closed at once (fg_s2s_out_close).
void fg_s2s_out_end(fg_s2s_out *s);

// fg_s2s_out_is_ready returns the authentication method once ready, else 0.
int fg_s2s_out_is_ready(const fg_s2s_out *s);

// fg_s2s_out_bidi returns 1 when this side made the stream bidirectional
// (XEP-0288 §2.2).
int fg_s2s_out_bidi(const fg_s2s_out *s);

// fg_s2s_out_stream_id returns the id the peer gave the stream ("" before).
const char *fg_s2s_out_stream_id(const fg_s2s_out *s);

// fg_s2s_out_headers counts the peer's stream headers received so far: the
// context and language below change only when it does.
uint32_t fg_s2s_out_headers(const fg_s2s_out *s);

// fg_s2s_out_context returns the namespace declarations in scope from the
// peer's current stream header (what fg_xml_element.canonical and
// .forwardable of the stanzas it sends back are relative to), and
// fg_s2s_out_lang its xml:lang (absent when none); valid until the next
// fg_s2s_out_feed.
const fg_xml_nsdecl *fg_s2s_out_context(const fg_s2s_out *s, size_t *out_len);
fg_xml_str fg_s2s_out_lang(const fg_s2s_out *s);

#endif  // FEDGATE_GATEWAY_S2S_OUT_H
