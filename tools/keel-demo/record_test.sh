#!/usr/bin/env bash
# keel-demo --log-dir and keel-demo-log end to end (ctest tools.keel_demo_record_*).
#   record_test.sh KEEL_DEMO KEEL_DEMO_LOG no_chaos  a run without faults: the log verifies,
#       dumps with JSON payloads, traces the failed order the summary names from the load
#       driver's order to the ledger, and replays it with every state hash matching (exit 0)
#   record_test.sh KEEL_DEMO KEEL_DEMO_LOG chaos     a run with faults: the log holds the
#       failures and restarts; a failed order traces and replays with hashes matching, and so
#       does every order a fault dropped (the crash and the supervisor's restarts replayed)
#   record_test.sh KEEL_DEMO KEEL_DEMO_LOG bad_dir   --log-dir naming a non-empty directory or a
#       file: exit 2 with a message naming the flag
set -uo pipefail
demo=$1
tool=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

record() {  # record LOG ARGS...: runs the demo into LOG; sets $out
  local log=$1
  shift
  out=$("$demo" --duration 1 --rate 2000 --log-dir "$log" "$@" 2>&1)
  local code=$?
  echo "$out"
  [ $code -eq 0 ] || fail "keel-demo exit code $code"
  grep -Eq "^event log +$log: [0-9]+ records .* 0 appends failed$" <<<"$out" ||
    fail "the summary does not report a complete recording"
}

check_failed_order() {  # check_failed_order LOG: trace and replay the order the summary names
  local log=$1
  local corr
  corr=$(sed -n 's/^  a failed order: .*--corr \([0-9]*\)$/\1/p' <<<"$out")
  [ -n "$corr" ] || fail "the summary names no failed order"
  local trace
  trace=$("$tool" trace "$log" --corr "$corr") || fail "trace exit code $?"
  echo "$trace" | head -20
  grep -q 'demo.place_order/1' <<<"$trace" || fail "the trace does not start at the order"
  grep -q '"customer"' <<<"$trace" || fail "the trace does not decode payloads"
  grep -Eq 'demo.(order_rejected|payment_declined|order_lost)/1' <<<"$trace" ||
    fail "the trace does not reach the ledger's outcome"
  local replay code
  replay=$("$tool" replay "$log" --corr "$corr" --exec 2>&1)
  code=$?
  echo "$replay"
  [ $code -eq 0 ] || fail "replay --exec exit code $code"
  grep -Eq ' [1-9][0-9]* state hashes and' <<<"$replay" || fail "replay compared no state hash"
  grep -q '^hashes match$' <<<"$replay" || fail "replay did not match"
}

case $3 in
  no_chaos)
    log=$work/log
    record "$log" --chaos off --seed 3
    "$tool" verify "$log" || fail "verify exit code $?"
    dump=$("$tool" dump "$log" --payload-type demo.commit/1 --limit 3 --json) ||
      fail "dump exit code $?"
    echo "$dump"
    [ "$(grep -c '"o":{"id":' <<<"$dump")" -eq 3 ] || fail "dump shows no decoded commits"
    check_failed_order "$log"
    ;;
  chaos)
    log=$work/log
    record "$log" --seed 5 --rate 3000
    "$tool" verify "$log" || fail "verify exit code $?"
    [ "$("$tool" dump "$log" --type failure | wc -l)" -ge 4 ] || fail "fewer than 4 FAILURE records"
    [ "$("$tool" dump "$log" --type restart | wc -l)" -ge 1 ] || fail "no RESTART record"
    check_failed_order "$log"
    # Every order a fault dropped replays too: the stage that crashed on it fails at that input
    # and restarts where its supervisor restarted it (alone, or with the service's group).
    corrs=$("$tool" dump "$log" --type failure --json | sed -n 's/.*"correlation":\([0-9]*\).*/\1/p' |
      sort -u)
    [ -n "$corrs" ] || fail "no failure has a correlation id"
    for corr in $corrs; do
      replay=$("$tool" replay "$log" --corr "$corr" --exec 2>&1) ||
        { echo "$replay"; fail "replay of the order dropped by a fault ($corr) exit code $?"; }
      grep -Eq ', [1-9][0-9]* failures, [0-9]+ restarts: matched' <<<"$replay" ||
        { echo "$replay"; fail "the replay of $corr shows no failure"; }
    done
    echo "replayed $(wc -w <<<"$corrs") orders dropped by faults"
    ;;
  bad_dir)
    mkdir -p "$work/full" && touch "$work/full/x"
    msg=$("$demo" --duration 1 --log-dir "$work/full" 2>&1)
    [ $? -eq 2 ] || fail "a non-empty --log-dir is not exit 2"
    grep -q -- '--log-dir: .* is not empty' <<<"$msg" || fail "the message does not say why: $msg"
    msg=$("$demo" --duration 1 --log-dir "$work/full/x" 2>&1)
    [ $? -eq 2 ] || fail "a file as --log-dir is not exit 2"
    grep -q -- 'not a directory' <<<"$msg" || fail "the message does not say why: $msg"
    ;;
  *)
    echo "usage: record_test.sh KEEL_DEMO KEEL_DEMO_LOG no_chaos|chaos|bad_dir" >&2
    exit 2
    ;;
esac
echo PASS
