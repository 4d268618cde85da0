#!/usr/bin/env bash
# Installs what mamori needs to build and test on Debian 12, as root.
# Safe to run again: apt-get skips what is already there.
set -euo pipefail

packages=(
  # build
  build-essential meson ninja-build pkg-config
  # libraries (README says why each is there)
  libssl-dev libevent-dev libsqlite3-dev libprotobuf-c-dev
  protobuf-c-compiler libjansson-dev libcmocka-dev
  # detection: Sigma rules (YAML, regular expressions, multi-pattern
  # matching), YARA rules
  libyaml-dev libpcre2-dev libvectorscan-dev libyara-dev
  # host isolation: the agent's nftables table through libnftables; the
  # nft command for operators and the isolation test
  libnftables-dev nftables
  # fuzzing and sanitizers
  clang libclang-rt-14-dev
  # integration tests: the interpreter, the real tools they compare with
  python3 iproute2 openssl sqlite3 procps
  # login tests: a real sshd on loopback, a client, a password typist
  openssh-server openssh-client sshpass
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${missing[*]}; run this script as root" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Install services without starting them: the tests start their own sshd
  # on loopback; nothing should start listening on this machine.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$own_policy" -eq 1 ]; then rm -f "$policy"; fi
fi
echo "install-deps: all build and test dependencies are present"
