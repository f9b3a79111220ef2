"""xmpp_peer: a scripted XMPP s2s peer for end-to-end tests.

It speaks raw XMPP over TCP and TLS (Python's ssl module) so that tests can
drive fedgate step by step, including the wrong steps a hostile peer takes,
and assert the exact stream or stanza error that comes back. It also serves
as a sink: a minimal internal server that accepts fedgate's s2s streams and
records the stanzas it receives.
"""

import base64
import secrets
import socket
import ssl
import time
import xml.etree.ElementTree as ET

NS_STREAM = "http://etherx.jabber.org/streams"
NS_SERVER = "jabber:server"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_DB = "jabber:server:dialback"
NS_DB_FEATURE = "urn:xmpp:features:dialback"
NS_STREAM_ERR = "urn:ietf:params:xml:ns:xmpp-streams"
NS_STANZA_ERR = "urn:ietf:params:xml:ns:xmpp-stanzas"


def q(ns, name):
    return "{%s}%s" % (ns, name)


class StreamClosed(Exception):
    """The peer closed the stream; .error holds the stream error condition."""

    def __init__(self, error=None, text=None):
        super().__init__(error or "closed")
        self.error = error
        self.text = text


class XmlStream:
    """Incremental reader of one XML stream: header, then top-level elements."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.header = None
        self.closed = False

    def feed(self, data):
        out = []
        self.parser.feed(data)
        for event, elem in self.parser.read_events():
            if event == "start":
                self.depth += 1
                if self.depth == 1:
                    self.header = elem
                    out.append(("header", elem))
            else:
                self.depth -= 1
                if self.depth == 1:
                    out.append(("element", elem))
                    self.header.remove(elem) if elem in list(self.header) else None
                elif self.depth == 0:
                    self.closed = True
                    out.append(("close", None))
        return out


class Peer:
    """One connection, as the initiating side (a remote server) or the receiving side."""

    def __init__(self, sock, timeout=10):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.reader = XmlStream()
        self.pending = []
        self.stream_id = None
        self.tls = False
        self.received = []

    @classmethod
    def connect(cls, host, port, timeout=10):
        sock = socket.create_connection((host, port), timeout=timeout)
        return cls(sock, timeout)

    # --- bytes ---
    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            data = b""
        if not data:
            raise StreamClosed(None)
        self.pending.extend(self.reader.feed(data))

    def next_event(self):
        while not self.pending:
            self._fill()
        return self.pending.pop(0)

    # --- stream level ---
    def open_stream(self, to, frm, version="1.0", extra=""):
        attrs = "xmlns='jabber:server' xmlns:stream='%s' xmlns:db='%s'" % (NS_STREAM, NS_DB)
        if to is not None:
            attrs += " to='%s'" % to
        if frm is not None:
            attrs += " from='%s'" % frm
        if version is not None:
            attrs += " version='%s'" % version
        self.reader.reset()
        self.pending = []
        self.send("<?xml version='1.0'?><stream:stream %s%s>" % (attrs, extra))

    def read_header(self):
        kind, elem = self.next_event()
        if kind != "header":
            raise AssertionError("expected stream header, got %s" % kind)
        self.stream_id = elem.get("id")
        return elem

    def read_element(self):
        """Next top-level element; a stream error raises StreamClosed(condition)."""
        kind, elem = self.next_event()
        if kind == "close":
            raise StreamClosed(None)
        if kind == "header":
            return self.read_element()
        if elem.tag == q(NS_STREAM, "error"):
            cond = None
            text = None
            for child in elem:
                if child.tag.startswith("{%s}" % NS_STREAM_ERR):
                    if child.tag.endswith("}text"):
                        text = child.text
                    else:
                        cond = child.tag.split("}", 1)[1]
            raise StreamClosed(cond, text)
        return elem

    def expect_stream_error(self):
        """Reads until the peer sends a stream error; returns its condition."""
        try:
            while True:
                self.read_element()
        except StreamClosed as e:
            return e.error

    def read_features(self):
        elem = self.read_element()
        if elem.tag != q(NS_STREAM, "features"):
            raise AssertionError("expected stream features, got %s" % elem.tag)
        return elem

    def close_stream(self):
        self.send("</stream:stream>")

    # --- TLS ---
    def starttls(self, server_hostname, cafile=None, certfile=None, keyfile=None):
        self.send("<starttls xmlns='%s'/>" % NS_TLS)
        elem = self.read_element()
        if elem.tag != q(NS_TLS, "proceed"):
            raise AssertionError("expected <proceed/>, got %s" % elem.tag)
        self.wrap_tls(server_hostname, cafile, certfile, keyfile)

    def open_secured(self, to, frm, cafile=None, certfile=None, keyfile=None):
        """Opens a stream to |to| from |frm|, upgrades it with STARTTLS (the
        server's certificate checked for |to| against |cafile|), opens the
        stream again (RFC 6120 §5.4.3.3) and returns its features."""
        self.open_stream(to, frm)
        self.read_header()
        self.read_features()
        self.starttls(to, cafile, certfile, keyfile)
        self.open_stream(to, frm)
        self.read_header()
        return self.read_features()

    def open_authenticated(self, to, frm, cafile=None, certfile=None, keyfile=None):
        """open_secured, then SASL EXTERNAL (RFC 6120 §6.4), which must
        succeed, and the stream opened once more (§6.4.6); returns its
        features."""
        self.open_secured(to, frm, cafile, certfile, keyfile)
        cond, _ = self.sasl_external()
        if cond != "success":
            raise AssertionError("SASL EXTERNAL for %s: %s" % (frm, cond))
        self.open_stream(to, frm)
        self.read_header()
        return self.read_features()

    def wrap_tls(self, server_hostname, cafile=None, certfile=None, keyfile=None, alpn=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if cafile:
            ctx.load_verify_locations(cafile)
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if certfile:
            ctx.load_cert_chain(certfile, keyfile)
        if alpn:
            ctx.set_alpn_protocols(alpn)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)
        self.tls = True
        self.reader.reset()
        self.pending = []

    # --- authentication ---
    def sasl_external(self, authzid=None):
        payload = "=" if authzid is None else base64.b64encode(authzid.encode()).decode()
        self.send("<auth xmlns='%s' mechanism='EXTERNAL'>%s</auth>" % (NS_SASL, payload))
        elem = self.read_element()
        return elem.tag.split("}", 1)[1], elem

    def dialback_result(self, frm, to, key):
        self.send("<db:result from='%s' to='%s'>%s</db:result>" % (frm, to, key))

    def read_dialback_result(self):
        while True:
            elem = self.read_element()
            if elem.tag == q(NS_DB, "result"):
                return elem
            self.received.append(elem)

    # --- stanzas ---
    def send_message(self, frm, to, body, id=None):
        id = id or secrets.token_hex(6)
        self.send("<message from='%s' to='%s' id='%s' type='chat'><body>%s</body></message>"
                  % (frm, to, id, body))
        return id

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def tls_server_context(certfile, keyfile, cafile=None, request_cert=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile, keyfile)
    if cafile:
        ctx.load_verify_locations(cafile)
        ctx.verify_mode = ssl.CERT_OPTIONAL if request_cert else ssl.CERT_NONE
    return ctx


def wait_port(host, port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class ReceivingServer:
    """A minimal XMPP server accepting s2s streams, for tests.

    It requires STARTTLS (certificate |certfile| for any name), offers SASL
    EXTERNAL when the client presented a certificate that |client_ca|
    validates (accepting it for the stream's 'from'), offers dialback, answers
    db:verify questions from |verify_keys| (a dict key -> True/False), accepts
    db:result requests except those from |refuse_results| (answered invalid)
    and from |ignore_results| (never answered, recorded as 'unanswered');
    with |break_on_results| a db:result on an authenticated stream ends that
    stream with a stream error (a server that takes no further pairs),
    and records every stanza it receives in .stanzas as (stream_from, element).
    """

    def __init__(self, host, port, certfile, keyfile, client_ca=None, verify_keys=None,
                 sni_certs=None, refuse_results=(), ignore_results=(),
                 break_on_results=False):
        import threading
        self.host, self.port = host, port
        self.ctx = tls_server_context(certfile, keyfile, client_ca)
        if sni_certs:
            # name -> (certfile, keyfile): answer SNI with that name's certificate.
            by_name = {n: tls_server_context(c, k, client_ca) for n, (c, k) in sni_certs.items()}

            def pick(sslobj, name, _ctx):
                if name in by_name:
                    sslobj.context = by_name[name]
            self.ctx.sni_callback = pick
        self.verify_keys = verify_keys if verify_keys is not None else {}
        # Originating domains whose db:result is answered invalid (XEP-0220 §2.4).
        self.refuse_results = set(refuse_results)
        # Originating domains whose db:result gets no answer at all.
        self.ignore_results = set(ignore_results)
        self.break_on_results = break_on_results
        self.stanzas = []
        self.verify_questions = []
        # Dialback requests accepted: (from, to, stream id, key), so that a
        # test can ask the authoritative server whether the key was its own.
        self.results = []
        self.auth = []  # (from, method)
        self.peers = []  # accepted streams, for drop_connections
        # Cleared: authenticated streams stop reading (a slow internal server).
        self.reading = threading.Event()
        self.reading.set()
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass

    def _accept(self):
        import threading
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def drop_connections(self):
        """Closes every accepted connection (the internal server restarts)."""
        import socket as _socket
        with self.lock:
            peers, self.peers = self.peers, []
        for p in peers:
            try:
                p.sock.shutdown(_socket.SHUT_RDWR)  # the TLS socket once wrapped
            except (OSError, ValueError):
                pass

    def wait_stanzas(self, n, timeout=10):
        deadline = time.time() + timeout
        with self.cond:
            while len(self.stanzas) < n and time.time() < deadline:
                self.cond.wait(timeout=max(0.01, deadline - time.time()))
            return list(self.stanzas)

    def _serve(self, conn):
        p = Peer(conn, timeout=30)
        with self.lock:
            self.peers.append(p)
        tls = False
        authed = False
        try:
            while True:
                hdr = p.read_header()
                frm = hdr.get("from") or ""
                to = hdr.get("to") or ""
                sid = secrets.token_hex(8)
                p.send("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
                       "xmlns:stream='%s' xmlns:db='%s' from='%s' to='%s' id='%s' "
                       "version='1.0'>" % (NS_STREAM, NS_DB, to, frm, sid))
                feats = ""
                if not tls:
                    feats = "<starttls xmlns='%s'><required/></starttls>" % NS_TLS
                elif not authed:
                    if p.sock.getpeercert():
                        feats += ("<mechanisms xmlns='%s'><mechanism>EXTERNAL</mechanism>"
                                  "</mechanisms>" % NS_SASL)
                    feats += "<dialback xmlns='%s'><errors/></dialback>" % NS_DB_FEATURE
                p.send("<stream:features>%s</stream:features>" % feats)
                restart = False
                while not restart:
                    if authed:
                        self.reading.wait()
                    el = p.read_element()
                    if el.tag == q(NS_TLS, "starttls"):
                        p.send("<proceed xmlns='%s'/>" % NS_TLS)
                        p.sock = self.ctx.wrap_socket(p.sock, server_side=True)
                        p.reader.reset()
                        p.pending = []
                        tls = True
                        restart = True
                    elif el.tag == q(NS_SASL, "auth"):
                        if p.sock.getpeercert():
                            p.send("<success xmlns='%s'/>" % NS_SASL)
                            authed = True
                            with self.cond:
                                self.auth.append((frm, "sasl-external"))
                            p.reader.reset()
                            p.pending = []
                            restart = True
                        else:
                            p.send("<failure xmlns='%s'><not-authorized/></failure>" % NS_SASL)
                    elif el.tag == q(NS_DB, "verify"):
                        key = (el.text or "").strip()
                        with self.cond:
                            self.verify_questions.append((el.get("from"), el.get("to"),
                                                          el.get("id"), key))
                        ok = self.verify_keys.get(key, False)
                        p.send("<db:verify from='%s' to='%s' id='%s' type='%s'/>" % (
                            el.get("to"), el.get("from"), el.get("id"),
                            "valid" if ok else "invalid"))
                    elif el.tag == q(NS_DB, "result") and el.get("from") in self.refuse_results:
                        with self.cond:
                            self.auth.append((el.get("from"), "refused"))
                        p.send("<db:result from='%s' to='%s' type='invalid'/>" % (
                            el.get("to"), el.get("from")))
                    elif el.tag == q(NS_DB, "result") and authed and self.break_on_results:
                        with self.cond:
                            self.auth.append((el.get("from"), "broke"))
                        p.send("<stream:error><undefined-condition xmlns='%s'/></stream:error>"
                               "</stream:stream>" % NS_STREAM_ERR)
                        raise StreamClosed(None)
                    elif el.tag == q(NS_DB, "result") and el.get("from") in self.ignore_results:
                        with self.cond:
                            self.auth.append((el.get("from"), "unanswered"))
                    elif el.tag == q(NS_DB, "result"):
                        # Accept dialback from fedgate (used by the bounce path).
                        authed = True
                        with self.cond:
                            self.auth.append((el.get("from"), "dialback"))
                            self.results.append((el.get("from"), el.get("to"), sid,
                                                 (el.text or "").strip()))
                        p.send("<db:result from='%s' to='%s' type='valid'/>" % (
                            el.get("to"), el.get("from")))
                    else:
                        with self.cond:
                            self.stanzas.append((frm, el))
                            self.cond.notify_all()
        except (StreamClosed, OSError, AssertionError, ssl.SSLError):
            pass
        finally:
            p.close()


def authenticated(host, port, to, frm, cafile, certfile, keyfile):
    """A peer past STARTTLS, SASL EXTERNAL (as |frm|) and the stream restart."""
    p = Peer.connect(host, port)
    p.open_authenticated(to, frm, cafile=cafile, certfile=certfile, keyfile=keyfile)
    return p


def header_refusal(host, port, to, frm):
    """Opens a stream from |frm| to |to| and returns the stream error it gets
    (a refusal before any authentication)."""
    p = Peer.connect(host, port)
    try:
        p.open_stream(to, frm)
        return p.expect_stream_error()
    finally:
        p.close()


def remote_sends_message_and_ping(host, port, pki, tag):
    """remote.test (certificate from |pki|) sends bob@b.test a message
    "hello bob TAG" and a ping iq with id ping-TAG to bob@b.test/e2e."""
    p = authenticated(host, port, "b.test", "remote.test", pki + "/ca.crt",
                      pki + "/remote.test.crt", pki + "/remote.test.key")
    p.send_message("alice@remote.test/x", "bob@b.test", "hello bob " + tag)
    p.send("<iq from='alice@remote.test/x' to='bob@b.test/e2e' type='get' id='ping-%s'>"
           "<ping xmlns='urn:xmpp:ping'/></iq>" % tag)
    return p


def wait_for(sink, pred, timeout=15):
    """The first stanza |sink| (a ReceivingServer) received that |pred|
    accepts, waiting up to |timeout| seconds for it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for _, el in list(sink.stanzas):
            if pred(el):
                return el
        time.sleep(0.05)
    raise AssertionError("expected stanza never arrived; got %d stanzas" % len(sink.stanzas))


def body_is(text):
    """A predicate: a stanza whose <body/> is |text|."""
    return lambda el: el.findtext(q(NS_SERVER, "body")) == text


def bounce_of(msg_id, condition):
    """A predicate: the error stanza answering |msg_id| with |condition|
    (RFC 6120 §8.3)."""
    def pred(el):
        if el.get("type") != "error" or el.get("id") != msg_id:
            return False
        err = el.find(q(NS_SERVER, "error"))
        return err is not None and err.find(q(NS_STANZA_ERR, condition)) is not None
    return pred
