#pragma once
// The Kafka settings both services share (contract §2, §5): brokers, pass-through librdkafka
// properties, topic names and how missing topics are created.
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

// The contract's topics with their settings: raw delete 7 days, the two change topics compacted,
// dead letters delete 30 days.
std::vector<TopicSpec> topic_specs(const Settings& s);

}  // namespace numflow::publish
