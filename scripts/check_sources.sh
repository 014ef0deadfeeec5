#!/usr/bin/env bash
# Source rules that the compilers cannot check (docs/ci.md, "Rules"):
#  1. No standalone fences in keel's library code: ThreadSanitizer cannot model
#     std::atomic_thread_fence (nor __atomic_thread_fence / __sync_synchronize), so a fence-based
#     protocol would hide races from the TSan job. Use acquire/release on the atomic itself.
#     A mention inside a // comment is allowed.
#  2. Sanitizer suppression files (tests/*.supp) may name third-party frames only (moodycamel,
#     libstdc++...): a line whose pattern contains "keel" hides a keel bug and fails the check.
#
#   scripts/check_sources.sh [ROOT]    ROOT defaults to the repository root
set -euo pipefail

root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$root"

failed=0

# 1. Fences. Library layers only; tests and benchmarks may use fences in reference code.
dirs=()
for d in include base sched core eventlog resilience observe; do
  [ -d "$d" ] && dirs+=("$d")
done
if [ ${#dirs[@]} -gt 0 ]; then
  # grep prints path:line:text; awk drops hits that sit only after a // on their line.
  hits=$(grep -rnIE 'atomic_thread_fence|__sync_synchronize' "${dirs[@]}" |
         awk '{ text = $0; sub(/^[^:]*:[0-9]+:/, "", text); sub(/\/\/.*/, "", text);
                if (text ~ /atomic_thread_fence|__sync_synchronize/) print }' || true)
  if [ -n "$hits" ]; then
    echo "check_sources: standalone fences are forbidden (TSan cannot model them):" >&2
    echo "$hits" >&2
    failed=1
  fi
fi

# 2. Suppressions: "type:pattern" lines; '#' starts a comment.
for supp in tests/*.supp; do
  [ -f "$supp" ] || continue
  hits=$(grep -nvE '^[[:space:]]*(#|$)' "$supp" | grep -i 'keel' || true)
  if [ -n "$hits" ]; then
    echo "check_sources: $supp suppresses keel code; only third-party frames may be suppressed:" >&2
    echo "$hits" | sed "s|^|$supp:|" >&2
    failed=1
  fi
done

if [ "$failed" -ne 0 ]; then
  exit 1
fi
echo "check_sources: OK (${dirs[*]:-no library dirs}; $(ls tests/*.supp 2>/dev/null | wc -l) suppression files)"
