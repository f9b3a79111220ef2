// xml_names.h: XML namespaces of the s2s protocol, in one place.
#ifndef FEDGATE_GATEWAY_XML_NAMES_H
#define FEDGATE_GATEWAY_XML_NAMES_H

#define FG_NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"                // RFC 6120 §5
#define FG_NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"              // RFC 6120 §6
#define FG_NS_STREAM_ERRORS "urn:ietf:params:xml:ns:xmpp-streams"  // RFC 6120 §4.9
#define FG_NS_STANZA_ERRORS "urn:ietf:params:xml:ns:xmpp-stanzas"  // RFC 6120 §8.3
#define FG_NS_DIALBACK "jabber:server:dialback"                    // XEP-0220
#define FG_NS_DIALBACK_FEATURE "urn:xmpp:features:dialback"        // XEP-0220 §2.1

// FG_S2S_STREAM_OPEN starts every s2s stream header fedgate writes: the
// content namespace, the stream prefix and the dialback prefix (RFC 6120
// §4.7, XEP-0220 §2.1); the caller appends its attributes and the '>'.
#define FG_S2S_STREAM_OPEN                                     \
  "<?xml version='1.0'?><stream:stream xmlns='jabber:server' " \
  "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='" FG_NS_DIALBACK "'"

#endif  // FEDGATE_GATEWAY_XML_NAMES_H
