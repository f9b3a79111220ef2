#!/usr/bin/python3
"""sink_checks_test: a system that rewrites stanzas cannot count them as
delivered.

A TLS-terminating relay (Python's ssl, in this process) stands where HAProxy
stands in `make bench`: s2sload's remote streams reach it over direct TLS
(XEP-0368) and it forwards their bytes in plaintext to s2sload's
plain-listen sink, rewriting some stanzas on the way: one byte of the body
flipped, the tail of the body dropped, or the `to` address changed. With
the sink parsing every stanza (--sink-parse full) each rewritten stanza must
be counted corrupted and not delivered; with the scanning sink (the suite's
default) the rewritten stanzas of the checked sample (sequence numbers
divisible by 64) must be. s2sload exits 1 either way. No timing
thresholds.

usage: sink_checks_test.py S2SLOAD FEDGATE SUT_PY
"""

import asyncio
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading

S2SLOAD, FEDGATE, SUT_PY = [os.path.realpath(a) for a in sys.argv[1:4]]
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(SUT_PY))
# bench/sut.py reserves its ports in the registry of tests/e2e/ports.py.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import sut  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402
from checks import check  # noqa: E402

SAMPLE_EVERY = 64  # FG_LOAD_SAMPLE_EVERY (bench/s2sload_core.h)
STANZA = re.compile(rb"<message[ >].*?</message>", re.S)
ID = re.compile(rb"id=['\"]L(\d+)\.(\d+)\.(\d+)['\"]")

def flip_body_byte(st):
    i = st.index(b"<body>") + len(b"<body>") + 3
    return st[:i] + (b"b" if st[i:i + 1] == b"a" else b"a") + st[i + 1:]


def drop_body_tail(st):
    i = st.index(b"</body>")
    return st[:i - 4] + st[i:]


def drop_child(st):
    """The chat state after the body left out: still well-formed."""
    return re.sub(rb"<active [^>]*/>", b"", st)


def cut_end(st):
    """The stanza's last bytes (its end tag) cut off."""
    return st[:-12]


def rewrite_to(st):
    m = re.search(rb"to='([^']*)'", st)
    v = m.group(1)
    return st[:m.start(1)] + v[:-1] + (b"u" if v[-1:] != b"u" else b"v") + st[m.end(1):]


class Relay:
    """TLS in (the sink's certificate, ALPN xmpp-server), plaintext out to
    the sink; every stanza |pick| selects is passed through |mangle|."""

    def __init__(self, pki, sink_port, mangle, pick):
        self.sink_port, self.mangle, self.pick = sink_port, mangle, pick
        self.mangled = 0
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain("%s/%s.crt" % (pki, sut.SINK_DOMAIN),
                                 "%s/%s.key" % (pki, sut.SINK_DOMAIN))
        self.ctx.set_alpn_protocols(["xmpp-server"])
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self.run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    def run(self, ready):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self.serve, sut.HOST, 0, ssl=self.ctx))
        self.port = self.server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def serve(self, cr, cw):
        sr, sw = await asyncio.open_connection(sut.HOST, self.sink_port)

        async def back():
            while True:
                data = await sr.read(65536)
                if not data:
                    break
                cw.write(data)
                await cw.drain()
            cw.close()

        task = asyncio.ensure_future(back())
        buf = b""
        while True:
            data = await cr.read(65536)
            if not data:
                break
            buf += data
            out, pos = [], 0
            for m in STANZA.finditer(buf):
                st = m.group(0)
                if self.pick(st):
                    st = self.mangle(st)
                    self.mangled += 1
                out += [buf[pos:m.start()], st]
                pos = m.end()
            # Hold back only a stanza not yet complete.
            start = buf.find(b"<message", pos)
            keep = start if start >= 0 else len(buf)
            out.append(buf[pos:keep])
            buf = buf[keep:]
            sw.write(b"".join(out))
            await sw.drain()
        sw.write(buf)
        sw.close()
        await task


def every_fifth():
    n = [0]

    def pick(st):
        n[0] += 1
        return n[0] % 5 == 0
    return pick


def sampled(st):
    m = ID.search(st)
    return m is not None and int(m.group(2)) % SAMPLE_EVERY == 0


def run(pki, mangle, pick, parse):
    """One relay run of s2sload through a mangling relay; returns (exit
    status, its JSON, stanzas the relay rewrote, stderr)."""
    sink_port = sut.free_port()
    relay = Relay(pki, sink_port, mangle, pick)
    try:
        p = subprocess.run(
            [S2SLOAD, "relay", "--json", "--target", "%s:%d" % (sut.HOST, relay.port),
             "--sink", "plain-listen", "%s:%d" % (sut.HOST, sink_port), "--pki", pki,
             "--remotes", "2", "--sink-domain", sut.SINK_DOMAIN, "--size", "256",
             "--seconds", "0.5", "--warmup", "0.2", "--drain", "2", "--window", "256",
             "--sink-parse", parse],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        relay.stop()
    try:
        r = json.loads(p.stdout)
    except ValueError:
        r = {}
    return p.returncode, r, relay.mangled, p.stderr[-800:]


def main():
    work = tempfile.mkdtemp(prefix="sink-checks.", dir=os.environ.get("TEST_TMPDIR"))
    pki = sut.dev_pki(FEDGATE, os.path.join(work, "pki"), 2)
    cases = (("one body byte flipped", flip_body_byte), ("the body's tail dropped", drop_body_tail),
             ("the element after the body dropped", drop_child),
             ("RFC 6120 8.1.2: the to address rewritten", rewrite_to))
    # Control: the relay rewrites nothing, everything is delivered whole.
    rc, r, n, err = run(pki, None, lambda st: False, "full")
    check("control: an honest relay delivers every stanza whole (exit 0)",
          rc == 0 and r.get("sent", 0) > 0 and r.get("delivered") == r.get("sent")
          and r.get("verified") == r.get("delivered") and r.get("corrupted") == 0,
          (rc, {k: r.get(k) for k in ("sent", "delivered", "verified", "corrupted")}, err))
    for what, mangle in cases:
        rc, r, n, err = run(pki, mangle, every_fifth(), "full")
        figures = {k: r.get(k) for k in ("sent", "delivered", "lost", "corrupted", "verified")}
        figures["rewritten"] = n
        check("full parse, %s: every rewritten stanza counted corrupted, none delivered" % what,
              n > 0 and r.get("corrupted") == n and r.get("delivered") == r.get("sent", 0) - n
              and r.get("verified") == r.get("delivered"), (figures, err))
        check("full parse, %s: s2sload exits 1" % what, rc == 1, (rc, err))
    # The stanza's end cut off: the stream is no longer well-formed. The
    # full parser loses the stream (nothing after it counts); the scanner
    # must not count the stanzas of its sample as delivered.
    rc, r, n, err = run(pki, cut_end, every_fifth(), "full")
    check("full parse, the end tag cut off: nothing rewritten is delivered, s2sload exits 1",
          rc == 1 and n > 0 and r.get("delivered", 0) <= r.get("sent", 0) - n,
          ({k: r.get(k) for k in ("sent", "delivered", "corrupted", "errors")}, n, err))
    for what, mangle in cases + (("the end tag cut off", cut_end),):
        rc, r, n, err = run(pki, mangle, sampled, "scan")
        figures = {k: r.get(k) for k in ("sent", "delivered", "lost", "corrupted", "verified",
                                         "unverifiable")}
        figures["rewritten"] = n
        # Every stanza of the sample is rewritten here. One whose start fell
        # in an earlier read than its id cannot be checked (unverifiable):
        # every other one must be caught.
        check("scan, %s: the rewritten stanzas of the sample are counted corrupted, "
              "not delivered" % what,
              n > 0 and r.get("corrupted", 0) > 0
              and r.get("corrupted", 0) + r.get("unverifiable", 0) == n
              and r.get("delivered") == r.get("sent", 0) - r.get("corrupted", 0), (figures, err))
        print("    %s" % figures)
        check("scan, %s: s2sload exits 1" % what, rc == 1, (rc, err))
    shutil.rmtree(work, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
