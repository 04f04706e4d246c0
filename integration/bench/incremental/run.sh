#!/usr/bin/env bash
# Incremental snapshot benchmark (issue #17's figures), PostgreSQL -> PostgreSQL, source and
# target in separate server sets, through `sluice serve` as users run it:
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
# the load; the throughput record keeps each side's best time, the lag record the worst round.
# Usage: run.sh [rows=200000]. Env: ROUNDS, CHUNK (1024), TICK_MS (50), IDLE_S (10), KEEP_LOG.
# Not part of `make test`; `make bench` runs it with the others.
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
S() { bench_src_psql "$@"; }
T() { bench_tgt_psql "$@"; }
src=bench_inc
S postgres -c "CREATE DATABASE $src"
bench_on_exit "psql -X -q -h '$SRC_PG_HOST' -p '$SRC_PG_PORT' -U '$SRC_PG_USER' -d postgres -c \"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active\""
S "$src" -c "CREATE TABLE big (id bigint PRIMARY KEY, name text, qty int, amount numeric(12,2),
               ts timestamptz, payload text);
             INSERT INTO big SELECT i, 'name ' || i, i % 1000, i * 1.25, now() - i * interval '1 s',
               repeat(md5(i::text), 2) FROM generate_series(1, $ROWS) i;
             CREATE TABLE ticks (id bigserial PRIMARY KEY, at timestamptz NOT NULL)"
S "$src" -c "VACUUM ANALYZE big"

port=$(bench_free_port)
api=http://127.0.0.1:$port
mkdir -p "$BENCH_WORK/serve"
(cd "$BENCH_WORK/serve" && exec "$BENCH_SLUICE" serve --listen "127.0.0.1:$port" --insecure-no-auth \
   >"$BENCH_WORK/serve/out.log" 2>&1) &
serve_pid=$!
bench_on_exit "kill -9 $serve_pid"
# KEEP_LOG=FILE: the serve log is copied there at exit (the work directory is removed).
[[ -z ${KEEP_LOG:-} ]] || bench_on_exit "cp '$BENCH_WORK/serve/out.log' '$KEEP_LOG'"
for _ in $(seq 300); do curl -fs "$api/healthz" >/dev/null && break; sleep 0.1; done
curl -fs "$api/healthz" >/dev/null || { echo "sluice serve did not start: $(tail -5 "$BENCH_WORK/serve/out.log")" >&2; exit 1; }

# The tick writer: one INSERT every TICK_MS in its own transaction, for the whole run.
(while :; do echo "INSERT INTO ticks (at) VALUES (clock_timestamp());"; sleep "$(awk -v t="$TICK_MS" 'BEGIN { print t / 1000 }')"; done |
   S "$src" >/dev/null 2>&1) &
ticker_pid=$!
bench_on_exit "kill $ticker_pid; pkill -P $ticker_pid"

post() {  # path json -> the answer; fails naming the answer unless 2xx
  local out code
  out=$(curl -s -o /dev/stdout -w '\n%{http_code}' -X "$1" -H 'Content-Type: application/json' \
          ${3:+--data "$3"} "$api$2")
  code=${out##*$'\n'}
  if [[ $code != 2* ]]; then echo "$1 $2 answered $code: ${out%$'\n'*}" >&2; exit 1; fi
  echo "${out%$'\n'*}"
}
connector() {  # name db mode
  cat <<JSON
{"name": "$1", "config": {"connector.class": "postgres", "database.hostname": "$SRC_PG_HOST",
 "database.port": "$SRC_PG_PORT", "database.user": "$SRC_PG_USER", "database.dbname": "$src",
 "table.include.list": "public\\\\.big,public\\\\.ticks", "slot.name": "$1", "publication.name": "$1",
 "snapshot.mode": "$3", "incremental.snapshot.chunk.size": "$CHUNK",
 "sink.type": "postgres", "sink.url": "postgresql://$TGT_PG_USER@$TGT_PG_HOST:$TGT_PG_PORT/$2"}}
JSON
}
count_in() { T "$1" -c "SELECT count(*) FROM public.big" 2>/dev/null || echo 0; }
wait_rows() {  # db -> waits until the target holds ROWS rows of big
  local i
  for i in $(seq 36000); do [[ $(count_in "$1") -ge $ROWS ]] && return 0; sleep 0.05; done
  echo "the target $1 never reached $ROWS rows" >&2; exit 1
}
elapsed() { awk -v a="$(bench_now)" -v b="$1" 'BEGIN { printf "%.3f", a - b }'; }
p99_lag_ms() {  # db from_epoch to_epoch -> p99 of (target commit - source insert) in ms of the ticks written then
  T "$1" -c "SELECT coalesce(round(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM pg_xact_commit_timestamp(l.xid::text::xid) - t.at) * 1000))::bigint, -1) || ' ' || count(*)
             FROM public.ticks t JOIN tick_landed l USING (id)
             WHERE t.at >= to_timestamp($2) AND t.at < to_timestamp($3)"
}

worst_ticks() {  # db from_epoch to_epoch -> the three slowest ticks written then, "offset:lag" in ms
  T "$1" -c "SELECT string_agg(o || ':' || l, ' ') FROM (
               SELECT round(extract(epoch FROM t.at - to_timestamp($2)) * 1000)::bigint AS o,
                      round(extract(epoch FROM pg_xact_commit_timestamp(l.xid::text::xid) - t.at) * 1000)::bigint AS l
                 FROM public.ticks t JOIN tick_landed l USING (id)
                WHERE t.at >= to_timestamp($2) AND t.at < to_timestamp($3)
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
  post POST /connectors "$(connector "binit_$1" "$db" initial)" >/dev/null
  wait_rows "$db"
  initial_s=$(elapsed "$t0")
  post DELETE "/connectors/binit_$1" >/dev/null
}
incremental_round() {  # r -> $incremental_s, $idle_p99 and $during_p99 (ms)
  local db=binc_$1 name=binc_$1 t0 t_idle t_post t_done state i
  T postgres -c "CREATE DATABASE $db"
  post POST /connectors "$(connector "$name" "$db" no_data)" >/dev/null
  # The stream creates the target's ticks table with its first row; then a trigger records
  # when each tick lands (the sink's transaction commits within the same flush).
  for i in $(seq 600); do
    T "$db" -c "SELECT 1 FROM public.ticks LIMIT 1" >/dev/null 2>&1 && break; sleep 0.1
  done
  T "$db" -c "CREATE TABLE tick_landed (id bigint PRIMARY KEY, xid xid8 NOT NULL);
              CREATE FUNCTION tick_landed() RETURNS trigger LANGUAGE plpgsql AS
                \$\$ BEGIN INSERT INTO tick_landed VALUES (NEW.id, pg_current_xact_id())
                       ON CONFLICT (id) DO NOTHING; RETURN NULL; END \$\$;
              CREATE TRIGGER tick_landed AFTER INSERT OR UPDATE ON public.ticks
                FOR EACH ROW EXECUTE FUNCTION tick_landed()"
  t_idle=$(date +%s.%N)
  sleep "$IDLE_S"
  t_post=$(date +%s.%N)
  read -r flushes_before flush_s_before < <(sink_flushes "$name")
  t0=$(bench_now)
  post POST "/connectors/$name/snapshots" '{"tables": ["public.big"]}' >/dev/null
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
  grep -o "incremental snapshot of public.big finished: .*" "$BENCH_WORK/serve/out.log" | tail -1 | sed 's/^/  /'
  # The target equals the source for the snapshotted table.
  local a b
  a=$(S "$src" -c "SELECT count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY id)) FROM big t")
  b=$(T "$db" -c "SELECT count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY id)) FROM public.big t")
  [[ $a == "$b" ]] || { echo "round $1: target != source for big ($a vs $b)" >&2; exit 1; }
  post DELETE "/connectors/$name" >/dev/null
}

echo "== incremental snapshot of $ROWS rows (chunks of $CHUNK) vs initial, ticks every ${TICK_MS} ms, $ROUNDS rounds"
best_init= best_inc= worst_lag_ratio= worst_idle= worst_during= summary=()
for r in $(seq "$ROUNDS"); do
  bench_settle
  if ((r % 2)); then initial_round "$r"; incremental_round "$r"
  else incremental_round "$r"; initial_round "$r"; fi
  ratio=$(bench_ratio "$initial_s" "$incremental_s")
  lag_ratio=$(bench_ratio "$idle_p99" "$during_p99")
  line="round $r: initial ${initial_s}s, incremental ${incremental_s}s (ratio ${ratio}x, goal >= 0.5); stream p99 lag idle ${idle_p99} ms, during ${during_p99} ms ($(bench_ratio "$during_p99" "$idle_p99")x, goal <= 2x); load $(bench_load)"
  echo "$line"; summary+=("$line")
  best_init=$(bench_best "$initial_s" "$best_init")
  best_inc=$(bench_best "$incremental_s" "$best_inc")
  if [[ -z $worst_lag_ratio ]] || awk -v a="$lag_ratio" -v b="$worst_lag_ratio" 'BEGIN { exit !(a < b) }'; then
    worst_lag_ratio=$lag_ratio worst_idle=$idle_p99 worst_during=$during_p99
  fi
done
echo "== summary (best times; the worst round's lag)"
printf '%s\n' "${summary[@]}"
echo "incremental vs initial: $(bench_ratio "$best_init" "$best_inc")x (best of $ROUNDS each); worst p99 lag during/idle: $(bench_ratio "$worst_during" "$worst_idle")x"
bench_record "PG -> PG incremental snapshot ($ROWS rows, live stream)" "initial snapshot" \
  "$best_init" "$best_inc" 0.5 "$ROWS"
bench_record "PG -> PG stream p99 lag during an incremental snapshot (worst of $ROUNDS)" \
  "idle stream p99 lag" "$(awk -v v="$worst_idle" 'BEGIN { print v / 1000 }')" \
  "$(awk -v v="$worst_during" 'BEGIN { print v / 1000 }')" 0.5 0
