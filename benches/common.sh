# shellcheck shell=bash
# Shared by the benchmark scripts in benches/; source it, do not run it.
#
# Provides:
#   build                 release build of outreach and the bench examples;
#                         sets OUTREACH_BIN and EXAMPLES (a directory)
#   bench_dir             sets BENCH_DIR (default: a fresh temp dir; keep data
#                         between runs with BENCH_DIR=/some/dir)
#   start_sandbox FLAGS   starts `outreach sandbox --port 0 --quiet FLAGS` on
#                         127.0.0.1, sets SANDBOX_URL and SANDBOX_PID; stopped
#                         with SIGINT on exit
#   note_machine          prints the machine, the build and `uptime`
#   tool NAME PACKAGE     fails with an install hint if NAME is missing
#
# Nothing but 127.0.0.1 is ever contacted.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SANDBOX_PID=""
SANDBOX_URL=""
CLEANUP_DIRS=()

_bench_cleanup() {
    if [[ -n "$SANDBOX_PID" ]]; then
        kill -INT "$SANDBOX_PID" 2>/dev/null || true
        wait "$SANDBOX_PID" 2>/dev/null || true
    fi
    for dir in "${CLEANUP_DIRS[@]}"; do
        rm -rf "$dir"
    done
}
trap _bench_cleanup EXIT

tool() {
    command -v "$1" >/dev/null || {
        echo "$1 not found; install it (Debian: apt-get install $2)" >&2
        exit 1
    }
}

build() {
    local target=${CARGO_TARGET_DIR:-$HERE/target}
    if [[ -z "${OUTREACH_BIN:-}" ]]; then
        (cd "$HERE" && cargo build --release --quiet --bin outreach --examples)
        OUTREACH_BIN=$target/release/outreach
    fi
    EXAMPLES=${EXAMPLES:-$target/release/examples}
}

bench_dir() {
    if [[ -z "${BENCH_DIR:-}" ]]; then
        BENCH_DIR=$(mktemp -d)
        CLEANUP_DIRS+=("$BENCH_DIR")
    fi
    mkdir -p "$BENCH_DIR"
}

note_machine() {
    echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
        "$(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo) RAM"
    echo "build:   $("$OUTREACH_BIN" --version 2>/dev/null || echo outreach), $(rustc --version 2>/dev/null || echo rustc ?)"
    echo "load:    $(uptime)"
}

# start_sandbox [FLAGS...]
start_sandbox() {
    local out
    out=$(mktemp)
    CLEANUP_DIRS+=("$out")
    "$OUTREACH_BIN" sandbox --port 0 --quiet "$@" >"$out" 2>"$out.err" &
    SANDBOX_PID=$!
    CLEANUP_DIRS+=("$out.err")
    for _ in $(seq 100); do
        SANDBOX_URL=$(sed -n 's/^listening on //p' "$out" | head -n 1)
        [[ -n "$SANDBOX_URL" ]] && break
        sleep 0.1
    done
    if [[ -z "$SANDBOX_URL" ]]; then
        echo "the sandbox did not start:" >&2
        cat "$out.err" >&2
        exit 1
    fi
    case "$SANDBOX_URL" in
        http://127.0.0.1:*) ;;
        *) echo "refusing anything but loopback: $SANDBOX_URL" >&2; exit 1 ;;
    esac
}

# Peak RSS (MB) and CPU of a command, from GNU time: prints one line.
# usage: measure_time LABEL CMD...   (stdout of CMD goes to /dev/null, its
# stderr to the caller's stderr)
measure_time() {
    local label=$1
    shift
    local log
    log=$(mktemp)
    CLEANUP_DIRS+=("$log")
    local rc=0
    /usr/bin/time -v -o "$log" "$@" >/dev/null || rc=$?
    python3 - "$label" "$log" "$rc" <<'PY'
import re, sys
label, path, rc = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path, encoding="utf-8", errors="replace").read()
def field(name):
    m = re.search(re.escape(name) + r":\s*(.+)", text)
    return m.group(1).strip() if m else "?"
user, sys_ = float(field("User time (seconds)")), float(field("System time (seconds)"))
wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
parts = [float(p) for p in wall.split(":")]
secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
rss = int(field("Maximum resident set size (kbytes)")) / 1024
print(f"{label}: wall {secs:.2f} s, user {user:.2f} s, sys {sys_:.2f} s, "
      f"cpu {(user + sys_) / secs if secs else 0:.2f} cores, peak RSS {rss:.0f} MB"
      + ("" if rc == "0" else f", exit {rc}"))
PY
}
