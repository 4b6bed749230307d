#!/usr/bin/env bash
# `make bench-matching`: FEBRL4 linked by the engine and by Splink in the
# same run, three times each, medians side by side; then the person index
# at 100,000 and 1,000,000 synthetic people. Python packages go into a
# virtualenv of their own (requirements.txt pins them).
set -euo pipefail
cd "$(dirname "$0")/../../.."
CARGO="${CARGO:-cargo}"
RUNS="${MATCHING_BENCH_RUNS:-3}"
venv="${MATCHING_BENCH_VENV:-$HOME/.cache/casework/matching-bench-venv}"
if ! "$venv/bin/python" -c 'import splink, recordlinkage' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r libs/matching/bench/requirements.txt
fi
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

"$venv/bin/python" libs/matching/bench/febrl4.py "$data"
# Build first, so that no run is timed while compiling.
$CARGO bench ${CARGOFLAGS:-} -p casework-matching --no-run -q
for run in $(seq 1 "$RUNS"); do
  $CARGO bench ${CARGOFLAGS:-} -q -p casework-matching --bench febrl4 -- "$data" > "$data/engine-$run.json"
  "$venv/bin/python" libs/matching/bench/splink_febrl4.py "$data" > "$data/splink-$run.json" 2> "$data/splink-$run.log"
done

python3 - "$data" "$RUNS" <<'PY'
import json, statistics, sys
data, runs = sys.argv[1], int(sys.argv[2])
def load(tool):
    return [json.load(open(f"{data}/{tool}-{r}.json")) for r in range(1, runs + 1)]
engine, splink = load("engine"), load("splink")
def median(rows, key):
    return statistics.median(key(r) for r in rows)
rows = [
    ("casework-matching (best candidate)", engine, lambda r: r["best_candidate"], "match weight >= %s" % engine[0]["match_weight"]),
    ("casework-matching (every pair)", engine, lambda r: r["all_pairs_above_threshold"], "match weight >= %s" % engine[0]["match_weight"]),
    ("Splink %s (DuckDB %s)" % (splink[0]["version"], splink[0].get("duckdb_version", "?")), splink, lambda r: r, "match probability >= %s" % splink[0]["threshold_match_probability"]),
]
print(f"FEBRL4, {engine[0]['true_links']} true links, medians of {runs} runs in one session\n")
print("| linker | threshold | pairs | TP | FP | FN | precision | recall | F1 | train s | predict s | total s |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for name, results, figures, threshold in rows:
    f = figures(results[0])
    print("| %s | %s | %d | %d | %d | %d | %.4f | %.4f | %.4f | %.2f | %.3f | %.2f |" % (
        name, threshold, f["pairs_predicted"], f["tp"], f["fp"], f["fn"], f["precision"], f["recall"], f["f1"],
        median(results, lambda r: r["seconds_train"]), median(results, lambda r: r["seconds_predict"]),
        median(results, lambda r: r["seconds_total"])))
ratio = median(splink, lambda r: r["seconds_total"]) / median(engine, lambda r: r["seconds_total"])
print(f"\nSplink's total time / the engine's: {ratio:.1f}x")
PY
echo
$CARGO bench ${CARGOFLAGS:-} -q -p casework-matching --bench index
