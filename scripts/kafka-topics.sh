#!/usr/bin/env bash
# Kafka's own kafka-topics.sh (org.apache.kafka.tools.TopicCommand) for the local broker, using
# the jars scripts/kafka.sh caches. --bootstrap-server defaults to that broker
# (127.0.0.1:$NUMFLOW_KAFKA_PORT, 9092). Examples:
#   scripts/kafka-topics.sh --create --topic number-changes --partitions 3 --config cleanup.policy=compact
#   scripts/kafka-topics.sh --describe --topic number-changes
#   scripts/kafka-topics.sh --list
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

args=("$@")
has_bootstrap=0
for a in "$@"; do
  [[ $a == --bootstrap-server || $a == --bootstrap-server=* ]] && has_bootstrap=1
done
((has_bootstrap)) || args=(--bootstrap-server "$("$here/kafka.sh" bootstrap)" "${args[@]}")

exec "$here/kafka.sh" tool org.apache.kafka.tools.TopicCommand "${args[@]}"
