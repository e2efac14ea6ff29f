#pragma once
// The transform's core: one raw event (bytes + provider + account + where it came from) and the
// known state in, the records to publish out. No I/O: the Kafka service and the offline
// `numflow-transform normalize` command both call exactly this.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transform/core/records.h"
#include "transform/core/state_store.h"

namespace numflow::transform {

enum class Topic { number_changes, extension_changes, dead_letter };

struct Output {
  Topic topic;
  std::string key;                   // empty for dead letters: the service uses the raw key
  std::optional<std::string> value;  // nullopt: a tombstone (or, for a dead letter, the raw bytes)
  std::string error_code;            // dead letters only
  std::string error_detail;
};

enum class Outcome { published, unchanged, skipped, dead_lettered };
std::string_view to_string(Outcome o);

struct Result {
  std::vector<Output> outputs;  // in the order they must be published
  Outcome outcome = Outcome::unchanged;
  std::string provider_event_type;  // for metrics; empty when unknown
  std::string detail;               // skip reason or first error, for logs
};

struct RawEvent {
  std::string_view provider;  // numflow-provider header
  std::string_view account;   // from the raw key ("{provider}:{account}") or --account
  std::string_view body;      // the exact bytes the provider sent
  std::int64_t received_at_ms = 0;
  std::optional<SourcePosition> source;
};

struct CoreOptions {
  bool snapshot_webhooks_complete = false;
};

Result process(const RawEvent& event, StateStore& state, const CoreOptions& options, std::int64_t now_ms);

// "{provider}:{account}" -> {provider, account}; a key without ':' is all provider.
std::pair<std::string_view, std::string_view> split_raw_key(std::string_view key);

}  // namespace numflow::transform
