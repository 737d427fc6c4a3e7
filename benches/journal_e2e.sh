#!/usr/bin/env bash
# The journal through the full send path, and big journals (issue 5).
#
# A. throughput: MESSAGES (default 10,000) messages at --rate 100000/s against
#    the sandbox (limit 1,000,000/s, so nothing is throttled), RUNS times,
#    with 1, 4 and 16 accounts (ACCOUNT_SETS="1 4 16"). Every message is durably claimed before its
#    request leaves (group commit). Reported: the send phase from --events
#    (first `sending` to last `sent`) and the whole process (GNU time).
#    Target: >= 2,000 messages/s end to end.
# B. a 1,000,000-message campaign with 500,000 sent, built by
#    examples/big_journal.rs exactly as `send` builds a journal (kept in
#    BENCH_DIR if set):
#    - `outreach status --state big.outreach.db` (and --json), hyperfine.
#      Target: < 1 s.
#    - `outreach resume --state COPY --endpoint SANDBOX`: from the process
#      start (date +%s%N just before exec) to the first `sending` event, then
#      SIGINT. RUNS times, each on a fresh copy of the journal.
#      Target: < 2 s.
#
# Usage: benches/journal_e2e.sh [MESSAGES] [RUNS] [BIG]   (defaults 10000 3 1000000)
# Needs hyperfine and GNU time (Debian: apt-get install hyperfine time).
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"

messages=${1:-10000}
runs=${2:-3}
big=${3:-1000000}
tool hyperfine hyperfine
[[ -x /usr/bin/time ]] || { echo "GNU time not found (Debian: apt-get install time)" >&2; exit 1; }
build
bench_dir
gen=$HERE/benches/gen_recipients.py
stats=$HERE/benches/events_stats.py
start_sandbox --limit 1000000/s
export OUTREACH_TOKEN=sandbox-demo-token
note_machine
echo "sandbox: $SANDBOX_URL"

echo
echo "== A. $messages messages at --rate 100000/s"
account_sets=${ACCOUNT_SETS:-1 4 16}
python3 "$gen" 1 "$BENCH_DIR/e2e-t.csv" --template "$BENCH_DIR/t.txt"
for accounts in $account_sets; do
    if [[ $accounts == 1 ]]; then
        python3 "$gen" "$messages" "$BENCH_DIR/e2e-1.csv"
    else
        python3 "$gen" "$messages" "$BENCH_DIR/e2e-$accounts.csv" --accounts "$accounts"
    fi
done
for accounts in $account_sets; do
    for run in $(seq "$runs"); do
        name=e2e-$accounts
        rm -f "$BENCH_DIR/$name".outreach.db* "$BENCH_DIR/$name.events.jsonl"
        echo "-- $accounts account(s), run $run"
        measure_time "process" "$OUTREACH_BIN" send "$BENCH_DIR/$name.csv" -t "$BENCH_DIR/t.txt" \
            --rate 100000/s --timezone UTC --endpoint "$SANDBOX_URL/v2/messages" --no-progress \
            --state "$BENCH_DIR/$name.outreach.db" --events "$BENCH_DIR/$name.events.jsonl" \
            2>"$BENCH_DIR/$name.log"
        python3 "$stats" "$BENCH_DIR/$name.events.jsonl" | grep 'send phase'
        echo "   load: $(uptime)"
    done
done

echo
echo "== B. $big messages, half sent"
big_csv=$BENCH_DIR/recipients-$big.csv
big_db=$BENCH_DIR/big-$big.outreach.db
if [[ ! -s "$big_csv" ]]; then
    python3 "$gen" "$big" "$big_csv"
fi
if [[ ! -s "$big_db" ]]; then
    "$EXAMPLES/big_journal" "$big_csv" "$BENCH_DIR/t.txt" "$big_db" \
        --rate 100/s --sent $((big / 2)) --endpoint "$SANDBOX_URL/v2/messages"
fi
echo "journal: $big_db ($(du -h "$big_db" | cut -f1))"
hyperfine --warmup 1 --runs 5 --style basic \
    -n status "$OUTREACH_BIN status --state $big_db" \
    -n status-json "$OUTREACH_BIN status --state $big_db --json"
echo "   load: $(uptime)"

echo
echo "-- resume: process start -> first request"
copy=$BENCH_DIR/resume.outreach.db
for run in $(seq "$runs"); do
    rm -f "$copy" "$copy-wal" "$copy-shm" "$BENCH_DIR/resume.events.jsonl"
    cp "$big_db" "$copy"
    sync
    started=$(date +%s%N)
    "$OUTREACH_BIN" resume --state "$copy" --endpoint "$SANDBOX_URL/v2/messages" --no-progress \
        --events "$BENCH_DIR/resume.events.jsonl" 2>"$BENCH_DIR/resume.log" &
    pid=$!
    for _ in $(seq 1200); do
        grep -q '^[0-9:]* sent ' "$BENCH_DIR/resume.log" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" || true
    echo "run $run: $(python3 "$stats" "$BENCH_DIR/resume.events.jsonl" --since-start "$started" | grep 'first sending')"
    echo "   load: $(uptime)"
done
rm -f "$copy" "$copy-wal" "$copy-shm" "$copy.lock"
