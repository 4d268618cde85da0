#!/usr/bin/env bash
# A live query to the whole fleet: simulated agents (bench/mamori_bench.c
# query) connected over mutual TLS answer every query task at once;
# `mamori query "SELECT 1 AS one" --all` runs a few times and the time from
# starting it until every agent's result was streamed back is printed.
# Usage: bash bench/fleet_query.sh [BUILD_DIR] [AGENTS...]   (default 1000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000 10000)
bin=$(realpath "$build")
tmp=$(mktemp -d /tmp/mamori-query-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

echo "machine: $(uname -srm), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for n in "${counts[@]}"; do
  h=$tmp/h$n
  p=$(port)
  "$bin/src/cli/mamori" init --home "$h" --key-file "$h.key" >/dev/null
  MAMORI_PASSPHRASE=bench-passphrase "$bin/src/cli/mamori" key create \
    --out "$tmp/alice$n.key" --id alice >/dev/null
  cat >"$tmp/policy$n.json" <<JSON
{"version": 1, "observe_from_server": true, "quorum": {"collect": 1, "change": 1},
 "admins": [{"id": "alice", "public_key_file": "$tmp/alice$n.key.pub"}],
 "groups": [{"name": "everyone", "agents": ["*"], "accept": ["query"]}]}
JSON
  "$bin/src/cli/mamori" --home "$h" policy sign "$tmp/policy$n.json" --out "$tmp/policy$n.signed" >/dev/null
  "$bin/src/server/mamorid" --home "$h" --key-file "$h.key" --listen "127.0.0.1:$p" \
    --heartbeat 600 >"$h.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do "$bin/src/cli/mamori" --home "$h" status >/dev/null 2>&1 && break; sleep 0.1; done
  "$bin/src/cli/mamori" --home "$h" policy push "$tmp/policy$n.signed" >/dev/null
  tok=$("$bin/src/cli/mamori" --home "$h" token create --uses "$n" | tail -n 1)
  echo "== $n agents"
  "$bin/bench/mamori-bench" query --string "$tok" --count "$n" --threads 2 \
    --home "$h" --mamori "$bin/src/cli/mamori" --rounds "${ROUNDS:-3}" | grep -v '^machine'
  kill "${pids[-1]}" 2>/dev/null || true
  wait "${pids[-1]}" 2>/dev/null || true
done
