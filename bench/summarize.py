#!/usr/bin/env python3
"""Summarises a keel-bench JSON result (--benchmark_out=<file> --benchmark_out_format=json, run
with --benchmark_repetitions and --benchmark_report_aggregates_only) as the tables of
docs/benchmarks.md: median and standard deviation over the repetitions of each reported metric,
then each keel workload against its same-run reference with the ratio and the floor or goal.

    bench/summarize.py results.json [more.json ...]
"""
import json
import sys

# The metrics worth a column, in order: (counter, label, format).
METRICS = [
    ("items_per_second", "items/s", "{:,.0f}"),
    ("ns_per_item", "ns/item", "{:,.1f}"),
    ("p50_ns", "p50 ns", "{:,.0f}"),
    ("p99_ns", "p99 ns", "{:,.0f}"),
    ("p999_ns", "p99.9 ns", "{:,.0f}"),
    ("cross_worker_share", "cross-worker share", "{:.4f}"),
    ("seconds", "s", "{:.3f}"),
    ("peak_rss_delta_mb", "peak RSS delta MB", "{:.1f}"),
    ("bytes_per_actor", "bytes/actor", "{:.1f}"),
    ("cpu_pct_of_core", "% of a core", "{:.3f}"),
    ("wakeups_per_s", "wake-ups/s", "{:.1f}"),
]

# (keel benchmark, reference benchmark or None, metric, limit, kind, lower_is_better)
# kind "ratio": keel/reference must be <= limit (or >= limit when higher is better);
# kind "abs": the keel median itself against the limit;
# kind "diff": keel - reference must be <= limit (in the metric's unit).
CHECKS = [
    ("pingpong/default", None, "p50_ns", 200, "abs", True, "goal"),
    ("pingpong/pinned", "pingpong/reference", "p50_ns", 1.5, "ratio", True, "floor"),
    ("fanin/keel/senders:2", "fanin/reference/senders:2", "items_per_second", 0.8, "ratio", False, "floor"),
    ("fanin/keel/senders:8", "fanin/reference/senders:8", "items_per_second", 0.8, "ratio", False, "floor"),
    ("ring/keel", "ring/reference", "ns_per_item", 1.5, "ratio", True, "floor"),
    ("ring/keel", None, "items_per_second", 20e6, "abs", False, "goal"),
    ("spawn/unnamed", None, "ns_per_item", 300, "abs", True, "goal"),
    ("skynet/keel", None, "seconds", 0.3, "abs", True, "goal"),
    ("idle_memory/keel", None, "bytes_per_actor", 192, "abs", True, "floor"),
    ("idle_cpu/no_timer", None, "cpu_pct_of_core", 1.0, "abs", True, "floor"),
    ("idle_cpu/periodic_1s", None, "cpu_pct_of_core", 1.0, "abs", True, "floor"),
    ("wake_latency/keel/default", "wake_latency/reference/default", "p50_ns", 1.2, "ratio", True, "floor"),
    ("wake_latency/keel/cross_cpu", "wake_latency/reference/cross_cpu", "p50_ns", 1.2, "ratio", True, "floor"),
    ("breaker/check/keel", "breaker/check/reference", "ns_per_item", 3, "ratio", True, "floor"),
    ("breaker/check/keel", None, "ns_per_item", 3, "abs", True, "goal"),
    ("breaker/success/keel", "breaker/fetch_add/reference", "ns_per_item", 4, "ratio", True, "floor"),
    ("breaker/success/keel", None, "ns_per_item", 40, "abs", True, "goal"),
    ("breaker/failure/keel", "breaker/fetch_add/reference", "ns_per_item", 8, "ratio", True, "floor"),
    ("breaker/failure/keel", None, "ns_per_item", 80, "abs", True, "goal"),
    ("detector/update/keel/1", "detector/ewma/reference/1", "ns_per_item", 2, "ratio", True, "floor"),
    ("detector/update/keel/1", None, "ns_per_item", 12, "abs", True, "goal"),
    ("resilient_call/protected", "resilient_call/plain", "p50_ns", 100, "diff", True, "floor"),
    ("resilient_call/quorum/3", "resilient_call/plain", "p50_ns", 3, "ratio", True, "floor"),
    ("resilient_call/quorum/5", "resilient_call/plain", "p50_ns", 3, "ratio", True, "floor"),
]

# Design ceilings (not floors): the same workload written raw with only what the design requires
# (bench/reference/envelope_mailbox.h, ring_ref.h raw_ring_required). Printed as two ratios:
# keel against the ceiling (keel's own overhead), the ceiling against the reference
# (what the design itself costs).
CEILINGS = [
    ("pingpong/pinned", "pingpong/envelope_ceiling", "pingpong/reference", "p50_ns", True),
    ("fanin/keel/senders:2", "fanin/envelope_ceiling/senders:2", "fanin/reference/senders:2",
     "items_per_second", False),
    ("fanin/keel/senders:8", "fanin/envelope_ceiling/senders:8", "fanin/reference/senders:8",
     "items_per_second", False),
    ("ring/keel", "ring/required", "ring/reference", "ns_per_item", True),
]


def load(paths):
    agg = {}  # name -> {aggregate: {metric: value}}
    for path in paths:
        with open(path) as f:
            for b in json.load(f)["benchmarks"]:
                if b.get("run_type") != "aggregate":
                    continue
                name = b["run_name"].split("/iterations:")[0]
                agg.setdefault(name, {})[b["aggregate_name"]] = b
    return agg


def main():
    agg = load(sys.argv[1:])
    print("| benchmark | metric | median | stddev | reps |")
    print("|---|---|---:|---:|---:|")
    for name in sorted(agg):
        med = agg[name].get("median", {})
        sd = agg[name].get("stddev", {})
        for key, label, fmt in METRICS:
            if key in med:
                print(f"| {name} | {label} | {fmt.format(med[key])} | {fmt.format(sd.get(key, 0))} "
                      f"| {med.get('repetitions', '')} |")
    print()
    print("| keel | reference | metric | keel median | reference median | ratio | limit | result |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    for keel, ref, metric, limit, kind, lower, what in CHECKS:
        if keel not in agg or metric not in agg[keel].get("median", {}):
            continue
        k = agg[keel]["median"][metric]
        if kind == "diff":
            if ref not in agg:
                continue
            r = agg[ref]["median"][metric]
            ok = k - r <= limit
            print(f"| {keel} | {ref} | {metric} | {k:,.1f} | {r:,.1f} | +{k - r:,.1f} | "
                  f"<= +{limit} ({what}) | {'pass' if ok else 'MISS'} |")
        elif kind == "ratio":
            if ref not in agg:
                continue
            r = agg[ref]["median"][metric]
            value = k / r if r else float("nan")
            ok = value <= limit if lower else value >= limit
            print(f"| {keel} | {ref} | {metric} | {k:,.1f} | {r:,.1f} | {value:.2f}x | "
                  f"{'<=' if lower else '>='} {limit}x ({what}) | {'pass' if ok else 'MISS'} |")
        else:
            ok = k <= limit if lower else k >= limit
            print(f"| {keel} | - | {metric} | {k:,.3f} | - | - | "
                  f"{'<=' if lower else '>='} {limit:,} ({what}) | {'pass' if ok else 'MISS'} |")

    print()
    print("| keel | design ceiling | metric | keel | ceiling | keel vs ceiling | reference | "
          "ceiling vs reference |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for keel, ceil, ref, metric, lower in CEILINGS:
        if any(n not in agg or metric not in agg[n].get("median", {}) for n in (keel, ceil, ref)):
            continue
        k, c, r = (agg[n]["median"][metric] for n in (keel, ceil, ref))
        # Ratios as costs: > 1 means slower than the other side.
        kc = k / c if lower else c / k
        cr = c / r if lower else r / c
        print(f"| {keel} | {ceil} | {metric} | {k:,.1f} | {c:,.1f} | {kc:.2f}x | {r:,.1f} | "
              f"{cr:.2f}x |")


if __name__ == "__main__":
    main()
