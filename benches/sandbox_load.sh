#!/usr/bin/env bash
# Load-test the sandbox on loopback with wrk; see docs/performance-sandbox.md.
#
# Starts the release build of `outreach sandbox` on 127.0.0.1 (a free port,
# --quiet, a limit so high it never throttles), runs wrk for a bounded time
# with keep-alive connections POSTing a message with a bearer token, prints
# wrk's report and the sandbox's counters, and stops the server.
#
# Usage: benches/sandbox_load.sh [DURATION] [CONNECTIONS] [THREADS]
#   defaults: 5s 16 1. Extra sandbox flags via SANDBOX_FLAGS, e.g.
#   SANDBOX_FLAGS="--headers ietf --window fixed" benches/sandbox_load.sh
# Needs wrk (Debian: apt-get install wrk). Builds with cargo unless
# OUTREACH_BIN points at a binary.
set -euo pipefail

duration=${1:-5s}
connections=${2:-16}
threads=${3:-1}
here=$(cd "$(dirname "$0")/.." && pwd)

command -v wrk >/dev/null || { echo "wrk not found; install it (Debian: apt-get install wrk)" >&2; exit 1; }

if [[ -z "${OUTREACH_BIN:-}" ]]; then
    (cd "$here" && cargo build --release --quiet)
    target=${CARGO_TARGET_DIR:-$here/target}
    OUTREACH_BIN=$target/release/outreach
fi

workdir=$(mktemp -d)
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill -INT "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT

# shellcheck disable=SC2086 # SANDBOX_FLAGS is a list of flags
"$OUTREACH_BIN" sandbox --port 0 --quiet --limit 1000000/s --token bench=bench-token \
    ${SANDBOX_FLAGS:-} >"$workdir/stdout" 2>"$workdir/stderr" &
server_pid=$!

url=""
for _ in $(seq 100); do
    if [[ -s "$workdir/stdout" ]]; then
        url=$(sed -n 's/^listening on //p' "$workdir/stdout" | head -n 1)
        [[ -n "$url" ]] && break
    fi
    sleep 0.1
done
if [[ -z "$url" ]]; then
    echo "the sandbox did not start:" >&2
    cat "$workdir/stderr" >&2
    exit 1
fi
case "$url" in
    http://127.0.0.1:*) ;;
    *) echo "refusing to load anything but loopback: $url" >&2; exit 1 ;;
esac

cat >"$workdir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"recipients":["load@example.com"],"subject":"Load test","body":"Hello from wrk"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-token"

done = function(summary, latency, requests)
    io.write(string.format("non-2xx/3xx: %d, socket errors: connect %d read %d write %d timeout %d\n",
        summary.errors.status, summary.errors.connect, summary.errors.read,
        summary.errors.write, summary.errors.timeout))
end
LUA

echo "sandbox: $url ($(nproc) cores), wrk -t$threads -c$connections -d$duration"
wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$workdir/post.lua" "$url/v2/messages"
if command -v curl >/dev/null; then
    echo "sandbox stats: $(curl -s --noproxy '*' "$url/_sandbox/stats")"
fi
