#!/usr/bin/env bash
# Regenerates basic.hex: pgoutput (proto_version 1) messages of a scripted workload, captured
# with pg_logical_slot_get_binary_changes, one message a line as "LSN<TAB>hex bytes".
# Usage: capture.sh  (with PGHOST/PGPORT/PGUSER of a wal_level=logical server in the environment)
set -euo pipefail
db=pgoutput_capture_$$
psql -X -q -d postgres -c "CREATE DATABASE $db"
trap 'psql -X -q -d postgres -c "DROP DATABASE $db WITH (FORCE)"' EXIT
run() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
run "CREATE TYPE mood AS ENUM ('sad','ok');
CREATE TABLE t (id int PRIMARY KEY, name text, big text, n numeric(10,2), tags int[], m mood, b bytea, ts timestamptz);
CREATE TABLE f (a int, b text); ALTER TABLE f REPLICA IDENTITY FULL;
CREATE PUBLICATION p FOR TABLE t, f;"
run "SELECT pg_create_logical_replication_slot('s_$db', 'pgoutput')" >/dev/null
run "SET TimeZone=UTC; INSERT INTO t VALUES (1, 'a', repeat('x', 10000), 1.50, '{1,NULL,3}', 'ok', '\\x00ff', '2024-01-02 03:04:05.5+00');
INSERT INTO t VALUES (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
run "BEGIN; UPDATE t SET name = 'b' WHERE id = 1; DELETE FROM t WHERE id = 2; COMMIT"
run "INSERT INTO f VALUES (1, 'x'); UPDATE f SET b = 'y'; DELETE FROM f"
run "ALTER TABLE t ADD COLUMN extra int; INSERT INTO t (id, extra) VALUES (3, 7)"
run "TRUNCATE t"
psql -X -A -t -F $'\t' -d "$db" -c "SET TimeZone=UTC; SET DateStyle=ISO; SELECT lsn, encode(data, 'hex') FROM pg_logical_slot_get_binary_changes('s_$db', NULL, NULL, 'proto_version', '1', 'publication_names', 'p')" | grep -v '^SET' > "$(dirname "$0")/basic.hex"
run "SELECT pg_drop_replication_slot('s_$db')" >/dev/null
