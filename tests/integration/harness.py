"""Test harness for mamori's integration tests.

Starts the real programs (mamorid, mamori-agent, mamori) built by meson,
on loopback only, each test in its own temporary directory, and gives
helpers to talk to them: the CLI, raw TLS clients that speak (or abuse) the
wire protocol, and a minimal protobuf encoder for hostile messages.

Every process a test starts is stopped when the test ends; every wait is
bounded.
"""
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import unittest

BUILD = os.environ.get("MAMORI_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
MAMORI = os.path.join(BUILD, "src", "cli", "mamori")
MAMORID = os.path.join(BUILD, "src", "server", "mamorid")
AGENT = os.path.join(BUILD, "src", "agent", "mamori-agent")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(cond, timeout=20.0, step=0.1, what="condition"):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = cond()
        if last:
            return last
        time.sleep(step)
    raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))


# ---- protobuf, by hand: just enough to write hostile messages -------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, value):
    return varint(num << 3 | 0) + varint(value)


def field_bytes(num, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(num << 3 | 2) + varint(len(data)) + data


def envelope(body_field, body=b""):
    return field_varint(1, 1) + field_bytes(body_field, body)


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


# Envelope body field numbers (proto/mamori.proto)
ENROLL_REQUEST, ENROLL_RESPONSE, HELLO, WELCOME, HEARTBEAT = 10, 11, 12, 13, 14
HEARTBEAT_ACK, INVENTORY, INVENTORY_DELTA, INVENTORY_ACK, ERROR = 15, 16, 17, 18, 19


def hello():
    return frame(envelope(HELLO, field_bytes(1, "hostile-test")))


def inventory(claimed_id="", hostname="", packages=()):
    """An Inventory: packages are (name, version) pairs."""
    body = field_varint(1, int(time.time()))
    if claimed_id:
        body += field_bytes(2, claimed_id)
    if hostname:
        body += field_bytes(3, field_bytes(9, hostname) + field_bytes(5, hostname))
    for name, version in packages:
        body += field_bytes(7, field_bytes(1, name) + field_bytes(2, version)
                            + field_bytes(3, name) + field_bytes(5, "amd64")
                            + field_bytes(6, "installed"))
    return frame(envelope(INVENTORY, body))


def read_frames(sock, timeout=5.0):
    """Reads frames until the peer closes or goes quiet; returns (frames, closed)."""
    sock.settimeout(timeout)
    data = b""
    closed = False
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
            if len(data) >= 4 and len(data) >= 4 + struct.unpack(">I", data[:4])[0]:
                sock.settimeout(0.5)
    except (socket.timeout, TimeoutError):
        pass
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError, OSError):
        closed = True
    frames = []
    while len(data) >= 4:
        n = struct.unpack(">I", data[:4])[0]
        if len(data) < 4 + n:
            break
        frames.append(data[4:4 + n])
        data = data[4 + n:]
    return frames, closed


def body_field(env_bytes):
    """The body field number of an encoded Envelope."""
    i = 0
    while i < len(env_bytes):
        key = 0
        shift = 0
        while True:
            b = env_bytes[i]
            i += 1
            key |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        num, wt = key >> 3, key & 7
        if wt == 0:
            while env_bytes[i] & 0x80:
                i += 1
            i += 1
        elif wt == 2:
            n = 0
            shift = 0
            while True:
                b = env_bytes[i]
                i += 1
                n |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            if num != 1:
                return num
            i += n
        else:
            return None
    return None


class Fleet:
    """One server home, its running mamorid, and helpers around it."""

    def __init__(self, tmp, name="fleet", home_parent=None):
        self.tmp = tmp
        self.home = os.path.join(home_parent or tmp, name)
        self.key_file = os.path.join(tmp, name + ".key")
        self.port = free_port()
        self.log_path = os.path.join(tmp, name + ".log")
        self.proc = None
        self.agents = []
        self.problems = []
        out = self.cli("init", "--key-file", self.key_file, check=True)
        self.init_output = out.stdout

    # -- programs -----------------------------------------------------------
    def cli(self, *args, check=False, timeout=60):
        p = subprocess.run([MAMORI, "--home", self.home] + list(args),
                           capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("mamori %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
        return p

    def cli_json(self, *args):
        p = self.cli(*(list(args) + ["--json"]), check=True)
        return json.loads(p.stdout)

    def start(self, extra=(), key_file=None, expect_fail=False):
        log = open(self.log_path, "a")
        args = [MAMORID, "--home", self.home, "--key-file", key_file or self.key_file,
                "--listen", "127.0.0.1:%d" % self.port, "--heartbeat", "2"] + list(extra)
        self.proc = subprocess.Popen(args, stdout=log, stderr=log)
        log.close()
        if expect_fail:
            try:
                rc = self.proc.wait(timeout=20)
            finally:
                if self.proc.poll() is None:
                    self.proc.kill()
            self.proc = None
            return rc
        sock = os.path.join(self.home, "admin.sock")
        wait_until(lambda: os.path.exists(sock) and self.cli("status").returncode == 0
                   or self.proc.poll() is not None, what="mamorid to start")
        if self.proc.poll() is not None:
            raise AssertionError("mamorid exited: %s" % self.log())
        return 0

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                rc = self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = "hung"
            if sig == signal.SIGTERM and rc != 0:
                self.problems.append("mamorid exited with %s after SIGTERM" % rc)
        self.proc = None

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, text, timeout=20):
        return wait_until(lambda: text in self.log(), timeout=timeout, what="server log line %r" % text)

    def token(self, *args):
        out = self.cli("token", "create", *args, "--json")
        if out.returncode != 0:
            raise AssertionError("token create failed: %s" % out.stderr)
        return json.loads(out.stdout)["string"]

    def enroll(self, name, token=None, expect_ok=True):
        state = os.path.join(self.tmp, "agent-" + name)
        p = subprocess.run([AGENT, "enroll", "--state", state, token or self.token()],
                           capture_output=True, text=True, timeout=60)
        if expect_ok and p.returncode != 0:
            raise AssertionError("enroll failed: %s %s" % (p.stdout, p.stderr))
        return state, p

    def agent_id(self, state):
        with open(os.path.join(state, "enrollment.json")) as f:
            return json.load(f)["agent_id"]

    def run_agent(self, state, *extra, sources=""):
        """Starts `mamori-agent run`; no event sources unless asked, so
        tests about inventory do not watch the whole host."""
        log = open(state + ".log", "a")
        p = subprocess.Popen([AGENT, "run", "--state", state, "--max-backoff", "2s",
                              "--sources", sources] + list(extra),
                             stdout=log, stderr=log)
        log.close()
        self.agents.append(p)
        return p

    def events(self, *args):
        return self.cli_json("events", "--limit", "100000", *args)

    def connected(self, agent_id):
        for a in self.cli_json("agents"):
            if a["id"] == agent_id:
                return a["connected"]
        return False

    # -- raw TLS clients ------------------------------------------------------
    def tls(self, cert=None, key=None, ca=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.check_hostname = False
        if ca:
            ctx.load_verify_locations(ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        else:
            ctx.verify_mode = ssl.CERT_NONE
        if cert:
            ctx.load_cert_chain(cert, key)
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        return ctx.wrap_socket(raw, server_hostname="mamorid.fleet")

    def agent_tls(self, state):
        return self.tls(os.path.join(state, "agent.crt"), os.path.join(state, "agent.key"),
                        os.path.join(state, "ca.crt"))

    def close(self):
        """Stops everything; returns what went wrong (exit codes, sanitizer
        reports in any log)."""
        for p in self.agents:
            if p.poll() is None:
                p.terminate()
                try:
                    rc = p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                    rc = "hung"
                if rc != 0:
                    self.problems.append("mamori-agent exited with %s after SIGTERM" % rc)
        self.stop()
        logs = [self.log_path] + [os.path.join(self.tmp, n) for n in os.listdir(self.tmp)
                                  if n.endswith(".log")]
        for path in set(logs):
            try:
                with open(path, errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
                if marker in text:
                    i = text.index(marker)
                    self.problems.append("%s in %s:\n%s" % (marker, path, text[max(0, i - 200):i + 3000]))
        return self.problems


class FleetTest(unittest.TestCase):
    """A test case with a temporary directory and fleets cleaned up after."""

    def setUp(self):
        for prog in (MAMORI, MAMORID, AGENT):
            if not os.access(prog, os.X_OK):
                self.fail("%s is not built" % prog)
        self.tmp = tempfile.mkdtemp(prefix="mamori-it-")
        self.fleets = []
        # A cleanup, not tearDown: it runs even when a setUp fails half way.
        self.addCleanup(self.stop_fleets)

    def fleet(self, name="fleet", start=True):
        f = Fleet(self.tmp, name)
        self.fleets.append(f)
        if start:
            f.start()
        return f

    def stop_fleets(self):
        problems = []
        for f in self.fleets:
            problems += f.close()
        if os.environ.get("MAMORI_KEEP_TMP"):
            print("kept", self.tmp, file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if problems:
            self.fail("\n".join(problems))

    def assertOneLine(self, text):
        lines = [l for l in text.strip().splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, "expected one line, got: %r" % text)


def agent_sockets(pid):
    """Listening TCP/UDP sockets of a pid, from `ss -ltunpH`."""
    out = subprocess.run(["ss", "-ltunpH"], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if "pid=%d," % pid in l]


def main():
    unittest.main(verbosity=2)
