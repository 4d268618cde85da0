"""Sealed at rest: a marker that reaches the store through an agent's
hostname and package list is in no file of the data directory (database,
WAL, shared memory), yet the CLI shows it.  The server refuses to start
without its storage key, with another key, or with a key others can read."""
import os
import secrets

from harness import FleetTest, hello, inventory, main, read_frames, wait_until


class Sealed(FleetTest):
    def test_marker_only_through_the_key(self):
        fleet = self.fleet()
        state, _ = fleet.enroll("marked")
        agent_id = fleet.agent_id(state)
        marker = "zz-marker-" + secrets.token_hex(8)
        s = fleet.agent_tls(state)
        s.sendall(hello() + inventory(hostname=marker + ".example",
                                      packages=[(marker + "-pkg", "1:2.3-4~rc1")]))
        wait_until(lambda: fleet.cli_json("inventory", agent_id)["inventory"].get("packages"),
                   what="the marked inventory")
        s.close()
        inv = fleet.cli_json("inventory", agent_id)
        self.assertEqual(inv["inventory"]["os"]["hostname"], marker + ".example")
        self.assertEqual(inv["inventory"]["packages"][0]["name"], marker + "-pkg")
        self.assertIn(marker, fleet.cli("agents", check=True).stdout)

        def grep_data():
            hits, files = [], 0
            for root, _, names in os.walk(fleet.home):
                for n in names:
                    p = os.path.join(root, n)
                    if not os.path.isfile(p):
                        continue
                    files += 1
                    with open(p, "rb") as f:
                        if marker.encode() in f.read():
                            hits.append(p)
            return hits, files

        hits, files = grep_data()              # while running: WAL holds it
        self.assertEqual(hits, [])
        data = os.listdir(os.path.join(fleet.home, "data"))
        self.assertIn("mamori.db", data)
        self.assertTrue(any(n.endswith("-wal") for n in data), data)
        # The agent id is stored in clear: the grep does find clear text.
        found = False
        for n in data:
            with open(os.path.join(fleet.home, "data", n), "rb") as f:
                found |= agent_id.encode() in f.read()
        self.assertTrue(found, "control: clear ids should be findable")
        fleet.stop()
        hits, files = grep_data()              # and after a clean stop
        self.assertEqual(hits, [])
        self.assertGreater(files, 3)

        # No key, another key, a key readable by others: refused, one line.
        os.unlink(os.path.join(fleet.home, "admin.sock")) if os.path.exists(
            os.path.join(fleet.home, "admin.sock")) else None
        rc = fleet.start(key_file=os.path.join(self.tmp, "missing.key"), expect_fail=True)
        self.assertNotEqual(rc, 0)
        self.assertIn("cannot use storage key", fleet.log())
        other = os.path.join(self.tmp, "other.key")
        with open(other, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        os.chmod(other, 0o600)
        rc = fleet.start(key_file=other, expect_fail=True)
        self.assertNotEqual(rc, 0)
        self.assertIn("does not open", fleet.log())
        os.chmod(fleet.key_file, 0o644)
        rc = fleet.start(expect_fail=True)
        self.assertNotEqual(rc, 0)
        self.assertIn("chmod 600", fleet.log())
        os.chmod(fleet.key_file, 0o600)
        # Nothing was lost: the right key opens everything again.
        fleet.start()
        inv = fleet.cli_json("inventory", agent_id)
        self.assertEqual(inv["inventory"]["packages"][0]["name"], marker + "-pkg")


if __name__ == "__main__":
    main()
