#pragma once
// Merging one event's view of a number into what is known of it (contract §3): field by field,
// forward in event time only, a redelivered event changes nothing, and a record only when
// something changed.
#include <optional>
#include <string>
#include <vector>

#include "providers/provider.h"

namespace numflow::transform {

enum class Change { created, updated, deleted };
std::string_view to_string(Change c);

enum class Verdict {
  record,     // publish a record (and, for a deletion, a tombstone)
  unchanged,  // applied, nothing differs: no record (state may still have moved, e.g. snapshot time)
  duplicate,  // this event_id was applied before: nothing happens
  stale,      // older than what it would change (a late deletion, an event older than a deletion)
};

struct Merged {
  Verdict verdict = Verdict::unchanged;
  Change change = Change::updated;
  std::vector<Field> changed_fields;  // in Field order; never empty for a record
  NumberState state;                  // the number's state after the event
};

// `previous` is null for a number never seen. `inventory`/`snapshot_ms` are set when the update
// comes from a complete snapshot of that inventory.
Merged merge(const NumberState* previous, const NumberUpdate& update, const std::string& inventory = {},
             std::int64_t snapshot_ms = -1);

// The deletion of a number that a complete snapshot of its inventory no longer lists.
Merged delete_missing(const NumberState& previous, const std::string& event_id);

// What is kept of a deleted number: when it was deleted, so older events cannot revive it.
NumberState deletion_marker(const NumberState& deleted, std::int64_t at_ms);

// The newest event time any of the number's fields holds (-1 when none).
std::int64_t newest_time(const NumberState& state);

}  // namespace numflow::transform
