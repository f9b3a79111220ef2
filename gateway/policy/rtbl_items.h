// rtbl_items.h: reading real-time block lists (RTBL) from XEP-0060 pubsub
// stanzas, without I/O.
//
// A block list service publishes one item per entry on a pubsub node: the
// item id is the blocked domain or the lowercase hex SHA-256 of a blocked
// bare JID (the format of xmppbl.org's nodes and of Prosody's mod_muc_rtbl
// and ejabberd's rtbl_services); the payload may be a XEP-0377 report whose
// `reason` attribute and `<text/>` say why. A subscriber fetches the node
// (an IQ result with `<pubsub><items node=..>`), then follows its
// notifications (`<message><event><items node=..>` with `<item/>` for a new
// entry and `<retract/>` for a removed one, `<purge/>` or `<delete/>` for
// all of them).
//
// fg_rtbl_read turns one such stanza into operations on the caller's list;
// everything else (another node, an error, unknown payloads) is ignored or
// counted, never trusted: ids that are neither a valid domain nor a digest
// are skipped and counted.
#ifndef FEDGATE_GATEWAY_POLICY_RTBL_ITEMS_H
#define FEDGATE_GATEWAY_POLICY_RTBL_ITEMS_H

#include <stddef.h>

#include "gateway/policy/blocklist.h"
#include "gateway/xml/xml_types.h"

#define FG_NS_PUBSUB "http://jabber.org/protocol/pubsub"
#define FG_NS_PUBSUB_EVENT "http://jabber.org/protocol/pubsub#event"
#define FG_NS_REPORTING "urn:xmpp:reporting:1"

// What a stanza means for the list.
typedef enum fg_rtbl_kind {
  FG_RTBL_NONE = 0,  // not about |node| (or not a pubsub payload)
  FG_RTBL_SNAPSHOT,  // the node's whole content (an items result): replace
  FG_RTBL_CHANGES,   // notifications: add and remove entries
  FG_RTBL_CLEAR,     // purge or delete: the node is empty now
} fg_rtbl_kind;

// fg_rtbl_ops receives the entries. |reason| is "" when the item gives none;
// both strings are valid only during the call. A callback returns 0 when out
// of memory (reading stops, fg_rtbl_read returns -1).
typedef struct fg_rtbl_ops {
  int (*add)(void *arg, fg_block_kind kind, const char *key, const char *reason);
  int (*remove)(void *arg, fg_block_kind kind, const char *key);
  void *arg;
} fg_rtbl_ops;

// fg_rtbl_stats counts what one stanza held.
typedef struct fg_rtbl_stats {
  size_t added, removed;
  size_t invalid;  // items whose id is neither a domain nor a digest
} fg_rtbl_stats;

// fg_rtbl_read reads |stanza| (an iq result or a message) for the pubsub
// node |node|, calling |ops| for every entry in document order, and returns
// what kind of content it was (FG_RTBL_NONE when none), or -1 when a
// callback failed. For FG_RTBL_SNAPSHOT every listed entry is reported to
// add(); the caller replaces the source's content with them.
int fg_rtbl_read(const fg_xml_node *stanza, const char *node, const fg_rtbl_ops *ops,
                 fg_rtbl_stats *stats);

#endif  // FEDGATE_GATEWAY_POLICY_RTBL_ITEMS_H
