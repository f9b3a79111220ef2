"""s2s_proto: the XMPP server-to-server pieces bench/s2sload.py is built from.

Python 3 standard library only (asyncio, ssl, xml.etree). It holds what both
roles of an internal server need: an incremental reader of one XML stream
(RFC 6120 §4), stream headers, TLS contexts for STARTTLS (RFC 6120 §5) with
client certificates for SASL EXTERNAL (RFC 6120 §6, XEP-0178), a certificate
identity check for the stream's 'from' domain, and stanza error parsing
(RFC 6120 §8.3).
"""

import asyncio
import secrets
import ssl
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape as _escape

NS_STREAM = "http://etherx.jabber.org/streams"
NS_SERVER = "jabber:server"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_DB = "jabber:server:dialback"
NS_DB_FEATURE = "urn:xmpp:features:dialback"
NS_STREAM_ERR = "urn:ietf:params:xml:ns:xmpp-streams"
NS_STANZA_ERR = "urn:ietf:params:xml:ns:xmpp-stanzas"

READ_CHUNK = 65536


def q(ns, name):
    """q returns the ElementTree name {ns}name."""
    return "{%s}%s" % (ns, name)


def local(tag):
    """local returns the local part of an ElementTree tag."""
    return tag.rsplit("}", 1)[-1]


def esc(text):
    """esc escapes text for element content and single-quoted attributes."""
    return _escape(text, {"'": "&apos;", '"': "&quot;"})


def domain_of(jid):
    """domain_of returns the domainpart of a JID (RFC 7622 §3.2), lower case."""
    if not jid:
        return ""
    j = jid.split("/", 1)[0]
    return j.rsplit("@", 1)[-1].lower()


class StreamClosed(Exception):
    """The peer closed the stream; .condition holds the stream error, if any."""

    def __init__(self, condition=None, text=None):
        super().__init__(condition or "closed")
        self.condition = condition
        self.text = text


class XmlStream:
    """Incremental reader of one XML stream: the header, then top-level elements.

    feed() returns a list of events: ("header", elem), ("element", elem) for a
    complete child of the stream, ("close", None) for </stream:stream>.
    Completed elements are detached from the header so memory stays flat.
    """

    def __init__(self):
        self.reset()

    def reset(self):
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.header = None

    def feed(self, data):
        out = []
        try:
            self.parser.feed(data)
            events = list(self.parser.read_events())
        except ET.ParseError as e:
            raise StreamClosed("not-well-formed", str(e))
        for event, elem in events:
            if event == "start":
                self.depth += 1
                if self.depth == 1:
                    self.header = elem
                    out.append(("header", elem))
            else:
                self.depth -= 1
                if self.depth == 1:
                    out.append(("element", elem))
                    try:
                        self.header.remove(elem)
                    except ValueError:
                        pass
                elif self.depth == 0:
                    out.append(("close", None))
        return out


def stream_error_of(elem):
    """stream_error_of returns (condition, text) of a <stream:error/>."""
    cond, text = None, None
    for child in elem:
        if child.tag == q(NS_STREAM_ERR, "text"):
            text = child.text
        elif child.tag.startswith("{%s}" % NS_STREAM_ERR):
            cond = local(child.tag)
    return cond, text


def stanza_error_of(elem):
    """stanza_error_of returns the defined condition of a type='error' stanza."""
    for child in elem:
        if local(child.tag) == "error":
            for c in child:
                if c.tag.startswith("{%s}" % NS_STANZA_ERR) and local(c.tag) != "text":
                    return local(c.tag)
            return "undefined-condition"
    return "undefined-condition"


class Stream:
    """One s2s TCP connection driven by asyncio streams, either side.

    The reader is reset at every stream restart (after STARTTLS and after SASL
    success, RFC 6120 §4.3.3); next() returns the next event, reading more
    bytes as needed.
    """

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.xml = XmlStream()
        self.pending = []
        self.bytes_in = 0
        self.bytes_out = 0

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.bytes_out += len(data)
        self.writer.write(data)

    async def drain(self):
        await self.writer.drain()

    def restart(self):
        self.xml.reset()
        self.pending = []

    async def next(self):
        while not self.pending:
            try:
                data = await self.reader.read(READ_CHUNK)
            except (ConnectionError, ssl.SSLError, OSError):
                data = b""
            if not data:
                raise StreamClosed(None)
            self.bytes_in += len(data)
            self.pending.extend(self.xml.feed(data))
        return self.pending.pop(0)

    async def header(self):
        kind, elem = await self.next()
        if kind != "header":
            raise StreamClosed("bad-format", "expected a stream header, got %s" % kind)
        if elem.tag != q(NS_STREAM, "stream"):
            raise StreamClosed("invalid-namespace", elem.tag)
        return elem

    async def element(self):
        """element returns the next top-level element; a stream error raises."""
        while True:
            kind, elem = await self.next()
            if kind == "close":
                raise StreamClosed(None)
            if kind == "header":
                continue
            if elem.tag == q(NS_STREAM, "error"):
                raise StreamClosed(*stream_error_of(elem))
            return elem

    def open(self, frm, to, stream_id=None):
        """open sends a stream header (RFC 6120 §4.7); stream_id on the receiving side."""
        attrs = "xmlns='%s' xmlns:stream='%s' xmlns:db='%s' version='1.0'" % (
            NS_SERVER, NS_STREAM, NS_DB)
        if frm:
            attrs += " from='%s'" % esc(frm)
        if to:
            attrs += " to='%s'" % esc(to)
        if stream_id:
            attrs += " id='%s'" % stream_id
        self.send("<?xml version='1.0'?><stream:stream %s>" % attrs)

    def error(self, condition, text=None):
        """error sends a stream error and the closing tag (RFC 6120 §4.9)."""
        t = ""
        if text:
            t = "<text xmlns='%s'>%s</text>" % (NS_STREAM_ERR, esc(text))
        self.send("<stream:error><%s xmlns='%s'/>%s</stream:error></stream:stream>" % (
            condition, NS_STREAM_ERR, t))

    def tls_info(self):
        """tls_info returns (version, cipher) of the TLS layer, or (None, None)."""
        so = self.writer.get_extra_info("ssl_object")
        if so is None:
            return None, None
        c = so.cipher()
        return so.version(), c[0] if c else None

    def peer_cert(self):
        so = self.writer.get_extra_info("ssl_object")
        if so is None:
            return None
        return so.getpeercert()

    def close(self):
        try:
            self.writer.close()
        except (ConnectionError, OSError, RuntimeError):
            pass


def new_stream_id():
    return secrets.token_hex(8)


def server_context(certfile, keyfile, client_ca=None):
    """server_context: TLS for a listener; asks for a client certificate
    chaining to client_ca (a presented certificate that does not chain fails
    the handshake; no certificate is allowed, for dialback)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile, keyfile)
    if client_ca:
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def client_context(certfile=None, keyfile=None, server_ca=None, check_name=False):
    """client_context: TLS for a sender; presents certfile as the client
    certificate; verifies the server's chain against server_ca when given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if server_ca:
        ctx.load_verify_locations(server_ca)
        ctx.check_hostname = bool(check_name)
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if certfile:
        ctx.load_cert_chain(certfile, keyfile)
    return ctx


def cert_names(cert):
    """cert_names returns the DNS-IDs of a certificate dict from getpeercert()."""
    if not cert:
        return []
    return [v.lower() for k, v in cert.get("subjectAltName", ()) if k == "DNS"]


def cert_matches_domain(cert, domain):
    """cert_matches_domain: does a DNS-ID of |cert| name |domain| (RFC 6125
    §6.4: exact, case-insensitive; a wildcard only as the whole left-most
    label, matching one label, never an xn-- label)."""
    d = domain.lower().rstrip(".")
    for name in cert_names(cert):
        name = name.rstrip(".")
        if name == d:
            return True
        if name.startswith("*.") and name.count(".") >= 2 and "." in d:
            head, rest = d.split(".", 1)
            if rest == name[2:] and head and not head.startswith("xn--"):
                return True
    return False


async def open_connection(host, port, timeout):
    return await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
