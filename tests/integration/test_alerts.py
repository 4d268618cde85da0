"""Detection at ingest through the whole product: real SigmaHQ rules from
the shared corpus and a STIX bundle in the server home, an agent's events,
the alerts the server raises in the same transaction as the events, and
`mamori alerts` / `mamori rules list`.

Each test makes one harmless thing happen that exactly one rule or
indicator describes, with a marker of its own, and checks that exactly one
alert comes of it, for the right host, that a repeat inside the window only
counts, and that the harness's ordinary activity raises nothing."""
import hashlib
import json
import os
import shutil
import subprocess
import uuid

from harness import FleetTest, main, wait_until

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                      "shared", "corpora", "sigma", "rules", "linux")
MKFIFO_RULE = os.path.join(CORPUS, "process_creation",
                           "proc_creation_lnx_mkfifo_named_pipe_creation.yml")
MKFIFO_ID = "9d779ce8-5256-4b13-8b6f-b91c602b43f4"
BASE64_NAME_RULE = os.path.join(CORPUS, "file_event",
                                "file_event_lnx_susp_filename_with_embedded_base64_command.yml")
BASE64_NAME_ID = "179b3686-6271-4d87-807d-17d843a8af73"

# A rule mamori cannot apply (a modifier it does not support): listed with
# its reason, never applied.
UNSUPPORTED_RULE = """title: Uses a modifier mamori lacks
id: 0e3b6bd0-5d7f-4b8a-9a51-3f6f3f0c0001
status: test
logsource:
    product: linux
    category: process_creation
detection:
    selection:
        CommandLine|utf16le|contains: 'x'
    condition: selection
level: high
"""


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def bundle(indicators):
    objs = []
    for ind_id, sha, name in indicators:
        objs.append({
            "type": "indicator", "spec_version": "2.1", "id": ind_id,
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": name, "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
            "pattern": "[file:hashes.'SHA-256' = '%s']" % sha,
            "indicator_types": ["malicious-activity"],
        })
    objs.append({
        "type": "indicator", "spec_version": "2.1",
        "id": "indicator--00000000-0000-4000-8000-0000000000ff",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "name": "not matchable", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
        "pattern": "[email-message:subject = 'hello']",
    })
    return {"type": "bundle", "id": "bundle--%s" % uuid.uuid4(), "objects": objs}


class Alerts(FleetTest):
    def home_rules(self, fleet, rules, indicators):
        sigma = os.path.join(fleet.home, "rules", "sigma", "linux")
        intel = os.path.join(fleet.home, "rules", "intel")
        os.makedirs(sigma)
        os.makedirs(intel)
        for path in rules:
            shutil.copy(path, sigma)
        with open(os.path.join(sigma, "unsupported.yml"), "w") as f:
            f.write(UNSUPPORTED_RULE)
        with open(os.path.join(intel, "test.json"), "w") as f:
            json.dump(bundle(indicators), f)

    def alerts(self, fleet, *args):
        return fleet.cli_json("alerts", "--limit", "1000", *args)

    def check_rules_list(self, fleet, rule_ids, indicator_ids):
        listed = fleet.cli_json("rules", "list")
        by_id = {r["id"]: r for r in listed["rules"]}
        for rid in rule_ids + indicator_ids:
            self.assertTrue(by_id[rid]["loaded"], by_id[rid])
        bad = by_id["0e3b6bd0-5d7f-4b8a-9a51-3f6f3f0c0001"]
        self.assertFalse(bad["loaded"])
        self.assertIn("utf16le", bad["reason"])
        bad = by_id["indicator--00000000-0000-4000-8000-0000000000ff"]
        self.assertFalse(bad["loaded"])
        self.assertNotEqual(bad["reason"], "")
        self.assertEqual(listed["sigma_loaded"], len(rule_ids))
        self.assertEqual(listed["sigma_unsupported"], 1)
        self.assertEqual(listed["indicators_loaded"], len(indicator_ids))
        self.assertEqual(listed["indicators_unsupported"], 1)
        # One log line for each that cannot be applied, and a summary.
        log = fleet.log()
        self.assertIn("0e3b6bd0-5d7f-4b8a-9a51-3f6f3f0c0001", log)
        self.assertIn("indicator--00000000-0000-4000-8000-0000000000ff", log)
        self.assertIn("%d Sigma rules applied, 1 not; %d indicators applied, 1 not"
                      % (len(rule_ids), len(indicator_ids)), log)
        human = fleet.cli("rules", "list", check=True).stdout
        self.assertIn("unsupported:", human)
        self.assertIn("applied", human)

    def test_file_rule_and_indicator(self):
        """file_event: a real corpus rule on a file name, and an indicator
        on the SHA-256 of a file's content (the file source needs no audit
        socket)."""
        marker = uuid.uuid4().hex
        content = ("mamori alerts test content %s\n" % marker).encode()
        sha = hashlib.sha256(content).hexdigest()
        ind_id = "indicator--%s" % uuid.uuid4()
        fleet = self.fleet(start=False)
        self.home_rules(fleet, [BASE64_NAME_RULE], [(ind_id, sha, "test file hash")])
        fleet.start()
        self.check_rules_list(fleet, [BASE64_NAME_ID], [ind_id])

        other, _ = fleet.enroll("quiet")
        state, _ = fleet.enroll("host")
        agent_id = fleet.agent_id(state)
        watched = os.path.join(self.tmp, "watched")
        os.mkdir(watched)
        fleet.run_agent(state, "--watch", watched, sources="file")
        fleet.run_agent(other, sources="")
        wait_until(lambda: "event source file started" in read(state + ".log"),
                   what="the file source")
        # Ordinary activity first: a file that matches nothing.
        with open(os.path.join(watched, "plain-%s" % marker), "w") as f:
            f.write("nothing to see\n")
        wait_until(lambda: fleet.events("--type", "file", "--match", "plain-" + marker),
                   what="the plain file's event")
        self.assertEqual(self.alerts(fleet), [])

        # The rule: a file name embedding "{echo".
        odd = os.path.join(watched, "x{echo,%s}" % marker)
        with open(odd, "w"):
            pass

        def rule_alerts():
            return [a for a in self.alerts(fleet) if a["rule"] == BASE64_NAME_ID]
        got = wait_until(rule_alerts, what="the file_event rule's alert")
        self.assertEqual(len(got), 1)
        a = got[0]
        self.assertEqual(a["agent"], agent_id)
        self.assertEqual(a["source"], "sigma")
        self.assertEqual(a["severity"], "high")
        self.assertEqual(a["detail"]["title"], "Suspicious Filename with Embedded Base64 Commands")
        self.assertIn("attack.t1059.004", a["detail"]["tags"])
        self.assertEqual(a["detail"]["event"]["file.path"], odd)
        self.assertTrue(a["detail"]["seqs"])
        first_count = a["count"]

        # A repeat inside the window counts; it is no new alert.
        os.unlink(odd)
        got = wait_until(lambda: [x for x in rule_alerts() if x["count"] > first_count],
                         what="the alert's count to grow")
        self.assertEqual(len(rule_alerts()), 1)
        self.assertGreater(len(got[0]["detail"]["seqs"]), 1)

        # The indicator: a file whose content has the indicator's hash.
        with open(os.path.join(watched, "payload-%s" % marker), "wb") as f:
            f.write(content)

        def ind_alerts():
            return [x for x in self.alerts(fleet) if x["rule"] == ind_id]
        got = wait_until(ind_alerts, what="the indicator's alert")
        self.assertEqual(len(got), 1)
        a = got[0]
        self.assertEqual(a["agent"], agent_id)
        self.assertEqual(a["source"], "indicator")
        self.assertEqual(a["severity"], "high")
        self.assertEqual(a["detail"]["matched_value"], sha)
        self.assertEqual(a["detail"]["indicator"], ind_id)
        self.assertEqual(a["detail"]["observed"], sha)

        # Filters: host, severity, since; the quiet agent has none.
        self.assertEqual(len(self.alerts(fleet, "--host", agent_id)), 2)
        self.assertEqual(self.alerts(fleet, "--host", fleet.agent_id(other)), [])
        self.assertEqual(self.alerts(fleet, "--severity", "critical"), [])
        self.assertEqual(len(self.alerts(fleet, "--severity", "high")), 2)
        self.assertEqual(self.alerts(fleet, "--since", "2099-01-01"), [])
        self.assertEqual(len(fleet.cli_json("alerts", "--limit", "1")), 1)
        # Exactly the two alerts, nothing from the rest of the activity.
        self.assertEqual(sorted(x["rule"] for x in self.alerts(fleet)),
                         sorted([BASE64_NAME_ID, ind_id]))
        human = fleet.cli("alerts", check=True).stdout
        self.assertIn("Suspicious Filename", human)
        self.assertIn(sha, human)
        bad = fleet.cli("alerts", "--severity", "severe")
        self.assertEqual(bad.returncode, 2)
        self.assertOneLine(bad.stderr)
        bad = fleet.cli("alerts", "--host", "no-such-host")
        self.assertNotEqual(bad.returncode, 0)
        self.assertOneLine(bad.stderr)

        # The alerts survive a restart (stored with their events), sealed.
        fleet.stop()
        data = os.path.join(fleet.home, "data")
        for name in os.listdir(data):
            with open(os.path.join(data, name), "rb") as f:
                self.assertNotIn(marker.encode(), f.read(), name)
        fleet.start()
        self.assertEqual(len(self.alerts(fleet)), 2)

    def test_process_rule_and_indicator(self):
        """process_creation: the corpus's mkfifo rule on a command the test
        runs, and an indicator on the SHA-256 of an executable it copies
        and runs.  Uses the process source (the kernel audit socket)."""
        marker = uuid.uuid4().hex
        exe = os.path.join(self.tmp, "marker-true")
        shutil.copy("/bin/true", exe)
        with open(exe, "ab") as f:
            f.write(("mamori-marker-%s" % marker).encode())
        os.chmod(exe, 0o755)
        with open(exe, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        ind_id = "indicator--%s" % uuid.uuid4()
        fleet = self.fleet(start=False)
        self.home_rules(fleet, [MKFIFO_RULE], [(ind_id, sha, "test executable")])
        fleet.start()
        self.check_rules_list(fleet, [MKFIFO_ID], [ind_id])

        state, _ = fleet.enroll("host")
        agent_id = fleet.agent_id(state)
        fleet.run_agent(state, sources="process")
        wait_until(lambda: "event source process started" in read(state + ".log"),
                   timeout=30, what="the process source")
        # Ordinary activity (the harness's own CLI calls) is seen first.
        wait_until(lambda: fleet.events("--type", "process", "--agent", agent_id),
                   timeout=30, what="process events")

        pipe = os.path.join(self.tmp, "pipe-%s" % marker)
        subprocess.run(["mkfifo", pipe], check=True)

        def mine(rule):
            return [a for a in self.alerts(fleet) if a["rule"] == rule
                    and marker in json.dumps(a["detail"])]
        got = wait_until(lambda: mine(MKFIFO_ID), timeout=30, what="the mkfifo alert")
        self.assertEqual(len(got), 1)
        a = got[0]
        self.assertEqual(a["agent"], agent_id)
        self.assertEqual(a["severity"], "low")
        self.assertEqual(a["count"], 1)
        self.assertEqual(a["detail"]["title"], "Named Pipe Created Via Mkfifo")
        self.assertIn(pipe, a["detail"]["event"]["process.command_line"])
        os.unlink(pipe)
        subprocess.run(["mkfifo", pipe], check=True)
        wait_until(lambda: [x for x in mine(MKFIFO_ID) if x["count"] >= 2], timeout=30,
                   what="the mkfifo alert's count to grow")
        self.assertEqual(len([x for x in self.alerts(fleet) if x["rule"] == MKFIFO_ID]), 1)

        subprocess.run([exe], check=True)
        got = wait_until(lambda: [x for x in self.alerts(fleet) if x["rule"] == ind_id],
                         timeout=30, what="the indicator's alert")
        self.assertEqual(len(got), 1)
        a = got[0]
        self.assertEqual(a["agent"], agent_id)
        self.assertEqual(a["source"], "indicator")
        self.assertEqual(a["detail"]["matched_value"], sha)
        self.assertEqual(a["detail"]["field"], "process.hash.sha256")
        self.assertEqual(a["detail"]["event"]["process.executable"], exe)
        subprocess.run([exe], check=True)
        wait_until(lambda: [x for x in self.alerts(fleet) if x["rule"] == ind_id
                            and x["count"] >= 2], timeout=30,
                   what="the indicator alert's count to grow")
        # Nothing else: the harness's own activity matched no rule.
        self.assertEqual(sorted(x["rule"] for x in self.alerts(fleet)),
                         sorted([MKFIFO_ID, ind_id]))


if __name__ == "__main__":
    main()
