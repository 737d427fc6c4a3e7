#!/usr/bin/env bash
# Channel throughput (issue 12, performance): how fast one account sends
# e-mail over SMTP, and what an HTTP preset costs over today's fixed payload.
# Every server is `outreach sandbox` started here on 127.0.0.1 and stopped
# after its scenario; the sender is the release build.
#
# A. SMTP, one account, MESSAGES (default 2,000) e-mails to a local SMTP
#    sandbox (`outreach sandbox --smtp`), at --rate 1000/s and unbounded
#    (--rate 100000/s), RUNS (default 3) times each:
#      plain      tls = "none", auth = "none"
#      starttls   tls = "starttls" trusting the sandbox's certificate
#                 (--smtp-cert-out), auth = "password" (--smtp-user)
#    Target: >= 200 messages/s. Each run is checked: every recipient
#    received once (no Message-ID twice).
# B. HTTP, one account, MESSAGES messages, the same rate for all:
#      api        today's channel against `outreach sandbox`
#      linkedin   the linkedin preset (today's payload, as a declared
#                 request) against the same server: the presets' own cost
#      slack      the slack preset against `outreach sandbox --provider slack`
#                 (a different server personality on the same 2 cores)
#    at --rate 1000/s and unbounded, RUNS (default 3) times each, in a
#    rotating order. Target: a preset costs < 5% (messages/s and CPU seconds
#    of the sender per run).
#
# Messages/s = messages sent / (first `sending` to last `sent` event), as in
# docs/performance.md section 3; wall, CPU (user + sys) and peak RSS of the
# sender from GNU time.
#
# Usage: benches/smtp.sh [MESSAGES] [RUNS]   (defaults 2000 3)
# Needs GNU time (Debian: apt-get install time) and curl. BENCH_DIR=/some/dir
# keeps every run's events, logs and journals.
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"

messages=${1:-2000}
runs=${2:-3}
[[ -x /usr/bin/time ]] || { echo "GNU time not found (Debian: apt-get install time)" >&2; exit 1; }
tool curl curl
build
bench_dir
stats=$HERE/benches/events_stats.py

# Inputs: e-mail recipients for SMTP, the usual generated CSV for HTTP.
python3 - "$messages" "$BENCH_DIR/mail.csv" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w", encoding="utf-8") as out:
    out.write("recipient,first_name\n")
    for i in range(1, n + 1):
        out.write(f"r{i:05d}@example.test,Name{i}\n")
PY
printf 'Subject: Hello {{ first_name }}\n\nHi {{ first_name }}, a short note about our work.\n' >"$BENCH_DIR/mail.txt"
python3 "$HERE/benches/gen_recipients.py" "$messages" "$BENCH_DIR/api.csv" --template "$BENCH_DIR/api.txt"

SMTP_PORT=""
SERVER_STARTS=0
# Servers started here and not yet stopped; killed on any exit.
SERVER_PIDS=()
# SIGTERM, which the sandbox handles like Ctrl-C: a background job of a
# script starts with SIGINT ignored until the sandbox installs its handler.
trap 'for pid in "${SERVER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; _bench_cleanup' EXIT

# start_server [FLAGS...]: `outreach sandbox --port 0 --quiet FLAGS` on
# 127.0.0.1; sets SANDBOX_URL, SANDBOX_PID and, with --smtp, SMTP_PORT.
start_server() {
    # A file of its own: the background start may truncate a shared one
    # only after the loop below has read the previous server's lines.
    SERVER_STARTS=$((SERVER_STARTS + 1))
    local out=$BENCH_DIR/sandbox-$SERVER_STARTS.out
    : >"$out"
    "$OUTREACH_BIN" sandbox --port 0 --quiet --limit 1000000/s "$@" >"$out" 2>"$out.err" &
    SANDBOX_PID=$!
    SERVER_PIDS+=("$SANDBOX_PID")
    RECEIVED_BEFORE=0
    SANDBOX_URL=""
    SMTP_PORT=""
    for _ in $(seq 100); do
        SANDBOX_URL=$(sed -n 's/^listening on //p' "$out" | head -n 1)
        SMTP_PORT=$(sed -n 's/^smtp: listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$out" | head -n 1)
        [[ -n "$SANDBOX_URL" ]] && grep -q '^press Ctrl-C' "$out" && break
        sleep 0.1
    done
    case "$SANDBOX_URL" in
        http://127.0.0.1:*) ;;
        *) echo "the sandbox did not start on loopback:" >&2; cat "$out" "$out.err" >&2; exit 1 ;;
    esac
    if [[ " $* " == *" --smtp "* && -z "$SMTP_PORT" ]]; then
        echo "the SMTP sandbox did not say its port:" >&2; cat "$out" "$out.err" >&2; exit 1
    fi
}

# stop_server PID: SIGTERM (as Ctrl-C), then wait for it to exit.
stop_server() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local left=() pid
    for pid in "${SERVER_PIDS[@]}"; do
        [[ "$pid" == "$1" ]] || left+=("$pid")
    done
    SERVER_PIDS=("${left[@]}")
    [[ "$SANDBOX_PID" == "$1" ]] && SANDBOX_PID=""
    return 0
}

# received: what the SMTP server got since the last call (a fresh server
# starts at 0): messages, distinct recipients, repeated Message-IDs (one
# message delivered twice).
RECEIVED_BEFORE=0
received() {
    curl -s --noproxy '*' "$SANDBOX_URL/_sandbox/messages" >"$BENCH_DIR/received.json"
    python3 - "$BENCH_DIR/received.json" "$RECEIVED_BEFORE" <<'PY'
import json, sys
messages = json.load(open(sys.argv[1], encoding="utf-8"))[int(sys.argv[2]):]
recipients = {r for m in messages for r in m["recipients"]}
duplicates = sum(1 for m in messages if (m.get("smtp") or {}).get("duplicate_of"))
print(f"   received {len(messages)}, distinct recipients {len(recipients)}, "
      f"duplicate Message-IDs {duplicates}")
PY
    RECEIVED_BEFORE=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$BENCH_DIR/received.json")
}

# send_run NAME CSV TEMPLATE RATE: one `outreach send` with the scenario's
# config and its own journal, under GNU time; prints one line and appends
# `NAME RATE MESSAGES_PER_S CPU_S` to results.txt.
send_run() {
    local name=$1 csv=$2 template=$3 rate=$4
    local dir=$BENCH_DIR/$name
    rm -f "$dir"/state.outreach.db* "$dir/events.jsonl"
    local rc=0
    /usr/bin/time -v -o "$dir/time.txt" "$OUTREACH_BIN" send "$csv" -t "$template" \
        --config "$dir/outreach.toml" --state "$dir/state.outreach.db" \
        --timezone UTC --no-progress --rate "$rate" --events "$dir/events.jsonl" \
        2>"$dir/send.log" || rc=$?
    python3 "$stats" --json "$dir/events.jsonl" >"$dir/stats.json"
    python3 - "$name" "$rate" "$dir" "$rc" "$BENCH_DIR/results.txt" <<'PY'
import json, re, sys
name, rate, folder, rc, results = sys.argv[1:]
r = json.load(open(f"{folder}/stats.json", encoding="utf-8"))
text = open(f"{folder}/time.txt", encoding="utf-8", errors="replace").read()
def field(label):
    return re.search(re.escape(label) + r":\s*(.+)", text).group(1).strip()
cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
wall = sum(float(p) * 60 ** i for i, p in enumerate(reversed(
    field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"))))
rss = int(field("Maximum resident set size (kbytes)")) / 1024
rate_per_s = r.get("messages_per_s", 0.0)
print(f"   {name:<9} {rate_per_s:6.0f} messages/s ({r['sent']} sent), round trip p50 "
      f"{r['sending_to_sent']['p50_ms']:.2f} ms; process wall {wall:.2f} s, CPU {cpu:.2f} s, "
      f"peak RSS {rss:.0f} MB" + ("" if rc == "0" else f", EXIT {rc}"))
with open(results, "a", encoding="utf-8") as out:
    out.write(f"{name} {rate} {rate_per_s:.1f} {cpu:.3f}\n")
PY
}

# summary: per scenario and rate, the median (and range) of messages/s and
# of CPU seconds per run; then each preset over api at each rate.
summary() {
    python3 - "$BENCH_DIR/results.txt" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1], encoding="utf-8"):
    name, rate, per_s, cpu = line.split()
    runs.setdefault((name, rate), []).append((float(per_s), float(cpu)))
median = {}
for (name, rate), values in runs.items():
    per_s = sorted(p for p, _ in values)
    cpu = sorted(c for _, c in values)
    median[name, rate] = (statistics.median(per_s), statistics.median(cpu))
    print(f"   {name:<9} --rate {rate:<9} {len(values)} runs: messages/s median {median[name, rate][0]:.0f} "
          f"({per_s[0]:.0f}-{per_s[-1]:.0f}), CPU median {median[name, rate][1]:.2f} s "
          f"({cpu[0]:.2f}-{cpu[-1]:.2f})")
for rate in sorted({rate for _, rate in runs}, key=lambda r: float(r.split("/")[0])):
    for preset in ("linkedin", "slack"):
        if ("api", rate) in median and (preset, rate) in median:
            api, other = median["api", rate], median[preset, rate]
            print(f"   {preset} / api at --rate {rate}: messages/s {other[0] / api[0]:.3f}x, "
                  f"CPU {other[1] / api[1]:.3f}x")
PY
}

# scenario NAME CONFIG: a folder with outreach.toml = CONFIG.
scenario() {
    mkdir -p "$BENCH_DIR/$1"
    printf '%s\n' "$2" >"$BENCH_DIR/$1/outreach.toml"
}

note_machine
echo "messages: $messages per run, $runs runs per scenario and rate"
rm -f "$BENCH_DIR/results.txt"

echo
echo "== A. SMTP, 1 account, $messages e-mails"
start_server --smtp --smtp-port 0
scenario plain "[channel]
type = \"smtp\"
host = \"127.0.0.1\"
port = $SMTP_PORT
tls = \"none\"
auth = \"none\"
from = \"Bench <bench@example.test>\""
export OUTREACH_TOKEN=unused-without-login
for rate in 1000/s 100000/s; do
    for run in $(seq "$runs"); do
        echo "-- plain, --rate $rate, run $run"
        send_run plain "$BENCH_DIR/mail.csv" "$BENCH_DIR/mail.txt" "$rate"
        received
    done
done
stop_server "$SANDBOX_PID"
echo "load: $(uptime)"

start_server --smtp --smtp-port 0 --smtp-user bench=bench-password --smtp-cert-out "$BENCH_DIR/cert.pem"
scenario starttls "[channel]
type = \"smtp\"
host = \"127.0.0.1\"
port = $SMTP_PORT
tls = \"starttls\"
auth = \"password\"
username = \"bench\"
root_certificate = \"$BENCH_DIR/cert.pem\"
from = \"Bench <bench@example.test>\""
export OUTREACH_TOKEN=bench-password
for rate in 1000/s 100000/s; do
    for run in $(seq "$runs"); do
        echo "-- starttls + login, --rate $rate, run $run"
        send_run starttls "$BENCH_DIR/mail.csv" "$BENCH_DIR/mail.txt" "$rate"
        received
    done
done
stop_server "$SANDBOX_PID"
echo "load: $(uptime)"

echo
echo "== B. HTTP, 1 account, $messages messages: today's api channel vs the linkedin and slack presets"
start_server
api_url=$SANDBOX_URL
api_pid=$SANDBOX_PID
scenario api "endpoint = \"$api_url/v2/messages\""
start_server --provider slack --token bench=xoxb-bench
slack_pid=$SANDBOX_PID
scenario slack "[channel]
type = \"slack\"
base_url = \"$SANDBOX_URL\""
scenario linkedin "[channel]
type = \"linkedin\"
base_url = \"$api_url\""
for rate in 1000/s 100000/s; do
    for run in $(seq "$runs"); do
        echo "-- run $run, --rate $rate"
        # A rotating order, so a change of load hits all alike.
        case $((run % 3)) in
            1) order=(api linkedin slack) ;;
            2) order=(linkedin slack api) ;;
            0) order=(slack api linkedin) ;;
        esac
        for name in "${order[@]}"; do
            case $name in
                slack) token=xoxb-bench ;;
                *) token=sandbox-demo-token ;;
            esac
            OUTREACH_TOKEN=$token send_run "$name" "$BENCH_DIR/api.csv" "$BENCH_DIR/api.txt" "$rate"
        done
    done
done
stop_server "$api_pid"
stop_server "$slack_pid"
echo "load: $(uptime)"

echo
echo "== Summary"
summary
