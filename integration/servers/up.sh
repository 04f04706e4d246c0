#!/usr/bin/env bash
# Starts throwaway test servers in DIR: PostgreSQL 15, MariaDB 10.11 and a Kafka-protocol
# broker (librdkafka's mock cluster, built as sluice_mock_broker), each on a free loopback
# port, and writes DIR/servers.env for the integration tests. Several DIRs can run side by
# side. Stop them with down.sh DIR.
#
# usage: up.sh DIR [PATH_TO_sluice_mock_broker]
#   The broker defaults to $SLUICE_MOCK_BROKER, else build/integration/broker/sluice_mock_broker
#   (run `make build` first). SLUICE_TEST_KAFKA_BROKERS=3 starts a three-broker cluster.
#   SLUICE_PG_EXTRA_CONF: lines appended to postgresql.conf (the benchmarks' server settings).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=integration/servers/lib.sh
source "$here/lib.sh"

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 DIR [PATH_TO_sluice_mock_broker]" >&2
  exit 2
fi

mkdir -p "$1"
dir=$(cd "$1" && pwd)
broker=${2:-${SLUICE_MOCK_BROKER:-$repo/build/integration/broker/sluice_mock_broker}}
kafka_brokers=${SLUICE_TEST_KAFKA_BROKERS:-1}
start_timeout_s=${SLUICE_SERVERS_TIMEOUT:-60}

[[ -x $broker ]] || sluice_die "mock broker not found at $broker: build it first ('make build', target sluice_mock_broker)"
for tool in ss psql mariadb-install-db mariadbd mariadb-admin mariadb kcat; do
  command -v "$tool" >/dev/null || sluice_die "$tool not found: run 'make deps'"
done
pg_bin=$(sluice_pg_bindir)

# Unix socket paths are limited to 107 bytes.
if ((${#dir} > 80)); then
  sluice_die "DIR path too long for unix sockets (${#dir} > 80 characters): $dir"
fi

for pidfile in "$dir/pg/data/postmaster.pid" "$dir/mysql/mariadbd.pid" "$dir/kafka/broker.pid"; do
  if [[ -f $pidfile ]] && sluice_pid_matches "$(head -n 1 "$pidfile")" "$dir"; then
    sluice_die "servers already run in $dir: stop them first with $here/down.sh $dir"
  fi
done
rm -rf "$dir/pg" "$dir/mysql" "$dir/kafka" "$dir/servers.env"

# PostgreSQL refuses to run as root; as another user we run everything as ourselves.
pg_owner=$(id -un)
as_pg() {
  if ((EUID == 0)); then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}
if ((EUID == 0)); then
  pg_owner=postgres
  chmod 755 "$dir"
  if ! runuser -u postgres -- test -x "$dir"; then
    sluice_die "user postgres cannot reach $dir: make every parent directory traversable (chmod o+x)"
  fi
fi

start_postgres() {
  local pgdir=$dir/pg port attempt
  mkdir -p "$pgdir"
  chown "$pg_owner" "$pgdir"
  if ! (cd "$pgdir" && as_pg "$pg_bin/initdb" -D "$pgdir/data" -A trust -U postgres \
    -E UTF8 --locale=C --no-sync --no-instructions) >"$pgdir/initdb.log" 2>&1; then
    sluice_log "postgres: initdb failed"
    sluice_log_tail "$pgdir/initdb.log"
    return 1
  fi
  cat >>"$pgdir/data/postgresql.conf" <<EOF

# Sluice integration tests (integration/servers/up.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$pgdir'
wal_level = logical
max_replication_slots = 32
max_wal_senders = 32
max_connections = 200
fsync = off
full_page_writes = off
log_min_messages = warning
log_connections = off
EOF
  # Extra settings, one per line (the benchmarks: shared_buffers, max_wal_size, autovacuum).
  if [[ -n ${SLUICE_PG_EXTRA_CONF:-} ]]; then
    printf '%s\n' "$SLUICE_PG_EXTRA_CONF" >>"$pgdir/data/postgresql.conf"
  fi
  # First match wins: password users must authenticate over TCP; everyone else is trusted.
  local hba=$pgdir/data/pg_hba.conf
  {
    echo "# Sluice integration tests: password-protected users"
    for user in sluice_pw sluice_norepl; do
      echo "host all         $user 127.0.0.1/32 scram-sha-256"
      echo "host replication $user 127.0.0.1/32 scram-sha-256"
    done
    cat "$hba"
  } >"$hba.new"
  mv "$hba.new" "$hba"
  chown "$pg_owner" "$hba"

  for attempt in 1 2 3 4 5; do
    port=$(sluice_free_port)
    : >"$pgdir/postgres.log"
    chown "$pg_owner" "$pgdir/postgres.log"
    if (cd "$pgdir" && as_pg "$pg_bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" \
      -o "-p $port" -w -t "$start_timeout_s" start) >"$pgdir/pg_ctl.log" 2>&1; then
      break
    fi
    if grep -qE 'could not (bind|create listen)|Address already in use' "$pgdir/postgres.log" 2>/dev/null; then
      sluice_log "postgres: port $port was taken, retrying ($attempt)"
      port=
      continue
    fi
    sluice_log "postgres: did not start within ${start_timeout_s}s"
    sluice_log_tail "$pgdir/pg_ctl.log" 10
    sluice_log_tail "$pgdir/postgres.log"
    return 1
  done
  if [[ -z $port ]]; then
    sluice_log "postgres: no free port after 5 attempts"
    sluice_log_tail "$pgdir/postgres.log"
    return 1
  fi
  if ! psql -X -q -h "$pgdir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 >"$pgdir/setup.log" 2>&1 <<'EOF'; then
CREATE ROLE sluice_norepl LOGIN PASSWORD 'secret';
CREATE ROLE sluice_pw LOGIN REPLICATION PASSWORD 'secret';
EOF
    sluice_log "postgres: creating test users failed"
    sluice_log_tail "$pgdir/setup.log"
    return 1
  fi
  echo "$port" >"$pgdir/port"
}

start_mariadb() {
  local mydir=$dir/mysql port attempt pid i sock
  mkdir -p "$mydir/binlog" "$mydir/tmp"
  sock=$mydir/mysqld.sock
  # The bootstrap server of mariadb-install-db has been seen to fail once on a loaded machine
  # (system tables not installed, nothing wrong on the next try): three tries on a clean datadir.
  for attempt in 1 2 3; do
    rm -rf "$mydir/data"
    if mariadb-install-db --no-defaults --user=root --datadir="$mydir/data" \
      --auth-root-authentication-method=normal --skip-test-db >"$mydir/install.log" 2>&1; then
      break
    fi
    if ((attempt == 3)); then
      sluice_log "mariadb: mariadb-install-db failed 3 times"
      sluice_log_tail "$mydir/install.log"
      return 1
    fi
    sluice_log "mariadb: mariadb-install-db failed (try $attempt of 3), retrying"
    cp "$mydir/install.log" "$mydir/install.$attempt.log"
  done
  local user_args=()
  ((EUID == 0)) && user_args=(--user=root)
  for attempt in 1 2 3 4 5; do
    port=$(sluice_free_port)
    : >"$mydir/error.log"
    setsid mariadbd --no-defaults "${user_args[@]}" --datadir="$mydir/data" \
      --socket="$sock" --port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
      --pid-file="$mydir/mariadbd.pid" --log-error="$mydir/error.log" --tmpdir="$mydir/tmp" \
      --log-bin="$mydir/binlog/mysql-bin" --binlog-format=ROW --binlog-row-image=FULL \
      --binlog-row-metadata=FULL --server-id=1 --gtid-strict-mode=1 --local-infile=1 \
      --max-allowed-packet=256M --max-connections=500 --character-set-server=utf8mb4 \
      --collation-server=utf8mb4_general_ci --innodb-flush-log-at-trx-commit=0 \
      --sync-binlog=0 --innodb-buffer-pool-size=256M \
      </dev/null >"$mydir/mariadbd.out" 2>&1 &
    pid=$!
    echo "$pid" >"$mydir/mariadbd.launch.pid"
    for ((i = 0; i < start_timeout_s * 10; i++)); do
      if ! kill -0 "$pid" 2>/dev/null; then
        break
      fi
      if mariadb-admin --no-defaults -S "$sock" -uroot --connect-timeout=1 ping >/dev/null 2>&1 &&
        sluice_port_open "$port"; then
        break
      fi
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null && sluice_port_open "$port"; then
      break
    fi
    if ! kill -0 "$pid" 2>/dev/null &&
      grep -qE "Bind on TCP/IP port|Address already in use|Do you already have another" "$mydir/error.log"; then
      sluice_log "mariadb: port $port was taken, retrying ($attempt)"
      port=
      continue
    fi
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      sluice_log "mariadb: did not accept connections within ${start_timeout_s}s"
    else
      sluice_log "mariadb: mariadbd exited during start-up"
    fi
    sluice_log_tail "$mydir/error.log"
    return 1
  done
  if [[ -z $port ]]; then
    sluice_log "mariadb: no free port after 5 attempts"
    sluice_log_tail "$mydir/error.log"
    return 1
  fi
  if ! mariadb --no-defaults -S "$sock" -uroot >"$mydir/setup.log" 2>&1 <<'EOF'; then
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER 'sluice_pw'@'%' IDENTIFIED BY 'secret';
GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'sluice_pw'@'%';
FLUSH PRIVILEGES;
EOF
    sluice_log "mariadb: creating test users failed"
    sluice_log_tail "$mydir/setup.log"
    return 1
  fi
  echo "$port" >"$mydir/port"
}

start_broker() {
  local kdir=$dir/kafka pid i bootstrap port
  mkdir -p "$kdir"
  setsid "$broker" --brokers "$kafka_brokers" --bootstrap-file "$kdir/bootstrap" \
    --control-socket "$kdir/control.sock" </dev/null >"$kdir/broker.out" 2>"$kdir/broker.log" &
  pid=$!
  echo "$pid" >"$kdir/broker.pid"
  for ((i = 0; i < start_timeout_s * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    if [[ -s $kdir/bootstrap ]]; then
      bootstrap=$(head -n 1 "$kdir/bootstrap")
      port=${bootstrap%%,*}
      port=${port##*:}
      if sluice_port_open "$port"; then
        return 0
      fi
    fi
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    sluice_log "kafka broker: did not accept connections within ${start_timeout_s}s"
  else
    local status=0
    wait "$pid" || status=$?
    sluice_log "kafka broker ($broker) exited during start-up with status $status"
  fi
  sluice_log_tail "$kdir/broker.log"
  return 1
}

started=$(date +%s.%N)
sluice_log "starting PostgreSQL, MariaDB and the Kafka broker in $dir"
start_postgres &
pg_job=$!
start_mariadb &
my_job=$!
start_broker &
kafka_job=$!
failed=0
wait "$pg_job" || failed=1
wait "$my_job" || failed=1
wait "$kafka_job" || failed=1
if ((failed)); then
  sluice_log "start-up failed; stopping what did start"
  "$here/down.sh" "$dir" || true
  exit 1
fi

pg_port=$(cat "$dir/pg/port")
mysql_port=$(cat "$dir/mysql/port")
bootstrap=$(head -n 1 "$dir/kafka/bootstrap")
cat >"$dir/servers.env.tmp" <<EOF
SLUICE_TEST_PG_HOST=127.0.0.1
SLUICE_TEST_PG_PORT=$pg_port
SLUICE_TEST_PG_USER=postgres
SLUICE_TEST_PG_SOCKET_DIR=$dir/pg
SLUICE_TEST_MYSQL_HOST=127.0.0.1
SLUICE_TEST_MYSQL_PORT=$mysql_port
SLUICE_TEST_MYSQL_USER=root
SLUICE_TEST_MYSQL_SOCKET=$dir/mysql/mysqld.sock
SLUICE_TEST_KAFKA_BOOTSTRAP=$bootstrap
SLUICE_TEST_KAFKA_CONTROL=$dir/kafka/control.sock
SLUICE_TEST_SERVERS_DIR=$dir
EOF
mv "$dir/servers.env.tmp" "$dir/servers.env"
elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
sluice_log "up in ${elapsed}s: postgres 127.0.0.1:$pg_port, mariadb 127.0.0.1:$mysql_port, kafka $bootstrap"
sluice_log "environment: $dir/servers.env (stop with $here/down.sh $dir)"
