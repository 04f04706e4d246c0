# The PostgreSQL side of the incremental snapshot benchmark (run.sh, SOURCE=postgres): a
# PostgreSQL 15 source. Sourced by run.sh after bench_servers_up; defines what run.sh asks of a
# source (run.sh's header lists it).
SRC_LABEL="PG -> PG"
SNAP_TABLE=public.big           # as the snapshot request names it
BIG=public.big TICKS=public.ticks  # in the target
TICK_AT="t.at"                  # the tick's source time as timestamptz, in the target
src=bench_inc
S() { bench_src_psql "$@"; }

src_setup() {
  S postgres -c "CREATE DATABASE $src"
  bench_on_exit "psql -X -q -h '$SRC_PG_HOST' -p '$SRC_PG_PORT' -U '$SRC_PG_USER' -d postgres -c \"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active\""
  S "$src" -c "CREATE TABLE big (id bigint PRIMARY KEY, name text, qty int, amount numeric(12,2),
                 ts timestamptz, payload text);
               INSERT INTO big SELECT i, 'name ' || i, i % 1000, i * 1.25, now() - i * interval '1 s',
                 repeat(md5(i::text), 2) FROM generate_series(1, $ROWS) i;
               CREATE TABLE ticks (id bigserial PRIMARY KEY, at timestamptz NOT NULL)"
  S "$src" -c "VACUUM ANALYZE big"
}

# One INSERT every TICK_MS in its own transaction, until killed.
src_ticker() {
  while :; do
    echo "INSERT INTO ticks (at) VALUES (clock_timestamp());"
    sleep "$(awk -v t="$TICK_MS" 'BEGIN { print t / 1000 }')"
  done | S "$src" >/dev/null 2>&1
}

src_connector() {  # name target_db snapshot_mode
  cat <<JSON
{"name": "$1", "config": {"connector.class": "postgres", "database.hostname": "$SRC_PG_HOST",
 "database.port": "$SRC_PG_PORT", "database.user": "$SRC_PG_USER", "database.dbname": "$src",
 "table.include.list": "public\\\\.big,public\\\\.ticks", "slot.name": "$1", "publication.name": "$1",
 "snapshot.mode": "$3", "incremental.snapshot.chunk.size": "$CHUNK",
 "sink.type": "postgres", "sink.url": "postgresql://$TGT_PG_USER@$TGT_PG_HOST:$TGT_PG_PORT/$2"}}
JSON
}

# "count md5" over every column of big, at the source and in a target database.
src_digest() { S "$src" -c "SELECT count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY id)) FROM big t"; }
tgt_digest() { T "$1" -c "SELECT count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY id)) FROM $BIG t"; }
