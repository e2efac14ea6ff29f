#!/usr/bin/env bash
# The whole pipeline on this machine, in one command: installs what is missing, builds, starts a
# local Kafka broker, starts numflow-ingest (its 8x8 snapshot poller against a loopback stand-in
# of 8x8's numbers API) and numflow-transform, POSTs the providers' seed examples as webhooks, and
# prints the resulting table of numbers (the compacted number-changes topic, read
# read_committed), the extensions, and what was dead-lettered.
#
#   scripts/demo.sh          run it, then stop the services (Kafka keeps running; scripts/kafka.sh stop)
#   scripts/demo.sh --keep   leave ingest (:8080) and transform (:9091) running too
#   scripts/demo.sh --check  also fail unless every expected number and extension is in the table
#                            (CI runs this); stops the broker at the end
#   NUMFLOW_KAFKA_PORT (9092), NUMFLOW_DEMO_PORT_BASE (8080: ingest; +1010 its metrics, +1011 the
#   transform's, +9 the 8x8 stand-in)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
keep=0 check=0
for a in "$@"; do
  case "$a" in
    --keep) keep=1 ;;
    --check) check=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option $a (try --help)" >&2; exit 2 ;;
  esac
done

port=${NUMFLOW_KAFKA_PORT:-9092}
base=${NUMFLOW_DEMO_PORT_BASE:-8080}
ingest_port=$base ingest_metrics=$((base + 1010)) transform_metrics=$((base + 1011)) fake_8x8_port=$((base + 9))
brokers=127.0.0.1:$port
logs=${TMPDIR:-/tmp}/numflow-demo
mkdir -p "$logs"
say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

say "1/6 dependencies";   bash scripts/install-deps.sh
say "2/6 build";          bash scripts/build.sh release
say "3/6 local Kafka";    bash scripts/kafka.sh start --fresh --port "$port"

say "4/6 numflow-transform and numflow-ingest"
pids=()
cleanup() {
  [ "$keep" = 1 ] || { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
  [ "$check" = 0 ] || bash "$root/scripts/kafka.sh" stop --port "$port" >/dev/null 2>&1 || true
}
trap cleanup EXIT
python3 scripts/fake_8x8_api.py "$fake_8x8_port" providers/8x8/fixtures/numbers-api-response.json demo-key \
  2>"$logs/fake-8x8.log" &
pids+=($!)
build/transform/numflow-transform --brokers "$brokers" --metrics-listen "127.0.0.1:$transform_metrics" \
  --ringcentral-account demo-account 2>"$logs/transform.log" &
pids+=($!)
# The demo runs unauthenticated on loopback: real deployments configure each provider's secret.
# The poller asks the stand-in for subaccount demo-sub's numbers every 30 s, the first time now.
build/ingest/numflow-ingest --brokers "$brokers" --listen "127.0.0.1:$ingest_port" \
  --metrics-listen "127.0.0.1:$ingest_metrics" --8x8-auth none --zoom-auth none --ringcentral-auth none \
  --8x8-poll-subaccounts demo-sub --8x8-api-key demo-key --8x8-api-base "http://127.0.0.1:$fake_8x8_port" \
  --8x8-poll-interval-seconds 30 2>"$logs/ingest.log" &
pids+=($!)
for url in "http://127.0.0.1:$ingest_port/readyz" "http://127.0.0.1:$transform_metrics/readyz"; do
  for _ in $(seq 1 100); do curl -fs "$url" >/dev/null && break; sleep 0.2; done
  curl -fs "$url" >/dev/null || { echo "not ready: $url (logs in $logs)" >&2; exit 1; }
done
echo "ingest on :$ingest_port, transform metrics on :$transform_metrics, logs in $logs" >&2

say "5/6 POST the seed examples"
failed=0
post() {  # provider file-or-body label
  local code
  if [ -f "$2" ]; then code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$2" "http://127.0.0.1:$ingest_port/webhooks/$1")
  else code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$2" "http://127.0.0.1:$ingest_port/webhooks/$1"); fi
  printf '  %-12s %-58s -> %s\n' "$1" "$3" "$code" >&2
  [ "$code" = 200 ] || failed=1
}
post 8x8         providers/8x8/fixtures/webhook-seed.json                      "8x8 VIRTUAL_NUMBER_UPDATE (seed)"
post ringcentral providers/ringcentral/fixtures/phone-number-created-seed.json "RingCentral contact-center number Created (seed)"
post ringcentral providers/ringcentral/fixtures/extension-update-seed.json     "RingCentral extension Update (seed)"
post zoom        providers/zoom/fixtures/cnam-updated-seed.json                "Zoom CNAM (seed, placeholder values: dead-lettered)"
post zoom        '{"event":"number_management.peering_number_cnam_updated","event_ts":1732400000000,"payload":{"account_id":"abc123","object":{"cnam":"ACME SUPPORT","carrier_code":1,"phone_numbers":["+14155550123","14155550124"]}}}' \
                 "Zoom CNAM (seed shape, filled in)"
post zoom        providers/zoom/fixtures/emergency-address-updated.json        "Zoom emergency address (seed shape, filled in)"
post 8x8         'not json at all'                                             "garbage (dead-lettered, not lost)"
echo "  (8x8 numbers API seed shape: polled by ingest from the stand-in, subaccount demo-sub)" >&2
[ "$failed" = 0 ] || { echo "demo.sh: a POST was not answered 200 (logs in $logs)" >&2; exit 1; }

# Wait for the records rather than a fixed time: the first transactions of a fresh pipeline take
# a second or two.
kcat_bin=$(command -v kcat || command -v kafkacat)
read_topic() {
  "$kcat_bin" -C -b "$brokers" -t "$1" -e -o beginning -q -X isolation.level=read_committed \
    -f '%k\t%S\t%s\n' 2>/dev/null || true
}
expect_numbers="+65123456789 +65987654321 +6561234567 +447700900123 +14155550123 +14155550124 +12024999741"
expect_extensions="ringcentral:demo-account:8475874957"
for _ in $(seq 1 60); do
  read_topic number-changes | python3 scripts/show_table.py numbers --missing $expect_numbers >/dev/null &&
    read_topic extension-changes | python3 scripts/show_table.py extensions --missing $expect_extensions >/dev/null && break
  sleep 0.5
done

say "6/6 the number table (latest record per key of number-changes, read_committed)"
read_topic number-changes | python3 "$root/scripts/show_table.py" numbers
read_topic extension-changes | python3 "$root/scripts/show_table.py" extensions
"$kcat_bin" -C -b "$brokers" -t webhooks.dead-letter -e -o beginning -q -X isolation.level=read_committed \
  -f '%k\t%h\n' 2>/dev/null | python3 "$root/scripts/show_table.py" dead-letters
if [ "$check" = 1 ]; then
  read_topic number-changes | python3 scripts/show_table.py numbers --missing $expect_numbers >/dev/null ||
    { echo "demo.sh --check: numbers missing from the table (logs in $logs)" >&2; exit 1; }
  read_topic extension-changes | python3 scripts/show_table.py extensions --missing $expect_extensions >/dev/null ||
    { echo "demo.sh --check: extensions missing from the table (logs in $logs)" >&2; exit 1; }
  dead=$("$kcat_bin" -C -b "$brokers" -t webhooks.dead-letter -e -o beginning -q -X isolation.level=read_committed \
    -f '%k\n' 2>/dev/null | wc -l)
  [ "$dead" -ge 2 ] || { echo "demo.sh --check: expected the 2 dead letters, found $dead" >&2; exit 1; }
  echo -e "\ndemo.sh --check: every expected number and extension is in the table, both dead letters too" >&2
fi
if [ "$keep" = 1 ]; then
  echo -e "\nServices left running (pids ${pids[*]}). POST more to http://127.0.0.1:$ingest_port/webhooks/{8x8,zoom,ringcentral}." >&2
fi
