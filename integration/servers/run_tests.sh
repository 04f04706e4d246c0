#!/usr/bin/env bash
# The body of `make test` (after `make deps`):
#   1. builds build/ (everything) and build-asan/ (unit tests under ASan+UBSan),
#   2. runs the unit tests (label "unit") in build-asan/, then the libFuzzer targets in
#      build-fuzz/ (clang, ASan+UBSan) for SLUICE_FUZZ_SECONDS (30) each (tests/fuzz/run_fuzzers.sh),
#   3. starts throwaway servers in a fresh temporary directory (up.sh),
#   4. runs the integration tests (label "integration") in build/ with the servers' variables,
#   5. stops the servers whatever happens (EXIT/INT/TERM trap), and
#   6. prints both ctest summary lines; exits non-zero if anything failed.
#
# Environment knobs: SLUICE_BUILD_DIR (build), SLUICE_ASAN_BUILD_DIR (build-asan),
# SLUICE_FUZZ_BUILD_DIR (build-fuzz), SLUICE_FUZZ_SECONDS (30 per target),
# SLUICE_JOBS (nproc), SLUICE_ITEST_JOBS (1: suites share the servers and slot creation waits
# for every open transaction), SLUICE_KEEP_SERVERS=1 keeps the servers' directory (logs).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=integration/servers/lib.sh
source "$here/lib.sh"
cd "$repo"

build_dir=${SLUICE_BUILD_DIR:-build}
asan_dir=${SLUICE_ASAN_BUILD_DIR:-build-asan}
jobs=${SLUICE_JOBS:-$(nproc)}
itest_jobs=${SLUICE_ITEST_JOBS:-1}
build_type=${CMAKE_BUILD_TYPE:-RelWithDebInfo}
servers_dir=
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
[[ $asan_dir == /* ]] || asan_dir=$repo/$asan_dir
logs_dir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-test-logs.XXXXXX")

section() { printf '\n==== %s ====\n' "$*"; }
seconds_since() { echo $(($(date +%s) - $1)); }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n $servers_dir ]]; then
    "$here/down.sh" "$servers_dir" || true
    if ((status == 0)) && [[ ${SLUICE_KEEP_SERVERS:-0} != 1 ]]; then
      rm -rf "$servers_dir"
    else
      echo "[test] servers' data and logs kept in $servers_dir"
    fi
  fi
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
section "build $build_dir/ ($build_type)"
start=$(date +%s)
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type"
cmake --build "$build_dir" -j "$jobs"
echo "[test] $build_dir/ built in $(seconds_since "$start")s"

section "build $asan_dir/ (unit tests with -DSLUICE_SANITIZE=ON)"
start=$(date +%s)
cmake -S . -B "$asan_dir" -DCMAKE_BUILD_TYPE="$build_type" -DSLUICE_SANITIZE=ON \
  -DSLUICE_BUILD_INTEGRATION=OFF
# Build only what the unit tests need when every unit test is named after its target (as
# sluice_add_unit_test does); otherwise build everything.
mapfile -t unit_tests < <(ctest --test-dir "$asan_dir" -N -L unit | sed -nE 's/^ *Test +#[0-9]+: +([^ ]+).*$/\1/p')
mapfile -t targets < <(cmake --build "$asan_dir" --target help | sed -nE 's/^\.\.\. ([^ ]+).*$/\1/p')
only_tests=1
((${#unit_tests[@]} > 0)) || only_tests=0
for test in "${unit_tests[@]}"; do
  printf '%s\n' "${targets[@]}" | grep -qxF -- "$test" || only_tests=0
done
if ((only_tests)); then
  cmake --build "$asan_dir" -j "$jobs" --target "${unit_tests[@]}"
else
  cmake --build "$asan_dir" -j "$jobs"
fi
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
section "servers"
servers_dir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-servers.XXXXXX")
"$here/up.sh" "$servers_dir" "$build_dir/integration/broker/sluice_mock_broker"
set -a
# shellcheck source=/dev/null
source "$servers_dir/servers.env"
set +a

# --- integration tests ----------------------------------------------------------------------
section "integration tests ($build_dir/, label integration)"
integration_status=0
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -L integration -j "$itest_jobs" 2>&1 |
  tee "$logs_dir/integration.log" || integration_status=$?

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
