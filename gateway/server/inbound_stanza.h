// inbound_stanza.h: the checks every stanza a server sends in passes before
// it is routed, whatever carries it: an inbound stream (gateway/s2s/s2s_in.h)
// or an outbound or hop link its peer made bidirectional (XEP-0288). The
// stanzas to fedgate's own RTBL and abuse-report addresses are taken here;
// the others pass the block lists, then abuse.limits, then go out over the
// hop or a link (link.h). Each refusal is counted, and logged once per
// stream.
#ifndef FEDGATE_GATEWAY_INBOUND_STANZA_H
#define FEDGATE_GATEWAY_INBOUND_STANZA_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/server/abuse_limits.h"
#include "gateway/server/link_flow.h"
#include "gateway/server/server_internal.h"
#include "gateway/s2s/bounce.h"
#include "gateway/xml/xml_types.h"

// fg_inbound_stanza is what the checks know and keep per stream. Its owner
// fills the identity with fg_inbound_stanza_init; the rest is the checks'.
typedef struct fg_inbound_stanza {
  // The stream's identity.
  fg_server *srv;
  fg_conn *conn;          // its connection: worker, id, peer address
  fg_flow *flow;          // flow control towards the links it feeds
  int internal;           // from an internal server: judged as on the internal listener
  const char *ip;         // the peer's address as text (the owner's, kept as long)
  const char *stream_id;  // names the stream in logs (the owner's, kept as long)
  // hop_context: whether the current stream header's namespace context is
  // the hop's (zero-copy forwarding), for header number hop_context_of: the
  // inbound stream's, or for stanzas sent back on a link its peer's.
  int hop_context;
  uint32_t hop_context_of;
  // lang: the header's xml:lang (the stream's default language, RFC 6120
  // §4.7.4), given to stanzas without one on the hop.
  fg_xml_str lang;
  int block_logged;                      // a stanza refused by the block list was logged
  int limit_logged;                      // a stanza refused by a rate limit was logged
  int limit_close;                       // over a rate limit for too long: close after this feed
  uint64_t over_since_ns, last_over_ns;  // the current episode of refusals by rate
  // Its share of the shared rate buckets: allocated by the first stanza
  // judged, given back when the stream goes quiet (a quiet stream's unspent
  // share, at most 10 ms of its rate, is forfeited).
  fg_limit_lease *lease;
  // The last sender (inbound) or recipient domain (outbound) the block
  // lists let pass, and their generation then: most streams carry runs of
  // one sender, so most stanzas skip the lists (and the SHA-256 of the JID).
  uint8_t clean[64];
  size_t clean_len;
  uint64_t clean_generation;
} fg_inbound_stanza;

// fg_inbound_stanza_init sets up |st| for a new stream with its identity,
// nothing judged yet: |ip| and |stream_id| must live as long as |st| (a
// session's stream id buffer follows its restarts).
void fg_inbound_stanza_init(fg_inbound_stanza *st, fg_server *srv, fg_conn *conn, fg_flow *flow,
                            int internal, const char *ip, const char *stream_id);

// fg_inbound_stanza_hosted says whether a stanza to |domain| is one this
// stream may carry: from an internal server any (remote domains, dialback
// verifications of the hop), from a remote one a hosted domain's.
int fg_inbound_stanza_hosted(const fg_inbound_stanza *st, const char *domain);

// fg_inbound_stanza_header tells |st| the namespace context of a stream's
// header number |headers| (judged once per header: whether canonical stanza
// bytes may be forwarded unchanged over the hop) and its xml:lang |lang|
// (absent when none: stanzas without their own are given it on the hop).
// Called before each stanza is routed: |lang| must stay valid until then.
void fg_inbound_stanza_header(fg_inbound_stanza *st, uint32_t headers, const fg_xml_nsdecl *context,
                              size_t n, fg_xml_str lang);

// fg_inbound_stanza_route judges stanza |el| from |from| to |to| and
// delivers it. It returns FG_STANZA_CONDITION_COUNT when it was taken or
// delivered, else the RFC 6120 §8.3.3 condition to bounce it with.
fg_stanza_condition fg_inbound_stanza_route(fg_inbound_stanza *st, const fg_xml_element *el,
                                            const char *from, const char *to);

// fg_inbound_stanza_sent_back judges, delivers or bounces a stanza a peer
// sent back on a bidirectional link (XEP-0288) from |from| to |to|. It
// returns NULL, or the RFC 6120 §4.9.3 stream error condition that must end
// the link (a blocked domain, a domain not hosted here, sustained excess).
const char *fg_inbound_stanza_sent_back(fg_inbound_stanza *st, const fg_xml_element *el,
                                        const char *from, const char *to);

// fg_inbound_stanza_over_limit says whether the stream stayed over a rate
// limit for abuse.limits.sustained: it must be closed with policy-violation.
int fg_inbound_stanza_over_limit(const fg_inbound_stanza *st);

// fg_inbound_stanza_trim gives back the rate-limit lease of a quiet stream
// (or one that ends).
void fg_inbound_stanza_trim(fg_inbound_stanza *st);

#endif  // FEDGATE_GATEWAY_INBOUND_STANZA_H
