#!/usr/bin/env bash
# The whole pipeline on this machine, in one command: installs what is missing, builds, starts a
# local Kafka broker, starts numflow-ingest and numflow-transform, POSTs the providers' seed
# examples as webhooks, and prints the resulting table of numbers (the compacted number-changes
# topic, read read_committed) plus what was dead-lettered.
#
#   scripts/demo.sh          run it, then stop the services (Kafka keeps running; scripts/kafka.sh stop)
#   scripts/demo.sh --keep   leave ingest (:8080) and transform (:9091) running too
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
keep=0
[ "${1:-}" = "--keep" ] && keep=1
[ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ] && { sed -n '2,9p' "$0"; exit 0; }

port=${NUMFLOW_KAFKA_PORT:-9092}
brokers=127.0.0.1:$port
logs=${TMPDIR:-/tmp}/numflow-demo
mkdir -p "$logs"
say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

say "1/6 dependencies";   bash scripts/install-deps.sh
say "2/6 build";          bash scripts/build.sh release
say "3/6 local Kafka";    bash scripts/kafka.sh start --fresh --port "$port"

say "4/6 numflow-transform and numflow-ingest"
pids=()
cleanup() { [ "$keep" = 1 ] || { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }; }
trap cleanup EXIT
build/transform/numflow-transform --brokers "$brokers" --metrics-listen 127.0.0.1:9091 \
  --ringcentral-account demo-account 2>"$logs/transform.log" &
pids+=($!)
# The demo runs unauthenticated on loopback: real deployments configure each provider's secret.
build/ingest/numflow-ingest --brokers "$brokers" --listen 127.0.0.1:8080 --metrics-listen 127.0.0.1:9090 \
  --8x8-auth none --zoom-auth none --ringcentral-auth none 2>"$logs/ingest.log" &
pids+=($!)
for url in http://127.0.0.1:8080/readyz http://127.0.0.1:9091/readyz; do
  for _ in $(seq 1 100); do curl -fs "$url" >/dev/null && break; sleep 0.2; done
  curl -fs "$url" >/dev/null || { echo "not ready: $url (logs in $logs)" >&2; exit 1; }
done
echo "ingest on :8080, transform metrics on :9091, logs in $logs" >&2

say "5/6 POST the seed examples"
post() {  # provider file-or-body label
  local code
  if [ -f "$2" ]; then code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$2" "http://127.0.0.1:8080/webhooks/$1")
  else code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$2" "http://127.0.0.1:8080/webhooks/$1"); fi
  printf '  %-12s %-55s -> %s\n' "$1" "$3" "$code" >&2
}
post 8x8         providers/8x8/fixtures/webhook-seed.json                   "8x8 VIRTUAL_NUMBER_UPDATE (seed)"
post ringcentral providers/ringcentral/fixtures/phone-number-created-seed.json "RingCentral contact-center number Created (seed)"
post ringcentral providers/ringcentral/fixtures/extension-update-seed.json  "RingCentral extension Update (seed)"
post zoom        providers/zoom/fixtures/cnam-updated-seed.json             "Zoom CNAM (seed, placeholder values)"
post zoom        '{"event":"number_management.peering_number_cnam_updated","event_ts":1732400000000,"payload":{"account_id":"abc123","object":{"cnam":"ACME SUPPORT","carrier_code":1,"phone_numbers":["+14155550123","14155550124"]}}}' \
                 "Zoom CNAM (seed shape, filled in)"
post 8x8         'not json at all'                                          "garbage (dead-lettered, not lost)"
sleep 2

say "6/6 the number table (latest record per key of number-changes, read_committed)"
kcat_bin=$(command -v kcat || command -v kafkacat)
read_topic() {
  "$kcat_bin" -C -b "$brokers" -t "$1" -e -o beginning -q -X isolation.level=read_committed \
    -f '%k\t%S\t%s\n' 2>/dev/null || true
}
read_topic number-changes | python3 "$root/scripts/show_table.py" numbers
read_topic extension-changes | python3 "$root/scripts/show_table.py" extensions
"$kcat_bin" -C -b "$brokers" -t webhooks.dead-letter -e -o beginning -q -X isolation.level=read_committed \
  -f '%k\t%h\n' 2>/dev/null | python3 "$root/scripts/show_table.py" dead-letters
if [ "$keep" = 1 ]; then
  echo -e "\nServices left running (pids ${pids[*]}). POST more to http://127.0.0.1:8080/webhooks/{8x8,zoom,ringcentral}." >&2
fi
