#pragma once
// Topic provisioning: create what is missing with the contract's settings (§2), and refuse to run
// on an existing topic whose cleanup.policy is wrong (a compacted table on a delete topic would
// silently lose numbers; a raw log on a compacted topic would silently lose events).
#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace numflow::publish {

struct TopicSpec {
  std::string name;
  std::string cleanup_policy;  // "delete" or "compact"
  std::int64_t retention_ms = -2;  // -2: leave the broker default
  int partitions = -1;             // -1: the broker's num.partitions
  int replication_factor = -1;     // -1: the broker's default.replication.factor
  std::int64_t max_message_bytes = -1;  // -1: the broker's message.max.bytes
};

struct TopicsResult {
  enum Status { ok, retry, misconfigured } status = ok;
  std::string message;
};

// Partitions of `topic` per the cluster's metadata; 0 when unknown or unreachable.
int partition_count(rd_kafka_t* rk, const std::string& topic, int timeout_ms = 5000);

// The value of config `key` of each topic, by topic name; `error` set (and nothing returned) when
// the cluster cannot say.
std::map<std::string, std::string> topic_configs(rd_kafka_t* rk, const std::vector<std::string>& topics,
                                                 const std::string& key, int timeout_ms, std::string& error);

// Uses any client handle (producer or consumer) for the admin requests.
TopicsResult ensure_topics(rd_kafka_t* rk, const std::vector<TopicSpec>& specs, int timeout_ms);

}  // namespace numflow::publish
