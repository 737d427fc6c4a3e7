#!/usr/bin/env bash
# How close `outreach send` gets to a rate-limited server's real pace
# (issue 10). Each scenario starts a fresh sandbox on 127.0.0.1 with a
# fixed-window limit of N per W (default 10/5s), sends MESSAGES (default 30)
# messages with the release build and reads what the sandbox received:
#
#   elapsed / optimum   first to last arrival over (K-1) * W/N, the
#                       even-spacing optimum; targets <= 1.05 (plan at the
#                       server's pace), <= 1.1 (plan 4x too fast), <= 3
#                       (faults)
#   429s                the sandbox's throttled count; target <= 2
#   duplicates          recipients accepted more than once; target 0
#   max in W/N          most arrivals within any span of W/N; target <= 2
#
# Scenarios:
#   A.  plan = server pace, x-ratelimit (delta reset), fixed and rolling window
#   B.  plan 4x too fast, in each header style: x-ratelimit (delta reset),
#       x-ratelimit-epoch, ietf (structured RateLimit / RateLimit-Policy)
#   C.  15% 503 + 10% dropped responses, plan = server = 10/s, default retry
#       policy (base 2 s), once per seed in SEEDS (default "42 7 1")
#
# Usage: benches/pacing.sh [MESSAGES] [LIMIT]      (defaults 30 10/5s)
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"

messages=${1:-30}
limit=${2:-10/5s}
tool curl curl
build
bench_dir
python3 "$HERE/benches/gen_recipients.py" "$messages" "$BENCH_DIR/r.csv" --template "$BENCH_DIR/t.txt"
export OUTREACH_TOKEN=sandbox-demo-token
note_machine
echo
printf '%-46s %8s %8s %6s %5s %11s\n' scenario elapsed ratio 429s dups "max in W/N"

# run ID LABEL RATE LIMIT SANDBOX_FLAGS...: one sandbox, one send, one line;
# files in BENCH_DIR are named after ID.
run() {
    local name=$1 label=$2 rate=$3 server=$4
    shift 4
    start_sandbox --limit "$server" "$@"
    rm -f "$BENCH_DIR/$name".db* "$BENCH_DIR/$name.events.jsonl"
    "$OUTREACH_BIN" send "$BENCH_DIR/r.csv" -t "$BENCH_DIR/t.txt" --timezone UTC \
        --endpoint "$SANDBOX_URL/v2/messages" --no-progress --rate "$rate" \
        --state "$BENCH_DIR/$name.db" --events "$BENCH_DIR/$name.events.jsonl" \
        2>"$BENCH_DIR/$name.log" || echo "  ($name: exit $?, see $BENCH_DIR/$name.log)"
    curl -s --noproxy '*' "$SANDBOX_URL/_sandbox/messages" >"$BENCH_DIR/$name.messages.json"
    curl -s --noproxy '*' "$SANDBOX_URL/_sandbox/stats" >"$BENCH_DIR/$name.stats.json"
    kill -INT "$SANDBOX_PID" 2>/dev/null || true
    wait "$SANDBOX_PID" 2>/dev/null || true
    SANDBOX_PID=""
    python3 - "$label" "$server" "$BENCH_DIR/$name.messages.json" "$BENCH_DIR/$name.stats.json" <<'PY'
import collections, datetime, json, re, sys

name, server, messages_path, stats_path = sys.argv[1:]
count, period = server.split("/")
unit = {"s": 1, "min": 60, "h": 3600}
m = re.fullmatch(r"(\d*)(s|min|h)", period)
window = (int(m.group(1)) if m.group(1) else 1) * unit[m.group(2)]
pace = window / int(count)
messages = json.load(open(messages_path))
stats = json.load(open(stats_path))
times = sorted(
    datetime.datetime.fromisoformat(m["received_at"].replace("Z", "+00:00")).timestamp()
    for m in messages
)
per_recipient = collections.Counter(r for m in messages for r in m["recipients"])
duplicates = sum(n - 1 for n in per_recipient.values())
elapsed = times[-1] - times[0]
optimum = (len(per_recipient) - 1) * pace
# Arrivals are in whole milliseconds: "within W/N" is a span under W/N.
burst = max(
    sum(1 for u in times[i:] if u - t < pace - 1e-9) for i, t in enumerate(times)
)
extra = ""
if stats["faults"] or stats["dropped"]:
    extra = f"  (503s {stats['faults']}, dropped {stats['dropped']}, replayed {stats['replayed']})"
print(f"{name:<46} {elapsed:7.2f}s {elapsed / optimum:7.3f}x {stats['throttled']:6} "
      f"{duplicates:5} {burst:11}{extra}")
PY
}

fast_rate() { # 4x the server's rate: N*4 per W
    local n=${limit%%/*} w=${limit#*/}
    echo "$((n * 4))/$w"
}

run a1 "A1 plan = server, x-ratelimit, fixed" "$limit" "$limit" --window fixed --headers x-ratelimit
run a2 "A2 plan = server, x-ratelimit, rolling" "$limit" "$limit" --window rolling --headers x-ratelimit
for dialect in x-ratelimit x-ratelimit-epoch ietf; do
    run "b-$dialect" "B  plan 4x too fast, $dialect, fixed" "$(fast_rate)" "$limit" \
        --window fixed --headers "$dialect"
done
for seed in ${SEEDS:-42 7 1}; do
    run "c-$seed" "C  15% 503 + 10% drop, 10/s, seed $seed" 10/s 10/s --window fixed \
        --headers x-ratelimit --fail-rate 0.15 --drop-rate 0.10 --seed "$seed"
done
echo "load: $(uptime)"
