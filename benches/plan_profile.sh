#!/usr/bin/env bash
# Where `outreach plan` spends its instructions and its memory, on ROWS
# (default 50,000) rows: callgrind instruction counts (exact, independent of
# the machine's load) for plan --format json, plan --format table and the csv
# crate alone, the top inclusive functions of plan --format json, and massif's
# peak heap by allocation site in our crate.
#
# Usage: benches/plan_profile.sh [ROWS]
# Needs valgrind (Debian: apt-get install valgrind). Takes about a minute per
# 50,000 rows on a quiet 2-core machine.
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"

rows=${1:-50000}
tool valgrind valgrind
build
bench_dir
csv=$BENCH_DIR/recipients-$rows.csv
template=$BENCH_DIR/t.txt
if [[ ! -s "$csv" || ! -s "$template" ]]; then
    python3 "$HERE/benches/gen_recipients.py" "$rows" "$csv" --template "$template"
fi
note_machine
plan=("$OUTREACH_BIN" plan "$csv" -t "$template" --rate 100/s --timezone UTC --start 2026-01-05T09:00:00Z)

instructions() { # instructions LABEL OUT CMD...
    local label=$1 out=$2
    shift 2
    valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>"$out.log"
    local total
    total=$(sed -n 's/.*Collected : //p' "$out.log")
    printf '%-22s %15s instructions (%s per row)\n' "$label" "$total" "$((total / rows))"
}
instructions "plan --format json" "$BENCH_DIR/cg.plan-json.out" "${plan[@]}" --format json
instructions "plan (table)" "$BENCH_DIR/cg.plan-table.out" "${plan[@]}"
instructions "csv_read" "$BENCH_DIR/cg.csv-read.out" "$EXAMPLES/csv_read" "$csv"
instructions "csv_read --keep" "$BENCH_DIR/cg.csv-keep.out" "$EXAMPLES/csv_read" "$csv" --keep

echo
echo "plan --format json, inclusive, top functions:"
callgrind_annotate --inclusive=yes "$BENCH_DIR/cg.plan-json.out" 2>/dev/null \
    | grep -E '^ *[0-9,]+ \( *[0-9.]+%\) .*\]$' \
    | grep -E 'outreach::|minijinja::template|minijinja::environment|serde_json|csv::|hash_one|format_inner|to_rfc3339|malloc|free' \
    | sed -E 's/ \[[^]]*\]$//; s/^( *[0-9,]+ \( *[0-9.]+%\)) +[^:]*:/\1 /' | head -30

echo
echo "peak heap of plan --format json (massif):"
valgrind --tool=massif --massif-out-file="$BENCH_DIR/massif.plan.out" "${plan[@]}" --format json >/dev/null 2>/dev/null
python3 "$HERE/benches/massif_top.py" "$BENCH_DIR/massif.plan.out"
echo "load:    $(uptime)"
