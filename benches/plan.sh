#!/usr/bin/env bash
# `outreach plan` on a big CSV against the csv crate alone (issue 2).
#
# 1. writes ROWS (default 1,000,000) recipients and a template with
#    benches/gen_recipients.py (kept in BENCH_DIR if it is set);
# 2. times, with hyperfine (RUNS runs, 1 warm-up):
#    - outreach plan big.csv -t t.txt --rate 100/s --timezone UTC
#        --start 2026-01-05T09:00:00Z --format json > /dev/null
#    - examples/csv_read big.csv            (ByteRecord, nothing kept: the floor)
#    - examples/csv_read big.csv --keep     (StringRecord, all kept in memory)
# 3. measures peak memory and CPU of each with GNU time -v.
#
# Targets: plan <= 2x the csv read, peak RSS < 300 MB.
# Usage: benches/plan.sh [ROWS] [RUNS]   (defaults 1000000 5)
# Needs hyperfine and GNU time (Debian: apt-get install hyperfine time).
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"

rows=${1:-1000000}
runs=${2:-5}
tool hyperfine hyperfine
[[ -x /usr/bin/time ]] || { echo "GNU time not found (Debian: apt-get install time)" >&2; exit 1; }
build
bench_dir
csv=$BENCH_DIR/recipients-$rows.csv
template=$BENCH_DIR/t.txt
if [[ ! -s "$csv" || ! -s "$template" ]]; then
    python3 "$HERE/benches/gen_recipients.py" "$rows" "$csv" --template "$template"
fi
note_machine
echo "input:   $csv ($(du -h "$csv" | cut -f1), $rows rows)"

plan=("$OUTREACH_BIN" plan "$csv" -t "$template" --rate 100/s --timezone UTC
    --start 2026-01-05T09:00:00Z --format json)
hyperfine --warmup 1 --runs "$runs" --style basic \
    --export-json "$BENCH_DIR/plan-hyperfine.json" \
    -n plan "${plan[*]} > /dev/null 2>/dev/null" \
    -n csv_read "$EXAMPLES/csv_read $csv" \
    -n csv_read_keep "$EXAMPLES/csv_read $csv --keep"

echo
measure_time "plan          " "${plan[@]}" 2>/dev/null
measure_time "csv_read      " "$EXAMPLES/csv_read" "$csv"
measure_time "csv_read_keep " "$EXAMPLES/csv_read" "$csv" --keep

python3 - "$BENCH_DIR/plan-hyperfine.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
plan, floor = results["plan"]["median"], results["csv_read"]["median"]
print(f"\nwall medians: plan {plan:.3f} s, csv_read {floor:.3f} s, "
      f"csv_read --keep {results['csv_read_keep']['median']:.3f} s; "
      f"plan / csv_read = {plan / floor:.1f}x (target <= 2x)")
cpu = {name: r["user"] + r["system"] for name, r in results.items()}
print(f"cpu (user+sys) means: plan {cpu['plan']:.3f} s, csv_read {cpu['csv_read']:.3f} s, "
      f"csv_read --keep {cpu['csv_read_keep']:.3f} s; plan / csv_read = {cpu['plan'] / cpu['csv_read']:.1f}x")
PY
echo "load:    $(uptime)"
