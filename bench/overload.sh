#!/usr/bin/env bash
# numflow-ingest offered twice its capacity, open loop (issue 7). Results: docs/PERFORMANCE.md,
# "Overload".
#
#   bench/overload.sh          # ~3 minutes; prints one line per phase
#
# Phases, each with a fresh ingest on a local broker (scripts/kafka.sh, 127.0.0.1:$PORT_BASE+92):
#   cpu      no limit but the machine's: the fixed-rate sender (bench/e2e) asks for $CPU_RATE
#            webhooks/s, twice what docs/PERFORMANCE.md measured ingest to take here. It shares
#            the two cores with ingest and the broker, so what it manages to offer is reported.
#   quota    Kafka's producer quota (producer_byte_rate $QUOTA on the ingest's client.id) makes
#            the broker the bottleneck; the sender offers $QUOTA_FACTOR x the quota's nominal rate
#            of ~3 KB incompressible bodies: with load shedding (--shed-backlog-ms, default), then
#            with --shed-backlog-ms 0 (shedding only behind a body past the response deadline),
#            then the load drops to a tenth to show recovery.
# For each: answers by status and error, latency from the scheduled send time (p50/p99/max, 2xx
# and 503 apart), ingest's peak RSS and CPU.
#
# Environment: PORT_BASE (28000: below the ephemeral range, which the sender's thousands of
# connections sweep through), SECONDS_LOAD (15), CPU_RATE (18000), QUOTA (1048576),
# QUOTA_FACTOR (2), NUMFLOW_BUILD (build), NUMFLOW_BENCH_CACHE (~/.cache/numflow-bench).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=${NUMFLOW_BUILD:-$ROOT/build}
CACHE=${NUMFLOW_BENCH_CACHE:-$HOME/.cache/numflow-bench}
PORT_BASE=${PORT_BASE:-28000}
SECONDS_LOAD=${SECONDS_LOAD:-15}
CPU_RATE=${CPU_RATE:-18000}
QUOTA=${QUOTA:-1048576}
QUOTA_FACTOR=${QUOTA_FACTOR:-2}
PAD=3000
KPORT=$((PORT_BASE + 92)); B=127.0.0.1:$KPORT
HTTP=$((PORT_BASE + 180)); METRICS=$((PORT_BASE + 190))
AUTH="Bearer bench-8x8"
WORK=$(mktemp -d /tmp/numflow-overload.XXXXXX)
HZ=$(getconf CLK_TCK)
SENDER=$CACHE/bin/numflow-e2e

log() { echo "[$(date +%T)] $*" >&2; }
INGEST_PID=""
cleanup() {
  [[ -n $INGEST_PID ]] && kill "$INGEST_PID" 2>/dev/null && wait "$INGEST_PID" 2>/dev/null
  bash "$ROOT/scripts/kafka.sh" stop --port "$KPORT" >/dev/null 2>&1 || true
  log "logs in $WORK"
}
trap cleanup EXIT

mkdir -p "$CACHE/bin"
if [[ ! -x $SENDER || $HERE/e2e/main.go -nt $SENDER ]]; then
  (cd "$HERE/e2e" && go build -o "$SENDER" .)
fi
[[ -x $BUILD/ingest/numflow-ingest ]] || { log "build first: scripts/build.sh"; exit 1; }

kafka_config() { bash "$ROOT/scripts/kafka.sh" --port "$KPORT" tool kafka.admin.ConfigCommand --bootstrap-server "$B" --alter "$@" >/dev/null; }

start_ingest() {  # label [flags...]
  local label=$1; shift
  "$BUILD/ingest/numflow-ingest" --brokers "$B" --listen "127.0.0.1:$HTTP" --metrics-listen "127.0.0.1:$METRICS" \
    --raw-topic "overload.$label" --topic-partitions 4 --8x8-auth-header "$AUTH" --zoom-secret-token z \
    --ringcentral-verification-token r --log-level warn "$@" 2>"$WORK/ingest-$label.log" &
  INGEST_PID=$!
  for _ in $(seq 1 60); do curl -sf -o /dev/null "http://127.0.0.1:$METRICS/readyz" && return 0; sleep 0.5; done
  log "ingest did not become ready: $WORK/ingest-$label.log"; exit 1
}
stop_ingest() { kill "$INGEST_PID"; wait "$INGEST_PID" 2>/dev/null || true; INGEST_PID=""; }

# run LABEL RATE SECONDS [sender flags...]: one open-loop phase against the running ingest
run() {
  local label=$1 rate=$2 secs=$3; shift 3
  local t0 t1 peak=0 r sent
  t0=$(awk '{print $14+$15}' "/proc/$INGEST_PID/stat")
  ( while kill -0 "$INGEST_PID" 2>/dev/null; do
      r=$(awk '/^VmRSS/{print $2}' "/proc/$INGEST_PID/status" 2>/dev/null || echo 0)
      ((r > peak)) && peak=$r; echo "$peak" >"$WORK/peak-$label"; sleep 0.2
    done ) &
  local sampler=$!
  sent=$("$SENDER" -url "http://127.0.0.1:$HTTP/webhooks/8x8" -auth "$AUTH" -rate "$rate" -duration "${secs}s" \
           -workers 8192 -out "$WORK/sent-$label.txt" "$@")
  t1=$(awk '{print $14+$15}' "/proc/$INGEST_PID/stat")
  own=$(curl -sf "http://127.0.0.1:$METRICS/metrics" | awk '
    /^numflow_ingest_request_duration_seconds_bucket/ && /le="0.25"/ {a += $NF}
    /^numflow_ingest_request_duration_seconds_bucket/ && /le="2.5"/ {b += $NF}
    /^numflow_ingest_request_duration_seconds_count/ {n += $NF}
    END {if (n) printf "ingest saw %d webhooks: %.1f%% answered within 250 ms of their first byte, %.1f%% within 2.5 s", n, 100 * a / n, 100 * b / n}')
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  echo "$label: asked $rate/s for $secs s; $sent; ingest CPU $(( (t1 - t0) * 1000 / HZ )) ms, peak RSS $(( $(cat "$WORK/peak-$label") / 1024 )) MiB"
  echo "  $own (cumulative since start)"
  python3 - "$WORK/sent-$label.txt" <<'PY'
import collections, sys
rows = [line.split() for line in open(sys.argv[1])]
sent = [int(r[1]) for r in rows]
secs = (max(sent) - min(sent)) / 1e9 or 1
def q(v, p):
    return v[min(len(v) - 1, int(p * len(v)))] if v else 0
by = collections.defaultdict(list)
for r in rows:
    by[("2xx" if r[2].startswith("2") else r[2]) + ("" if r[4] == "-" else " " + r[4])].append(int(r[3]) / 1000)
print(f"  offered {len(rows) / secs:.0f}/s over {secs:.1f} s; latency from the scheduled send, ms:")
for k, v in sorted(by.items(), key=lambda kv: -len(kv[1])):
    v.sort()
    print(f"    {k:28} {len(v):7} ({len(v) / secs:6.0f}/s)  p50 {q(v, .5):6.0f}  p99 {q(v, .99):6.0f}  max {v[-1]:6.0f}")
PY
}

log "broker on $B"
bash "$ROOT/scripts/kafka.sh" start --fresh --port "$KPORT" --controller-port $((KPORT + 1)) >/dev/null

log "phase cpu: $CPU_RATE/s with the machine as the only limit"
start_ingest cpu
run warmup 1000 3 -prefix 2 >/dev/null
run cpu "$CPU_RATE" "$SECONDS_LOAD" -prefix 3
stop_ingest

nominal=$(( QUOTA / (PAD + 150) ))
rate=$(( nominal * QUOTA_FACTOR ))
for shed in 1000 0; do
  log "phase quota, --shed-backlog-ms $shed: $rate/s against a $QUOTA B/s quota (nominal $nominal/s)"
  kafka_config --add-config "producer_byte_rate=$QUOTA" --entity-type clients --entity-name "overload-$shed"
  start_ingest "quota-$shed" --kafka-property "client.id=overload-$shed" --shed-backlog-ms "$shed"
  run "quota-shed-$shed" "$rate" "$SECONDS_LOAD" -pad "$PAD" -prefix 4
  run "quota-shed-$shed-after" $(( nominal / 10 )) 10 -pad "$PAD" -prefix 5
  stop_ingest
  sleep 12   # the quota's sample window (11 s) forgets this phase
done
