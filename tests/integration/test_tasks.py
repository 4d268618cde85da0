"""Signed tasks and live queries through the whole product: a fleet policy
signed by the owner key and pushed through the server, live queries from
`mamori query`, hunts, and signed tasks from `mamori task submit` relayed
by the genuine server to real agents - which check every one of them and
refuse, record and report what the fleet's keys did not sign.

The server here relays whatever it is given (it never checks signatures:
that is the agents' job), so these are the tasks a compromised server could
send; the agent's answer and its TrustEvent say why each was refused."""
import json
import os
import socket
import ssl
import struct
import subprocess
import time

from harness import (FleetTest, agent_sockets, envelope, field_bytes, field_varint,
                     frame, main, wait_until)

WELCOME, POLICY_UPDATE, POLICY_STATUS, TASK_DELIVERY, TASK_RESULT = 13, 22, 23, 24, 25


def pb_fields(buf):
    """Top-level fields of a protobuf message: {number: [values]} (varints
    as ints, length-delimited as bytes)."""
    out, i = {}, 0

    def varint():
        nonlocal i
        n = shift = 0
        while True:
            b = buf[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n
    while i < len(buf):
        key = varint()
        num, wt = key >> 3, key & 7
        if wt == 0:
            v = varint()
        elif wt == 2:
            n = varint()
            v = bytes(buf[i:i + n])
            i += n
        elif wt == 1:
            v = buf[i:i + 8]
            i += 8
        else:
            v = buf[i:i + 4]
            i += 4
        out.setdefault(num, []).append(v)
    return out


class LyingServer:
    """What an attacker holding the server's key could run: it accepts the
    agent's connection with the real server certificate and sends whatever
    it likes."""

    def __init__(self, home, port):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(os.path.join(home, "keys", "server.crt"),
                            os.path.join(home, "keys", "server.key"))
        ctx.load_verify_locations(os.path.join(home, "keys", "ca.crt"))
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.ctx = ctx
        self.sock = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.sock.settimeout(30)
        self.buf = b""

    def accept(self):
        raw, _ = self.sock.accept()
        self.conn = self.ctx.wrap_socket(raw, server_side=True)
        self.conn.settimeout(30)

    def frames(self, until=None, timeout=20):
        """Reads frames until one has body field `until`; returns them."""
        got = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            while len(self.buf) >= 4 and len(self.buf) >= 4 + struct.unpack(">I", self.buf[:4])[0]:
                n = struct.unpack(">I", self.buf[:4])[0]
                env = pb_fields(self.buf[4:4 + n])
                self.buf = self.buf[4 + n:]
                got.append(env)
                if until is not None and until in env:
                    return got
            try:
                chunk = self.conn.recv(65536)
            except (socket.timeout, TimeoutError):
                continue
            if not chunk:
                break
            self.buf += chunk
        return got

    def send(self, body_field, body):
        self.conn.sendall(frame(envelope(body_field, body)))

    def close(self):
        try:
            self.conn.close()
        except Exception:
            pass
        self.sock.close()

PASS = "correct horse battery staple"


class TasksTest(FleetTest):

    def setUp(self):
        super().setUp()
        self.f = self.fleet()
        self.pass_file = os.path.join(self.tmp, "pass")
        with open(self.pass_file, "w") as fp:
            fp.write(PASS + "\n")
        self.keys = {}
        for name in ("alice", "bob", "eve"):
            self.keys[name] = self.key(name)
        # Mallory's key claims to be alice's: a wrong signature for alice.
        self.keys["mallory"] = self.key("mallory", admin_id="alice")
        self.state_a, _ = self.f.enroll("a")
        self.state_b, _ = self.f.enroll("b")
        self.id_a = self.f.agent_id(self.state_a)
        self.id_b = self.f.agent_id(self.state_b)
        self.agent_a = self.f.run_agent(self.state_a)
        self.agent_b = self.f.run_agent(self.state_b)
        wait_until(lambda: self.f.connected(self.id_a) and self.f.connected(self.id_b),
                   what="both agents connected")
        self.push_policy(1, admins=("alice", "bob"))

    # -- helpers ------------------------------------------------------------
    def key(self, name, admin_id=None):
        out = os.path.join(self.tmp, name + ".key")
        args = ["key", "create", "--out", out, "--passphrase-file", self.pass_file]
        if admin_id:
            args += ["--id", admin_id]
        self.f.cli(*args, check=True)
        return out

    def push_policy(self, version, admins, expect_ok=True):
        doc = {
            "version": version,
            "observe_from_server": True,
            "quorum": {"collect": 1, "change": min(2, len(admins))},
            "admins": [{"id": a, "public_key_file": self.keys[a] + ".pub"} for a in admins],
            "groups": [
                {"name": "everyone", "agents": ["*"],
                 "accept": ["query", "read_file", "hash_path", "run_command"]},
                {"name": "web", "agents": [self.id_a],
                 "accept": ["kill_process", "usb_block", "usb_allow"]},
            ],
        }
        path = os.path.join(self.tmp, "policy-%d.json" % version)
        with open(path, "w") as fp:
            json.dump(doc, fp)
        signed = path + ".signed"
        if os.path.exists(signed):
            os.unlink(signed)
        self.f.cli("policy", "sign", path, "--out", signed, check=True)
        p = self.f.cli("policy", "push", signed)
        if expect_ok:
            self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def task(self, name, ttype, target, *params, signers=(), not_before=None, valid=None):
        path = os.path.join(self.tmp, name + ".task")
        args = ["task", "create", "--type", ttype, "--target", target, "--out", path]
        if not_before:
            args += ["--not-before", not_before]
        if valid:
            args += ["--valid", valid]
        args += list(params)
        self.f.cli(*args, check=True)
        for s in signers:
            self.f.cli("sign", path, "--key", self.keys[s], "--passphrase-file",
                       self.pass_file, check=True)
        return path

    def submit(self, path, wait=10):
        p = self.f.cli("task", "submit", path, "--wait", str(wait), "--json",
                       timeout=wait + 60)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
        self.assertEqual(lines[0]["type"], "task")
        self.assertEqual(lines[-1]["type"], "summary")
        results = {l["data"]["agent"]: l["data"] for l in lines if l["type"] == "result"}
        summary = {a["agent"]: a for a in lines[-1]["data"]["agents"]}
        return lines[0]["data"]["task"], results, summary

    def trust_events(self, agent_id):
        evs = self.f.events("--agent", agent_id, "--type", "trust")
        return [e for e in evs]

    def assert_refused(self, path, reason, agent=None, signers_word=None):
        agent = agent or self.id_a
        task_id, results, summary = self.submit(path)
        self.assertIn(agent, results, "agent answered: %r" % summary)
        self.assertEqual(results[agent]["status"], "refused", results[agent])
        self.assertEqual(results[agent]["reason"], reason, results[agent])
        self.assertEqual(summary[agent]["status"], "refused")
        # The decision is also an event on the lossless path.
        wait_until(lambda: any(reason in json.dumps(e) and task_id in json.dumps(e)
                               for e in self.trust_events(agent)),
                   what="TrustEvent %s for %s" % (reason, task_id))
        return task_id

    # -- tests --------------------------------------------------------------
    def test_policy_reaches_agents_and_stale_refused(self):
        cur = self.f.cli_json("policy", "current")
        self.assertEqual(cur["version"], 1)
        wait_until(lambda: self.f.cli_json("policy", "current")["connected_current"] == 2,
                   what="both agents on policy 1")
        for aid in (self.id_a, self.id_b):
            wait_until(lambda: any("POLICY_ACCEPTED" in json.dumps(e) or
                                   "policy_accepted" in json.dumps(e).lower()
                                   for e in self.trust_events(aid)),
                       what="policy accepted event")
        # Not newer: refused by the server, which checks as agents do.
        p = self.push_policy(1, admins=("alice",), expect_ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("not newer", p.stderr)
        self.assertOneLine(p.stderr)
        # Not signed by the owner key: a policy signed by another owner.
        other = self.fleet("other", start=False)
        doc = os.path.join(self.tmp, "policy-1.json")
        signed = os.path.join(self.tmp, "foreign.signed")
        other.cli("policy", "sign", doc, "--out", signed, check=True)
        p = self.f.cli("policy", "push", signed)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("owner", p.stderr)
        self.assertEqual(self.f.cli_json("policy", "current")["version"], 1)

    def test_live_query(self):
        p = self.f.cli("query", "SELECT pid, name FROM processes WHERE pid = %d"
                       % self.agent_a.pid, "--agent", self.id_a[:8], "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = [json.loads(l) for l in p.stdout.splitlines()]
        res = [l["data"] for l in lines if l["type"] == "result"]
        self.assertEqual(len(res), 1)
        self.assertEqual(res[0]["status"], "ok")
        self.assertEqual(res[0]["query"]["columns"], ["pid", "name"])
        self.assertEqual(res[0]["query"]["rows"], [[self.agent_a.pid, "mamori-agent"]])
        # Every agent, a per-agent status, and the human form.
        p = self.f.cli("query", "SELECT count(*) AS n FROM processes", "--all")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("2 of 2 agents answered ok", p.stdout)
        # Bad SQL and writes: an error from each agent, which keeps serving.
        for sql, word in (("SELEC nonsense", "syntax"),
                          ("DELETE FROM processes", ""),
                          ("ATTACH DATABASE '/tmp/x.db' AS x", ""),
                          ("SELECT * FROM file", "constraint")):
            p = self.f.cli("query", sql, "--all", "--json")
            self.assertEqual(p.returncode, 0, p.stderr)
            lines = [json.loads(l) for l in p.stdout.splitlines()]
            res = [l["data"] for l in lines if l["type"] == "result"]
            self.assertEqual(len(res), 2, lines)
            for r in res:
                self.assertEqual(r["status"], "failed", r)
                self.assertIn(word, r["message"])
        self.assertFalse(os.path.exists("/tmp/x.db"))
        p = self.f.cli("query", "SELECT 1 AS one", "--all", "--json")
        self.assertIn('"one"', p.stdout)
        # An offline agent is reported as such.
        self.agent_b.terminate()
        self.agent_b.wait(timeout=30)
        wait_until(lambda: not self.f.connected(self.id_b), what="agent b gone")
        p = self.f.cli("query", "SELECT 1", "--all", "--timeout", "2", "--json")
        summary = json.loads(p.stdout.splitlines()[-1])["data"]
        st = {a["agent"]: a["status"] for a in summary["agents"]}
        self.assertEqual(st, {self.id_a: "ok", self.id_b: "offline"})

    def test_hunt_reaches_offline_agent(self):
        self.agent_b.terminate()
        self.agent_b.wait(timeout=30)
        wait_until(lambda: not self.f.connected(self.id_b), what="agent b gone")
        p = self.f.cli("hunt", "start", "SELECT 42 AS answer", "--all", "--ttl", "10m")
        self.assertEqual(p.returncode, 0, p.stderr)
        hunt = p.stdout.strip()
        self.assertEqual(len(hunt), 32)
        wait_until(lambda: self.f.cli_json("hunt", "show", hunt[:8])["ok"] == 1,
                   what="agent a answers the hunt")
        self.assertEqual(self.f.cli_json("hunt", "show", hunt)["pending"], 1)
        self.f.run_agent(self.state_b)
        wait_until(lambda: self.f.cli_json("hunt", "show", hunt)["ok"] == 2,
                   what="agent b answers when it connects")
        shown = self.f.cli_json("hunt", "show", hunt)
        self.assertEqual(sorted(r["agent"] for r in shown["results"]),
                         sorted([self.id_a, self.id_b]))
        for r in shown["results"]:
            self.assertEqual(r["query"]["rows"], [[42]])
        listed = self.f.cli_json("hunt", "list")
        self.assertEqual([h["id"] for h in listed if h["kind"] == "hunt"], [hunt])
        # Results are sealed at rest: the marker query text is nowhere on disk.
        marker = "qz-HUNT-MARKER-77c1"
        self.f.cli("query", "SELECT '%s' AS m" % marker, "--all", "--timeout", "5",
                   check=True)
        self.f.stop()
        for root, _, files in os.walk(self.f.home):
            for name in files:
                with open(os.path.join(root, name), "rb") as fp:
                    self.assertNotIn(marker.encode(), fp.read(), name)
        self.f.start()

    def test_signed_task_runs(self):
        path = self.task("read", "read_file", "agent:" + self.id_a,
                         "--path", "/etc/hostname", signers=("alice",))
        task_id, results, summary = self.submit(path)
        self.assertEqual(results[self.id_a]["status"], "ok", results)
        with open("/etc/hostname") as fp:
            self.assertEqual(results[self.id_a]["output"], fp.read())
        # The decision and the end are events with the signer named.
        def mine():
            return [e for e in self.trust_events(self.id_a) if task_id in json.dumps(e)]
        wait_until(lambda: len(mine()) >= 2, what="accepted and finished events")
        text = json.dumps(mine())
        self.assertIn("alice", text)
        self.assertIn("TASK_FINISHED", text.upper())
        # A change task with the quorum runs: a command, its output kept.
        cmd = self.task("cmd", "run_command", "agent:" + self.id_a, "--",
                        "/bin/echo", "mamori-ran-this", signers=("alice", "bob"))
        _, results, _ = self.submit(cmd)
        self.assertEqual(results[self.id_a]["status"], "ok", results)
        self.assertEqual(results[self.id_a]["output"], "mamori-ran-this\n")

    def test_refusals(self):
        a = "agent:" + self.id_a
        self.assert_refused(self.task("nosig", "read_file", a, "--path", "/etc/hostname"),
                            "NO_SIGNATURE")
        self.assert_refused(self.task("badsig", "read_file", a, "--path", "/etc/hostname",
                                      signers=("mallory",)), "BAD_SIGNATURE")
        self.assert_refused(self.task("unknown", "read_file", a, "--path", "/etc/hostname",
                                      signers=("eve",)), "UNKNOWN_SIGNER")
        self.assert_refused(self.task("quorum", "run_command", a, "--", "/bin/true",
                                      signers=("alice",)), "QUORUM")
        self.assert_refused(self.task("early", "read_file", a, "--path", "/etc/hostname",
                                      signers=("alice",), not_before="+2h"),
                            "NOT_YET_VALID")
        # Addressed to agent b but relayed to a by a lying server: the
        # genuine server only sends it to b, so target b and check a never
        # ran it, and a task for a group a is not in is refused by a.
        self.assert_refused(self.task("type", "kill_process", "agent:" + self.id_b,
                                      "--pid", "999999", signers=("alice", "bob")),
                            "TYPE_NOT_ALLOWED", agent=self.id_b)
        # Re-signed after a new policy removed the signer.
        self.push_policy(2, admins=("alice",))
        wait_until(lambda: self.f.cli_json("policy", "current")["connected_current"] == 2,
                   what="both agents on policy 2")
        self.assert_refused(self.task("removed", "read_file", a, "--path", "/etc/hostname",
                                      signers=("bob",)), "UNKNOWN_SIGNER")

    def test_lying_server(self):
        """Replays, expired tasks and tasks for another agent, sent over
        the agent's genuine connection by a server that lies."""
        ran = self.task("ran", "query", "agent:" + self.id_a, "--sql", "SELECT 7 AS seven",
                        signers=("alice",))
        task_id, results, _ = self.submit(ran)
        self.assertEqual(results[self.id_a]["status"], "ok")
        past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3 * 3600))
        expired = self.task("expired", "read_file", "agent:" + self.id_a, "--path",
                            "/etc/hostname", signers=("alice",), not_before=past, valid="1h")
        other = self.task("other", "read_file", "agent:" + self.id_b, "--path",
                          "/etc/hostname", signers=("alice",))
        # Policies the genuine server would not relay: one signed by
        # another owner key, and the current one again (not newer).
        foreign_fleet = self.fleet("foreign", start=False)
        foreign = os.path.join(self.tmp, "foreign-policy.signed")
        foreign_fleet.cli("policy", "sign", os.path.join(self.tmp, "policy-1.json"),
                          "--out", foreign, check=True)
        stale = os.path.join(self.tmp, "policy-1.json.signed")
        self.agent_b.terminate()
        self.agent_b.wait(timeout=30)
        port = self.f.port
        self.f.stop()
        liar = LyingServer(self.f.home, port)
        try:
            liar.accept()
            hello = liar.frames(until=12)
            self.assertTrue(any(12 in e for e in hello), "agent said hello")
            liar.send(WELCOME, field_bytes(1, self.id_a) + field_varint(2, 30)
                      + field_varint(3, int(time.time())))
            # The agent says which policy it holds once welcomed.
            first = [e for e in liar.frames(until=POLICY_STATUS, timeout=10)
                     if POLICY_STATUS in e]
            self.assertEqual(pb_fields(first[0][POLICY_STATUS][0]).get(1, [0])[0], 1)
            statuses = []
            for path in (foreign, stale):
                with open(path, "rb") as fp:
                    liar.send(POLICY_UPDATE, field_bytes(1, fp.read()))
                for env in liar.frames(until=POLICY_STATUS, timeout=10):
                    if POLICY_STATUS in env:
                        st = pb_fields(env[POLICY_STATUS][0])
                        statuses.append((st.get(1, [0])[0], st.get(2, [b""])[0].decode()))
            refusals = [r for v, r in statuses if r]
            self.assertEqual(len(refusals), 2, statuses)
            self.assertIn("owner", refusals[0])
            self.assertIn("newer", refusals[1])
            # The policy held is still version 1.
            self.assertEqual(statuses[-1][0], 1)
            answers = {}
            for name, path in (("replay", ran), ("expired", expired), ("other", other)):
                with open(path, "rb") as fp:
                    liar.send(TASK_DELIVERY, field_bytes(1, fp.read()))
            # Each refusal is answered, except the replay: its answer went
            # out the first time.
            deadline = time.time() + 20
            while len(answers) < 2 and time.time() < deadline:
                for env in liar.frames(until=TASK_RESULT, timeout=5):
                    if TASK_RESULT in env:
                        res = pb_fields(env[TASK_RESULT][0])
                        answers[res[1][0].hex()] = (res[2][0], res.get(4, [b""])[0].decode())
            reasons = sorted(r for _, r in answers.values())
            self.assertEqual(reasons, ["EXPIRED", "NOT_TARGETED"], answers)
            self.assertNotIn(task_id, answers)
            # The agent still serves, and opened no socket.
            self.assertIsNone(self.agent_a.poll())
            self.assertEqual(agent_sockets(self.agent_a.pid), [])
        finally:
            liar.close()
        # The real server is back: the agent's decisions reach it as events.
        self.f.start()
        wait_until(lambda: sum(1 for e in self.trust_events(self.id_a)
                               if "REPLAYED" in json.dumps(e) or "EXPIRED" in json.dumps(e)
                               or "NOT_TARGETED" in json.dumps(e)) >= 3,
                   timeout=40, what="the lying server's tasks reported as refused")
        refused = [e for e in self.trust_events(self.id_a)
                   if "POLICY_REFUSED" in json.dumps(e).upper()]
        self.assertEqual(len(refused), 2, refused)

    def test_usb_block_task(self):
        """A quorum-signed USB_BLOCK reaches the agent and is enforced
        through the (fake) sysfs authorized file; USB_ALLOW undoes it."""
        hc = "devices/pci0000:00/0000:00:14.0/usb1"
        root = os.path.join(self.tmp, "hostroot")
        sysd = os.path.join(root, "sys")
        os.makedirs(os.path.join(sysd, hc))
        os.makedirs(os.path.join(sysd, "bus", "usb", "devices"))

        def put(d, name, v):
            with open(os.path.join(d, name), "w") as fp:
                fp.write(v + "\n")
        for name, vid, pid, cls in (("usb1", "1d6b", "0002", "09"),
                                    ("1-1", "0781", "5567", "00")):
            d = os.path.join(sysd, hc) if name == "usb1" else os.path.join(sysd, hc, name)
            os.makedirs(d, exist_ok=True)
            for k, v in (("idVendor", vid), ("idProduct", pid), ("bDeviceClass", cls),
                         ("authorized", "1"), ("serial", "STICK0001")):
                put(d, k, v)
            rel = "../../../" + hc + ("" if name == "usb1" else "/" + name)
            os.symlink(rel, os.path.join(sysd, "bus", "usb", "devices", name))
        auth = os.path.join(sysd, hc, "1-1", "authorized")
        self.agent_a.terminate()
        self.agent_a.wait(timeout=30)
        wait_until(lambda: not self.f.connected(self.id_a), what="agent a gone")
        self.agent_a = self.f.run_agent(self.state_a, "--inventory-root", root, sources="usb")
        wait_until(lambda: self.f.connected(self.id_a), what="agent a back with usb control")
        a = "agent:" + self.id_a
        block = self.task("usbblock", "usb_block", a, "--device", "0781:5567",
                          signers=("alice", "bob"))
        _, results, _ = self.submit(block)
        self.assertEqual(results[self.id_a]["status"], "ok", results)
        with open(auth) as fp:
            self.assertEqual(fp.read().strip(), "0")
        allow = self.task("usballow", "usb_allow", a, "--device", "0781:5567",
                          signers=("alice", "bob"))
        _, results, _ = self.submit(allow)
        self.assertEqual(results[self.id_a]["status"], "ok", results)
        with open(auth) as fp:
            self.assertEqual(fp.read().strip(), "1")
        # One signature is not the change quorum: refused, nothing written.
        again = self.task("usbblock1", "usb_block", a, "--device", "0781:5567",
                          signers=("alice",))
        self.assert_refused(again, "QUORUM")
        with open(auth) as fp:
            self.assertEqual(fp.read().strip(), "1")

    def test_bad_input(self):
        """Each mistake: one line saying what is wrong, a non-zero exit,
        nothing stored."""
        junk = os.path.join(self.tmp, "junk")
        with open(junk, "wb") as fp:
            fp.write(b"\x00not a signed thing\xff" * 10)
        before = self.f.cli_json("hunt", "list")
        for args, code in ((("query", "SELECT 1"), 2),
                           (("query", "SELECT 1", "--all", "--group", "web"), 2),
                           (("query", "SELECT 1", "--all", "--timeout", "0"), 2),
                           (("query", "SELECT 1", "--agent", "ffffffffffff"), 1),
                           (("query", "SELECT 1", "--group", "nosuchgroup"), 1),
                           (("hunt", "start", "SELECT 1", "--all", "--ttl", "48h"), 2),
                           (("hunt", "show", "zzzz"), 1),
                           (("task", "submit", os.path.join(self.tmp, "missing.task")), 1),
                           (("task", "submit", junk), 1),
                           (("policy", "push", junk), 1)):
            p = self.f.cli(*args)
            self.assertEqual(p.returncode, code, (args, p.stdout, p.stderr))
            if code != 0:
                self.assertOneLine(p.stderr)
        after = [h for h in self.f.cli_json("hunt", "list") if h["kind"] != "query"]
        self.assertEqual([h for h in before if h["kind"] != "query"], after)
        self.assertEqual(self.f.cli_json("policy", "current")["version"], 1)

    def test_no_listening_socket(self):
        for p in (self.agent_a, self.agent_b):
            self.assertEqual(agent_sockets(p.pid), [])
        self.f.cli("query", "SELECT 1", "--all", check=True)
        for p in (self.agent_a, self.agent_b):
            self.assertEqual(agent_sockets(p.pid), [])


if __name__ == "__main__":
    main()
