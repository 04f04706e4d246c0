#!/usr/bin/env bash
# PostgreSQL -> PostgreSQL benchmarks, set up the way users run them: the source and the target
# are separate PostgreSQL 15 servers (integration/bench/lib.sh: shared_buffers=1GB,
# max_wal_size=8GB, autovacuum=off on both). Every figure is a ratio against a reference
# measured in the same run, best of ROUNDS rounds per side in rotating order, each after
# CHECKPOINT and sync, with rows and checksums checked after every round.
#
#   1. pg_sink_bench: the sink alone (Sink interface) on the target server — snapshot load vs a
#      binary COPY pipe, streaming apply of a pgbench backlog vs native logical replication.
#   2. sync: `sluice sync` of a pgbench database (SCALE, the issue's figure: 20 = 2 M accounts)
#      vs the binary pipe `COPY … TO STDOUT (FORMAT binary) | COPY … FROM STDIN (FORMAT binary)`
#      into the tables of `pg_dump -s` (the reference gets the better of key in place and key
#      built after the load; goal >= 0.95x), and vs `pgcopydb clone` of the whole database
#      (goal >= 1.5x).
#   3. streaming: `sluice run` catching up a backlog of TRANSACTIONS pgbench transactions vs
#      CREATE SUBSCRIPTION on the target server catching up the same backlog (synchronous_commit
#      on for both; goal >= 1.5x). ROUNDS rounds, a new backlog for each, sides in rotating
#      order; every round is printed (the ratio's range, worst included) and the best of each
#      side is recorded.
#   Sluice's CPU-seconds per million rows and peak RSS are printed beside each ratio and
#   recorded in $BENCH_RESULTS for `make bench`'s summary.
#
# usage: integration/bench/pg_sink/run.sh [SCALE [TRANSACTIONS]]
#        SCALE default 5; TRANSACTIONS default 20000. BUILD=build dir; ROUNDS=n (default 3);
#        SKIP_SINK_BENCH=1 skips part 1; SKIP_SYNC=1 skips part 2; SKIP_STREAM=1 stops after
#        part 2; KEEP_LOGS=dir keeps sluice's logs; SLUICE_BASE=binary adds a third side to part 3,
#        another sluice binary (a baseline build) measured in the same rounds; STREAM_EXTRA=', "k":
#        "v"' adds keys to part 3's connector config. Starts its own
#        servers and stops everything it started on exit.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=integration/bench/lib.sh
source "$here/../lib.sh"
bench_init pg_sink
scale=${1:-5}
txns=${2:-20000}
rounds=${ROUNDS:-3}
work=$BENCH_WORK
bench=$BENCH_BUILD/integration/bench/pg_sink/pg_sink_bench
[[ -x $bench ]] || cmake --build "$BENCH_BUILD" --target pg_sink_bench -j2 >/dev/null
# pgcopydb is part 2's reference only.
[[ -n ${SKIP_SYNC:-} ]] || command -v pgcopydb >/dev/null || { echo "pgcopydb not found: apt-get install pgcopydb" >&2; exit 1; }
bench_servers_up
[[ -n ${KEEP_LOGS:-} ]] && bench_on_exit "mkdir -p '$KEEP_LOGS' && cp '$work'/*.log '$KEEP_LOGS'/"

src_url() { echo "postgresql://$SRC_PG_USER@$SRC_PG_HOST:$SRC_PG_PORT/$1"; }
tgt_url() { echo "postgresql://$TGT_PG_USER@$TGT_PG_HOST:$TGT_PG_PORT/$1"; }
S() { bench_src_psql "$@"; }
T() { bench_tgt_psql "$@"; }

if [[ -z ${SKIP_SINK_BENCH:-} ]]; then
  echo "== 1. the sink alone, on the target server (pg_sink_bench $scale $txns)"
  SLUICE_TEST_PG_HOST=$TGT_PG_HOST SLUICE_TEST_PG_PORT=$TGT_PG_PORT SLUICE_TEST_PG_USER=$TGT_PG_USER \
    "$bench" "$scale" "$txns" 2>/dev/null
fi

tables="pgbench_accounts pgbench_branches pgbench_history pgbench_tellers"
checksum_sql="SELECT (SELECT count(*) || ':' || sum(hashtext(aid || '|' || bid || '|' || abalance || '|' || filler)) FROM pgbench_accounts) || '/' || (SELECT sum(tbalance) FROM pgbench_tellers) || '/' || (SELECT sum(bbalance) FROM pgbench_branches) || '/' || (CASE WHEN to_regclass('pgbench_history') IS NULL THEN '0' ELSE (xpath('/row/c/text()', query_to_xml('SELECT count(*) AS c FROM pgbench_history', false, true, '')))[1]::text END)"

# Part 2 (not indented: its here-documents end at column 0).
if [[ -z ${SKIP_SYNC:-} ]]; then
echo "== 2. sync, pgbench scale $scale, source and target in separate servers"
src=bsrc
S postgres -c "CREATE DATABASE $src"
pgbench -q -i -s "$scale" -h "$SRC_PG_HOST" -p "$SRC_PG_PORT" -U "$SRC_PG_USER" "$src" >/dev/null 2>&1
rows=$(S "$src" -c "SELECT (SELECT count(*) FROM pgbench_accounts) + (SELECT count(*) FROM pgbench_tellers) + (SELECT count(*) FROM pgbench_branches)")
want=$(S "$src" -c "$checksum_sql")
check_and_drop() {
  [[ $(T "$1" -c "$checksum_sql") == "$want" ]] || { echo "target $1 differs from the source" >&2; exit 1; }
  T postgres -c "DROP DATABASE $1 WITH (FORCE)" >/dev/null
}
pg_dump -s -h "$SRC_PG_HOST" -p "$SRC_PG_PORT" -U "$SRC_PG_USER" "$src" >"$work/schema.sql"
pg_dump -s --section=pre-data -h "$SRC_PG_HOST" -p "$SRC_PG_PORT" -U "$SRC_PG_USER" "$src" >"$work/pre.sql"
pg_dump -s --section=post-data -h "$SRC_PG_HOST" -p "$SRC_PG_PORT" -U "$SRC_PG_USER" "$src" >"$work/post.sql"

t_run=
run_pipe() {  # run_pipe ROUND key|after: binary COPY pipes into the pg_dump -s tables
  local db=bpipe_$1_$2 t0
  T postgres -c "CREATE DATABASE $db"
  if [[ $2 == key ]]; then T "$db" -f "$work/schema.sql" >/dev/null; else T "$db" -f "$work/pre.sql" >/dev/null; fi
  bench_settle
  t0=$(bench_now)
  for t in $tables; do
    S "$src" -c "COPY $t TO STDOUT (FORMAT binary)" | T "$db" -c "COPY $t FROM STDIN (FORMAT binary)"
  done
  [[ $2 == key ]] || T "$db" -f "$work/post.sql" >/dev/null
  t_run=$(awk -v a="$(bench_now)" -v b="$t0" 'BEGIN { print a - b }')
  check_and_drop "$db"
}
run_copydb() {
  local db=bcopydb_$1 t0
  T postgres -c "CREATE DATABASE $db"
  rm -rf "$work/pgcopydb"
  bench_settle
  t0=$(bench_now)
  pgcopydb clone --source "$(src_url "$src")" --target "$(tgt_url "$db")" --dir "$work/pgcopydb" \
    --no-owner --no-acl >"$work/pgcopydb.log" 2>&1 || { tail -20 "$work/pgcopydb.log" >&2; exit 1; }
  t_run=$(awk -v a="$(bench_now)" -v b="$t0" 'BEGIN { print a - b }')
  check_and_drop "$db"
}
sluice_cpu= sluice_rss=
run_sluice() {  # one `sluice sync` into an empty database (its own connector name and state)
  local db=bsnap_$1 name=bench_sync_$1
  T postgres -c "CREATE DATABASE $db"
  cat >"$work/sync.json" <<EOF
{"name": "$name", "connector.class": "postgres", "database.hostname": "$SRC_PG_HOST",
 "database.port": "$SRC_PG_PORT", "database.user": "$SRC_PG_USER", "database.dbname": "$src",
 "slot.name": "bsync_$1", "publication.name": "bsync_$1", "snapshot.mode": "initial_only",
 "sink.type": "postgres", "sink.url": "$(tgt_url "$db")"}
EOF
  bench_settle
  if ! (cd "$work" && bench_timed "$work/sync.time" "$BENCH_SLUICE" sync "$work/sync.json" >"$work/sync.log" 2>&1); then
    echo "sluice sync failed:" >&2
    tail -5 "$work/sync.log" >&2
    exit 1
  fi
  local wall user sys rss
  read -r wall user sys rss <"$work/sync.time"
  t_run=$wall
  if [[ -z $sluice_best || $(bench_best "$wall" "$sluice_best") == "$wall" ]]; then
    sluice_cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
    sluice_rss=$rss
  fi
  check_and_drop "$db"
}
t_pipe_key= t_pipe_after= t_copydb= sluice_best=
for round in $(seq 1 "$rounds"); do
  order=(pipe_key pipe_after copydb sluice)
  shift_by=$(( (round - 1) % ${#order[@]} ))
  order=("${order[@]:$shift_by}" "${order[@]:0:$shift_by}")
  line="  round $round:"
  for side in "${order[@]}"; do
    case $side in
      pipe_key) run_pipe "$round" key; t_pipe_key=$(bench_best "$t_run" "$t_pipe_key"); line+=" pipe (key in place) ${t_run:0:5} s," ;;
      pipe_after) run_pipe "$round" after; t_pipe_after=$(bench_best "$t_run" "$t_pipe_after"); line+=" pipe (key after) ${t_run:0:5} s," ;;
      copydb) run_copydb "$round"; t_copydb=$(bench_best "$t_run" "$t_copydb"); line+=" pgcopydb ${t_run:0:5} s," ;;
      sluice) run_sluice "$round"; sluice_best=$(bench_best "$t_run" "$sluice_best"); line+=" sluice ${t_run:0:5} s," ;;
    esac
  done
  echo "$line load $(bench_load)"
done
t_pipe=$(bench_best "$t_pipe_key" "$t_pipe_after")
cpu_per_m=$(awk -v c="$sluice_cpu" -v r="$rows" 'BEGIN { printf "%.2f", c * 1000000 / r }')
printf 'sync, best of %s: binary COPY pipe %.2f s (key in place %.2f s, key after %.2f s), pgcopydb clone %.2f s, sluice sync %.2f s\n' \
  "$rounds" "$t_pipe" "$t_pipe_key" "$t_pipe_after" "$t_copydb" "$sluice_best"
echo "  sluice vs COPY pipe : $(bench_ratio "$t_pipe" "$sluice_best")x (goal >= 0.95x)   sluice CPU ${cpu_per_m} s per M rows, peak RSS $((sluice_rss / 1024)) MB"
echo "  sluice vs pgcopydb  : $(bench_ratio "$t_copydb" "$sluice_best")x (goal >= 1.5x)"
bench_record "PG → PG sync (scale $scale)" "binary COPY pipe" "$t_pipe" "$sluice_best" 0.95 "$rows" "$sluice_cpu" "$sluice_rss"
bench_record "PG → PG whole database (scale $scale)" "pgcopydb clone" "$t_copydb" "$sluice_best" 1.5 "$rows" "$sluice_cpu" "$sluice_rss"
fi
[[ -z ${SKIP_STREAM:-} ]] || exit 0

echo "== 3. streaming catch-up, $txns pgbench transactions, $rounds rounds"
# Both targets start equal to the source; each round writes a new backlog while nothing consumes
# it; then each side catches up alone, in rotating order (each after CHECKPOINT and sync).
ssrc=bssrc stgt=bstgt nat=bnat
S postgres -c "CREATE DATABASE $ssrc"
T postgres -c "CREATE DATABASE $stgt"
T postgres -c "CREATE DATABASE $nat"
pgbench -q -i -s "$scale" -h "$SRC_PG_HOST" -p "$SRC_PG_PORT" -U "$SRC_PG_USER" "$ssrc" >/dev/null 2>&1
pgbench -q -i -s "$scale" -h "$TGT_PG_HOST" -p "$TGT_PG_PORT" -U "$TGT_PG_USER" "$nat" >/dev/null 2>&1
run_json() {  # run_json FILE TARGET_DB NAME: the streaming connector's config
  cat >"$1" <<EOF
{"name": "$3", "connector.class": "postgres", "database.hostname": "$SRC_PG_HOST",
 "database.port": "$SRC_PG_PORT", "database.user": "$SRC_PG_USER", "database.dbname": "$ssrc",
 "slot.name": "$3", "publication.name": "$3", "snapshot.mode": "initial",
 "sink.type": "postgres", "sink.url": "$(tgt_url "$2")"${STREAM_EXTRA:-}}
EOF
}
sides=(sluice native)
base_db=
if [[ -n ${SLUICE_BASE:-} ]]; then
  SLUICE_BASE=$(realpath "$SLUICE_BASE")
  sides+=(base)
  base_db=bbase
  T postgres -c "CREATE DATABASE $base_db"
fi
initial_snapshot() {  # initial_snapshot BINARY TARGET_DB NAME: snapshot, then stopped
  local pid
  run_json "$work/$3.json" "$2" "$3"
  (cd "$work" && exec "$1" run "$work/$3.json" >"$work/$3_snapshot.log" 2>&1) &
  pid=$!
  bench_on_exit "kill -9 $pid"
  want=$(S "$ssrc" -c "$checksum_sql")
  for _ in $(seq 1 600); do
    [[ $(T "$2" -c "$checksum_sql" 2>/dev/null || true) == "$want" ]] && break
    sleep 0.5
  done
  [[ $(T "$2" -c "$checksum_sql") == "$want" ]] || { echo "sluice snapshot did not finish" >&2; tail "$work/$3_snapshot.log" >&2; exit 1; }
  kill -TERM "$pid"; wait "$pid" || true
}
initial_snapshot "$BENCH_SLUICE" "$stgt" brun
[[ -z $base_db ]] || initial_snapshot "$SLUICE_BASE" "$base_db" bbase
S "$ssrc" -c "CREATE PUBLICATION bnat FOR ALL TABLES" >/dev/null
S "$ssrc" -c "SELECT pg_create_logical_replication_slot('bnat', 'pgoutput')" >/dev/null
# Caught up = the slot's confirmed_flush_lsn reached the end of the backlog: both Sluice and the
# subscription confirm a position only once the target has committed (and flushed) it. One
# session polls the slot every 10 ms inside the source server.
wait_caught_up() {
  S postgres -c "DO \$\$ BEGIN WHILE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '$1' AND confirmed_flush_lsn >= '$end') LOOP PERFORM pg_sleep(0.01); END LOOP; END \$\$"
}
t_side= cpu_side= rss_side=
run_stream_sluice() {  # run_stream_sluice BINARY TARGET_DB NAME ROUND: one `sluice run` catch-up
  local t0 pid user sys
  bench_settle
  t0=$(bench_now)
  (cd "$work" && exec /usr/bin/time -o "$work/$3.time" -f '%e %U %S %M' "$1" run "$work/$3.json" >"$work/$3_round$4.log" 2>&1) &
  pid=$!
  bench_on_exit "pkill -9 -P $pid"
  wait_caught_up "$3"
  t_side=$(awk -v a="$(bench_now)" -v b="$t0" 'BEGIN { print a - b }')
  pkill -TERM -P "$pid" || true
  wait "$pid" || true
  read -r _ user sys rss_side <"$work/$3.time"
  cpu_side=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
  [[ $(T "$2" -c "$checksum_sql") == "$want" ]] || { echo "sluice target $2 differs from the source" >&2; exit 1; }
}
run_stream_native() {  # one CREATE SUBSCRIPTION catch-up (dropped again, keeping its slot)
  local t0
  bench_settle
  t0=$(bench_now)
  T "$nat" -c "CREATE SUBSCRIPTION bnat CONNECTION 'host=$SRC_PG_HOST port=$SRC_PG_PORT user=$SRC_PG_USER dbname=$ssrc' PUBLICATION bnat WITH (create_slot = false, slot_name = 'bnat', copy_data = false, synchronous_commit = 'on')" >/dev/null
  wait_caught_up bnat
  t_side=$(awk -v a="$(bench_now)" -v b="$t0" 'BEGIN { print a - b }')
  [[ $(T "$nat" -c "$checksum_sql") == "$want" ]] || { echo "subscription target differs from the source" >&2; exit 1; }
  T "$nat" -c "ALTER SUBSCRIPTION bnat DISABLE" -c "ALTER SUBSCRIPTION bnat SET (slot_name = NONE)" -c "DROP SUBSCRIPTION bnat" >/dev/null
  # The walsender of the dropped subscription releases the slot a moment later.
  for _ in $(seq 1 100); do
    [[ $(S postgres -c "SELECT active FROM pg_replication_slots WHERE slot_name = 'bnat'") == f ]] && break
    sleep 0.05
  done
}
t_native= t_stream= t_base= stream_cpu= stream_rss= ratios=() base_ratios=()
for round in $(seq 1 "$rounds"); do
  pgbench -n -c 1 -t "$txns" -h "$SRC_PG_HOST" -p "$SRC_PG_PORT" -U "$SRC_PG_USER" "$ssrc" >/dev/null 2>&1
  want=$(S "$ssrc" -c "$checksum_sql")
  end=$(S "$ssrc" -c "SELECT pg_current_wal_lsn()")
  order=("${sides[@]}")
  shift_by=$(( (round - 1) % ${#order[@]} ))
  order=("${order[@]:$shift_by}" "${order[@]:0:$shift_by}")
  line="  round $round:" r_native= r_sluice= r_base=
  for side in "${order[@]}"; do
    case $side in
      sluice)
        run_stream_sluice "$BENCH_SLUICE" "$stgt" brun "$round"; r_sluice=$t_side
        if [[ -z $t_stream || $(bench_best "$t_side" "$t_stream") == "$t_side" ]]; then
          stream_cpu=$cpu_side stream_rss=$rss_side
        fi
        t_stream=$(bench_best "$t_side" "$t_stream")
        line+=" sluice ${t_side:0:5} s (CPU ${cpu_side} s)," ;;
      base)
        run_stream_sluice "$SLUICE_BASE" "$base_db" bbase "$round"; r_base=$t_side
        t_base=$(bench_best "$t_side" "$t_base")
        line+=" baseline ${t_side:0:5} s (CPU ${cpu_side} s)," ;;
      native)
        run_stream_native; r_native=$t_side
        t_native=$(bench_best "$t_side" "$t_native")
        line+=" native ${t_side:0:5} s," ;;
    esac
  done
  ratios+=("$(bench_ratio "$r_native" "$r_sluice")")
  line+=" ratio ${ratios[-1]}x"
  if [[ -n $r_base ]]; then
    base_ratios+=("$(bench_ratio "$r_native" "$r_base")")
    line+=", baseline ${base_ratios[-1]}x"
  fi
  echo "$line, load $(bench_load)"
done
range() { printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd- -; }
printf 'streaming %s pgbench transactions, best of %s: native subscription %.2f s, sluice %.2f s (load %s)\n' \
  "$txns" "$rounds" "$t_native" "$t_stream" "$(bench_load)"
echo "  sluice vs native logical replication: $(bench_ratio "$t_native" "$t_stream")x best of each side, rounds $(range "${ratios[@]}")x (goal >= 1.5x)   sluice CPU $(awk -v c="$stream_cpu" -v r="$txns" 'BEGIN { printf "%.2f", c * 1000000 / (r * 4) }') s per M changes, peak RSS $((stream_rss / 1024)) MB"
[[ -z $t_base ]] || echo "  baseline binary vs native: $(bench_ratio "$t_native" "$t_base")x best of each side, rounds $(range "${base_ratios[@]}")x"
# A pgbench (TPC-B-like) transaction makes 4 changes: 3 updates and an insert.
bench_record "PG → PG streaming catch-up ($txns txns)" "native logical replication" "$t_native" "$t_stream" 1.5 $((txns * 4)) "$stream_cpu" "$stream_rss"
