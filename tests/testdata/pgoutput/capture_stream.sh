#!/usr/bin/env bash
# Regenerates stream.hex: the pgoutput (proto_version 1) messages of one decoding session over
# two tables, for the stream reader's unit tests (tests/connectors/postgres/stream_reader_test.cc).
# One message a line as "LSN<TAB>hex bytes", captured with pg_logical_slot_get_binary_changes
# (the same plugin output a walsender sends; the tests add the XLogData framing).
#   txn 1: a multi-table transaction: insert a(1), insert b(10), insert a(2), update b(10),
#          delete a(2)
#   txn 2: insert a(3)
#   txn 3: insert b(20), b(21)
# Usage: capture_stream.sh  (with PGHOST/PGPORT/PGUSER of a wal_level=logical server)
set -euo pipefail
db=pgoutput_stream_$$
psql -X -q -d postgres -c "CREATE DATABASE $db"
trap 'psql -X -q -d postgres -c "DROP DATABASE $db WITH (FORCE)"' EXIT
run() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
run "CREATE TABLE a (id int PRIMARY KEY, name text, amount numeric(10,2));
CREATE TABLE b (id int PRIMARY KEY, note text);
CREATE PUBLICATION p FOR TABLE a, b;"
run "SELECT pg_create_logical_replication_slot('s_$db', 'pgoutput')" >/dev/null
run "BEGIN; INSERT INTO a VALUES (1, 'one', 1.50); INSERT INTO b VALUES (10, 'ten');
INSERT INTO a VALUES (2, 'two', NULL); UPDATE b SET note = 'TEN' WHERE id = 10;
DELETE FROM a WHERE id = 2; COMMIT"
run "INSERT INTO a VALUES (3, 'three', 3.25)"
run "INSERT INTO b VALUES (20, 'twenty'), (21, 'twenty-one')"
psql -X -A -t -F $'\t' -d "$db" -c "SELECT lsn, encode(data, 'hex') FROM pg_logical_slot_get_binary_changes('s_$db', NULL, NULL, 'proto_version', '1', 'publication_names', 'p')" > "$(dirname "$0")/stream.hex"
run "SELECT pg_drop_replication_slot('s_$db')" >/dev/null
