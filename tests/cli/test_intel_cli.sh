#!/usr/bin/env bash
# test_intel_cli.sh - `mamori intel show` and `mamori intel check` on the
# OASIS example bundles: counts, matches, --json lines, exit codes and the
# one-line errors.  Offline: no server, no home.
# Usage: test_intel_cli.sh MAMORI_BINARY STIX_CORPUS_DIR
set -u
mamori=$1
stix=$2
tmp=$(mktemp -d /tmp/mamori-intel-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect CODE DESCRIPTION -- command...   (stdout in $tmp/out, stderr in $tmp/err)
expect() {
	local want=$1 what=$2 got
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" -eq "$want" ] || fail "$what: exit $got, expected $want ($(head -c 300 "$tmp/err"))"
}

has() { grep -q -- "$2" "$tmp/$1" || fail "$3: '$2' not in $1: $(head -c 300 "$tmp/$1")"; }

expect 0 "show poisonivy" -- "$mamori" intel show "$stix/poisonivy.json"
has out "25 indicators, 22 supported, 3 unsupported, 130 other objects" "show counts"
has out "unsupported: file:name" "show reason"
head -n 1 "$tmp/out" | grep -q '^BUNDLE  *ID  *NAME  *KIND  *VALUES  *STATUS$' || fail "show header"

expect 0 "show --json" -- "$mamori" intel show --json "$stix/poisonivy.json" "$stix/sighting-of-an-indicator.json"
[ "$(wc -l <"$tmp/out")" -eq 26 ] || fail "show --json: $(wc -l <"$tmp/out") lines, expected 26"
python3 - "$tmp/out" <<'PY' || fail "show --json content"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sup = [r for r in rows if r["supported"]]
assert len(sup) == 23, len(sup)
assert all("reason" in r for r in rows if not r["supported"])
r = [r for r in rows if r["id"] == "indicator--9299f726-ce06-492e-8472-2b52ccb53191"][0]
assert r["match"] == [[{"kind": "url", "value": "http://paypa1.banking.com/"}]], r["match"]
PY

expect 0 "check ip" -- "$mamori" intel check --bundle "$stix"/*.json --ip 113.10.246.30
has out "4 of 33 indicators match (8 bundles)" "check count"
has out "indicator--8da68996-f175-4ae0-bd74-aad4913873b8" "check id"

expect 0 "check --json" -- "$mamori" intel check --bundle "$stix/poisonivy.json" \
	--bundle "$stix/malware-indicator-for-file-hash.json" \
	--domain A.MicrosoftB.byinter.net. \
	--sha256 EF537F25C895BFA782526529A9B63D97AA631564D5D789C2B765448C8635FB6C --json
python3 - "$tmp/out" <<'PY' || fail "check --json content"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
got = sorted((r["kind"], r["matched"]) for r in rows)
assert got == [("domain", "microsoftb.byinter.net"),
    ("sha256", "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c")], got
PY

expect 0 "check miss" -- "$mamori" intel check --bundle "$stix/poisonivy.json" --ip 223.168.0.0
has out "0 of 25 indicators match" "check miss count"

expect 1 "missing file" -- "$mamori" intel check --bundle "$tmp/none.json" --ip 1.2.3.4
has err "none.json: cannot read" "missing file message"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "missing file: more than one line"
expect 1 "not a bundle" -- "$mamori" intel show "$stix/STIXPattern.g4"
has err "STIXPattern.g4: not valid JSON" "not a bundle message"
printf '{"type":"bundle","objects":{}}' >"$tmp/bad.json"
expect 1 "objects not a list" -- "$mamori" intel show "$tmp/bad.json"
has err "bad.json: bundle objects is not a list" "objects message"

expect 2 "bad ip" -- "$mamori" intel check --bundle "$stix/poisonivy.json" --ip 1.2.3
has err "--ip needs an IPv4 or IPv6 address" "bad ip message"
expect 2 "bad hash" -- "$mamori" intel check --bundle "$stix/poisonivy.json" --sha256 abc
has err "--sha256 needs 64 hex digits" "bad hash message"
expect 2 "nothing to check" -- "$mamori" intel check --bundle "$stix/poisonivy.json"
expect 2 "no files" -- "$mamori" intel show
expect 2 "unknown option" -- "$mamori" intel show --bogus "$stix/poisonivy.json"
expect 0 "help" -- "$mamori" intel check --help
has out "usage: mamori" "help text"

if [ "$fails" -gt 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all intel CLI checks passed"
