"""A TCP proxy that injects faults between two components, for tests.

One listening socket on loopback; each accepted connection is relayed to the
target port by two threads (client->server, server->client). What happens to
the bytes is set on the proxy and read by every relay as it goes:

- cut(after, how, direction): once |after| bytes went that way (counted per
  connection, from its start), the connection is reset (how="rst": SO_LINGER
  0, the kernel sends RST both ways) or half-closed (how="fin": FIN towards
  the receiver of that direction, the other direction stays open). It applies
  to the next connection that reaches the count, then disarms.
- drop_all(how): the same at once, on every connection open now.
- stall() / unstall(): nothing is forwarded either way while stalled, not
  even the end of a stream (the sockets stay open; bytes wait in the kernel
  and in the relay).
- one_byte: every byte is written by its own send() (TCP_NODELAY).
- latency: seconds added before each chunk is forwarded.
- refuse: the next N connection attempts are accepted and reset at once
  (refuse=-1: all of them until set back to 0).
- hold: the next N connection attempts are held until N are waiting (or
  hold_timeout passed) and then connected to the target in reverse order.

Counters: accepted, refused, cuts.
"""

import socket
import struct
import threading
import time

HOST = "127.0.0.1"


def _linger_zero(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass


class _Conn:
    def __init__(self, client):
        self.client = client
        self.server = None
        self.sent = {"up": 0, "down": 0}
        self.base = 0  # where a cut armed "from now" starts counting
        self.closed = False
        self.lock = threading.Lock()

    def reset(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in (self.client, self.server):
            if s is None:
                continue
            _linger_zero(s)
            # A relay thread blocked in recv() holds the socket: close()
            # alone would send nothing until that recv returns. SHUT_RD wakes
            # it without sending anything; the last reference then goes with
            # linger 0, which resets the connection.
            try:
                s.shutdown(socket.SHUT_RD)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    def half_close(self, direction):
        dst = self.server if direction == "up" else self.client
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class FaultProxy:
    def __init__(self, target_port, target_host=HOST):
        self.target = (target_host, target_port)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []
        self.accepted = self.refused = self.cuts = 0
        self.one_byte = False
        self.latency = 0.0
        self.refuse = 0
        self.hold = 0
        self.hold_timeout = 2.0
        self._held = []
        self._cut = None  # (after, how, direction)
        self._flowing = threading.Event()
        self._flowing.set()
        # One direction only held (stall(direction)): "up" is client to target.
        self._dir_flowing = {"up": threading.Event(), "down": threading.Event()}
        for e in self._dir_flowing.values():
            e.set()
        self._stop = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    # --- controls ---

    def cut(self, after, how="rst", direction="up", from_now=False):
        """from_now: |after| counts from the bytes already relayed on the
        connections open now (a stream past its handshake)."""
        with self.lock:
            for c in self.conns:
                c.base = c.sent[direction] if from_now else 0
            self._cut = (after, how, direction)

    def open_now(self):
        """The connections open now, for drop_all(only=...)."""
        with self.lock:
            return list(self.conns)

    def drop_all(self, how="rst", only=None):
        """Ends every connection open now, or those of |only| (from
        open_now(): several proxies' streams ended together spare the
        connections a peer opens in between to replace them)."""
        conns = self.open_now() if only is None else only
        for c in conns:
            self.cuts += 1
            if how == "rst":
                c.reset()
            else:
                c.half_close("up")

    def stall(self, direction=None):
        """Hold what crosses: both directions, or only |direction| ("up":
        from the client to the target, "down": back)."""
        if direction is None:
            self._flowing.clear()
        else:
            self._dir_flowing[direction].clear()

    def unstall(self):
        for e in self._dir_flowing.values():
            e.set()
        self._flowing.set()

    def close(self):
        self._stop = True
        self._flowing.set()
        try:
            self.sock.close()
        except OSError:
            pass
        self.drop_all()

    # --- relaying ---

    def _accept_loop(self):
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.accepted += 1
                refuse = self.refuse != 0
                if self.refuse > 0:
                    self.refuse -= 1
                hold = self.hold > 0
            if refuse:
                self.refused += 1
                _linger_zero(c)
                c.close()
                continue
            conn = _Conn(c)
            if hold:
                self._hold(conn)
                continue
            self._start(conn)

    def _hold(self, conn):
        with self.lock:
            self._held.append(conn)
            full = len(self._held) >= self.hold
            if len(self._held) == 1:
                threading.Timer(self.hold_timeout, self._release).start()
        if full:
            self._release()

    def _release(self):
        with self.lock:
            held, self._held = self._held, []
            if held:
                self.hold = 0
        for conn in reversed(held):
            self._start(conn)
            time.sleep(0.05)  # so that the reversed order reaches the target

    def _start(self, conn):
        try:
            conn.server = socket.create_connection(self.target, timeout=5)
            conn.server.settimeout(None)
            conn.server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            conn.reset()
            return
        with self.lock:
            self.conns.append(conn)
        threading.Thread(target=self._pump, args=(conn, "up"), daemon=True).start()
        threading.Thread(target=self._pump, args=(conn, "down"), daemon=True).start()

    def _pump(self, conn, direction):
        src, dst = (conn.client, conn.server) if direction == "up" else (conn.server, conn.client)
        try:
            while True:
                data = src.recv(65536)
                if conn.closed:
                    return  # reset (see _Conn.reset): nothing more either way
                if not data:
                    self._flowing.wait()  # a stall holds the end of stream too
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                self._flowing.wait()
                self._dir_flowing[direction].wait()
                if self.latency:
                    time.sleep(self.latency)
                if not self._forward(conn, direction, dst, data):
                    return
        except OSError:
            # A reset is held by a stall like everything else (an end of
            # stream with unread data comes as a reset, not as a FIN).
            self._flowing.wait()
            conn.reset()
        finally:
            with self.lock:
                if conn.closed and conn in self.conns:
                    self.conns.remove(conn)

    def _forward(self, conn, direction, dst, data):
        with self.lock:
            cut = self._cut
            at = cut[0] + conn.base if cut else 0
            if cut and cut[2] == direction and conn.sent[direction] + len(data) >= at:
                self._cut = None
            else:
                cut = None
        if cut is not None:
            head = data[:max(0, at - conn.sent[direction])]
            self._send(dst, head)
            conn.sent[direction] += len(head)
            self.cuts += 1
            if cut[1] == "rst":
                conn.reset()
            else:
                conn.half_close(direction)
            return False
        self._send(dst, data)
        conn.sent[direction] += len(data)
        return True

    def _send(self, dst, data):
        if not self.one_byte:
            dst.sendall(data)
            return
        for i in range(len(data)):
            dst.sendall(data[i:i + 1])
