"""A simulated agent for tests and benchmarks that need events at a time of
their choosing: an enrolled agent's certificate over the real TLS
connection, a hello, then event batches of process START events written
with the harness's protobuf encoder, each acknowledged before the next.

Field numbers come from proto/mamori.proto (Envelope, EventBatch, Event,
ProcessEvent)."""
import struct
import time

from harness import envelope, field_bytes, field_varint, frame, hello

EVENT_BATCH, EVENT_ACK = 20, 21


def process_start(seq, command_line, time_ns=None, executable="/bin/sh"):
    """One Event with a ProcessEvent START."""
    proc = (field_varint(1, 1) + field_varint(2, 1000 + seq % 30000) + field_varint(3, 1)
            + field_bytes(4, executable) + field_bytes(6, command_line)
            + field_bytes(7, command_line) + field_bytes(8, "/")
            + field_bytes(10, "root") + field_bytes(11, "/usr/lib/systemd/systemd"))
    return (field_varint(1, seq) + field_varint(2, time_ns or time.time_ns())
            + field_bytes(10, proc))


def batch_frame(after, events):
    body = b"".join(field_bytes(1, e) for e in events)
    return frame(envelope(EVENT_BATCH, body + field_varint(2, after)))


def _read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
    return data


def _varint_at(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7


def _fields(buf):
    """(number, wire type, value) of each top-level field."""
    i = 0
    while i < len(buf):
        key, i = _varint_at(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint_at(buf, i)
        elif wt == 2:
            n, i = _varint_at(buf, i)
            v = buf[i:i + n]
            i += n
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        yield num, wt, v


class RawAgent:
    """Events on demand from an enrolled agent (fleet.enroll)."""

    def __init__(self, fleet, state, timeout=30):
        self.sock = fleet.agent_tls(state)
        self.sock.settimeout(timeout)
        self.seq = 0
        self.sock.sendall(hello())
        self._frame()            # welcome

    def _frame(self):
        (n,) = struct.unpack(">I", _read_exact(self.sock, 4))
        return _read_exact(self.sock, n)

    def send(self, command_lines, time_ns=None):
        """Sends one batch (one event per command line) without waiting."""
        after = self.seq
        evs = []
        for cmd in command_lines:
            self.seq += 1
            evs.append(process_start(self.seq, cmd, time_ns))
        self.sock.sendall(batch_frame(after, evs))
        return self.seq

    def wait_ack(self, seq):
        """Reads frames until the acknowledgement of seq."""
        while True:
            for num, _, v in _fields(self._frame()):
                if num == EVENT_ACK:
                    acked = 0
                    for n2, _, v2 in _fields(v):
                        if n2 == 1:
                            acked = v2
                    if acked >= seq:
                        return acked

    def events(self, command_lines, time_ns=None):
        return self.wait_ack(self.send(command_lines, time_ns))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
