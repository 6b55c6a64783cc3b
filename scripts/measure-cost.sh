#!/usr/bin/env bash
# Measures what one exporter costs with one meter at one telegram a second:
# resident memory, CPU share of one core, and /metrics response time.
# Runs by hand (not in CI):  bash scripts/measure-cost.sh [SECONDS]
# EVENTS=N keeps N live-page clients (/events streams) connected meanwhile
# (at most 32 are served; the others retry after 3 s, as a browser does).
# METERS=N reads N demo meters (a generated --config) instead of one.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
port=19947
cargo build --release --locked --bin dsmr-exporter >/dev/null 2>&1
bin=target/release/dsmr-exporter
meters="${METERS:-1}"
if [ "$meters" -gt 1 ]; then
  dir=$(mktemp -d)
  {
    printf '[web]\nlisten_address = "127.0.0.1:%s"\n' "$port"
    for i in $(seq "$meters"); do printf '\n[[meter]]\nname = "d%05d"\ndemo = true\n' "$i"; done
  } >"$dir/meters.toml"
  "$bin" --config "$dir/meters.toml" --log-level warn &
else
  "$bin" --demo --web.listen-address "127.0.0.1:$port" --log-level warn &
fi
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/metrics" >/dev/null && break; sleep 0.1; done
sleep 3 # let the first telegrams arrive
events=()
for _ in $(seq "${EVENTS:-0}"); do
  # Reconnect like a browser when the server ends a stream (connection
  # lifetime) or refuses one: EventSource waits about 3 s before it retries.
  (while true; do curl -sN "http://127.0.0.1:$port/events" >/dev/null 2>&1; sleep 3; done) &
  events+=($!)
done
trap 'kill "$pid" "${events[@]}" 2>/dev/null; pkill -P $$ curl 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
tck=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
c0=$(cpu); t0=$(date +%s.%N)
sleep "$secs"
c1=$(cpu); t1=$(date +%s.%N)
rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
hwm_kib=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
cpu_pct=$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" -v hz="$tck" 'BEGIN { printf "%.3f", (b - a) / hz / (e - s) * 100 }')
# 200 scrapes, one connection each, as Prometheus does it; the median and 99th percentile.
times=$(for _ in $(seq 200); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/metrics"; done | sort -n)
median=$(echo "$times" | awk '{a[NR]=$1} END {printf "%.3f", a[int(NR/2)] * 1000}')
p99=$(echo "$times" | awk '{a[NR]=$1} END {printf "%.3f", a[int(NR*0.99)] * 1000}')
series=$(curl -s "http://127.0.0.1:$port/metrics" | grep -vc '^#')
echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')"
echo "run of ${secs}s with ${meters} demo meter(s) (1 telegram/s each, ${series} series, ${EVENTS:-0} /events clients):"
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo "  resident memory: $(mib "$rss_kib") MiB (peak $(mib "$hwm_kib") MiB)"
echo "  CPU: ${cpu_pct}% of one core"
echo "  /metrics over HTTP (curl, new connection each): median ${median} ms, p99 ${p99} ms"
