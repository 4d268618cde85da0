#!/usr/bin/env python3
"""Alert latency: from an event's time_ns (the simulated agent stamps it
just before sending) to the alert's line appearing in the JSON lines output
and to its datagram arriving at a syslog UDP listener, for N alerts, while
simulated agents (mamori-bench ingest) load the server with events that
match nothing.

Each alert comes from its own Sigma rule (rules lat-00000 ... in
HOME/rules/sigma), so every one is a new alert, never a repeat.  Alerts are
paced (--rate per second), one event per batch, each acknowledged before
the next.  Prints p50/p90/p99/max per output and the background ingest
rate, with the machine it ran on, and the time from sending each alert's
event to its acknowledgement (stored and committed): alerts are handed to
the outputs at that commit, so that part is ingest, not the outputs.

Usage: python3 bench/alert_latency.py [--build build] [--alerts 1000]
       [--rate 100] [--agents 20] [--batch 200]
"""
import argparse
import ctypes
import json
import os
import platform
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

RULE = """title: latency rule %(i)05d
id: 00000000-0000-4000-8000-%(i)012d
status: test
logsource:
    product: linux
    category: process_creation
detection:
    selection:
        CommandLine|contains: 'lat-%(i)05d-'
    condition: selection
level: high
"""


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    u = platform.uname()
    return "%s %s %s, %d cpus, %s" % (u.system, u.release, u.machine, os.cpu_count(), model)


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


class Inotify:
    """Blocks until the file changes (IN_MODIFY), without polling."""
    IN_MODIFY = 0x2

    def __init__(self, path):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self.fd = libc.inotify_init1(0)
        if self.fd < 0 or libc.inotify_add_watch(self.fd, path.encode(), self.IN_MODIFY) < 0:
            raise OSError(ctypes.get_errno(), "inotify")

    def wait(self):
        os.read(self.fd, 4096)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--alerts", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--agents", type=int, default=20)
    ap.add_argument("--batch", type=int, default=200)
    args = ap.parse_args()
    os.environ["MAMORI_BUILD"] = os.path.abspath(args.build)
    import harness
    from rawagent import RawAgent

    print("machine: " + machine())
    tmp = tempfile.mkdtemp(prefix="mamori-alert-latency-")
    fleet = harness.Fleet(tmp)
    bench_proc = None
    stop = threading.Event()
    try:
        sigma = os.path.join(fleet.home, "rules", "sigma")
        os.makedirs(sigma)
        for i in range(args.alerts):
            with open(os.path.join(sigma, "lat-%05d.yml" % i), "w") as f:
                f.write(RULE % {"i": i})
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        jsonl = os.path.join(tmp, "alerts.jsonl")
        open(jsonl, "w").close()
        with open(os.path.join(fleet.home, "outputs.json"), "w") as f:
            json.dump({"outputs": [
                {"name": "file", "kind": "jsonl", "path": jsonl},
                {"name": "udp", "kind": "syslog",
                 "address": "udp://127.0.0.1:%d" % udp.getsockname()[1]},
            ]}, f)
        fleet.start()

        lat = {"jsonl": {}, "udp": {}}

        def udp_reader():
            udp.settimeout(0.2)
            while not stop.is_set():
                try:
                    msg = udp.recv(70000)
                except socket.timeout:
                    continue
                now = time.time_ns()
                j = json.loads(msg[msg.index(b"] {") + 2:])
                lat["udp"][j["rule"]] = now - j["time_ns"]

        def jsonl_reader():
            ino = Inotify(jsonl)
            with open(jsonl, "rb") as f:
                buf = b""
                while not stop.is_set():
                    chunk = f.read()
                    if not chunk:
                        ino.wait()
                        continue
                    now = time.time_ns()
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    for line in lines:
                        j = json.loads(line)
                        lat["jsonl"][j["rule"]] = now - j["time_ns"]
        threading.Thread(target=udp_reader, daemon=True).start()
        threading.Thread(target=jsonl_reader, daemon=True).start()

        state, _ = fleet.enroll("alerter")
        agent = RawAgent(fleet, state)
        background = "none"
        seconds = int(args.alerts / args.rate) + 10
        if args.agents > 0:
            tok = fleet.token("--uses", str(args.agents))
            bench_proc = subprocess.Popen(
                [os.path.join(args.build, "bench", "mamori-bench"), "ingest", "--string", tok,
                 "--count", str(args.agents), "--threads", "2", "--seconds", str(seconds),
                 "--batch", str(args.batch)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            # Wait for the background agents to be sending.
            harness.wait_until(lambda: len(fleet.cli_json("agents")) >= args.agents + 1,
                               timeout=120, what="background agents")
            time.sleep(2)

        acks = []
        t0 = time.monotonic()
        for i in range(args.alerts):
            due = t0 + i / args.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            t = time.time_ns()
            agent.events(["/bin/sh -c 'echo lat-%05d-x'" % i], time_ns=t)
            acks.append((time.time_ns() - t) / 1e6)
        sent_for = time.monotonic() - t0
        want = args.alerts
        harness.wait_until(lambda: len(lat["jsonl"]) >= want and len(lat["udp"]) >= want,
                           timeout=60, what="every alert at both outputs")
        stop.set()
        agent.close()
        if bench_proc is not None:
            out, _ = bench_proc.communicate(timeout=seconds + 120)
            for line in out.splitlines():
                if line.startswith("ingest:"):
                    background = line
        outs = fleet.cli_json("outputs")
        print("alerts: %d new alerts in %.1f s (paced at %.0f/s), background: %s"
              % (args.alerts, sent_for, args.rate,
                 "%d simulated agents, batches of %d" % (args.agents, args.batch)
                 if args.agents else "none"))
        if args.agents:
            print("background " + background)
        for name in ("jsonl", "udp"):
            xs = [v / 1e6 for v in lat[name].values()]
            print("%-5s latency event time_ns -> %s: p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  "
                  "max %.2f ms  (n=%d)" % (name, "line in the file" if name == "jsonl"
                                           else "datagram received", percentile(xs, 50),
                                           percentile(xs, 90), percentile(xs, 99), max(xs),
                                           len(xs)))
        print("ack   latency event sent -> acknowledged (stored):   p50 %.2f ms  p90 %.2f ms  "
              "p99 %.2f ms  max %.2f ms  (n=%d)" % (percentile(acks, 50), percentile(acks, 90),
                                                  percentile(acks, 99), max(acks), len(acks)))
        for o in outs:
            print("output %-5s sent %d dropped %d failed %d" % (o["name"], o["sent"],
                                                               o["dropped"], o["failed"]))
    finally:
        stop.set()
        if bench_proc is not None and bench_proc.poll() is None:
            bench_proc.kill()
            bench_proc.wait()
        fleet.close()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
