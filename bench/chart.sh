#!/usr/bin/env bash
# Benchmark: `rchart template` and `rchart package` on a generated chart of 200 templates,
# each a ConfigMap with 50 keys (about 570 KB rendered).
#
# Targets (2-core machine): template under 15 ms wall with peak RSS under 15 MB;
# package under 10 ms. Figures are reported next to a baseline from the same run:
# `rchart --version`, which is process start-up and nothing else.
#
# Wall times on a shared VM drift by half from one hour to the next, so where valgrind is
# installed the script also counts instructions (callgrind), which do not drift.
#
# Usage: bench/chart.sh            (builds the release binary first; needs hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."

command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 1; }
cargo build --release --locked -p rchart >&2
rchart="$PWD/target/release/rchart"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/gen-chart.py "$work/bench" 200 50
"$rchart" template "$work/bench" > "$work/out.yaml"
echo "rendered output: $(wc -c < "$work/out.yaml") bytes, $(grep -c '^kind:' "$work/out.yaml") manifests"

hyperfine --warmup 5 --runs 40 -N --export-json "$work/times.json" \
    "$rchart --version" \
    "$rchart template $work/bench" \
    "$rchart package $work/bench -d $work/dist" >/dev/null

peak_rss_kb() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
python3 - "$work/times.json" "$(peak_rss_kb "$rchart" --version)" \
    "$(peak_rss_kb "$rchart" template "$work/bench")" "$(peak_rss_kb "$rchart" package "$work/bench" -d "$work/dist")" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
rss = [int(x) / 1024 for x in sys.argv[2:5]]
base = results[0]["median"]
print(f"{'command':<10} {'median ms':>10} {'min ms':>8} {'x start-up':>11} {'peak RSS MB':>12}")
for name, result, mem in zip(["start-up", "template", "package"], results, rss):
    print(f"{name:<10} {result['median']*1000:>10.2f} {result['min']*1000:>8.2f} {result['median']/base:>11.1f} {mem:>12.1f}")
PY

if command -v valgrind >/dev/null; then
    instructions() {
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
            sed -n 's/.*refs: *//p' | tr -d ,
    }
    base=$(instructions "$rchart" --version)
    template=$(instructions "$rchart" template "$work/bench")
    package=$(instructions "$rchart" package "$work/bench" -d "$work/dist")
    echo
    printf '%-10s %14s %11s\n' command instructions "x start-up"
    for row in "start-up $base" "template $template" "package $package"; do
        set -- $row
        printf '%-10s %14s %11.1f\n' "$1" "$2" "$(awk -v n="$2" -v d="$base" 'BEGIN { print n / d }')"
    done
fi
