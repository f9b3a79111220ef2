// jid.h: the parts of an XMPP address (RFC 7622) that routing needs.
#ifndef FEDGATE_GATEWAY_JID_H
#define FEDGATE_GATEWAY_JID_H

#include <stddef.h>
#include <stdint.h>

// FG_DOMAIN_MAX is the longest domainpart kept (RFC 7622 §3.2: 1023 bytes is
// the protocol limit; DNS names cannot exceed 253 characters, and s2s peers
// are found through DNS).
#define FG_DOMAIN_MAX 253

// fg_jid_domain finds the domainpart of the JID |jid| (|len| bytes): what
// lies after the first '@' (if any) and before the first '/' (if any; a '@'
// after the '/' belongs to the resource). It copies the domain, lower-cased
// (ASCII) and without one trailing dot, into |out| (FG_DOMAIN_MAX + 1 bytes,
// NUL-terminated) and returns 1, or returns 0 when the JID is malformed: empty
// localpart, domainpart or resourcepart, a localpart or resourcepart of more
// than 1023 bytes (RFC 7622 §3.3.1, §3.4.1), or a domain that
// fg_domain_normalize rejects.
int fg_jid_domain(char out[FG_DOMAIN_MAX + 1], const uint8_t *jid, size_t len);

// fg_jid_domain_span finds where the domainpart of |jid| lies, as
// fg_jid_domain does, without checking or copying it: |*start| and |*dlen|.
// It returns 0 for an empty localpart or resourcepart, or one longer than
// 1023 bytes.
int fg_jid_domain_span(const uint8_t *jid, size_t len, size_t *start, size_t *dlen);

// FG_BARE_JID_MAX is room for a bare JID as fg_jid_bare_key writes it: a
// localpart of up to 1023 bytes, '@' and a domain of up to FG_DOMAIN_MAX.
#define FG_BARE_JID_MAX (1023 + 1 + FG_DOMAIN_MAX)

// fg_jid_bare_key writes into |out| (|cap| bytes) the bare JID of |jid| (|len|
// bytes) as addresses are compared (RFC 7622 §3.2, §3.3): its localpart, if
// any, lower-cased (ASCII) with its '@', then |domain|, its domainpart as
// fg_jid_domain normalised it. It returns the length, or 0 when it does not
// fit. Block lists and budgets name senders and recipients by it, so that
// no other spelling of an address escapes them.
size_t fg_jid_bare_key(uint8_t *out, size_t cap, const uint8_t *jid, size_t len,
                       const char *domain);

// fg_domain_normalize copies |in| (|len| bytes) into |out| lower-cased and
// without one trailing dot, and returns 1 when the result is a valid s2s
// domain: 1-253 bytes, labels of 1-63 bytes separated by single dots, no
// ASCII control characters, spaces or any of "@/\\\"&'<>:" (so a domain can be
// written in an XML attribute and a log line as is), and no IP literal. UTF-8
// labels (U-labels) are accepted as they are. It returns 0 otherwise.
int fg_domain_normalize(char out[FG_DOMAIN_MAX + 1], const uint8_t *in, size_t len);

#endif  // FEDGATE_GATEWAY_JID_H
