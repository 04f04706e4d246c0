# shellcheck shell=bash
# Helpers shared by up.sh, down.sh and run_tests.sh. Source it; it defines functions only.

sluice_log() { printf '[servers] %s\n' "$*" >&2; }

sluice_die() {
  printf '[servers] error: %s\n' "$*" >&2
  exit 1
}

# Prints the last lines of a log file, indented, for error messages.
sluice_log_tail() {
  local file=$1 lines=${2:-30}
  if [[ -s $file ]]; then
    printf '[servers] --- last %s lines of %s ---\n' "$lines" "$file" >&2
    tail -n "$lines" "$file" | sed 's/^/    /' >&2
    printf '[servers] ---\n' >&2
  else
    printf '[servers] (%s is empty or missing)\n' "$file" >&2
  fi
}

# Prints a TCP port on 127.0.0.1 that nobody listens on now. Another process may
# take it before we bind: callers retry with a new port when the server cannot bind.
sluice_free_port() {
  local used port attempt
  used=$(ss -ltnH 2>/dev/null | awk '{print $4}' | sed -E 's/.*:([0-9]+)$/\1/' | sort -u)
  for attempt in $(seq 1 200); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if ! grep -qx "$port" <<<"$used"; then
      echo "$port"
      return 0
    fi
    : "$attempt"
  done
  sluice_die "no free TCP port found on 127.0.0.1"
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
sluice_port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# True when PID is alive and its command line mentions NEEDLE (guards against reused pids).
sluice_pid_matches() {
  local pid=$1 needle=$2
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$needle"
}

# Sends SIGTERM, waits up to TIMEOUT seconds, then SIGKILL. Tolerates a dead process.
sluice_stop_pid() {
  local pid=$1 timeout=${2:-20} i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < timeout * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  sluice_log "pid $pid did not stop after ${timeout}s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
}

# Bin directory of PostgreSQL 15 (initdb and pg_ctl are not on PATH on Debian).
sluice_pg_bindir() {
  if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
    echo /usr/lib/postgresql/15/bin
  elif command -v pg_config >/dev/null && [[ -x "$(pg_config --bindir)/initdb" ]]; then
    pg_config --bindir
  else
    sluice_die "initdb of PostgreSQL 15 not found: run 'make deps' (package postgresql-15)"
  fi
}
