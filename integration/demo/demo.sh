#!/usr/bin/env bash
# `make demo`: PostgreSQL -> MariaDB replication through the Sluice REST API, end to end.
#
# Starts throwaway PostgreSQL and MariaDB servers (integration/servers/up.sh), starts
# `sluice serve`, creates a PostgreSQL -> MariaDB connector with one POST, runs a write workload
# on PostgreSQL while showing progress and lag from the API, verifies that the target equals the
# source (row count and checksum per table, then `sluice verify` through the REST API, which also
# finds a deliberate damage of the target and repairs it with one call), prints curl examples, and cleans everything up on
# exit. At the end it prints the web console's URL (http://127.0.0.1:PORT/ui/) and keeps
# everything running until Ctrl-C when stdin is a terminal; DEMO_KEEP=0 exits at once,
# DEMO_KEEP=1 (or SLUICE_DEMO_KEEP=1) keeps running even without a terminal.
#
# usage: integration/demo/demo.sh   (after building `sluice` and `sluice_mock_broker`; `make demo`
#        does both)
#   SLUICE_BUILD_DIR  build directory (default: build)
#   SLUICE_DEMO_ROWS  rows in the initial snapshot (default 20000)
#   SLUICE_DEMO_SECONDS  length of the write workload (default 15)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${SLUICE_BUILD_DIR:-build}
[[ $build = /* ]] || build="$repo/$build"
sluice="$build/api/sluice"
broker="$build/integration/broker/sluice_mock_broker"
rows=${SLUICE_DEMO_ROWS:-20000}
seconds=${SLUICE_DEMO_SECONDS:-15}

[[ -x $sluice ]] || { echo "demo: $sluice not found: run 'make build' first" >&2; exit 1; }
for tool in curl psql mariadb; do
  command -v "$tool" >/dev/null || { echo "demo: $tool not found: run 'make deps'" >&2; exit 1; }
done

work=$(mktemp -d /tmp/sluice-demo.XXXXXX)
chmod 755 "$work"  # the postgres user must reach its data directory
serve_pid=""
workload_pid=""
cleanup() {
  set +e
  [[ -n $workload_pid ]] && kill "$workload_pid" 2>/dev/null && wait "$workload_pid" 2>/dev/null
  if [[ -n $serve_pid ]]; then
    kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  fi
  "$repo/integration/servers/down.sh" "$work/servers" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

bold "starting PostgreSQL 15 and MariaDB 10.11 in $work/servers"
"$repo/integration/servers/up.sh" "$work/servers" "$broker" >"$work/servers-up.log" 2>&1 \
  || { cat "$work/servers-up.log" >&2; exit 1; }
set -a
# shellcheck disable=SC1091
source "$work/servers/servers.env"
set +a

pg() { psql -X -q -v ON_ERROR_STOP=1 -h "$SLUICE_TEST_PG_HOST" -p "$SLUICE_TEST_PG_PORT" \
         -U "$SLUICE_TEST_PG_USER" "$@"; }
my() { mariadb --no-defaults -h "$SLUICE_TEST_MYSQL_HOST" -P "$SLUICE_TEST_MYSQL_PORT" \
         -u "$SLUICE_TEST_MYSQL_USER" "$@"; }

bold "creating the source database 'demo' with $rows orders"
pg -d postgres -c "CREATE DATABASE demo"
pg -d demo <<SQL
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id bigint PRIMARY KEY, email text NOT NULL, vip boolean NOT NULL);
CREATE TABLE shop.orders (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL,
  amount numeric(12,2) NOT NULL,
  status text NOT NULL,
  placed_at timestamptz NOT NULL DEFAULT '2024-01-01 00:00:00+00');
INSERT INTO shop.customers SELECT g, 'customer' || g || '@example.com', g % 10 = 0
  FROM generate_series(1, 1000) g;
INSERT INTO shop.orders (customer_id, amount, status, placed_at)
  SELECT 1 + g % 1000, (g % 100000) / 100.0, 'new', '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 minute'
  FROM generate_series(1, $rows) g;
SQL
my -e "CREATE DATABASE demo_copy"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
       || echo 18083)
api="http://127.0.0.1:$port"
bold "starting sluice serve on $api"
"$sluice" serve --listen "127.0.0.1:$port" --state "$work/sluice.db" >"$work/sluice.log" 2>&1 &
serve_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$api/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$api/" && echo

connector=$(cat <<JSON
{
  "name": "demo-pg-to-mariadb",
  "config": {
    "connector.class": "postgres",
    "database.hostname": "$SLUICE_TEST_PG_HOST",
    "database.port": "$SLUICE_TEST_PG_PORT",
    "database.user": "$SLUICE_TEST_PG_USER",
    "database.dbname": "demo",
    "slot.name": "sluice_demo",
    "publication.name": "sluice_demo",
    "table.include.list": "shop\\\\..*",
    "sink.type": "mysql",
    "sink.url": "mysql://$SLUICE_TEST_MYSQL_USER@$SLUICE_TEST_MYSQL_HOST:$SLUICE_TEST_MYSQL_PORT/demo_copy"
  }
}
JSON
)
bold "POST /connectors"
echo "$connector"
curl -fsS -X POST -H 'Content-Type: application/json' --data "$connector" "$api/connectors"
echo

bold "write workload on PostgreSQL for ${seconds}s (inserts, updates, deletes)"
(
  end=$((SECONDS + seconds))
  i=0
  while ((SECONDS < end)); do
    i=$((i + 1))
    pg -d demo -c "BEGIN;
      INSERT INTO shop.orders (customer_id, amount, status)
        SELECT 1 + (random() * 999)::int, round((random() * 1000)::numeric, 2), 'new' FROM generate_series(1, 50);
      UPDATE shop.orders SET status = 'paid', amount = amount + 1 WHERE id % 97 = $((i % 97));
      DELETE FROM shop.orders WHERE id IN (SELECT id FROM shop.orders WHERE status = 'paid' ORDER BY id LIMIT 5);
      UPDATE shop.customers SET vip = NOT vip WHERE id = $((1 + i % 1000));
      COMMIT;" >/dev/null
    sleep 0.2
  done
) &
workload_pid=$!

metric() {  # metric NAME: the connector's value from GET /metrics (summed over labels)
  curl -fsS "$api/metrics" | awk -v m="$1" -v c='connector="demo-pg-to-mariadb"' \
    'index($0, m) == 1 && index($0, c) > 0 { s += $NF } END { printf "%.0f", s }'
}
show_progress() {
  local status state pct events
  status=$(curl -fsS "$api/connectors/demo-pg-to-mariadb/status")
  state=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["connector"]["state"])' <<<"$status")
  pct=$(python3 -c 'import json,sys; p=json.load(sys.stdin)["snapshot"]["percent"]; print("?" if p is None else p)' <<<"$status")
  events=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["events_written"])' <<<"$status")
  printf '  state %-8s  snapshot %5s%%  events written %8s  lag %6s ms  queue %6s events\n' \
    "$state" "$pct" "$events" "$(metric sluice_lag_ms)" "$(metric sluice_queue_events)"
  if [[ $state == FAILED ]]; then
    echo "$status" >&2
    tail -n 30 "$work/sluice.log" >&2
    exit 1
  fi
}

bold "live progress and lag (GET /connectors/demo-pg-to-mariadb/status, GET /metrics)"
while kill -0 "$workload_pid" 2>/dev/null; do
  show_progress
  sleep 1
done
wait "$workload_pid"
workload_pid=""

checksum_pg() {
  pg -d demo -At -c "SELECT count(*) || ' ' || coalesce(md5(string_agg(
      id || '|' || customer_id || '|' || amount || '|' || status || '|' ||
      to_char(placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), ',' ORDER BY id)), '')
    FROM shop.orders"
}
checksum_my() {
  my -N -B demo_copy -e "SET SESSION group_concat_max_len = 1073741824, time_zone = '+00:00';
    SELECT CONCAT(COUNT(*), ' ', COALESCE(MD5(GROUP_CONCAT(CONCAT_WS('|', id, customer_id, amount,
      status, DATE_FORMAT(placed_at, '%Y-%m-%d %H:%i:%s')) ORDER BY id SEPARATOR ',')), ''))
    FROM orders" 2>/dev/null || echo "missing"
}

bold "waiting for the target to catch up, then comparing (count + checksum)"
source_sum=$(checksum_pg)
for _ in $(seq 1 120); do
  target_sum=$(checksum_my)
  [[ $target_sum == "$source_sum" ]] && break
  show_progress
  sleep 1
done
customers_pg=$(pg -d demo -At -c "SELECT count(*) || ' ' || sum(id) || ' ' || sum(vip::int) FROM shop.customers")
customers_my=$(my -N -B demo_copy -e "SELECT CONCAT(COUNT(*), ' ', SUM(id), ' ', SUM(vip)) FROM customers" 2>/dev/null || echo missing)
echo "  shop.orders     source: $source_sum"
echo "                  target: $target_sum"
echo "  shop.customers  source: $customers_pg   target: $customers_my"
if [[ $target_sum != "$source_sum" || $customers_pg != "$customers_my" ]]; then
  echo "demo: FAILED: the target differs from the source (log: $work/sluice.log)" >&2
  tail -n 30 "$work/sluice.log" >&2
  exit 1
fi
printf '\n\033[1;32mthe MariaDB target equals the PostgreSQL source\033[0m\n'

verify_job() {  # verify_job BODY: POST a verification, wait for it, print and return its result
  local started id job state
  started=$(curl -fsS -X POST -H 'Content-Type: application/json' --data "$1" \
    "$api/connectors/demo-pg-to-mariadb/verify")
  id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$started")
  for _ in $(seq 1 600); do
    job=$(curl -fsS "$api/connectors/demo-pg-to-mariadb/verify/$id")
    state=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' <<<"$job")
    [[ $state != running ]] && break
    sleep 0.2
  done
  python3 - "$job" <<'PY'
import json, sys
job = json.loads(sys.argv[1])
for t in job["tables"]:
    print(f'  {t["table"]} -> {t["target"]}: {"equal" if t.get("equal") else "DIFFERENT"}'
          f' ({t.get("source_rows")} rows, {t.get("rows_compared")} compared, {t.get("repaired", 0)} repaired)')
    for d in t.get("repairs", []):
        print(f'    repaired {d["kind"]}: {d["key"]}')
    for d in t.get("diffs", []):
        print(f'    {d["kind"]}: {d["key"]} {",".join(d.get("columns", []))}')
if job.get("error"):
    print("  error:", job["error"])
PY
  python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin).get("equal") else 1)' <<<"$job"
}

bold "sluice verification: POST /connectors/demo-pg-to-mariadb/verify (checksum per key range)"
verify_job '{"rechecks": 3}' || { echo "demo: FAILED: verification found differences" >&2; exit 1; }

bold "damaging the target with the mariadb client (one row deleted, one amount changed)"
my demo_copy -e "SET @lo = (SELECT MIN(id) FROM orders), @hi = (SELECT MAX(id) FROM orders);
  DELETE FROM orders WHERE id = @hi; UPDATE orders SET amount = amount + 0.01 WHERE id = @lo"
verify_job '{}' && { echo "demo: FAILED: verification missed the damage" >&2; exit 1; }

bold "one call repairs it: POST …/verify {\"repair\": true}"
verify_job '{"repair": true}' || { echo "demo: FAILED: the repair left differences" >&2; exit 1; }
printf '\n\033[1;32msluice verify: the target equals the source\033[0m\n'

bold "explore (while the demo keeps running)"
cat <<EOF2
  curl -s $api/connectors?expand=status | python3 -m json.tool
  curl -s $api/connectors/demo-pg-to-mariadb/config          # secrets redacted
  curl -s -X PUT $api/connectors/demo-pg-to-mariadb/pause
  curl -s -X PUT $api/connectors/demo-pg-to-mariadb/resume
  curl -s $api/connectors/demo-pg-to-mariadb/offsets
  curl -s $api/metrics | grep demo-pg-to-mariadb
  curl -s -X POST -H 'Content-Type: application/json' $api/connectors/demo-pg-to-mariadb/verify -d '{}'
  curl -s -X POST -H 'Content-Type: application/json' $api/syncs \\
       -d '{"name":"copy","config":{...same keys..., "sink.url":"mysql://.../other_db"}}'
  psql -h $SLUICE_TEST_PG_HOST -p $SLUICE_TEST_PG_PORT -U $SLUICE_TEST_PG_USER demo
  mariadb -h $SLUICE_TEST_MYSQL_HOST -P $SLUICE_TEST_MYSQL_PORT -u $SLUICE_TEST_MYSQL_USER demo_copy
EOF2
keep=${DEMO_KEEP:-${SLUICE_DEMO_KEEP:-}}
if [[ -z $keep ]]; then
  keep=0
  [[ -t 0 ]] && keep=1  # nobody at a terminal (CI, a pipe): exit as before
fi
printf '\n\033[1mweb console: %s/ui/\033[0m\n' "$api"
if [[ $keep == 1 ]]; then
  echo "servers and sluice keep running; press Ctrl-C to stop and clean up"
  while kill -0 "$serve_pid" 2>/dev/null; do sleep 1; done
fi
