"""YARA rules carried to agents by the signed fleet policy: `mamori policy
sign` reads rule files named in the policy JSON (the JPCERT/CC Tick rules
as they are, and a marker rule of this test's own), the agent compiles them
when the policy arrives, and

- a new executable under a watched path that matches becomes a YaraEvent
  (`mamori events --type yara`) and an alert of source yara
  (`mamori alerts`), as does a file only later made executable;
- a file without an x bit is not scanned;
- a YARA_SCAN task signed by an admin uses the same rules over a directory.

The agent runs with the file source only (never the process source)."""
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time

from harness import FleetTest, main, wait_until
from test_tasks import pb_fields

HERE = os.path.dirname(os.path.abspath(__file__))
CORPORA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "corpora"))
TICK = os.path.join(CORPORA, "yara", "jpcert-tick.yara")
PASS = "correct horse battery staple"
MARKER = b"MAMORI-IT-YARA-MARKER-5c1e"
MARKER_RULE = """rule mamori_it_marker : test
{
  meta:
    description = "marker of test_yara_policy"
  strings:
    $m = "%s"
  condition:
    $m
}
""" % MARKER.decode()


def pb_varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_bytes(num, data):
    return pb_varint(num << 3 | 2) + pb_varint(len(data)) + data


class YaraPolicy(FleetTest):

    def setUp(self):
        super().setUp()
        if not os.path.exists(TICK):
            self.fail("%s is missing" % TICK)
        self.f = self.fleet()
        self.pass_file = os.path.join(self.tmp, "pass")
        with open(self.pass_file, "w") as fp:
            fp.write(PASS + "\n")
        self.alice = os.path.join(self.tmp, "alice.key")
        self.f.cli("key", "create", "--out", self.alice, "--passphrase-file",
                   self.pass_file, check=True)
        self.state, _ = self.f.enroll("host")
        self.agent_id = self.f.agent_id(self.state)
        self.watched = os.path.join(self.tmp, "watched")
        os.mkdir(self.watched)
        self.f.run_agent(self.state, "--watch", self.watched, sources="file")
        wait_until(lambda: "event source file started" in open(self.state + ".log").read(),
                   what="the file source")
        wait_until(lambda: self.f.connected(self.agent_id), what="the agent connected")

    def policy(self, version, yara):
        rules = os.path.join(self.tmp, "rules")
        os.makedirs(rules, exist_ok=True)
        doc = {
            "version": version,
            "admins": [{"id": "alice", "public_key_file": self.alice + ".pub"}],
            "groups": [{"name": "everyone", "agents": ["*"], "accept": ["yara_scan"]}],
            "yara": yara,
        }
        path = os.path.join(self.tmp, "policy-%d.json" % version)
        with open(path, "w") as fp:
            json.dump(doc, fp)
        signed = path + ".signed"
        return path, signed

    def write_exec(self, name, data, mode=0o755):
        path = os.path.join(self.watched, name)
        with open(path, "wb") as fp:
            fp.write(data)
        os.chmod(path, mode)
        return path

    def yara_events(self):
        return [e["yara"] for e in self.f.events("--type", "yara", "--agent", self.agent_id)]

    def test_rules_through_policy(self):
        rules = os.path.join(self.tmp, "rules")
        os.makedirs(rules)
        with open(os.path.join(rules, "marker.yar"), "w") as fp:
            fp.write(MARKER_RULE)
        # A rule file that does not compile is refused at signing, with
        # one line naming the set.
        with open(os.path.join(rules, "broken.yar"), "w") as fp:
            fp.write("rule broken { condition: no_such_thing }\n")
        doc, signed = self.policy(1, ["rules/broken.yar"])
        p = self.f.cli("policy", "sign", doc, "--out", signed)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("broken.yar", p.stderr)
        self.assertFalse(os.path.exists(signed))

        doc, signed = self.policy(1, ["rules/marker.yar", TICK])
        self.f.cli("policy", "sign", doc, "--out", signed, check=True)
        shown = self.f.cli_json("policy", "show", signed)
        self.assertEqual([y["name"] for y in shown["yara"]], ["marker.yar", "jpcert-tick.yara"])
        self.assertEqual(shown["yara"][1]["bytes"], os.path.getsize(TICK))
        with open(TICK, "rb") as fp:
            self.assertEqual(shown["yara"][1]["sha256"], hashlib.sha256(fp.read()).hexdigest())
        self.f.cli("policy", "push", signed, check=True)
        cur = self.f.cli_json("policy", "current")
        self.assertEqual([y["name"] for y in cur["yara"]], ["marker.yar", "jpcert-tick.yara"])
        human = self.f.cli("policy", "current", check=True).stdout
        self.assertIn("jpcert-tick.yara", human)
        wait_until(lambda: any("2 YARA sets in force" in json.dumps(e)
                               for e in self.f.events("--type", "trust", "--agent", self.agent_id)),
                   what="the policy accepted with its YARA sets")

        # Not executable: not scanned.  Then an executable with the marker,
        # and the Tick group's SKYSEA downloader as built from its rule.
        self.write_exec("notes.txt", b"text " + MARKER + b"\n", mode=0o644)
        marker_data = b"#!/bin/sh\n# " + MARKER + b"\nexit 0\n"
        marker_path = self.write_exec("update-helper", marker_data)
        samples = os.path.join(self.tmp, "samples")
        os.mkdir(samples)
        subprocess.run([sys.executable, os.path.join(HERE, "..", "yara", "build_samples.py"),
                        samples], check=True, capture_output=True)
        with open(os.path.join(samples, "tick_SKYSEA_downloader.bin"), "rb") as fp:
            tick_data = fp.read()
        tick_path = self.write_exec("skysea-agent", tick_data)

        def both():
            evs = self.yara_events()
            rules_seen = {(e["rule"], e["path"]) for e in evs}
            if ("mamori_it_marker", marker_path) in rules_seen and \
               ("tick_SKYSEA_downloader", tick_path) in rules_seen:
                return evs
            return None
        evs = wait_until(both, what="yara events for the marker and the Tick sample")
        marker_ev = [e for e in evs if e["rule"] == "mamori_it_marker"][0]
        self.assertEqual(marker_ev["set"], "marker.yar")
        self.assertEqual(marker_ev["sha256"], hashlib.sha256(marker_data).hexdigest())
        self.assertEqual(marker_ev["tags"], ["test"])
        tick_ev = [e for e in evs if e["rule"] == "tick_SKYSEA_downloader"][0]
        self.assertEqual(tick_ev["set"], "jpcert-tick.yara")
        self.assertEqual(tick_ev["sha256"], hashlib.sha256(tick_data).hexdigest())
        self.assertFalse(any(e["path"].endswith("notes.txt") for e in evs))

        # A file made executable later is scanned then.
        later = self.write_exec("later", b"x " + MARKER + b"\n", mode=0o600)
        time.sleep(1.5)
        self.assertFalse(any(e["path"] == later for e in self.yara_events()))
        os.chmod(later, 0o700)
        wait_until(lambda: any(e["path"] == later for e in self.yara_events()),
                   what="a yara event for the file made executable")

        # Alerts: source yara, keyed by the rule, high by default.
        def alerts():
            al = self.f.cli_json("alerts", "--limit", "1000")
            keys = {(a["source"], a["rule"]) for a in al}
            if ("yara", "mamori_it_marker") in keys and ("yara", "tick_SKYSEA_downloader") in keys:
                return al
            return None
        al = wait_until(alerts, what="yara alerts")
        tick_alert = [a for a in al if a["rule"] == "tick_SKYSEA_downloader"][0]
        self.assertEqual(tick_alert["severity"], "high")
        human = self.f.cli("alerts", check=True).stdout
        self.assertIn("tick_SKYSEA_downloader", human)
        human = self.f.cli("events", "--type", "yara", check=True).stdout
        self.assertIn("mamori_it_marker", human)

        # A YARA_SCAN task signed by alice over the directory, with the
        # policy's rules.
        task = os.path.join(self.tmp, "scan.task")
        self.f.cli("task", "create", "--type", "yara_scan", "--target", "agent:" + self.agent_id,
                   "--path", self.watched, "--out", task, check=True)
        self.f.cli("sign", task, "--key", self.alice, "--passphrase-file", self.pass_file,
                   check=True)
        p = self.f.cli("task", "submit", task, "--wait", "30", "--json", timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
        results = [l["data"] for l in lines if l["type"] == "result"]
        self.assertEqual(len(results), 1, lines)
        self.assertEqual(results[0]["status"], "ok", results[0])
        text = json.dumps(results[0])
        self.assertIn("tick_SKYSEA_downloader", text)
        self.assertIn("mamori_it_marker", text)
        self.assertIn(marker_path, text)

        # A policy whose set does not compile, signed by the owner key with
        # another tool than `mamori policy sign` (which refuses it): the
        # agent skips that set, says so in a TrustEvent, and applies the
        # two others.
        self.push_with_broken_set(doc, signed)
        wait_until(lambda: [e for e in self.f.events("--type", "trust", "--agent", self.agent_id)
                            if "yara_set_skipped" in json.dumps(e) and
                            "broken.yar" in json.dumps(e)],
                   what="a TrustEvent for the skipped set")
        wait_until(lambda: any("2 YARA sets in force (some skipped)" in json.dumps(e)
                               for e in self.f.events("--type", "trust", "--agent", self.agent_id)),
                   what="policy 2 with two sets in force")
        tick2 = self.write_exec("skysea-agent-2", tick_data)
        marker2 = self.write_exec("update-helper-2", marker_data + b"# 2\n")
        wait_until(lambda: {marker2, tick2} <= {e["path"] for e in self.yara_events()},
                   what="the marker and Tick rules still applied under policy 2")

    def push_with_broken_set(self, doc1, signed1):
        """Policy 2 = policy 1's body with version 2 and a set that does not
        compile added, signed with openssl by the owner key."""
        with open(signed1, "rb") as fp:
            sp = pb_fields(fp.read())
        body = sp[1][0]
        fields = pb_fields(body)
        self.assertEqual(fields[2], [1])
        # Version is field 2 (varint 1, two bytes after field 1's two).
        self.assertEqual(body[:4], pb_varint(1 << 3) + b"\x01" + pb_varint(2 << 3) + b"\x01")
        body2 = body[:3] + b"\x02" + body[4:]
        body2 += pb_bytes(10, pb_bytes(1, b"broken.yar") +
                          pb_bytes(2, b"rule broken { condition: no_such_thing }\n"))
        msg = os.path.join(self.tmp, "policy2.msg")
        with open(msg, "wb") as fp:
            fp.write(b"mamori policy v1\0" + body2)
        sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey",
                              os.path.join(self.f.home, "keys", "owner.key"), "-in", msg],
                             check=True, capture_output=True).stdout
        self.assertEqual(len(sig), 64)
        signed2 = os.path.join(self.tmp, "policy-2.signed")
        with open(signed2, "wb") as fp:
            fp.write(pb_bytes(1, body2) + pb_bytes(2, sp[2][0]) + pb_bytes(3, sig))
        self.f.cli("policy", "push", signed2, check=True)


if __name__ == "__main__":
    main()
