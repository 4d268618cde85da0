#!/usr/bin/env bash
# The cost of changing detection content on a running server: the server's
# event loop is busy for the whole of a `mamori rules add` / `rules remove`
# / `intel import` (check, store, rebuild the matcher, swap), so this is
# how long ingest pauses.  The home holds every SigmaHQ Linux rule of the
# shared corpus and a STIX bundle of 10,000 SHA-256 indicators; each
# command is timed end to end from the CLI, ROUNDS times.
# Usage: bash bench/content_reload.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-5}
bin=$(realpath "$build")
corpora=$(realpath "${MAMORI_CORPORA:-../shared/corpora}")
tmp=$(mktemp -d /tmp/mamori-content-bench.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

echo "machine: $(uname -srm), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
h=$tmp/home
"$bin/src/cli/mamori" init --home "$h" --key-file "$tmp/key" >/dev/null
mkdir -p "$h/rules/sigma" "$h/rules/intel"
cp -r "$corpora/sigma/rules/linux" "$h/rules/sigma/"
python3 - "$h/rules/intel/bench.json" "$tmp/other.json" <<'PY'
import hashlib, json, sys
def bundle(bid, base):
    objs = [{"type": "indicator", "spec_version": "2.1",
             "id": "indicator--00000000-0000-4000-%04d-%012d" % (base, i),
             "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
             "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
             "pattern": "[file:hashes.'SHA-256' = '%s']"
                        % hashlib.sha256(b"%d-%d" % (base, i)).hexdigest()}
            for i in range(10000)]
    return {"type": "bundle", "id": bid, "objects": objs}
json.dump(bundle("bundle--00000000-0000-4000-8000-000000000000", 8000), open(sys.argv[1], "w"))
json.dump(bundle("bundle--00000000-0000-4000-9000-000000000000", 9000), open(sys.argv[2], "w"))
PY
cat > "$tmp/rule.yml" <<'YML'
title: Bench rule
id: 0b0b0b0b-0000-4000-8000-000000000001
logsource: {product: linux, category: process_creation}
detection: {selection: {CommandLine|contains: 'mamori-bench'}, condition: selection}
level: low
YML
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/src/server/mamorid" --home "$h" --key-file "$tmp/key" --listen "127.0.0.1:$port" \
    >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 100); do "$bin/src/cli/mamori" --home "$h" status >/dev/null 2>&1 && break; sleep 0.1; done
M() { "$bin/src/cli/mamori" --home "$h" "$@" >/dev/null; }
ms() { local t0 t1; t0=$(date +%s%N); "$@"; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
stats() { sort -n | awk '{a[NR]=$1} END {printf "median %d ms, min %d, max %d (n=%d)\n", a[int((NR+1)/2)], a[1], a[NR], NR}'; }
echo "home: $(ls -R "$h/rules/sigma" | grep -c '\.yml$') Sigma rules, 10000 indicators"
echo -n "rules add (1 rule, reload):     "
add=(); rem=(); imp=()
for _ in $(seq "$rounds"); do
  add+=("$(ms M rules add "$tmp/rule.yml")")
  rem+=("$(ms M rules remove 0b0b0b0b-0000-4000-8000-000000000001)")
  imp+=("$(ms M intel import "$tmp/other.json")")
  M intel remove bundle--00000000-0000-4000-9000-000000000000
done
printf '%s\n' "${add[@]}" | stats
echo -n "rules remove (1 rule, reload):  "; printf '%s\n' "${rem[@]}" | stats
echo -n "intel import (10,000, reload):  "; printf '%s\n' "${imp[@]}" | stats
echo -n "status (no reload, baseline):   "
st=(); for _ in $(seq "$rounds"); do st+=("$(ms M status)"); done
printf '%s\n' "${st[@]}" | stats
