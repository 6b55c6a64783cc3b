#!/usr/bin/env bash
# Scale harness: one release exporter reading 10 000 simulated meters over
# TCP on loopback; prints CPU (% of one core), resident memory and /metrics
# response time. Runs by hand (not in CI), about 3 minutes:
#   bash scripts/scale.sh                           # 10 000 meters, 60 s
#   SCALE_METERS=1000 SCALE_SECONDS=120 bash scripts/scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# One socket per simulated meter in the harness and one per meter in the
# exporter: 10 000 meters fit the usual hard limit of 20 000.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'), open-file limit $(ulimit -n), load average $(cut -d' ' -f1-3 /proc/loadavg)"
exec cargo test --release --locked --test scale -- --ignored --nocapture
