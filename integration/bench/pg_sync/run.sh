#!/usr/bin/env bash
# PG → PG one-shot `sluice sync` of one table, exactly as issue #19 measures it: pgbench_accounts
# (SCALE × 100 000 rows; the issue's figure is SCALE 20 = 2 M rows) from a source PostgreSQL 15
# server to a separate target server (both with integration/bench/lib.sh's settings:
# shared_buffers=1GB, max_wal_size=8GB, autovacuum=off), against the binary pipe
#   psql -c "COPY … TO STDOUT (FORMAT binary)" | psql -c "COPY … FROM STDIN (FORMAT binary)"
# into the table of `pg_dump -s`, which gets the better of "key in place" and "key built after
# the load". Goal >= 0.95x.
#
# Best of ROUNDS rounds per side in rotating order, each after CHECKPOINT and sync; rows and
# checksum checked after every round; the load average, the target's WAL bytes and commits
# printed beside each round, Sluice's CPU-seconds per million rows and peak RSS beside the
# ratio; one JSON line appended to $BENCH_RESULTS.
#
# usage: integration/bench/pg_sync/run.sh [SCALE]
#        SCALE default 20. BUILD=build dir; ROUNDS=n (default 3); SYNC_EXTRA='"key": "value", …'
#        adds settings to the sync's configuration (e.g. "snapshot.max.threads": "1");
#        SLUICE_INTO_DUMP=1 makes Sluice load into the `pg_dump -s` table (key in place) instead
#        of creating the table itself (key built after the load); KEEP_LOGS=dir keeps sluice's
#        logs and the target server's log. SLUICE_BASE=path/to/sluice adds a fourth side, another
#        binary (main's build, for an A/B in the same rounds; BASE_EXTRA instead of SYNC_EXTRA
#        for its settings), printed with its own best and ratio. Starts its own servers and
#        stops everything it started on exit (lib.sh's one EXIT trap).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=integration/bench/lib.sh
source "$here/../lib.sh"
bench_init pg_sync
scale=${1:-20}
rounds=${ROUNDS:-3}
work=$BENCH_WORK
bench_servers_up
if [[ -n ${KEEP_LOGS:-} ]]; then
  bench_on_exit "mkdir -p '$KEEP_LOGS' && cp '$work'/*.log '$KEEP_LOGS'/ && cp '$work/tgt/pg/postgres.log' '$KEEP_LOGS/target-postgres.log'"
fi
S() { bench_src_psql "$@"; }
T() { bench_tgt_psql "$@"; }
table=pgbench_accounts

src=bsrc
S postgres -c "CREATE DATABASE $src"
pgbench -q -i -s "$scale" -I dtgvp -h "$SRC_PG_HOST" -p "$SRC_PG_PORT" -U "$SRC_PG_USER" "$src" >/dev/null 2>&1
rows=$(S "$src" -c "SELECT count(*) FROM $table")
checksum_sql="SELECT count(*) || ':' || coalesce(sum(hashtext(aid || '|' || bid || '|' || abalance || '|' || filler)), 0) FROM $table"
want=$(S "$src" -c "$checksum_sql")
dump() { pg_dump -s -t "$table" -h "$SRC_PG_HOST" -p "$SRC_PG_PORT" -U "$SRC_PG_USER" "$@" "$src"; }
dump >"$work/schema.sql"
dump --section=pre-data >"$work/pre.sql"
dump --section=post-data >"$work/post.sql"
echo "== PG → PG sync of $table, $rows rows, source and target in separate servers (load $(bench_load))"

# The target server's WAL position and the database's commits, before and after a side.
wal_now() { T postgres -c "SELECT pg_current_wal_lsn()"; }
wal_mb() { T postgres -c "SELECT round(pg_wal_lsn_diff('$2', '$1') / 1048576.0)"; }
commits() { T postgres -c "SELECT pg_stat_force_next_flush(); SELECT xact_commit FROM pg_stat_database WHERE datname = '$1'" | tail -1; }

t_run= extra=
check_and_drop() {
  local got
  got=$(T "$1" -c "$checksum_sql")
  [[ $got == "$want" ]] || { echo "target $1 differs from the source: $got, want $want" >&2; exit 1; }
  T postgres -c "DROP DATABASE $1 WITH (FORCE)" >/dev/null
}
# Runs after the timed part: WAL written and commits in database $1 since $2 / $3.
side_stats() { extra="WAL $(wal_mb "$2" "$(wal_now)") MB, $(( $(commits "$1") - $3 )) commits"; }

run_pipe() {  # run_pipe ROUND key|after
  local db=bpipe_$1_$2 t0 lsn c0
  T postgres -c "CREATE DATABASE $db"
  if [[ $2 == key ]]; then T "$db" -f "$work/schema.sql" >/dev/null; else T "$db" -f "$work/pre.sql" >/dev/null; fi
  bench_settle
  lsn=$(wal_now) c0=$(commits "$db")
  t0=$(bench_now)
  S "$src" -c "COPY $table TO STDOUT (FORMAT binary)" | T "$db" -c "COPY $table FROM STDIN (FORMAT binary)"
  [[ $2 == key ]] || T "$db" -f "$work/post.sql" >/dev/null
  t_run=$(awk -v a="$(bench_now)" -v b="$t0" 'BEGIN { print a - b }')
  side_stats "$db" "$lsn" "$c0"
  check_and_drop "$db"
}

sluice_best= sluice_cpu= sluice_rss=
run_sluice() {  # run_sluice ROUND [base]: one `sluice sync` into an empty database
  local db=bsync_$1${2:+_base} lsn c0 wall user sys rss bin=$BENCH_SLUICE extra_conf=${SYNC_EXTRA:-}
  [[ -z ${2:-} ]] || bin=$SLUICE_BASE extra_conf=${BASE_EXTRA:-}
  T postgres -c "CREATE DATABASE $db"
  [[ -z ${SLUICE_INTO_DUMP:-} ]] || T "$db" -f "$work/schema.sql" >/dev/null
  bench_sync_config "bench_$db" "$src" "public.$table" "$db" \
    "postgresql://$TGT_PG_USER@$TGT_PG_HOST:$TGT_PG_PORT/$db" "$extra_conf" >"$work/sync.json"
  bench_settle
  lsn=$(wal_now) c0=$(commits "$db")
  if ! (cd "$work" && bench_timed "$work/sync.time" "$bin" sync "$work/sync.json" >"$work/$db.log" 2>&1); then
    echo "sluice sync failed:" >&2
    tail -5 "$work/$db.log" >&2
    exit 1
  fi
  read -r wall user sys rss <"$work/sync.time"
  t_run=$wall
  [[ -z ${2:-} ]] || { side_stats "$db" "$lsn" "$c0"; extra+=", CPU ${user}+${sys} s"; check_and_drop "$db"; return; }
  if [[ -z $sluice_best || $(bench_best "$wall" "$sluice_best") == "$wall" ]]; then
    sluice_cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
    sluice_rss=$rss
  fi
  side_stats "$db" "$lsn" "$c0"
  extra+=", CPU ${user}+${sys} s"
  check_and_drop "$db"
}

t_key= t_after= base_best=
sides=(pipe_key pipe_after sluice)
[[ -z ${SLUICE_BASE:-} ]] || sides+=(base)
for round in $(seq 1 "$rounds"); do
  bench_round_order order "$round" "${sides[@]}"
  for side in "${order[@]}"; do
    case $side in
      pipe_key) run_pipe "$round" key; t_key=$(bench_best "$t_run" "$t_key"); name="pipe, key in place" ;;
      pipe_after) run_pipe "$round" after; t_after=$(bench_best "$t_run" "$t_after"); name="pipe, key after" ;;
      sluice) run_sluice "$round"; sluice_best=$(bench_best "$t_run" "$sluice_best"); name="sluice sync" ;;
      base) run_sluice "$round" base; base_best=$(bench_best "$t_run" "$base_best"); name="sluice base" ;;
    esac
    printf '  round %s: %-18s %6.2f s  (%s; load %s)\n' "$round" "$name" "$t_run" "$extra" "$(bench_load)"
  done
done
t_pipe=$(bench_best "$t_key" "$t_after")
cpu_per_m=$(awk -v c="$sluice_cpu" -v r="$rows" 'BEGIN { printf "%.2f", c * 1000000 / r }')
printf 'best of %s: binary COPY pipe %.2f s (key in place %.2f s, key after %.2f s), sluice sync %.2f s\n' \
  "$rounds" "$t_pipe" "$t_key" "$t_after" "$sluice_best"
echo "  sluice vs COPY pipe: $(bench_ratio "$t_pipe" "$sluice_best")x (goal >= 0.95x)   sluice CPU ${cpu_per_m} s per M rows, peak RSS $((sluice_rss / 1024)) MB, load $(bench_load)"
if [[ -n $base_best ]]; then
  echo "  sluice base ($SLUICE_BASE) vs COPY pipe: $(bench_ratio "$t_pipe" "$base_best")x (best $base_best s)"
fi
bench_record "PG → PG sync of pgbench_accounts (scale $scale, separate servers)" "binary COPY pipe" \
  "$t_pipe" "$sluice_best" 0.95 "$rows" "$sluice_cpu" "$sluice_rss"
