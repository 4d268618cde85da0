"""Detection content managed on a running server: `mamori rules add/list/
remove` with detection reloaded live (an alert from a rule added while the
server runs, none after it is removed, no restart), `mamori intel
import/list/remove` with a corpus STIX bundle, `mamori yara add/list/remove`
with the JPCERT/CC Tick rules, and `mamori vuln import/report` with the
corpus OSV advisory against agents' stored inventories.

Bad input - not YAML, a rule the server cannot apply, a bundle without an
indicator, YARA that does not compile, an unknown id - gets one line on
stderr, a non-zero exit, and leaves what the server keeps unchanged.

Uses the file event source only (no kernel audit socket)."""
import json
import os
import uuid

from harness import (FleetTest, envelope, field_bytes, field_varint, frame, hello,
                     main, wait_until, INVENTORY)

CORPORA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                       "shared", "corpora")
POISONIVY = os.path.join(CORPORA, "stix", "poisonivy.json")
POISONIVY_BUNDLE = "bundle--ac946f1d-6a0e-4a9d-bc83-3f1f3bfda6ba"
POISONIVY_IP = "indicator--e8094b09-7df4-4b13-b207-1e27af3c4bde"
INFRASTRUCTURE = os.path.join(CORPORA, "stix", "infrastructure.json")
TICK = os.path.join(CORPORA, "yara", "jpcert-tick.yara")
DSA = os.path.join(CORPORA, "osv", "DSA-3029-1.json")
MKFIFO_RULE = os.path.join(CORPORA, "sigma", "rules", "linux", "process_creation",
                           "proc_creation_lnx_mkfifo_named_pipe_creation.yml")

UNSUPPORTED = """title: Uses a modifier mamori lacks
id: 0e3b6bd0-5d7f-4b8a-9a51-3f6f3f0c0002
logsource: {product: linux, category: process_creation}
detection:
    selection:
        CommandLine|utf16le|contains: 'x'
    condition: selection
"""


def file_rule(rule_id, marker):
    """A file_event rule on a file name holding marker."""
    return """title: Live rule %(m)s
id: %(id)s
status: test
logsource:
    product: linux
    category: file_event
detection:
    selection:
        TargetFilename|contains: 'mamori-live-%(m)s'
    condition: selection
level: high
""" % {"id": rule_id, "m": marker}


def os_inventory(hostname, os_id, version_id, packages):
    """An Inventory with os (ID, VERSION_ID, hostname) and packages given as
    (name, version, source) triples."""
    body = field_varint(1, 1)
    body += field_bytes(3, field_bytes(3, os_id) + field_bytes(4, version_id)
                        + field_bytes(9, hostname) + field_bytes(5, hostname))
    for name, version, source in packages:
        body += field_bytes(7, field_bytes(1, name) + field_bytes(2, version)
                            + field_bytes(3, source) + field_bytes(5, "amd64")
                            + field_bytes(6, "installed"))
    return frame(envelope(INVENTORY, body))


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def listing(fleet):
    return {r["id"]: r for r in fleet.cli_json("rules", "list")["rules"]}


class Content(FleetTest):
    def refused(self, fleet, *args):
        p = fleet.cli(*args)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertOneLine(p.stderr)
        return p.stderr

    def home_files(self, fleet, sub):
        path = os.path.join(fleet.home, "rules", sub)
        if not os.path.isdir(path):
            return {}
        out = {}
        for name in sorted(os.listdir(path)):
            with open(os.path.join(path, name), "rb") as f:
                out[name] = f.read()
        return out

    def test_sigma_live(self):
        marker = uuid.uuid4().hex
        rule_id = str(uuid.uuid4())
        fleet = self.fleet()
        rule = os.path.join(self.tmp, "live.yml")
        with open(rule, "w") as f:
            f.write(file_rule(rule_id, marker))

        state, _ = fleet.enroll("host")
        agent_id = fleet.agent_id(state)
        watched = os.path.join(self.tmp, "watched")
        os.mkdir(watched)
        fleet.run_agent(state, "--watch", watched, sources="file")
        wait_until(lambda: "event source file started" in read(state + ".log"),
                   what="the file source")

        # Before the rule: the file's event is stored, no alert.
        with open(os.path.join(watched, "mamori-live-%s-before" % marker), "w"):
            pass
        wait_until(lambda: fleet.events("--type", "file", "--match", marker + "-before"),
                   what="the first file's event")
        self.assertEqual(fleet.cli_json("alerts"), [])

        # Add the rule to the running server (one YAML document, and a
        # corpus rule in a second file: both taken).
        started = fleet.proc.pid
        out = fleet.cli("rules", "add", rule, MKFIFO_RULE, check=True).stdout
        self.assertIn(rule_id, out)
        added = fleet.cli_json("rules", "list")
        self.assertEqual(added["sigma_loaded"], 2)
        by_id = {r["id"]: r for r in added["rules"]}
        self.assertTrue(by_id[rule_id]["loaded"])
        self.assertTrue(os.path.exists(os.path.join(fleet.home, "rules", "sigma",
                                                    rule_id + ".yml")))

        with open(os.path.join(watched, "mamori-live-%s-during" % marker), "w"):
            pass

        def mine():
            return [a for a in fleet.cli_json("alerts") if a["rule"] == rule_id]
        got = wait_until(mine, what="the live rule's alert")
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]["agent"], agent_id)
        self.assertIn("-during", got[0]["detail"]["event"]["file.path"])
        self.assertEqual(fleet.proc.pid, started)          # no restart
        self.assertIsNone(fleet.proc.poll())

        # Bad input: one line, non-zero, nothing stored changes.
        before = self.home_files(fleet, "sigma")
        notyaml = os.path.join(self.tmp, "notyaml.yml")
        with open(notyaml, "w") as f:
            f.write("title: [unclosed\n")
        self.assertIn("not YAML", self.refused(fleet, "rules", "add", notyaml))
        unsup = os.path.join(self.tmp, "unsupported.yml")
        with open(unsup, "w") as f:
            f.write(UNSUPPORTED)
        self.assertIn("utf16le", self.refused(fleet, "rules", "add", unsup))
        self.assertIn("already on the server", self.refused(fleet, "rules", "add", rule))
        self.assertIn("no Sigma rule", self.refused(fleet, "rules", "remove", rule_id,
                                                    "no-such-rule-id"))
        p = fleet.cli("rules", "add")
        self.assertEqual(p.returncode, 2)
        self.assertOneLine(p.stderr)
        self.assertEqual(self.home_files(fleet, "sigma"), before)
        self.assertEqual(fleet.cli_json("rules", "list")["sigma_loaded"], 2)

        # Remove it: the next matching file raises nothing new.
        removed = fleet.cli_json("rules", "remove", rule_id)
        self.assertEqual([r["id"] for r in removed["removed"]], [rule_id])
        self.assertNotIn(rule_id, listing(fleet))
        count = mine()[0]["count"]
        with open(os.path.join(watched, "mamori-live-%s-after" % marker), "w"):
            pass
        wait_until(lambda: fleet.events("--type", "file", "--match", marker + "-after"),
                   what="the last file's event")
        after = mine()
        self.assertEqual(len(after), 1)
        self.assertEqual(after[0]["count"], count)
        self.assertEqual([a["rule"] for a in fleet.cli_json("alerts")], [rule_id])
        self.assertEqual(fleet.proc.pid, started)

    def test_intel_and_yara(self):
        fleet = self.fleet()
        res = fleet.cli_json("intel", "import", POISONIVY)
        self.assertEqual(res["bundle"], POISONIVY_BUNDLE)
        self.assertEqual(res["indicators"], 25)
        self.assertEqual(res["taken"], 22)
        self.assertEqual(len(res["unsupported"]), 3)
        for u in res["unsupported"]:
            self.assertNotEqual(u["reason"], "")
        human = fleet.cli("intel", "list", check=True).stdout
        self.assertIn("219.76.208.163", human)
        self.assertIn("22 indicators applied, 3 unsupported", human)
        inds = fleet.cli_json("intel", "list")["indicators"]
        self.assertEqual(len(inds), 25)
        ip = [i for i in inds if i["id"] == POISONIVY_IP][0]
        self.assertEqual(ip["bundle"], POISONIVY_BUNDLE)
        self.assertEqual(ip["values"], [{"kind": "ipv4", "value": "219.76.208.163"}])
        self.assertEqual(fleet.cli_json("rules", "list")["indicators_loaded"], 22)

        before = self.home_files(fleet, "intel")
        self.assertIn("no indicator", self.refused(fleet, "intel", "import", INFRASTRUCTURE))
        self.assertIn("no bundle or indicator", self.refused(fleet, "intel", "remove",
                                                             "indicator--nope"))
        notjson = os.path.join(self.tmp, "x.json")
        with open(notjson, "w") as f:
            f.write("not json")
        self.refused(fleet, "intel", "import", notjson)
        self.assertEqual(self.home_files(fleet, "intel"), before)

        fleet.cli_json("intel", "remove", POISONIVY_IP)
        self.assertEqual(fleet.cli_json("rules", "list")["indicators_loaded"], 21)
        res = fleet.cli_json("intel", "remove", POISONIVY_BUNDLE)
        self.assertEqual(res["kind"], "bundle")
        self.assertEqual(fleet.cli_json("intel", "list")["indicators"], [])
        self.assertEqual(fleet.cli_json("rules", "list")["indicators_loaded"], 0)

        # YARA: compiled on the server, kept, listed, removed.
        res = fleet.cli_json("yara", "add", TICK)
        self.assertEqual(res["file"], "jpcert-tick.yara")
        self.assertEqual(len(res["rules"]), 17)
        names = [r["name"] for r in fleet.cli_json("yara", "list")["rules"]]
        self.assertIn("tick_SKYSEA_downloader", names)
        self.assertEqual(len(names), 17)
        before = self.home_files(fleet, "yara")
        bad = os.path.join(self.tmp, "bad.yar")
        with open(bad, "w") as f:
            f.write("rule broken { condition: nothing_here }\n")
        self.assertIn("bad.yar:1: error", self.refused(fleet, "yara", "add", bad))
        self.assertIn("already on the server", self.refused(fleet, "yara", "add", TICK))
        self.assertIn("no YARA file or rule", self.refused(fleet, "yara", "remove", "nope"))
        self.assertEqual(self.home_files(fleet, "yara"), before)
        out = fleet.cli("yara", "remove", "jpcert-tick.yara", check=True).stdout
        self.assertIn("17 rules", out)
        self.assertEqual(fleet.cli_json("yara", "list")["rules"], [])

    def test_vuln_report(self):
        fleet = self.fleet()
        res = fleet.cli_json("vuln", "import", DSA)
        self.assertEqual(res[0]["ids"], ["DSA-3029-1"])
        self.assertTrue(os.path.exists(os.path.join(fleet.home, "rules", "vuln",
                                                    "DSA-3029-1.json")))
        # An advisory of another ecosystem, and not JSON: refused.
        pypi = os.path.join(self.tmp, "pypi.json")
        with open(pypi, "w") as f:
            json.dump({"id": "PYSEC-0", "modified": "2020-01-01T00:00:00Z",
                       "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}}]}, f)
        self.assertIn("no advisory for Debian", self.refused(fleet, "vuln", "import", pypi))
        self.assertEqual(sorted(os.listdir(os.path.join(fleet.home, "rules", "vuln"))),
                         ["DSA-3029-1.json"])

        # Three agents: wheezy with the vulnerable nginx (binary packages of
        # source nginx), wheezy with the fixed one, and a host that is not
        # Debian.
        hosts = {}
        for name, osid, ver, pkgs in [
                ("wheezy-old", "debian", "7", [("nginx-full", "1.2.1-2.2+wheezy2", "nginx"),
                                               ("nginx-common", "1.2.1-2.2+wheezy2", "nginx"),
                                               ("bash", "4.2+dfsg-0.1", "bash")]),
                ("wheezy-new", "debian", "7", [("nginx-full", "1.2.1-2.2+wheezy3", "nginx")]),
                ("other-os", "fedora", "39", [("nginx", "1.0", "nginx")])]:
            state, _ = fleet.enroll(name)
            hosts[name] = fleet.agent_id(state)
            s = fleet.agent_tls(state)
            s.sendall(hello() + os_inventory(name, osid, ver, pkgs))
            wait_until(lambda: fleet.cli_json("inventory", hosts[name])["inventory"]
                       .get("packages"), what="%s's inventory" % name)
            s.close()

        # The same advisory again inside an array file (stored under that
        # file's name) with one for bash that wheezy-old's version is past:
        # the report shows each advisory and host once.
        with open(DSA) as f:
            dsa = json.load(f)
        bash = {"id": "DSA-0000-1", "modified": "2020-01-01T00:00:00Z",
                "summary": "bash - test advisory",
                "affected": [{"package": {"ecosystem": "Debian:7", "name": "bash"},
                              "ranges": [{"type": "ECOSYSTEM", "events": [
                                  {"introduced": "0"}, {"fixed": "4.2+dfsg-0.1"}]}]}]}
        both = os.path.join(self.tmp, "feed.json")
        with open(both, "w") as f:
            json.dump([dsa, bash], f)
        self.assertEqual(fleet.cli_json("vuln", "import", both)[0]["advisories"], 2)

        rep = fleet.cli_json("vuln", "report")
        self.assertEqual(rep["advisories_loaded"], 3)
        self.assertEqual([a["id"] for a in rep["advisories"]], ["DSA-3029-1"])
        affected = rep["advisories"][0]["hosts"]
        self.assertEqual([h["hostname"] for h in affected], ["wheezy-old"])
        self.assertEqual(affected[0]["installed"], "1.2.1-2.2+wheezy2")
        self.assertEqual(affected[0]["fixed"], "1.2.1-2.2+wheezy3")
        self.assertEqual(affected[0]["source"], "nginx")
        by_host = {h["hostname"]: h for h in rep["hosts"]}
        self.assertEqual([a["id"] for a in by_host["wheezy-old"]["advisories"]],
                         ["DSA-3029-1"])
        self.assertEqual(sorted(by_host["wheezy-old"]["advisories"][0]["binaries"]),
                         ["nginx-common", "nginx-full"])
        self.assertEqual(by_host["wheezy-new"]["advisories"], [])
        self.assertEqual([s["hostname"] for s in rep["skipped"]], ["other-os"])

        one = fleet.cli_json("vuln", "report", "--host", "wheezy-new")
        self.assertEqual(one["advisories"], [])
        self.assertEqual([h["hostname"] for h in one["hosts"]], ["wheezy-new"])
        human = fleet.cli("vuln", "report", check=True).stdout
        self.assertIn("DSA-3029-1", human)
        self.assertIn("1.2.1-2.2+wheezy3", human)
        self.assertIn("wheezy-old", human)
        human = fleet.cli("vuln", "report", "--host", "wheezy-old", check=True).stdout
        self.assertIn("nginx - security update", human)
        self.assertIn("no agent matches", self.refused(fleet, "vuln", "report", "--host",
                                                       "no-such-host"))


if __name__ == "__main__":
    main()
