#pragma once
// Rebuilding merge partitions' per-number state from the state changelog (a compacted topic
// written in the same transactions as the records it explains), before their first fragment is
// merged.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "publish/kafka_config.h"
#include "transform/core/state_store.h"

namespace numflow::transform {

struct RestoreOptions {
  publish::Properties kafka;  // the service's Kafka settings (brokers, security, ...)
  std::string topic;          // the changelog
  std::string group_id;       // librdkafka wants one; nothing is committed with it
  std::chrono::milliseconds attempt_timeout{120000};  // an attempt fails after this long without progress
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{30000};
};

struct RestoreResult {
  bool complete = false;  // false only when stopping came first
  std::size_t records = 0;  // changelog records applied by the attempts that completed partitions
  int attempts = 0;
};

// A changelog partition and the store it is read into.
using RestoreTarget = std::pair<std::int32_t, MemoryStateStore*>;

// Reads each target's changelog partition (read_committed) from its beginning to its high
// watermark into its store, replacing what it held; all of them side by side, with one consumer
// (a rebalance that hands an instance twelve partitions waits for the largest, not for the sum).
// An attempt that fails (no consumer, a watermark unknown, no progress for attempt_timeout) is retried
// from scratch with backoff for the partitions it did not finish, until every one is read whole:
// merging on a partial state would publish wrong records (fields lost, a redelivery taken as new,
// `created` twice), so waiting is the only safe answer while Kafka is away. When stopping comes
// first, every target's store is left empty.
RestoreResult restore_partitions(const RestoreOptions& options, const std::vector<RestoreTarget>& targets,
                                 const std::atomic<bool>& stopping);

// One partition: restore_partitions with one target.
RestoreResult restore_partition(const RestoreOptions& options, std::int32_t p, MemoryStateStore& store,
                                const std::atomic<bool>& stopping);

}  // namespace numflow::transform
