// s2s_in.h: one inbound server-to-server stream, receiving side (RFC 6120
// §4-§8, XEP-0178 SASL EXTERNAL, XEP-0220 dialback with XEP-0185 keys and the
// XEP-0344 shortcut).
//
// The session is sans-I/O: it is fed the plaintext bytes of the stream and
// answers through an operations table (send bytes, route a stanza, start a
// dialback verification, ...). The transport (io/, crypto/tls) owns sockets
// and TLS; tests drive the session with strings alone.
//
// Life of a stream:
//   header → features (STARTTLS, required unless the peer may use plaintext)
//   → <starttls/> → feed returns FG_S2S_IN_STARTTLS: the caller discards every
//     byte after it (RFC 6120 §5.4.3.3) and runs the TLS handshake, then calls
//     fg_s2s_in_tls_established
//   → header → features (SASL EXTERNAL when the peer's certificate is valid for
//     the stream's 'from'; dialback with <errors/>) → SASL success and restart,
//     or dialback per domain pair → stanzas, each authorised and routed.
#ifndef FEDGATE_GATEWAY_S2S_IN_H
#define FEDGATE_GATEWAY_S2S_IN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/dialback_key.h"
#include "gateway/s2s/bounce.h"
#include "gateway/s2s/jid.h"
#include "gateway/s2s/sm.h"
#include "gateway/xml/xml_parser.h"

typedef struct fg_s2s_in fg_s2s_in;

// FG_STREAM_TAG_LEN: bytes of the gateway's own tag that start, hex-encoded,
// every stream id it issues (fg_s2s_in_config.stream_tag). An outbound stream
// whose peer answers with an id carrying the tag has reached this gateway (or
// an instance sharing its tag) again: a routing loop (fg_s2s_out_config).
#define FG_STREAM_TAG_LEN 6

// FG_STREAM_ID_LEN: characters of the stream ids this side issues: the tag
// (12 hex digits) and 112 random bits (28 hex digits), unpredictable as
// dialback keys need (XEP-0185 §3).
#define FG_STREAM_ID_LEN 40

typedef struct fg_stream_tag {
  int set;
  uint8_t bytes[FG_STREAM_TAG_LEN];
} fg_stream_tag;

// fg_stream_tag_matches returns 1 when the stream id |id| (|id_len| bytes)
// starts with |tag| in lowercase hex.
int fg_stream_tag_matches(const fg_stream_tag *tag, const uint8_t *id, size_t id_len);

// fg_s2s_auth_method is how a domain pair was authenticated.
typedef enum fg_s2s_auth_method {
  FG_S2S_AUTH_SASL_EXTERNAL = 1,  // XEP-0178
  FG_S2S_AUTH_DIALBACK,           // XEP-0220 with a verify round trip
  FG_S2S_AUTH_DIALBACK_CERT,      // XEP-0344: dialback accepted on the certificate
} fg_s2s_auth_method;

// fg_s2s_in_event names what the session reports to the operator (one counter
// and, for errors, one log line each).
typedef enum fg_s2s_in_event {
  FG_S2S_IN_EV_AUTHENTICATED = 0,     // detail: the method
  FG_S2S_IN_EV_STREAM_ERROR_SENT,     // detail: the condition
  FG_S2S_IN_EV_DIALBACK_INVALID,      // a db:result was answered invalid
  FG_S2S_IN_EV_DIALBACK_UNSOLICITED,  // a verify answer nobody asked for
  FG_S2S_IN_EV_SASL_FAILURE,          // detail: the SASL condition
  FG_S2S_IN_EV_STANZA_ROUTED,
  FG_S2S_IN_EV_STANZA_BOUNCED,            // detail: the stanza error condition
  FG_S2S_IN_EV_STANZA_DROPPED,            // undeliverable and not bounceable (detail: why)
  FG_S2S_IN_EV_PEER_STREAM_ERROR,         // the peer closed with a stream error (detail: condition)
  FG_S2S_IN_EV_DIALBACK_VERIFY_ANSWERED,  // as authoritative server (detail: valid/invalid)
  FG_S2S_IN_EV_DIALBACK_REFUSED,          // a db:result refused by policy (detail: why)
  FG_S2S_IN_EV_SM_ENABLED,                // XEP-0198 enabled by the peer
  FG_S2S_IN_EV_SM_REFUSED,                // <enable/> answered <failed/> (detail: condition)
  FG_S2S_IN_EV_SM_ACK_SENT,               // <a/> answered an <r/>
  FG_S2S_IN_EV_SM_RESUMED,                // a stream resumed (detail: its id)
  FG_S2S_IN_EV_BIDI_ENABLED,              // the peer made the stream bidirectional (XEP-0288)
  // A resumed stream took what the ended one wrote back unacknowledged
  // (XEP-0198 §5; detail: how many the peer had not handled). On a
  // bidirectional stream they were written again; otherwise they wait for
  // fg_s2s_in_bidi_take_unacked.
  FG_S2S_IN_EV_SM_SENT_BACK_AGAIN,
  FG_S2S_IN_EV_COUNT,
} fg_s2s_in_event;

// fg_s2s_in_ops connects a session to the rest of the gateway. Every function
// is called on the session's worker thread.
typedef struct fg_s2s_in_ops {
  // send queues bytes for the peer, in order.
  void (*send)(void *arg, const uint8_t *data, size_t len);
  // is_hosted says whether |domain| (normalised) is served behind fedgate.
  int (*is_hosted)(void *arg, const char *domain);
  // plaintext_allowed says whether |peer| (normalised, may be "" when the
  // header had no 'from') may skip TLS. NULL: nobody may.
  int (*plaintext_allowed)(void *arg, const char *peer);
  // cert_valid_for says whether the peer's certificate chain is valid and
  // its identity matches |domain| (RFC 6120 §13.7.2 for s2s). NULL: never.
  int (*cert_valid_for)(void *arg, const char *domain);
  // dialback_verify asks |originating|'s authoritative server whether |key|
  // is valid for (receiving, originating, stream_id) (XEP-0220 §2.3). The
  // answer comes back through fg_s2s_in_dialback_answer. It returns 1 when
  // the question is on its way, 0 when it cannot be asked (then the pair is
  // answered with a dialback error remote-server-not-found).
  int (*dialback_verify)(void *arg, const char *originating, const char *receiving,
                         const uint8_t *key, size_t key_len, const char *stream_id);
  // route delivers a stanza from the authenticated |from_domain| to the
  // hosted |to_domain|: the stream's own copies of its domain pair, the
  // same storage for every stanza of the pair while the stream lives. It
  // returns FG_STANZA_CONDITION_COUNT when the stanza was accepted for
  // delivery, or the condition to bounce it with.
  fg_stanza_condition (*route)(void *arg, const fg_xml_element *el, const char *from_domain,
                               const char *to_domain);
  // bounce sends |error_stanza| (built here, addressed back to the sender)
  // from our |local_domain| towards the sender's |to_domain|; s2s streams are
  // one-way (RFC 6120 §4.5), so it cannot go back on this stream. NULL:
  // bounces are counted, not sent.
  void (*bounce)(void *arg, const uint8_t *error_stanza, size_t len, const char *local_domain,
                 const char *to_domain);
  // event reports an operator-visible event. |domain| and |detail| may be "".
  void (*event)(void *arg, fg_s2s_in_event ev, const char *domain, const char *detail);
  // hold_features is asked, for a stream header over TLS naming |peer|
  // before SASL succeeded, whether the features must wait: it returns 1
  // when the gateway first looks something up about |peer| (its POSH
  // document), then calls fg_s2s_in_send_features. NULL: never.
  int (*hold_features)(void *arg, const char *peer);
  // peer_refused says whether |domain| (normalised), named by the peer in a
  // stream header or a dialback request, may not federate here (a block
  // list, a closed federation), writing why to |why| (|why_len| bytes). The
  // stream is then closed with policy-violation before it authenticates.
  // NULL: no domain is refused.
  int (*peer_refused)(void *arg, const char *domain, char *why, size_t why_len);
  // sm_open registers the resume id |id| of this stream (XEP-0198 §5); it
  // returns 1 when the stream may be resumed later. NULL: never resumable.
  int (*sm_open)(void *arg, const char *id);
  // sm_resume takes the ended stream |id| of this stream's peer for this
  // stream: it returns 1 and its count of handled stanzas in |*out_h|, or 0.
  // On a bidirectional stream, |*out_sent_back| receives what this side
  // wrote back on it and the peer did not acknowledge (oldest first, owned
  // by the caller; NULL: none) and |*out_acked| the peer's count those
  // follow (XEP-0198 §5).
  int (*sm_resume)(void *arg, const char *id, uint32_t *out_h, fg_sm_item **out_sent_back,
                   uint32_t *out_acked);
  // bidi_acked: the peer acknowledged |it|, a stanza this side wrote on the
  // bidirectional stream (XEP-0198 §4), oldest first. NULL: not told.
  void (*bidi_acked)(void *arg, const fg_sm_item *it);
} fg_s2s_in_ops;

typedef struct fg_s2s_in_config {
  fg_xml_limits limits;  // fg_xml_limits_default unless set
  // tls_active: the stream starts on a TLS connection (direct TLS, XEP-0368).
  int tls_active;
  // tls_required: STARTTLS is mandatory-to-negotiate (the default: 1).
  int tls_required;
  // dialback_secret: for answering db:verify (authoritative role). NULL: every
  // db:verify is answered invalid.
  const fg_dialback_secret *dialback_secret;
  // dialback: offer and accept XEP-0220 dialback (default 1). With 0 the
  // dialback stream feature is not offered and every db:result is answered
  // with the dialback error not-authorized (XEP-0220 §2.4).
  int dialback;
  // stream_tag: the gateway's tag at the start of every stream id (loop
  // detection); unset: the ids are random throughout.
  fg_stream_tag stream_tag;
  // sasl_retries: failed SASL attempts allowed before the stream is closed
  // (RFC 6120 §6.4.5 asks for 2 to 5). Default 2.
  int sasl_retries;
  // max_domain_pairs: authenticated or pending pairs per stream. Default 64.
  int max_domain_pairs;
  // sm: offer XEP-0198 stream management (over TLS, or to a plaintext
  // peer) and accept <enable/> once a pair is authenticated. Default 0.
  int sm;
  // sm_resume_s: how long an ended stream may be resumed (XEP-0198 §5, the
  // 'max' of <enabled/>); 0: resumption is not offered.
  unsigned sm_resume_s;
  // bidi: offer XEP-0288 bidirectional streams (once the stream is secured,
  // or to a plaintext peer) and accept <bidi xmlns='urn:xmpp:bidi'/>. Default 0.
  int bidi;
  // bidi_sm_request_every: on a bidirectional stream with XEP-0198 on, the
  // stanzas this side writes are kept until the peer acknowledges them; an
  // <r/> follows every write while none is unanswered, and after this many
  // stanzas otherwise (default 16).
  unsigned bidi_sm_request_every;
  // bidi_sm_max_stanzas, bidi_sm_max_bytes: at most this many unacknowledged
  // stanzas (and bytes) on it; beyond, fg_s2s_in_bidi_may_send says no (0:
  // unbounded).
  size_t bidi_sm_max_stanzas, bidi_sm_max_bytes;
} fg_s2s_in_config;

// fg_s2s_in_config_default fills |cfg| with the defaults above.
void fg_s2s_in_config_default(fg_s2s_in_config *cfg);

// fg_s2s_in_new returns a session for one accepted connection, or NULL when
// out of memory. |ops| must outlive it.
fg_s2s_in *fg_s2s_in_new(const fg_s2s_in_config *cfg, const fg_s2s_in_ops *ops, void *arg);

// fg_s2s_in_trim returns the parser's reusable buffers (fg_xml_parser_trim):
// call it between fg_s2s_in_feed calls on a stream that went quiet. Between
// two elements of an open stream it gives the parser back altogether,
// keeping the stream header as text (at most 512 bytes) from which the next
// fg_s2s_in_feed rebuilds it; a parse error's byte offset then counts from
// that rebuilt header.
void fg_s2s_in_trim(fg_s2s_in *s);

// fg_s2s_in_config_changed tells |s| that the gateway's configuration
// changed (a reload, a domain added or removed at run time): TLS is now
// required on it or not (|tls_required|, as fg_s2s_in_config's), and what
// ops->is_hosted and ops->plaintext_allowed answer may differ, so the next
// stanza of the pair |s| last routed passes every check again instead of
// following that pair.
void fg_s2s_in_config_changed(fg_s2s_in *s, int tls_required);

// fg_s2s_in_parked returns 1 while |s|'s parser is given back (see
// fg_s2s_in_trim).
int fg_s2s_in_parked(const fg_s2s_in *s);

// fg_s2s_in_free frees |s|. NULL is a no-op.
void fg_s2s_in_free(fg_s2s_in *s);

typedef enum fg_s2s_in_status {
  FG_S2S_IN_CONTINUE = 0,  // all input consumed
  FG_S2S_IN_STARTTLS,      // <proceed/> was sent: discard the rest, start TLS
  FG_S2S_IN_CLOSED,        // the stream is over: flush what was sent and close
} fg_s2s_in_status;

// fg_s2s_in_feed processes plaintext bytes from the peer. |*out_used| says how
// many bytes were consumed (all of them unless it returns STARTTLS or CLOSED).
fg_s2s_in_status fg_s2s_in_feed(fg_s2s_in *s, const uint8_t *in, size_t in_len, size_t *out_used);

// fg_s2s_in_tls_established tells the session the TLS handshake finished; the
// peer restarts the stream next (RFC 6120 §5.4.3.3).
void fg_s2s_in_tls_established(fg_s2s_in *s);

// fg_s2s_in_send_features sends the stream features held at
// ops->hold_features' request (nothing when none are held or the stream is
// closed).
void fg_s2s_in_send_features(fg_s2s_in *s);

// fg_s2s_in_dialback_answer delivers the authoritative server's answer for a
// question asked through ops->dialback_verify. Answers that match no pending
// question on this stream are ignored and counted (the 2012 XSF advisory).
void fg_s2s_in_dialback_answer(fg_s2s_in *s, const char *originating, const char *receiving,
                               int valid);

// fg_s2s_in_close_with_error ends the stream with the RFC 6120 §4.9.3 stream
// error |condition| (e.g. "connection-timeout", "system-shutdown") and an
// optional human-readable |text|. It returns FG_S2S_IN_CLOSED.
fg_s2s_in_status fg_s2s_in_close_with_error(fg_s2s_in *s, const char *condition, const char *text);

// fg_s2s_in_close starts closing the stream without an error (RFC 6120
// §4.4): it sends </stream:stream> and keeps processing what the peer sends
// until the peer's own closing tag (fg_s2s_in_feed then returns
// FG_S2S_IN_CLOSED), sending nothing more. A no-op when closed or closing.
void fg_s2s_in_close(fg_s2s_in *s);

// fg_s2s_in_can_close returns 1 when the stream may be closed now without
// cutting a negotiation short: its header is answered, no TLS handshake is
// under way, and it is not closing already.
int fg_s2s_in_can_close(const fg_s2s_in *s);

// fg_s2s_in_is_closing returns 1 once fg_s2s_in_close sent our closing tag.
int fg_s2s_in_is_closing(const fg_s2s_in *s);

// fg_s2s_in_stream_id returns the id this side gave the stream ("" before the
// header).
const char *fg_s2s_in_stream_id(const fg_s2s_in *s);

// fg_s2s_in_peer returns the 'from' of the peer's stream header ("" if none).
const char *fg_s2s_in_peer(const fg_s2s_in *s);

// fg_s2s_in_local returns the 'to' of the peer's stream header (our domain,
// normalised; "" before the header).
const char *fg_s2s_in_local(const fg_s2s_in *s);

// fg_s2s_in_pair_from returns the originating domain of the stream's |i|th
// domain pair (authenticated or waiting for dialback), or NULL past the last.
const char *fg_s2s_in_pair_from(const fg_s2s_in *s, size_t i);

// fg_s2s_in_is_authenticated returns the method by which (from, to) was
// authenticated on this stream, or 0.
int fg_s2s_in_is_authenticated(const fg_s2s_in *s, const char *from, const char *to);

// fg_s2s_in_context returns the namespace declarations of the peer's current
// stream header (what fg_xml_element.canonical is relative to).
const fg_xml_nsdecl *fg_s2s_in_context(const fg_s2s_in *s, size_t *out_len);

// fg_s2s_in_lang returns the xml:lang of the peer's current stream header,
// the default language of its stanzas (RFC 6120 §4.7.4), absent when it has
// none; valid until the next fg_s2s_in_feed or fg_s2s_in_trim.
fg_xml_str fg_s2s_in_lang(const fg_s2s_in *s);

// fg_s2s_in_headers counts the stream headers received so far: the context
// above changes only when it does.
uint32_t fg_s2s_in_headers(const fg_s2s_in *s);

// fg_s2s_in_sm_handled returns the XEP-0198 count of stanzas handled (routed
// or bounced) since the peer enabled it; |*out_enabled| says whether it did.
uint32_t fg_s2s_in_sm_handled(const fg_s2s_in *s, int *out_enabled);

// fg_s2s_in_sm_id returns the XEP-0198 resume id of this stream ("" when
// it cannot be resumed).
const char *fg_s2s_in_sm_id(const fg_s2s_in *s);

// fg_s2s_in_bidi returns 1 once the peer made the stream bidirectional
// (XEP-0288 §2.2).
int fg_s2s_in_bidi(const fg_s2s_in *s);

// fg_s2s_in_bidi_may_send returns 1 when this side may send a stanza from
// its |local| domain to the peer's |remote| domain on this stream: the peer
// enabled bidi and authenticated the pair (|remote|, |local|) here, by SASL
// (the stream's 'to') or by dialback (the inverse of a requested pair,
// XEP-0288 §2.2), over TLS unless |remote| may skip it; the stream is open
// and not closing.
int fg_s2s_in_bidi_may_send(const fg_s2s_in *s, const char *local, const char *remote);

// fg_s2s_in_bidi_send writes the serialized stanza |data| (|len| bytes) from
// |local| to |remote| on the stream when fg_s2s_in_bidi_may_send allows it,
// and returns 1; else it writes nothing and returns 0. With XEP-0198 on the
// stream a copy is kept (tagged |tag|) until the peer acknowledges it
// (XEP-0198 §4: either side may ask for acks of what it sent).
int fg_s2s_in_bidi_send(fg_s2s_in *s, const char *local, const char *remote, const uint8_t *data,
                        size_t len, int tag);

// fg_s2s_in_bidi_unacked returns how many stanzas this side wrote on the
// bidirectional stream that the peer has not acknowledged (0 without
// XEP-0198), and in |*out_written| how many it wrote in all.
size_t fg_s2s_in_bidi_unacked(const fg_s2s_in *s, uint64_t *out_written);

// fg_s2s_in_bidi_take_unacked hands those stanzas (oldest first) to the
// caller, who frees each with free(): the stream ended and they go out
// again on another, or are bounced.
fg_sm_item *fg_s2s_in_bidi_take_unacked(fg_s2s_in *s);

// fg_s2s_in_bidi_acked returns the peer's count of the stanzas this side
// wrote back (its last h, XEP-0198 §4): the oldest unacknowledged one
// follows it. Read it before fg_s2s_in_bidi_take_unacked.
uint32_t fg_s2s_in_bidi_acked(const fg_s2s_in *s);

// fg_s2s_in_is_closed returns 1 once the stream is over.
int fg_s2s_in_is_closed(const fg_s2s_in *s);

#endif  // FEDGATE_GATEWAY_S2S_IN_H
