#!/usr/bin/env bash
# Load benchmark of the multiroute server: wrk against a release build on 127.0.0.1.
#
# Measures requests/s and p99 latency of a configured route (/route1) and of /healthz as the
# baseline (the same HTTP stack without the route lookup), plus the server's memory under load.
# Both run on this machine, so the load generator competes with the server for the CPUs.
#
# Usage: bench/server-load.sh
# Environment:
#   DURATION=10s      length of each measured run (wrk duration syntax)
#   RUNS=3            runs per endpoint; the median of each figure is reported
#   CONNECTIONS=64    concurrent connections
#   WRK_THREADS=1     load generator threads (one leaves the other CPU of a 2-CPU machine to the server)
#   WORKERS=          server worker threads (default: all CPUs)
#   STRICT=1          exit 1 when a target is missed
#
# Targets: >= 50000 requests/s and p99 < 5 ms on /route1, RSS < 20 MB.

set -euo pipefail

DURATION="${DURATION:-10s}"
RUNS="${RUNS:-3}"
CONNECTIONS="${CONNECTIONS:-64}"
WRK_THREADS="${WRK_THREADS:-1}"
WORKERS="${WORKERS:-}"
STRICT="${STRICT:-0}"

MIN_RPS=50000
MAX_P99_MS=5
MAX_RSS_KB=$((20 * 1024))

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$repo_root/target}"
binary="$target_dir/release/multiroute"

if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing wrk" >&2
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    else
        echo "error: wrk is not installed (Debian/Ubuntu: apt-get install wrk)" >&2
        exit 1
    fi
fi

echo "building multiroute (release)" >&2
(cd "$repo_root" && cargo build --release --locked -p multiroute --quiet)

work_dir="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work_dir"
}
trap cleanup EXIT

cat >"$work_dir/config.yml" <<'EOF'
routes:
  /route1: "route1's content"
  /route2: "route2's content"
EOF

server_args=(--config "$work_dir/config.yml" --listen 127.0.0.1:0)
if [ -n "$WORKERS" ]; then
    server_args+=(--workers "$WORKERS")
fi
: >"$work_dir/server.log"
"$binary" "${server_args[@]}" 2>"$work_dir/server.log" &
server_pid=$!

# The server logs the port it was given; wait for that line (up to 10 s).
addr=""
for _ in $(seq 100); do
    addr="$(sed -n 's/.*"message":"listening","addr":"\([^"]*\)".*/\1/p' "$work_dir/server.log")"
    [ -n "$addr" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work_dir/server.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$addr" ] || { echo "error: the server did not start" >&2; cat "$work_dir/server.log" >&2; exit 1; }

# Converts a wrk latency (e.g. 812.00us, 1.43ms, 1.02s) to milliseconds.
to_ms() {
    awk -v value="$1" 'BEGIN {
        if (value ~ /us$/) { sub(/us$/, "", value); printf "%.3f", value / 1000 }
        else if (value ~ /ms$/) { sub(/ms$/, "", value); printf "%.3f", value }
        else if (value ~ /s$/) { sub(/s$/, "", value); printf "%.3f", value * 1000 }
        else { print "nan" }
    }'
}

# Peak VmRSS (kB) of the server, sampled while wrk runs.
peak_rss_kb=0
sample_rss() {
    local rss
    rss="$(awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status")"
    if [ "$rss" -gt "$peak_rss_kb" ]; then peak_rss_kb="$rss"; fi
}

# Runs wrk against a path, sampling the server's memory every 200 ms meanwhile, and keeps
# wrk's report in $work_dir/<path>.<run>.txt.
measure() {
    local path="$1" run="$2" report wrk_pid
    report="$work_dir/${path//\//_}.$run.txt"
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://$addr$path" >"$report" &
    wrk_pid=$!
    while kill -0 "$wrk_pid" 2>/dev/null; do
        sample_rss
        sleep 0.2
    done
    wait "$wrk_pid"
    if grep -q "Non-2xx" "$report"; then
        echo "error: $path answered non-2xx responses:" >&2
        cat "$report" >&2
        exit 1
    fi
}

median() { sort -n | awk '{ values[NR] = $1 } END { print values[int((NR + 1) / 2)] }'; }

# Median requests/s of the runs against a path.
requests_per_second() {
    for report in "$work_dir/${1//\//_}".*.txt; do
        awk '/^Requests\/sec:/ { printf "%.0f\n", $2 }' "$report"
    done | median
}

# Median p99 latency (ms) of the runs against a path.
p99_ms() {
    for report in "$work_dir/${1//\//_}".*.txt; do
        to_ms "$(awk '$1 == "99%" { print $2 }' "$report")"
        echo
    done | median
}

echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run" >&2
echo "server on $addr; wrk: $WRK_THREADS threads, $CONNECTIONS connections, $RUNS runs of $DURATION per endpoint" >&2

# Warm-up: first connections, allocator pools, CPU frequency.
wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d2s "http://$addr/route1" >/dev/null

# Alternate the endpoints so that a burst of other activity on the machine hits both.
for run in $(seq "$RUNS"); do
    measure /healthz "$run"
    measure /route1 "$run"
done
base_rps="$(requests_per_second /healthz)" base_p99="$(p99_ms /healthz)"
route_rps="$(requests_per_second /route1)" route_p99="$(p99_ms /route1)"
hwm_kb="$(awk '/^VmHWM:/ { print $2 }' "/proc/$server_pid/status")"
# The kernel updates VmHWM lazily, so a sample can exceed it: report the larger.
rss_kb=$((peak_rss_kb > hwm_kb ? peak_rss_kb : hwm_kb))

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

printf '\nmedian of %s runs\n%-10s %12s %10s\n' "$RUNS" "endpoint" "requests/s" "p99 ms"
printf '%-10s %12s %10s\n' "/healthz" "$base_rps" "$base_p99"
printf '%-10s %12s %10s\n' "/route1" "$route_rps" "$route_p99"
printf '\n/route1 vs /healthz: %sx requests/s, %sx p99\n' \
    "$(ratio "$route_rps" "$base_rps")" "$(ratio "$route_p99" "$base_p99")"
printf 'server memory under load: peak RSS %s kB (sampled VmRSS %s kB, VmHWM %s kB)\n\n' \
    "$rss_kb" "$peak_rss_kb" "$hwm_kb"

missed=0
check() {
    local name="$1" ok="$2"
    if [ "$ok" = 1 ]; then echo "target met:    $name"; else echo "target missed: $name"; missed=1; fi
}
check "requests/s >= $MIN_RPS (got $route_rps)" "$(awk -v v="$route_rps" -v t="$MIN_RPS" 'BEGIN { print (v >= t) }')"
check "p99 < ${MAX_P99_MS} ms (got $route_p99 ms)" "$(awk -v v="$route_p99" -v t="$MAX_P99_MS" 'BEGIN { print (v < t) }')"
check "RSS < $((MAX_RSS_KB / 1024)) MB (got $rss_kb kB)" "$(awk -v v="$rss_kb" -v t="$MAX_RSS_KB" 'BEGIN { print (v < t) }')"

if [ "$missed" = 1 ] && [ "$STRICT" = 1 ]; then
    exit 1
fi
