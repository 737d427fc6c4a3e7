#!/usr/bin/env bash
# Planning a sequence (issue 13): ROWS recipients x 3 steps against the same
# recipients with one step.
#
# 1. writes ROWS (default 100,000) recipients and a template with
#    benches/gen_recipients.py, two follow-up templates, and two configs:
#    one-step.toml (the template only) and three-steps.toml ([[steps]] with
#    `after = "3d"` and `after = "2 business days"`);
# 2. times, with hyperfine (RUNS runs, 1 warm-up), `outreach plan` with each
#    config, as a table (validation, planning, the first rows and the
#    summary) and as JSON Lines (every message rendered and written).
#
# Target: three steps within 3x one step (three times the messages).
# Usage: benches/steps.sh [ROWS] [RUNS]   (defaults 100000 5)
# Needs hyperfine (Debian: apt-get install hyperfine).
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"

rows=${1:-100000}
runs=${2:-5}
tool hyperfine hyperfine
build
bench_dir
csv=$BENCH_DIR/recipients-$rows.csv
template=$BENCH_DIR/t.txt
if [[ ! -s "$csv" || ! -s "$template" ]]; then
    python3 "$HERE/benches/gen_recipients.py" "$rows" "$csv" --template "$template"
fi
sed 's/^/Following up: /' "$template" > "$BENCH_DIR/f2.txt"
sed 's/^/Last try: /' "$template" > "$BENCH_DIR/f3.txt"
printf 'template = "t.txt"\n' > "$BENCH_DIR/one-step.toml"
cat > "$BENCH_DIR/three-steps.toml" <<'TOML'
[[steps]]
template = "t.txt"
[[steps]]
template = "f2.txt"
after = "3d"
[[steps]]
template = "f3.txt"
after = "2 business days"
TOML
note_machine
echo "input:   $csv ($(du -h "$csv" | cut -f1), $rows rows)"

plan() {
    echo "$OUTREACH_BIN plan $csv --config $BENCH_DIR/$1 --rate 100/s --timezone UTC --start 2026-01-05T09:00:00Z ${2:-}"
}
hyperfine --warmup 1 --runs "$runs" --style basic \
    --export-json "$BENCH_DIR/steps-hyperfine.json" \
    -n one_step_table "$(plan one-step.toml) > /dev/null 2>/dev/null" \
    -n three_steps_table "$(plan three-steps.toml) > /dev/null 2>/dev/null" \
    -n one_step_json "$(plan one-step.toml '--format json') > /dev/null 2>/dev/null" \
    -n three_steps_json "$(plan three-steps.toml '--format json') > /dev/null 2>/dev/null"
