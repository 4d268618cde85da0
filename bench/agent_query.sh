#!/usr/bin/env bash
# The agent's cost of a live query through the whole product: a server on
# loopback, one real agent (no event sources, so only the query counts),
# and `mamori query "SELECT * FROM processes" --agent ID` run ROUNDS times;
# prints the agent's CPU time per query, its resident memory before, after
# and at its peak, and the time each query took end to end.
# Usage: bash bench/agent_query.sh [BUILD_DIR] [ROUNDS]   (default build 20)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-20}
bin=$(realpath "$build")
tmp=$(mktemp -d /tmp/mamori-agent-query.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT

echo "machine: $(uname -srm), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
h=$tmp/home
m() { "$bin/src/cli/mamori" --home "$h" "$@"; }
"$bin/src/cli/mamori" init --home "$h" --key-file "$h.key" >/dev/null
MAMORI_PASSPHRASE=bench-passphrase "$bin/src/cli/mamori" key create --out "$tmp/alice.key" \
  --id alice >/dev/null
cat >"$tmp/policy.json" <<JSON
{"version": 1, "observe_from_server": true, "quorum": {"collect": 1, "change": 1},
 "admins": [{"id": "alice", "public_key_file": "$tmp/alice.key.pub"}],
 "groups": [{"name": "everyone", "agents": ["*"], "accept": ["query"]}]}
JSON
m policy sign "$tmp/policy.json" --out "$tmp/policy.signed" >/dev/null
"$bin/src/server/mamorid" --home "$h" --key-file "$h.key" --listen "127.0.0.1:$port" \
  >"$h.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do m status >/dev/null 2>&1 && break; sleep 0.1; done
m policy push "$tmp/policy.signed" >/dev/null
tok=$(m token create | tail -n 1)
"$bin/src/agent/mamori-agent" enroll --state "$tmp/agent" "$tok" >/dev/null
"$bin/src/agent/mamori-agent" run --state "$tmp/agent" --sources "" >"$tmp/agent.log" 2>&1 &
apid=$!
pids+=($apid)
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent_id"])' \
  "$tmp/agent/enrollment.json")
for _ in $(seq 100); do
  m policy current --json 2>/dev/null | grep -q '"connected_current": 1' && break; sleep 0.1
done
cpu() { awk '{print $14 + $15}' "/proc/$apid/stat"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$apid/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$apid/status"; }
tck=$(getconf CLK_TCK)
m query "SELECT * FROM processes" --agent "$id" --json >/dev/null   # warm up
rss0=$(rss); c0=$(cpu); t0=$(date +%s.%N)
for _ in $(seq "$rounds"); do
  m query "SELECT * FROM processes" --agent "$id" --json >"$tmp/out"
done
t1=$(date +%s.%N); c1=$(cpu)
rows=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d["type"] == "result": print(len(d["data"]["query"]["rows"]))' "$tmp/out")
python3 - "$rounds" "$c0" "$c1" "$tck" "$t0" "$t1" "$rss0" "$(rss)" "$(hwm)" "$rows" <<'PY'
import sys
n, c0, c1, tck, t0, t1, r0, r1, hwm, rows = sys.argv[1:]
n = int(n)
print("agent: %d queries of SELECT * FROM processes (%s rows each)" % (n, rows))
print("  agent CPU per query: %.1f ms" % ((float(c1) - float(c0)) / float(tck) * 1000 / n))
print("  end to end per query (mamori query, server, agent, back): %.0f ms"
      % ((float(t1) - float(t0)) * 1000 / n))
print("  agent RSS: %.1f MiB before, %.1f MiB after, peak %.1f MiB"
      % (int(r0) / 1024, int(r1) / 1024, int(hwm) / 1024))
PY
