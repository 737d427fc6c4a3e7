#!/usr/bin/env bash
# How punctually `outreach send` sends, and what pacing many accounts costs
# (issue 4). Runs against the sandbox on 127.0.0.1 with a limit far above the
# send rates, so no request is ever throttled.
#
# A. one account, MESSAGES (default 1,000) messages at --rate 100/s, twice:
#    1. start = now (the default: the first slots are due while the journal
#       is still being written);
#    2. --start 3 s in the future (steady state only);
#    3. as 2, with the journal on tmpfs (/dev/shm), where fsync costs
#       nothing: the scheduler and timers alone, without the disk.
#    From --events: lateness of each request (sending.ts - planned at) and of
#    each response (sent.late_ms): p50 / p90 / p99 / max. Target: p99 <= 5 ms.
# B. ACCOUNTS (default 1,000) accounts (the CSV's `account` column, all on
#    OUTREACH_TOKEN) x 10 messages at --rate 1/s each: CPU of the process
#    (user + sys) / elapsed from GNU time -v. Target: < 1 core.
#
# Usage: benches/send_timing.sh [MESSAGES] [ACCOUNTS]   (defaults 1000 1000)
# Needs GNU time (Debian: apt-get install time).
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"

messages=${1:-1000}
accounts=${2:-1000}
[[ -x /usr/bin/time ]] || { echo "GNU time not found (Debian: apt-get install time)" >&2; exit 1; }
build
bench_dir
gen=$HERE/benches/gen_recipients.py
stats=$HERE/benches/events_stats.py
python3 "$gen" "$messages" "$BENCH_DIR/one.csv" --template "$BENCH_DIR/t.txt"
python3 "$gen" $((accounts * 10)) "$BENCH_DIR/many.csv" --accounts "$accounts"
start_sandbox --limit 100000/s
export OUTREACH_TOKEN=sandbox-demo-token
note_machine
echo "sandbox: $SANDBOX_URL"

send_cmd() { # send_cmd NAME CSV EXTRA_FLAGS...: sets CMD; the journal in STATE_DIR
    local name=$1 csv=$2 state_dir=${STATE_DIR:-$BENCH_DIR}
    shift 2
    rm -f "$state_dir/$name".outreach.db* "$BENCH_DIR/$name.events.jsonl"
    CMD=("$OUTREACH_BIN" send "$csv" -t "$BENCH_DIR/t.txt" --timezone UTC
        --endpoint "$SANDBOX_URL/v2/messages" --no-progress
        --state "$state_dir/$name.outreach.db" --events "$BENCH_DIR/$name.events.jsonl" "$@")
}

echo
echo "== A1. $messages messages, 1 account, --rate 100/s, start now"
send_cmd a1 "$BENCH_DIR/one.csv" --rate 100/s
"${CMD[@]}" 2>"$BENCH_DIR/a1.log"
python3 "$stats" "$BENCH_DIR/a1.events.jsonl"
echo "load: $(uptime)"

echo
echo "== A2. $messages messages, 1 account, --rate 100/s, start in 3 s"
start=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%S.%3NZ)
send_cmd a2 "$BENCH_DIR/one.csv" --rate 100/s --start "$start"
"${CMD[@]}" 2>"$BENCH_DIR/a2.log"
python3 "$stats" "$BENCH_DIR/a2.events.jsonl"
echo "load: $(uptime)"

if [[ -d /dev/shm ]]; then
    echo
    echo "== A3. as A2, the journal on tmpfs (/dev/shm: fsync is free)"
    start=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%S.%3NZ)
    STATE_DIR=/dev/shm send_cmd a3 "$BENCH_DIR/one.csv" --rate 100/s --start "$start"
    "${CMD[@]}" 2>"$BENCH_DIR/a3.log"
    rm -f /dev/shm/a3.outreach.db*
    python3 "$stats" "$BENCH_DIR/a3.events.jsonl"
    echo "load: $(uptime)"
fi

echo
echo "== B. $accounts accounts x 10 messages, --rate 1/s each"
send_cmd b "$BENCH_DIR/many.csv" --rate 1/s
measure_time "process" "${CMD[@]}" 2>"$BENCH_DIR/b.log"
python3 "$stats" "$BENCH_DIR/b.events.jsonl"
echo "load: $(uptime)"
