#pragma once
// The transform's core, in two pure stages, composed by process():
//
//   normalize_raw:  raw bytes + provider + account            -> per-number fragments, extension
//                                                                records, dead letters (no state)
//   apply_fragment: one number's fragment + that number's state -> number-change records
//
// The Kafka service runs the stages apart (fragments are repartitioned by number in between, so
// each number's state lives in exactly one place whatever raw partition its events came through);
// the offline `numflow-transform normalize` command and the tests run process(). No I/O here.
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

struct RawEvent {
  std::string_view provider;  // numflow-provider header
  std::string_view account;   // from the raw key ("{provider}:{account}") or --account
  std::string_view body;      // the exact bytes the provider sent
  std::int64_t received_at_ms = 0;
  std::optional<SourcePosition> source;
  // Where the body came from, when known (the numflow-source header): a complete inventory
  // deletes what it does not list, so only the poller's own responses may be taken for one.
  Origin origin = Origin::unknown;
};

struct CoreOptions {
  bool snapshot_webhooks_complete = false;
};

// ---- stage 1 ----

// One number's part of one event, with what the merge and the record need to know of the event.
struct NumberFragment {
  std::string provider, account_id, event_type;
  NumberUpdate update;
  std::optional<SourcePosition> source;
  std::string inventory;         // "8x8:{account}" when listed in a complete snapshot
  std::int64_t snapshot_ms = -1;  // when that snapshot was taken
};

// The end of a complete snapshot: numbers of `inventory` it did not list are deleted.
struct SnapshotEnd {
  std::string provider, account_id, event_type, inventory;
  std::int64_t snapshot_ms = -1;
  std::optional<SourcePosition> source;
};

struct Normalization {
  std::vector<NumberFragment> fragments;
  std::optional<SnapshotEnd> snapshot_end;
  std::vector<Output> outputs;  // extension records and dead letters: final, no state involved
  Outcome outcome = Outcome::unchanged;  // published: fragments or outputs to write
  std::string provider_event_type;
  std::string detail;  // skip reason or first error
};

Normalization normalize_raw(const RawEvent& event, const CoreOptions& options, std::int64_t now_ms);

// ---- stage 2 ----

struct Applied {
  Verdict verdict = Verdict::unchanged;
  std::vector<Output> outputs;
  bool state_changed = false;  // the store was written (the changelog must follow)
};

Applied apply_fragment(const NumberFragment& fragment, StateStore& state, std::int64_t now_ms);
// Deletes the numbers of the snapshot's inventory that it did not list; returns their records
// and, through `deleted`, their keys (for the changelog).
std::vector<Output> apply_snapshot_end(const SnapshotEnd& end, StateStore& state, std::int64_t now_ms,
                                       std::vector<std::string>* deleted = nullptr);

// ---- both ----

struct Result {
  std::vector<Output> outputs;  // in the order they must be published
  Outcome outcome = Outcome::unchanged;
  std::string provider_event_type;  // for metrics; empty when unknown
  std::string detail;               // skip reason or first error, for logs
};

Result process(const RawEvent& event, StateStore& state, const CoreOptions& options, std::int64_t now_ms);

// "{provider}:{account}" -> {provider, account}; a key without ':' is all provider.
std::pair<std::string_view, std::string_view> split_raw_key(std::string_view key);

}  // namespace numflow::transform
