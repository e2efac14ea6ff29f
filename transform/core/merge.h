#pragma once
// Merging one event's view of a number into what is known of it (contract §3): field by field,
// forward in event time only, and a record only when something changed.
#include <optional>
#include <string>
#include <vector>

#include "providers/provider.h"

namespace numflow::transform {

enum class Change { created, updated, deleted };
std::string_view to_string(Change c);

struct Merged {
  Change change = Change::updated;
  std::vector<Field> changed_fields;  // in Field order, never empty
  NumberState state;                  // the number's complete state after the event
};

// nullopt when the event changes nothing (no record is produced).
std::optional<Merged> merge(const NumberState* previous, const NumberUpdate& update);

}  // namespace numflow::transform
