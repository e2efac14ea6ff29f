#!/usr/bin/env bash
# Installs everything numflow needs to build and test on Debian 12. Idempotent: packages already
# present are skipped, so a second run costs one dpkg query.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git python3
  librdkafka-dev             # Kafka client (producer, consumer, admin, transactions, mock cluster)
  rapidjson-dev              # JSON parse + draft-04 schema validation
  prometheus-cpp-dev         # /metrics exposition
  libgtest-dev libgmock-dev  # unit and integration tests
  libphonenumber-dev         # E.164 normalization and validity
  libprotobuf-dev            # PhoneNumber is a protobuf message phone.cpp builds
  libicu-dev                 # libphonenumber's regex engine: nanp_verdict.cpp compiles its patterns
  libboost-dev               # Boost.Beast/Asio: asynchronous HTTP/1.1 server
  libssl-dev                 # HMAC-SHA256, constant-time compare
  libcurl4-openssl-dev       # HTTP client (8x8 numbers poller)
  libbenchmark-dev           # Google Benchmark (bench/)
  libyaml-cpp-dev            # --config FILE (YAML)
  libgoogle-perftools-dev    # tcmalloc (minimal), the services' allocator
  maven openjdk-17-jre-headless  # fetch and run the local Kafka broker
  curl kafkacat              # demo/test tools (kcat)
  prometheus                 # promtool (metrics lint, rule tests) and the dashboards check
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "install-deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install-deps: all packages present" >&2
