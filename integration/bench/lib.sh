# Shared by the benchmark scripts (source it): servers set up the way users run them, one exit
# trap for every cleanup, timing with CPU and peak memory, best-of rounds, and one result record
# per figure for the summary `make bench` prints.
#
#   bench_init NAME           work dir ($BENCH_WORK), the exit trap, $BENCH_BUILD, $BENCH_SLUICE
#   bench_on_exit CMD         adds a cleanup command (run in reverse order at exit, even on error)
#   bench_servers_up          a SOURCE and a TARGET server set (each PostgreSQL 15, MariaDB 10.11
#                             and a Kafka-protocol broker), PostgreSQL with $BENCH_PG_SETTINGS;
#                             exports SRC_PG_{HOST,PORT,USER}, TGT_PG_*, TGT_MYSQL_*, TGT_KAFKA;
#                             stopped at exit
#   bench_settle              CHECKPOINT on both PostgreSQL servers, then sync(1)
#   bench_timed FILE CMD...   runs CMD under /usr/bin/time: FILE gets "wall user sys maxrss_kb"
#   bench_best A B            the smaller of two numbers (B may be empty)
#   bench_ratio REF MINE      REF / MINE as "1.23" (times: > 1 means Sluice is faster)
#   bench_record PATH REF_NAME REF_S SLUICE_S GOAL ROWS CPU_S RSS_KB
#                             appends one JSON line to $BENCH_RESULTS (build/bench-results.jsonl)
#   bench_load                the 1-minute load average
#   bench_sync_config NAME DB TABLE SLOT SINK_URL [EXTRA]
#                             the JSON of a one-shot PostgreSQL -> SINK_URL sync of TABLE in the
#                             source database DB (slot and publication SLOT; EXTRA: more
#                             `"key": "value"` pairs); the sink type follows the URL's scheme
#   bench_free_port           a free TCP port on 127.0.0.1
#
# Rounds rotate their order (round r starts with side r mod n) and each side keeps its best
# time, so a burst of load on a shared machine does not decide a ratio; every script prints the
# load average beside each round.

bench_init() {
  BENCH_NAME=$1
  BENCH_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  # Absolute: the scripts run the binaries from their work directory (BUILD=build failed there).
  BENCH_BUILD=$(realpath -m "${BUILD:-$BENCH_REPO/build}")
  BENCH_SLUICE=$(realpath -m "${SLUICE_BIN:-$BENCH_BUILD/api/sluice}")
  BENCH_RESULTS=${BENCH_RESULTS:-$BENCH_BUILD/bench-results.jsonl}
  BENCH_WORK=$(mktemp -d "/tmp/sluice-bench-$BENCH_NAME-XXXXXX")
  chmod 755 "$BENCH_WORK"
  _bench_exit_cmds=()
  trap _bench_exit EXIT
  trap 'exit 130' INT TERM
  [[ -x $BENCH_SLUICE ]] || cmake --build "$BENCH_BUILD" --target sluice -j2 >/dev/null
  command -v /usr/bin/time >/dev/null || { echo "/usr/bin/time not found: apt-get install time" >&2; exit 1; }
  bench_on_exit "rm -rf '$BENCH_WORK'"
}

bench_on_exit() { _bench_exit_cmds+=("$1"); }

_bench_exit() {
  local status=$? i
  for ((i = ${#_bench_exit_cmds[@]} - 1; i >= 0; i--)); do
    eval "${_bench_exit_cmds[$i]}" >/dev/null 2>&1 || true
  done
  return $status
}

# The settings of the issue's measurement (both servers alike); override with BENCH_PG_SETTINGS.
BENCH_PG_SETTINGS=${BENCH_PG_SETTINGS:-$'shared_buffers = 1GB\nmax_wal_size = 8GB\nautovacuum = off'}

bench_servers_up() {
  local broker=$BENCH_BUILD/integration/broker/sluice_mock_broker side
  [[ -x $broker ]] || cmake --build "$BENCH_BUILD" --target sluice_mock_broker -j2 >/dev/null
  for side in src tgt; do
    bench_on_exit "'$BENCH_REPO/integration/servers/down.sh' '$BENCH_WORK/$side'"
    SLUICE_PG_EXTRA_CONF=$BENCH_PG_SETTINGS \
      "$BENCH_REPO/integration/servers/up.sh" "$BENCH_WORK/$side" "$broker" >&2
  done
  _bench_env() { grep "^$2=" "$BENCH_WORK/$1/servers.env" | cut -d= -f2-; }
  export SRC_PG_HOST=$(_bench_env src SLUICE_TEST_PG_HOST) SRC_PG_PORT=$(_bench_env src SLUICE_TEST_PG_PORT)
  export SRC_PG_USER=$(_bench_env src SLUICE_TEST_PG_USER)
  export SRC_MYSQL_HOST=$(_bench_env src SLUICE_TEST_MYSQL_HOST) SRC_MYSQL_PORT=$(_bench_env src SLUICE_TEST_MYSQL_PORT)
  export SRC_MYSQL_USER=$(_bench_env src SLUICE_TEST_MYSQL_USER)
  export TGT_PG_HOST=$(_bench_env tgt SLUICE_TEST_PG_HOST) TGT_PG_PORT=$(_bench_env tgt SLUICE_TEST_PG_PORT)
  export TGT_PG_USER=$(_bench_env tgt SLUICE_TEST_PG_USER)
  export TGT_MYSQL_HOST=$(_bench_env tgt SLUICE_TEST_MYSQL_HOST) TGT_MYSQL_PORT=$(_bench_env tgt SLUICE_TEST_MYSQL_PORT)
  export TGT_MYSQL_USER=$(_bench_env tgt SLUICE_TEST_MYSQL_USER)
  export TGT_KAFKA=$(_bench_env tgt SLUICE_TEST_KAFKA_BOOTSTRAP)
  unset -f _bench_env
}

bench_src_psql() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$SRC_PG_HOST" -p "$SRC_PG_PORT" -U "$SRC_PG_USER" -d "$@"; }
bench_tgt_psql() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$TGT_PG_HOST" -p "$TGT_PG_PORT" -U "$TGT_PG_USER" -d "$@"; }

bench_settle() {
  bench_src_psql postgres -c "CHECKPOINT" >/dev/null
  bench_tgt_psql postgres -c "CHECKPOINT" >/dev/null
  sync
}

bench_timed() {
  local out=$1
  shift
  /usr/bin/time -o "$out" -f '%e %U %S %M' "$@"
}

bench_sync_config() {
  local sink=postgres
  [[ $5 != mysql://* ]] || sink=mysql
  cat <<EOF
{"name": "$1", "connector.class": "postgres", "database.hostname": "$SRC_PG_HOST",
 "database.port": "$SRC_PG_PORT", "database.user": "$SRC_PG_USER", "database.dbname": "$2",
 "table.include.list": "$3", "slot.name": "$4", "publication.name": "$4",
 "snapshot.mode": "initial_only", "sink.type": "$sink", "sink.url": "$5"${6:+, $6}}
EOF
}

bench_now() { date +%s.%N; }
bench_best() { awk -v a="$1" -v b="${2:-}" 'BEGIN { print (b == "" || a < b) ? a : b }'; }

# The order of round ROUND's sides into the array named $1: bench_round_order order ROUND SIDE...
# Each round starts one side later (rotating order). When both "sluice" and "base" (a second
# binary, SLUICE_BASE) run, even rounds also swap those two: whichever Sluice side ran second in
# a round was 0.6-1.9 s faster in every round of 2026-12-07 19:32-19:42 (either binary).
bench_round_order() {
  local -n _bench_order=$1
  local round=$2
  shift 2
  local sides=("$@") i
  local shift_by=$(((round - 1) % ${#sides[@]}))
  _bench_order=("${sides[@]:$shift_by}" "${sides[@]:0:$shift_by}")
  if [[ " ${sides[*]} " == *" base "* ]] && ((round % 2 == 0)); then
    for i in "${!_bench_order[@]}"; do
      case ${_bench_order[$i]} in sluice) _bench_order[$i]=base ;; base) _bench_order[$i]=sluice ;; esac
    done
  fi
}
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
bench_load() { cut -d' ' -f1 /proc/loadavg; }
bench_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

bench_record() {
  local path=$1 ref_name=$2 ref_s=$3 sluice_s=$4 goal=$5 rows=$6 cpu_s=${7:-} rss_kb=${8:-}
  mkdir -p "$(dirname "$BENCH_RESULTS")"
  awk -v path="$path" -v ref_name="$ref_name" -v ref="$ref_s" -v s="$sluice_s" -v goal="$goal" \
      -v rows="$rows" -v cpu="$cpu_s" -v rss="$rss_kb" -v load="$(bench_load)" \
      -v date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" 'BEGIN {
    cpu_per_m = (cpu != "" && rows > 0) ? sprintf("%.3f", cpu * 1000000 / rows) : "null"
    rss_mb = (rss != "") ? sprintf("%.1f", rss / 1024) : "null"
    printf "{\"path\":\"%s\",\"reference\":\"%s\",\"reference_s\":%.3f,\"sluice_s\":%.3f," \
           "\"ratio\":%.3f,\"goal\":%s,\"rows\":%d,\"cpu_s_per_million_rows\":%s," \
           "\"peak_rss_mb\":%s,\"load\":%s,\"date\":\"%s\"}\n",
           path, ref_name, ref, s, ref / s, goal, rows, cpu_per_m, rss_mb, load, date
  }' >>"$BENCH_RESULTS"
}
