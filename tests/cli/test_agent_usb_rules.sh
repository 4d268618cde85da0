#!/usr/bin/env bash
# test_agent_usb_rules.sh - `mamori-agent usb-rules`: the empty list, a
# saved rule file shown as an aligned table and as JSON (a serial that is
# not UTF-8 shown escaped, and as null plus hex in JSON), and a damaged
# file refused with exit 1 and one line saying so.  Offline, no sysfs
# writes (listing never enforces).
# Usage: test_agent_usb_rules.sh MAMORI_AGENT_BINARY
set -u
agent=$1
tmp=$(mktemp -d /tmp/mamori-usb-rules-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
mkdir "$tmp/state"

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

expect() {
	local want=$1 what=$2 got
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" -eq "$want" ] || fail "$what: exit $got, expected $want ($(head -c 300 "$tmp/err"))"
}

has() { grep -q -- "$2" "$tmp/$1" || fail "$3: '$2' not in $1: $(head -c 300 "$tmp/$1")"; }

expect 0 "empty" -- "$agent" usb-rules --state "$tmp/state"
has out "no USB rules: every device is allowed" "empty list"
expect 0 "empty json" -- "$agent" usb-rules --state "$tmp/state" --json
[ "$(tr -d ' \n' <"$tmp/out")" = "[]" ] || fail "empty json: $(cat "$tmp/out")"

# A file as the agent writes it: header, rules, checksum.
python3 - "$tmp/state/usb-rules" <<'PY'
import hashlib, sys
b = (b"mamori-usb-rules 1\nblock 0781:5567 -\n"
     b"allow 0781:5567 4242424230303032\nblock 1234:abcd 41ff5b33316d\n")
open(sys.argv[1], "wb").write(b + b"sha256 " + hashlib.sha256(b).hexdigest().encode() + b"\n")
PY
expect 0 "list" -- "$agent" usb-rules --state "$tmp/state"
head -n 1 "$tmp/out" | grep -q '^ACTION  VENDOR  PRODUCT  SERIAL$' || fail "header: $(head -n 1 "$tmp/out")"
has out '^block   0781    5567     (any)$' "model-wide block"
has out '^allow   0781    5567     BBBB0002$' "serial exception"
has out '^block   1234    abcd     A\\xff\[31m$' "escaped serial"
expect 0 "list json" -- "$agent" usb-rules --state "$tmp/state" --json
python3 - "$tmp/out" <<'PY' || fail "json content"
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r) == 3, r
assert r[0] == {"action": "block", "vendor_id": "0781", "product_id": "5567",
                "serial": "", "serial_hex": ""}, r[0]
assert r[1]["action"] == "allow" and r[1]["serial"] == "BBBB0002", r[1]
assert r[2]["serial"] is None and r[2]["serial_hex"] == "41ff5b33316d", r[2]
PY

# One changed byte: refused, exit 1, and it says what to do.
sed -i 's/block 0781/block 0782/' "$tmp/state/usb-rules"
expect 1 "damaged" -- "$agent" usb-rules --state "$tmp/state"
has err "USB rule file is damaged" "damaged reason"
has err "Move the file away and send the USB rules again" "damaged advice"
[ -s "$tmp/out" ] && fail "damaged: something on stdout"

expect 2 "no state" -- "$agent" usb-rules
has err "--state DIR is required" "usage line"

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "all usb-rules checks passed"
