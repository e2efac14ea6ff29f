#!/usr/bin/env bash
# numflow versus Benthos v4.13.0, same jobs, same local broker, one run. Results: docs/PERFORMANCE.md.
#
#   bench/compare.sh            # ~11-14 minutes (plus a one-time Benthos build); prints every figure and the ratio table
#
# Phases (each bounded in time):
#   install   wrk (Debian), Benthos v4.13.0 (go, cached), the fixed-rate sender (bench/e2e, go)
#   broker    scripts/kafka.sh on 127.0.0.1:$PORT_BASE+92, topics with $PARTITIONS partitions
#   floor     the broker's own ceiling for an ingest: $CONNS closed-loop acks=all producers, no
#             HTTP (bench/kafka_floor), linger.ms 5 and 0
#   ingest    wrk keep-alive, $CONNS connections, $SECONDS_LOAD s, signed provider fixtures mixed
#             (bench/gen.py wrk): numflow-ingest, then Benthos http_server -> kafka_franz; then
#             each again at $SWEEP_CONNS connections: with $CONNS, each waiting for its answer,
#             the rate is a round trip's; the sweep finds each server's capacity (its best rate)
#   ingest floor  the least any ingest does under the same wrk load: epoll HTTP + a durable produce,
#             nothing else (bench/ingest_floor), linger.ms 0.5 and 0.2, and HTTP alone
#   transform drain $RAW_EVENTS pre-filled 8x8 events (bench/gen.py raw) until every record is
#             published: numflow-transform (exactly-once, default windows: 50 ms, doubling up to
#             1000 ms while behind) and Benthos twice each, interleaved (the table takes the
#             means; Benthos: kafka_franz -> json_schema -> mapping -> unarchive -> kafka_franz),
#             then numflow with fixed 50 ms windows, with very large transactions (commits
#             amortized away: the at-least-once stand-in), the Kafka floor (the same stages
#             copying bytes: bench/transform_floor), two and four instances
#   e2e       ingest + transform, fixed rate (bench/e2e), POST -> record readable read_committed;
#             the last rate also hop by hop (gen.py hops: raw, fragment, change, read)
#   e2e floor the last rate through bench/ingest_floor -> bench/transform_floor --follow: the same
#             hops with none of numflow's work, the least the design takes on this machine
#   memory    ingest RSS with $MANY_CONNS keep-alive connections posting at once
# CPU is utime+stime from /proc/PID/stat of each service over its phase. After each wrk phase and
# in each e2e line, what the whole machine did over it (/proc/stat): cores busy, and per request
# the µs of all cores and the shares of wrk and the broker.
#
# Environment: PORT_BASE (27000, below Linux's ephemeral range: broker 27092, controller 27093,
# services the first free ports from 27180 up),
# SECONDS_LOAD (20), CONNS (64), SWEEP_CONNS ("128 256 512"; "" for none), RAW_EVENTS (200000), NUMBERS (20000), PARTITIONS (4),
# E2E_RATES ("1000 2500 5000"), E2E_SECONDS (20), MANY_CONNS (10000), INGEST_IO_THREADS (1),
# NUMFLOW_BENCH_CACHE (~/.cache/numflow-bench), BENCH_OUT (/tmp/numflow-bench-results.txt),
# NUMFLOW_BUILD (build).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=${NUMFLOW_BUILD:-$ROOT/build}
CACHE=${NUMFLOW_BENCH_CACHE:-$HOME/.cache/numflow-bench}
PORT_BASE=${PORT_BASE:-27000}
SECONDS_LOAD=${SECONDS_LOAD:-20}
CONNS=${CONNS:-64}
SWEEP_CONNS=${SWEEP_CONNS-128 256 512}
RAW_EVENTS=${RAW_EVENTS:-200000}
NUMBERS=${NUMBERS:-20000}
PARTITIONS=${PARTITIONS:-4}
E2E_RATES=${E2E_RATES:-"1000 2500 5000"}
E2E_SECONDS=${E2E_SECONDS:-20}
MANY_CONNS=${MANY_CONNS:-10000}
INGEST_IO_THREADS=${INGEST_IO_THREADS:-1}
OUT=${BENCH_OUT:-/tmp/numflow-bench-results.txt}
BENTHOS_VERSION=v4.13.0

KPORT=$((PORT_BASE + 92)); KCTL=$((PORT_BASE + 93)); B=127.0.0.1:$KPORT
ZOOM_SECRET=bench-zoom-secret RC_TOKEN=bench-rc-token AUTH_8X8="Bearer bench-8x8"
INGEST=$BUILD/ingest/numflow-ingest TRANSFORM=$BUILD/transform/numflow-transform
WORK=$(mktemp -d /tmp/numflow-bench.XXXXXX)
RUN=r$(date +%s)           # prefix of this run's topics and groups
HZ=$(getconf CLK_TCK)

log() { echo "[$(date +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }
res() { echo "$*" | tee -a "$OUT"; }

PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  bash "$ROOT/scripts/kafka.sh" stop --port "$KPORT" >/dev/null 2>&1 || true
  log "stopped everything; logs in $WORK"
}
trap cleanup EXIT
stop_pid() {  # SIGTERM, up to 20 s for a graceful stop, then SIGKILL
  local i
  kill "$1" 2>/dev/null || return 0
  for i in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$1" 2>/dev/null && { log "pid $1 ($(cat "/proc/$1/comm" 2>/dev/null)) still running 20 s after SIGTERM: SIGKILL"; kill -9 "$1" 2>/dev/null || true; }
  wait "$1" 2>/dev/null || true
}

ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
# metric URL REGEX: sum of the samples whose line matches REGEX
metric() { { curl -sf "$1" 2>/dev/null || true; } | awk -v re="$2" '$0 !~ /^#/ && $0 ~ re {s += $NF} END {printf "%.0f\n", s}'; }
metricf() { { curl -sf "$1" 2>/dev/null || true; } | awk -v re="$2" '$0 !~ /^#/ && $0 ~ re {s += $NF} END {printf "%.6f\n", s}'; }
# wait_url URL [PID]: until URL answers 2xx; fails when PID exits first or after 60 s
wait_url() {
  local i
  for i in $(seq 1 120); do
    curl -sf -o /dev/null "$1" && return 0
    [[ -n ${2:-} ]] && ! kill -0 "$2" 2>/dev/null && return 1
    sleep 0.5
  done
  return 1
}
# pick_port BASE: the first port from BASE up that no socket on this machine uses locally.
# A PORT_BASE inside Linux's ephemeral range (32768-60999) would let outgoing connections (the
# broker's, Benthos's, a load test's thousands in TIME_WAIT) hold one of these ports at any
# moment: the default is below it, and the ports are checked and starts retried anyway.
pick_port() {
  local p=$1 used
  used=$(ss -Htan | awk '{n = split($4, a, ":"); print a[n]}' | sort -u)
  while grep -qx "$p" <<<"$used" || (( p >= PORT_BASE + 1000 )); do
    p=$((p + 1)); (( p >= PORT_BASE + 1000 )) && p=$((PORT_BASE + 100))
  done
  echo "$p"
}
now() { date +%s.%N; }
fdiv() { awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN {if (b == 0) print "n/a"; else printf f "\n", a / b}'; }

# ------------------------------------------------------------------------------------ install
install() {
  mkdir -p "$CACHE/bin"
  if ! command -v wrk >/dev/null; then
    log "installing wrk (Debian)"
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  fi
  BENTHOS=$CACHE/bin/benthos
  if ! "$BENTHOS" --version 2>/dev/null | grep -q "${BENTHOS_VERSION#v}"; then
    log "building Benthos $BENTHOS_VERSION into $CACHE/bin (once, several minutes)"
    # `go install ...@v4.13.0` is the documented way; where the module proxy refuses the
    # deprecation lookup (403 on @v/list), build the same downloaded module from its own go.mod.
    # -checklinkname=0: Go >= 1.23 refuses one of its dependencies' go:linkname otherwise.
    if ! GOBIN=$CACHE/bin go install -ldflags=-checklinkname=0 "github.com/benthosdev/benthos/v4/cmd/benthos@$BENTHOS_VERSION" 2>"$WORK/benthos-install.log"; then
      local dir
      dir=$(go mod download -json "github.com/benthosdev/benthos/v4@$BENTHOS_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
      (cd "$dir" && GOBIN=$CACHE/bin GOFLAGS="-mod=mod -buildvcs=false" \
         go install -ldflags "-checklinkname=0 -X github.com/benthosdev/benthos/v4/internal/cli.Version=${BENTHOS_VERSION#v}" ./cmd/benthos) \
        >>"$WORK/benthos-install.log" 2>&1 || die "Benthos build failed: $WORK/benthos-install.log"
    fi
  fi
  E2E=$CACHE/bin/numflow-e2e
  if [[ ! -x $E2E || $HERE/e2e/main.go -nt $E2E ]]; then
    (cd "$HERE/e2e" && go build -o "$E2E" .) || die "bench/e2e build failed"
  fi
  [[ -x $INGEST && -x $TRANSFORM ]] || die "missing $INGEST or $TRANSFORM: cmake --build build --target numflow-ingest numflow-transform"
  command -v kcat >/dev/null || die "kcat is needed (scripts/install-deps.sh)"
}

# ------------------------------------------------------------------------------------ broker
create_topic() {  # name [compact]
  local cfg=()
  [[ ${2:-} == compact ]] && cfg=(--config cleanup.policy=compact)
  bash "$ROOT/scripts/kafka.sh" --port "$KPORT" tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$B" \
    --create --if-not-exists --topic "$1" --partitions "$PARTITIONS" --replication-factor 1 "${cfg[@]}" >/dev/null
}

start_ingest() {  # raw-topic; sets INGEST_PID P_INGEST P_INGEST_M
  local attempt
  for attempt in 1 2 3 4 5; do
    P_INGEST=$(pick_port $((PORT_BASE + 80 + attempt * 100))); P_INGEST_M=$(pick_port $((PORT_BASE + 90 + attempt * 100)))
    "$INGEST" --brokers "$B" --listen "127.0.0.1:$P_INGEST" --metrics-listen "127.0.0.1:$P_INGEST_M" \
      --raw-topic "$1" --topic-partitions "$PARTITIONS" --io-threads "$INGEST_IO_THREADS" --max-connections $((MANY_CONNS + 2000)) \
      --zoom-secret-token "$ZOOM_SECRET" --ringcentral-verification-token "$RC_TOKEN" --8x8-auth-header "$AUTH_8X8" \
      --log-level warn 2>>"$WORK/ingest.log" &
    INGEST_PID=$!; PIDS+=("$INGEST_PID")
    wait_url "http://127.0.0.1:$P_INGEST_M/readyz" "$INGEST_PID" && return 0
    stop_pid "$INGEST_PID"; log "numflow-ingest did not start (attempt $attempt), see $WORK/ingest.log"
  done
  die "numflow-ingest did not start"
}

start_benthos() {  # config-name metrics-port-var [env...]; sets BENTHOS_PID and the port variable
  local cfg=$1 var=$2 attempt port; shift 2
  for attempt in 1 2 3 4 5; do
    port=$(pick_port $((PORT_BASE + 82 + attempt * 100)))
    env "$@" BENTHOS_HTTP="127.0.0.1:$port" BROKERS="$B" "$BENTHOS" -c "$HERE/benthos/$cfg.yaml" >>"$WORK/benthos-$cfg.log" 2>&1 &
    BENTHOS_PID=$!; PIDS+=("$BENTHOS_PID")
    if wait_url "http://127.0.0.1:$port/ready" "$BENTHOS_PID" && sleep 1 && kill -0 "$BENTHOS_PID" 2>/dev/null; then
      printf -v "$var" %s "$port"; return 0
    fi
    stop_pid "$BENTHOS_PID"; log "Benthos $cfg did not start (attempt $attempt), see $WORK/benthos-$cfg.log"
  done
  die "Benthos $cfg did not start"
}

start_transform() {  # name instance-id raw-topic [extra flags...]; sets TRANSFORM_PID TR_PORT
  local name=$1 id=$2 port raw=$3 attempt; shift 3
  for attempt in 1 2 3 4 5; do
  port=$(pick_port $((PORT_BASE + 91 + attempt * 100 + ( $([[ $id == b ]] && echo 3 || echo 0) ))))
  "$TRANSFORM" --brokers "$B" --metrics-listen "127.0.0.1:$port" --instance-id "$id" --group-id "$name" \
    --raw-topic "$raw" --number-changes-topic "$name.number-changes" --extension-changes-topic "$name.extension-changes" \
    --dead-letter-topic "$name.dead-letter" --fragments-topic "$name.fragments" --state-topic "$name.state" \
    --topic-partitions "$PARTITIONS" --log-level warn "$@" 2>>"$WORK/transform-$id.log" &
  TRANSFORM_PID=$!; PIDS+=("$TRANSFORM_PID"); TR_PORT=$port
  # /healthz answers as soon as the metrics server listens (readiness waits for the group)
  wait_url "http://127.0.0.1:$port/healthz" "$TRANSFORM_PID" && return 0
  stop_pid "$TRANSFORM_PID"; log "numflow-transform did not start (attempt $attempt), see $WORK/transform-$id.log"
  done
  die "numflow-transform did not start"
}

count_committed() {  # topic -> records readable read_committed
  timeout 120 kcat -C -b "$B" -t "$1" -X isolation.level=read_committed -e -q -f 'x\n' 2>/dev/null | wc -l
}

# machine_ticks -> "busy idle steal", clock ticks of all cores since boot (/proc/stat): what the
# whole machine did during a phase, so a rate can be set against what the cores had left.
machine_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8, $5 + $6, $9; exit}' /proc/stat; }
# cores_busy BEFORE AFTER (two machine_ticks) -> cores busy between them, e.g. 1.63
cores_busy() {
  awk -v a="$1" -v b="$2" -v c="$(nproc)" 'BEGIN {split(a, x, " "); split(b, y, " "); d = y[1] - x[1]
                                                   printf "%.2f\n", c * d / (d + y[2] - x[2] + y[3] - x[3])}'
}
# children_ms VAR: sets VAR to the CPU ms (user + system) of this shell's finished children, from
# the `times` builtin, which must run in this shell (a subshell's children are its own): so no
# $(children_ms), and its output goes through a file.
children_ms() {
  times >"$WORK/times"
  printf -v "$1" %s "$(awk 'NR == 2 {for (i = 1; i <= 2; i++) {split($i, a, /[ms]/); t += a[1] * 60000 + a[2] * 1000}}
                           END {printf "%.0f", t}' "$WORK/times")"
}

# wrk_run NAME URL PID [CONNECTIONS] -> sets RPS P50 P99 CPU_US (per request) NON2XX, MACH_BUSY
# (cores busy during the phase) and MACH_US (µs of all cores per request: the server, the broker,
# wrk, the rest). CONNECTIONS defaults to $CONNS.
wrk_run() {
  local name=$1 url=$2 pid=$3 conns=${4:-$CONNS} t0 t1 out m0 m1 w0 w1 k0 k1
  wrk -t1 -c"$conns" -d3s -s "$WORK/mix.lua" "$url" >/dev/null 2>&1 || true     # warm-up: connections, topic metadata
  t0=$(ticks "$pid"); m0=$(machine_ticks); children_ms w0; k0=${KAFKA_PID:+$(ticks "$KAFKA_PID")}
  out=$(wrk -t1 -c"$conns" -d"${SECONDS_LOAD}s" --latency -s "$WORK/mix.lua" "$url")
  t1=$(ticks "$pid"); m1=$(machine_ticks); children_ms w1; k1=${KAFKA_PID:+$(ticks "$KAFKA_PID")}
  echo "$out" >"$WORK/wrk-$name.txt"
  RPS=$(awk '/^Requests\/sec/{print $2}' <<<"$out")
  local reqs; reqs=$(awk '/requests in/{print $1}' <<<"$out")
  P50=$(awk '$1=="50%"{print $2}' <<<"$out"); P99=$(awk '$1=="99%"{print $2}' <<<"$out")
  NON2XX=$(awk -F= '/^non2xx_or_errors/{print $2}' <<<"$out")
  CPU_US=$(fdiv "$(( (t1 - t0) * 1000000 / HZ ))" "$reqs" "%.1f")
  res "$name: ${RPS} req/s, p50 $P50, p99 $P99, requests $reqs, non-2xx/errors $NON2XX, CPU $CPU_US µs/request ($(fdiv $((t1 - t0)) $HZ) s)"
  MACH_BUSY=$(cores_busy "$m0" "$m1")
  MACH_US=$(awk -v a="$m0" -v b="$m1" -v hz="$HZ" -v n="$reqs" 'BEGIN {split(a, x, " "); split(b, y, " ")
                                                                       printf "%.1f\n", (y[1] - x[1]) * 1e6 / hz / n}')
  local broker=n/a
  [[ -n $k0 ]] && broker=$(fdiv $(( (k1 - k0) * 1000000 / HZ )) "$reqs" "%.1f")
  res "  the machine during this phase: $MACH_BUSY of $(nproc) cores busy; per request: the machine $MACH_US µs, of which wrk $(fdiv $(( (w1 - w0) * 1000 )) "$reqs" "%.1f"), the broker $broker"
}

# sweep NAME URL PID: wrk_run at each of $SWEEP_CONNS connections; sets SWEEP (the "conns:rps:p99ms"
# of each) and BEST_RPS BEST_CONNS (the best rate's, $CONNS's run included: set RPS and P99 from
# it before calling).
sweep() {
  local c
  SWEEP="$CONNS:$RPS:$(ms "$P99")" BEST_RPS=$RPS BEST_CONNS=$CONNS
  for c in $SWEEP_CONNS; do
    wrk_run "$1, $c connections" "$2" "$3" "$c"
    SWEEP+=" $c:$RPS:$(ms "$P99")"
    if awk -v a="$RPS" -v b="$BEST_RPS" 'BEGIN {exit !(a > b)}'; then BEST_RPS=$RPS BEST_CONNS=$c; fi
  done
}
# swept SWEEP CONNS -> "rps p99ms" of that run, or "n/a n/a"
swept() { tr ' ' '\n' <<<"$1" | awk -F: -v c="$2" '$1 == c {print $2, $3; f = 1} END {if (!f) print "n/a n/a"}'; }

ms() {  # wrk latency (e.g. 1.23ms, 850.00us, 1.2s) -> ms
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.2f\n", n }'
}

# drain NAME URL REGEX START_REGEX PIDS... : wait until the counter REGEX at URL reaches RAW_EVENTS;
# sets RATE (events/s from the first input taken, counter START_REGEX, to the last record
# published) WALL and CPU_US per event. Starting at the first input, not the first record, keeps
# long transactions honest: numflow counts its records when their transaction commits.
drain() {
  local name=$1 url=$2 re=$3 start_re=$4; shift 4
  local pids=("$@") t_start t_first="" t_end c0=0 p n=0 taken deadline
  for p in "${pids[@]}"; do c0=$((c0 + $(ticks "$p"))); done
  t_start=$(now); deadline=$(( $(date +%s) + 240 ))
  while :; do
    n=0 taken=0
    for u in $url; do n=$(( n + $(metric "$u" "$re") )); done
    if [[ -z $t_first ]]; then
      for u in $url; do taken=$(( taken + $(metric "$u" "$start_re") )); done
      (( taken > 0 )) && t_first=$(now)
    fi
    (( n >= RAW_EVENTS )) && break
    (( $(date +%s) > deadline )) && { log "$name: timeout at $n records"; break; }
    sleep 0.2
  done
  t_end=$(now)
  local c1=0; for p in "${pids[@]}"; do c1=$((c1 + $(ticks "$p"))); done
  RATE=$(awk -v n="$n" -v a="${t_first:-$t_start}" -v b="$t_end" 'BEGIN {printf "%.0f\n", n / (b - a)}')
  WALL=$(awk -v a="$t_start" -v b="$t_end" 'BEGIN {printf "%.1f\n", b - a}')
  CPU_US=$(fdiv "$(( (c1 - c0) * 1000000 / HZ ))" "$n" "%.1f")
  res "$name: $n records, $RATE events/s (first input taken to last record), ${WALL}s from start, CPU $CPU_US µs/event ($(fdiv $((c1 - c0)) $HZ) s)"
}

# ====================================================================================== main
: >"$OUT"
install
log "work dir $WORK, results $OUT"
res "# numflow vs Benthos $BENTHOS_VERSION — $(date -u +%FT%TZ), $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
res "# $(uname -r); wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'); $($BENTHOS --version 2>/dev/null | head -1); numflow $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
res "# connections $CONNS (ingest also at: ${SWEEP_CONNS:-none}), load $SECONDS_LOAD s per phase, raw events $RAW_EVENTS over $NUMBERS numbers, $PARTITIONS partitions"

log "starting the broker on $B"
bash "$ROOT/scripts/kafka.sh" stop --port "$KPORT" >/dev/null 2>&1 || true    # a broker left over by an earlier run
bash "$ROOT/scripts/kafka.sh" start --port "$KPORT" --controller-port "$KCTL" --fresh --set num.partitions="$PARTITIONS" >/dev/null
KAFKA_PID=$(cat "/tmp/numflow-kafka-$KPORT/kafka.pid" 2>/dev/null || true)
create_topic "$RUN.bench.raw"; create_topic "$RUN.benthos.webhooks.raw"; create_topic "$RUN.benthos.number-changes"
create_topic "$RUN.benthos2.number-changes"
python3 "$HERE/gen.py" wrk "$WORK/mix.lua" "$ZOOM_SECRET" "$RC_TOKEN" "$AUTH_8X8"

# ---------------------------------------------------------------- (b) the broker's own ceiling
# $CONNS producers in a closed loop, each waiting for its acks=all delivery report before the
# next message, no HTTP (bench/kafka_floor.cpp): the most any ingest answering after a durable
# write can reach at that concurrency on this broker, numflow's and Benthos's alike.
log "broker floor: $CONNS closed-loop durable producers, no HTTP"
create_topic "$RUN.floor"
FLOOR=$("$BUILD/bench/kafka_floor" --brokers "$B" --topic "$RUN.floor" --in-flight "$CONNS" --seconds "$SECONDS_LOAD" \
        --bytes 700 --linger-ms 5)
res "broker floor (linger.ms 5): $FLOOR"
F_RPS=$(sed -n 's/.*messages_per_s=\([0-9]*\).*/\1/p' <<<"$FLOOR")
FLOOR0=$("$BUILD/bench/kafka_floor" --brokers "$B" --topic "$RUN.floor" --in-flight "$CONNS" --seconds "$SECONDS_LOAD" \
         --bytes 700 --linger-ms 0)
res "broker floor (linger.ms 0): $FLOOR0"
F0_RPS=$(sed -n 's/.*messages_per_s=\([0-9]*\).*/\1/p' <<<"$FLOOR0")

# ---------------------------------------------------------------- (c) ingest vs Benthos ingest
log "ingest: numflow-ingest"
start_ingest "$RUN.webhooks.raw"
wrk_run "numflow-ingest" "http://127.0.0.1:$P_INGEST" "$INGEST_PID"
N_RPS=$RPS N_P50=$(ms "$P50") N_P99=$(ms "$P99") N_ICPU=$CPU_US N_MACH=$MACH_US N_BUSY=$MACH_BUSY
N_IRSS=$(rss_kb "$INGEST_PID")   # after the first phase, as the memory row says
sweep "numflow-ingest" "http://127.0.0.1:$P_INGEST" "$INGEST_PID"
N_SWEEP=$SWEEP N_BEST=$BEST_RPS N_BEST_C=$BEST_CONNS
stop_pid "$INGEST_PID"

log "ingest: Benthos http_server -> kafka_franz"
for attempt in 1 2 3 4 5; do
  P_BIN=$(pick_port $((PORT_BASE + 81 + attempt * 100)))
  start_benthos ingest P_BIN_M BENTHOS_LISTEN="127.0.0.1:$P_BIN" BENTHOS_RAW_TOPIC="$RUN.benthos.webhooks.raw"
  BIN_PID=$BENTHOS_PID
  ss -Hltn "sport = :$P_BIN" | grep -q . && break      # its http_server input is listening
  stop_pid "$BIN_PID"; (( attempt == 5 )) && die "Benthos ingest could not listen"
done
wrk_run "benthos-ingest" "http://127.0.0.1:$P_BIN" "$BIN_PID"
B_RPS=$RPS B_P50=$(ms "$P50") B_P99=$(ms "$P99") B_ICPU=$CPU_US B_MACH=$MACH_US B_BUSY=$MACH_BUSY
sweep "benthos-ingest" "http://127.0.0.1:$P_BIN" "$BIN_PID"
B_SWEEP=$SWEEP B_BEST=$BEST_RPS B_BEST_C=$BEST_CONNS
stop_pid "$BIN_PID"

# The least any ingest must do, under the same wrk load (bench/ingest_floor.cpp): read each
# request off an epoll loop, produce its body with numflow-ingest's producer settings, answer on
# the delivery report; no routing, authentication, account key or limits. Its webhooks/s are the
# ceiling of any ingest answering after a durable write here, its CPU the floor under numflow's.
# At linger.ms 0.5 (numflow-ingest's) and 0.2 (this floor's best on the Xeon VM), then answering
# at once with no Kafka (the HTTP exchange alone).
floor_ingest() {  # NAME ARGS... : sets RPS CPU_US
  local name=$1 port pid; shift
  port=$(pick_port $((PORT_BASE + 85)))
  "$BUILD/bench/ingest_floor" --port "$port" "$@" 2>>"$WORK/ingest-floor.log" &
  pid=$!; PIDS+=("$pid")
  for _ in $(seq 1 50); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.1; done
  wrk_run "$name" "http://127.0.0.1:$port" "$pid"
  stop_pid "$pid"
}
create_topic "$RUN.floor.webhooks.raw"
log "ingest floor: epoll HTTP + durable produce, nothing else"
floor_ingest "ingest floor (linger.ms 0.5)" --brokers "$B" --topic "$RUN.floor.webhooks.raw" --linger-ms 0.5
FI_RPS=$RPS FI_CPU=$CPU_US FI_MACH=$MACH_US FI_BUSY=$MACH_BUSY
floor_ingest "ingest floor (linger.ms 0.2)" --brokers "$B" --topic "$RUN.floor.webhooks.raw" --linger-ms 0.2
FI2_RPS=$RPS FI2_CPU=$CPU_US
floor_ingest "HTTP floor (no Kafka)" --no-kafka
FH_RPS=$RPS FH_CPU=$CPU_US
FI_BEST=$(awk -v a="$FI_RPS" -v b="$FI2_RPS" 'BEGIN {print (a > b ? a : b)}')

# ---------------------------------------------------------------- (d) transform vs Benthos pipeline
log "transform: pre-filling $RUN.bench.raw with $RAW_EVENTS events"
python3 "$HERE/gen.py" raw "$WORK/raw.txt" "$RAW_EVENTS" "$NUMBERS"
kcat -P -b "$B" -t "$RUN.bench.raw" -K $'\t' -z lz4 -H numflow-provider=8x8 -H content-type=application/json \
  -H numflow-auth=header -H numflow-received-at=2023-11-14T22:13:20.000Z -l "$WORK/raw.txt" 2>&1 | head -5
sync  # the prefill's dirty pages written back now, not during the first measured phase
res "raw topic: $RAW_EVENTS events, $(awk -F'\t' '{s += length($2)} END {printf "%.0f", s / NR}' "$WORK/raw.txt") B per body on average"
NC_RE='^numflow_transform_records_total.*number-changes"'
TAKEN_RE='^numflow_transform_processing_seconds_count'  # observed as each raw event is normalized

# Unmeasured warm-up: the same drain once, on its own group and output topics. A fresh broker
# creates __consumer_offsets and __transaction_state (50 partitions each) for the first group and
# the first transactional producer, and its JVM has not yet compiled the fetch and transaction
# paths: the first drain on a fresh broker ran 10-35% slower than the next ones (2026-11-26:
# 21,697 then 24,222 / 29,365 / 27,171 events/s), whatever came first.
log "transform: warm-up drain (unmeasured)"
start_transform "$RUN.warm" a "$RUN.bench.raw"
for _ in $(seq 1 600); do
  (( $(metric "http://127.0.0.1:$TR_PORT/metrics" "$NC_RE") >= RAW_EVENTS )) && break; sleep 0.2
done
stop_pid "$TRANSFORM_PID"

# numflow's default and Benthos drain twice each, interleaved (numflow, Benthos, numflow, Benthos),
# and the table takes each one's mean: this VM's speed drifts by 20-30% from one minute to the
# next, and a single drain each let whichever ran in a slow minute decide the ratio.
benthos_drain() {  # N (1 or 2): sets RATE CPU_US
  local sfx=""; [[ $1 == 2 ]] && sfx=2
  log "transform: Benthos kafka_franz -> json_schema -> mapping -> unarchive -> kafka_franz ($1 of 2)"
  start_benthos transform P_BTR_M BENTHOS_IN_TOPIC="$RUN.bench.raw" BENTHOS_GROUP="$RUN.benthos$sfx" \
    BENTHOS_OUT_TOPIC="$RUN.benthos$sfx.number-changes" SCHEMA_DIR="$ROOT/schemas"
  local pid=$BENTHOS_PID
  drain "benthos-transform ($1 of 2)" "http://127.0.0.1:$P_BTR_M/metrics" '^output_sent' '^input_received' "$pid"
  stop_pid "$pid"
  res "  benthos$sfx.number-changes records: $(count_committed "$RUN.benthos$sfx.number-changes")"
}
mean() { awk -v a="$1" -v b="$2" -v f="${3:-%.0f}" 'BEGIN {printf f "\n", (a + b) / 2}'; }

log "transform: numflow-transform, exactly-once, default windows (1 of 2)"
start_transform "$RUN.eos" a "$RUN.bench.raw"; P_TR_M=$TR_PORT
drain "numflow-transform (EOS, default windows: 50 ms, up to 1000 ms while behind; 1 of 2)" "http://127.0.0.1:$P_TR_M/metrics" "$NC_RE" "$TAKEN_RE" "$TRANSFORM_PID"
N_TRATE_1=$RATE N_TCPU_1=$CPU_US
TXN_SUM=$(metricf "http://127.0.0.1:$P_TR_M/metrics" '^numflow_transform_transaction_seconds_sum')
TXN_N=$(metric "http://127.0.0.1:$P_TR_M/metrics" '^numflow_transform_transaction_seconds_count')
COMMIT_SUM=$(metricf "http://127.0.0.1:$P_TR_M/metrics" '^numflow_transform_commit_seconds_sum')
res "  transactions committed (both stages): $TXN_N, mean $(fdiv "$TXN_SUM" "$TXN_N" "%.4f") s from first message to committed, of which the commit calls (send_offsets + commit_transaction) $(fdiv "$COMMIT_SUM" "$TXN_N" "%.4f") s; RSS $(( $(rss_kb "$TRANSFORM_PID") / 1024 )) MiB"
stop_pid "$TRANSFORM_PID"
res "  number-changes readable read_committed: $(count_committed "$RUN.eos.number-changes")"

benthos_drain 1
B_TRATE_1=$RATE B_TCPU_1=$CPU_US

log "transform: numflow-transform, exactly-once, default windows (2 of 2)"
start_transform "$RUN.eos2" a "$RUN.bench.raw"; P_TR_M=$TR_PORT
drain "numflow-transform (EOS, default windows; 2 of 2)" "http://127.0.0.1:$P_TR_M/metrics" "$NC_RE" "$TAKEN_RE" "$TRANSFORM_PID"
N_TRATE_2=$RATE N_TCPU_2=$CPU_US
stop_pid "$TRANSFORM_PID"

benthos_drain 2
B_TRATE_2=$RATE B_TCPU_2=$CPU_US

N_TRATE=$(mean "$N_TRATE_1" "$N_TRATE_2") N_TCPU=$(mean "$N_TCPU_1" "$N_TCPU_2" "%.1f")
B_TRATE=$(mean "$B_TRATE_1" "$B_TRATE_2") B_TCPU=$(mean "$B_TCPU_1" "$B_TCPU_2" "%.1f")
res "transform, mean of the two drains each: numflow $N_TRATE events/s at $N_TCPU µs/event ($N_TRATE_1, $N_TRATE_2), Benthos $B_TRATE events/s at $B_TCPU µs/event ($B_TRATE_1, $B_TRATE_2)"

log "transform: fixed 50 ms windows (what the default does while it keeps up)"
start_transform "$RUN.fixed" a "$RUN.bench.raw" --batch-max-ms-behind 0
P_TR_M=$TR_PORT
drain "numflow-transform (EOS, fixed 50 ms windows)" "http://127.0.0.1:$P_TR_M/metrics" "$NC_RE" "$TAKEN_RE" "$TRANSFORM_PID"
N_TRATE_FIXED=$RATE
stop_pid "$TRANSFORM_PID"

log "transform: very large transactions (the at-least-once stand-in)"
start_transform "$RUN.big" a "$RUN.bench.raw" --batch-max-messages 100000 --batch-max-ms 3000
P_TR_M=$TR_PORT
drain "numflow-transform (EOS, batches 100000/3000ms)" "http://127.0.0.1:$P_TR_M/metrics" "$NC_RE" "$TAKEN_RE" "$TRANSFORM_PID"
N_TRATE_BIG=$RATE
TXN_N2=$(metric "http://127.0.0.1:$P_TR_M/metrics" '^numflow_transform_transaction_seconds_count')
res "  transactions committed (both stages): $TXN_N2"
stop_pid "$TRANSFORM_PID"

# The floor under the transform's CPU: its two exactly-once stages (same class, same settings and
# windows) with hooks that only copy bytes, writing records of the sizes numflow wrote above
# (bench/transform_floor.cpp): what Kafka's side of the design costs with none of numflow's work.
log "transform: the Kafka floor (copy-only stages)"
avg_bytes() { timeout 60 kcat -C -b "$B" -t "$1" -c 2000 -e -q -f '%S\n' 2>/dev/null | awk '{s += $1} END {printf "%d", NR ? s / NR : 0}'; }
FR_B=$(avg_bytes "$RUN.eos.fragments") NC_B=$(avg_bytes "$RUN.eos.number-changes") ST_B=$(avg_bytes "$RUN.eos.state")
TFLOOR=$(timeout 600 "$BUILD/bench/transform_floor" --brokers "$B" --raw-topic "$RUN.bench.raw" --events "$RAW_EVENTS" \
           --partitions "$PARTITIONS" --fragment-bytes "${FR_B:-370}" --record-bytes "${NC_B:-946}" --state-bytes "${ST_B:-399}" \
           2>>"$WORK/transform-floor.log") || die "transform_floor failed (see $WORK/transform-floor.log)"
res "$TFLOOR"
TF_RATE=$(sed -n 's/.*events_per_s=\([0-9]*\).*/\1/p' <<<"$TFLOOR")
TF_CPU=$(sed -n 's/.*cpu_us_per_event=\([0-9.]*\).*/\1/p' <<<"$TFLOOR")

log "transform: two numflow-transform instances (scale)"
start_transform "$RUN.two" a "$RUN.bench.raw"; T1=$TRANSFORM_PID P_TR_M=$TR_PORT
start_transform "$RUN.two" b "$RUN.bench.raw"; T2=$TRANSFORM_PID P_TR2_M=$TR_PORT
drain "numflow-transform x2 instances" "http://127.0.0.1:$P_TR_M/metrics http://127.0.0.1:$P_TR2_M/metrics" "$NC_RE" "$TAKEN_RE" "$T1" "$T2"
N_TRATE2=$RATE
stop_pid "$T1"; stop_pid "$T2"

log "transform: four numflow-transform instances (scale; one partition each)"
FOUR_URLS="" FOUR_PIDS=()
for id in a b c d; do
  start_transform "$RUN.four" "$id" "$RUN.bench.raw"
  FOUR_URLS+="http://127.0.0.1:$TR_PORT/metrics " FOUR_PIDS+=("$TRANSFORM_PID")
done
drain "numflow-transform x4 instances" "$FOUR_URLS" "$NC_RE" "$TAKEN_RE" "${FOUR_PIDS[@]}"
N_TRATE4=$RATE
for p in "${FOUR_PIDS[@]}"; do stop_pid "$p"; done

# ---------------------------------------------------------------- (g) end to end at a fixed rate
# e2e_warm_up URL TOPIC TAG: once TOPIC (number-changes) has partitions, an unmeasured warm-up: the
# first events of a fresh pipeline wait for the transactional producers to add each output
# partition and for the merge stage's first fetches (measured: ~1.5 s).
e2e_warm_up() {
  for _ in $(seq 1 60); do
    kcat -L -b "$B" -t "$2" 2>/dev/null | grep -q "partition 0" && break; sleep 0.5
  done
  "$E2E" -url "$1" -auth "$AUTH_8X8" -rate 200 -duration 5s -prefix 9 -out "$WORK/sent-$3-warmup.txt" >/dev/null
  sleep 3
}
# e2e_measure LABEL URL TOPIC RATE PREFIX TAG INGEST_NAME INGEST_PID TRANSFORM_NAME TRANSFORM_PID:
# RATE webhooks/s for E2E_SECONDS, each read back from TOPIC read_committed and stamped; prints
# the latencies and each process's CPU per webhook, sets P50 and P99 (ms). Files: sent-TAG.txt,
# recv-TAG.txt.
e2e_measure() {
  local label=$1 url=$2 topic=$3 rate=$4 prefix=$5 tag=$6 iname=$7 ipid=$8 tname=$9 tpid=${10}
  local kc i0 t0 k0 i1 t1 k1 m0 m1 sent st n
  # kcat's pid in $! (its output goes through the time stamper, which ends when kcat does)
  kcat -C -b "$B" -t "$topic" -o end -u -q -X isolation.level=read_committed \
    -X fetch.wait.max.ms=5 -f '%k\n' 2>/dev/null > >(python3 "$HERE/gen.py" stamp >"$WORK/recv-$tag.txt") &
  kc=$!; PIDS+=("$kc")
  sleep 4
  i0=$(ticks "$ipid"); t0=$(ticks "$tpid"); k0=${KAFKA_PID:+$(ticks "$KAFKA_PID")}; m0=$(machine_ticks)
  sent=$("$E2E" -url "$url" -auth "$AUTH_8X8" -rate "$rate" -duration "${E2E_SECONDS}s" -prefix "$prefix" \
           -out "$WORK/sent-$tag.txt")
  i1=$(ticks "$ipid"); t1=$(ticks "$tpid"); k1=${KAFKA_PID:+$(ticks "$KAFKA_PID")}; m1=$(machine_ticks)
  sleep 5
  stop_pid "$kc"; sleep 0.5
  st=$(python3 "$HERE/gen.py" stats "$WORK/sent-$tag.txt" "$WORK/recv-$tag.txt")
  n=$(awk '{print $1}' <<<"$sent" | cut -d= -f2)
  res "$label: $sent; latency ms $st; CPU per webhook: $iname $(fdiv $(( (i1 - i0) * 1000000 / HZ )) "$n" "%.1f") µs, $tname $(fdiv $(( (t1 - t0) * 1000000 / HZ )) "$n" "%.1f") µs${KAFKA_PID:+, broker $(fdiv $(( (k1 - k0) * 1000000 / HZ )) "$n" "%.1f") µs}; cores busy $(cores_busy "$m0" "$m1") of $(nproc)"
  read -r P50 P99 <<<"$(sed -E 's/.*p50=([^ ]+) p99=([^ ]+).*/\1 \2/' <<<"$st")"
}
# e2e_hops LABEL TAG TOPICS: where the time of a run went, hop by hop (each stage's record
# timestamps in TOPICS.raw, TOPICS.fragments, TOPICS.number-changes; gen.py hops).
e2e_hops() {
  res "$1, $(python3 "$HERE/gen.py" hops "$WORK/sent-$2.txt" "$WORK/recv-$2.txt" "$B" \
        "$3.raw" "$3.fragments" "$3.number-changes" 2>&1 | tail -1)"
}

log "e2e: ingest + transform at fixed rates"
start_ingest "$RUN.e2e.raw"
start_transform "$RUN.e2e" a "$RUN.e2e.raw"; P_TR_M=$TR_PORT
wait_url "http://127.0.0.1:$P_TR_M/readyz" "$TRANSFORM_PID" || die "numflow-transform not ready"
e2e_warm_up "http://127.0.0.1:$P_INGEST/webhooks/8x8" "$RUN.e2e.number-changes" numflow
E2E_RES=()
prefix=2
for rate in $E2E_RATES; do
  e2e_measure "e2e at $rate/s" "http://127.0.0.1:$P_INGEST/webhooks/8x8" "$RUN.e2e.number-changes" "$rate" "$prefix" \
    "$rate" ingest "$INGEST_PID" transform "$TRANSFORM_PID"
  E2E_RES+=("$rate $P50 $P99")
  prefix=$((prefix + 1))
  LAST_RATE=$rate
done
stop_pid "$TRANSFORM_PID"
e2e_hops "e2e at $LAST_RATE/s" "$LAST_RATE" "$RUN.e2e"

# ------------------------------------------------------- (g2) the end-to-end floor at the last rate
# The same fixed-rate load through the least any pipeline of this design does: bench/ingest_floor
# (epoll HTTP + numflow-ingest's durable produce, linger.ms 0.5) -> raw -> bench/transform_floor
# --follow (numflow-transform's two exactly-once stages with its default windows, copying bytes,
# keyed by the body's number) -> the same read_committed reader. Its p99 is what the design itself
# costs on this machine at this rate, with none of numflow's work: the limit under the target.
log "e2e floor: ingest_floor + transform_floor at $LAST_RATE/s"
create_topic "$RUN.e2efloor.raw"
P_EF=$(pick_port $((PORT_BASE + 85)))
"$BUILD/bench/ingest_floor" --port "$P_EF" --brokers "$B" --topic "$RUN.e2efloor.raw" --linger-ms 0.5 \
  2>>"$WORK/e2e-floor.log" &
EF_I_PID=$!; PIDS+=("$EF_I_PID")
"$BUILD/bench/transform_floor" --brokers "$B" --raw-topic "$RUN.e2efloor.raw" --follow --run "$RUN.e2efloor" \
  --partitions "$PARTITIONS" --fragment-bytes "${FR_B:-370}" --record-bytes "${NC_B:-946}" --state-bytes "${ST_B:-399}" \
  >"$WORK/e2e-floor-transform.txt" 2>>"$WORK/e2e-floor.log" &
EF_T_PID=$!; PIDS+=("$EF_T_PID")
for _ in $(seq 1 50); do ss -Hltn "sport = :$P_EF" | grep -q . && break; sleep 0.1; done
e2e_warm_up "http://127.0.0.1:$P_EF/webhooks/8x8" "$RUN.e2efloor.number-changes" floor
e2e_measure "e2e floor (ingest_floor -> transform_floor) at $LAST_RATE/s" "http://127.0.0.1:$P_EF/webhooks/8x8" \
  "$RUN.e2efloor.number-changes" "$LAST_RATE" 5 floor "ingest floor" "$EF_I_PID" "transform floor" "$EF_T_PID"
EF_P50=$P50 EF_P99=$P99
stop_pid "$EF_I_PID"; stop_pid "$EF_T_PID"
e2e_hops "e2e floor at $LAST_RATE/s" floor "$RUN.e2efloor"

# ---------------------------------------------------------------- (5) ingest memory, many connections
log "memory: numflow-ingest with $MANY_CONNS keep-alive connections"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true; (( $(ulimit -n) > MANY_CONNS + 100 )) || log "file limit $(ulimit -n) is below $MANY_CONNS connections"
rss0=$(rss_kb "$INGEST_PID"); peak_rss=$rss0; peak_if=0
wrk -t2 -c"$MANY_CONNS" -d15s --timeout 10s -s "$WORK/mix.lua" "http://127.0.0.1:$P_INGEST" >"$WORK/wrk-many.txt" 2>&1 &
W_PID=$!
while kill -0 "$W_PID" 2>/dev/null; do
  r=$(rss_kb "$INGEST_PID"); (( r > peak_rss )) && peak_rss=$r
  f=$(metric "http://127.0.0.1:$P_INGEST_M/metrics" '^numflow_ingest_in_flight'); (( f > peak_if )) && peak_if=$f
  sleep 0.25
done
wait "$W_PID" || true
hwm=$(awk '/^VmHWM/{print $2}' "/proc/$INGEST_PID/status")
res "ingest with $MANY_CONNS connections: RSS $((rss0 / 1024)) MiB before, peak sampled $((peak_rss / 1024)) MiB (VmHWM $((hwm / 1024)) MiB), peak in-flight gauge $peak_if, $(awk '/^Requests\/sec/{print $2}' "$WORK/wrk-many.txt") req/s, $(grep -m1 'Socket errors' "$WORK/wrk-many.txt" || echo 'no socket errors')"
stop_pid "$INGEST_PID"

# ---------------------------------------------------------------- (h) the ratio table
res ""
res "| measure | numflow | Benthos $BENTHOS_VERSION | numflow / Benthos | target |"
res "|---|---|---|---|---|"
res "| ingest webhooks/s ($CONNS connections) | $N_RPS | $B_RPS | $(fdiv "$N_RPS" "$B_RPS") | ${SWEEP_CONNS:+the rate of a round trip; }≥ 3${SWEEP_CONNS:+ at capacity, next row} |"
if [[ -n $SWEEP_CONNS ]]; then
  res "| ingest capacity: each server's best webhooks/s over $CONNS $SWEEP_CONNS connections | $N_BEST ($N_BEST_C) | $B_BEST ($B_BEST_C) | $(fdiv "$N_BEST" "$B_BEST") | ≥ 3 |"
  for c in $SWEEP_CONNS; do
    read -r n_rps n_p99 <<<"$(swept "$N_SWEEP" "$c")"
    read -r b_rps b_p99 <<<"$(swept "$B_SWEEP" "$c")"
    res "| ingest at $c connections: webhooks/s; p99 (ms) | $n_rps; $n_p99 | $b_rps; $b_p99 | $(fdiv "$n_rps" "$b_rps"); p99 $(fdiv "$n_p99" "$b_p99") | p99 < 1 |"
  done
fi
res "| the broker alone, no HTTP ($CONNS closed-loop durable producers, linger.ms 5 / 0) | $F_RPS / $F0_RPS | | | the broker's ceiling, not an ingest's |"
res "| the least any ingest does: epoll HTTP + durable produce (bench/ingest_floor, linger.ms 0.5 / 0.2): webhooks/s, CPU µs | $FI_RPS, $FI_CPU / $FI2_RPS, $FI2_CPU | | best / Benthos: $(fdiv "$FI_BEST" "$B_RPS"); numflow / best: $(fdiv "$N_RPS" "$FI_BEST") | the ceiling of any ingest here |"
res "| the HTTP exchange alone (bench/ingest_floor --no-kafka): requests/s, CPU µs | $FH_RPS, $FH_CPU | | | |"
res "| the whole machine during the phase: cores busy of $(nproc); µs of all cores per webhook (server, broker, wrk, the rest) | $N_BUSY; $N_MACH | $B_BUSY; $B_MACH | | 3× Benthos leaves $(fdiv "$(nproc)000000" "$((3 * ${B_RPS%.*}))" "%.1f") µs per webhook for all of it; the ingest floor's phase took $FI_MACH ($FI_BUSY busy) |"
res "| ingest p50 latency (ms) | $N_P50 | $B_P50 | $(fdiv "$N_P50" "$B_P50") | |"
res "| ingest p99 latency (ms) | $N_P99 | $B_P99 | $(fdiv "$N_P99" "$B_P99") | < 1 |"
res "| ingest CPU µs per webhook (own process) | $N_ICPU | $B_ICPU | $(fdiv "$N_ICPU" "$B_ICPU") | numflow ≤ 25 |"
res "| transform events/s ($RAW_EVENTS 8x8 events; mean of two interleaved drains each) | $N_TRATE | $B_TRATE | $(fdiv "$N_TRATE" "$B_TRATE") | ≥ 3 |"
res "| transform CPU µs per event (own process; the same drains) | $N_TCPU | $B_TCPU | $(fdiv "$N_TCPU" "$B_TCPU") | numflow ≤ 30 |"
res "| transform's Kafka work alone, copy-only stages: events/s, CPU µs per event | $TF_RATE, $TF_CPU | | floor / Benthos: $(fdiv "$TF_RATE" "$B_TRATE"); numflow / floor: $(fdiv "$N_TRATE" "$TF_RATE") of the rate, $(fdiv "$N_TCPU" "$TF_CPU") × the CPU | the floor under numflow's 30 |"
res "| ingest CPU s per million webhooks | $(fdiv "$N_ICPU" 1) | $(fdiv "$B_ICPU" 1) | | |"
res "| transform CPU s per million events | $(fdiv "$N_TCPU" 1) | $(fdiv "$B_TCPU" 1) | | |"
res ""
res "| numflow only | value | target |"
res "|---|---|---|"
res "| exactly-once default / very large transactions, the at-least-once stand-in (events/s) | $N_TRATE / $N_TRATE_BIG = $(fdiv "$N_TRATE" "$N_TRATE_BIG") | ≥ 0.70 |"
res "| exactly-once fixed 50 ms windows / default (events/s) | $N_TRATE_FIXED / $N_TRATE = $(fdiv "$N_TRATE_FIXED" "$N_TRATE") | |"
res "| transform, 2 instances / 1 instance (events/s) | $N_TRATE2 / $N_TRATE = $(fdiv "$N_TRATE2" "$N_TRATE") | |"
res "| transform, 4 instances / 1 instance (events/s) | $N_TRATE4 / $N_TRATE = $(fdiv "$N_TRATE4" "$N_TRATE") | |"
for e in "${E2E_RES[@]}"; do
  read -r rate p50 p99 <<<"$e"
  res "| end-to-end at $rate webhooks/s, p50 / p99 (ms) | $p50 / $p99 | p99 ≤ 300 at 5,000/s |"
done
res "| the end-to-end floor at $LAST_RATE webhooks/s (bench/ingest_floor -> bench/transform_floor), p50 / p99 (ms) | $EF_P50 / $EF_P99; numflow's p99 / the floor's: $(fdiv "$p99" "$EF_P99") | the least the design takes here |"
res "| ingest RSS, $MANY_CONNS connections (MiB) | $((peak_rss / 1024)) (idle after load phases: $((rss0 / 1024)); after the first phase: $((N_IRSS / 1024))) | |"
res "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
log "done: $OUT"
