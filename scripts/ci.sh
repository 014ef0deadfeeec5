#!/usr/bin/env bash
# The whole keel test suite, as CI runs it (.ci/run runs README.md's second command, which is
# this script). Phases run in order and the first failure stops the run. Each phase prints its
# wall time as "== phase <name>: <seconds> s"; the end prints the budgets and the total.
# Budgets and how to reproduce one phase: docs/ci.md.
#
#   scripts/ci.sh               every phase: setup checks gcc clang asan tsan
#   scripts/ci.sh --quick       the gcc phase only (build, tests, bench smoke, install test)
#   scripts/ci.sh PHASE...      the named phases only, in the order given
#
# Environment:
#   KEEL_BUILD_LOCK=FILE   run every build and ctest under `flock FILE` (a machine shared with
#                          other builds); phase times then include the wait for the lock
#   KEEL_CI_JOBS=N         build and test parallelism (default 2)
#   KEEL_CI_TEST_TIMEOUT=S default per-test timeout in seconds (default 300): a hang fails, not stalls
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

jobs=${KEEL_CI_JOBS:-2}
test_timeout=${KEEL_CI_TEST_TIMEOUT:-300}
all_phases=(setup checks gcc clang asan tsan)

# Budgets in seconds per group of phases (docs/ci.md). The plain clang build shares the GCC
# budget; the whole run must stay under 45 minutes on 2 cores.
declare -A group_of=([setup]=setup [checks]=setup [gcc]=build [clang]=build [asan]=asan [tsan]=tsan)
declare -A budget=([setup]=300 [build]=1200 [asan]=780 [tsan]=720)
total_budget=2700
declare -A group_time=()

# ---- helpers -----------------------------------------------------------------------------------
locked() {
  if [ -n "${KEEL_BUILD_LOCK:-}" ]; then
    flock "$KEEL_BUILD_LOCK" "$@"
  else
    "$@"
  fi
}

now_ds() {  # wall clock in tenths of a second
  local t=${EPOCHREALTIME/[.,]/}
  echo $((t / 100000))
}
fmt_ds() { printf '%d.%d' $(($1 / 10)) $(($1 % 10)); }

# configure NAME COMPILER CMAKE_ARGS...: configures build-ci/NAME with Ninja.
configure() {
  local name=$1 cxx=$2
  shift 2
  locked cmake -S . -B "build-ci/$name" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" "$@"
}

build() { locked cmake --build "build-ci/$1" -j "$jobs"; }

# run_tests NAME [ENV=VALUE...]: every test but the benchmark smoke tests, then those (labelled
# bench-smoke by bench/) on their own, one at a time, when the build has any. The ENV=VALUE
# pairs are set for ctest and so for every test.
run_tests() {
  local dir=build-ci/$1
  shift
  local wrapper=()
  # clang 14's sanitizer runtimes fail to map their shadow memory under more than 28 bits of
  # mmap randomness (some newer kernels default to 32): run sanitized tests without ASLR there.
  local rnd_bits
  rnd_bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)
  if grep -qs '^KEEL_SANITIZE:[A-Z]*=.' "$dir/CMakeCache.txt" && [ "$rnd_bits" -gt 28 ]; then
    wrapper=(setarch "$(uname -m)" -R)
  fi
  # Asked first: `ctest -N` rewrites Testing/Temporary/LastTest.log, which should keep the log of
  # the run that failed.
  local smoke_list has_smoke=0
  smoke_list=$(ctest --test-dir "$dir" -N -L bench-smoke)
  grep -q 'Total Tests: [1-9]' <<<"$smoke_list" && has_smoke=1
  locked env "$@" "${wrapper[@]}" ctest --test-dir "$dir" --output-on-failure -j "$jobs" \
    --timeout "$test_timeout" --label-exclude bench-smoke
  if [ "$has_smoke" -eq 1 ]; then
    echo "-- benchmark smoke tests"
    locked env "$@" "${wrapper[@]}" ctest --test-dir "$dir" --output-on-failure \
      --timeout "$test_timeout" -L bench-smoke
  fi
}

# ---- phases ------------------------------------------------------------------------------------
phase_setup() { scripts/setup.sh; }

phase_checks() {
  scripts/check_format.sh
  scripts/check_sources.sh
}

phase_gcc() {
  configure gcc g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEEL_WERROR=ON
  build gcc
  run_tests gcc
  echo "-- install test"
  locked scripts/install_test.sh build-ci/gcc
}

phase_clang() {
  configure clang clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEEL_WERROR=ON
  build clang
  run_tests clang
}

# Sanitizer builds use the malloc allocator (ASan/LSan cannot see mimalloc heaps, TSan cannot see
# its atomics), skip bench/, and scale stress tests down.
phase_asan() {
  configure asan clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEEL_SANITIZE=address \
    -DKEEL_ALLOCATOR=malloc -DKEEL_BUILD_BENCHMARKS=OFF
  build asan
  run_tests asan KEEL_STRESS_SCALE=0.25 \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
}

phase_tsan() {
  configure tsan clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEEL_SANITIZE=thread \
    -DKEEL_ALLOCATOR=malloc -DKEEL_BUILD_BENCHMARKS=OFF
  build tsan
  run_tests tsan KEEL_STRESS_SCALE=0.25 \
    "TSAN_OPTIONS=halt_on_error=1 second_deadlock_stack=1 suppressions=$root/tests/tsan.supp"
}

# ---- driver ------------------------------------------------------------------------------------
phases=()
if [ $# -eq 0 ]; then
  phases=("${all_phases[@]}")
elif [ "$1" = --quick ] && [ $# -eq 1 ]; then
  phases=(gcc)
else
  for p in "$@"; do
    if [ -z "${group_of[$p]:-}" ]; then
      echo "usage: scripts/ci.sh [--quick | PHASE...]   phases: ${all_phases[*]}" >&2
      exit 2
    fi
    phases+=("$p")
  done
fi

current=""
run_start=$(now_ds)
phase_start=$run_start
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -n "$current" ]; then
    echo "== phase $current: FAILED after $(fmt_ds $(($(now_ds) - phase_start))) s (exit $rc)"
    echo "== total: $(fmt_ds $(($(now_ds) - run_start))) s, FAILED in phase $current"
  fi
}
trap on_exit EXIT

for p in "${phases[@]}"; do
  current=$p
  phase_start=$(now_ds)
  echo "== phase $p: start"
  "phase_$p"
  elapsed=$(($(now_ds) - phase_start))
  group=${group_of[$p]}
  group_time[$group]=$((${group_time[$group]:-0} + elapsed))
  echo "== phase $p: $(fmt_ds "$elapsed") s"
done
current=""

total=$(($(now_ds) - run_start))
echo "== budgets (docs/ci.md)"
for group in setup build asan tsan; do
  [ -n "${group_time[$group]:-}" ] || continue
  t=${group_time[$group]}
  mark=""
  [ "$t" -le $((budget[$group] * 10)) ] || mark="  OVER BUDGET"
  printf '   %-6s %8s s of %4d s%s\n' "$group" "$(fmt_ds "$t")" "${budget[$group]}" "$mark"
done
mark=""
[ "$total" -le $((total_budget * 10)) ] || mark=" OVER BUDGET"
echo "== total: $(fmt_ds "$total") s (budget $total_budget s)$mark"
