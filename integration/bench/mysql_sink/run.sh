#!/usr/bin/env bash
# MariaDB sink benchmarks, every figure a ratio against a reference measured in the same run.
#
#   1. mysql_sink_bench: the sink alone (Sink interface) — multi-row upsert vs the `mariadb`
#      client's LOAD DATA LOCAL INFILE of the same rows, and a streaming backlog.
#   2. PG → MariaDB snapshot load, set up the way users run it (integration/bench/lib.sh: the
#      PostgreSQL source and the MariaDB target in separate server sets): `sluice sync` of
#      pgbench_accounts (SCALE × 100 000 rows) vs `psql COPY … TO STDOUT | mariadb LOAD DATA
#      LOCAL INFILE` into the table Sluice creates (same DDL, key in place). Best of ROUNDS rounds
#      per side in rotating order; count and checksum checked after every round. Goal >= 0.95x.
#
# usage: integration/bench/mysql_sink/run.sh [ROWS [SCALE]]
#        ROWS for part 1 (default 200000), SCALE for part 2 (default 5). BUILD=build dir;
#        ROUNDS=n (default 3); SKIP_SINK_BENCH=1 skips part 1; SYNC_EXTRA='"key": "value", …'
#        adds settings to the sync's configuration (e.g. "sink.snapshot.batch.bytes":
#        "67108864"). Starts its own servers and stops everything it started on exit.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=integration/bench/lib.sh
source "$here/../lib.sh"
bench_init mysql_sink
rows=${1:-200000}
scale=${2:-5}
rounds=${ROUNDS:-3}
work=$BENCH_WORK
bench=$BENCH_BUILD/integration/bench/mysql_sink/mysql_sink_bench
[[ -x $bench ]] || cmake --build "$BENCH_BUILD" --target mysql_sink_bench -j2 >/dev/null
bench_servers_up

if [[ -z ${SKIP_SINK_BENCH:-} ]]; then
  echo "== 1. the sink alone, on the target server (mysql_sink_bench $rows)"
  SLUICE_TEST_MYSQL_HOST=$TGT_MYSQL_HOST SLUICE_TEST_MYSQL_PORT=$TGT_MYSQL_PORT \
    SLUICE_TEST_MYSQL_USER=$TGT_MYSQL_USER "$bench" "$rows"
fi

echo "== 2. PG → MariaDB snapshot load, pgbench scale $scale, separate servers"
M() { mariadb -N -B -h "$TGT_MYSQL_HOST" -P "$TGT_MYSQL_PORT" -u "$TGT_MYSQL_USER" "$@"; }
src=bsrc
bench_src_psql postgres -c "CREATE DATABASE $src"
pgbench -q -i -s "$scale" -h "$SRC_PG_HOST" -p "$SRC_PG_PORT" -U "$SRC_PG_USER" "$src" >/dev/null 2>&1
n=$(bench_src_psql "$src" -c "SELECT count(*) FROM pgbench_accounts")
want=$(bench_src_psql "$src" -c "SELECT count(*) || ':' || sum(aid::bigint * 7 + bid * 3 + abalance) FROM pgbench_accounts")
got() { M -e "SELECT CONCAT(COUNT(*), ':', SUM(aid * 7 + bid * 3 + abalance)) FROM \`$1\`.pgbench_accounts"; }
sync_config() {  # sync_config DB
  bench_sync_config "bench_$1" "$src" public.pgbench_accounts "b_$1" \
    "mysql://$TGT_MYSQL_USER@$TGT_MYSQL_HOST:$TGT_MYSQL_PORT/$1" "${SYNC_EXTRA:-}"
}
t_run=
sluice_best= sluice_cpu= sluice_rss=
run_sluice() {
  local db=bsnap_$1 wall user sys rss
  M -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
  sync_config "$db" >"$work/sync.json"
  bench_settle
  if ! (cd "$work" && bench_timed "$work/sync.time" "$BENCH_SLUICE" sync "$work/sync.json" >"$work/sync.log" 2>&1); then
    echo "sluice sync failed:" >&2; tail -5 "$work/sync.log" >&2; exit 1
  fi
  read -r wall user sys rss <"$work/sync.time"
  t_run=$wall
  if [[ -z $sluice_best || $(bench_best "$wall" "$sluice_best") == "$wall" ]]; then
    sluice_cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
    sluice_rss=$rss
  fi
  [[ $(got "$db") == "$want" ]] || { echo "sluice target $db differs from the source" >&2; exit 1; }
  M -e "DROP DATABASE $db"
}
# The reference loads into the table Sluice creates (same DDL, key in place): made once by an
# untimed warm-up sync.
M -e "DROP DATABASE IF EXISTS bwarm; CREATE DATABASE bwarm"
sync_config bwarm >"$work/sync.json"
(cd "$work" && "$BENCH_SLUICE" sync "$work/sync.json" >"$work/warm.log" 2>&1)
ddl=$(M -e "SHOW CREATE TABLE bwarm.pgbench_accounts" | cut -f2-)
M -e "DROP DATABASE bwarm"
run_load() {
  local db=bload_$1 t0
  M -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
  M "$db" -e "$(printf '%b' "$ddl")"
  bench_settle
  t0=$(bench_now)
  bench_src_psql "$src" -c "COPY pgbench_accounts TO STDOUT" |
    M --local-infile=1 "$db" -e "LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE pgbench_accounts"
  t_run=$(awk -v a="$(bench_now)" -v b="$t0" 'BEGIN { print a - b }')
  [[ $(got "$db") == "$want" ]] || { echo "reference target $db differs from the source" >&2; exit 1; }
  M -e "DROP DATABASE $db"
}
t_load=
for round in $(seq 1 "$rounds"); do
  if ((round % 2)); then order=(load sluice); else order=(sluice load); fi
  line="  round $round:"
  for side in "${order[@]}"; do
    case $side in
      load) run_load "$round"; t_load=$(bench_best "$t_run" "$t_load"); line+=" COPY | LOAD DATA ${t_run:0:5} s," ;;
      sluice) run_sluice "$round"; sluice_best=$(bench_best "$t_run" "$sluice_best"); line+=" sluice ${t_run:0:5} s," ;;
    esac
  done
  echo "$line load $(bench_load)"
done
printf 'PG → MariaDB %s rows, best of %s: COPY | LOAD DATA LOCAL INFILE %.2f s, sluice sync %.2f s\n' \
  "$n" "$rounds" "$t_load" "$sluice_best"
echo "  sluice vs LOAD DATA: $(bench_ratio "$t_load" "$sluice_best")x (goal >= 0.95x)   sluice CPU $(awk -v c="$sluice_cpu" -v r="$n" 'BEGIN { printf "%.2f", c * 1000000 / r }') s per M rows, peak RSS $((sluice_rss / 1024)) MB"
bench_record "PG → MariaDB snapshot load (scale $scale)" "COPY | LOAD DATA LOCAL INFILE" "$t_load" "$sluice_best" 0.95 "$n" "$sluice_cpu" "$sluice_rss"
