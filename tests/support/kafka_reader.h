#pragma once
// Reads topics back from the real broker the way analytics jobs do: read_committed, from the
// beginning, every partition.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace numflow::testing {

struct KafkaRecord {
  std::string topic;
  int partition = 0;
  long long offset = 0;
  std::string key;
  std::optional<std::string> value;  // nullopt: tombstone
  std::vector<std::pair<std::string, std::string>> headers;
  std::string header(const std::string& name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return {};
  }
};

// Reads until `expected` records have arrived (or, with expected 0, until the end of every
// partition), or the timeout passes. Returns what it read, in partition/offset order per partition.
std::vector<KafkaRecord> read_topic(const std::string& brokers, const std::string& topic, std::size_t expected,
                                    std::chrono::milliseconds timeout);

// Reads the whole topic again and again until some record satisfies `match` (true), or the
// timeout passes (false). For waiting on a record whose position is unknown.
bool wait_for_record(const std::string& brokers, const std::string& topic,
                     const std::function<bool(const KafkaRecord&)>& match, std::chrono::milliseconds timeout);

// The brokers of the test cluster, from NUMFLOW_TEST_BROKERS; "" when unset.
std::string test_brokers();

// Produces one message and waits for its delivery (acks=all); by key unless a partition is given.
bool produce_one(const std::string& brokers, const std::string& topic, const std::string& key, const std::string& value,
                 int partition = -1);

// The partition's high watermark (the offset the next record gets); -1 when unknown.
long long end_offset(const std::string& brokers, const std::string& topic, int partition);

}  // namespace numflow::testing
