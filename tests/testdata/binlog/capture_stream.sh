#!/usr/bin/env bash
# Regenerates stream.binlog: the binlog file a throwaway MariaDB (ROW, FULL image, FULL row
# metadata, CRC32, GTIDs) writes while running stream_fixture.sql, for the stream reader's unit
# tests (tests/connectors/mysql/stream_reader_test.cc, replayed by fake_binlog_stream.h).
# Needs mariadb-install-db, mariadbd, mariadb and mariadb-admin; starts and stops its own server
# on a Unix socket in a temporary directory (no TCP port).
# Usage: capture_stream.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
pid=
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
user_args=()
((EUID == 0)) && user_args=(--user=root)
mariadb-install-db --no-defaults "${user_args[@]}" --datadir="$tmp/data" \
  --auth-root-authentication-method=normal --skip-test-db >"$tmp/install.log" 2>&1
mkdir -p "$tmp/binlog"
sock=$tmp/mysqld.sock
mariadbd --no-defaults "${user_args[@]}" --datadir="$tmp/data" --socket="$sock" \
  --skip-networking --pid-file="$tmp/mariadbd.pid" --log-error="$tmp/error.log" \
  --tmpdir="$tmp" --log-bin="$tmp/binlog/mysql-bin" --binlog-format=ROW \
  --binlog-row-image=FULL --binlog-row-metadata=FULL --binlog-checksum=CRC32 --server-id=1 \
  --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci </dev/null \
  >"$tmp/mariadbd.out" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  mariadb-admin --no-defaults -S "$sock" -uroot --connect-timeout=1 ping >/dev/null 2>&1 && break
  sleep 0.1
done
my() { mariadb --no-defaults -S "$sock" -uroot "$@"; }
my -e "RESET MASTER"
my < "$here/stream_fixture.sql"
my -e "FLUSH BINARY LOGS"
cp "$tmp/binlog/mysql-bin.000001" "$here/stream.binlog"
echo "wrote $here/stream.binlog ($(stat -c %s "$here/stream.binlog") bytes)"
