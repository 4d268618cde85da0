"""Peers that must get nothing: no certificate, another CA's certificate,
spent/expired/revoked tokens, a revoked agent, and an enrolled agent that
claims another agent's id.  Each refusal leaves a reason in the server log."""
import os
import subprocess
import time

from harness import (AGENT, ERROR, ENROLL_RESPONSE, FleetTest, HELLO, WELCOME, body_field,
                     envelope, field_bytes, frame, hello, inventory, main, read_frames,
                     wait_until)


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


class Refusals(FleetTest):
    def test_no_certificate_gets_only_enrollment(self):
        fleet = self.fleet()
        s = fleet.tls()
        s.sendall(hello())
        frames, closed = read_frames(s)
        self.assertEqual(frames, [])
        self.assertTrue(closed)
        fleet.wait_log("unexpected hello message without a client certificate")

    def test_certificate_from_another_ca(self):
        fleet = self.fleet()
        d = os.path.join(self.tmp, "rogue")
        os.mkdir(d)
        openssl("genpkey", "-algorithm", "ed25519", "-out", "ca.key", cwd=d)
        openssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=rogue CA", "-days", "30",
                "-out", "ca.crt", cwd=d)
        openssl("genpkey", "-algorithm", "ed25519", "-out", "c.key", cwd=d)
        openssl("req", "-new", "-key", "c.key", "-subj", "/CN=" + "a" * 32, "-out", "c.csr", cwd=d)
        openssl("x509", "-req", "-in", "c.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "30", "-out", "c.crt", cwd=d)
        got = []
        try:
            s = fleet.tls(os.path.join(d, "c.crt"), os.path.join(d, "c.key"))
            s.sendall(hello())
            got, _ = read_frames(s)
        except OSError:
            pass
        self.assertEqual(got, [])
        fleet.wait_log("client certificate rejected")

    def test_token_refusals(self):
        fleet = self.fleet()
        # used up
        tok = fleet.token("--uses", "1")
        fleet.enroll("first", tok)
        _, p = fleet.enroll("second", tok, expect_ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no uses left", p.stderr)
        self.assertOneLine(p.stderr)
        fleet.wait_log("enrollment refused: token has no uses left")
        # expired
        tok = fleet.token("--ttl", "1s")
        time.sleep(2.2)
        _, p = fleet.enroll("late", tok, expect_ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("token expired", p.stderr)
        fleet.wait_log("enrollment refused: token expired")
        # revoked
        out = fleet.cli("token", "create", "--uses", "5", "--json", check=True).stdout
        import json
        created = json.loads(out)
        fleet.cli("token", "revoke", created["id"][:8], check=True)
        _, p = fleet.enroll("revoked", created["string"], expect_ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("token revoked", p.stderr)
        fleet.wait_log("enrollment refused: token revoked")
        states = {t["id"]: t["state"] for t in fleet.cli_json("token", "list")}
        self.assertEqual(states[created["id"]], "revoked")
        self.assertIn("used up", states.values())
        self.assertIn("expired", states.values())
        # No agent came of any refused attempt.
        self.assertEqual(len(fleet.cli_json("agents")), 1)

    def test_revoked_certificate(self):
        fleet = self.fleet()
        state, _ = fleet.enroll("victim")
        agent_id = fleet.agent_id(state)
        s = fleet.agent_tls(state)
        s.sendall(hello())
        frames, _ = read_frames(s, timeout=2)
        self.assertEqual([body_field(f) for f in frames], [WELCOME])
        fleet.cli("revoke", agent_id, check=True)
        _, closed = read_frames(s, timeout=5)
        self.assertTrue(closed, "a revoked agent's live connection stays open")
        try:
            s = fleet.agent_tls(state)
            s.sendall(hello())
            frames, closed = read_frames(s)
        except OSError:
            frames, closed = [], True
        self.assertEqual(frames, [])
        self.assertTrue(closed)
        fleet.wait_log("agent %s is revoked" % agent_id)

    def test_agent_cannot_write_as_another(self):
        fleet = self.fleet()
        a_state, _ = fleet.enroll("a")
        b_state, _ = fleet.enroll("b")
        a_id, b_id = fleet.agent_id(a_state), fleet.agent_id(b_state)
        # A reports honestly.
        s = fleet.agent_tls(a_state)
        s.sendall(hello() + inventory(hostname="host-a", packages=[("pkg-a", "1.0")]))
        wait_until(lambda: fleet.cli_json("inventory", a_id)["inventory"].get("packages"),
                   what="a's inventory")
        s.close()
        # B claims to be A.
        s = fleet.agent_tls(b_state)
        s.sendall(hello() + inventory(claimed_id=a_id, hostname="evil-b",
                                      packages=[("evil-pkg", "6.6.6")]))
        fleet.wait_log("claims to be")
        wait_until(lambda: fleet.cli_json("inventory", b_id)["inventory"].get("packages"),
                   what="b's inventory")
        s.close()
        a_inv = fleet.cli_json("inventory", a_id)["inventory"]
        b_inv = fleet.cli_json("inventory", b_id)["inventory"]
        self.assertEqual([p["name"] for p in a_inv["packages"]], ["pkg-a"])
        self.assertEqual(a_inv["os"]["hostname"], "host-a")
        self.assertEqual([p["name"] for p in b_inv["packages"]], ["evil-pkg"])
        self.assertEqual(b_inv["os"]["hostname"], "evil-b")
        self.assertEqual(fleet.cli_json("inventory", a_id, "--history"), [])


if __name__ == "__main__":
    main()
