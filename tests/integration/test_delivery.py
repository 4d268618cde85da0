"""Lossless delivery of events: real agent (process source, the kernel's
audit records), real server, real store.  Through kill -9 of the server,
kill -9 of the agent, a server stopped for 60 s and a server whose disk is
full, every event the test generated - each a process started with a
per-run marker in its arguments - is in the store exactly once."""
import collections
import os
import secrets
import signal
import subprocess
import time

from harness import FleetTest, main, wait_until

ROUNDS = int(os.environ.get("MAMORI_DELIVERY_ROUNDS", "10"))


class Marker:
    """Runs short processes whose arguments carry a unique marker."""

    def __init__(self):
        self.tag = "mdt" + secrets.token_hex(4)
        self.n = 0

    def run(self, count):
        procs = []
        for _ in range(count):
            self.n += 1
            procs.append(subprocess.Popen(["/bin/true", "%s-%d" % (self.tag, self.n)]))
        for p in procs:
            p.wait()

    def expected(self):
        return {"%s-%d" % (self.tag, i) for i in range(1, self.n + 1)}


def stored(fleet, marker):
    """Marker args found in START events, with how often each was stored."""
    seen = collections.Counter()
    for e in fleet.events("--type", "process", "--match", marker.tag):
        p = e.get("process", {})
        if p.get("action") not in ("START", 1):
            continue
        for a in p.get("args", []):
            if a.startswith(marker.tag + "-"):
                seen[a] += 1
    return seen


class Delivery(FleetTest):
    def setUp(self):
        super().setUp()
        self.f = self.fleet()
        self.state, _ = self.f.enroll("host")
        self.agent_id = self.f.agent_id(self.state)
        self.agent = self.start_agent()
        self.m = Marker()

    def source_starts(self):
        try:
            with open(self.state + ".log") as f:
                return f.read().count("event source process started")
        except OSError:
            return 0

    def start_agent(self):
        before = self.source_starts()
        p = self.f.run_agent(self.state, sources="process")
        wait_until(lambda: self.source_starts() > before, what="the process source")
        return p

    def check_exactly_once(self, timeout=60):
        want = self.m.expected()

        def done():
            got = stored(self.f, self.m)
            return got if set(got) >= want else None
        try:
            got = wait_until(done, timeout=timeout, step=1, what="every marker event")
        except AssertionError:
            got = stored(self.f, self.m)
            missing = sorted(want - set(got))
            raise AssertionError("%d of %d events missing, e.g. %s" % (
                len(missing), len(want), missing[:5]))
        twice = [k for k, v in got.items() if v != 1]
        self.assertEqual(twice, [], "stored more than once")
        self.assertEqual(set(got), want)

    def test_kill_server(self):
        for _ in range(ROUNDS):
            self.m.run(30)
            time.sleep(0.2)
            self.f.stop(signal.SIGKILL)
            self.m.run(20)
            self.f.start()
        self.check_exactly_once()

    def test_kill_agent(self):
        for _ in range(ROUNDS):
            self.m.run(30)
            time.sleep(0.5)   # captured: in the spool
            self.agent.send_signal(signal.SIGKILL)
            self.agent.wait()
            self.agent = self.start_agent()
        self.check_exactly_once()

    def test_server_away(self):
        self.f.stop()
        end = time.monotonic() + 60
        while time.monotonic() < end:
            self.m.run(10)
            time.sleep(1)
        self.f.start()
        self.check_exactly_once(timeout=120)

    def test_server_disk_full(self):
        # The server's home on a small filesystem of its own.
        self.f.close()
        mnt = os.path.join(self.tmp, "small")
        os.mkdir(mnt)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", mnt])
        from harness import Fleet
        self.f = Fleet(self.tmp, "small-fleet", home_parent=mnt)
        self.fleets.append(self.f)
        self.f.start()
        self.state, _ = self.f.enroll("full")
        self.agent_id = self.f.agent_id(self.state)
        self.agent = self.start_agent()
        filler = os.path.join(mnt, "filler")
        free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
        with open(filler, "wb") as fh:
            fh.write(b"\0" * max(0, free - 256 * 1024))
        for _ in range(20):
            self.m.run(50)
        wait_until(lambda: "not acknowledging" in self.f.log() or "cannot process" in self.f.log(),
                   timeout=60, what="the store to fill up")
        os.unlink(filler)
        self.check_exactly_once(timeout=120)
        self.assertEqual(self.f.cli("status").returncode, 0)


if __name__ == "__main__":
    main()
