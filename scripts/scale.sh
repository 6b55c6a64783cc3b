#!/usr/bin/env bash
# Scale harness: one release exporter reading 1 000 simulated meters over
# TCP on loopback; prints CPU (% of one core), resident memory and /metrics
# response time. Runs by hand (not in CI), about 2 minutes:
#   bash scripts/scale.sh            # 1000 meters, 60 s
#   SCALE_METERS=2000 SCALE_SECONDS=120 bash scripts/scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# Two sockets per simulated meter in the harness, one per meter in the exporter.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'), open-file limit $(ulimit -n)"
exec cargo test --release --locked --test scale -- --ignored --nocapture
