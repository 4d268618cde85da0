"""Malformed, truncated, oversized and random frames, before and after
authentication: each closes that connection with a log line, and the
server keeps serving a real agent meanwhile."""
import os
import random
import socket
import struct

from harness import (FleetTest, HEARTBEAT, body_field, envelope, field_varint, frame, hello,
                     main, read_frames, wait_until)


class Frames(FleetTest):
    def setUp(self):
        super().setUp()
        self.fleet_ = self.fleet()
        self.state, _ = self.fleet_.enroll("good")
        self.good_id = self.fleet_.agent_id(self.state)
        self.good = self.fleet_.run_agent(self.state)
        wait_until(lambda: self.fleet_.connected(self.good_id), what="the good agent")
        self.bad_state, _ = self.fleet_.enroll("bad")

    def hostile(self, authed, payload, expect):
        f = self.fleet_
        before = f.log().count("closing:")
        try:
            s = f.agent_tls(self.bad_state) if authed else f.tls()
            if authed:
                s.sendall(hello())
            s.sendall(payload)
            if expect == "inside a frame":
                s.shutdown(socket.SHUT_WR)
            frames, closed = read_frames(s, timeout=5)
        except OSError:
            closed = True
            frames = []
        self.assertTrue(closed, "connection stayed open after %r" % payload[:16])
        f.wait_log(expect)
        wait_until(lambda: f.log().count("closing:") > before, what="a closing log line")
        # The good agent is untouched and the server still serves.
        self.assertIsNone(self.good.poll())
        s2 = f.tls()
        s2.close()
        self.assertTrue(f.connected(self.good_id))

    def test_preauth(self):
        rnd = random.Random(7)
        self.hostile(False, struct.pack(">I", 1 << 20) + b"x" * 64, "bad frame header")
        self.hostile(False, struct.pack(">I", 0), "bad frame header")
        self.hostile(False, frame(b"\xff\xff\xff\xff\x0f"), "malformed frame")
        self.hostile(False, frame(field_varint(1, 2) + b"\x62\x00"), "malformed frame")
        self.hostile(False, bytes(rnd.randrange(256) for _ in range(3000)), "closing")
        self.hostile(False, struct.pack(">I", 100) + b"y" * 50, "inside a frame")

    def test_postauth(self):
        rnd = random.Random(11)
        self.hostile(True, struct.pack(">I", 64 << 20), "bad frame header")
        self.hostile(True, frame(b"\x08\x01\x72\x05\x01"), "malformed frame")
        self.hostile(True, frame(envelope(HEARTBEAT) + b"\xf8\x07\x01"), "malformed frame")
        self.hostile(True, frame(field_varint(1, 1)), "malformed frame")
        self.hostile(True, bytes(rnd.randrange(256) for _ in range(5000)), "closing")
        self.hostile(True, struct.pack(">I", 4000) + b"z" * 100, "inside a frame")


if __name__ == "__main__":
    main()
