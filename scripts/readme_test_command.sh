#!/usr/bin/env bash
# Prints the README's test command: the body of the SECOND fenced code block of README.md
# ("setup, build and run the whole test suite"). .ci/run executes exactly this, so the README and
# CI cannot drift apart.
#
#   scripts/readme_test_command.sh [README]     README defaults to <repo>/README.md
set -euo pipefail

readme=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/README.md}
want=2

# A fence is a line starting with ``` (an info string such as "sh" may follow the opening one).
body=$(awk -v want="$want" '
  /^```/ { if (inside) { inside = 0; if (n == want) exit } else { inside = 1; n++ } next }
  inside && n == want { print }
  END { if (n < want || inside) exit 1 }
' "$readme") || {
  echo "readme_test_command: $readme has no complete fenced block number $want" >&2
  exit 1
}
# Ignore blank and comment lines when deciding whether there is a command at all.
if ! grep -qvE '^[[:space:]]*(#|$)' <<<"$body"; then
  echo "readme_test_command: fenced block $want of $readme holds no command" >&2
  exit 1
fi
printf '%s\n' "$body"
