"""Logins end to end: a real sshd on loopback (sshd_fixture.sh) logs in
with a key and fails with a wrong password; the agent follows the log sshd
writes and the server stores AUTH_SUCCESS and AUTH_FAILURE events with the
user, the source address and port, and the method."""
import os
import subprocess

from harness import FleetTest, main, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))


class Logins(FleetTest):
    def test_sshd_key_and_wrong_password(self):
        fleet = self.fleet()
        state, _ = fleet.enroll("host")
        sshd_dir = os.path.join(self.tmp, "sshd")
        os.mkdir(sshd_dir)
        log = os.path.join(sshd_dir, "auth.log")
        fleet.run_agent(state, "--auth-log", log, sources="login")
        wait_until(lambda: "event source login started" in open(state + ".log").read(),
                   what="the login source")
        p = subprocess.run(["sh", os.path.join(HERE, "sshd_fixture.sh"), sshd_dir],
                           capture_output=True, text=True, timeout=120)
        if p.returncode == 77:
            self.fail("sshd fixture cannot run here: " + p.stderr)
        self.assertEqual(p.returncode, 0, p.stderr)
        user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()

        def logins():
            evs = fleet.events("--type", "login")
            ok = [e["login"] for e in evs if e["login"]["action"] == "AUTH_SUCCESS"]
            bad = [e["login"] for e in evs if e["login"]["action"] == "AUTH_FAILURE"
                   and e["login"]["method"] == "password"
                   and e["login"]["user_name"] == user]
            return (ok, bad) if ok and bad else None
        ok, bad = wait_until(logins, timeout=30, what="login events")
        self.assertEqual(len(ok), 1, ok)
        self.assertEqual(ok[0]["user_name"], user)
        self.assertEqual(ok[0]["source_ip"], "127.0.0.1")
        self.assertGreater(ok[0]["source_port"], 0)
        self.assertEqual(ok[0]["method"], "publickey")
        self.assertEqual(ok[0]["service"], "sshd")
        self.assertEqual(bad[0]["source_ip"], "127.0.0.1")
        # The login that does not exist is a failure too, never a success.
        evs = fleet.events("--type", "login", "--match", "mamori-nosuchuser")
        self.assertTrue(evs)
        self.assertTrue(all(e["login"]["action"] == "AUTH_FAILURE" for e in evs))
        human = fleet.cli("events", "--type", "login", check=True).stdout
        self.assertIn("auth_success", human)


if __name__ == "__main__":
    main()
