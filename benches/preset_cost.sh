#!/usr/bin/env bash
# What an HTTP preset costs over today's fixed payload (issue 12), counted in
# instructions, which do not move with the machine's load: the sender under
# `valgrind --tool=callgrind`, once with the `api` channel and once with the
# `linkedin` preset (today's payload as a declared request), both against the
# same `outreach sandbox` on 127.0.0.1.
#
# Counted: the `outreach send` process only, all its threads (tokio workers,
# the journal writer, the events thread), start-up and journal included; user
# space only (callgrind does not see the kernel: both channels make the same
# requests, so the same system calls). The sandbox is a separate, native
# process and is not counted.
#
# Each scenario sends MESSAGES (default 2,000) and MESSAGES / 2 messages
# (--rate 100000/s: under callgrind the sender is far slower than that, so
# every send is due at once and nothing waits). Every run is checked to have
# sent every message. Three figures per scenario, from each callgrind file
# (benches/callgrind_inclusive.py):
#   process       all instructions / MESSAGES;
#   w/o journal   the same without the journal writer's thread
#                 (`journal::writer::run`, inclusive). How many claims share
#                 a commit depends on timing, so the journal's count moves
#                 ~10% between identical runs, and with it the process's;
#                 the rest repeats within ~1%;
#   channel       the channel's `post` future (HttpApi::post or
#                 HttpChannel::post, inclusive): the request made, sent
#                 through reqwest and the response read and classified.
# and the marginal cost of a message without the journal,
#   (w/o journal(MESSAGES) - w/o journal(MESSAGES / 2)) / (MESSAGES / 2),
# which cancels start-up. The preset's cost is linkedin - api, per message,
# also as a share of api's whole process per message. RUNS (default 2)
# repeats everything, to show how repeatable each count is.
#
# Then natively (no valgrind), NATIVE_RUNS (default 8) alternating runs of
# each at MESSAGES, under `perf stat`: CPU time of the process (task-clock)
# and its fsync calls (the journal's commits, a tracepoint: no hardware
# counters needed), and the send phase's messages/s from --events (first
# `sending` to last `sent`, benches/events_stats.py). How many claims share
# a commit used to vary several-fold between identical runs, and the CPU
# with it, so besides the medians the script fits
# cpu = a + b * fsyncs + c * [linkedin]  and prints c, the preset's cost
# with the commits accounted for (since the journal writer gathers outcomes
# while busy, the fsyncs vary little and the fit says little). NATIVE_RUNS=0 skips this;
# it needs perf (Debian: apt-get install linux-perf) and root or
# kernel.perf_event_paranoid <= -1 for the tracepoint.
#
# Usage: benches/preset_cost.sh [MESSAGES] [RUNS]   (defaults 2000 2; RUNS=0:
# the native runs only)
# Builds the release binary with full debug info
# (CARGO_PROFILE_RELEASE_DEBUG=true, so the usual release build in
# the same CARGO_TARGET_DIR is rebuilt); OUTREACH_BIN=/path skips the build.
# Needs valgrind (Debian: apt-get install valgrind). About a minute per run
# and scenario at 2,000 messages. BENCH_DIR=/some/dir keeps the callgrind
# files, logs and journals.
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"

messages=${1:-2000}
runs=${2:-2}
half=$((messages / 2))
((half > 0)) || { echo "MESSAGES must be at least 2" >&2; exit 1; }
tool valgrind valgrind
tool callgrind_annotate valgrind
if [[ -z "${OUTREACH_BIN:-}" ]]; then
    (cd "$HERE" && CARGO_PROFILE_RELEASE_DEBUG=${CARGO_PROFILE_RELEASE_DEBUG:-true} \
        cargo build --release --quiet --bin outreach)
    OUTREACH_BIN=${CARGO_TARGET_DIR:-$HERE/target}/release/outreach
fi
bench_dir

for n in "$messages" "$half"; do
    python3 "$HERE/benches/gen_recipients.py" "$n" "$BENCH_DIR/api-$n.csv" --template "$BENCH_DIR/api.txt"
done

# The sandbox, stopped with SIGTERM (a background job of a script starts
# with SIGINT ignored until the sandbox installs its handler).
trap 'if [[ -n "$SANDBOX_PID" ]]; then kill -TERM "$SANDBOX_PID" 2>/dev/null || true; wait "$SANDBOX_PID" 2>/dev/null || true; SANDBOX_PID=""; fi; _bench_cleanup' EXIT
start_sandbox --limit 1000000/s

mkdir -p "$BENCH_DIR/api" "$BENCH_DIR/linkedin"
printf 'endpoint = "%s/v2/messages"\n' "$SANDBOX_URL" >"$BENCH_DIR/api/outreach.toml"
printf '[channel]\ntype = "linkedin"\nbase_url = "%s"\n' "$SANDBOX_URL" >"$BENCH_DIR/linkedin/outreach.toml"
export OUTREACH_TOKEN=sandbox-demo-token

note_machine
echo "valgrind: $(valgrind --version)"
echo "messages: $messages and $half per scenario, $runs round(s)"
rm -f "$BENCH_DIR/results.txt"

# count NAME N ROUND: one `outreach send` of N messages under callgrind;
# appends `NAME N ROUND TOTAL JOURNAL CHANNEL` to results.txt.
count() {
    local name=$1 n=$2 round=$3
    local dir=$BENCH_DIR/$name out=$BENCH_DIR/$name/cg.$n.$round.out
    rm -f "$dir"/state.outreach.db* "$dir/events.jsonl"
    local rc=0
    valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$OUTREACH_BIN" send "$BENCH_DIR/api-$n.csv" -t "$BENCH_DIR/api.txt" \
        --config "$dir/outreach.toml" --state "$dir/state.outreach.db" \
        --timezone UTC --no-progress --rate 100000/s --events "$dir/events.jsonl" \
        >"$out.stdout" 2>"$out.log" || rc=$?
    local sent
    sent=$(grep -c '"event":"sent"' "$dir/events.jsonl" || true)
    if [[ "$rc" != 0 || "$sent" != "$n" ]]; then
        echo "$name, $n messages: exit $rc, $sent sent; see $out.log" >&2
        tail -n 20 "$out.log" >&2
        exit 1
    fi
    python3 "$HERE/benches/callgrind_inclusive.py" "$out" \
        'outreach::journal::writer::run' \
        'outreach::send::http_api::HttpApi::post::{{closure}}' \
        'outreach::channel::http::channel::HttpChannel::post::{{closure}}' >"$out.parts"
    python3 - "$name" "$n" "$round" "$out.parts" "$BENCH_DIR/results.txt" <<'PY'
import sys
name, n, rnd, parts, results = sys.argv[1:]
values = [int(line.rsplit(" ", 1)[1]) for line in open(parts, encoding="utf-8")]
total, journal, channel = values[0], values[1], max(values[2], values[3])
n = int(n)
print(f"   {name:<9} {n:6d} messages: {total:>14,} instructions; per message: process "
      f"{total / n:>9,.0f}, w/o journal {(total - journal) / n:>9,.0f}, channel {channel / n:>8,.0f}")
with open(results, "a", encoding="utf-8") as out:
    out.write(f"{name} {n} {rnd} {total} {journal} {channel}\n")
PY
}

if ((runs > 0)); then
for round in $(seq "$runs"); do
    echo
    echo "== round $round"
    for n in "$messages" "$half"; do
        for name in api linkedin; do
            count "$name" "$n" "$round"
        done
    done
done
echo "load:    $(uptime)"

echo
echo "== Summary: instructions per message of the outreach send process, median (range)"
python3 - "$BENCH_DIR/results.txt" "$messages" "$half" <<'PY'
import statistics, sys
path, full, half = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs = {}
for line in open(path, encoding="utf-8"):
    name, n, rnd, total, journal, channel = line.split()
    runs.setdefault((name, int(n)), {})[rnd] = (int(total), int(journal), int(channel))
def show(values):
    return f"{statistics.median(values):>9,.0f} ({min(values):,.0f}-{max(values):,.0f})"
figures = {}
for name in ("api", "linkedin"):
    big, small = runs[name, full], runs[name, half]
    process = [t / full for t, _, _ in big.values()]
    rest = [(t - j) / full for t, j, _ in big.values()]
    channel = [c / full for _, _, c in big.values()]
    marginal = [((big[r][0] - big[r][1]) - (small[r][0] - small[r][1])) / (full - half)
                for r in big if r in small]
    figures[name] = {k: statistics.median(v) for k, v in
                     dict(process=process, rest=rest, channel=channel, marginal=marginal).items()}
    print(f"   {name:<9} process {show(process)}")
    print(f"   {'':<9} w/o journal {show(rest)}, marginal {show(marginal)}")
    print(f"   {'':<9} channel {show(channel)}")
api, preset = figures["api"], figures["linkedin"]
print("   linkedin - api, per message:")
for key, label in (("process", "process"), ("rest", "w/o journal"),
                   ("marginal", "marginal w/o journal"), ("channel", "channel")):
    extra = preset[key] - api[key]
    print(f"     {label:<21} {extra:>+9,.0f} = {extra / api['process'] * 100:+5.1f}% of api's process "
          f"({preset[key] / api[key]:.3f}x of api's {label})")
PY

echo
echo "== Where the channel's instructions go, inclusive per message (round $runs, $messages messages)"
for name in api linkedin; do
    echo "-- $name"
    python3 "$HERE/benches/callgrind_inclusive.py" "$BENCH_DIR/$name/cg.$messages.$runs.out" \
        'outreach::send::http_api::HttpApi::post::{{closure}}' \
        'outreach::channel::http::channel::HttpChannel::post::{{closure}}' \
        'outreach::channel::http::request::prepare_checked' \
        'outreach::channel::http::templates::message_context' \
        'minijinja::template::Template::_render' \
        'outreach::channel::http::response::classify' \
        'reqwest::async_impl::client::Client::execute_request' \
        'url::parser::Parser::parse_url' \
        | awk -v n="$messages" '$NF > 0 && $1 != "total" { c = $NF; $NF = ""; printf "   %9.0f %s\n", c / n, $0 }'
done
fi

native_runs=${NATIVE_RUNS:-8}
if ((native_runs > 0)); then
    tool perf linux-perf
    echo
    echo "== Natively: CPU (task-clock), fsyncs and send-phase messages/s, $native_runs runs each, $messages messages"
    rm -f "$BENCH_DIR/native.txt"
    for run in $(seq "$native_runs"); do
        # Who goes first alternates: the second of a pair ran a little
        # faster in an api-vs-api control.
        order="api linkedin"
        ((run % 2)) || order="linkedin api"
        for name in $order; do
            dir=$BENCH_DIR/$name
            rm -f "$dir"/state.outreach.db* "$dir/events.jsonl"
            perf stat -x, -e task-clock,syscalls:sys_enter_fsync -o "$dir/perf.txt" \
                "$OUTREACH_BIN" send "$BENCH_DIR/api-$messages.csv" -t "$BENCH_DIR/api.txt" \
                --config "$dir/outreach.toml" --state "$dir/state.outreach.db" --events "$dir/events.jsonl" \
                --timezone UTC --no-progress --rate 100000/s >/dev/null 2>"$dir/native.log"
            rate=$(python3 "$HERE/benches/events_stats.py" "$dir/events.jsonl" --json |
                python3 -c 'import json, sys; print(json.load(sys.stdin)["messages_per_s"])')
            echo "$name $(grep -v '^#' "$dir/perf.txt" | grep -v '^$' | cut -d, -f1 | tr '\n' ' ') $rate" >>"$BENCH_DIR/native.txt"
        done
    done
    echo "load:    $(uptime)"
    python3 - "$BENCH_DIR/native.txt" <<'PY'
import statistics, sys
rows = []
for line in open(sys.argv[1], encoding="utf-8"):
    name, cpu, fsyncs, rate = line.split()
    rows.append((name, float(cpu), int(fsyncs), float(rate)))
for name in ("api", "linkedin"):
    cpu = sorted(r[1] for r in rows if r[0] == name)
    fs = sorted(r[2] for r in rows if r[0] == name)
    rate = sorted(r[3] for r in rows if r[0] == name)
    print(f"   {name:<9} CPU median {statistics.median(cpu):6.1f} ms ({cpu[0]:.1f}-{cpu[-1]:.1f}), "
          f"fsyncs median {statistics.median(fs):.0f} ({fs[0]}-{fs[-1]}), "
          f"messages/s median {statistics.median(rate):.0f} ({rate[0]:.0f}-{rate[-1]:.0f})")
def median(name, column):
    return statistics.median(r[column] for r in rows if r[0] == name)
api = median("api", 1)
linkedin = median("linkedin", 1)
print(f"   linkedin / api, medians: CPU {linkedin / api:.3f}x, "
      f"messages/s {median('linkedin', 3) / median('api', 3):.3f}x")
rows = [(n, c, f) for n, c, f, _ in rows]
# Least squares: cpu = a + b * fsyncs + c * linkedin.
X = [[1.0, f, 1.0 if n == "linkedin" else 0.0] for n, _, f in rows]
Y = [c for _, c, _ in rows]
A = [[sum(x[i] * x[j] for x in X) for j in range(3)] + [sum(x[i] * y for x, y in zip(X, Y))]
     for i in range(3)]
for i in range(3):
    p = max(range(i, 3), key=lambda r: abs(A[r][i]))
    A[i], A[p] = A[p], A[i]
    for r in range(3):
        if r != i:
            k = A[r][i] / A[i][i]
            A[r] = [a - k * b for a, b in zip(A[r], A[i])]
a, b, c = (A[i][3] / A[i][i] for i in range(3))
residual = statistics.pstdev(y - (a + b * x[1] + c * x[2]) for x, y in zip(X, Y))
n = sum(1 for x in X if x[2]) or 1
stderr = residual * (2 / n) ** 0.5
print(f"   fit: {b:.3f} ms per fsync; linkedin {c:+.1f} ms +- {stderr:.1f} (one standard error) "
      f"= {c / api * 100:+.1f}% +- {stderr / api * 100:.1f}% of api's median CPU")
PY
fi
