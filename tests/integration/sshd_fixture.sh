#!/bin/sh
# sshd_fixture.sh - a real sshd on loopback that writes an auth log for the
# login source to read.
#
# Starts a private sshd (its own config, host key and authorized key, all
# in a temporary directory) on 127.0.0.1, logs in once with a key and once
# with a wrong password (sshpass), and once more as a user that does not
# exist, then stops sshd and prints the path of the log sshd wrote
# (sshd -E LOG -o LogLevel=INFO).  The directory is left for the caller to
# read and remove.  It must never touch the host's own sshd, its config or
# its keys, and never listen on anything but 127.0.0.1.
#
# Usage: sshd_fixture.sh [DIR]   (DIR: an empty directory to use, default a
# new mktemp -d).  Needs openssh-server, openssh-client and sshpass.
set -eu

dir=${1:-$(mktemp -d /tmp/mamori-sshd.XXXXXX)}
log=$dir/auth.log
user=$(id -un)
sshd_bin=/usr/sbin/sshd
sshd_pid=

for tool in "$sshd_bin" ssh ssh-keygen sshpass python3; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "sshd_fixture: $tool is missing" >&2
		exit 77
	}
done

cleanup() {
	if [ -n "$sshd_pid" ]; then
		kill "$sshd_pid" 2>/dev/null || true
		wait "$sshd_pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT INT TERM

# sshd as root needs its privilege separation directory.
if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
	mkdir -p -m 0755 /run/sshd
fi

port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')

ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$dir/user_key"
cp "$dir/user_key.pub" "$dir/authorized_keys"
chmod 600 "$dir/authorized_keys"
: > "$log"

cat > "$dir/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin yes
MaxAuthTries 3
LogLevel INFO
CONF

"$sshd_bin" -D -f "$dir/sshd_config" -E "$log" &
sshd_pid=$!

# Wait (up to 5 s) for sshd to listen.
tries=0
until grep -q "Server listening on 127.0.0.1" "$log" 2>/dev/null; do
	tries=$((tries + 1))
	if [ "$tries" -gt 50 ]; then
		echo "sshd_fixture: sshd did not start; see $log" >&2
		exit 1
	fi
	sleep 0.1
done

ssh_opts="-F /dev/null -p $port -o StrictHostKeyChecking=no
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=no
    -o ConnectTimeout=5"

# 1. A key login that runs one command.
# shellcheck disable=SC2086
ssh $ssh_opts -o PasswordAuthentication=no -o IdentitiesOnly=yes \
    -i "$dir/user_key" "$user@127.0.0.1" true

# 2. A wrong password for the same user.
# shellcheck disable=SC2086
sshpass -p 'mamori-wrong-password' ssh $ssh_opts \
    -o PubkeyAuthentication=no -o PreferredAuthentications=password \
    -o NumberOfPasswordPrompts=1 "$user@127.0.0.1" true && {
	echo "sshd_fixture: the wrong password was accepted" >&2
	exit 1
}

# 3. A user that does not exist.
# shellcheck disable=SC2086
sshpass -p 'mamori-wrong-password' ssh $ssh_opts \
    -o PubkeyAuthentication=no -o PreferredAuthentications=password \
    -o NumberOfPasswordPrompts=1 "mamori-nosuchuser@127.0.0.1" true && {
	echo "sshd_fixture: a user that does not exist got in" >&2
	exit 1
}

# Let sshd's children finish their lines, then stop it.
sleep 0.5
cleanup
sshd_pid=
echo "$log"
