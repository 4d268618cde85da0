#!/usr/bin/env bash
# The cost of detection at ingest: the same event ingest load (simulated
# agents over TLS, bench/mamori_bench.c ingest: process START events) into
# a server without rules, then into one with every SigmaHQ Linux rule of
# the shared corpus in HOME/rules/sigma and a STIX bundle of 10,000
# SHA-256 indicators in HOME/rules/intel.  Runs alternate (none, rules,
# none, rules) to even out other load on the machine.
# Usage: bash bench/detect_ingest.sh [BUILD_DIR] [SECONDS] [AGENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
secs=${2:-20}
agents=${3:-100}
bin=$(realpath "$build")
corpora=${MAMORI_CORPORA:-../shared/corpora}
tmp=$(mktemp -d /tmp/mamori-detect-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

echo "machine: $(uname -srm), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run() { # name with_rules
  local h=$tmp/$1 p
  p=$(port)
  "$bin/src/cli/mamori" init --home "$h" --key-file "$h.key" >/dev/null
  if [ "$2" = 1 ]; then
    mkdir -p "$h/rules/sigma" "$h/rules/intel"
    cp -r "$corpora/sigma/rules/linux" "$h/rules/sigma/"
    python3 - "$h/rules/intel/bench.json" <<'PY'
import hashlib, json, sys
objs = [{"type": "indicator", "spec_version": "2.1",
         "id": "indicator--00000000-0000-4000-8000-%012d" % i,
         "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
         "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
         "pattern": "[file:hashes.'SHA-256' = '%s']" % hashlib.sha256(b"%d" % i).hexdigest()}
        for i in range(10000)]
json.dump({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000",
           "objects": objs}, open(sys.argv[1], "w"))
PY
  fi
  "$bin/src/server/mamorid" --home "$h" --key-file "$h.key" --listen "127.0.0.1:$p" \
    >"$h.log" 2>&1 &
  local spid=$!
  pids+=($spid)
  for _ in $(seq 100); do "$bin/src/cli/mamori" --home "$h" status >/dev/null 2>&1 && break; sleep 0.1; done
  local tok
  tok=$("$bin/src/cli/mamori" --home "$h" token create --uses "$agents" | tail -n 1)
  printf '%-6s ' "$([ "$2" = 1 ] && echo rules || echo none)"
  "$bin/bench/mamori-bench" ingest --string "$tok" --count "$agents" --threads 2 \
    --seconds "$secs" --batch 200 | tail -n 1
  local cpu
  cpu=$(awk '{print ($14+$15)}' "/proc/$spid/stat")
  echo "       $(grep -o 'detect: [0-9]* Sigma rules applied.*' "$h.log")"
  "$bin/src/cli/mamori" --home "$h" rules list --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
cpu = float(sys.argv[1]) / float(sys.argv[2])
n = r["events_evaluated"]
print("       server CPU %.2f s for %d events = %.2f us/event; alerts raised: %d"
      % (cpu, n, cpu * 1e6 / max(n, 1), r["alerts_raised"]))' "$cpu" "$(getconf CLK_TCK)"
  kill "$spid"; wait "$spid" 2>/dev/null || true
}

run none1 0
run rules1 1
run none2 0
run rules2 1
