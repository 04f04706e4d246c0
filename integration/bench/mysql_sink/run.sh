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
[[ -x $bench ]] || cmake --build "$build" --target mysql_sink_bench -j2 >/dev/null

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
