// sm.h: XEP-0198 stream management state for one s2s stream, sans I/O.
//
// On s2s the initiating side sends stanzas and keeps every one the peer has
// not acknowledged (fg_sm_out); the receiving side counts what it handled and
// answers <r/> with <a h='N'/> (fg_sm_in). Both run over the same TCP
// connection: the receiving side writes only nonzas back (RFC 6120 §4.5).
//
//   initiating                         receiving
//   features (<sm xmlns='urn:xmpp:sm:3'/>, offered after TLS, XEP-0198 §2)
//   <enable/>              ────────►   (any pair authenticated? §3)
//                          ◄────────   <enabled/> or <failed/>
//   stanza, stanza, <r/>   ────────►   h += 2
//                          ◄────────   <a h='2'/>   (the two leave the queue)
//
// Counters are 32-bit and wrap (XEP-0198 §4: "h" is an unsigned 32-bit
// integer that rolls over to 0 after 2^32-1).
#ifndef FEDGATE_GATEWAY_S2S_SM_H
#define FEDGATE_GATEWAY_S2S_SM_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/xml/xml_types.h"

#define FG_NS_SM "urn:xmpp:sm:3"

// fg_sm_element names the XEP-0198 elements (§3-§5).
typedef enum fg_sm_element {
  FG_SM_NOT_SM = 0,  // another namespace
  FG_SM_ENABLE,
  FG_SM_ENABLED,
  FG_SM_FAILED,
  FG_SM_R,
  FG_SM_A,
  FG_SM_RESUME,
  FG_SM_RESUMED,
  FG_SM_OTHER,  // urn:xmpp:sm:3, but no element the XEP defines
} fg_sm_element;

// fg_sm_classify returns what |el| is.
fg_sm_element fg_sm_classify(const fg_xml_node *el);

// fg_sm_parse_h reads the 'h' attribute of |el| (<a/>, <resumed/>,
// <resume/>): decimal digits only, at most 2^32-1. It returns 1 and sets
// |*out_h|, or 0 when it is missing or malformed.
int fg_sm_parse_h(const fg_xml_node *el, uint32_t *out_h);

// fg_sm_write_a writes <a xmlns='urn:xmpp:sm:3' h='|h|'/> into |out|
// (|cap| bytes, at least FG_SM_A_MAX) and returns its length.
enum { FG_SM_A_MAX = 48 };
size_t fg_sm_write_a(char *out, size_t cap, uint32_t h);

// FG_SM_ID_MAX: the longest resume id accepted (XEP-0198 §5 leaves its form
// to the server; fedgate hands out 32 hex digits).
enum { FG_SM_ID_MAX = 64 };

// fg_sm_id_copy copies the resume id |in| (|in_len| bytes) into |out|
// (FG_SM_ID_MAX + 1 bytes) and returns 1, or returns 0 when it is empty, too
// long or holds anything but letters, digits and '-'.
int fg_sm_id_copy(char *out, const uint8_t *in, size_t in_len);

// fg_sm_in: the receiving side's count of handled stanzas.
typedef struct fg_sm_in {
  int enabled;
  uint32_t h;  // stanzas handled since <enable/> (routed or bounced)
} fg_sm_in;

// fg_sm_in_count counts one handled stanza when enabled.
void fg_sm_in_count(fg_sm_in *in);

// fg_sm_item is one stanza the initiating side keeps until it is acked.
// |tag| is the caller's (e.g. "this is a bounce fedgate generated").
typedef struct fg_sm_item {
  struct fg_sm_item *next;
  size_t len;
  size_t cap;  // bytes |data| has room for
  int tag;
  uint8_t data[];
} fg_sm_item;

// fg_sm_out: the initiating side's queue of unacknowledged stanzas.
typedef struct fg_sm_out {
  int enabled;
  uint32_t sent;   // stanzas written since <enable/>
  uint32_t acked;  // the peer's last h
  fg_sm_item *head, *tail;
  size_t count, bytes;
  size_t max_count, max_bytes;  // bounds of the queue (0: none)
  uint32_t requested_at;        // |sent| when the last <r/> went out
  int awaiting;                 // an <r/> is unanswered
  // Acknowledged items kept for the next stanzas (at most FG_SM_SPARE): in
  // the steady state a stanza costs no allocation.
  fg_sm_item *spare;
  size_t n_spare;
} fg_sm_out;

#define FG_SM_SPARE 64

// fg_sm_out_init sets up an empty, disabled queue with its bounds.
void fg_sm_out_init(fg_sm_out *o, size_t max_count, size_t max_bytes);

// fg_sm_out_cleanup frees the queued stanzas.
void fg_sm_out_cleanup(fg_sm_out *o);

// fg_sm_out_has_room returns 1 when a stanza of |len| bytes may be written
// (it would be kept within the bounds; a single stanza always fits an empty
// queue).
int fg_sm_out_has_room(const fg_sm_out *o, size_t len);

// fg_sm_out_push keeps a copy of a stanza just written. It returns 1, or 0
// when out of memory.
int fg_sm_out_push(fg_sm_out *o, const uint8_t *data, size_t len, int tag);

typedef enum fg_sm_ack_result {
  FG_SM_ACK_OK = 0,
  FG_SM_ACK_TOO_HIGH,  // h acknowledges stanzas never sent (XEP-0198 §4)
} fg_sm_ack_result;

// fg_sm_out_ack applies the peer's h: the stanzas it covers leave the
// queue, each passed to |acked| (may be NULL) before it is freed. |*out_n|
// is how many left.
fg_sm_ack_result fg_sm_out_ack(fg_sm_out *o, uint32_t h, size_t *out_n,
                               void (*acked)(void *arg, const fg_sm_item *it), void *arg);

// fg_sm_out_should_request returns 1 when an <r/> is due because |every|
// stanzas (0: never by count) went out since the last one and none is
// unanswered.
int fg_sm_out_should_request(const fg_sm_out *o, unsigned every);

// fg_sm_out_requested notes that an <r/> went out.
void fg_sm_out_requested(fg_sm_out *o);

// fg_sm_out_take detaches the queue (oldest first) for the caller, which then
// owns the items and frees them with free(); the queue is empty afterwards.
fg_sm_item *fg_sm_out_take(fg_sm_out *o);

// fg_sm_out_adopt makes the stanzas |items| (oldest first, as
// fg_sm_out_take handed them over) the unacknowledged queue of the empty
// queue |o|, the first of them following the peer's count |acked|: a
// resumed stream (XEP-0198 §5) goes on where the ended one stopped, so that
// the peer's h acknowledges them. |o| owns them afterwards and is enabled.
void fg_sm_out_adopt(fg_sm_out *o, fg_sm_item *items, uint32_t acked);

#endif  // FEDGATE_GATEWAY_S2S_SM_H
