#!/usr/bin/python3
"""s2sload: plays the internal XMPP servers of providers in front of fedgate.

(One file on purpose, though long: `make demo` runs it as a single script
with Debian's python3 and nothing else installed.)

For each domain D it can be (1) the internal server that fedgate's internal
hop delivers to (--serve D=HOST:PORT: an s2s listener with required STARTTLS,
SASL EXTERNAL for client certificates from fedgate's internal CA, dialback
only with --trust-dialback), and (2) the internal server that sends D's
outbound s2s traffic through fedgate's internal listener (--send
D=HOST:PORT: one STARTTLS + SASL EXTERNAL stream per remote domain). Traffic
is realistic s2s stanzas of 200 B to 4 KiB: chat messages in several scripts,
presence with XEP-0115 capabilities, disco#info queries and pubsub publishes.
Every stanza id carries its send time, so the receiving side measures
latency; iq requests are answered (type='result', or an error for unknown
users) back through the gateways whenever this process also sends for the
receiving domain. Run with --help for the flags; bench/README.md explains.

Exit status: 0 when nothing was lost (no stanza lost, corrupted, misrouted or
duplicated, every sender link authenticated), 1 otherwise, 2 on usage errors.
"""

import argparse
import asyncio
import base64
import hashlib
import json
import math
import os
import random
import re
import signal
import sys
import time
import zlib

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import s2s_proto as sp  # noqa: E402

PROG = "s2sload"
KINDS = ("message", "presence", "iq-get", "iq-set", "iq-result")
PENDING, DELIVERED, BOUNCED = 0, 1, 2

NS_CAPS = "http://jabber.org/protocol/caps"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_ATOM = "http://www.w3.org/2005/Atom"
CAPS_NODE = "https://s2sload.fedgate.test"

NAMES = ["alice", "bob", "carol", "dmitri", "eve", "farah", "gao", "hana", "ivan", "jamal",
         "kenji", "lena", "mei", "nour", "olga", "pablo", "qing", "rania", "sven", "tomoko"]
RESOURCES = ["laptop", "phone", "desk", "tablet"]

# Text in several scripts (written for this tool). Each entry: (xml:lang, text).
SCRIPTS = {
    "latin": ("en", "Shall we meet at the station café at three? Grüße aus Köln, "
                    "à bientôt, ¡hasta mañana! Ørsted and Łódź say hi. "),
    "cyrillic": ("ru", "Привет! Встретимся завтра в три у вокзала? Жду ответа, "
                       "погода отличная, возьми зонт на всякий случай. "),
    "cjk": ("zh", "你好！明天下午三点在车站见面吧。今日は本当にいい天気ですね。"
                  "내일 역 앞 카페에서 만나요. 谢谢，回头见。"),
    "arabic": ("ar", "مرحبا! هل نلتقي غدا في الساعة الثالثة عند المحطة؟ "
                     "الطقس جميل اليوم، إلى اللقاء قريبا. "),
    "emoji": ("und", "🎉🚀 😀👍🏽 ☕️ 👨‍👩‍👧‍👦 🇫🇷🇯🇵 ❤️‍🔥 🧑🏿‍💻 🐈‍⬛ ✅ "),
    "mixed": ("en", "<b>bold</b> & 'quoted' \"text\" — Привет 你好 مرحبا 🎉 a<b>c; "),
}

CAPS_IDENTITY = "client/pc//s2sload 1.0"
CAPS_FEATURES = sorted([
    "http://jabber.org/protocol/caps", "http://jabber.org/protocol/chatstates",
    "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items",
    "urn:xmpp:microblog:0+notify", "urn:xmpp:receipts", "urn:xmpp:ping", "urn:xmpp:time",
    "urn:xmpp:sid:0", "jabber:iq:version",
])


def caps_ver():
    """caps_ver: the XEP-0115 §5.1 verification string of our disco#info."""
    s = CAPS_IDENTITY + "<" + "".join(f + "<" for f in CAPS_FEATURES)
    return base64.b64encode(hashlib.sha1(s.encode()).digest()).decode()


CAPS_VER = caps_ver()


def user_name(i):
    return NAMES[i % len(NAMES)] + (str(i // len(NAMES)) if i >= len(NAMES) else "")


def digest(text):
    return zlib.crc32((text or "").encode("utf-8"))


def percentile(sorted_vals, p):
    if not sorted_vals:
        return 0.0
    k = max(0, min(len(sorted_vals) - 1, int(math.ceil(p / 100.0 * len(sorted_vals))) - 1))
    return sorted_vals[k]


# --- traffic ---------------------------------------------------------------


class Traffic:
    """Builds realistic s2s stanzas of 200 B - 4 KiB (UTF-8 bytes on the wire)."""

    def __init__(self, rng, users, mix, bounce_fraction):
        self.rng = rng
        self.users = users
        kinds, weights = [], []
        for k, w in mix.items():
            if w > 0:
                kinds.append(k)
                weights.append(w)
        self.kinds, self.weights = kinds, weights
        self.bounce_fraction = bounce_fraction

    def fill(self, script, nbytes):
        """fill returns text of |script| whose escaped UTF-8 size is <= nbytes."""
        lang, phrase = SCRIPTS[script]
        if nbytes <= 0:
            return ""
        start = self.rng.randrange(len(phrase))
        text = phrase[start:]
        while len(sp.esc(text).encode()) < nbytes:
            text += phrase
        size = len(sp.esc(text).encode())
        while size > nbytes:
            ch = text[-1]
            text = text[:-1]
            size -= len(sp.esc(ch).encode())
        return text.strip() or phrase[0]

    def size(self, lo, hi):
        return int(math.exp(self.rng.uniform(math.log(lo), math.log(hi))))

    def pick(self):
        return self.rng.choices(self.kinds, self.weights)[0]

    def jids(self, src, dst, kind):
        r = self.rng
        frm = "%s@%s/%s" % (user_name(r.randrange(self.users)), src, r.choice(RESOURCES))
        unknown = (kind in ("message", "iq-get", "iq-set") and self.bounce_fraction > 0
                   and r.random() < self.bounce_fraction)
        to_user = ("nobody%d" % r.randrange(1000)) if unknown else user_name(
            r.randrange(self.users))
        return frm, to_user, unknown

    def build(self, kind, src, dst, sid):
        """build returns (xml, digest, to_unknown) for one stanza of |kind|."""
        r = self.rng
        frm, to_user, unknown = self.jids(src, dst, kind)
        if kind == "message":
            script = r.choice(list(SCRIPTS))
            lang = SCRIPTS[script][0]
            head = ("<message from='%s' to='%s@%s' type='chat' id='%s' xml:lang='%s'><body>"
                    % (sp.esc(frm), to_user, dst, sid, lang))
            tail = ("</body><active xmlns='http://jabber.org/protocol/chatstates'/>"
                    "<request xmlns='urn:xmpp:receipts'/>"
                    "<origin-id xmlns='urn:xmpp:sid:0' id='%s'/></message>" % sid)
            body = self.fill(script, self.size(200, 4096) - len(head) - len(tail))
            return head + sp.esc(body) + tail, digest(body), unknown
        if kind == "presence":
            show = r.choice(["away", "chat", "dnd", "xa"])
            head = ("<presence from='%s' to='%s@%s' id='%s'><show>%s</show><status>"
                    % (sp.esc(frm), to_user, dst, sid, show))
            tail = ("</status><priority>%d</priority><c xmlns='%s' hash='sha-1' node='%s' "
                    "ver='%s'/><x xmlns='vcard-temp:x:update'><photo>%s</photo></x></presence>"
                    % (r.randrange(-1, 50), NS_CAPS, CAPS_NODE, CAPS_VER,
                       hashlib.sha1(frm.encode()).hexdigest()))
            status = self.fill(r.choice(list(SCRIPTS)), self.size(200, 1200) - len(head) - len(tail))
            return head + sp.esc(status) + tail, digest(status + CAPS_VER), unknown
        if kind == "iq-get":
            node = "%s#%s" % (CAPS_NODE, CAPS_VER)
            x = ("<iq type='get' from='%s' to='%s@%s/%s' id='%s'><query xmlns='%s' node='%s'/></iq>"
                 % (sp.esc(frm), to_user, dst, r.choice(RESOURCES), sid, NS_DISCO_INFO, node))
            return x, digest(node), unknown
        if kind == "iq-set":
            item = "%x" % r.getrandbits(64)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            script = r.choice(list(SCRIPTS))
            head = ("<iq type='set' from='%s' to='%s@%s' id='%s'><pubsub xmlns='%s'>"
                    "<publish node='urn:xmpp:microblog:0'><item id='%s'><entry xmlns='%s'>"
                    "<title>s2sload post %s</title><content type='text'>"
                    % (sp.esc(frm), to_user, dst, sid, NS_PUBSUB, item, NS_ATOM, item))
            tail = ("</content><published>%s</published><updated>%s</updated></entry></item>"
                    "</publish></pubsub></iq>" % (stamp, stamp))
            content = self.fill(script, self.size(400, 4096) - len(head) - len(tail))
            return head + sp.esc(content) + tail, digest(content), unknown
        raise ValueError(kind)


def received_digest(kind, elem):
    """received_digest: the digest of what build() put in a stanza of |kind|."""
    S = sp.NS_SERVER
    if kind == "message":
        b = elem.find(sp.q(S, "body"))
        return digest(b.text if b is not None else None)
    if kind == "presence":
        s = elem.find(sp.q(S, "status"))
        c = elem.find(sp.q(NS_CAPS, "c"))
        return digest(((s.text or "") if s is not None else "") +
                      (c.get("ver", "") if c is not None else ""))
    if kind == "iq-get":
        qn = elem.find(sp.q(NS_DISCO_INFO, "query"))
        return digest(qn.get("node") if qn is not None else None)
    if kind == "iq-set":
        c = elem.find(".//" + sp.q(NS_ATOM, "content"))
        return digest(c.text if c is not None else None)
    return None


def stanza_kind(elem):
    tag = sp.local(elem.tag)
    if tag == "iq":
        t = elem.get("type")
        return {"get": "iq-get", "set": "iq-set", "result": "iq-result"}.get(t, "iq-" + str(t))
    return tag


def iq_result(elem, frm, to):
    """iq_result builds the answer an internal server gives to our iq get/set."""
    sid = elem.get("id")
    if elem.get("type") == "get":
        qn = elem.find(sp.q(NS_DISCO_INFO, "query"))
        node = qn.get("node") if qn is not None else None
        feats = "".join("<feature var='%s'/>" % f for f in CAPS_FEATURES)
        return ("<iq type='result' from='%s' to='%s' id='%s'><query xmlns='%s'%s>"
                "<identity category='client' type='pc' name='s2sload 1.0'/>%s</query></iq>"
                % (sp.esc(frm), sp.esc(to), sp.esc(sid), NS_DISCO_INFO,
                   (" node='%s'" % sp.esc(node)) if node else "", feats))
    item = elem.find(".//" + sp.q(NS_PUBSUB, "item"))
    iid = item.get("id") if item is not None else "current"
    return ("<iq type='result' from='%s' to='%s' id='%s'><pubsub xmlns='%s'>"
            "<publish node='urn:xmpp:microblog:0'><item id='%s'/></publish></pubsub></iq>"
            % (sp.esc(frm), sp.esc(to), sp.esc(sid), NS_PUBSUB, sp.esc(iid)))


def stanza_error(elem, frm, to, condition="service-unavailable", etype="cancel"):
    """stanza_error builds the error an internal server returns (RFC 6120 §8.3)."""
    tag = sp.local(elem.tag)
    return ("<%s type='error' from='%s' to='%s' id='%s'><error type='%s'><%s xmlns='%s'/>"
            "</error></%s>" % (tag, sp.esc(frm), sp.esc(to), sp.esc(elem.get("id") or ""),
                               etype, condition, sp.NS_STANZA_ERR, tag))


# --- accounting ------------------------------------------------------------


class Rec:
    __slots__ = ("kind", "src", "dst", "ns", "digest", "state", "unknown", "answer", "cond")

    def __init__(self, kind, src, dst, ns, dig, unknown, answer):
        self.kind, self.src, self.dst, self.ns, self.digest = kind, src, dst, ns, dig
        self.state = PENDING
        self.unknown = unknown
        self.answer = answer  # a result or error comes back through a sender of ours
        self.cond = None


class Tracker:
    """Every stanza this process sent, and what became of it."""

    def __init__(self, run):
        self.prefix = "s2sload-%s-" % run
        self.seq = 0
        self.recs = {}  # id -> Rec of an original stanza
        self.results = {}  # id -> Rec of the iq result (or error) we answered with
        self.by_kind = {k: {"sent": 0, "delivered": 0, "bounced": 0, "lost": 0} for k in KINDS}
        self.sent = self.delivered = self.bounced = 0
        self.corrupted = self.misrouted = self.duplicates = self.stray = 0
        self.unexpected_bounces = 0  # bounces of stanzas to existing users
        # First arrivals behind a later stanza of the same (sender, receiver)
        # domain pair, whose one sender stream numbers them in sending order.
        self.out_of_order = 0
        self.last_seq = {}
        self.foreign = {}
        self.conditions = {}
        self.lat_ms = []
        self.rtt_ms = []
        self.first_send = None
        self.last_event = None
        self.problems = []  # a few examples, for the report

    def new_id(self):
        self.seq += 1
        return "%s%d-%d" % (self.prefix, self.seq, time.time_ns())

    def note(self, text):
        if len(self.problems) < 20:
            self.problems.append(text)

    def on_sent(self, sid, kind, src, dst, dig, unknown, answer):
        now = time.monotonic()
        if self.first_send is None:
            self.first_send = now
        self.recs[sid] = Rec(kind, src, dst, time.time_ns(), dig, unknown, answer)
        self.sent += 1
        self.by_kind[kind]["sent"] += 1

    def on_answer_sent(self, sid, src, dst, kind):
        self.results[sid] = Rec(kind, src, dst, time.time_ns(), None, False, False)
        self.sent += 1
        self.by_kind["iq-result"]["sent"] += 1

    def _deliver(self, rec, kind, latency_ns):
        rec.state = DELIVERED
        self.delivered += 1
        self.by_kind[kind]["delivered"] += 1
        self.lat_ms.append(latency_ns / 1e6)
        self.last_event = time.monotonic()

    def _bounce(self, rec, kind, cond):
        rec.state = BOUNCED
        rec.cond = cond
        self.bounced += 1
        self.by_kind[kind]["bounced"] += 1
        self.conditions[cond] = self.conditions.get(cond, 0) + 1
        if not rec.unknown:
            self.unexpected_bounces += 1
            self.note("%s %s -> %s bounced: %s" % (kind, rec.src, rec.dst, cond))
        self.last_event = time.monotonic()

    def sent_ns(self, sid):
        try:
            return int(sid.rsplit("-", 1)[1])
        except (IndexError, ValueError):
            return None

    def on_receive(self, local_domain, stream_from, elem, reply):
        """on_receive accounts one stanza that reached the internal server for
        |local_domain| on a stream from |stream_from|; |reply| answers through
        our sender for the pair, when there is one (returns False if not)."""
        now = time.time_ns()
        sid = elem.get("id") or ""
        kind = stanza_kind(elem)
        typ = elem.get("type")
        if not sid.startswith(self.prefix):
            self.foreign[kind] = self.foreign.get(kind, 0) + 1
            self.answer_foreign(local_domain, elem, kind, reply)
            return
        if typ == "error":
            cond = sp.stanza_error_of(elem)
            rec = self.recs.get(sid)
            if rec is not None and rec.state == PENDING and rec.src == local_domain:
                self._bounce(rec, rec.kind, cond)
                return
            res = self.results.get(sid)
            if res is not None and res.state == PENDING and res.src == local_domain:
                self._bounce(res, "iq-result", cond)
                return
            self.stray += 1
            self.note("unexpected error stanza %s (%s) at %s" % (sid, cond, local_domain))
            return
        if kind == "iq-result":
            res = self.results.get(sid)
            if res is None:
                self.stray += 1
                self.note("iq result for unknown id %s at %s" % (sid, local_domain))
                return
            if res.state != PENDING:
                self.duplicates += 1
                return
            if local_domain != res.dst or sp.domain_of(elem.get("from")) != res.src:
                self.misrouted += 1
                self.note("iq result %s from %s reached %s, expected %s" % (
                    sid, elem.get("from"), local_domain, res.dst))
            self._deliver(res, "iq-result", now - res.ns)
            t0 = self.sent_ns(sid)
            if t0:
                self.rtt_ms.append((now - t0) / 1e6)
            return
        rec = self.recs.get(sid)
        if rec is None:
            self.stray += 1
            self.note("stanza with unknown id %s at %s" % (sid, local_domain))
            return
        if rec.state != PENDING:
            self.duplicates += 1
            self.note("duplicate %s %s at %s" % (kind, sid, local_domain))
            return
        if (local_domain != rec.dst or stream_from != rec.src or kind != rec.kind
                or sp.domain_of(elem.get("from")) != rec.src
                or sp.domain_of(elem.get("to")) != local_domain):
            self.misrouted += 1
            self.note("%s %s from %s to %s arrived at %s on a stream from %s" % (
                kind, sid, elem.get("from"), elem.get("to"), local_domain, stream_from))
        seq = int(sid[len(self.prefix):].split("-")[0])
        if seq < self.last_seq.get((rec.src, rec.dst), 0):
            self.out_of_order += 1
            self.note("%s %s arrived after a later stanza of %s -> %s" % (kind, sid, rec.src,
                                                                          rec.dst))
        else:
            self.last_seq[(rec.src, rec.dst)] = seq
        if received_digest(kind, elem) != rec.digest:
            self.corrupted += 1
            self.note("%s %s: payload changed in transit" % (kind, sid))
        if rec.unknown:
            # An internal server bounces stanzas to accounts it does not have
            # (RFC 6121 §8.5.2); the original counts once the error is back.
            reply(stanza_error(elem, elem.get("to"), elem.get("from")), sid, None)
            return
        t0 = self.sent_ns(sid) or rec.ns
        self._deliver(rec, kind, now - t0)
        if kind in ("iq-get", "iq-set") and rec.answer:
            reply(iq_result(elem, elem.get("to"), elem.get("from")), sid, "iq-result")

    def answer_foreign(self, local_domain, elem, kind, reply):
        """Stanzas another s2sload process sent get the same answers, untracked."""
        if elem.get("type") == "error" or kind not in ("message", "iq-get", "iq-set"):
            return
        to = elem.get("to") or ""
        user = to.split("@", 1)[0] if "@" in to else ""
        if user.startswith("nobody"):
            reply(stanza_error(elem, to, elem.get("from")), None, None)
        elif kind in ("iq-get", "iq-set"):
            reply(iq_result(elem, to, elem.get("from")), None, None)

    def pending(self):
        return (sum(1 for r in self.recs.values() if r.state == PENDING) +
                sum(1 for r in self.results.values() if r.state == PENDING))

    def finish(self):
        """finish counts whatever is still pending, plus answers that never
        were sent though one was due, as lost."""
        lost = 0
        for rec in self.recs.values():
            if rec.state == PENDING:
                lost += 1
                self.by_kind[rec.kind]["lost"] += 1
                self.note("lost %s %s -> %s" % (rec.kind, rec.src, rec.dst))
        for rec in self.results.values():
            if rec.state == PENDING:
                lost += 1
                self.by_kind["iq-result"]["lost"] += 1
                self.note("lost iq-result %s -> %s" % (rec.src, rec.dst))
        return lost


# --- links -----------------------------------------------------------------


class LinkInfo:
    def __init__(self, direction, frm, to, peer):
        self.direction = direction  # "out": s2sload -> fedgate; "in": fedgate -> s2sload
        self.frm, self.to, self.peer = frm, to, peer
        self.tls_version = self.cipher = self.auth = None
        self.stanzas = 0
        self.error = None
        self.up = False

    def json(self):
        return {"direction": self.direction, "from": self.frm, "to": self.to,
                "peer": self.peer, "tls_version": self.tls_version, "cipher": self.cipher,
                "auth": self.auth, "stanzas": self.stanzas, "error": self.error}


class Sender:
    """The internal server for |domain| sending to |remote| through fedgate's
    internal listener: STARTTLS, client certificate, SASL EXTERNAL ('='),
    stream restarts (RFC 6120 §4.3.3, §5, §6; XEP-0178)."""

    def __init__(self, app, domain, remote, host, port):
        self.app, self.domain, self.remote = app, domain, remote
        self.host, self.port = host, port
        self.link = LinkInfo("out", domain, remote, "%s:%d" % (host, port))
        self.stream = None
        self.ready = asyncio.Event()
        self.failed = False
        self.backlog = []

    async def features(self, st):
        await st.header()
        f = await st.element()
        if f.tag != sp.q(sp.NS_STREAM, "features"):
            raise sp.StreamClosed("bad-format", "expected stream features, got " + f.tag)
        return f

    async def connect(self):
        a = self.app.args
        stage = "connect"
        try:
            r, w = await sp.open_connection(self.host, self.port, a.connect_timeout)
            st = self.stream = sp.Stream(r, w)
            stage = "stream header"
            st.open(self.domain, self.remote)
            f = await self.features(st)
            stage = "STARTTLS"
            if f.find(sp.q(sp.NS_TLS, "starttls")) is None:
                raise RuntimeError("the peer offers no STARTTLS")
            st.send("<starttls xmlns='%s'/>" % sp.NS_TLS)
            el = await st.element()
            if el.tag != sp.q(sp.NS_TLS, "proceed"):
                raise RuntimeError("STARTTLS refused (%s)" % sp.local(el.tag))
            crt, key = self.app.cert_for(self.domain)
            ctx = sp.client_context(crt, key, a.server_ca.get(self.domain, a.server_ca[""]),
                                    a.server_name_check)
            await asyncio.wait_for(w.start_tls(ctx, server_hostname=self.remote),
                                   a.connect_timeout)
            st.restart()
            stage = "TLS (client certificate refused?) or the stream restart after it"
            st.open(self.domain, self.remote)
            f = await self.features(st)
            stage = "SASL EXTERNAL"
            mechs = [m.text for m in f.iter(sp.q(sp.NS_SASL, "mechanism"))]
            if "EXTERNAL" not in mechs:
                raise RuntimeError("SASL EXTERNAL not offered (mechanisms: %s)" % (
                    ", ".join(mechs) or "none"))
            st.send("<auth xmlns='%s' mechanism='EXTERNAL'>=</auth>" % sp.NS_SASL)
            el = await st.element()
            if el.tag != sp.q(sp.NS_SASL, "success"):
                why = [sp.local(c.tag) for c in el] or [sp.local(el.tag)]
                raise RuntimeError("SASL EXTERNAL failed: %s" % why[0])
            st.restart()
            stage = "the stream restart after SASL"
            st.open(self.domain, self.remote)
            await self.features(st)
        except (sp.StreamClosed, RuntimeError, OSError, asyncio.TimeoutError) as e:
            self.fail("%s (during %s)" % (describe(e), stage))
            return
        self.link.tls_version, self.link.cipher = st.tls_info()
        self.link.auth = "sasl-external"
        self.link.up = True
        for x in self.backlog:
            st.send(x)
        self.backlog = []
        self.ready.set()
        asyncio.get_running_loop().create_task(self.read_loop())

    def fail(self, why):
        if self.link.error is None:
            self.link.error = why
        self.failed = True
        self.link.up = False
        self.ready.set()

    async def read_loop(self):
        st = self.stream
        try:
            while True:
                el = await st.element()
                self.app.log("%s -> %s: unexpected <%s/> on an outbound stream" % (
                    self.domain, self.remote, sp.local(el.tag)))
        except sp.StreamClosed as e:
            if not self.app.closing:
                self.fail("stream closed by the peer" + (
                    ": " + e.condition if e.condition else ""))
                self.app.log("link %s -> %s: %s" % (self.domain, self.remote, self.link.error))
            if e.condition is None:
                # RFC 6120 §4.4: the peer closed first (a gateway draining):
                # answer with our closing tag so that it can end the connection.
                try:
                    st.send("</stream:stream>")
                    st.close()
                except (ConnectionError, OSError, RuntimeError):
                    pass

    def send(self, xml):
        """send writes one stanza; returns False when the link is down."""
        if self.link.up:
            self.stream.send(xml)
            self.link.stanzas += 1
            return True
        if not self.failed:
            self.backlog.append(xml)
            self.link.stanzas += 1
            return True
        return False

    async def drain(self):
        if self.link.up:
            try:
                await self.stream.drain()
            except (ConnectionError, OSError) as e:
                self.fail(describe(e))

    async def close(self):
        if self.stream is not None:
            try:
                self.stream.send("</stream:stream>")
                await asyncio.wait_for(self.stream.drain(), 1)
            except (ConnectionError, OSError, asyncio.TimeoutError):
                pass
            self.stream.close()


def describe(e):
    if isinstance(e, sp.StreamClosed):
        if e.condition:
            return "stream error %s%s" % (e.condition, (": " + e.text) if e.text else "")
        return "connection closed by the peer"
    if isinstance(e, asyncio.TimeoutError):
        return "timed out"
    return str(e) or e.__class__.__name__


class Listener:
    """The internal server for |domain| receiving fedgate's internal hop:
    required STARTTLS with |domain|'s certificate, SASL EXTERNAL for client
    certificates chaining to the client CA, dialback only when trusted."""

    def __init__(self, app, domain, host, port):
        self.app, self.domain, self.host, self.port = app, domain, host, port
        crt, key = app.cert_for(domain)
        cas = app.args.client_ca
        self.ctx = sp.server_context(crt, key, cas.get(domain, cas[""]))
        self.server = None
        self.links = []
        self.writers = set()

    async def start(self):
        self.server = await asyncio.start_server(self.serve, self.host, self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def serve(self, reader, writer):
        peer = writer.get_extra_info("peername")
        link = LinkInfo("in", None, self.domain, "%s:%d" % (peer[0], peer[1]) if peer else "?")
        self.writers.add(writer)
        st = sp.Stream(reader, writer)
        tls, auth, frm = False, None, None
        try:
            while True:
                hdr = await st.header()
                frm = (hdr.get("from") or "").lower()
                to = (hdr.get("to") or "").lower()
                link.frm = frm
                st.open(self.domain, frm, sp.new_stream_id())
                if to and to != self.domain:
                    st.error("host-unknown", "this is the internal server for " + self.domain)
                    raise sp.StreamClosed("host-unknown")
                feats = ""
                if not tls:
                    feats = "<starttls xmlns='%s'><required/></starttls>" % sp.NS_TLS
                elif auth is None:
                    if st.peer_cert():
                        feats += ("<mechanisms xmlns='%s'><mechanism>EXTERNAL</mechanism>"
                                  "</mechanisms>" % sp.NS_SASL)
                    if self.app.args.trust_dialback:
                        feats += "<dialback xmlns='%s'><errors/></dialback>" % sp.NS_DB_FEATURE
                st.send("<stream:features>%s</stream:features>" % feats)
                restart = False
                while not restart:
                    el = await st.element()
                    tag = el.tag
                    if tag == sp.q(sp.NS_TLS, "starttls") and not tls:
                        st.send("<proceed xmlns='%s'/>" % sp.NS_TLS)
                        await writer.start_tls(self.ctx)
                        tls = True
                        restart = True
                    elif not tls:
                        st.error("policy-violation", "STARTTLS is required")
                        raise sp.StreamClosed("policy-violation")
                    elif tag == sp.q(sp.NS_SASL, "auth") and auth is None:
                        ok, why = self.check_external(st, el, frm)
                        if ok:
                            st.send("<success xmlns='%s'/>" % sp.NS_SASL)
                            auth = "sasl-external"
                            self.authenticated(st, link, auth)
                            restart = True
                        else:
                            st.send("<failure xmlns='%s'><%s/></failure>" % (sp.NS_SASL, why))
                    elif tag == sp.q(sp.NS_DB, "result") and el.get("type") is None:
                        rf, rt = (el.get("from") or "").lower(), (el.get("to") or "").lower()
                        valid = (self.app.args.trust_dialback and rt == self.domain
                                 and rf == frm)
                        st.send("<db:result from='%s' to='%s' type='%s'/>" % (
                            sp.esc(rt), sp.esc(rf), "valid" if valid else "invalid"))
                        if valid and auth is None:
                            auth = "dialback"
                            self.authenticated(st, link, auth)
                    elif auth is None:
                        st.error("not-authorized", "authenticate first")
                        raise sp.StreamClosed("not-authorized")
                    elif sp.local(tag) in ("message", "presence", "iq"):
                        link.stanzas += 1
                        self.app.on_stanza(self.domain, frm, el)
                    else:
                        self.app.log("%s: ignoring <%s/> from %s" % (self.domain, tag, frm))
                if restart:
                    st.restart()
        except sp.StreamClosed as e:
            if e.condition and not self.app.closing:
                link.error = describe(e)
                self.app.log("link %s -> %s (%s): %s" % (frm, self.domain, link.peer, link.error))
            if e.condition is None:
                try:
                    st.send("</stream:stream>")  # RFC 6120 §4.4: answer the peer's close
                except (ConnectionError, OSError, RuntimeError):
                    pass
        except (ConnectionError, OSError) as e:
            if not self.app.closing:
                link.error = describe(e)
        finally:
            link.up = False
            self.writers.discard(writer)
            st.close()

    def check_external(self, st, el, frm):
        """XEP-0178 §3: EXTERNAL with authzid '=' (empty) or the stream's 'from',
        and a certificate (already chained to the client CA) naming that domain."""
        if el.get("mechanism") != "EXTERNAL":
            return False, "invalid-mechanism"
        cert = st.peer_cert()
        if not cert:
            return False, "not-authorized"
        text = (el.text or "").strip()
        authzid = ""
        if text and text != "=":
            try:
                authzid = base64.b64decode(text, validate=True).decode().lower()
            except (ValueError, UnicodeDecodeError):
                return False, "incorrect-encoding"
        if authzid and authzid != frm:
            return False, "invalid-authzid"
        if not frm or not sp.cert_matches_domain(cert, frm):
            return False, "not-authorized"
        return True, None

    def authenticated(self, st, link, auth):
        link.tls_version, link.cipher = st.tls_info()
        link.auth = auth
        link.up = True
        self.links.append(link)

    async def close(self):
        if self.server is not None:
            self.server.close()
        for w in list(self.writers):
            try:
                w.write(b"</stream:stream>")
                w.close()
            except (ConnectionError, OSError, RuntimeError):
                pass


# --- the run ---------------------------------------------------------------


class App:
    def __init__(self, args):
        self.args = args
        self.closing = False
        self.run = args.run_id or "%06x" % random.SystemRandom().getrandbits(24)
        self.tracker = Tracker(self.run)
        self.listeners = {}  # domain -> Listener
        self.senders = {}  # (domain, remote) -> Sender
        self.stop = asyncio.Event()
        self.sending_done = False
        self.abort = False
        self.t0 = None

    def log(self, text):
        if not self.args.quiet:
            self.progress_clear()
            print("%s: %s" % (PROG, text), file=sys.stderr, flush=True)

    def cert_for(self, domain):
        if domain in self.args.cert_map:
            return self.args.cert_map[domain]
        return (os.path.join(self.args.pki, domain + ".crt"),
                os.path.join(self.args.pki, domain + ".key"))

    def on_stanza(self, domain, stream_from, elem):
        def reply(xml, sid, kind):
            snd = self.senders.get((domain, sp.domain_of(elem.get("from"))))
            if snd is None:
                return False
            ok = snd.send(xml)
            if sid is not None and kind is not None:
                # Tracked even when the link is down: a due answer that
                # cannot leave counts as lost.
                self.tracker.on_answer_sent(sid, domain, sp.domain_of(elem.get("from")), kind)
            return ok
        self.tracker.on_receive(domain, stream_from, elem, reply)

    # progress line
    _progress_shown = False

    def progress_mode(self):
        m = self.args.progress
        if self.args.quiet:
            return "off"
        if m == "auto":
            return "tty" if sys.stderr.isatty() else "lines"
        return m

    def progress_text(self):
        t = self.tracker
        el = time.monotonic() - self.t0 if self.t0 else 0.0
        lat = sorted(t.lat_ms[-2000:])
        rate = t.delivered / el if el > 0 else 0.0
        return ("%s: %5.1fs sent %d delivered %d bounced %d pending %d  %.0f/s  p50 %.1f ms"
                % (PROG, el, t.sent, t.delivered, t.bounced, t.sent - t.delivered - t.bounced,
                   rate, percentile(lat, 50)))

    def progress_clear(self):
        if self._progress_shown:
            sys.stderr.write("\r\033[K")
            self._progress_shown = False

    async def progress_loop(self):
        mode = self.progress_mode()
        if mode == "off":
            return
        period = 0.25 if mode == "tty" else 1.0
        while True:
            await asyncio.sleep(period)
            if mode == "tty":
                sys.stderr.write("\r\033[K" + self.progress_text())
                self._progress_shown = True
            else:
                sys.stderr.write(self.progress_text() + "\n")
            sys.stderr.flush()

    async def direction(self, snd, rng):
        """direction sends this run's traffic from snd.domain to snd.remote."""
        a = self.args
        traffic = Traffic(rng, a.users, a.mix, a.bounce_fraction)
        loop = asyncio.get_running_loop()
        start = loop.time()
        i = 0
        while not self.stop.is_set():
            if a.count and i >= a.count:
                break
            if a.duration and loop.time() - start >= a.duration:
                break
            if a.rate > 0:
                delay = start + i / a.rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            kind = traffic.pick()
            sid = self.tracker.new_id()
            xml, dig, unknown = traffic.build(kind, snd.domain, snd.remote, sid)
            answer = unknown or (kind.startswith("iq-") and not a.no_iq_replies and
                                 (snd.remote, snd.domain) in self.senders)
            if not snd.send(xml):
                self.log("link %s -> %s is down: stopping that direction" % (
                    snd.domain, snd.remote))
                break
            self.tracker.on_sent(sid, kind, snd.domain, snd.remote, dig, unknown, answer)
            i += 1
            await snd.drain()
            if a.rate <= 0 and i % 16 == 0:
                await asyncio.sleep(0)

    async def main(self):
        a = self.args
        loop = asyncio.get_running_loop()
        def on_signal():
            # The first signal ends sending (then the grace period runs);
            # a second one ends the grace period too.
            if self.stop.is_set():
                self.abort = True
            self.stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        for d, (host, port) in a.serve:
            lst = Listener(self, d, host, port)
            try:
                await lst.start()
            except OSError as e:
                print("%s: cannot listen on %s:%d for %s: %s" % (PROG, host, port, d, e),
                      file=sys.stderr)
                return 1
            self.listeners[d] = lst
            self.log("internal server for %s listening on %s:%d" % (d, host, lst.port))
        if a.ready_file:
            with open(a.ready_file + ".tmp", "w") as f:
                json.dump({d: l.port for d, l in self.listeners.items()}, f)
            os.replace(a.ready_file + ".tmp", a.ready_file)
        for d, (host, port) in a.send:
            for r in a.remotes[d]:
                self.senders[(d, r)] = Sender(self, d, r, host, port)
        self.t0 = time.monotonic()
        progress = loop.create_task(self.progress_loop())
        failed_links = 0
        if self.senders:
            await asyncio.gather(*(s.connect() for s in self.senders.values()))
            for s in self.senders.values():
                if s.failed:
                    failed_links += 1
                    self.log("link %s -> %s via %s: %s" % (s.domain, s.remote, s.link.peer,
                                                           s.link.error))
            up = [s for s in self.senders.values() if s.link.up]
            rngs = random.Random(a.seed)
            self.t0 = time.monotonic()
            await asyncio.gather(*(self.direction(s, random.Random(rngs.getrandbits(64)))
                                   for s in up))
            self.sending_done = True
            # Grace: wait for deliveries, bounces and iq answers.
            deadline = time.monotonic() + a.grace
            while time.monotonic() < deadline and not self.abort:
                if self.tracker.pending() == 0:
                    break
                last = self.tracker.last_event or 0
                # Answers sent late extend the wait, up to the grace period each.
                deadline = max(deadline, min(last + a.grace, time.monotonic() + a.grace))
                await asyncio.sleep(0.05)
        else:
            # Receive-only: serve until a signal or --duration.
            try:
                await asyncio.wait_for(self.stop.wait(), a.duration or None)
            except asyncio.TimeoutError:
                pass
        end = time.monotonic()
        # Links that came up and later failed count too.
        failed_links = sum(1 for s in self.senders.values() if s.failed)
        progress.cancel()
        self.progress_clear()
        self.closing = True
        for s in self.senders.values():
            await s.close()
        for lst in self.listeners.values():
            await lst.close()
        return self.report(end, failed_links)

    def report(self, end, failed_links):
        a, t = self.args, self.tracker
        lost = t.finish()
        span_end = t.last_event or end
        span = (span_end - t.first_send) if t.first_send else 0.0
        lat = sorted(t.lat_ms)
        rtt = sorted(t.rtt_ms)
        links = [s.link for s in self.senders.values()]
        for lst in self.listeners.values():
            links += lst.links
        ok = (lost == 0 and t.corrupted == 0 and t.misrouted == 0 and t.duplicates == 0
              and failed_links == 0 and (t.sent > 0 or not self.senders)
              and not (a.strict and t.unexpected_bounces))
        out = {
            "sent": t.sent, "delivered": t.delivered, "bounced": t.bounced, "lost": lost,
            "stanzas_per_s": round((t.delivered + t.bounced) / span, 1) if span > 0 else 0.0,
            "p50_ms": round(percentile(lat, 50), 3), "p99_ms": round(percentile(lat, 99), 3),
            "max_ms": round(lat[-1], 3) if lat else 0.0,
            "iq_rtt_p50_ms": round(percentile(rtt, 50), 3),
            "duration_s": round(span, 3),
            "corrupted": t.corrupted, "misrouted": t.misrouted, "duplicates": t.duplicates,
            "out_of_order": t.out_of_order,
            "stray": t.stray, "foreign_received": t.foreign,
            "bounce_conditions": t.conditions, "unexpected_bounces": t.unexpected_bounces, "by_kind": t.by_kind,
            "links": [ln.json() for ln in links],
            "gateway_links": gateway_links(a.gateway_log),
            "failed_links": failed_links, "problems": t.problems, "ok": ok,
        }
        if a.json:
            print(json.dumps(out, indent=1, ensure_ascii=False))
        else:
            print(human(out, a))
        return 0 if ok else 1


def human(o, a):
    lines = []
    per = ", ".join("%s %d" % (k, v["sent"]) for k, v in o["by_kind"].items() if v["sent"])
    lines.append("s2sload summary")
    lines.append("  sent        %7d  (%s)" % (o["sent"], per or "none"))
    lines.append("  delivered   %7d" % o["delivered"])
    conds = ", ".join("%s %d" % kv for kv in sorted(o["bounce_conditions"].items()))
    lines.append("  bounced     %7d%s" % (o["bounced"], ("  (" + conds + ")") if conds else ""))
    lines.append("  lost        %7d" % o["lost"])
    for k in ("unexpected_bounces", "corrupted", "misrouted", "duplicates", "stray"):
        if o[k]:
            lines.append("  %-11s %7d" % (k.replace("_", " "), o[k]))
    if o["foreign_received"]:
        lines.append("  received from other runs: %s" % ", ".join(
            "%s %d" % kv for kv in sorted(o["foreign_received"].items())))
    lines.append("  throughput  %7.1f stanzas/s over %.2f s" % (o["stanzas_per_s"],
                                                              o["duration_s"]))
    lines.append("  latency     p50 %.2f ms  p99 %.2f ms  max %.2f ms  (iq round trip p50 %.2f ms)"
                 % (o["p50_ms"], o["p99_ms"], o["max_ms"], o["iq_rtt_p50_ms"]))
    lines.append("  links")
    for ln in o["links"]:
        arrow = "s2sload -> %s" % ln["peer"] if ln["direction"] == "out" else \
            "%s -> s2sload" % ln["peer"]
        lines.append("    %-3s %s -> %s  %-8s %-28s %-14s %5d stanzas  (%s)%s" % (
            ln["direction"], ln["from"], ln["to"], ln["tls_version"] or "-",
            ln["cipher"] or "-", ln["auth"] or "-", ln["stanzas"], arrow,
            ("  ERROR: " + ln["error"]) if ln["error"] else ""))
    if o["gateway_links"]:
        lines.append("  gateway links (from the gateways' logs)")
        for ln in o["gateway_links"]:
            lines.append("    %-3s %s -> %s  %-8s %-28s %-14s (fedgate %s -> %s)" % (
                "gw", ln["from"], ln["to"], ln["tls_version"], ln["cipher"], ln["auth"],
                ln["gateway"], ln["peer"]))
    if o["problems"]:
        lines.append("  first problems:")
        lines += ["    " + p for p in o["problems"][:10]]
    lines.append("result: %s" % ("PASS (nothing lost)" if o["ok"] else "FAIL"))
    return "\n".join(lines)


# fedgate logs one line per outbound link that became ready, e.g.
# "... remote link a.test -> b.test ready via 127.0.0.1:5269: TLSv1.3
# TLS_AES_128_GCM_SHA256, sasl-external, peer proved by pkix" (" (resumed)"
# after the cipher when the TLS session was resumed).
GW_LINK = re.compile(r"remote link (\S+) -> (\S+) ready via (\S+): (\S+) (\S+)( \(resumed\))?, "
                     r"([^,\s]+)(?:, peer proved by (\S+))?\s*$")


def gateway_links(logs):
    out = []
    for name, path in logs:
        try:
            with open(path, errors="replace") as f:
                for line in f:
                    m = GW_LINK.search(line)
                    if m:
                        out.append({"gateway": name, "from": m.group(1), "to": m.group(2),
                                    "peer": m.group(3), "tls_version": m.group(4),
                                    "cipher": m.group(5), "resumed": bool(m.group(6)),
                                    "auth": m.group(7), "peer_auth": m.group(8) or ""})
        except OSError:
            pass
    return out


# --- command line ----------------------------------------------------------


def parse_hostport(s):
    host, sep, port = s.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError("expected HOST:PORT, got '%s'" % s)
    return host.strip("[]") or "127.0.0.1", int(port)


def parse_mix(s):
    mix = {"message": 0, "presence": 0, "iq-get": 0, "iq-set": 0}
    for part in s.split(","):
        k, sep, v = part.partition("=")
        k = k.strip()
        if k not in mix or not sep:
            raise ValueError("--mix takes message=W,presence=W,iq-get=W,iq-set=W, got '%s'"
                             % part)
        mix[k] = float(v)
    if sum(mix.values()) <= 0:
        raise ValueError("--mix: every weight is zero")
    return mix


EPILOG = """\
roles (repeat the flags; D is a domain such as a.test):
  --serve D=HOST:PORT   be the internal server that fedgate's internal hop
                        delivers D's incoming s2s traffic to (port 0: any)
  --send D=HOST:PORT    be D's internal server sending outbound s2s through
                        fedgate's internal listener at HOST:PORT, one stream
                        per remote domain (--to), authenticated with D's
                        certificate by SASL EXTERNAL

the demo (two gateways for a.test and b.test on loopback; each gateway's
internal listener at *:IN_x, its backend for its domain at *:SRV_x, and ICA_x
its internal_hop.ca_cert; bench/s2sload_demo.sh does all of it):
  s2sload.py --pki PKI \\
      --client-ca a.test=ICA_A/ca.crt --server-ca a.test=ICA_A/ca.crt \\
      --client-ca b.test=ICA_B/ca.crt --server-ca b.test=ICA_B/ca.crt \\
      --serve a.test=127.0.0.1:SRV_A --serve b.test=127.0.0.1:SRV_B \\
      --send a.test=127.0.0.1:IN_A --send b.test=127.0.0.1:IN_B \\
      --count 1500 --rate 500 --strict

self-test without fedgate (the sender for a.test talks to the listener for
b.test as if it were fedgate):
  s2sload.py --pki PKI --serve b.test=127.0.0.1:6269 --send a.test=127.0.0.1:6269

accounting: every stanza id is s2sload-RUN-SEQ-SENDNS. Delivered = reached
the internal server of its 'to' domain unchanged; bounced = came back to the
sender's internal server as type='error' (counted per condition); lost =
neither within --grace seconds after sending ends. iq get/set are answered
with type='result' back through the gateways when this process also sends
for the receiving domain (those results are counted as kind iq-result);
otherwise iq is one-way. Stanzas to unknown users (--bounce-fraction) are
bounced by the receiving internal server with service-unavailable.
exit status: 0 if nothing was lost, corrupted, misrouted or duplicated and
every sender link came up (with --strict: and nothing bounced unexpectedly);
1 otherwise; 2 on usage errors.
"""


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="s2sload.py",
        description="Load generator playing the internal XMPP servers of providers "
                    "behind fedgate: s2s listeners for fedgate's internal hop and s2s "
                    "senders into fedgate's internal listener.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("roles")
    g.add_argument("--serve", action="append", default=[], metavar="D=HOST:PORT",
                   help="listen as the internal server for domain D")
    g.add_argument("--send", action="append", default=[], metavar="D=HOST:PORT",
                   help="send as the internal server for D through fedgate at HOST:PORT")
    g.add_argument("--to", action="append", default=[], metavar="D=R[,R...]",
                   help="remote domains D's sender addresses (default: every other domain "
                        "named by --serve/--send); one stream per (D, R)")
    g = p.add_argument_group("certificates")
    g.add_argument("--pki", metavar="DIR", default=".",
                   help="directory as written by 'fedgate dev-pki': D.crt/D.key per domain "
                        "and ca.crt (default: .)")
    g.add_argument("--cert", action="append", default=[], metavar="D=CRT,KEY",
                   help="certificate chain and key for D instead of PKI/D.crt, PKI/D.key")
    g.add_argument("--client-ca", action="append", default=[], metavar="[D=]FILE",
                   help="CA that certificates presented to the listeners (for D) must chain "
                        "to: fedgate's internal_hop.ca_cert (default PKI/ca.crt)")
    g.add_argument("--server-ca", action="append", default=[], metavar="[D=]FILE",
                   help="CA D's sender verifies fedgate's internal listener certificate with "
                        "(default PKI/ca.crt; 'none' to skip the check)")
    g.add_argument("--server-name-check", action="store_true",
                   help="also require that certificate to name the stream's 'to' domain")
    g.add_argument("--trust-dialback", action="store_true",
                   help="listeners offer dialback and answer db:result with type='valid' "
                        "(fedgate's internal_hop.mode: dialback); default: SASL EXTERNAL only")
    g = p.add_argument_group("traffic")
    g.add_argument("--count", type=int, default=None, metavar="N",
                   help="stanzas per direction (default 200 unless --duration is given; "
                        "0 with no --duration: until SIGINT/SIGTERM)")
    g.add_argument("--rate", type=float, default=0.0, metavar="R",
                   help="stanzas per second per direction; 0 = as fast as possible (default)")
    g.add_argument("--duration", type=float, default=0.0, metavar="S",
                   help="send for S seconds (with --count: whichever ends first); "
                        "receive-only runs serve this long (default: until SIGINT/SIGTERM)")
    g.add_argument("--grace", type=float, default=5.0, metavar="S",
                   help="after sending, wait up to S seconds for deliveries, bounces and "
                        "answers before counting the rest as lost (default 5)")
    g.add_argument("--mix", default="message=55,presence=15,iq-get=15,iq-set=15",
                   help="relative weights of stanza kinds (default %(default)s)")
    g.add_argument("--users", type=int, default=50, metavar="N",
                   help="users per domain (default 50)")
    g.add_argument("--bounce-fraction", type=float, default=0.0, metavar="F",
                   help="address this fraction of messages and iqs to unknown users, which "
                        "the receiving internal server bounces (default 0)")
    g.add_argument("--strict", action="store_true",
                   help="also fail (exit 1) when a stanza to an existing user bounced; "
                        "bounces asked for by --bounce-fraction are expected")
    g.add_argument("--no-iq-replies", action="store_true",
                   help="do not answer iq get/set (count them one-way)")
    g.add_argument("--seed", type=int, default=None, help="random seed for the traffic")
    g.add_argument("--connect-timeout", type=float, default=10.0, metavar="S",
                   help="per sender link: connect, TLS and authentication (default 10)")
    g = p.add_argument_group("output")
    g.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    g.add_argument("--progress", choices=["auto", "tty", "lines", "off"], default="auto",
                   help="live progress on stderr: tty = one \\r-updated line, lines = a line "
                        "per second; auto picks by whether stderr is a terminal")
    g.add_argument("--quiet", action="store_true", help="no progress and no log lines")
    g.add_argument("--gateway-log", action="append", default=[], metavar="NAME=FILE",
                   help="a fedgate log file: its 'remote link ... ready' lines (the "
                        "gateway-to-gateway links) join the summary as gateway_links")
    g.add_argument("--ready-file", metavar="FILE",
                   help="once listening, write {domain: port} as JSON to FILE (for scripts)")
    g.add_argument("--run-id", help=argparse.SUPPRESS)
    a = p.parse_args(argv)

    def split_dom(s, flag):
        d, sep, rest = s.partition("=")
        if not sep or not d:
            p.error("%s takes D=VALUE, got '%s'" % (flag, s))
        return d.lower().rstrip("."), rest

    try:
        a.serve = [(d, parse_hostport(v)) for d, v in (split_dom(s, "--serve") for s in a.serve)]
        a.send = [(d, parse_hostport(v)) for d, v in (split_dom(s, "--send") for s in a.send)]
        a.mix = parse_mix(a.mix)
    except ValueError as e:
        p.error(str(e))
    if not a.serve and not a.send:
        p.error("give at least one --serve or --send")
    logs = []
    for s in a.gateway_log:
        name, sep, path = s.partition("=")
        if not sep or not name or not path:
            p.error("--gateway-log takes NAME=FILE, got '%s'" % s)
        logs.append((name, path))
    a.gateway_log = logs
    a.cert_map = {}
    for s in a.cert:
        d, v = split_dom(s, "--cert")
        crt, sep, key = v.partition(",")
        if not sep:
            p.error("--cert takes D=CRT,KEY")
        a.cert_map[d] = (crt, key)
    ca = os.path.join(a.pki, "ca.crt")

    def ca_map(values, flag):
        # FILE or D=FILE (a D has no '/'); "" is the default for other domains.
        m = {"": ca}
        for v in values:
            d, sep, f = v.partition("=")
            if sep and "/" not in d:
                m[d.lower().rstrip(".")] = f
            else:
                m[""] = v
        for k in m:
            if m[k] == "none":
                m[k] = None
        return m

    a.client_ca = ca_map(a.client_ca, "--client-ca")
    a.server_ca = ca_map(a.server_ca, "--server-ca")
    for flag, m, roles in (("--client-ca", a.client_ca, a.serve),
                           ("--server-ca", a.server_ca, a.send)):
        for d, _ in roles:
            f = m.get(d, m[""])
            if f is not None and not os.path.exists(f):
                p.error("%s: no file %s for %s" % (flag, f, d))
    domains = []
    for d, _ in a.serve + a.send:
        if d not in domains:
            domains.append(d)
    a.remotes = {}
    explicit = {}
    for s in a.to:
        d, v = split_dom(s, "--to")
        explicit[d] = [r.strip().lower() for r in v.split(",") if r.strip()]
    for d, _ in a.send:
        a.remotes[d] = explicit.get(d) or [x for x in domains if x != d]
        if not a.remotes[d]:
            p.error("no remote domain for the sender of %s: add --to %s=REMOTE" % (d, d))
    used = set(d for d, _ in a.serve) | set(d for d, _ in a.send)
    for d in used:
        crt, key = a.cert_map.get(d, (os.path.join(a.pki, d + ".crt"),
                                      os.path.join(a.pki, d + ".key")))
        for f in (crt, key):
            if not os.path.exists(f):
                p.error("no certificate file %s for %s (see --pki, --cert)" % (f, d))
    if a.count is None:
        a.count = 0 if a.duration else 200
    if a.count < 0 or a.rate < 0 or a.duration < 0 or a.grace < 0 or a.users < 1:
        p.error("--count, --rate, --duration, --grace must be >= 0 and --users >= 1")
    if not 0 <= a.bounce_fraction <= 1:
        p.error("--bounce-fraction is between 0 and 1")
    return a


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return asyncio.run(App(args).main())
    except KeyboardInterrupt:
        return 1


if __name__ == "__main__":
    sys.exit(main())
