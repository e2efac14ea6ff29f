#!/usr/bin/env bash
# Every Grafana dashboard panel shows data from a real scrape (issue 5).
#
#   scripts/check-dashboards.sh [BUILD_DIR]        (default: build)
#
# Starts, all on loopback and on ports of its own: a local Kafka broker (scripts/kafka.sh, its
# data in a temporary directory), numflow-ingest (its 8x8 poller against a loopback stand-in of
# the 8x8 numbers API) and numflow-transform from BUILD_DIR, and a
# Prometheus (Debian package `prometheus`) that scrapes both /metrics every second with the
# labels a Kubernetes scrape gives them (namespace, pod) and loads the chart's alert rules.
# Then sends a little load for a while (every fixture in providers/*/fixtures/, Zoom ones signed,
# plus unsigned and badly signed Zoom deliveries, handshakes, a garbage body, an oversized body and
# a wrong method), and for a few seconds with the broker killed (503s). Finally evaluates every
# panel query of helm/numflow/dashboards/*.json through Prometheus' HTTP API
# (scripts/dashboards.py eval): every target of every panel must parse and return data (the
# load provokes each series a panel shows; dashboards.py's NO_DATA_EXPECTED names the exceptions
# and why). Also requires every alert rule to evaluate without error on the real series. Stops
# everything it started, whatever happens.
#
# Environment: NUMFLOW_CHECK_PORT (default: the first free of 23280, 23320, ... 26880): ports
# PORT..PORT+4 for ingest, its metrics, transform metrics, Prometheus and the fake 8x8 API,
# PORT+12 for Kafka (and PORT+1012 for its controller);
# NUMFLOW_CHECK_LOAD_SECONDS (default 20).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
case ${1:-} in -h|--help) sed -n '2,23p' "$0"; exit 0 ;; esac
build=${1:-$root/build}
[[ $build == /* ]] || build=$PWD/$build
ingest_bin=$build/ingest/numflow-ingest
transform_bin=$build/transform/numflow-transform

# Ports: a base whose ports all bind now (with SO_REUSEADDR, as the services and the broker bind,
# so a previous run's connections lingering in TIME_WAIT do not count); try a few bases.
bindable() {  # bindable PORT...: every port can be bound on 127.0.0.1 right now
  python3 -c '
import socket, sys
for p in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", int(p)))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
' "$@"
}
ports_of() { echo "$1 $(($1 + 1)) $(($1 + 2)) $(($1 + 3)) $(($1 + 4)) $(($1 + 12)) $(($1 + 1012))"; }
if [[ -n ${NUMFLOW_CHECK_PORT:-} ]]; then
  base=$NUMFLOW_CHECK_PORT
  # shellcheck disable=SC2046
  bindable $(ports_of "$base") || { echo "check-dashboards: a port of $(ports_of "$base") is in use" >&2; exit 1; }
else
  # Below the kernel's ephemeral range (32768+), so no client socket of a busy run can take a
  # port between this check and the services binding it.
  for base in $(seq 23280 40 26880) ""; do
    [[ -n $base ]] || { echo "check-dashboards: no free ports in 23280-27892 (set NUMFLOW_CHECK_PORT)" >&2; exit 1; }
    # shellcheck disable=SC2046
    bindable $(ports_of "$base") && break
  done
fi
ingest_port=$base ingest_metrics=$((base + 1)) transform_metrics=$((base + 2)) prom_port=$((base + 3))
fake_8x8_port=$((base + 4))
kafka_port=$((base + 12))
load_seconds=${NUMFLOW_CHECK_LOAD_SECONDS:-20}
namespace=numflow-check
zoom_secret=check-dashboards-zoom-secret

t0=$SECONDS
log() { printf 'check-dashboards: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for b in "$ingest_bin" "$transform_bin"; do
  [[ -x $b ]] || die "$b not found: build it first (cmake --build $build --target numflow-ingest numflow-transform)"
done
command -v prometheus >/dev/null || {
  log "installing Debian's prometheus"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
}
command -v curl >/dev/null || die "curl is needed"
PY=python3

work=$(mktemp -d "${TMPDIR:-/tmp}/numflow-check-dashboards.XXXXXX")
pids=()
cleanup() {
  local rc=$? p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  bash "$here/kafka.sh" kill --port "$kafka_port" --dir "$work/kafka" >/dev/null 2>&1 || true
  if ((rc != 0)); then
    log "logs kept in $work (ingest.log, transform.log, prometheus.log, kafka/logs)"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_url() {  # wait_url URL SECONDS
  local deadline=$((SECONDS + $2))
  until curl -fs -o /dev/null "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# The evaluator's own tests first (no network, under a second): one empty target fails its panel.
"$PY" "$here/dashboards_test.py" 2>"$work/dashboards_test.log" || { cat "$work/dashboards_test.log" >&2; die "scripts/dashboards_test.py failed"; }

# ---------------------------------------------------------------------------------------------
log "Kafka on 127.0.0.1:$kafka_port"
bash "$here/kafka.sh" start --fresh --port "$kafka_port" --dir "$work/kafka" >&2
brokers=127.0.0.1:$kafka_port

# A loopback stand-in for the 8x8 numbers API, so ingest's snapshot poller runs (every 2 s).
"$PY" "$here/fake_8x8_api.py" "$fake_8x8_port" "$root/providers/8x8/fixtures/numbers-api-response.json" check-key \
  2>"$work/fake-8x8.log" &
pids+=($!)

log "numflow-transform (:$transform_metrics) and numflow-ingest (:$ingest_port, metrics :$ingest_metrics) from $build"
"$transform_bin" --brokers "$brokers" --metrics-listen "127.0.0.1:$transform_metrics" \
  --group-id numflow-check --ringcentral-account check-account 2>"$work/transform.log" &
pids+=($!)
# Zoom authenticated by signature (so refusals happen and are counted), the others explicitly not.
"$ingest_bin" --brokers "$brokers" --listen "127.0.0.1:$ingest_port" --metrics-listen "127.0.0.1:$ingest_metrics" \
  --zoom-secret-token "$zoom_secret" --ringcentral-auth none --8x8-auth none --max-body-bytes 65536 \
  --response-deadline-ms 1000 --8x8-poll-subaccounts MySubAccount --8x8-api-key check-key \
  --8x8-api-base "http://127.0.0.1:$fake_8x8_port" --8x8-poll-interval-seconds 2 2>"$work/ingest.log" &
pids+=($!)
wait_url "http://127.0.0.1:$ingest_port/readyz" 60 || die "ingest not ready (see $work/ingest.log)"
wait_url "http://127.0.0.1:$transform_metrics/healthz" 30 || die "transform not serving (see $work/transform.log)"
# The load goes on even if the transform does not say ready: its panels then show what it did.
wait_url "http://127.0.0.1:$transform_metrics/readyz" 60 || log "warning: the transform is still not ready after 60s"

log "Prometheus on 127.0.0.1:$prom_port, scraping every second"
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $root/helm/numflow/alerts/numflow-rules.yaml
scrape_configs:
  # The labels a Kubernetes ServiceMonitor/PodMonitor scrape adds, which the dashboards select on.
  - job_name: numflow-ingest
    static_configs:
      - targets: ["127.0.0.1:$ingest_metrics"]
        labels: {namespace: $namespace, pod: numflow-ingest-0, container: ingest}
  - job_name: numflow-transform
    static_configs:
      - targets: ["127.0.0.1:$transform_metrics"]
        labels: {namespace: $namespace, pod: numflow-transform-0, container: transform}
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus-data" \
  --web.listen-address="127.0.0.1:$prom_port" --storage.tsdb.retention.time=1h \
  --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
wait_url "http://127.0.0.1:$prom_port/-/ready" 60 || die "Prometheus not ready (see $work/prometheus.log)"
start=$(date +%s)

# ---------------------------------------------------------------------------------------------
load() {  # load SECONDS: the load generator (stdlib Python, keep-alive, a few threads)
  "$PY" - "$root" "127.0.0.1:$ingest_port" "$zoom_secret" "$1" <<'EOF'
import glob, hashlib, hmac, http.client, itertools, json, os, sys, threading, time
root, addr, secret, seconds = sys.argv[1], sys.argv[2], sys.argv[3].encode(), float(sys.argv[4])
host, port = addr.split(":")
fixtures = {p: [open(f, "rb").read() for f in sorted(glob.glob(f"{root}/providers/{p}/fixtures/*.json"))]
            for p in ("8x8", "zoom", "ringcentral")}

def zoom_headers(body, key=secret, skew=0):
    ts = str(int(time.time()) + skew)
    sig = "v0=" + hmac.new(key, b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"x-zm-request-timestamp": ts, "x-zm-signature": sig}

changes = itertools.count(1)

def round_requests():
    for p, bodies in fixtures.items():
        for body in bodies:
            yield "POST", f"/webhooks/{p}", body, zoom_headers(body) if p == "zoom" else {}
    # A live change: the fixtures repeat, so after the first round their events are duplicates and
    # publish nothing; this one changes a CNAM now, so records (and event-time lag) keep coming.
    live = json.dumps({"event": "number_management.peering_number_cnam_updated", "event_ts": int(time.time() * 1000),
                       "payload": {"account_id": "dashboard-check", "object": {
                           "cnam": f"CHECK {next(changes)}", "carrier_code": 1, "phone_numbers": ["+14155550199"]}}}).encode()
    yield "POST", "/webhooks/zoom", live, zoom_headers(live)
    body = fixtures["zoom"][0]
    yield "POST", "/webhooks/zoom", body, {}                                  # unsigned: refused
    yield "POST", "/webhooks/zoom", body, zoom_headers(body, b"wrong-secret")  # bad signature: refused
    yield "POST", "/webhooks/zoom", body, zoom_headers(body, skew=-3600)       # stale timestamp: refused
    v = json.dumps({"event": "endpoint.url_validation", "payload": {"plainToken": "abc"},
                    "event_ts": int(time.time() * 1000)}).encode()
    yield "POST", "/webhooks/zoom", v, zoom_headers(v)                        # handshake: answered
    yield "POST", "/webhooks/ringcentral", b"", {"Validation-Token": "check"}  # handshake: answered
    yield "POST", "/webhooks/8x8", b"not json at all", {}                     # dead-lettered (invalid_json)
    yield "POST", "/webhooks/8x8", b"{" * 70000, {}                           # 413
    yield "GET", "/webhooks/8x8", None, {}                                    # 405

counts, lock = {}, threading.Lock()
def worker(stop_at):
    conn = None
    while time.time() < stop_at:
        for method, path, body, headers in round_requests():
            if time.time() >= stop_at:
                break
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, int(port), timeout=5)
                h = {"Content-Type": "application/json", **headers}
                conn.request(method, path, body=body, headers=h)
                r = conn.getresponse(); r.read()
                status = r.status
                if r.getheader("Connection", "").lower() == "close":
                    conn.close(); conn = None
            except Exception as e:
                status = type(e).__name__
                if conn: conn.close()
                conn = None
            with lock:
                counts[status] = counts.get(status, 0) + 1
        time.sleep(0.2)
stop_at = time.time() + seconds
threads = [threading.Thread(target=worker, args=(stop_at,)) for _ in range(3)]
for t in threads: t.start()
for t in threads: t.join()
print("  answers:", ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str)), file=sys.stderr)
EOF
}

log "load for ${load_seconds}s"
load "$load_seconds"
sleep 3   # let the transform catch up and Prometheus scrape it
log "killing the broker: ingest must answer 503 now"
bash "$here/kafka.sh" kill --port "$kafka_port" --dir "$work/kafka" >&2
load 6
sleep 3
end=$(date +%s)

# ---------------------------------------------------------------------------------------------
log "evaluating every target of every dashboard panel over the last $((end - start))s"
rc=0
"$PY" "$here/dashboards.py" eval "$root/helm/numflow/dashboards" "http://127.0.0.1:$prom_port" \
  --start "$start" --end "$end" --step 1 --var "namespace=$namespace" --var "__rate_interval=10s" || rc=1

# Every alert rule evaluated against the real series without error.
if ! "$PY" - "http://127.0.0.1:$prom_port" <<'EOF'
import json, sys, urllib.request
rules = json.load(urllib.request.urlopen(sys.argv[1] + "/api/v1/rules"))["data"]["groups"]
n, bad = 0, []
for g in rules:
    for r in g["rules"]:
        n += 1
        if r.get("health") != "ok":
            bad.append(f"{r['name']}: {r.get('health')} {r.get('lastError', '')}")
for b in bad:
    print("FAIL alert rule", b)
print(f"alerts: {n} rules evaluated, {len(bad)} with errors")
if bad or n == 0:
    sys.exit(1)
EOF
then rc=1; fi

log "done in $((SECONDS - t0))s"
exit "$rc"
