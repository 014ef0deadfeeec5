#!/usr/bin/env bash
# keel-demo's supervision end to end (ctest tools.keel_demo_faults / tools.keel_demo_no_chaos).
#   faults_test.sh KEEL_DEMO chaos     with faults: exit 0 (every order accounted for), restarts
#                                      in the department, and exactly one escalation, the
#                                      service's, shown in the output
#   faults_test.sh KEEL_DEMO no_chaos  without: no failure, no escalation, nothing lost
set -uo pipefail
demo=$1
case $2 in
  chaos)
    out=$("$demo" --duration 2 --rate 3000 --seed 5 2>&1)
    code=$?
    echo "$out"
    [ $code -eq 0 ] || { echo "FAIL: exit code $code"; exit 1; }
    grep -q 'escalations 1$' <<<"$out" || { echo "FAIL: not exactly one escalation"; exit 1; }
    grep -q 'escalation: root/service' <<<"$out" || { echo "FAIL: the escalation is not shown"; exit 1; }
    grep -Eq 'root/department +one_for_one +restarts +[1-9]' <<<"$out" ||
      { echo "FAIL: no restart in the department"; exit 1; }
    # The database's brownout: payment's breaker opens, fallbacks are served (orders deferred),
    # a probe closes it again; the emergency level rises and comes back to normal.
    grep -Eq 'breaker payment->database: opened [1-9].*closed [1-9].*now closed$' <<<"$out" ||
      { echo "FAIL: the breaker did not open and close again"; exit 1; }
    grep -Eq 'fallbacks served while open [1-9]' <<<"$out" || { echo "FAIL: no fallback served"; exit 1; }
    grep -Eq 'deferred \(fallback\) +[1-9]' <<<"$out" || { echo "FAIL: no order deferred"; exit 1; }
    grep -Eq 'normal -> degraded' <<<"$out" || { echo "FAIL: the emergency level did not rise"; exit 1; }
    grep -Eq 'emergency level +now normal' <<<"$out" ||
      { echo "FAIL: the emergency level did not recover"; exit 1; }
    ;;
  no_chaos)
    out=$("$demo" --duration 1 --rate 2000 --chaos off 2>&1)
    code=$?
    echo "$out"
    [ $code -eq 0 ] || { echo "FAIL: exit code $code"; exit 1; }
    grep -q 'child failures 0, escalations 0' <<<"$out" || { echo "FAIL: something failed"; exit 1; }
    grep -Eq 'lost to faults +0 ' <<<"$out" || { echo "FAIL: orders lost without faults"; exit 1; }
    grep -Eq 'breaker payment->database: opened 0,' <<<"$out" || { echo "FAIL: the breaker opened"; exit 1; }
    grep -Eq 'emergency level +now normal, lowest health score 1.00, 0 changes' <<<"$out" ||
      { echo "FAIL: the emergency level moved without faults"; exit 1; }
    ;;
  *)
    echo "usage: faults_test.sh KEEL_DEMO chaos|no_chaos" >&2
    exit 2
    ;;
esac
