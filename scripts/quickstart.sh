#!/usr/bin/env bash
# The main job on one machine, as root: install what is missing, build, start
# a server on the embedded (SQLite) store, enroll this machine as an agent,
# print its inventory, and leave both running.
#
#   bash scripts/quickstart.sh          start (or restart) the demo
#   bash scripts/quickstart.sh stop     stop the server and the agent
#
# Everything lives under .demo/ in the repository; the storage key is kept
# beside the home, not inside it (.demo/storage.key).
set -euo pipefail
cd "$(dirname "$0")/.."
demo=$(pwd)/.demo
home=$demo/home
key=$demo/storage.key
state=$demo/agent
listen=${MAMORI_LISTEN:-127.0.0.1:7443}
bin=$(pwd)/build

stop() {
  for p in agent mamorid; do
    if [ -f "$demo/$p.pid" ] && kill -0 "$(cat "$demo/$p.pid")" 2>/dev/null; then
      kill "$(cat "$demo/$p.pid")"
      echo "stopped $p"
    fi
    rm -f "$demo/$p.pid"
  done
}

if [ "${1:-}" = stop ]; then stop; exit 0; fi

bash scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
echo "built mamori, mamorid and mamori-agent in $bin"

mkdir -p "$demo"
chmod 700 "$demo"
stop >/dev/null
if [ ! -d "$home/keys" ]; then
  "$bin/src/cli/mamori" init --home "$home" --key-file "$key"
fi

nohup "$bin/src/server/mamorid" --home "$home" --key-file "$key" \
  --listen "$listen" >"$demo/mamorid.log" 2>&1 &
echo $! >"$demo/mamorid.pid"
for _ in $(seq 100); do
  "$bin/src/cli/mamori" --home "$home" status >/dev/null 2>&1 && break
  kill -0 "$(cat "$demo/mamorid.pid")" 2>/dev/null || { cat "$demo/mamorid.log"; exit 1; }
  sleep 0.1
done
echo "mamorid is serving agents on $listen (log: $demo/mamorid.log)"

if [ ! -f "$state/enrollment.json" ]; then
  token=$("$bin/src/cli/mamori" --home "$home" token create --label quickstart | tail -n 1)
  "$bin/src/agent/mamori-agent" enroll --state "$state" "$token"
fi
agent_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent_id"])' \
  "$state/enrollment.json")

nohup "$bin/src/agent/mamori-agent" run --state "$state" >"$demo/agent.log" 2>&1 &
echo $! >"$demo/agent.pid"
for _ in $(seq 300); do
  inv=$("$bin/src/cli/mamori" --home "$home" inventory "$agent_id" --json 2>/dev/null || true)
  case $inv in *'"packages"'*) break ;; esac
  sleep 0.1
done

echo
"$bin/src/cli/mamori" --home "$home" agents
echo
"$bin/src/cli/mamori" --home "$home" inventory "$agent_id"

# A fleet policy signed with the home's owner key: every agent ("*")
# answers live queries from the server; no administrator keys yet, so no
# task that reads content or changes anything can pass.
if ! "$bin/src/cli/mamori" --home "$home" policy current >/dev/null 2>&1; then
  cat >"$demo/policy.json" <<'JSON'
{"version": 1, "observe_from_server": true, "quorum": {"collect": 1, "change": 1},
 "admins": [],
 "groups": [{"name": "everyone", "agents": ["*"], "accept": ["query"]}]}
JSON
  "$bin/src/cli/mamori" --home "$home" policy sign "$demo/policy.json" \
    --out "$demo/policy.signed" >/dev/null
  "$bin/src/cli/mamori" --home "$home" policy push "$demo/policy.signed"
fi
for _ in $(seq 100); do
  "$bin/src/cli/mamori" --home "$home" policy current --json 2>/dev/null |
    grep -q '"connected_current": 1' && break
  sleep 0.1
done
echo
echo "A live query to every agent:"
"$bin/src/cli/mamori" --home "$home" query \
  "SELECT name, version FROM deb_packages WHERE name LIKE 'openssl%'" --all
echo
echo "The server and the agent are still running."
echo "Try:  $bin/src/cli/mamori --home $home inventory $agent_id --history"
echo "      $bin/src/cli/mamori --home $home query \"SELECT * FROM listening_ports\" --all"
echo "      $bin/src/cli/mamori --home $home events --type process --limit 20"
echo "Stop: bash scripts/quickstart.sh stop"
