#!/usr/bin/python3
"""xmpp_client: a slixmpp user for end-to-end tests.

usage: xmpp_client.py JID PASSWORD HOST PORT [send TO BODY]...

Logs in (plaintext on loopback), sends available presence, prints "online",
then one line per received message ("message FROM BODY") and iq ("iq FROM
TYPE ID"; get/set iqs are answered by slixmpp's plugins), until killed. The
optional "send TO BODY" groups are sent once online.
"""

import asyncio
import logging
import sys

import slixmpp

logging.basicConfig(level=logging.ERROR)


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, sends):
        super().__init__(jid, password)
        self.sends = sends
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.on_message)
        self.register_plugin("xep_0199")  # ping: answers urn:xmpp:ping iqs
        self.register_plugin("xep_0030")
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import MatchXPath
        self.register_handler(Callback("e2e iq", MatchXPath("{jabber:client}iq"), self.on_iq))

    async def start(self, event):
        self.send_presence()
        await self.get_roster()
        print("online", flush=True)
        for to, body in self.sends:
            self.send_message(mto=to, mbody=body, mtype="chat")

    def on_iq(self, iq):
        print("iq %s %s %s" % (iq["from"], iq["type"], iq["id"]), flush=True)

    def on_message(self, msg):
        print("message %s %s %s" % (msg["from"], msg["type"], msg["body"]), flush=True)


def main():
    jid, password, host, port = sys.argv[1:5]
    rest = sys.argv[5:]
    sends = []
    while len(rest) >= 3 and rest[0] == "send":
        sends.append((rest[1], rest[2]))
        rest = rest[3:]
    c = Client(jid, password, sends)

    c.connect(address=(host, int(port)), use_ssl=False, force_starttls=False,
              disable_starttls=True)
    asyncio.get_event_loop().run_forever()


if __name__ == "__main__":
    main()
