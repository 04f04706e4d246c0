# The MariaDB side of the incremental snapshot benchmark (run.sh, SOURCE=mariadb): a MariaDB
# 10.11 source (the `exact` method: incremental.snapshot.consistency=auto picks it there) into
# the PostgreSQL target. Sourced by run.sh after bench_servers_up; defines what run.sh asks of a
# source (run.sh's header lists it).
#
# Ticks: `at` is DATETIME(6) written with NOW(6) by a session with time_zone '+00:00', so it is
# the machine's clock in UTC; it lands in the target as timestamp(6) and is read there AT TIME
# ZONE 'UTC', comparable with the target's commit timestamps (same machine, same clock).
SRC_LABEL="MariaDB -> PG"
src=bench_inc
SNAP_TABLE=$src.big
BIG=$src.big TICKS=$src.ticks
TICK_AT="(t.at AT TIME ZONE 'UTC')"
M() { mariadb --no-defaults -N -B -h "$SRC_MYSQL_HOST" -P "$SRC_MYSQL_PORT" -u "$SRC_MYSQL_USER" "$@"; }

src_setup() {
  M -e "CREATE DATABASE $src; USE $src;
        CREATE TABLE $src.big (id bigint PRIMARY KEY, name text, qty int, amount decimal(12,2),
          ts datetime(6), payload text) ENGINE=InnoDB;
        INSERT INTO $src.big SELECT seq, CONCAT('name ', seq), seq % 1000, seq * 1.25,
          NOW(6) - INTERVAL seq SECOND, REPEAT(MD5(seq), 2) FROM seq_1_to_$ROWS;
        CREATE TABLE $src.ticks (id bigint AUTO_INCREMENT PRIMARY KEY, at datetime(6) NOT NULL)
          ENGINE=InnoDB;
        ANALYZE TABLE $src.big" >/dev/null
}

# One INSERT every TICK_MS (autocommit: a transaction each), until killed. The client executes
# each statement as its line arrives.
src_ticker() {
  { echo "SET time_zone = '+00:00';"
    while :; do
      echo "INSERT INTO ticks (at) VALUES (NOW(6));"
      sleep "$(awk -v t="$TICK_MS" 'BEGIN { print t / 1000 }')"
    done; } | M "$src" >/dev/null 2>&1
}

src_connector() {  # name target_db snapshot_mode
  cat <<JSON
{"name": "$1", "config": {"connector.class": "mysql", "database.hostname": "$SRC_MYSQL_HOST",
 "database.port": "$SRC_MYSQL_PORT", "database.user": "$SRC_MYSQL_USER",
 "table.include.list": "$src\\\\.big,$src\\\\.ticks",
 "snapshot.mode": "$3", "incremental.snapshot.chunk.size": "$CHUNK",
 "sink.type": "postgres", "sink.url": "postgresql://$TGT_PG_USER@$TGT_PG_HOST:$TGT_PG_PORT/$2"}}
JSON
}

# "count sum" over every column of big, at the source and in a target database: the sum of the
# first 32 bits of each row's MD5 over one canonical text per row (the same spelling in both
# servers: numbers as typed, the DATETIME(6) with six fraction digits, NULL as \N).
src_digest() {
  M -e "SELECT CONCAT(COUNT(*), ' ', SUM(CONV(LEFT(MD5(CONCAT_WS('|', id, IFNULL(name, '\\\\N'),
          IFNULL(qty, '\\\\N'), IFNULL(amount, '\\\\N'),
          IFNULL(DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f'), '\\\\N'), IFNULL(payload, '\\\\N'))), 8), 16, 10)))
        FROM $src.big"
}
tgt_digest() {
  T "$1" -c "SELECT count(*) || ' ' || sum(('x' || left(md5(concat_ws('|', id, coalesce(name, '\\N'),
               coalesce(qty::text, '\\N'), coalesce(amount::text, '\\N'),
               coalesce(to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US'), '\\N'), coalesce(payload, '\\N'))), 8))::bit(32)::bigint)
             FROM $BIG"
}
