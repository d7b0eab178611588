#!/usr/bin/env bash
# Benchmark: `rchart template` of a parent with 3 subcharts against one flat chart that
# renders the same ConfigMaps (4 x 50 templates of 50 keys each; see gen-deps-chart.py).
#
# Target: the parent with subcharts within 1.5x the flat chart. Each subchart has its own
# engine, values and context, so the difference is what dependencies cost.
#
# Usage: bench/deps.sh            (builds the release binary first; needs hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."

command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 1; }
cargo build --release --locked -p rchart >&2
rchart="$PWD/target/release/rchart"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/gen-deps-chart.py "$work" 50 50
for chart in flat tree; do
    "$rchart" template "$work/$chart" > "$work/$chart.yaml" 2>/dev/null
    echo "$chart: $(grep -c '^kind: ConfigMap' "$work/$chart.yaml") ConfigMaps, $(wc -c < "$work/$chart.yaml") bytes"
done
# The same objects, whichever chart rendered them
diff <(grep -v '^# Source:' "$work/flat.yaml" | sort) <(grep -v '^# Source:' "$work/tree.yaml" | sort) >/dev/null ||
    { echo "the two charts render different objects" >&2; exit 1; }

hyperfine --warmup 5 --runs 40 -N --export-json "$work/times.json" \
    "$rchart template $work/flat" \
    "$rchart template $work/tree" >/dev/null
python3 - "$work/times.json" <<'PY'
import json, sys
flat, tree = json.load(open(sys.argv[1]))["results"]
print(f"{'chart':<28} {'median ms':>10} {'min ms':>8}")
for name, r in [("flat (200 templates)", flat), ("parent + 3 subcharts", tree)]:
    print(f"{name:<28} {r['median']*1000:>10.2f} {r['min']*1000:>8.2f}")
print(f"ratio (median): {tree['median']/flat['median']:.2f}x  (target: at most 1.5x)")
PY
