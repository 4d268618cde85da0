"""Bad input anywhere gets one clear line and a non-zero exit, and nothing
stored is lost: wrong arguments, missing files, an unreachable server, a
server of another fleet, a garbled enrollment string."""
import os
import subprocess

from harness import AGENT, MAMORI, MAMORID, FleetTest, free_port, main


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


class BadInput(FleetTest):
    def check(self, p, code=None, want=None):
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        if code is not None:
            self.assertEqual(p.returncode, code, p.stderr)
        self.assertOneLine(p.stderr)
        if want:
            self.assertIn(want, p.stderr)

    def test_arguments(self):
        home = os.path.join(self.tmp, "nohome")
        self.check(run(MAMORI, "frobnicate"), 2)
        self.check(run(MAMORI, "--home", home, "token", "create", "--uses", "zero"), 2)
        self.check(run(MAMORI, "--home", home, "token", "create", "--ttl", "5x"), 2)
        self.check(run(MAMORI, "--home", home, "agents", "--bogus"), 2)
        self.check(run(MAMORI, "init", "--home", home), 2)
        self.check(run(MAMORI, "--home", home, "agents"), 1, "cannot reach mamorid")
        self.check(run(MAMORID, "--home", home), 2, "--key-file")
        self.check(run(MAMORID, "--home", home, "--key-file", "/nonexistent",
                       "--listen", "nonsense"), 2)
        self.check(run(MAMORID, "--home", home, "--key-file", "/nonexistent"), 1,
                   "not a mamori home")
        self.check(run(AGENT, "explode"), 2)
        self.check(run(AGENT, "run"), 2, "--state")
        self.check(run(AGENT, "run", "--state", os.path.join(self.tmp, "nostate")), 1,
                   "enroll first")
        self.check(run(AGENT, "enroll", "--state", os.path.join(self.tmp, "s"), "hello"), 1,
                   "not a mamori enrollment string")

    def test_init_refuses_existing_home(self):
        fleet = self.fleet(start=False)
        before = sorted(os.listdir(os.path.join(fleet.home, "keys")))
        with open(os.path.join(fleet.home, "keys", "ca.crt"), "rb") as f:
            ca = f.read()
        p = run(MAMORI, "init", "--home", fleet.home, "--key-file",
                os.path.join(self.tmp, "k2"))
        self.check(p, 1)
        self.assertEqual(sorted(os.listdir(os.path.join(fleet.home, "keys"))), before)
        with open(os.path.join(fleet.home, "keys", "ca.crt"), "rb") as f:
            self.assertEqual(f.read(), ca)
        p = run(MAMORI, "init", "--home", os.path.join(self.tmp, "h3"), "--key-file",
                fleet.key_file)
        self.check(p, 1)

    def test_enrollment_strings(self):
        fleet = self.fleet()
        tok = fleet.token("--uses", "10")
        # Garbled: change one character in the middle.
        i = len(tok) // 2
        garbled = tok[:i] + ("A" if tok[i] != "A" else "B") + tok[i + 1:]
        _, p = fleet.enroll("g", garbled, expect_ok=False)
        self.check(p, 1, "garbled")
        _, p = fleet.enroll("t", tok[:-5], expect_ok=False)
        self.check(p, 1)
        # Unreachable server: a token naming a port nobody listens on.
        dead = fleet.token("--server", "127.0.0.1:%d" % free_port())
        _, p = fleet.enroll("u", dead, expect_ok=False)
        self.check(p, 1, "cannot connect")
        # A server of another fleet, reached with this fleet's string.
        other = self.fleet("other")
        wrong = fleet.token("--server", "127.0.0.1:%d" % other.port)
        _, p = fleet.enroll("w", wrong, expect_ok=False)
        self.check(p, 1, "refusing server")
        self.assertEqual(other.cli_json("agents"), [])
        self.assertEqual(fleet.cli_json("agents"), [])
        # Enrolling twice into one state directory is refused, and the
        # first enrollment is kept.
        state, _ = fleet.enroll("twice", tok)
        with open(os.path.join(state, "agent.key"), "rb") as f:
            key = f.read()
        _, p = fleet.enroll("twice", tok, expect_ok=False)
        self.check(p, 1, "already enrolled")
        with open(os.path.join(state, "agent.key"), "rb") as f:
            self.assertEqual(f.read(), key)

    def test_admin_errors(self):
        fleet = self.fleet()
        self.check(fleet.cli("inventory", "nosuchagent"), 1, "no agent matches")
        self.check(fleet.cli("revoke", "ffff"), 1, "no agent matches")
        self.check(fleet.cli("token", "revoke", "zz"), None)
        # A client that is not the CLI: garbage on the admin socket.
        import socket
        s = socket.socket(socket.AF_UNIX)
        s.connect(os.path.join(fleet.home, "admin.sock"))
        s.sendall(b'{"cmd": "agents", "cmd": "revoke"}\n')
        self.assertIn(b'"ok":false', s.recv(4096))
        s.close()
        fleet.wait_log("admin: bad request")
        self.assertEqual(fleet.cli("status").returncode, 0)


if __name__ == "__main__":
    main()
