#!/usr/bin/env bash
# `sluice verify` benchmark, every figure measured in the same run.
#
#   PG -> PG: `sluice verify --tables public.pgbench_accounts` (checksum mode: per-range hashes
#   computed in the databases) against the floor of any checksum compare, one full-scan hash query
#   per side run on both databases at the same time:
#   `SELECT sum(hashtext(t::text)) FROM pgbench_accounts t` (goal: ratio >= 0.8x).
#   PG -> MariaDB and MariaDB -> PG: rows/s of `sluice verify` (cross-engine: every row is read
#   from both sides and compared value by value).
#
# usage: integration/bench/verify/run.sh [SCALE]   pgbench scale, 100 000 accounts each
#        (default 5; the issue's figure: 20 = 2 M rows). BUILD=build dir (default build).
#        Uses the servers of $SLUICE_TEST_PG_* / $SLUICE_TEST_MYSQL_* when exported, else starts
#        throwaway ones and stops them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
build=${BUILD:-$repo/build}
scale=${1:-5}
sluice=$build/api/sluice
[[ -x $sluice ]] || cmake --build "$build" --target sluice -j2 >/dev/null

if [[ -z ${SLUICE_TEST_PG_PORT:-} ]]; then
  servers=$(mktemp -d /tmp/sluice-bench-XXXXXX)
  chmod 755 "$servers"
  trap '"$repo/integration/servers/down.sh" "$servers" >/dev/null 2>&1 || true; rm -rf "$servers"' EXIT
  "$repo/integration/servers/up.sh" "$servers" "$build/integration/broker/sluice_mock_broker" >&2
  set -a
  # shellcheck disable=SC1091
  source "$servers/servers.env"
  set +a
fi
host=$SLUICE_TEST_PG_HOST port=$SLUICE_TEST_PG_PORT user=$SLUICE_TEST_PG_USER
myhost=$SLUICE_TEST_MYSQL_HOST myport=$SLUICE_TEST_MYSQL_PORT myuser=$SLUICE_TEST_MYSQL_USER
q() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$user" -d "$@"; }
my() { mariadb --no-defaults -h "$myhost" -P "$myport" -u "$myuser" "$@"; }
now() { date +%s.%N; }
work=$(mktemp -d /tmp/sluice-verify-bench-XXXXXX)
tag=$$
src=vb_src_$tag dst=vb_dst_$tag mydst=vb_my_$tag back=vb_back_$tag
cleanup() {
  for d in "$src" "$dst" "$back"; do q postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true; done
  my -e "DROP DATABASE IF EXISTS $mydst" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap 'cleanup; ${servers:+"$repo/integration/servers/down.sh" "$servers" >/dev/null 2>&1; rm -rf "$servers"}' EXIT

for d in "$src" "$dst" "$back"; do q postgres -c "CREATE DATABASE $d" >/dev/null; done
my -e "CREATE DATABASE $mydst"
pgbench -q -i -s "$scale" -h "$host" -p "$port" -U "$user" "$src" >/dev/null 2>&1
rows=$(q "$src" -c "SELECT count(*) FROM pgbench_accounts")

config() {  # config NAME SOURCE_JSON SINK_TYPE SINK_URL
  printf '{"name":"%s",%s,"snapshot.mode":"initial_only","sink.type":"%s","sink.url":"%s"}\n' "$1" "$2" "$3" "$4"
}
pgsrc='"connector.class":"postgres","database.hostname":"'$host'","database.port":"'$port'","database.user":"'$user'","database.dbname":"'$src'","table.include.list":"public.pgbench_accounts"'
mysrc='"connector.class":"mysql","database.hostname":"'$myhost'","database.port":"'$myport'","database.user":"'$myuser'","database.include.list":"'$mydst'"'
config vb_pg "$pgsrc" postgres "postgresql://$user@$host:$port/$dst" >"$work/pg_pg.json"
config vb_my "$pgsrc" mysql "mysql://$myuser@$myhost:$myport/$mydst" >"$work/pg_my.json"
config vb_back "$mysrc" postgres "postgresql://$user@$host:$port/$back" >"$work/my_pg.json"
for c in pg_pg pg_my my_pg; do
  "$sluice" sync "$work/$c.json" >"$work/$c.sync.log" 2>&1 || { tail "$work/$c.sync.log" >&2; exit 1; }
done

timed_verify() {  # timed_verify CONFIG: seconds of one `sluice verify` (must find the tables equal)
  local t0 t1
  t0=$(now)
  "$sluice" verify "$@" >"$work/verify.out" 2>&1 || { cat "$work/verify.out" >&2; exit 1; }
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
floor() {  # both full-scan hash queries at the same time
  local t0 t1
  t0=$(now)
  q "$src" -c "SELECT sum(hashtext(t::text)) FROM pgbench_accounts t" >/dev/null &
  q "$dst" -c "SELECT sum(hashtext(t::text)) FROM public.pgbench_accounts t" >/dev/null &
  wait
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
best=""
best_floor=""
for round in 1 2 3; do  # best of three of each, alternating, so a burst of load does not decide
  f=$(floor)
  v=$(timed_verify "$work/pg_pg.json" --tables public.pgbench_accounts ${CHUNK:+--chunk-rows $CHUNK})
  [[ -z $best_floor ]] || awk -v a="$f" -v b="$best_floor" 'BEGIN { exit !(a < b) }' && best_floor=$f
  [[ -z $best ]] || awk -v a="$v" -v b="$best" 'BEGIN { exit !(a < b) }' && best=$v
done
echo "PG -> PG, $rows rows: sluice verify ${best}s, full-scan hash floor ${best_floor}s:" \
     "$(awk -v a="$best_floor" -v b="$best" 'BEGIN { printf "%.2fx", a / b }') of the floor (goal >= 0.8x)"
for c in pg_my my_pg; do
  v=$(timed_verify "$work/$c.json")
  echo "$c: $rows rows in ${v}s: $(awk -v r="$rows" -v t="$v" 'BEGIN { printf "%.0f", r / t }') rows/s (every row read and compared)"
done
