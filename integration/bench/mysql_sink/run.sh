#!/usr/bin/env bash
# Snapshot load benchmark of the MySQL sink: rows/s of the sink's multi-row upsert vs the
# `mariadb` client's LOAD DATA LOCAL INFILE of the same rows, measured in the same run.
#
# usage: integration/bench/mysql_sink/run.sh [ROWS] (default 200000; BUILD=build dir, default build)
# Uses the servers of $SLUICE_TEST_* when exported, else starts throwaway ones and stops them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
build=${BUILD:-$repo/build}
rows=${1:-200000}

bench=$build/integration/bench/mysql_sink/mysql_sink_bench
if [[ ! -x $bench ]]; then
  # integration/bench/ has no CMakeLists.txt yet: build the program against the build's libraries.
  cmake --build "$build" --target sluice_mysql_sink sluice_itest_common -j2 >/dev/null
  bench=$build/bench-mysql-sink/mysql_sink_bench
  mkdir -p "$(dirname "$bench")"
  g++ -std=c++20 -O2 -I"$repo" -DSPDLOG_FMT_EXTERNAL -o "$bench" "$here/mysql_sink_bench.cc" \
    "$build/integration/common/libsluice_itest_common.a" "$build/sinks/mysql/libsluice_mysql_sink.a" \
    "$build/core/libsluice_core.a" -lmysqlcppconn -lgtest -lspdlog -lfmt -lsqlite3 -lpthread
fi

if [[ -z ${SLUICE_TEST_MYSQL_PORT:-} ]]; then
  servers=$(mktemp -d /tmp/sluice-bench-XXXXXX)
  chmod 755 "$servers"
  trap '"$repo/integration/servers/down.sh" "$servers" >/dev/null 2>&1 || true; rm -rf "$servers"' EXIT
  "$repo/integration/servers/up.sh" "$servers" "$build/integration/broker/sluice_mock_broker" >&2
  set -a
  # shellcheck disable=SC1091
  source "$servers/servers.env"
  set +a
fi
"$bench" "$rows"
