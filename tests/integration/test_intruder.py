"""What a Linux intruder does, on the real host, watched by a real agent
(process, file and network sources: the kernel's audit socket, inotify,
/proc/net) and judged by a real server holding every SigmaHQ Linux rule of
the shared corpus for the log sources mamori maps, the rules mamori ships
(rules/) and a STIX bundle of the test's own indicators:

  - a crontab entry written to /etc/cron.d          (corpus file_event rule)
  - a key appended to root's authorized_keys         (mamori's rule)
  - a binary run whose SHA-256 is an indicator       (STIX file hash; run
                                                      from /tmp, a corpus rule too)
  - a connection to an address that is an indicator  (STIX ipv4-addr)
  - a command line corpus rules describe             (mkfifo under /tmp: two
                                                      process_creation rules)

Each raises the right alert, once, for the right host; nothing else is
raised by the test's own ordinary activity.  Whatever the test changes on
the host is put back."""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid

from harness import BUILD, FleetTest, main, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "..", "shared", "corpora", "sigma", "rules", "linux")
SHIPPED = os.path.join(HERE, "..", "..", "rules", "linux")
CRON_RULE = "6c4e2f43-d94d-4ead-b64d-97e53fa2bd05"      # New Cron File Created
KEYS_RULE = "7b5a3a57-6c1e-4d36-a0a4-5a2f1b3e9c01"      # SSH Authorized Keys Changed
MKFIFO_RULE = "9d779ce8-5256-4b13-8b6f-b91c602b43f4"    # Named Pipe Created Via Mkfifo
# ... and, since the pipe is made under /tmp, its sibling rule.
MKFIFO_TMP_RULE = "999c3b12-0a8c-40b6-8e13-dd7d62b75c7a"
# The implant runs from under /tmp, which a corpus rule also describes.
EXEC_TMP_RULE = "312b42b1-bded-4441-8b58-163a3af58775"
IOC_ADDR = "127.0.0.77"


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def indicator(ind_id, name, pattern):
    return {"type": "indicator", "spec_version": "2.1", "id": ind_id,
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": name, "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
            "pattern": pattern, "indicator_types": ["malicious-activity"]}


class Intruder(FleetTest):

    def setUp(self):
        super().setUp()
        self.restore = []

    def tearDown(self):
        for fn in reversed(self.restore):
            fn()

    def keep(self, path):
        """Puts path back as it was when the test ends."""
        if os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read()
            mode = os.stat(path).st_mode & 0o7777

            def put_back():
                with open(path, "wb") as f:
                    f.write(data)
                os.chmod(path, mode)
        else:
            def put_back():
                if os.path.exists(path):
                    os.unlink(path)
        self.restore.append(put_back)

    def alerts(self, fleet):
        return fleet.cli_json("alerts", "--limit", "1000")

    # When the build itself lives under /tmp, the harness's own runs of
    # mamori are executions from /tmp, which a corpus rule rightly flags;
    # that alert then also counts the implant's run (one alert per rule and
    # host in an hour).
    build_in_tmp = os.path.realpath(BUILD).startswith("/tmp/")

    def ours(self, alerts, marker):
        """The alerts about the test's own programs and files."""
        words = (self.tmp, marker, "/etc/cron.d/mamori-test-", "/root/.ssh/authorized_keys",
                 IOC_ADDR)

        def about(a):
            d = dict(a["detail"])
            d.pop("rule_path", None)       # the rule's file, in the server home
            return json.dumps(d)
        return [a for a in alerts if any(w in about(a) for w in words)]

    def test_intruder(self):
        marker = uuid.uuid4().hex[:12]
        exe = os.path.join(self.tmp, "implant-" + marker)
        shutil.copy("/bin/true", exe)
        with open(exe, "ab") as f:
            f.write(("mamori-implant-%s" % marker).encode())
        os.chmod(exe, 0o755)
        with open(exe, "rb") as f:
            exe_sha = hashlib.sha256(f.read()).hexdigest()
        ind_file = "indicator--%s" % uuid.uuid4()
        ind_addr = "indicator--%s" % uuid.uuid4()

        fleet = self.fleet(start=False)
        sigma = os.path.join(fleet.home, "rules", "sigma")
        os.makedirs(sigma)
        for cat in ("process_creation", "file_event", "network_connection"):
            shutil.copytree(os.path.join(CORPUS, cat), os.path.join(sigma, cat))
        shutil.copytree(SHIPPED, os.path.join(sigma, "mamori"))
        intel = os.path.join(fleet.home, "rules", "intel")
        os.makedirs(intel)
        with open(os.path.join(intel, "intruder.json"), "w") as f:
            json.dump({"type": "bundle", "id": "bundle--%s" % uuid.uuid4(), "objects": [
                indicator(ind_file, "implant", "[file:hashes.'SHA-256' = '%s']" % exe_sha),
                indicator(ind_addr, "c2 address", "[ipv4-addr:value = '%s']" % IOC_ADDR),
            ]}, f)
        fleet.start()
        listed = fleet.cli_json("rules", "list")
        loaded = {r["id"] for r in listed["rules"] if r["loaded"]}
        for rid in (CRON_RULE, KEYS_RULE, MKFIFO_RULE, ind_file, ind_addr):
            self.assertIn(rid, loaded)
        self.assertGreater(listed["sigma_loaded"], 100)

        ssh = "/root/.ssh"
        if not os.path.isdir(ssh):
            os.makedirs(ssh, mode=0o700)
            self.restore.append(lambda: shutil.rmtree(ssh, ignore_errors=True))
        keys = os.path.join(ssh, "authorized_keys")
        self.keep(keys)
        cron = "/etc/cron.d/mamori-test-" + marker
        self.keep(cron)

        state, _ = fleet.enroll("victim")
        agent_id = fleet.agent_id(state)
        fleet.run_agent(state, "--watch", "/etc/cron.d", "--watch", ssh,
                        sources="process,file,network")
        for src in ("process", "file", "network"):
            wait_until(lambda: "event source %s started" % src in read(state + ".log"),
                       timeout=60, what="the %s source" % src)
        wait_until(lambda: fleet.events("--type", "process", "--agent", agent_id),
                   timeout=30, what="process events")
        time.sleep(2)
        # The harness's own activity so far (CLI calls, the agent, the
        # server) raised nothing.  The whole host is watched, so what other
        # programs on it do may raise alerts of its own; those are left out
        # by what they are about.
        self.assertEqual([a for a in self.ours(self.alerts(fleet), marker)
                          if not (self.build_in_tmp and a["rule"] == EXEC_TMP_RULE)], [])

        # 1. Persistence through cron.
        with open(cron, "w") as f:
            f.write("*/5 * * * * root /tmp/.%s >/dev/null 2>&1\n" % marker)
        # 2. Persistence through ssh.
        with open(keys, "a") as f:
            f.write("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMamoriTestKeyNotARealKey00000000000000 "
                    "intruder-%s\n" % marker)
        # 3. The implant runs.
        subprocess.run([exe], check=True)
        # 4. It calls home: a connection held open across a poll.
        srv = socket.socket()
        srv.bind((IOC_ADDR, 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        accepted = []
        t = threading.Thread(target=lambda: accepted.append(srv.accept()))
        t.start()
        c = socket.create_connection((IOC_ADDR, port), timeout=5)
        time.sleep(1.5)
        # 5. A named pipe for a reverse shell.
        pipe = os.path.join(self.tmp, "p-" + marker)
        subprocess.run(["mkfifo", pipe], check=True)

        want = {CRON_RULE, KEYS_RULE, ind_file, ind_addr, MKFIFO_RULE, MKFIFO_TMP_RULE,
                EXEC_TMP_RULE}

        def got():
            return {a["rule"] for a in self.alerts(fleet)}
        wait_until(lambda: want <= got(), timeout=60,
                   what="every alert (have %s)" % sorted(got()))
        c.close()
        t.join(timeout=5)
        for s, _ in accepted:
            s.close()
        srv.close()
        time.sleep(2)
        alerts = self.ours(self.alerts(fleet), marker)
        by_rule = {}
        for a in alerts:
            by_rule.setdefault(a["rule"], []).append(a)
        # Each once (repeats inside the window only count), for this host,
        # about what the test did - and nothing else.
        self.assertEqual(set(by_rule), want, json.dumps(alerts, indent=1)[:4000])
        for rule, lst in by_rule.items():
            self.assertEqual(len(lst), 1, lst)
            self.assertEqual(lst[0]["agent"], agent_id)
        detail = {r: json.dumps(l[0]["detail"]) for r, l in by_rule.items()}
        self.assertIn(cron, detail[CRON_RULE])
        self.assertIn(keys, detail[KEYS_RULE])
        self.assertIn(exe_sha, detail[ind_file])
        self.assertIn(IOC_ADDR, detail[ind_addr])
        self.assertIn(pipe, detail[MKFIFO_RULE])
        self.assertIn(pipe, detail[MKFIFO_TMP_RULE])
        if not self.build_in_tmp:
            self.assertIn(exe, detail[EXEC_TMP_RULE])
        self.assertEqual(by_rule[ind_file][0]["source"], "indicator")
        self.assertEqual(by_rule[CRON_RULE][0]["source"], "sigma")


if __name__ == "__main__":
    main()
