#!/usr/bin/env bash
# Where the wall time of one PG → PG `sluice sync` goes, beside the binary pipe's (issue #19's
# reference, key built after the load): one round of each on the servers of run.sh, with
#   - both servers' statements (log_min_duration_statement=0, log_replication_commands=on,
#     millisecond timestamps; the sampler's own statements filtered out),
#   - pg_stat_activity of both servers sampled every 50 ms (state, wait event, query),
#   - every process's CPU (servers' backends, psql, sluice) from /proc every 200 ms,
#   - sluice's own log (millisecond timestamps).
# Prints a timeline per side (offsets in ms from the side's start) and the CPU-seconds of each
# process; everything is kept in OUT (default /tmp/pg_sync_timeline) for reading.
#
# usage: integration/bench/pg_sync/timeline.sh [SCALE]
#        SCALE default 20; BUILD=/SLUICE_BIN= as run.sh; OUT=dir; SYNC_EXTRA as run.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=integration/bench/lib.sh
source "$here/../lib.sh"
bench_init pg_sync_timeline
scale=${1:-20}
out=${OUT:-/tmp/pg_sync_timeline}
mkdir -p "$out"
work=$BENCH_WORK
bench_servers_up
S() { bench_src_psql "$@"; }
T() { bench_tgt_psql "$@"; }
table=pgbench_accounts
for server in S T; do
  $server postgres -c "ALTER SYSTEM SET log_min_duration_statement = 0" \
    -c "ALTER SYSTEM SET log_replication_commands = on" \
    -c "ALTER SYSTEM SET log_line_prefix = '%m [%p] %d '" -c "SELECT pg_reload_conf()" >/dev/null
done
src=bsrc
S postgres -c "CREATE DATABASE $src"
pgbench -q -i -s "$scale" -I dtgvp -h "$SRC_PG_HOST" -p "$SRC_PG_PORT" -U "$SRC_PG_USER" "$src" >/dev/null 2>&1
dump() { pg_dump -s -t "$table" -h "$SRC_PG_HOST" -p "$SRC_PG_PORT" -U "$SRC_PG_USER" "$@" "$src"; }
dump --section=pre-data >"$work/pre.sql"
dump --section=post-data >"$work/post.sql"
echo "== timeline of one sync of $table at scale $scale (load $(bench_load)), files in $out"

# Samplers: pg_stat_activity of both servers (one psql each, 50 ms apart) and /proc CPU ticks.
activity_sql="SELECT to_char(clock_timestamp(), 'HH24:MI:SS.MS'), pid, backend_type, state,
  coalesce(wait_event_type, '-') || ':' || coalesce(wait_event, '-'), left(query, 60)
  FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (state IS DISTINCT FROM 'idle'
  OR backend_type <> 'client backend'); SELECT pg_sleep(0.05);"
sampler_pids=()
start_samplers() {  # start_samplers NAME
  local i
  for i in $(seq 1 400); do echo "$activity_sql"; done >"$work/act.sql"
  # psql itself, not a subshell around it, so that stop_samplers ends it.
  psql -X -q -At -F '|' -h "$SRC_PG_HOST" -p "$SRC_PG_PORT" -U "$SRC_PG_USER" -d postgres \
    -f "$work/act.sql" >"$out/$1.src_activity" 2>/dev/null &
  sampler_pids+=($!)
  psql -X -q -At -F '|' -h "$TGT_PG_HOST" -p "$TGT_PG_PORT" -U "$TGT_PG_USER" -d postgres \
    -f "$work/act.sql" >"$out/$1.tgt_activity" 2>/dev/null &
  sampler_pids+=($!)
  (
    while :; do
      now=$(date +%s.%N)
      for stat in /proc/[0-9]*/stat; do
        read -r line <"$stat" 2>/dev/null || continue
        case $line in *'(postgres)'* | *'(psql)'* | *'(sluice'*) echo "$now $line" ;; esac
      done
      sleep 0.2
    done
  ) >"$out/$1.cpu" 2>/dev/null &
  sampler_pids+=($!)
}
stop_samplers() {
  local p
  for p in "${sampler_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait "${sampler_pids[@]}" 2>/dev/null || true
  sampler_pids=()
}
bench_on_exit 'stop_samplers'
# CPU-seconds per process in the side's window (last sample minus first, 100 Hz ticks; a process
# started in the window counts from its first sample, at most 0.2 s after its start).
cpu_report() {
  awk '{ sub(/^[0-9.]+ /, ""); pid = $1; name = $2; ut = $14; st = $15
         if (!(pid in first)) first[pid] = ut + st
         cpu[pid] = (ut + st - first[pid]) / 100; nm[pid] = name }
       END { for (p in cpu) if (cpu[p] >= 0.05) printf "    %-12s pid %-7s %5.2f CPU-s\n", nm[p], p, cpu[p] }' "$1" | sort -k4 -rn
}
tgt_log=$work/tgt/pg/postgres.log src_log=$work/src/pg/postgres.log
mark() { date +%H:%M:%S.%3N; }

# Pipe, key after the load.
db=tpipe
T postgres -c "CREATE DATABASE $db"
T "$db" -f "$work/pre.sql" >/dev/null
bench_settle
log_from=$(wc -l <"$tgt_log")
start_samplers pipe
sleep 0.3
{
  echo "$(mark) start"
  S "$src" -c "COPY $table TO STDOUT (FORMAT binary)" | T "$db" -c "COPY $table FROM STDIN (FORMAT binary)"
  echo "$(mark) copy done"
  T "$db" -f "$work/post.sql" >/dev/null
  echo "$(mark) key done"
} >"$out/pipe.marks"
sleep 0.2
stop_samplers
tail -n +"$((log_from + 1))" "$tgt_log" | grep -E "duration|statement" >"$out/pipe.tgt_log" || true
T postgres -c "DROP DATABASE $db WITH (FORCE)" >/dev/null

# Sluice sync into an empty database.
db=tsync
T postgres -c "CREATE DATABASE $db"
bench_sync_config timeline_sync "$src" "public.$table" tsync \
  "postgresql://$TGT_PG_USER@$TGT_PG_HOST:$TGT_PG_PORT/$db" "${SYNC_EXTRA:-}" >"$work/sync.json"
bench_settle
log_from=$(wc -l <"$tgt_log") src_from=$(wc -l <"$src_log")
start_samplers sync
sleep 0.3
{
  echo "$(mark) start"
  (cd "$work" && "$BENCH_SLUICE" sync "$work/sync.json" >"$out/sync.log" 2>&1)
  echo "$(mark) exit"
} >"$out/sync.marks"
sleep 0.2
stop_samplers
tail -n +"$((log_from + 1))" "$tgt_log" | grep -E "duration|statement" >"$out/sync.tgt_log" || true
tail -n +"$((src_from + 1))" "$src_log" | grep -v -e pg_sleep -e clock_timestamp >"$out/sync.src_log" || true
T "$db" -c "SELECT count(*) FROM $table"

for side in pipe sync; do
  echo "-- $side: marks"
  cat "$out/$side.marks"
  echo "-- $side: target statements over 5 ms"
  awk '/duration:/ { for (i = 1; i <= NF; i++) if ($i == "duration:") d = $(i + 1); if (d + 0 >= 5) print }' \
    "$out/$side.tgt_log" | grep -v -e pg_sleep -e clock_timestamp | cut -c1-200
  echo "-- $side: pg_stat_activity samples of client backends (count, state, wait event, query)"
  for f in "$out/$side.src_activity" "$out/$side.tgt_activity"; do
    echo "   ${f##*.}"
    awk -F'|' 'NF >= 6 && $3 == "client backend" && $6 !~ /pg_stat_activity|pg_sleep/ {
      c[$4 " " $5 " " substr($6, 1, 40)]++ } END { for (k in c) print "    " c[k], k }' "$f" |
      sort -rn | head -8
  done
  echo "-- $side: CPU per process"
  cpu_report "$out/$side.cpu"
done
echo "-- sync: sluice log"
cut -c1-200 "$out/sync.log"
