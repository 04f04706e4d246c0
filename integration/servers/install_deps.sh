#!/usr/bin/env bash
# Installs the Debian packages given as arguments that are not installed yet (the body of
# `make deps`; the list lives in the Makefile's DEBIAN_PACKAGES). Runs apt-get update only when
# something is missing. Non-interactive, without recommended packages.
#
# usage: install_deps.sh PACKAGE...
set -euo pipefail

missing=()
for pkg in "$@"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ $status != installed ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "[deps] all $# packages are installed"
  exit 0
fi
echo "[deps] missing: ${missing[*]}"

sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "[deps] error: run as root to install packages" >&2; exit 1; }
  sudo=(sudo)
fi

# The postgresql packages would otherwise create and start a cluster on port 5432; the tests
# start their own throwaway servers.
for pkg in "${missing[@]}"; do
  if [[ $pkg == postgresql* ]]; then
    "${sudo[@]}" mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' |
      "${sudo[@]}" tee /etc/postgresql-common/createcluster.d/no-main-cluster.conf >/dev/null
    break
  fi
done

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "[deps] installed: ${missing[*]}"
