#pragma once
// Rebuilding one merge partition's per-number state from the state changelog (a compacted topic
// written in the same transactions as the records it explains), before the partition's first
// fragment is merged.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "publish/kafka_config.h"
#include "transform/core/state_store.h"

namespace numflow::transform {

struct RestoreOptions {
  publish::Properties kafka;  // the service's Kafka settings (brokers, security, ...)
  std::string topic;          // the changelog
  std::string group_id;       // librdkafka wants one; nothing is committed with it
  std::chrono::milliseconds attempt_timeout{120000};
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{30000};
};

struct RestoreResult {
  bool complete = false;  // false only when stopping came first
  std::size_t records = 0;  // changelog records applied by the attempt that completed
  int attempts = 0;
};

// Reads changelog partition `p` (read_committed) from its beginning to its high watermark into
// `store`, replacing what it held. An attempt that fails (no consumer, the watermark unknown, the
// end not reached in time) is retried from scratch with backoff until one reads it all: merging
// on a partial state would publish wrong records (fields lost, a redelivery taken as new,
// `created` twice), so waiting is the only safe answer while Kafka is away.
RestoreResult restore_partition(const RestoreOptions& options, std::int32_t p, MemoryStateStore& store,
                                const std::atomic<bool>& stopping);

}  // namespace numflow::transform
