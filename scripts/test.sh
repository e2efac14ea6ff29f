#!/usr/bin/env bash
# Runs every numflow test on a fresh machine: installs what is missing, builds, starts a local
# Kafka broker (KRaft, port 19092 so a demo on 9092 is left alone), runs the whole CTest suite
# (unit + integration + fault tests on the real broker), the contract check, the demo (checked),
# the Helm chart and dashboard checks, then the suite again built with AddressSanitizer + UndefinedBehaviorSanitizer,
# then every libFuzzer target for a bounded time (scripts/fuzz.sh; any crash, leak, hang or
# sanitizer report fails the run). The sanitizer and fuzzer builds run at nice 19 beside the
# suite before them, on the CPU it leaves idle.
#
#   scripts/test.sh            everything
#   scripts/test.sh --fast     skip the sanitizer build and the fuzzers
#   NUMFLOW_TEST_FUZZ_SECONDS  seconds per fuzz target (default 20)
#   NUMFLOW_TEST_KAFKA_PORT=N  broker port (default 19092)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
fast=0
for a in "$@"; do
  case "$a" in
    --fast) fast=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done

port=${NUMFLOW_TEST_KAFKA_PORT:-19092}
export NUMFLOW_TEST_BROKERS=127.0.0.1:$port

started=$(date +%s)
step() { printf '\n== %s  (%d s)\n' "$*" $(( $(date +%s) - started )) >&2; }

step "dependencies"
bash scripts/install-deps.sh

step "local Kafka on port $port"
bash scripts/kafka.sh start --fresh --port "$port"
trap 'bash "$root/scripts/kafka.sh" stop --port "$port" >/dev/null 2>&1 || true' EXIT

background=()
stop_background() { local p; for p in "${background[@]}"; do kill -- -"$p" 2>/dev/null || true; done; }

run_suite() {
  local dir=$1; shift
  # --output-on-failure: a failing test shows its own log; integration tests run serially.
  (cd "$dir" && ctest --output-on-failure --timeout 400 -j "$(nproc)" "$@")
}

step "release build"
bash scripts/build.sh release
asan_build=""
if [ "$fast" = 0 ]; then
  # The sanitizer build runs beside the release suite at the lowest CPU priority: the suite spends
  # much of its time waiting on the broker (one fault test holds it away for two minutes), and at
  # nice 19 the compiler only gets the cores the tests leave idle, so their timings are unchanged.
  # (setsid: its own process group, so an early exit can stop the whole build.)
  mkdir -p build-asan
  setsid nice -n 19 bash scripts/build.sh asan >build-asan/build.log 2>&1 &
  asan_build=$!; background+=("$asan_build")
  trap 'stop_background; bash "$root/scripts/kafka.sh" stop --port "$port" >/dev/null 2>&1 || true' EXIT
fi
step "tests (release)"
run_suite build
step "contract check"
if [ -f ../shared/contract-check.py ]; then
  python3 ../shared/contract-check.py build/transform/numflow-transform
else
  echo "(../shared/contract-check.py not beside this checkout: skipped)"
fi

step "the README's demo, checked (scripts/demo.sh --check, its own broker on 19292)"
NUMFLOW_KAFKA_PORT=19292 NUMFLOW_DEMO_PORT_BASE=18080 bash scripts/demo.sh --check >build/demo.log 2>&1 ||
  { tail -60 build/demo.log >&2; echo "test.sh: the demo failed (build/demo.log)" >&2; exit 1; }
tail -3 build/demo.log >&2

step "Helm chart, alerts and dashboards (helm lint/template, kubeconform, promtool)"
bash scripts/check-helm.sh
step "every dashboard panel against a real Prometheus scrape of the running pipeline"
bash scripts/check-dashboards.sh build

if [ "$fast" = 0 ]; then
  step "sanitizer build (ASan + UBSan; started beside the release suite)"
  if ! wait "$asan_build"; then
    tail -50 build-asan/build.log >&2
    echo "test.sh: the sanitizer build failed (build-asan/build.log)" >&2
    exit 1
  fi
  tail -1 build-asan/build.log >&2
  # The fuzzers' build (clang) likewise runs beside the sanitizer suite.
  mkdir -p build-fuzz
  CI=true NUMFLOW_FUZZ_BUILD_JOBS=$(nproc) setsid nice -n 19 bash scripts/fuzz.sh --build-only >build-fuzz/build.log 2>&1 &
  fuzz_build=$!; background+=("$fuzz_build")
  step "tests (ASan + UBSan, the whole suite; the broker outage 30 s instead of 120)"
  # The release pass above held the broker away for two minutes; here the same fault test is about
  # what the sanitizers see while clients expire, which 30 s already exercises.
  NUMFLOW_TEST_OUTAGE_SECONDS=${NUMFLOW_TEST_OUTAGE_SECONDS:-30} \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=suppressions=$root/scripts/lsan.supp:print_suppressions=0 \
    run_suite build-asan
  step "fuzzing (libFuzzer + ASan + UBSan, ${NUMFLOW_TEST_FUZZ_SECONDS:-20} s per target)"
  if ! wait "$fuzz_build"; then
    tail -50 build-fuzz/build.log >&2
    echo "test.sh: the fuzzers' build failed (build-fuzz/build.log)" >&2
    exit 1
  fi
  # CI=true: the clone is thrown away, so the corpora are not merged back.
  CI=true NUMFLOW_FUZZ_BUILD_JOBS=$(nproc) NUMFLOW_FUZZ_JOBS=$(nproc) bash scripts/fuzz.sh "${NUMFLOW_TEST_FUZZ_SECONDS:-20}"
fi
step "all tests passed"
