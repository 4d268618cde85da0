"""Enrollment and inventory end to end: a real server, a real agent on this
host, the real CLI.  The inventory must equal what dpkg-query, /etc/passwd
and the kernel say; the agent must never own a listening socket."""
import json
import os
import signal
import socket
import subprocess
import time

from harness import FleetTest, agent_sockets, main, wait_until


def dpkg_packages():
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\n"],
                         capture_output=True, text=True, check=True).stdout
    return {tuple(l.split(" ", 1)) for l in out.splitlines() if l}


def passwd_users():
    with open("/etc/passwd") as f:
        return {l.split(":")[0] for l in f if l.strip() and not l.startswith(("#", "+", "-"))}


class EnrollInventory(FleetTest):
    def test_end_to_end(self):
        fleet = self.fleet()
        self.assertIn("SHA256:", fleet.init_output)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]

        state, enr = fleet.enroll("host")
        self.assertIn("enrolled as agent", enr.stdout)
        agent_id = fleet.agent_id(state)
        self.assertEqual(len(agent_id), 32)
        key_mode = os.stat(os.path.join(state, "agent.key")).st_mode & 0o777
        self.assertEqual(key_mode, 0o600)

        proc = fleet.run_agent(state)
        wait_until(lambda: fleet.connected(agent_id), what="agent to connect")
        self.assertEqual(agent_sockets(proc.pid), [], "the agent owns a listening socket")

        inv = wait_until(lambda: (lambda r: r if r["inventory"].get("packages") else None)(
            fleet.cli_json("inventory", agent_id)), what="inventory to arrive")
        inventory = inv["inventory"]

        reported = {(p["name"], p["version"]) for p in inventory["packages"]}
        self.assertEqual(reported, dpkg_packages())
        self.assertEqual({u["name"] for u in inventory["users"]}, passwd_users())
        mine = [s for s in inventory["listening_sockets"]
                if s["port"] == port and s["protocol"] == "tcp"]
        self.assertEqual(len(mine), 1, inventory["listening_sockets"])
        self.assertEqual(mine[0]["pid"], os.getpid())
        self.assertEqual(mine[0]["address"], "127.0.0.1")
        self.assertEqual(inventory["os"]["hostname"], socket.gethostname())
        with open("/etc/machine-id") as f:
            self.assertEqual(inventory["os"]["machine_id"], f.read().strip())
        self.assertGreater(inventory["hardware"]["memory_bytes"], 0)
        self.assertTrue(any(i["name"] == "lo" for i in inventory["interfaces"]))
        self.assertIn("block_devices", inventory)

        # The human view shows the same data, aligned.
        human = fleet.cli("inventory", agent_id, check=True).stdout
        self.assertIn("Packages", human)
        self.assertIn(socket.gethostname(), human)

        agents = fleet.cli_json("agents")
        self.assertEqual([a["id"] for a in agents], [agent_id])
        self.assertEqual(agents[0]["hostname"], socket.gethostname())
        self.assertTrue(agents[0]["connected"])

        # A change on the host reaches the server as a delta with history.
        second = socket.socket()
        second.bind(("127.0.0.1", 0))
        second.listen(1)
        port2 = second.getsockname()[1]
        listener.close()
        proc.send_signal(signal.SIGUSR1)

        def delta_arrived():
            hist = fleet.cli_json("inventory", agent_id, "--history")
            added = [h for h in hist if h["category"] == "listening_sockets"
                     and h["kind"] == "added" and h["after"]["port"] == port2]
            removed = [h for h in hist if h["category"] == "listening_sockets"
                       and h["kind"] == "removed" and h["before"]["port"] == port]
            return added and removed
        wait_until(delta_arrived, what="the socket change in history")
        now = fleet.cli_json("inventory", agent_id)["inventory"]["listening_sockets"]
        self.assertTrue(any(s["port"] == port2 for s in now))
        self.assertFalse(any(s["port"] == port and s["address"] == "127.0.0.1" for s in now))
        self.assertIn("inventory delta stored", fleet.log())
        second.close()

        # The agent never listens: not while connected, not while the
        # server is away and it backs off, not after it is revoked.
        self.assertEqual(agent_sockets(proc.pid), [])
        fleet.stop()
        wait_until(lambda: "reconnecting" in open(state + ".log").read(), what="agent backoff")
        self.assertEqual(agent_sockets(proc.pid), [])
        fleet.start()
        wait_until(lambda: fleet.connected(agent_id), what="agent to reconnect")
        self.assertEqual(agent_sockets(proc.pid), [])

        out = fleet.cli_json("revoke", agent_id)
        self.assertTrue(out["dropped"])
        fleet.wait_log("agent %s is revoked" % agent_id)
        self.assertFalse(fleet.connected(agent_id))
        self.assertEqual(agent_sockets(proc.pid), [])
        agents = fleet.cli_json("agents")
        self.assertGreater(agents[0]["revoked_at"], 0)


if __name__ == "__main__":
    main()
