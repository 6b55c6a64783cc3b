#!/usr/bin/env bash
# Beyond one machine, proven on one: EXPORTERS exporters (default 6) of
# METERS demo meters each (default 5), scraped by two Prometheus servers in
# agent mode that split the exporters between them by `hashmod`
# relabelling and remote-write everything to one central Prometheus with
# the remote-write receiver on. Checks, on the central server, that every
# meter's series arrived, each exactly once, and that both agents did
# their share. All Debian's `prometheus` (2.42: agent mode is
# `--enable-feature=agent`; Prometheus 3 spells it `--agent`).
#
#   bash scripts/scale-out.sh [PATH-TO-dsmr-exporter]
#
# Without an argument it uses target/release/dsmr-exporter (built if
# missing). docs/scale.md shows the configurations it writes. About 20 s.
set -euo pipefail
cd "$(dirname "$0")/.."
EXPORTERS=${EXPORTERS:-6}
METERS=${METERS:-5}
BIN=${1:-target/release/dsmr-exporter}
if [ ! -x "$BIN" ]; then
    cargo build --release --locked --bin dsmr-exporter
fi
command -v prometheus >/dev/null || { echo "scale-out: needs Debian's prometheus (apt-get install prometheus)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dsmr-scale-out-XXXXXX")
PIDS=()
cleanup() {
    # Agents first (they were started last), so none waits on the central server.
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[$i]}" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then echo "scale-out: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits for a log line "serving metrics on http://ADDR/..." and prints ADDR.
exporter_address() {
    local log=$1
    for _ in $(seq 100); do
        if grep -qs "serving metrics on http://" "$log"; then
            sed -n 's|.*serving metrics on http://\([^/]*\)/.*|\1|p' "$log" | head -n1
            return
        fi
        sleep 0.1
    done
    echo "scale-out: exporter did not start: $(cat "$log")" >&2
    exit 1
}

wait_ready() {
    for _ in $(seq 100); do
        curl -sf "http://$1/-/ready" >/dev/null && return
        sleep 0.2
    done
    echo "scale-out: $2 on $1 is not ready; its log:" >&2
    cat "$3" >&2
    exit 1
}

# 1. The exporters, meter names unique across all of them.
TARGETS=""
for e in $(seq 0 $((EXPORTERS - 1))); do
    cfg="$WORK/exporter-e$e.toml"
    printf '[web]\nlisten_address = "127.0.0.1:0"\n' >"$cfg"
    for m in $(seq 0 $((METERS - 1))); do
        printf '\n[[meter]]\nname = "e%d-m%d"\ndemo = true\n' "$e" "$m" >>"$cfg"
    done
    "$BIN" --config "$cfg" --log-format text >"$WORK/exporter-e$e.log" 2>&1 &
    PIDS+=($!)
    addr=$(exporter_address "$WORK/exporter-e$e.log")
    TARGETS+="      - targets: [\"$addr\"]
        labels: { exporter: e$e }
"
done

# 2. The central Prometheus: no scraping of its own, receives remote writes.
CENTRAL=127.0.0.1:$(free_port)
cat >"$WORK/central.yml" <<YAML
global:
  evaluation_interval: 1s
YAML
prometheus --config.file="$WORK/central.yml" --web.listen-address="$CENTRAL" \
    --storage.tsdb.path="$WORK/central-data" --web.enable-remote-write-receiver \
    >"$WORK/central.log" 2>&1 &
PIDS+=($!)

# 3. Two agents: each keeps the exporters whose hash of the `exporter`
#    label falls in its shard, and remote-writes what it scrapes.
AGENTS=()
for shard in 0 1; do
    cat >"$WORK/agent-$shard.yml" <<YAML
global:
  scrape_interval: 1s
  external_labels: { agent: "$shard" }
scrape_configs:
  - job_name: dsmr
    static_configs:
$TARGETS
    relabel_configs:
      - source_labels: [exporter]
        modulus: 2
        target_label: __tmp_hash
        action: hashmod
      - source_labels: [__tmp_hash]
        regex: "$shard"
        action: keep
remote_write:
  - url: http://$CENTRAL/api/v1/write
    queue_config: { batch_send_deadline: 1s }
YAML
    port=127.0.0.1:$(free_port)
    prometheus --enable-feature=agent --config.file="$WORK/agent-$shard.yml" \
        --web.listen-address="$port" --storage.agent.path="$WORK/agent-$shard-data" \
        --storage.remote.flush-deadline=1s \
        >"$WORK/agent-$shard.log" 2>&1 &
    PIDS+=($!)
    AGENTS+=("$port")
done
echo "scale-out: started all after ${SECONDS}s"
wait_ready "$CENTRAL" central "$WORK/central.log"
for shard in 0 1; do wait_ready "${AGENTS[$shard]}" "agent $shard" "$WORK/agent-$shard.log"; done

# 4. On the central server: every meter once, every exporter once, both agents used.
query() {
    curl -sf --get "http://$CENTRAL/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(" ".join(sorted("%s=%s" % (",".join(v for k,v in s["metric"].items()), s["value"][1]) for s in r)))'
}
echo "scale-out: prometheus servers ready after ${SECONDS}s"
want_meters=$((EXPORTERS * METERS))
for _ in $(seq 60); do
    per_meter=$(query 'count by (meter) (dsmr_telegrams_total{result="ok"})')
    got=$(wc -w <<<"$per_meter")
    [ "$got" -ge "$want_meters" ] && break
    sleep 1
done
echo "central: series of dsmr_telegrams_total{result=\"ok\"} per meter: $per_meter"
fail=0
[ "$got" -eq "$want_meters" ] || { echo "scale-out: $got meters arrived, not $want_meters" >&2; fail=1; }
if grep -qv '=1$' <<<"$(tr ' ' '\n' <<<"$per_meter")"; then
    echo "scale-out: a meter's series arrived more than once" >&2; fail=1
fi
per_exporter=$(query 'count by (exporter) (dsmr_exporter_build_info)')
echo "central: build info series per exporter: $per_exporter"
[ "$(wc -w <<<"$per_exporter")" -eq "$EXPORTERS" ] || { echo "scale-out: not every exporter arrived" >&2; fail=1; }
if grep -qv '=1$' <<<"$(tr ' ' '\n' <<<"$per_exporter")"; then
    echo "scale-out: an exporter was scraped by both agents" >&2; fail=1
fi
per_agent=$(query 'count by (agent) (up)')
echo "central: targets per agent: $per_agent"
[ "$(wc -w <<<"$per_agent")" -eq 2 ] || { echo "scale-out: an agent scraped nothing" >&2; fail=1; }
[ "$fail" -eq 0 ] && echo "scale-out: ok: $want_meters meters from $EXPORTERS exporters, each exactly once, through 2 agents"
exit "$fail"
