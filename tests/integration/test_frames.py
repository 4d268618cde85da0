"""Malformed, truncated, oversized and random frames, before and after
authentication: each closes that connection with a log line, and the
server keeps serving a real agent meanwhile."""
import os
import random
import socket
import struct

from harness import (FleetTest, HEARTBEAT, body_field, envelope, field_bytes, field_varint,
                     frame, hello, main, read_frames, wait_until)

EVENT_BATCH, EVENT_ACK = 20, 21


def event_batch(after, seqs):
    """An EventBatch frame: empty process events numbered seqs, after_seq."""
    body = b"".join(field_bytes(1, field_varint(1, q) + field_varint(2, 1000 + q)
                                + field_bytes(10, b"")) for q in seqs)
    return frame(envelope(EVENT_BATCH, body + field_varint(2, after)))


def acks(frames):
    """The acked_seq of each EventAck among frames."""
    out = []
    for f in frames:
        if body_field(f) != EVENT_ACK:
            continue
        i = f.index(bytes([0xaa, 0x01]))  # field 21, length-delimited
        inner = f[i + 3:i + 3 + f[i + 2]]
        n, shift = 0, 0
        for b in inner[1:]:
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        out.append(n if inner else 0)
    return out


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

    def test_event_continuity(self):
        """A batch is acknowledged only when it continues what the
        connection stored, so an acknowledgement never covers a gap."""
        f = self.fleet_
        bad_id = f.agent_id(self.bad_state)
        s = f.agent_tls(self.bad_state)
        s.sendall(hello())
        read_frames(s, timeout=2)
        s.sendall(event_batch(0, [1, 2]))
        self.assertEqual(acks(read_frames(s, timeout=3)[0]), [2])
        # Claims to follow seq 5, which this connection never stored.
        s.sendall(event_batch(5, [6, 7]))
        frames, closed = read_frames(s, timeout=2)
        self.assertFalse(closed)
        self.assertEqual(acks(frames), [])
        s.sendall(event_batch(2, [3, 4]))
        self.assertEqual(acks(read_frames(s, timeout=3)[0]), [4])
        # A gap the agent made itself (events it dropped) is its business.
        s.sendall(event_batch(4, [9, 10]))
        self.assertEqual(acks(read_frames(s, timeout=3)[0]), [10])
        seqs = sorted(e["seq"] for e in f.events("--agent", bad_id))
        self.assertEqual(seqs, [1, 2, 3, 4, 9, 10])
        # after_seq not before the first event: a broken agent.
        s.sendall(event_batch(11, [11]))
        frames, closed = read_frames(s, timeout=5)
        self.assertTrue(closed)
        f.wait_log("invalid event_batch")


if __name__ == "__main__":
    main()
