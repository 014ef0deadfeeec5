#!/usr/bin/env bash
# compare_twin.sh: the "compiled in but unused costs nothing" checks of docs/benchmarks.md.
#
# Runs ring and pingpong in keel-bench and in one of its twins, built from the same sources with
# a feature compiled out, alternately, REPS times each (interleaved repetitions: full, twin,
# full, twin...), then prints per benchmark the median ns per item (hop or round trip) and the
# median p50 where there is one, for both builds, and the ratio full / twin. Floor: ratio
# <= 1.05. Needs python3 (reads the JSON output).
#
#   bench/compare_twin.sh nohooks [build-dir]   hook table compiled out (KEEL_NO_HOOKS)
#   bench/compare_twin.sh wsonly [build-dir]    deterministic executor compiled out
#                                               (KEEL_BENCH_WS_ONLY)
#   REPS=10 KEEL_BENCH_LOCK=/tmp/keel-build.lock (the defaults; KEEL_BENCH_LOCK= runs unlocked)
set -euo pipefail

twin=${1:?usage: compare_twin.sh nohooks|wsonly [build-dir]}
case $twin in nohooks | wsonly) ;; *) echo "unknown twin $twin (nohooks or wsonly)" >&2; exit 2 ;; esac
build=${2:-build-bench}
reps=${REPS:-10}
lock=${KEEL_BENCH_LOCK-/tmp/keel-build.lock}
filter='^(ring/keel|pingpong/default|pingpong/pinned)/'
with="$build/bench/keel-bench"
without="$build/bench/keel-bench-$twin"
for exe in "$with" "$without"; do
  [[ -x $exe ]] || { echo "missing $exe: build keel-bench and keel-bench-$twin" >&2; exit 2; }
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() {  # run <exe> <json>
  local cmd=("$1" --benchmark_filter="$filter" --benchmark_out="$2" --benchmark_out_format=json)
  if [[ -n $lock ]]; then
    flock "$lock" "${cmd[@]}" >/dev/null 2>&1
  else
    "${cmd[@]}" >/dev/null 2>&1
  fi
}

for ((i = 1; i <= reps; i++)); do
  run "$with" "$out/with.$i.json"
  run "$without" "$out/without.$i.json"
  echo "repetition $i/$reps done" >&2
done

python3 - "$out" "$twin" <<'PY'
import glob, json, os, statistics, sys

out, twin = sys.argv[1], sys.argv[2]
vals = {}  # (build, benchmark, metric) -> [values]
for build in ("with", "without"):
    for path in sorted(glob.glob(os.path.join(out, build + ".*.json"))):
        for b in json.load(open(path))["benchmarks"]:
            name = b["name"].split("/iterations:")[0]
            for metric in ("ns_per_item", "p50_ns"):
                if metric in b:
                    vals.setdefault((build, name, metric), []).append(b[metric])
print(f"{'benchmark':<18} {'metric':<12} {'full':>10} {twin:>10} {'ratio':>7}  floor <= 1.05")
for (build, name, metric) in sorted(k for k in vals if k[0] == "with"):
    other = vals.get(("without", name, metric))
    if not other:
        continue
    w = statistics.median(vals[(build, name, metric)])
    o = statistics.median(other)
    r = w / o if o else float("nan")
    print(f"{name:<18} {metric:<12} {w:>10.1f} {o:>10.1f} {r:>7.3f}  {'pass' if r <= 1.05 else 'MISS'}"
          f"   (n={len(vals[(build, name, metric)])}+{len(other)})")
PY
