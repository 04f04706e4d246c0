#!/usr/bin/env bash
# The body of `make test` (after `make deps`):
#   1. builds build/ (everything but the unit tests, which run only in build-asan/) and
#      build-asan/ (unit tests under ASan+UBSan),
#   2. runs the unit tests (label "unit") in build-asan/, then the libFuzzer targets in
#      build-fuzz/ (clang, ASan+UBSan) for SLUICE_FUZZ_SECONDS (30) each (tests/fuzz/run_fuzzers.sh),
#   3. starts SLUICE_ITEST_JOBS sets of throwaway servers, each in a fresh temporary directory
#      (up.sh),
#   4. runs the integration tests (label "integration") in build/, SLUICE_ITEST_JOBS at a time;
#      each suite holds one set of servers for itself (ctest resource groups, with_servers.sh),
#   5. stops the servers whatever happens (EXIT/INT/TERM trap), and
#   6. prints both ctest summary lines; exits non-zero if anything failed.
#
# Environment knobs: SLUICE_BUILD_DIR (build), SLUICE_ASAN_BUILD_DIR (build-asan),
# SLUICE_FUZZ_BUILD_DIR (build-fuzz), SLUICE_FUZZ_SECONDS (30 per target),
# SLUICE_JOBS (nproc), SLUICE_ITEST_JOBS (2: suites in parallel, each on its own set of servers;
# most of a suite's time is spent waiting on servers and timeouts, so two fit on two cores),
# SLUICE_KEEP_SERVERS=1 keeps the servers' directories (logs).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=integration/servers/lib.sh
source "$here/lib.sh"
cd "$repo"

build_dir=${SLUICE_BUILD_DIR:-build}
asan_dir=${SLUICE_ASAN_BUILD_DIR:-build-asan}
jobs=${SLUICE_JOBS:-$(nproc)}
itest_jobs=${SLUICE_ITEST_JOBS:-2}
build_type=${CMAKE_BUILD_TYPE:-RelWithDebInfo}
servers_dirs=()
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
[[ $asan_dir == /* ]] || asan_dir=$repo/$asan_dir
logs_dir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-test-logs.XXXXXX")

section() { printf '\n==== %s ====\n' "$*"; }
seconds_since() { echo $(($(date +%s) - $1)); }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local dir
  for dir in "${servers_dirs[@]}"; do
    "$here/down.sh" "$dir" || true
    if ((status == 0)) && [[ ${SLUICE_KEEP_SERVERS:-0} != 1 ]]; then
      rm -rf "$dir"
    else
      echo "[test] servers' data and logs kept in $dir"
    fi
  done
  rm -rf "$logs_dir"
  exit "$status"
}
trap cleanup EXIT
trap 'echo "[test] interrupted" >&2; exit 130' INT
trap 'echo "[test] terminated" >&2; exit 143' TERM

# ctest's "N% tests passed, ..." line from a saved log.
summary_line() {
  grep -E 'tests passed|No tests were found' "$1" | tail -n 1 || echo "(ctest printed no summary)"
}

# --- build ----------------------------------------------------------------------------------
section "build $build_dir/ ($build_type, without the unit tests)"
start=$(date +%s)
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type"
# The unit tests run in the sanitised build only: compiling them here too cost about 5 minutes
# of a 2-core CI run. sluice_integration is sluice, the broker, every suite and benchmark.
cmake --build "$build_dir" -j "$jobs" --target sluice_integration
echo "[test] $build_dir/ built in $(seconds_since "$start")s"

section "build $asan_dir/ (unit tests with -DSLUICE_SANITIZE=ON)"
start=$(date +%s)
cmake -S . -B "$asan_dir" -DCMAKE_BUILD_TYPE="$build_type" -DSLUICE_SANITIZE=ON \
  -DSLUICE_BUILD_INTEGRATION=OFF
# One target for every unit test: one make invocation builds them in parallel (naming each
# test as a target made the Makefile generator build them one after another).
cmake --build "$asan_dir" -j "$jobs" --target sluice_unit_tests
echo "[test] $asan_dir/ built in $(seconds_since "$start")s"

# --- unit tests -----------------------------------------------------------------------------
section "unit tests ($asan_dir/, label unit)"
unit_status=0
ctest --test-dir "$asan_dir" --output-on-failure --no-tests=error -L unit -j "$jobs" 2>&1 |
  tee "$logs_dir/unit.log" || unit_status=$?

# --- fuzz -----------------------------------------------------------------------------------
fuzz_dir=${SLUICE_FUZZ_BUILD_DIR:-build-fuzz}
fuzz_seconds=${SLUICE_FUZZ_SECONDS:-30}
section "fuzz ($fuzz_dir/, ${fuzz_seconds} s per target)"
# On a temporary copy of tests/fuzz/corpus: CI never writes new inputs into the repository.
fuzz_status=0
tests/fuzz/run_fuzzers.sh --seconds "$fuzz_seconds" --jobs "$jobs" "$fuzz_dir" 2>&1 |
  tee "$logs_dir/fuzz.log" || fuzz_status=$?

# --- servers --------------------------------------------------------------------------------
section "servers ($itest_jobs set(s))"
[[ $itest_jobs =~ ^[1-9][0-9]*$ ]] || { echo "[test] SLUICE_ITEST_JOBS='$itest_jobs' is not a positive number" >&2; exit 2; }
resources='{"version": {"major": 1, "minor": 0}, "local": [{"servers": ['
for ((set_id = 0; set_id < itest_jobs; set_id++)); do
  dir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-servers.XXXXXX")
  servers_dirs+=("$dir")
  "$here/up.sh" "$dir" "$build_dir/integration/broker/sluice_mock_broker"
  ((set_id == 0)) || resources+=', '
  resources+="{\"id\": \"$set_id\", \"slots\": 1}"
done
resources+=']}]}'
printf '%s\n' "$resources" >"$logs_dir/resources.json"
# The first set is also the plain environment (a suite run outside ctest's resource allocation);
# with_servers.sh picks each suite's own set from SLUICE_TEST_SERVER_SETS.
set -a
# shellcheck source=/dev/null
source "${servers_dirs[0]}/servers.env"
set +a
SLUICE_TEST_SERVER_SETS=$(IFS=:; echo "${servers_dirs[*]}")
export SLUICE_TEST_SERVER_SETS

# --- integration tests ----------------------------------------------------------------------
section "integration tests ($build_dir/, label integration, $itest_jobs at a time)"
start=$(date +%s)
integration_status=0
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -L integration -j "$itest_jobs" \
  --resource-spec-file "$logs_dir/resources.json" 2>&1 |
  tee "$logs_dir/integration.log" || integration_status=$?
echo "[test] integration tests ran in $(seconds_since "$start")s"

section "summary"
printf 'unit        (%s): %s\n' "$asan_dir" "$(summary_line "$logs_dir/unit.log")"
printf 'integration (%s): %s\n' "$build_dir" "$(summary_line "$logs_dir/integration.log")"
printf 'fuzz        (%s): %s\n' "$fuzz_dir" \
  "$(grep -E '^fuzz: ' "$logs_dir/fuzz.log" | tail -n 1 || echo "(the fuzz run printed no summary)")"
if ((unit_status != 0 || integration_status != 0 || fuzz_status != 0)); then
  echo "[test] FAILED"
  exit 1
fi
echo "[test] all tests passed"
