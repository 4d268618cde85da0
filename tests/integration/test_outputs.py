"""Alert outputs through the whole product: a Sigma rule in the server
home, a simulated agent whose process events match it, and every kind of
output (HOME/outputs.json) delivering the alert to a receiver on
127.0.0.1 - a JSON lines file, syslog over UDP, TCP (octet counting) and
unix datagram and stream sockets, and an HTTPS webhook whose certificate a
test CA made with `openssl` signed.  Then receivers that are dead (nothing
listening, always 500, always 403) while events keep flowing: ingestion
goes on and `mamori outputs` accounts for every alert.

Needs no audit socket: events come from rawagent.RawAgent."""
import http.server
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
import uuid

from harness import FleetTest, free_port, main, wait_until
from rawagent import RawAgent

RULE_ID = "5b1d6f0e-8a34-4c5e-9f00-0a0b0c0d0e01"
RULE2_ID = "5b1d6f0e-8a34-4c5e-9f00-0a0b0c0d0e02"
RULE3_ID = "5b1d6f0e-8a34-4c5e-9f00-0a0b0c0d0e03"
RULE2 = """title: mamori output second marker
id: %s
status: test
logsource:
    product: linux
    category: process_creation
detection:
    selection:
        CommandLine|contains: 'mamori-second-marker'
    condition: selection
level: critical
""" % RULE2_ID
RULE = """title: mamori output test marker
id: %s
status: test
description: a command line carrying the output tests' marker
logsource:
    product: linux
    category: process_creation
detection:
    selection:
        CommandLine|contains: 'mamori-output-marker'
    condition: selection
level: high
""" % RULE_ID

# <PRI>1 TIMESTAMP HOSTNAME APP PROCID MSGID [SD] MSG
SYSLOG_RE = re.compile(
    rb'^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) \[mamori@32473((?: [a-z]+="(?:[^"\\\]]|\\.)*")*)\] (.*)$',
    re.S)


def lines_of(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except OSError:
        return []


def parse_syslog(msg):
    m = SYSLOG_RE.match(msg)
    if not m:
        raise AssertionError("not an RFC 5424 message from mamorid: %r" % msg[:300])
    params = {k.decode(): re.sub(rb'\\(.)', rb'\1', v).decode()
              for k, v in re.findall(rb' ([a-z]+)="((?:[^"\\\]]|\\.)*)"', m.group(7))}
    return {"pri": int(m.group(1)), "timestamp": m.group(2).decode(),
            "hostname": m.group(3).decode(), "app": m.group(4).decode(),
            "msgid": m.group(6).decode(), "sd": params, "msg": json.loads(m.group(8))}


class Collected:
    def __init__(self):
        self.items = []
        self.lock = threading.Lock()

    def add(self, x):
        with self.lock:
            self.items.append(x)

    def get(self):
        with self.lock:
            return list(self.items)


def udp_listener(stop, got):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.2)

    def run():
        while not stop.is_set():
            try:
                got.add(s.recv(70000))
            except socket.timeout:
                pass
        s.close()
    threading.Thread(target=run, daemon=True).start()
    return s.getsockname()[1]


def stream_frames(conn, stop, got):
    """RFC 6587 octet counting: LEN SP MSG, LEN the bytes of MSG."""
    buf = b""
    conn.settimeout(0.2)
    while not stop.is_set():
        try:
            chunk = conn.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
        while b" " in buf:
            n, rest = buf.split(b" ", 1)
            if not n.isdigit() or len(n) > 5:
                got.add(("bad frame", buf[:80]))
                return
            if len(rest) < int(n):
                break
            got.add(rest[:int(n)])
            buf = rest[int(n):]
    conn.close()


def stream_listener(stop, got, family, address):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind(address)
    s.listen(8)
    s.settimeout(0.2)

    def run():
        while not stop.is_set():
            try:
                conn, _ = s.accept()
            except socket.timeout:
                continue
            threading.Thread(target=stream_frames, args=(conn, stop, got), daemon=True).start()
        s.close()
    threading.Thread(target=run, daemon=True).start()
    return s.getsockname()


def unix_dgram_listener(stop, got, path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(0.2)

    def run():
        while not stop.is_set():
            try:
                got.add(s.recv(70000))
            except socket.timeout:
                pass
        s.close()
    threading.Thread(target=run, daemon=True).start()


def make_ca(tmp):
    """A test CA and a server certificate for 127.0.0.1 (IP SAN only)."""
    ca_key, ca_crt = os.path.join(tmp, "ca.key"), os.path.join(tmp, "ca.crt")
    key, csr, crt = (os.path.join(tmp, "hook." + x) for x in ("key", "csr", "crt"))
    ext = os.path.join(tmp, "hook.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n")
    run = lambda *a: subprocess.run(["openssl"] + list(a), check=True, capture_output=True)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", ca_key, "-out", ca_crt, "-days", "2", "-subj", "/CN=mamori test CA")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
        "-out", crt, "-days", "2", "-extfile", ext)
    return ca_crt, crt, key


def https_receiver(stop, got, crt, key, status=200, keepalive=False):
    """An HTTPS server on 127.0.0.1 answering every POST with status;
    HTTP/1.1 with connections kept (5 s idle) when keepalive."""
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if keepalive else "HTTP/1.0"
        timeout = 5

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got.add({"path": self.path, "headers": dict(self.headers.items()), "body": body,
                     "peer": self.client_address})
            answer = b'{"ok": true}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    httpd.timeout = 0.2

    def run():
        while not stop.is_set():
            httpd.handle_request()
        httpd.server_close()
    threading.Thread(target=run, daemon=True).start()
    return httpd.server_address[1]


class Outputs(FleetTest):
    def setUp(self):
        super().setUp()
        self.stop_listeners = threading.Event()
        self.addCleanup(self.stop_listeners.set)

    def fleet_with(self, outputs):
        fleet = self.fleet(start=False)
        sigma = os.path.join(fleet.home, "rules", "sigma")
        os.makedirs(sigma)
        with open(os.path.join(sigma, "marker.yml"), "w") as f:
            f.write(RULE)
        with open(os.path.join(sigma, "second.yml"), "w") as f:
            f.write(RULE2)
        with open(os.path.join(sigma, "third.yml"), "w") as f:
            f.write(RULE2.replace(RULE2_ID, RULE3_ID).replace("second", "third"))
        with open(os.path.join(fleet.home, "outputs.json"), "w") as f:
            json.dump({"outputs": outputs}, f)
        fleet.start()
        return fleet

    def outputs(self, fleet):
        return {o["name"]: o for o in fleet.cli_json("outputs")}

    def test_each_kind_delivers(self):
        stop = self.stop_listeners
        udp, tcp, udg, ust, hook, badname = (Collected() for _ in range(6))
        udp_port = udp_listener(stop, udp)
        tcp_port = stream_listener(stop, tcp, socket.AF_INET, ("127.0.0.1", 0))[1]
        udg_path = os.path.join(self.tmp, "dgram.sock")
        unix_dgram_listener(stop, udg, udg_path)
        ust_path = os.path.join(self.tmp, "stream.sock")
        stream_listener(stop, ust, socket.AF_UNIX, ust_path)
        ca, crt, key = make_ca(self.tmp)
        hook_port = https_receiver(stop, hook, crt, key, keepalive=True)
        jsonl = os.path.join(self.tmp, "alerts.jsonl")
        repeats = os.path.join(self.tmp, "repeats.jsonl")
        fleet = self.fleet_with([
            {"name": "file", "kind": "jsonl", "path": jsonl},
            {"name": "file-repeats", "kind": "jsonl", "path": repeats, "repeats": True},
            {"name": "udp", "kind": "syslog", "address": "udp://127.0.0.1:%d" % udp_port,
             "hostname": "mamori-srv"},
            {"name": "tcp", "kind": "syslog", "address": "tcp://127.0.0.1:%d" % tcp_port,
             "facility": "auth"},
            {"name": "unix-dgram", "kind": "syslog", "address": "unix://" + udg_path},
            {"name": "unix-stream", "kind": "syslog", "address": "unix://" + ust_path,
             "socket": "stream"},
            {"name": "hook", "kind": "webhook",
             "url": "https://127.0.0.1:%d/mamori/alerts" % hook_port, "ca_file": ca,
             "headers": {"Authorization": "Bearer test-token"}},
            # The certificate names 127.0.0.1 only: "localhost" must fail.
            {"name": "hook-badname", "kind": "webhook",
             "url": "https://localhost:%d/x" % hook_port, "ca_file": ca, "retries": 0},
            # No CA file: the system store does not know the test CA.
            {"name": "hook-untrusted", "kind": "webhook",
             "url": "https://127.0.0.1:%d/x" % hook_port, "retries": 0},
        ])
        state, _ = fleet.enroll("host")
        agent_id = fleet.agent_id(state)
        hostname = [a for a in fleet.cli_json("agents") if a["id"] == agent_id][0]["hostname"]
        marker = "mamori-output-marker-%s" % uuid.uuid4().hex
        agent = RawAgent(fleet, state)
        self.addCleanup(agent.close)
        t0 = time.time_ns()
        agent.events(["sh -c 'echo %s \"q\" ]'" % marker])

        stored = wait_until(lambda: fleet.cli_json("alerts"), what="the stored alert")
        self.assertEqual(len(stored), 1)
        alert_id = stored[0]["id"]

        def check_json(j):
            self.assertEqual(j["id"], alert_id)
            self.assertEqual(j["rule"], RULE_ID)
            self.assertEqual(j["severity"], "high")
            self.assertEqual(j["source"], "sigma")
            self.assertEqual(j["agent_id"], agent_id)
            self.assertEqual(j["host"], hostname)
            self.assertFalse(j["repeat"])
            self.assertEqual(j["seq"], 1)
            self.assertGreaterEqual(j["time_ns"], t0)
            self.assertEqual(j["detail"]["title"], "mamori output test marker")
            self.assertIn(marker, j["detail"]["event"]["process.command_line"])

        def check_syslog(raw, facility):
            m = parse_syslog(raw)
            self.assertEqual(m["pri"], facility * 8 + 3)       # err: high
            self.assertEqual(m["app"], "mamorid")
            self.assertEqual(m["msgid"], "alert")
            self.assertTrue(m["timestamp"].endswith("Z"), m["timestamp"])
            self.assertEqual(m["sd"], {"id": str(alert_id), "rule": RULE_ID, "severity": "high",
                                       "host": hostname, "agent": agent_id, "source": "sigma"})
            check_json(m["msg"])
            return m

        for name, got in (("udp", udp), ("tcp", tcp), ("unix-dgram", udg),
                          ("unix-stream", ust), ("hook", hook)):
            wait_until(got.get, what="the alert at the %s receiver" % name)
        m = check_syslog(udp.get()[0], 16)
        self.assertEqual(m["hostname"], "mamori-srv")
        check_syslog(tcp.get()[0], 4)
        check_syslog(udg.get()[0], 16)
        check_syslog(ust.get()[0], 16)
        req = hook.get()[0]
        self.assertEqual(req["path"], "/mamori/alerts")
        self.assertEqual(req["headers"]["Content-Type"], "application/json")
        self.assertEqual(req["headers"]["Authorization"], "Bearer test-token")
        check_json(json.loads(req["body"]))
        wait_until(lambda: lines_of(jsonl), what="the JSON lines file")
        lines = lines_of(jsonl)
        self.assertEqual(len(lines), 1)
        check_json(json.loads(lines[0]))

        # A repeat inside the dedup window goes only where repeats are asked.
        agent.events(["sh -c 'echo %s again'" % marker])
        wait_until(lambda: len(lines_of(repeats)) == 2,
                   what="the repeat in file-repeats")
        rep = json.loads(lines_of(repeats)[1])
        self.assertTrue(rep["repeat"])
        self.assertEqual(rep["id"], alert_id)
        self.assertEqual(rep["seq"], 2)
        # A receiver may have the alert before its sender read the answer.
        names = ("file", "udp", "tcp", "unix-dgram", "unix-stream", "hook")
        outs = wait_until(lambda: all(self.outputs(fleet)[n]["queued"] == 0 for n in names)
                          and self.outputs(fleet), what="the outputs to finish")
        for name in names:
            o = outs[name]
            self.assertEqual((o["sent"], o["skipped"], o["dropped"], o["failed"], o["refused"]),
                             (1, 1, 0, 0, 0), o)
        self.assertEqual(outs["file-repeats"]["sent"], 2)
        time.sleep(0.5)
        self.assertEqual(len(udp.get()), 1)
        self.assertEqual(len(lines_of(jsonl)), 1)

        # Verification: a wrong name and an unknown CA are failures.
        for name in ("hook-badname", "hook-untrusted"):
            o = wait_until(lambda: self.outputs(fleet)[name]["failed"] == 1
                           and self.outputs(fleet)[name], what=name + " to fail")
            self.assertEqual(o["sent"], 0)
            self.assertIn("certificate", o["last_error"])
        self.assertEqual(len(hook.get()), 1)

        # Rotation: the file moved away and SIGHUP; the next alert starts
        # a new file, and the moved one keeps what it had.
        os.rename(jsonl, jsonl + ".1")
        fleet.proc.send_signal(signal.SIGHUP)
        fleet.wait_log("SIGHUP: reopening the output files")
        agent.events(["sh -c 'echo mamori-second-marker'"])
        wait_until(lambda: lines_of(jsonl), what="the alert in the new file")
        second = json.loads(lines_of(jsonl)[0])
        self.assertEqual((second["rule"], second["severity"]), (RULE2_ID, "critical"))
        self.assertEqual(len(lines_of(jsonl + ".1")), 1)
        wait_until(lambda: len(udp.get()) == 2, what="the second alert over UDP")
        self.assertEqual(parse_syslog(udp.get()[1])["pri"], 16 * 8 + 2)   # crit
        # The webhook kept its connection (HTTP/1.1) for the second alert.
        wait_until(lambda: len(hook.get()) == 2, what="the second alert at the webhook")
        self.assertEqual(json.loads(hook.get()[1]["body"])["rule"], RULE2_ID)
        self.assertEqual(hook.get()[0]["peer"], hook.get()[1]["peer"])
        # Once the receiver closed the idle connection, a new one is made.
        time.sleep(6)
        agent.events(["sh -c 'echo mamori-third-marker'"])
        wait_until(lambda: len(hook.get()) == 3, what="the third alert at the webhook")
        self.assertEqual(json.loads(hook.get()[2]["body"])["rule"], RULE3_ID)
        self.assertNotEqual(hook.get()[2]["peer"], hook.get()[1]["peer"])

        # The listing: aligned table, and JSON with every counter.
        human = fleet.cli("outputs", check=True).stdout
        self.assertIn("unix-stream", human)
        self.assertIn("LAST ERROR", human)
        self.assertEqual(outs["udp"]["target"], "udp://127.0.0.1:%d" % udp_port)
        for key in ("kind", "queued", "queue_max", "retried", "last_error", "last_sent"):
            self.assertIn(key, outs["udp"])

    def test_bad_config(self):
        """A bad outputs.json: one line saying what is wrong, exit 1."""
        for n, (bad, needle) in enumerate((
                ('{"outputs": [{"kind": "syslog", "address": "udp://127.0.0.1"}]}',
                 "udp://HOST:PORT"),
                ('{"outputs": [{"kind": "webhook", "url": "http://127.0.0.1/"}]}',
                 "plain http"),
                ('{"outputs": [', "not JSON"))):
            fleet = self.fleet("bad%d" % n, start=False)
            with open(os.path.join(fleet.home, "outputs.json"), "w") as f:
                f.write(bad)
            rc = fleet.start(expect_fail=True)
            self.assertEqual(rc, 1)
            log = fleet.log()
            lines = [l for l in log.splitlines() if "outputs.json" in l]
            self.assertEqual(len(lines), 1, log)
            self.assertIn(needle, lines[0])
            self.assertTrue(lines[0].startswith("mamorid: "), lines[0])

    def test_dead_receivers(self):
        """Nothing listening, always 500, always 403: events keep being
        stored and acknowledged at once, and every alert is accounted
        for as sent, dropped, failed or refused."""
        stop = self.stop_listeners
        ca, crt, key = make_ca(self.tmp)
        err500, err403 = Collected(), Collected()
        port500 = https_receiver(stop, err500, crt, key, status=500)
        port403 = https_receiver(stop, err403, crt, key, status=403)
        dead = free_port()
        jsonl = os.path.join(self.tmp, "all.jsonl")
        common = {"kind": "webhook", "ca_file": ca, "queue": 5, "repeats": True,
                  "backoff_ms": 20, "timeout": 2}
        fleet = self.fleet_with([
            {"name": "file", "kind": "jsonl", "path": jsonl, "repeats": True},
            dict(common, name="dead", url="https://127.0.0.1:%d/" % dead, retries=2),
            dict(common, name="e500", url="https://127.0.0.1:%d/" % port500, retries=1),
            dict(common, name="e403", url="https://127.0.0.1:%d/" % port403, retries=3),
        ])
        state, _ = fleet.enroll("host")
        agent = RawAgent(fleet, state)
        self.addCleanup(agent.close)
        n_batches, per = 30, 10
        total = n_batches * per
        worst = 0.0
        t0 = time.monotonic()
        for b in range(n_batches):
            t = time.monotonic()
            agent.events(["mamori-output-marker %d %d" % (b, i) for i in range(per)])
            worst = max(worst, time.monotonic() - t)
        elapsed = time.monotonic() - t0
        # Acknowledged as fast as with no output: no retry or timeout of
        # a dead receiver (2 s each here) is ever waited for.
        self.assertLess(worst, 1.5, "a batch waited %.2f s for its acknowledgement" % worst)
        self.assertLess(elapsed, 20)
        self.assertEqual(len(fleet.events("--type", "process")), total)

        def settled():
            outs = self.outputs(fleet)
            return all(o["queued"] == 0 and o["sent"] + o["dropped"] + o["failed"]
                       + o["refused"] == total for o in outs.values()) and outs
        outs = wait_until(settled, timeout=60, what="every output to account for %d alerts" % total)
        self.assertEqual(outs["file"]["sent"], total)
        self.assertEqual(len(lines_of(jsonl)), total)
        d = outs["dead"]
        self.assertEqual(d["sent"], 0)
        self.assertGreater(d["dropped"], 0)       # a queue of 5 overflows
        self.assertGreater(d["failed"], 0)
        self.assertEqual(d["retried"], 2 * d["failed"])
        self.assertIn("cannot connect", d["last_error"])
        e = outs["e500"]
        self.assertEqual(e["sent"], 0)
        self.assertGreater(e["failed"], 0)
        self.assertEqual(e["retried"], e["failed"])
        self.assertIn("HTTP 500", e["last_error"])
        self.assertEqual(len(err500.get()), 2 * e["failed"])
        r = outs["e403"]
        self.assertEqual((r["sent"], r["failed"], r["retried"]), (0, 0, 0))
        self.assertGreater(r["refused"], 0)
        self.assertIn("HTTP 403", r["last_error"])
        self.assertEqual(len(err403.get()), r["refused"])
        # The server says so in its log, and shuts down promptly.
        self.assertIn("output dead: alert", fleet.log())
        t = time.monotonic()
        fleet.stop()
        self.assertLess(time.monotonic() - t, 10)


if __name__ == "__main__":
    main()
