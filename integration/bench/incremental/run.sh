#!/usr/bin/env bash
# Incremental snapshot benchmark (issue #17's figures): a PostgreSQL 15 (SOURCE=postgres, the
# default) or MariaDB 10.11 (SOURCE=mariadb) source into a PostgreSQL target, source and target in
# separate server sets, through `sluice serve` as users run it:
#   throughput: the incremental snapshot of a ROWS-row table (POST /connectors/{name}/snapshots,
#               chunks of CHUNK rows interleaved with a live stream) against the initial snapshot
#               of the same table by a connector with snapshot.mode=initial; both timed from the
#               request to the last row counted in the target. Goal: >= 0.5x.
#   lag:        p99 of the stream's end-to-end lag (a ticks table written every TICK_MS at the
#               source; a trigger on the target records the transaction that wrote each row,
#               whose commit timestamp is when it became visible) during the
#               incremental snapshot against the same stream idle before it. Goal: at most 2x
#               (recorded as idle p99 / during p99 >= 0.5).
# ROUNDS rounds (default 3), alternating which snapshot runs first; each prints its figures and
# the load; rows and a checksum of the snapshotted table are compared with the source after each
# incremental round; the throughput record keeps each side's best time, the lag record the
# worst round.
# Usage: [SOURCE=postgres|mariadb] run.sh [rows=200000]. Env: ROUNDS, CHUNK (1024), TICK_MS (50),
# IDLE_S (10), KEEP_LOG, SLUICE_BASE. Not part of `make test`; `make bench` runs it with the others.
# SLUICE_BASE=path/to/sluice: A/B. A second `sluice serve` runs that binary, and each round also
# runs an incremental round with it (the two alternate which goes first), against the round's
# one initial snapshot (by SLUICE_BIN's binary); its figures print as "base" lines. The record
# (bench_record) keeps SLUICE_BIN's figures only.
#
# The source's part is source_$SOURCE.sh; it defines SRC_LABEL, SNAP_TABLE (the table as the
# snapshot request names it), BIG and TICKS (the target's tables), TICK_AT (SQL: a tick's source
# time as timestamptz in the target, row alias t), src_setup, src_ticker (writes a tick every
# TICK_MS until killed), src_connector NAME DB MODE (the connector's JSON), src_digest and
# tgt_digest DB ("count checksum" of the table, equal when the target equals the source).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=integration/bench/lib.sh
source "$here/../lib.sh"
bench_init incremental
ROWS=${1:-200000}
ROUNDS=${ROUNDS:-3}
CHUNK=${CHUNK:-1024}
TICK_MS=${TICK_MS:-50}
IDLE_S=${IDLE_S:-10}
export PGOPTIONS=--client-min-messages=warning

# The target records when each tick's transaction committed (pg_xact_commit_timestamp): the
# moment a reader of the target can see it, not the moment the sink inserted it.
BENCH_PG_SETTINGS+=$'\ntrack_commit_timestamp = on'
bench_servers_up
T() { bench_tgt_psql "$@"; }
case ${SOURCE:=postgres} in
  postgres | mariadb) source "$here/source_$SOURCE.sh" ;;
  *) echo "SOURCE must be postgres or mariadb, not $SOURCE" >&2; exit 2 ;;
esac
src_setup

start_serve() {  # binary dir -> $serve_api
  local port pid
  port=$(bench_free_port)
  serve_api=http://127.0.0.1:$port
  mkdir -p "$2"
  (cd "$2" && exec "$1" serve --listen "127.0.0.1:$port" --insecure-no-auth >"$2/out.log" 2>&1) &
  pid=$!
  bench_on_exit "kill -9 $pid"
  for _ in $(seq 300); do curl -fs "$serve_api/healthz" >/dev/null && break; sleep 0.1; done
  curl -fs "$serve_api/healthz" >/dev/null || { echo "sluice serve ($1) did not start: $(tail -5 "$2/out.log")" >&2; exit 1; }
}
start_serve "$BENCH_SLUICE" "$BENCH_WORK/serve"
api=$serve_api main_api=$serve_api serve_log=$BENCH_WORK/serve/out.log
# KEEP_LOG=FILE: the serve log is copied there at exit (the work directory is removed).
[[ -z ${KEEP_LOG:-} ]] || bench_on_exit "cp '$BENCH_WORK/serve/out.log' '$KEEP_LOG'"
if [[ -n ${SLUICE_BASE:-} ]]; then
  SLUICE_BASE=$(realpath "$SLUICE_BASE")
  start_serve "$SLUICE_BASE" "$BENCH_WORK/serve_base"
  base_api=$serve_api
  [[ -z ${KEEP_LOG:-} ]] || bench_on_exit "cp '$BENCH_WORK/serve_base/out.log' '$KEEP_LOG.base'"
  echo "A/B: SLUICE_BIN $BENCH_SLUICE, SLUICE_BASE $SLUICE_BASE"
fi

# The tick writer, for the whole run.
src_ticker &
ticker_pid=$!
bench_on_exit "pkill -P $ticker_pid; kill $ticker_pid"

post() {  # path json -> the answer; fails naming the answer unless 2xx
  local out code
  out=$(curl -s -o /dev/stdout -w '\n%{http_code}' -X "$1" -H 'Content-Type: application/json' \
          ${3:+--data "$3"} "$api$2")
  code=${out##*$'\n'}
  if [[ $code != 2* ]]; then echo "$1 $2 answered $code: ${out%$'\n'*}" >&2; exit 1; fi
  echo "${out%$'\n'*}"
}
count_in() { T "$1" -c "SELECT count(*) FROM $BIG" 2>/dev/null || echo 0; }
wait_rows() {  # db -> waits until the target holds ROWS rows of big
  local i
  for i in $(seq 36000); do [[ $(count_in "$1") -ge $ROWS ]] && return 0; sleep 0.05; done
  echo "the target $1 never reached $ROWS rows" >&2; exit 1
}
elapsed() { awk -v a="$(bench_now)" -v b="$1" 'BEGIN { printf "%.3f", a - b }'; }
p99_lag_ms() {  # db from_epoch to_epoch -> p99 of (target commit - source insert) in ms of the ticks written then
  T "$1" -c "SELECT coalesce(round(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM pg_xact_commit_timestamp(l.xid::text::xid) - $TICK_AT) * 1000))::bigint, -1) || ' ' || count(*)
             FROM $TICKS t JOIN tick_landed l USING (id)
             WHERE $TICK_AT >= to_timestamp($2) AND $TICK_AT < to_timestamp($3)"
}

worst_ticks() {  # db from_epoch to_epoch -> the three slowest ticks written then, "offset:lag" in ms
  T "$1" -c "SELECT string_agg(o || ':' || l, ' ') FROM (
               SELECT round(extract(epoch FROM $TICK_AT - to_timestamp($2)) * 1000)::bigint AS o,
                      round(extract(epoch FROM pg_xact_commit_timestamp(l.xid::text::xid) - $TICK_AT) * 1000)::bigint AS l
                 FROM $TICKS t JOIN tick_landed l USING (id)
                WHERE $TICK_AT >= to_timestamp($2) AND $TICK_AT < to_timestamp($3)
                ORDER BY 2 DESC LIMIT 3) w"
}
sink_flushes() {  # connector -> "flushes seconds" (sluice_flushes_total, sluice_batch_seconds_sum)
  curl -fs "$api/metrics" | awk -v c="connector=\"$1\"" 'index($0, c) && /^sluice_flushes_total/ { n = $NF }
    index($0, c) && /^sluice_batch_seconds_sum/ { s = $NF } END { print n + 0, s + 0 }'
}
initial_round() {  # r -> $initial_s
  local db=binit_$1 t0
  T postgres -c "CREATE DATABASE $db"
  t0=$(bench_now)
  post POST /connectors "$(src_connector "binit_$1" "$db" initial)" >/dev/null
  wait_rows "$db"
  initial_s=$(elapsed "$t0")
  post DELETE "/connectors/binit_$1" >/dev/null
}
incremental_round() {  # r [suffix] -> $incremental_s, $idle_p99 and $during_p99 (ms)
  local db=binc_$1${2:-} name=binc_$1${2:-} t0 t_idle t_post t_done state i
  T postgres -c "CREATE DATABASE $db"
  post POST /connectors "$(src_connector "$name" "$db" no_data)" >/dev/null
  # The stream creates the target's ticks table with its first row; then a trigger records
  # when each tick lands (the sink's transaction commits within the same flush).
  for i in $(seq 600); do
    T "$db" -c "SELECT 1 FROM $TICKS LIMIT 1" >/dev/null 2>&1 && break; sleep 0.1
  done
  T "$db" -c "CREATE TABLE tick_landed (id bigint PRIMARY KEY, xid xid8 NOT NULL);
              CREATE FUNCTION tick_landed() RETURNS trigger LANGUAGE plpgsql AS
                \$\$ BEGIN INSERT INTO tick_landed VALUES (NEW.id, pg_current_xact_id())
                       ON CONFLICT (id) DO NOTHING; RETURN NULL; END \$\$;
              CREATE TRIGGER tick_landed AFTER INSERT OR UPDATE ON $TICKS
                FOR EACH ROW EXECUTE FUNCTION tick_landed()"
  t_idle=$(date +%s.%N)
  sleep "$IDLE_S"
  t_post=$(date +%s.%N)
  read -r flushes_before flush_s_before < <(sink_flushes "$name")
  t0=$(bench_now)
  post POST "/connectors/$name/snapshots" "{\"tables\": [\"$SNAP_TABLE\"]}" >/dev/null
  wait_rows "$db"
  incremental_s=$(elapsed "$t0")
  t_done=$(date +%s.%N)
  state=$(curl -fs "$api/connectors/$name/snapshots" | python3 -c 'import json,sys
print(" ".join(t["table"] + "=" + t["state"] for t in json.load(sys.stdin)["tables"]))')
  sleep 2  # the ticks written up to t_done land
  read -r idle_p99 idle_n < <(p99_lag_ms "$db" "$t_idle" "$t_post")
  read -r during_p99 during_n < <(p99_lag_ms "$db" "$t_post" "$t_done")
  echo "  incremental: $state; lag samples idle $idle_n, during $during_n"
  echo "  slowest ticks during (ms after the request: lag ms): $(worst_ticks "$db" "$t_post" "$t_done")"
  # Where the time went: the sink's flushes during the snapshot and the source's chunk timings.
  read -r flushes_after flush_s_after < <(sink_flushes "$name")
  echo "  sink: $((flushes_after - flushes_before)) flushes, $(awk -v a="$flush_s_after" -v b="$flush_s_before" 'BEGIN { printf "%.3f", a - b }') s writing and flushing"
  { grep -o "incremental snapshot of $SNAP_TABLE finished: .*" "$serve_log" || true; } |
    tail -1 | sed 's/^/  /'
  # The target equals the source for the snapshotted table.
  local a b
  a=$(src_digest)
  b=$(tgt_digest "$db")
  [[ $a == "$b" ]] || { echo "round $1: target != source for $SNAP_TABLE ($a vs $b)" >&2; exit 1; }
  echo "  $SNAP_TABLE in the target: rows and checksum equal the source's ($b)"
  post DELETE "/connectors/$name" >/dev/null
}

echo "== $SRC_LABEL: incremental snapshot of $ROWS rows (chunks of $CHUNK) vs initial, ticks every ${TICK_MS} ms, $ROUNDS rounds"
best_init= best_inc= worst_lag_ratio= worst_idle= worst_during= summary=()
base_summary=()
base_round() {  # r -> a "base" line, with the base binary's serve
  local keep_s=$incremental_s keep_idle=$idle_p99 keep_during=$during_p99 line
  api=$base_api serve_log=$BENCH_WORK/serve_base/out.log
  echo "  (base binary)"
  incremental_round "$1" _base
  api=$main_api serve_log=$BENCH_WORK/serve/out.log
  base_inc=$incremental_s base_idle=$idle_p99 base_during=$during_p99
  incremental_s=$keep_s idle_p99=$keep_idle during_p99=$keep_during
}
for r in $(seq "$ROUNDS"); do
  bench_settle
  if ((r % 2)); then
    initial_round "$r"; incremental_round "$r"
    [[ -z ${base_api:-} ]] || base_round "$r"
  else
    [[ -z ${base_api:-} ]] || base_round "$r"
    incremental_round "$r"; initial_round "$r"
  fi
  ratio=$(bench_ratio "$initial_s" "$incremental_s")
  lag_ratio=$(bench_ratio "$idle_p99" "$during_p99")
  line="round $r: initial ${initial_s}s, incremental ${incremental_s}s (ratio ${ratio}x, goal >= 0.5); stream p99 lag idle ${idle_p99} ms, during ${during_p99} ms ($(bench_ratio "$during_p99" "$idle_p99")x, goal <= 2x); load $(bench_load)"
  echo "$line"; summary+=("$line")
  if [[ -n ${base_api:-} ]]; then
    line="round $r base: initial ${initial_s}s, incremental ${base_inc}s (ratio $(bench_ratio "$initial_s" "$base_inc")x); stream p99 lag idle ${base_idle} ms, during ${base_during} ms ($(bench_ratio "$base_during" "$base_idle")x); load $(bench_load)"
    echo "$line"; summary+=("$line")
  fi
  best_init=$(bench_best "$initial_s" "$best_init")
  best_inc=$(bench_best "$incremental_s" "$best_inc")
  if [[ -z $worst_lag_ratio ]] || awk -v a="$lag_ratio" -v b="$worst_lag_ratio" 'BEGIN { exit !(a < b) }'; then
    worst_lag_ratio=$lag_ratio worst_idle=$idle_p99 worst_during=$during_p99
  fi
done
echo "== summary (best times; the worst round's lag)"
printf '%s\n' "${summary[@]}"
echo "incremental vs initial: $(bench_ratio "$best_init" "$best_inc")x (best of $ROUNDS each); worst p99 lag during/idle: $(bench_ratio "$worst_during" "$worst_idle")x"
bench_record "$SRC_LABEL incremental snapshot ($ROWS rows, live stream)" "initial snapshot" \
  "$best_init" "$best_inc" 0.5 "$ROWS"
bench_record "$SRC_LABEL stream p99 lag during an incremental snapshot (worst of $ROUNDS)" \
  "idle stream p99 lag" "$(awk -v v="$worst_idle" 'BEGIN { print v / 1000 }')" \
  "$(awk -v v="$worst_during" 'BEGIN { print v / 1000 }')" 0.5 0
