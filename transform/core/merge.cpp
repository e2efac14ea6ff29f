#include "transform/core/merge.h"

#include <algorithm>

namespace numflow::transform {

std::string_view to_string(Change c) {
  switch (c) {
    case Change::created: return "created";
    case Change::deleted: return "deleted";
    default: return "updated";
  }
}

std::optional<Merged> merge(const NumberState* previous, const NumberUpdate& update) {
  Merged m;
  if (previous) m.state = *previous;
  std::array<bool, kFieldCount> changed{};
  for (std::size_t s = 0; s < kSlotCount; ++s) {
    const auto& value = update.slots.values[s];
    if (!value) continue;
    auto& slot = m.state.slots[s];
    // A field keeps the value of the newest event that set it: an older event arriving late
    // cannot regress it, but still sets the fields no newer event has set.
    if (slot && slot->event_time_ms > update.event_time_ms) continue;
    if (!slot || slot->json != *value) changed[static_cast<std::size_t>(kSlots[s].field)] = true;
    slot = SlotValue{*value, update.event_time_ms};
  }
  for (std::size_t f = 0; f < kFieldCount; ++f)
    if (changed[f]) m.changed_fields.push_back(static_cast<Field>(f));

  if (update.hint == ChangeHint::deleted) {
    m.change = Change::deleted;
    if (m.changed_fields.empty()) {
      // Nothing in the deletion itself differs: name what the deletion removes.
      for (std::size_t s = 0; s < kSlotCount; ++s)
        if (m.state.slots[s]) m.changed_fields.push_back(kSlots[s].field);
      m.changed_fields.erase(std::unique(m.changed_fields.begin(), m.changed_fields.end()), m.changed_fields.end());
      if (m.changed_fields.empty()) m.changed_fields.push_back(Field::status);
    }
    return m;
  }
  if (m.changed_fields.empty()) return std::nullopt;
  const bool announced = update.hint == ChangeHint::created || update.hint == ChangeHint::listed_in_snapshot;
  m.change = (!previous && announced) ? Change::created : Change::updated;
  return m;
}

}  // namespace numflow::transform
