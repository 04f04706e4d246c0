#!/usr/bin/env bash
# PostgreSQL sink benchmarks, every figure a ratio against a reference measured in the same run.
#
#   1. pg_sink_bench: the sink alone (Sink interface) — snapshot load vs a binary COPY pipe, and
#      streaming apply of a pgbench backlog vs native logical replication catching up.
#   2. End to end with the `sluice` binary (needs the PostgreSQL source):
#      - snapshot: `sluice sync` (PG -> PG) of a pgbench database vs a binary
#        `COPY … TO STDOUT | COPY … FROM STDIN` pipe into identical empty tables (goal >= 0.9x)
#        and vs `pgcopydb clone` (Debian package pgcopydb; goal: faster);
#      - streaming: `sluice run` catching up a pgbench backlog vs CREATE SUBSCRIPTION catching up
#        the same backlog (synchronous_commit on for both; goal >= 1.0x).
#
# usage: integration/bench/pg_sink/run.sh [SCALE [TRANSACTIONS]]
#        SCALE: pgbench scale, 100 000 accounts each (default 5; the issue's figure: 20 = 2 M)
#        TRANSACTIONS: pgbench transactions of the streaming backlog (default 20000)
#        BUILD=build dir (default build); SKIP_SINK_BENCH=1 skips part 1; SKIP_STREAM=1 stops
#        after the snapshot; SYNC_BATCH_SIZES="10000 100000" runs one sync per sink.batch.size;
#        KEEP_LOGS=dir keeps sluice's logs; VACUUM_TARGET=1 runs VACUUM ANALYZE on Sluice's
#        streaming target before the backlog (pgbench -i vacuums the subscription's target).
#        ROUNDS=n snapshot rounds per side (default 3, best of each compared).
#        Uses the servers of $SLUICE_TEST_PG_* when exported,
#        else starts throwaway ones and stops them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
build=${BUILD:-$repo/build}
scale=${1:-5}
txns=${2:-20000}

bench=$build/integration/bench/pg_sink/pg_sink_bench
sluice=$build/api/sluice
[[ -x $bench ]] || cmake --build "$build" --target pg_sink_bench -j2 >/dev/null
[[ -x $sluice ]] || cmake --build "$build" --target sluice -j2 >/dev/null
command -v pgcopydb >/dev/null || { echo "pgcopydb not found: apt-get install pgcopydb" >&2; exit 1; }

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
url() { echo "postgresql://$user@$host:$port/$1"; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$user" -d "$@"; }
now() { date +%s.%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
work=$(mktemp -d /tmp/sluice-pgbench-XXXXXX)
tag=$$
dbs=()
newdb() { q postgres -c "CREATE DATABASE $1" >/dev/null; dbs+=("$1"); }
cleanup_dbs() {
  for d in "${dbs[@]}"; do q postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true; done
  q postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE '%_$tag'" >/dev/null 2>&1 || true
  [[ -n ${KEEP_LOGS:-} ]] && mkdir -p "$KEEP_LOGS" && cp "$work"/*.log "$KEEP_LOGS"/ 2>/dev/null
  rm -rf "$work"
}
trap 'cleanup_dbs; ${servers:+"$repo/integration/servers/down.sh" "$servers" >/dev/null 2>&1; rm -rf "$servers"}' EXIT

if [[ -z ${SKIP_SINK_BENCH:-} ]]; then
  echo "== 1. the sink alone (pg_sink_bench $scale $txns)"
  "$bench" "$scale" "$txns" 2>/dev/null
fi

echo "== 2. end to end, pgbench scale $scale"
src=bsrc_$tag
newdb "$src"
pgbench -q -i -s "$scale" -h "$host" -p "$port" -U "$user" "$src" >/dev/null 2>&1
tables="pgbench_accounts pgbench_branches pgbench_history pgbench_tellers"
# (An empty source table sends no event, so a sluice target lacks it: counted as 0 rows.)
checksum() {
  q "$1" -c "SELECT (SELECT count(*) || ':' || sum(hashtext(aid || '|' || bid || '|' || abalance || '|' || filler)) FROM pgbench_accounts) || '/' || (SELECT sum(tbalance) FROM pgbench_tellers) || '/' || (SELECT sum(bbalance) FROM pgbench_branches) || '/' || (CASE WHEN to_regclass('pgbench_history') IS NULL THEN '0' ELSE (xpath('/row/c/text()', query_to_xml('SELECT count(*) AS c FROM pgbench_history', false, true, '')))[1]::text END)"
}

# Each side runs ROUNDS times (default 3), the order rotating from round to round, into a fresh
# database each time; the best time of each side is compared (as in bench/pg_source), so that
# a burst of load on the shared machine does not decide the ratio.
want=$(checksum "$src")
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { print a - b }'; }
best() { awk -v a="$1" -v b="${2:-}" 'BEGIN { print (b == "" || a < b) ? a : b }'; }
check_and_drop() {
  [[ $(checksum "$1") == "$want" ]] || { echo "target $1 differs from the source" >&2; exit 1; }
  q postgres -c "DROP DATABASE $1 WITH (FORCE)" >/dev/null
}
# Every measured run starts after a CHECKPOINT and sync(1), so that none pays for the WAL and
# dirty pages of the one before.
settle() { q postgres -c "CHECKPOINT" >/dev/null; sync; }
run_pipe() {  # reference: identical empty tables (schema with keys from pg_dump), binary COPY pipes
  local db=bpipe_${1}_$tag t0
  newdb "$db"
  pg_dump -s -h "$host" -p "$port" -U "$user" "$src" | q "$db" >/dev/null
  settle
  t0=$(now)
  for t in $tables; do
    q "$src" -c "COPY $t TO STDOUT (FORMAT binary)" | q "$db" -c "COPY $t FROM STDIN (FORMAT binary)"
  done
  t_run=$(elapsed "$t0")
  check_and_drop "$db"
}
run_copydb() {
  local db=bcopydb_${1}_$tag t0
  newdb "$db"
  rm -rf "$work/pgcopydb"
  settle
  t0=$(now)
  pgcopydb clone --source "$(url "$src")" --target "$(url "$db")" --dir "$work/pgcopydb" \
    --no-owner --no-acl >"$work/pgcopydb.log" 2>&1 || { tail -20 "$work/pgcopydb.log" >&2; exit 1; }
  t_run=$(elapsed "$t0")
  check_and_drop "$db"
}
run_sluice() {  # run_sluice ROUND BATCH_SIZE: one `sluice sync` (its own connector name and state)
  local db=bsnap_${1}_$tag t0 name=bench_sync_${tag}_$1_$2
  newdb "$db"
  cat >"$work/sync.json" <<EOF
{"name": "$name", "connector.class": "postgres", "database.hostname": "$host",
 "database.port": "$port", "database.user": "$user", "database.dbname": "$src",
 "slot.name": "bsync_$tag", "publication.name": "bsync_$tag", "snapshot.mode": "initial_only",
 "sink.type": "postgres", "sink.url": "$(url "$db")", "sink.batch.size": "$2"}
EOF
  settle
  t0=$(now)
  if ! (cd "$work" && "$sluice" sync "$work/sync.json" >"$work/sync.log" 2>&1); then
    echo "sluice sync failed:" >&2
    tail -5 "$work/sync.log" >&2
    exit 1
  fi
  t_run=$(elapsed "$t0")
  key_ms=$(grep -o "primary key built after the snapshot load in [0-9]* ms" "$work/sync.log" |
           grep -o "[0-9]* ms" | sort -n | tail -1)
  check_and_drop "$db"
}
read -r -a sizes <<< "${SYNC_BATCH_SIZES:-10000}"
declare -A t_sluice
t_pipe= t_copydb=
for round in $(seq 1 "${ROUNDS:-3}"); do
  order=(pipe copydb sluice)
  shift_by=$(( (round - 1) % 3 ))
  order=("${order[@]:$shift_by}" "${order[@]:0:$shift_by}")
  line="  round $round:"
  for side in "${order[@]}"; do
    case $side in
      pipe) run_pipe "$round"; t_pipe=$(best "$t_run" "$t_pipe"); line+=" pipe ${t_run:0:5} s," ;;
      copydb) run_copydb "$round"; t_copydb=$(best "$t_run" "$t_copydb"); line+=" pgcopydb ${t_run:0:5} s," ;;
      sluice)
        for size in "${sizes[@]}"; do
          run_sluice "$round" "$size"
          t_sluice[$size]=$(best "$t_run" "${t_sluice[$size]:-}")
          line+=" sluice (batch $size) ${t_run:0:5} s (key build $key_ms),"
        done ;;
    esac
  done
  echo "$line load $(cut -d' ' -f1 /proc/loadavg)"
done
printf 'snapshot, best of %s: binary COPY pipe %.2f s, pgcopydb clone %.2f s\n' "${ROUNDS:-3}" \
  "$t_pipe" "$t_copydb"
for size in "${sizes[@]}"; do
  printf '  sluice sync, sink.batch.size=%s: %.2f s\n' "$size" "${t_sluice[$size]}"
  echo "    sluice vs COPY pipe : $(ratio "$t_pipe" "${t_sluice[$size]}") (goal >= 0.9x)"
  echo "    sluice vs pgcopydb  : $(ratio "$t_copydb" "${t_sluice[$size]}") (goal > 1x)"
done
[[ -z ${SKIP_STREAM:-} ]] || exit 0

# Streaming: both targets start equal to the source; the backlog is written while nothing
# consumes it; then each catches up alone.
ssrc=bssrc_$tag stgt=bstgt_$tag nat=bnat_$tag
newdb "$ssrc"; newdb "$stgt"; newdb "$nat"
pgbench -q -i -s "$scale" -h "$host" -p "$port" -U "$user" "$ssrc" >/dev/null 2>&1
pgbench -q -i -s "$scale" -h "$host" -p "$port" -U "$user" "$nat" >/dev/null 2>&1
cat >"$work/run.json" <<EOF
{"name": "bench_run_$tag", "connector.class": "postgres", "database.hostname": "$host",
 "database.port": "$port", "database.user": "$user", "database.dbname": "$ssrc",
 "slot.name": "brun_$tag", "publication.name": "brun_$tag", "snapshot.mode": "initial",
 "sink.type": "postgres", "sink.url": "$(url "$stgt")"}
EOF
(cd "$work" && exec "$sluice" run "$work/run.json" >"$work/run1.log" 2>&1) &
pid=$!
want=$(checksum "$ssrc")
for _ in $(seq 1 600); do
  [[ $(checksum "$stgt" 2>/dev/null || true) == "$want" ]] && break
  sleep 0.5
done
[[ $(checksum "$stgt") == "$want" ]] || { echo "sluice snapshot did not finish" >&2; tail "$work/run1.log" >&2; exit 1; }
# Let the running connector move its slot past the snapshot's WAL (the target's 2 M-row load
# in the same cluster), as a connector streaming in steady state does: its restart_lsn only
# advances at a running-transactions record, which CHECKPOINT writes. Otherwise its walsender
# would re-read hundreds of MB of unrelated WAL that the subscription, created later, skips.
mark=$(q postgres -c "CHECKPOINT" -c "SELECT pg_current_wal_lsn()")
for _ in $(seq 1 300); do
  [[ $(q postgres -c "SELECT restart_lsn >= '$mark' FROM pg_replication_slots WHERE slot_name = 'brun_$tag'") == t ]] && break
  sleep 0.1
  q postgres -c "SELECT pg_log_standby_snapshot()" >/dev/null 2>&1 || q postgres -c "CHECKPOINT" >/dev/null
done
kill -TERM "$pid"; wait "$pid" || true
[[ -n ${VACUUM_TARGET:-} ]] && q "$stgt" -c "VACUUM ANALYZE" && echo "(sluice target vacuumed)"
q "$ssrc" -c "CREATE PUBLICATION bnat_$tag FOR ALL TABLES" >/dev/null
q "$ssrc" -c "SELECT pg_create_logical_replication_slot('bnat_$tag', 'pgoutput')" >/dev/null
pgbench -n -c 1 -t "$txns" -h "$host" -p "$port" -U "$user" "$ssrc" >/dev/null 2>&1
want=$(checksum "$ssrc")
end=$(q "$ssrc" -c "SELECT pg_current_wal_lsn()")
# Caught up = the slot's confirmed_flush_lsn reached the end of the backlog: both Sluice and the
# subscription confirm a position only once the target has committed (and flushed) it. One
# session polls the slot every 10 ms inside the server (a psql process per poll would take a
# good part of a 2-core machine from both sides); the checksums are compared after.
wait_caught_up() {
  q postgres -c "DO \$\$ BEGIN WHILE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '$1' AND confirmed_flush_lsn >= '$end') LOOP PERFORM pg_sleep(0.01); END LOOP; END \$\$"
}

q postgres -c "CHECKPOINT"
t0=$(now)
(cd "$work" && exec "$sluice" run "$work/run.json" >"$work/run2.log" 2>&1) &
pid=$!
wait_caught_up "brun_$tag"
t_stream=$(awk -v a="$(now)" -v b="$t0" 'BEGIN { print a - b }')
kill -TERM "$pid"; wait "$pid" || true
[[ $(checksum "$stgt") == "$want" ]] || { echo "sluice target differs from the source" >&2; exit 1; }

q postgres -c "CHECKPOINT"
t0=$(now)
q "$nat" -c "CREATE SUBSCRIPTION bnat_$tag CONNECTION 'host=$host port=$port user=$user dbname=$ssrc' PUBLICATION bnat_$tag WITH (create_slot = false, slot_name = 'bnat_$tag', copy_data = false, synchronous_commit = 'on')" >/dev/null
wait_caught_up "bnat_$tag"
t_native=$(awk -v a="$(now)" -v b="$t0" 'BEGIN { print a - b }')
[[ $(checksum "$nat") == "$want" ]] || { echo "subscription target differs from the source" >&2; exit 1; }
q "$nat" -c "ALTER SUBSCRIPTION bnat_$tag DISABLE" -c "ALTER SUBSCRIPTION bnat_$tag SET (slot_name = NONE)" -c "DROP SUBSCRIPTION bnat_$tag" >/dev/null
printf 'streaming %s pgbench transactions: native subscription %.2f s, sluice %.2f s\n' \
  "$txns" "$t_native" "$t_stream"
echo "  sluice vs native logical replication: $(ratio "$t_native" "$t_stream") (goal >= 1.0x, stretch 1.3x)"
