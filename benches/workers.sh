#!/usr/bin/env bash
# Workers sharing one campaign in PostgreSQL (issue 14): aggregate durable
# sends per second with 1, 2 and 3 `outreach worker`s (A: the database and
# the CPU as the limit; B: each worker limited to a third of the accounts,
# so the workers are the limit), and a worker's idle CPU with 10,000
# accounts (C). Results and method: docs/performance.md,
# section "Workers".
#
# usage: benches/workers.sh [MESSAGES] [ACCOUNTS] [WORKER_COUNTS] [IDLE_ACCOUNTS]
#   defaults: 40000 messages over 200 accounts, workers "1 2 3", 10000 idle accounts
#
# Needs the PostgreSQL named by OUTREACH_TEST_DATABASE_URL (default: the
# project machines' postgres://postgres@127.0.0.1:5432/test); each run works
# in a schema of its own (bench_workers_*), dropped at the end. Every send is
# durable: claimed in a committed transaction before its request leaves.

source "$(dirname "$0")/common.sh"

messages=${1:-40000}
accounts=${2:-200}
worker_counts=${3:-1 2 3}
idle_accounts=${4:-10000}
db=${OUTREACH_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
tool psql postgresql-client
build
bench_dir
gen=$HERE/benches/gen_recipients.py
start_sandbox --limit 1000000/s
export OUTREACH_TOKEN=sandbox-demo-token
note_machine
echo "sandbox: $SANDBOX_URL, database: $db"

schemas=()
_drop_schemas() {
    for schema in "${schemas[@]}"; do
        psql "$db" -qXc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
    done
    _bench_cleanup
}
trap _drop_schemas EXIT

# fresh_schema NAME: prints the URL of a new, empty schema NAME. It runs in
# a command substitution, so the caller records NAME in `schemas` (for the
# exit trap) itself.
fresh_schema() {
    psql "$db" -qXc "DROP SCHEMA IF EXISTS $1 CASCADE; CREATE SCHEMA $1" >/dev/null
    local sep='?'
    [[ $db == *\?* ]] && sep='&'
    echo "$db${sep}options=-csearch_path%3D$1"
}

# Each account may send 100/s: the database and the CPU, not the plan, are
# the limit being measured.
python3 "$gen" 1 "$BENCH_DIR/t.csv" --template "$BENCH_DIR/t.txt" >/dev/null
python3 "$gen" "$messages" "$BENCH_DIR/w.csv" --accounts "$accounts"

# run_workers N RATE SCHEMA [WORKER FLAGS...]: records the campaign at RATE
# per account, runs N workers to the end, prints the rate from the database.
run_workers() {
    local workers=$1 rate=$2 schema=$3
    shift 3
    local url
    schemas+=("$schema")
    url=$(fresh_schema "$schema")
    "$OUTREACH_BIN" send "$BENCH_DIR/w.csv" -t "$BENCH_DIR/t.txt" --rate "$rate" --timezone UTC \
        --endpoint "$SANDBOX_URL/v2/messages" --state "$url" --campaign bench --detach \
        2>"$BENCH_DIR/detach.log"
    local started ended
    started=$(date +%s.%N)
    local pids=()
    for i in $(seq "$workers"); do
        /usr/bin/time -f "worker $i: user %U s, sys %S s, peak RSS %M KB" \
            "$OUTREACH_BIN" worker --state "$url" --until-idle --lease 5s "$@" \
            2>"$BENCH_DIR/worker-$schema-$i.log" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid"
    done
    ended=$(date +%s.%N)
    psql "$url" -qXtA -F ' ' -c "
        SELECT count(*) FILTER (WHERE state = 'sent'),
               count(*) FILTER (WHERE state <> 'sent'),
               (max(sent_at_ns) - min(sent_at_ns)) / 1e9
        FROM messages" | {
        read -r sent other span
        python3 - "$workers" "$sent" "$other" "$span" "$started" "$ended" <<'PY'
import sys
workers, sent, other, span, started, ended = sys.argv[1:]
sent, span = int(sent), float(span)
wall = float(ended) - float(started)
print(f"-- {workers} worker(s): {sent} sent ({other} not), "
      f"{sent / span:,.0f} sends/s between the first and the last send ({span:.2f} s), "
      f"{sent / wall:,.0f}/s over the workers' whole run ({wall:.2f} s, start-up included)")
PY
    }
    tail -q -n 1 "$BENCH_DIR"/worker-"$schema"-*.log
    echo "   load: $(uptime)"
}

echo
echo "== A. $messages messages over $accounts accounts at 100/s each, workers: $worker_counts"
for workers in $worker_counts; do
    run_workers "$workers" 100/s "bench_workers_$workers"
done

# Workers as the limit: each may hold at most a third of the accounts
# (--max-accounts), each account sends 10/s, so one worker can reach a
# third of the campaign's pace and the accounts' pace is the ceiling.
third=$(( (accounts + 2) / 3 ))
echo
echo "== B. the same, accounts at 10/s, each worker holding at most $third accounts, workers: $worker_counts"
for workers in $worker_counts; do
    run_workers "$workers" 10/s "bench_workers_limited_$workers" --max-accounts "$third"
done

echo
echo "== C. one worker holding $idle_accounts accounts, each with its next message an hour away"
python3 "$gen" "$idle_accounts" "$BENCH_DIR/idle.csv" --accounts "$idle_accounts"
schemas+=(bench_workers_idle)
url=$(fresh_schema bench_workers_idle)
# One message each, 2 sent per account per day: the first is due at once,
# so every account is leased; then each waits (here: all first messages are
# sent, and the worker holds the leases of accounts due again within --idle).
"$OUTREACH_BIN" send "$BENCH_DIR/idle.csv" -t "$BENCH_DIR/t.txt" --rate 1/h --timezone UTC \
    --start "$(date -u -d '+30 min' +%Y-%m-%dT%H:%M:%SZ)" \
    --endpoint "$SANDBOX_URL/v2/messages" --state "$url" --campaign idle --detach \
    2>"$BENCH_DIR/detach-idle.log"
"$OUTREACH_BIN" worker --state "$url" --lease 10s --idle 2h 2>"$BENCH_DIR/worker-idle.log" &
worker=$!
# Let it lease every account and settle, then measure 30 s of idling.
sleep 40
held=$(psql "$url" -qXtAc "SELECT count(*) FROM accounts WHERE lease_holder IS NOT NULL")
before=$(awk '{print $14 + $15}' "/proc/$worker/stat")
sleep 30
after=$(awk '{print $14 + $15}' "/proc/$worker/stat")
ticks=$(getconf CLK_TCK)
python3 - "$before" "$after" "$ticks" "$held" <<'PY'
import sys
before, after, ticks, held = (int(x) for x in sys.argv[1:])
cpu = (after - before) / ticks / 30
print(f"-- idle worker holding {held} accounts: {cpu * 100:.2f}% of a core over 30 s")
PY
rss=$(awk '/VmRSS/ {print $2}' "/proc/$worker/status")
echo "   RSS ${rss} KB; load: $(uptime)"
kill -INT "$worker"
wait "$worker" || true
