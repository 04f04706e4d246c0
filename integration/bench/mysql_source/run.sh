#!/usr/bin/env bash
# MySQL source benchmarks against the test servers (integration/servers/up.sh DIR):
#   1. binlog decode rate: Sluice's decoder vs `mariadb-binlog -v` on the same sysbench-like
#      backlog (goal >= 3x);
#   2. MariaDB -> PostgreSQL snapshot: `sluice run` (snapshot.mode=initial_only) vs a
#      `mariadb --quick | psql COPY FROM STDIN` pipe into a keyless table followed by ADD PRIMARY
#      KEY, as Sluice's sink builds the key after the load (goal >= 0.8x), and vs pgloader (goal
#      >= 3x; installed by integration/servers/install_deps.sh when missing); each side ROUNDS
#      times (default 3) in rotating order after a CHECKPOINT, best of each compared;
#   3. snapshot reading alone (MariaDB -> file sink) on 1 and 2 connections vs bare
#      `mariadb --quick` reads, to show what parallel primary-key ranges gain.
#
# usage: [ROUNDS=3] integration/bench/mysql_source/run.sh [ROWS]   (default 200000)
#        Uses the servers of $SLUICE_TEST_* when exported, else starts a source and a target set
#        (integration/bench/lib.sh) and stops them on exit. SLUICE_BIN and BENCH_BIN default to
#        BUILD's binaries.
set -euo pipefail
rows=${1:-200000}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=integration/bench/lib.sh
source "$here/../lib.sh"
bench_init mysql_source
SLUICE_BIN=${SLUICE_BIN:-$BENCH_SLUICE}
BENCH_BIN=${BENCH_BIN:-$BENCH_BUILD/integration/bench/mysql_source/mysql_binlog_decode_bench}
[[ -x $BENCH_BIN ]] || cmake --build "$BENCH_BUILD" --target mysql_binlog_decode_bench -j2 >/dev/null
if [[ -z ${SLUICE_TEST_MYSQL_HOST:-} ]]; then
  # As users run it: the MariaDB source and the PostgreSQL target in separate servers.
  bench_servers_up
  SLUICE_TEST_MYSQL_HOST=$SRC_MYSQL_HOST SLUICE_TEST_MYSQL_PORT=$SRC_MYSQL_PORT SLUICE_TEST_MYSQL_USER=$SRC_MYSQL_USER
  SLUICE_TEST_PG_HOST=$TGT_PG_HOST SLUICE_TEST_PG_PORT=$TGT_PG_PORT SLUICE_TEST_PG_USER=$TGT_PG_USER
fi
SLUICE_BIN=$(realpath "$SLUICE_BIN")
BENCH_BIN=$(realpath "$BENCH_BIN")
my=(mariadb --no-defaults -h "$SLUICE_TEST_MYSQL_HOST" -P "$SLUICE_TEST_MYSQL_PORT" -u "$SLUICE_TEST_MYSQL_USER")
pg=(psql -X -q -h "$SLUICE_TEST_PG_HOST" -p "$SLUICE_TEST_PG_PORT" -U "$SLUICE_TEST_PG_USER")
db=bench_mysrc
work=$BENCH_WORK
now() { date +%s.%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "== setup: $rows rows (sysbench-like sbtest1); load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
"${my[@]}" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db;
  CREATE TABLE $db.sbtest1 (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL DEFAULT 0,
    c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', KEY k_1 (k)) ENGINE=InnoDB;
  FLUSH BINARY LOGS;"
first=$("${my[@]}" -N -e "SHOW MASTER STATUS" | cut -f1)
# Backlog: inserts in 1000-row transactions, then index/non-index updates and deletes.
{ echo "USE $db;"; for ((off = 0; off < rows; off += 1000)); do
  echo "INSERT INTO $db.sbtest1 (k, c, pad) SELECT FLOOR(RAND() * $rows), MD5(seq), SHA1(seq) FROM seq_1_to_1000;"
done; } | "${my[@]}"
"${my[@]}" -D "$db" -e "UPDATE $db.sbtest1 SET k = k + 1 WHERE id % 4 = 0; UPDATE $db.sbtest1 SET c = MD5(c) WHERE id % 4 = 1;
  DELETE FROM $db.sbtest1 WHERE id % 10 = 9; FLUSH BINARY LOGS;"
base=$("${my[@]}" -N -e "SELECT @@log_bin_basename")
files=()
while read -r name _; do
  [[ $name < $first ]] && continue
  files+=("$(dirname "$base")/$name")
done < <("${my[@]}" -N -e "SHOW BINARY LOGS")
unset 'files[${#files[@]}-1]'  # the new, empty current file
echo "binlog backlog: ${files[*]} ($(du -cb "${files[@]}" | tail -1 | cut -f1) bytes)"

echo "== 1. binlog decode"
# Best of three runs each, alternating, so that a burst of load on a shared machine does not
# decide the ratio.
ref= ours=
for _ in 1 2 3; do
  t0=$(now); mariadb-binlog --no-defaults -v --base64-output=decode-rows "${files[@]}" > /dev/null; t1=$(now)
  ref=$(awk -v a="$t0" -v b="$t1" -v m="$ref" 'BEGIN { d = b - a; print (m == "" || d < m) ? d : m }')
  out=$("$BENCH_BIN" "${files[@]}")
  s=$(echo "$out" | sed -n 's/^seconds=//p')
  ours=$(awk -v d="$s" -v m="$ours" 'BEGIN { print (m == "" || d < m) ? d : m }')
done
echo "mariadb-binlog -v: ${ref} s (best of 3)"
echo "$out" | head -1
echo "sluice decoder: ${ours} s (best of 3)"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "RESULT decode: sluice is $(ratio "$ref" "$ours")x mariadb-binlog -v (goal >= 3x)"
bench_record "MariaDB binlog decode ($rows rows)" "mariadb-binlog -v" "$ref" "$ours" 3 "$rows"

echo "== 2. snapshot MariaDB -> PostgreSQL ($("${my[@]}" -N -e "SELECT COUNT(*) FROM $db.sbtest1") rows)"
# Four sides, each run ROUNDS times (default 3) in an order rotating from round to round, each
# into a fresh target database after a CHECKPOINT and sync(1) (so that none pays for the WAL and
# dirty pages of the one before); the best time of each side is compared.
#   sluice1 / sluice2: `sluice run` initial_only on 1 connection (the default) / 2 connections
#     reading primary-key ranges of 50,000 rows; its PostgreSQL sink creates the table and builds
#     the primary key after the load.
#   pipe: `mariadb --quick | COPY FROM STDIN` into a table without a key, then ADD PRIMARY KEY
#     (as the sink does; time included).
#   pgloader: a full pgloader run (it also builds its indexes after the load).
command -v pgloader > /dev/null || "$(dirname "$0")/../../servers/install_deps.sh" pgloader
settle() { "${pg[@]}" -d postgres -c "CHECKPOINT" > /dev/null; sync; }
newdb() { "${pg[@]}" -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" > /dev/null; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { print a - b }'; }
best() { awk -v a="$1" -v b="${2:-}" 'BEGIN { print (b == "" || a < b) ? a : b }'; }
src_rows=$("${my[@]}" -N -e "SELECT COUNT(*) FROM $db.sbtest1")
check_rows() {  # check_rows DB TABLE: the target holds every source row
  local n
  n=$("${pg[@]}" -d "$1" -At -c "SELECT count(*) FROM $2")
  [[ $n == "$src_rows" ]] || { echo "$1.$2 has $n rows, the source $src_rows" >&2; exit 1; }
}
run_sluice() {  # run_sluice THREADS
  local t0
  newdb bench_target
  cat > "$work/config.json" <<JSON
{"name": "bench_mysrc", "connector.class": "mysql", "database.hostname": "$SLUICE_TEST_MYSQL_HOST",
 "database.port": "$SLUICE_TEST_MYSQL_PORT", "database.user": "$SLUICE_TEST_MYSQL_USER",
 "database.include.list": "$db", "snapshot.mode": "initial_only", "sink.type": "postgres",
 "snapshot.max.threads": "$1", "snapshot.chunk.rows": "50000",
 "sink.url": "postgresql://$SLUICE_TEST_PG_USER@$SLUICE_TEST_PG_HOST:$SLUICE_TEST_PG_PORT/bench_target"}
JSON
  rm -f "$work"/*.db "$work"/*.db-*
  settle
  t0=$(now)
  (cd "$work" && "$SLUICE_BIN" run config.json > "sluice-$1.log" 2>&1) ||
    { echo "sluice run failed:" >&2; tail -5 "$work/sluice-$1.log" >&2; exit 1; }
  t_run=$(elapsed "$t0")
  check_rows bench_target "$db.sbtest1"
}
run_pipe() {
  local t0
  newdb bench_pipe
  "${pg[@]}" -d bench_pipe -c "CREATE TABLE sbtest1 (id int NOT NULL, k int NOT NULL, c char(120) NOT NULL, pad char(60) NOT NULL)"
  settle
  t0=$(now)
  "${my[@]}" --quick -N -B -e "SELECT id, k, c, pad FROM $db.sbtest1" |
    "${pg[@]}" -d bench_pipe -c "COPY sbtest1 FROM STDIN WITH (NULL 'NULL')"
  "${pg[@]}" -d bench_pipe -c "ALTER TABLE sbtest1 ADD PRIMARY KEY (id)"
  t_run=$(elapsed "$t0")
  check_rows bench_pipe sbtest1
}
run_pgloader() {
  local t0
  newdb bench_pgloader
  settle
  t0=$(now)
  pgloader --quiet "mysql://$SLUICE_TEST_MYSQL_USER@$SLUICE_TEST_MYSQL_HOST:$SLUICE_TEST_MYSQL_PORT/$db" \
    "postgresql://$SLUICE_TEST_PG_USER@$SLUICE_TEST_PG_HOST:$SLUICE_TEST_PG_PORT/bench_pgloader" > "$work/pgloader.log" 2>&1 ||
    { echo "pgloader failed:" >&2; tail -20 "$work/pgloader.log" >&2; exit 1; }
  t_run=$(elapsed "$t0")
  check_rows bench_pgloader "$db.sbtest1"
}
rounds=${ROUNDS:-3}
t_sl1= t_sl2= t_pipe= t_pgl=
for round in $(seq 1 "$rounds"); do
  order=(sluice1 pipe sluice2 pgloader)
  shift_by=$(( (round - 1) % ${#order[@]} ))
  order=("${order[@]:$shift_by}" "${order[@]:0:$shift_by}")
  line="  round $round:"
  for side in "${order[@]}"; do
    case $side in
      sluice1) run_sluice 1; t_sl1=$(best "$t_run" "$t_sl1"); line+=" sluice(1 conn) ${t_run:0:5} s," ;;
      sluice2) run_sluice 2; t_sl2=$(best "$t_run" "$t_sl2"); line+=" sluice(2 conn) ${t_run:0:5} s," ;;
      pipe) run_pipe; t_pipe=$(best "$t_run" "$t_pipe"); line+=" pipe ${t_run:0:5} s," ;;
      pgloader) run_pgloader; t_pgl=$(best "$t_run" "$t_pgl"); line+=" pgloader ${t_run:0:5} s," ;;
    esac
  done
  echo "$line load $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "sluice run initial_only: $(grep -o 'in [0-9]* chunks on [0-9]* connections' "$work/sluice-2.log") with snapshot.max.threads=2"
printf 'best of %s: sluice 1 connection %.3f s, 2 connections %.3f s; mariadb --quick | COPY + ADD PRIMARY KEY %.3f s; pgloader %.3f s\n' \
  "$rounds" "$t_sl1" "$t_sl2" "$t_pipe" "$t_pgl"
echo "RESULT snapshot: sluice is $(ratio "$t_pipe" "$t_sl1")x the mariadb|COPY pipe with 1 connection (the default), $(ratio "$t_pipe" "$t_sl2")x with 2 (goal >= 0.8x)"
echo "RESULT snapshot: sluice is $(ratio "$t_pgl" "$t_sl1")x pgloader with 1 connection (the default), $(ratio "$t_pgl" "$t_sl2")x with 2 (goal >= 3x)"
bench_record "MariaDB → PG snapshot ($rows rows, 1 connection)" "mariadb | COPY pipe" "$t_pipe" "$t_sl1" 0.8 "$rows"
bench_record "MariaDB → PG snapshot ($rows rows, 1 connection)" "pgloader" "$t_pgl" "$t_sl1" 3 "$rows"

echo "== 3. snapshot reading alone: MariaDB -> file sink, 1 vs 2 connections (best of 2 each)"
# The PostgreSQL target bounds section 2 on a small machine; the file sink (no fsync) shows what
# reading in parallel primary-key ranges gains by itself. Reference: the server's own text
# protocol read, one `mariadb --quick > /dev/null` (and two of them on the two key halves).
file_run() {  # file_run THREADS -> seconds
  rm -rf "$work/out" "$work"/*.db "$work"/*.db-*
  cat > "$work/config.json" <<JSON
{"name": "bench_mysrc_file", "connector.class": "mysql", "database.hostname": "$SLUICE_TEST_MYSQL_HOST",
 "database.port": "$SLUICE_TEST_MYSQL_PORT", "database.user": "$SLUICE_TEST_MYSQL_USER",
 "database.include.list": "$db", "snapshot.mode": "initial_only", "sink.type": "file",
 "sink.url": "$work/out", "sink.file.fsync": "false",
 "snapshot.max.threads": "$1", "snapshot.chunk.rows": "50000"}
JSON
  local t0 t1
  t0=$(now); (cd "$work" && "$SLUICE_BIN" run config.json > "file-$1.log" 2>&1); t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}
f1=$(best "$(file_run 1)" "$(file_run 1)")
f2=$(best "$(file_run 2)" "$(file_run 2)")
echo "sluice -> file, 1 connection: ${f1} s; 2 connections: ${f2} s ($(grep -o 'in [0-9]* chunks on [0-9]* connections' "$work/file-2.log"))"
mid=$("${my[@]}" -N -e "SELECT (MIN(id) + MAX(id)) DIV 2 FROM $db.sbtest1")
r1= r2=
for _ in 1 2; do
  t0=$(now); "${my[@]}" --quick -N -B -e "SELECT id, k, c, pad FROM $db.sbtest1" > /dev/null; t1=$(now)
  r1=$(best "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "${r1:-1e9}")
  t0=$(now)
  "${my[@]}" --quick -N -B -e "SELECT id, k, c, pad FROM $db.sbtest1 WHERE id < $mid" > /dev/null &
  "${my[@]}" --quick -N -B -e "SELECT id, k, c, pad FROM $db.sbtest1 WHERE id >= $mid" > /dev/null
  wait; t1=$(now)
  r2=$(best "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "${r2:-1e9}")
done
echo "mariadb --quick > /dev/null: ${r1} s; two halves at once: ${r2} s"
echo "RESULT parallel snapshot: 2 connections take $(ratio "$f2" "$f1")x the time of 1 (file sink); sluice is $(ratio "$r1" "$f1")x a bare mariadb --quick read with 1 connection, $(ratio "$r2" "$f2")x two bare reads with 2"

"${my[@]}" -e "DROP DATABASE $db"
"${pg[@]}" -d postgres -c "DROP DATABASE IF EXISTS bench_target WITH (FORCE)" -c "DROP DATABASE IF EXISTS bench_pipe WITH (FORCE)" \
  -c "DROP DATABASE IF EXISTS bench_pgloader WITH (FORCE)"
