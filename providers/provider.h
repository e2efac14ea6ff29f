#pragma once
// A provider module turns one parsed provider body into normalized per-number updates. It knows
// its own event kinds, schemas and field mapping, and nothing of Kafka or of other providers.
// Each provider registers itself in providers/registry.cpp.
#include <rapidjson/document.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "providers/json_paths.h"
#include "providers/state.h"

namespace numflow {

namespace json {
class ExactDocument;
}

// What the provider says happened to a number; the merge with known state decides the record's
// `change` (contract §3).
enum class ChangeHint : std::uint8_t {
  updated,             // anything else
  created,             // the provider says Created
  deleted,             // the provider says Deleted
  listed_in_snapshot,  // the number is in a complete inventory: created if not known before
};

struct NumberUpdate {
  std::string number;  // E.164
  ChangeHint hint = ChangeHint::updated;
  std::string event_id;
  std::int64_t event_time_ms = 0;
  SlotSet slots;
};

struct ExtensionUpdate {
  std::string extension_id;
  bool deleted = false;
  std::vector<std::string> hints;
  std::string event_id;
  std::int64_t event_time_ms = 0;
};

// A number in the event that is not E.164 even after normalization (contract: invalid_number).
struct InvalidNumber {
  std::string pointer;  // JSON pointer of the value in the body
  std::string value;
};

struct Normalized {
  std::string account_id;
  std::string event_type;
  std::vector<NumberUpdate> numbers;
  std::vector<ExtensionUpdate> extensions;
  std::vector<InvalidNumber> invalid_numbers;
  bool complete_snapshot = false;  // numbers missing from it are deleted (applied with state)
  std::string skipped;             // non-empty: a known event with nothing of ours (the reason)
};

struct Failure {
  std::string code;    // invalid_json, schema_violation, unknown_event, ...
  std::string detail;  // human readable; names the JSON pointer where there is one
};

// How a raw body reached numflow: a provider's webhook, or ingest's 8x8 poller
// (numflow-source: poll). unknown: offline (`normalize`), where an 8x8 body's shape decides.
enum class Origin : std::uint8_t { unknown, webhook, poll };

struct EventContext {
  std::string_view account_hint;        // from the raw key or --account: used when the body names none
  std::int64_t received_at_ms = 0;      // fallback event time
  bool snapshot_webhooks_complete = false;  // 8x8 SNAPSHOT webhooks count as complete inventories
  Origin origin = Origin::unknown;
  // The parsed body, when the caller has it: numbers copied into records keep their exact text
  // (providers/exact_json.h). Without it they are written as RapidJSON prints the double.
  const json::ExactDocument* source = nullptr;
};

using NormalizeResult = std::variant<Normalized, Failure>;

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const = 0;
  // The account a body belongs to, for the raw record's key; "" when it names none.
  virtual std::string account_of(const rapidjson::Value& body) const = 0;
  // Every member path account_of() reads: given a document of only those values
  // (json::pick_paths, what ingest parses per webhook), it must answer as for the whole body.
  virtual std::vector<json::MemberPath> account_paths() const = 0;
  virtual NormalizeResult normalize(const rapidjson::Value& body, const EventContext& ctx) const = 0;
};

}  // namespace numflow
