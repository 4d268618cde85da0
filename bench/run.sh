#!/usr/bin/env bash
# Runs mamori's benchmarks against a server on loopback and prints the
# numbers.  Usage: bash bench/run.sh [BUILD_DIR]   (default: build)
# Each run uses a fresh temporary server home and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$(realpath "$build")
tmp=$(mktemp -d /tmp/mamori-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_server() { # name
  local h=$tmp/$1 p
  p=$(port)
  "$bin/src/cli/mamori" init --home "$h" --key-file "$h.key" >/dev/null
  "$bin/src/server/mamorid" --home "$h" --key-file "$h.key" --listen "127.0.0.1:$p" \
    >"$h.log" 2>&1 &
  pids+=($!)
  server_pid=$!
  for _ in $(seq 100); do "$bin/src/cli/mamori" --home "$h" status >/dev/null 2>&1 && break; sleep 0.1; done
  home=$h
}

echo "== enrollment rate (1,000 agents, one server)"
start_server enroll
tok=$("$bin/src/cli/mamori" --home "$home" token create --uses 1000 | tail -n 1)
"$bin/bench/mamori-bench" enroll --string "$tok" --count 1000 --threads 2

for n in 1000 10000; do
  echo "== server memory with $n idle agents"
  start_server "idle$n"
  tok=$("$bin/src/cli/mamori" --home "$home" token create --uses "$n" | tail -n 1)
  "$bin/bench/mamori-bench" idle --string "$tok" --count "$n" --threads 2 \
    --server-pid "$server_pid" --hold 3
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
done

echo "== event ingest: simulated agents over TLS into the sealed store, 60 s"
for n in 100 10000; do
  start_server "ingest$n"
  tok=$("$bin/src/cli/mamori" --home "$home" token create --uses "$n" | tail -n 1)
  batch=$(( n >= 10000 ? 20 : 200 ))
  "$bin/bench/mamori-bench" ingest --string "$tok" --count "$n" --threads 2 \
    --seconds 60 --batch "$batch" | tail -n 1
  cpu=$(awk '{print ($14+$15)}' "/proc/$server_pid/stat")
  echo "   server CPU over the run: $((cpu / $(getconf CLK_TCK))) s"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
done

echo "== threat-intel matcher: 100,000 STIX indicators, 2,000,000 events"
"$bin/bench/intel-bench" --indicators 100000 --events 2000000
echo "== live queries on this host (processes, deb_packages)"
"$bin/bench/query-bench" --runs 20

echo "== event spool write rate"
"$bin/bench/spool-bench" --dir "$tmp"

echo "== vulnerable packages: 1,000 hosts (this host's packages, varied) x 10,000 advisories"
"$bin/bench/vuln-bench" --hosts 1000 --advisories 10000
echo "== Sigma matching: every SigmaHQ Linux rule in the mapped categories, one core"
corpora=${MAMORI_CORPORA:-../shared/corpora}
"$bin/bench/sigma-bench" --rules "$corpora/sigma/rules/linux" \
  "$corpora/sigma/rules-threat-hunting/linux" --seconds 10
echo "== signed task verification (1 signature; 2 of 3; replay set on disk)"
"$bin/bench/task-bench" --count 20000

echo "== agent idle cost (60 s connected, this host's real inventory)"
start_server agent
tok=$("$bin/src/cli/mamori" --home "$home" token create | tail -n 1)
"$bin/src/agent/mamori-agent" enroll --state "$tmp/agent" "$tok" >/dev/null
"$bin/src/agent/mamori-agent" run --state "$tmp/agent" >"$tmp/agent.log" 2>&1 &
apid=$!
pids+=($apid)
sleep 5   # connected, first inventory sent
ticks=$(getconf CLK_TCK)
cpu0=$(awk '{print $14+$15}' "/proc/$apid/stat")
sleep 60
cpu1=$(awk '{print $14+$15}' "/proc/$apid/stat")
rss=$(awk '/VmRSS/{print $2}' "/proc/$apid/status")
hwm=$(awk '/VmHWM/{print $2}' "/proc/$apid/status")
python3 - "$cpu0" "$cpu1" "$ticks" "$rss" "$hwm" <<'PY'
import sys
c0, c1, hz, rss, hwm = map(int, sys.argv[1:])
print("agent idle: RSS %d KiB (peak %d KiB), CPU %.3f%% of one core over 60 s"
      % (rss, hwm, 100.0 * (c1 - c0) / hz / 60))
PY

echo "== agent under load: every source on, the host starting 100 processes/s for 60 s"
kill "$apid" 2>/dev/null; wait "$apid" 2>/dev/null || true
"$bin/src/agent/mamori-agent" run --state "$tmp/agent" >"$tmp/agent2.log" 2>&1 &
apid=$!
pids+=($apid)
sleep 10  # baseline of watched files hashed, sources started
cpu0=$(awk '{print $14+$15}' "/proc/$apid/stat")
python3 - <<'PY'
import subprocess, time
t0 = time.monotonic()
n = 0
while time.monotonic() - t0 < 60:
    subprocess.run(["/bin/true", "bench-%d" % n])
    n += 1
    time.sleep(max(0, t0 + n / 100 - time.monotonic()))
print("spawned %d processes in %.1f s" % (n, time.monotonic() - t0))
PY
cpu1=$(awk '{print $14+$15}' "/proc/$apid/stat")
rss=$(awk '/VmRSS/{print $2}' "/proc/$apid/status")
hwm=$(awk '/VmHWM/{print $2}' "/proc/$apid/status")
python3 - "$cpu0" "$cpu1" "$ticks" "$rss" "$hwm" <<'PY'
import sys
c0, c1, hz, rss, hwm = map(int, sys.argv[1:])
print("agent under load: RSS %d KiB (peak %d KiB), CPU %.2f%% of one core over 60 s"
      % (rss, hwm, 100.0 * (c1 - c0) / hz / 60))
PY

echo "== YARA: the JPCERT/CC Tick rules over the executables in /usr/bin"
if [ -f ../shared/corpora/yara/jpcert-tick.yara ]; then
  "$bin/bench/yara-bench" --rules ../shared/corpora/yara/jpcert-tick.yara \
    --dir /usr/bin --passes 3
else
  echo "   skipped: ../shared/corpora/yara/jpcert-tick.yara not found"
fi

echo "== task runner: QUERY SELECT * FROM processes and RUN_COMMAND /bin/true"
"$bin/bench/task-run-bench" --runs 20

echo "== USB device control: decisions, attaches and rule changes on a fake sysfs tree"
"$bin/bench/usbctl-bench"

echo "== alert latency: event -> JSON lines file and syslog UDP, 1,000 alerts"
python3 bench/alert_latency.py --build "$build" --alerts 1000 --rate 100 --agents 0 | tail -n 5
python3 bench/alert_latency.py --build "$build" --alerts 1000 --rate 100 --agents 20 | tail -n 7
