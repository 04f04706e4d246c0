#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, -DSLUICE_FUZZ=ON) in their own build directory
# and runs each for a fixed time on a copy of its corpus in tests/fuzz/corpus/<target>/, so that
# runs never write into the repository unless asked to (--merge). Used by `make fuzz` (long runs)
# and by integration/servers/run_tests.sh (`make test`, 30 s per target).
#
# Usage: tests/fuzz/run_fuzzers.sh [--seconds N] [--work DIR] [--jobs N] [--merge] [BUILD_DIR]
#   --seconds N  libFuzzer -max_total_time per target (default 30)
#   --work DIR   where the corpus copies, logs and crash inputs go (default: a fresh temporary
#                directory, removed after a clean run); an existing DIR keeps what earlier runs
#                found, so repeated `make fuzz` runs build on each other
#   --merge      afterwards, add the inputs that cover new edges to tests/fuzz/corpus/
#                (libFuzzer -set_cover_merge=1 -use_counters=0: a minimal set); review, commit them
#   BUILD_DIR    default build-fuzz
#
# Prints per target the inputs executed (libFuzzer's stat::number_of_executed_units) and a closing
# summary line; exits non-zero when any target crashed, leaked, timed out (-timeout=10 per input)
# or went over -rss_limit_mb=2048, after printing the report and the saved input.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
seconds=30
work=
jobs=$(nproc)
merge=0
build_dir=build-fuzz
while (($#)); do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --merge) merge=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "run_fuzzers.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) build_dir=$1; shift ;;
  esac
done
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
targets=(fuzz_pgoutput fuzz_pg_binary fuzz_binlog fuzz_kafka_envelope fuzz_config fuzz_value_text)

for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "run_fuzzers.sh: $tool not found; run make deps (Debian clang, libclang-rt-14-dev)" >&2; exit 1; }
done
start=$(date +%s)
CC=clang CXX=clang++ cmake -S "$repo" -B "$build_dir" -DSLUICE_FUZZ=ON \
  -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build "$build_dir" -j "$jobs" --target sluice_fuzz_targets
echo "[fuzz] $build_dir/ built in $(($(date +%s) - start))s"

temporary=0
if [[ -z $work ]]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz.XXXXXX")
  temporary=1
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)

failed=()
total=0
summary=()
for t in "${targets[@]}"; do
  corpus=$work/corpus/$t
  mkdir -p "$corpus" "$work/artifacts"
  cp -r "$here/corpus/$t/." "$corpus/"  # a copy: inputs found are never written into the repository
  dict=()
  [[ -f $here/$t.dict ]] && dict=(-dict="$here/$t.dict")
  log=$work/$t.log
  rc=0
  # cd: libFuzzer writes fuzz-*.log and crash files relative to the working directory.
  (cd "$work" && "$build_dir/tests/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
     -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" "${dict[@]}" "$corpus") >"$log" 2>&1 || rc=$?
  units=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  units=${units:-0}
  total=$((total + units))
  files=$(find "$corpus" -type f | wc -l)
  if ((rc == 0)); then
    line=$(printf '%-20s %10s inputs executed in %ss, corpus %s files: ok' "$t" "$units" "$seconds" "$files")
  else
    line=$(printf '%-20s %10s inputs executed, exit %s: FAILED' "$t" "$units" "$rc")
    failed+=("$t")
    echo "---- $t failed; libFuzzer's report:"
    grep -vE '^#[0-9]+|^INFO:|^MERGE' "$log" | tail -n 60
    ls "$work/artifacts/$t-"* 2>/dev/null | sed 's/^/[fuzz] input saved: /' || true
  fi
  echo "$line"
  summary+=("$line")
  if ((merge && rc == 0)); then
    (cd "$work" && "$build_dir/tests/fuzz/$t" -set_cover_merge=1 -use_counters=0 -rss_limit_mb=2048 -timeout=10 \
       "$here/corpus/$t" "$corpus") \
      >"$work/$t.merge.log" 2>&1
    echo "[fuzz] $t: tests/fuzz/corpus/$t now has $(find "$here/corpus/$t" -type f | wc -l) files"
  fi
done

echo
echo "==== fuzz summary ===="
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz: ${#targets[@]} targets, $total inputs executed, ${#failed[@]} FAILED (${failed[*]}); logs and inputs in $work"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, $total inputs executed, ${seconds}s each, no crash"
((temporary)) && rm -rf "$work"
exit 0
