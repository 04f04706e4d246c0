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
#        Starts its own servers (integration/bench/lib.sh) and stops them on exit.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=integration/bench/lib.sh
source "$here/../lib.sh"
bench_init verify
scale=${1:-5}
sluice=$BENCH_SLUICE
# As users run it: the source PostgreSQL in one server set, the targets (PostgreSQL, MariaDB) in
# another; the MariaDB -> PostgreSQL pair reads the MariaDB target back into the source server.
bench_servers_up
host=$SRC_PG_HOST port=$SRC_PG_PORT user=$SRC_PG_USER
thost=$TGT_PG_HOST tport=$TGT_PG_PORT tuser=$TGT_PG_USER
myhost=$TGT_MYSQL_HOST myport=$TGT_MYSQL_PORT myuser=$TGT_MYSQL_USER
q() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$user" -d "$@"; }
tq() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$thost" -p "$tport" -U "$tuser" -d "$@"; }
my() { mariadb --no-defaults -h "$myhost" -P "$myport" -u "$myuser" "$@"; }
now() { date +%s.%N; }
work=$BENCH_WORK
src=vb_src dst=vb_dst mydst=vb_my back=vb_back

for d in "$src" "$back"; do q postgres -c "CREATE DATABASE $d" >/dev/null; done
tq postgres -c "CREATE DATABASE $dst" >/dev/null
my -e "CREATE DATABASE $mydst"
pgbench -q -i -s "$scale" -h "$host" -p "$port" -U "$user" "$src" >/dev/null 2>&1
rows=$(q "$src" -c "SELECT count(*) FROM pgbench_accounts")

config() {  # config NAME SOURCE_JSON SINK_TYPE SINK_URL
  printf '{"name":"%s",%s,"snapshot.mode":"initial_only","sink.type":"%s","sink.url":"%s"}\n' "$1" "$2" "$3" "$4"
}
pgsrc='"connector.class":"postgres","database.hostname":"'$host'","database.port":"'$port'","database.user":"'$user'","database.dbname":"'$src'","table.include.list":"public.pgbench_accounts"'
mysrc='"connector.class":"mysql","database.hostname":"'$myhost'","database.port":"'$myport'","database.user":"'$myuser'","database.include.list":"'$mydst'"'
config vb_pg "$pgsrc" postgres "postgresql://$tuser@$thost:$tport/$dst" >"$work/pg_pg.json"
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
  tq "$dst" -c "SELECT sum(hashtext(t::text)) FROM public.pgbench_accounts t" >/dev/null &
  wait
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
best=""
best_floor=""
for round in 1 2 3; do  # best of three of each, alternating, so a burst of load does not decide
  f=$(floor)
  v=$(timed_verify "$work/pg_pg.json" --tables public.pgbench_accounts ${CHUNK:+--chunk-rows $CHUNK})
  echo "  round $round: floor ${f}s, sluice verify ${v}s, ratio $(awk -v a="$f" -v b="$v" 'BEGIN { printf "%.2fx", a / b }'), load $(bench_load)"
  [[ -z $best_floor ]] || awk -v a="$f" -v b="$best_floor" 'BEGIN { exit !(a < b) }' && best_floor=$f
  [[ -z $best ]] || awk -v a="$v" -v b="$best" 'BEGIN { exit !(a < b) }' && best=$v
done
echo "PG -> PG, $rows rows: sluice verify ${best}s, full-scan hash floor ${best_floor}s:" \
     "$(awk -v a="$best_floor" -v b="$best" 'BEGIN { printf "%.2fx", a / b }') of the floor (goal >= 0.8x), load $(bench_load)"
bench_record "verify PG → PG ($rows rows, equal)" "sum(hashtext) on both sides at once" "$best_floor" "$best" 0.8 "$rows"
for c in pg_my my_pg; do
  v=$(timed_verify "$work/$c.json")
  echo "$c: $rows rows in ${v}s: $(awk -v r="$rows" -v t="$v" 'BEGIN { printf "%.0f", r / t }') rows/s (every row read and compared)"
done
