#!/usr/bin/python3
"""xmpp_client: a slixmpp user for end-to-end tests.

usage: xmpp_client.py JID PASSWORD HOST PORT [COMMAND ARGS...]...

Logs in (plaintext on loopback), sends available presence, prints
"online", then runs the commands in order:
  send TO BODY     a chat message
  subscribe TO     a presence subscription request
  ping TO          an XEP-0199 ping iq; prints "pong TO" or "ping-error TO COND"
  sendn TO PREFIX COUNT PAUSE_MS
                   COUNT chat messages PREFIX0, PREFIX1, ... (each also its
                   id), PAUSE_MS apart; prints "sent PREFIX COUNT" after the last
and keeps printing what it receives until killed:
  message FROM TYPE BODY
  message-error FROM COND [ID]   (ID: the error names a message of sendn)
  presence FROM TYPE        (TYPE: available, subscribe, subscribed, ...)
  iq FROM TYPE ID
Subscription requests are accepted (slixmpp's auto_authorize).
"""

import asyncio
import logging
import sys

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

logging.basicConfig(level=logging.ERROR)


def out(*words):
    print(" ".join(str(w) for w in words), flush=True)


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, commands):
        super().__init__(jid, password)
        self.commands = commands
        self.numbered = set()  # ids of the messages sendn sent
        self.auto_authorize = True
        self.auto_subscribe = True
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("message_error", self.on_message)
        self.register_handler(Callback("e2e iq", MatchXPath("{jabber:client}iq"), self.on_iq))
        self.register_handler(Callback("e2e presence", MatchXPath("{jabber:client}presence"),
                                       self.on_presence))

    async def start(self, event):
        self.send_presence()
        await self.get_roster()
        out("online")
        for cmd in self.commands:
            if cmd[0] == "send":
                self.send_message(mto=cmd[1], mbody=cmd[2], mtype="chat")
            elif cmd[0] == "sendn":
                await self.send_numbered(cmd[1], cmd[2], int(cmd[3]), int(cmd[4]))
            elif cmd[0] == "subscribe":
                self.send_presence(pto=cmd[1], ptype="subscribe")
            elif cmd[0] == "ping":
                try:
                    await self.plugin["xep_0199"].send_ping(cmd[1], timeout=20)
                    out("pong", cmd[1])
                except IqError as e:
                    out("ping-error", cmd[1], e.iq["error"]["condition"])
                except IqTimeout:
                    out("ping-error", cmd[1], "timeout")

    async def send_numbered(self, to, prefix, count, pause_ms):
        for i in range(count):
            mid = "%s%d" % (prefix, i)
            self.numbered.add(mid)
            msg = self.make_message(mto=to, mbody=mid, mtype="chat")
            msg["id"] = mid
            msg.send()
            await asyncio.sleep(pause_ms / 1000.0)
        out("sent", prefix, count)

    def on_iq(self, iq):
        out("iq", iq["from"], iq["type"], iq["id"])

    def on_presence(self, p):
        out("presence", p["from"], p["type"])

    def on_message(self, msg):
        if msg["type"] == "error":
            if getattr(self, "_seen_error", None) == msg["id"]:
                return  # both "message" and "message_error" fire for one error
            self._seen_error = msg["id"]
            words = ["message-error", msg["from"], msg["error"]["condition"]]
            if msg["id"] in self.numbered:
                words.append(msg["id"])
            out(*words)
        else:
            out("message", msg["from"], msg["type"], msg["body"])


def main():
    jid, password, host, port = sys.argv[1:5]
    rest = sys.argv[5:]
    arity = {"send": 2, "subscribe": 1, "ping": 1, "sendn": 4}
    commands = []
    while rest:
        n = arity.get(rest[0])
        if n is None or len(rest) < n + 1:
            sys.exit("bad command: %r" % rest)
        commands.append(rest[:n + 1])
        rest = rest[n + 1:]
    c = Client(jid, password, commands)
    c.connect(address=(host, int(port)), use_ssl=False, force_starttls=False,
              disable_starttls=True)
    asyncio.get_event_loop().run_forever()


if __name__ == "__main__":
    main()
