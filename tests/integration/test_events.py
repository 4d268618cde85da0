"""Operation logs through the whole product: the agent's file integrity
source on a watched directory, the server's sealed store, and `mamori
events` with its filters, --json and --follow."""
import hashlib
import json
import os
import select
import subprocess
import time

from harness import MAMORI, FleetTest, main, wait_until


class Events(FleetTest):
    def test_file_events_and_cli(self):
        fleet = self.fleet()
        state, _ = fleet.enroll("host")
        agent_id = fleet.agent_id(state)
        watched = os.path.join(self.tmp, "watched")
        os.mkdir(watched)
        fleet.run_agent(state, "--watch", watched, sources="file")
        wait_until(lambda: "event source file started" in open(state + ".log").read(),
                   what="the file source")
        path = os.path.join(watched, "authorized_keys")
        with open(path, "w") as f:
            f.write("ssh-ed25519 AAAA first\n")
        wait_until(lambda: fleet.events("--type", "file", "--match", "authorized_keys"),
                   what="the created file")
        with open(path, "a") as f:
            f.write("ssh-ed25519 AAAA second\n")
        os.chmod(path, 0o600)

        def changes():
            evs = fleet.events("--type", "file", "--agent", agent_id)
            acts = [e["file"]["action"] for e in evs if e["file"]["path"] == path]
            return evs if "MODIFIED" in acts and "PERMISSIONS" in acts else None
        evs = wait_until(changes, what="modify and chmod events")
        mod = [e["file"] for e in evs if e["file"]["action"] == "MODIFIED"][0]
        self.assertEqual(mod["sha256_before"],
                         hashlib.sha256(b"ssh-ed25519 AAAA first\n").hexdigest())
        self.assertEqual(mod["sha256_after"], hashlib.sha256(
            b"ssh-ed25519 AAAA first\nssh-ed25519 AAAA second\n").hexdigest())
        self.assertTrue(all(e["agent"] == agent_id for e in evs))
        self.assertTrue(all(e["type"] == "file" for e in evs))
        seqs = [e["seq"] for e in evs]
        self.assertEqual(seqs, sorted(seqs))

        # Filters: nothing of another type, nothing from the future, a
        # limit, a match that finds nothing.
        self.assertEqual(fleet.events("--type", "usb"), [])
        self.assertEqual(fleet.events("--since", "2099-01-01"), [])
        self.assertEqual(len(fleet.events("--since", "10m")), len(fleet.events()))
        self.assertEqual(len(fleet.cli_json("events", "--limit", "1")), 1)
        self.assertEqual(fleet.events("--match", "no-such-thing-anywhere"), [])
        human = fleet.cli("events", "--type", "file", check=True).stdout
        self.assertIn("authorized_keys", human)
        self.assertIn("modified", human)
        bad = fleet.cli("events", "--type", "bogus")
        self.assertEqual(bad.returncode, 2)
        bad = fleet.cli("events", "--since", "yesterday-ish")
        self.assertEqual(bad.returncode, 2)

        # --follow prints what arrives after it started, one JSON per line.
        follow = subprocess.Popen([MAMORI, "--home", fleet.home, "events", "--follow",
                                   "--json", "--type", "file", "--limit", "1"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(1.5)
            os.unlink(path)
            deadline = time.monotonic() + 20
            seen = []
            while time.monotonic() < deadline:
                r, _, _ = select.select([follow.stdout], [], [], 1)
                if r:
                    line = follow.stdout.readline()
                    if line:
                        seen.append(json.loads(line))
                        if any(e["file"]["action"] == "DELETED" for e in seen):
                            break
            self.assertTrue(any(e["file"]["action"] == "DELETED" and e["file"]["path"] == path
                                for e in seen), seen)
        finally:
            follow.terminate()
            follow.wait(timeout=10)
        self.assertEqual(follow.returncode, 0)


if __name__ == "__main__":
    main()
