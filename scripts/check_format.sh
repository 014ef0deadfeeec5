#!/usr/bin/env bash
# Checks that keel's C++ sources match .clang-format (clang-format 14). Exits non-zero and names
# the offending lines when a file would change.
#
#   scripts/check_format.sh            check every tracked (or new, not ignored) *.h / *.cpp in
#                                      include/ base/ sched/ core/ eventlog/ resilience/ observe/
#                                      tests/ bench/ tools/ examples/ fuzz/
#   scripts/check_format.sh --fix      rewrite those files in place instead
#   scripts/check_format.sh FILE...    check only the given files (with the project's style)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
clang_format=${CLANG_FORMAT:-clang-format}
style="--style=file:$root/.clang-format"

mode=check
if [ "${1:-}" = "--fix" ]; then
  mode=fix
  shift
fi

if ! command -v "$clang_format" >/dev/null; then
  echo "check_format: $clang_format not found (scripts/setup.sh installs clang-format)" >&2
  exit 2
fi
version=$("$clang_format" --version | sed -n 's/.*version \([0-9]*\).*/\1/p')
if [ "$version" != "14" ]; then
  echo "check_format: warning: $clang_format is version ${version:-unknown}; CI uses 14" >&2
fi

files=()
if [ $# -gt 0 ]; then
  files=("$@")
else
  cd "$root"
  dirs=(include base sched core eventlog resilience observe tests bench tools examples fuzz)
  list_sources() {
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
      # --others picks up files not yet added to git; --exclude-standard skips .gitignore'd ones.
      git ls-files -z --cached --others --exclude-standard -- "${dirs[@]}"
    else
      local existing=()
      for d in "${dirs[@]}"; do [ -d "$d" ] && existing+=("$d"); done
      [ ${#existing[@]} -eq 0 ] || find "${existing[@]}" -type f -print0
    fi
  }
  while IFS= read -r -d '' f; do
    [ -f "$f" ] && files+=("$f")
  done < <(list_sources | grep -zE '\.(h|cpp)$' || true)
fi

if [ ${#files[@]} -eq 0 ]; then
  echo "check_format: no files to check"
  exit 0
fi

if [ "$mode" = fix ]; then
  "$clang_format" "$style" -i "${files[@]}"
  echo "check_format: formatted ${#files[@]} files"
  exit 0
fi

if "$clang_format" "$style" --dry-run -Werror "${files[@]}"; then
  echo "check_format: ${#files[@]} files OK"
else
  echo "check_format: formatting differs from .clang-format; run scripts/check_format.sh --fix" >&2
  exit 1
fi
