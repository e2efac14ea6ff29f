#pragma once
// The Kafka settings both services share (contract §2, §5): brokers, pass-through librdkafka
// properties, topic names and how missing topics are created.
#include <cstdint>
#include <vector>

#include "common/settings.h"
#include "publish/kafka_config.h"
#include "publish/topics.h"

namespace numflow::publish {

void add_kafka_options(Settings& s);

// bootstrap.servers from --brokers, then every --kafka-property.
Properties kafka_properties(const Settings& s);

struct TopicNames {
  std::string raw, number_changes, extension_changes, dead_letter;
};
TopicNames topic_names(const Settings& s);

// Room a raw record needs beyond its body (key and headers: the key's account is capped in
// ingest_handler.cpp, the copied Content-Type is bounded by the HTTP header limit, 16 KiB), and a
// dead letter beyond its raw record (the dead-letter headers, whose detail is bounded to 1 KiB).
inline constexpr std::int64_t kRecordOverheadBytes = 64 * 1024;
// The largest body ingest can be configured to accept (its --max-body-bytes maximum).
inline constexpr std::int64_t kLargestBodyBytes = 64LL * 1024 * 1024;
// What the transform's producer must be able to send: a dead letter carries the largest raw
// record back out.
inline constexpr std::int64_t kLargestDeadLetterBytes = kLargestBodyBytes + 2 * kRecordOverheadBytes;

// The contract's topics with their settings: raw delete 7 days, the two change topics compacted,
// dead letters delete 30 days. The raw and dead-letter topics are created with a
// max.message.bytes that fits a body of `largest_body` bytes (ingest passes its --max-body-bytes;
// the broker's default, 1 MiB, is just too small for a 1 MiB body that does not compress).
std::vector<TopicSpec> topic_specs(const Settings& s, std::int64_t largest_body = 1024 * 1024);

}  // namespace numflow::publish
