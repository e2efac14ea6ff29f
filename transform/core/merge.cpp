#include "transform/core/merge.h"

#include <algorithm>

namespace numflow::transform {
namespace {

void remember(NumberState& s, const std::string& event_id) {
  if (event_id.empty()) return;
  s.recent_event_ids.push_back(event_id);
  if (s.recent_event_ids.size() > NumberState::kRecentEventIds) s.recent_event_ids.erase(s.recent_event_ids.begin());
}

// A deletion: the record names what it removes; the state keeps only the deletion marker, so an
// older event arriving late cannot bring the number back.
Merged deletion(const NumberState& before, std::vector<Field> changed) {
  Merged m;
  m.verdict = Verdict::record;
  m.change = Change::deleted;
  m.changed_fields = std::move(changed);
  m.state = before;
  if (m.changed_fields.empty()) {
    for (std::size_t s = 0; s < kSlotCount; ++s)
      if (before.slots[s]) m.changed_fields.push_back(kSlots[s].field);
    m.changed_fields.erase(std::unique(m.changed_fields.begin(), m.changed_fields.end()), m.changed_fields.end());
    if (m.changed_fields.empty()) m.changed_fields.push_back(Field::status);
  }
  return m;
}

}  // namespace

std::string_view to_string(Change c) {
  switch (c) {
    case Change::created: return "created";
    case Change::deleted: return "deleted";
    default: return "updated";
  }
}

std::int64_t newest_time(const NumberState& state) {
  std::int64_t t = -1;
  for (const auto& s : state.slots)
    if (s) t = std::max(t, s->event_time_ms);
  return t;
}

Merged merge(const NumberState* previous, const NumberUpdate& update, const std::string& inventory,
             std::int64_t snapshot_ms) {
  Merged m;
  if (previous) {
    const auto& ids = previous->recent_event_ids;
    if (!update.event_id.empty() && std::find(ids.begin(), ids.end(), update.event_id) != ids.end()) {
      // Nothing new about the number; but a snapshot listing it again still says it is in stock.
      if (!inventory.empty() && !previous->deleted() && snapshot_ms > previous->snapshot_ms) {
        m.state = *previous;
        m.state.inventory = inventory;
        m.state.snapshot_ms = snapshot_ms;
        m.verdict = Verdict::unchanged;
        return m;
      }
      m.verdict = Verdict::duplicate;
      return m;
    }
    // A snapshot's listing counts from when the snapshot was taken (its entries keep older times).
    const std::int64_t effective = std::max(update.event_time_ms, snapshot_ms);
    if (previous->deleted() && effective <= previous->deleted_at_ms) {
      m.verdict = Verdict::stale;
      return m;
    }
  }
  const bool known = previous && !previous->deleted();
  if (known) m.state = *previous;
  m.state.deleted_at_ms = -1;

  if (update.hint == ChangeHint::deleted) {
    if (known && update.event_time_ms < newest_time(*previous)) {
      m.verdict = Verdict::stale;  // the number changed after this deletion was announced
      return m;
    }
    // The deletion's own fields still show in the record (what the provider said last).
    std::vector<Field> changed;
    for (std::size_t s = 0; s < kSlotCount; ++s) {
      const auto& value = update.slots.values[s];
      if (!value) continue;
      auto& slot = m.state.slots[s];
      if (!slot || slot->json != *value) changed.push_back(kSlots[s].field);
      slot = SlotValue{*value, update.event_time_ms};
    }
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    Merged d = deletion(m.state, std::move(changed));
    remember(d.state, update.event_id);
    return d;
  }

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
  if (!inventory.empty() && snapshot_ms >= m.state.snapshot_ms) {
    m.state.inventory = inventory;
    m.state.snapshot_ms = snapshot_ms;
  }
  remember(m.state, update.event_id);

  const bool announced = update.hint == ChangeHint::created || update.hint == ChangeHint::listed_in_snapshot;
  const bool returning = previous && previous->deleted();
  if (m.changed_fields.empty()) {
    m.verdict = Verdict::unchanged;
    return m;
  }
  m.verdict = Verdict::record;
  m.change = (returning || (!known && announced)) ? Change::created : Change::updated;
  return m;
}

Merged delete_missing(const NumberState& previous, const std::string& event_id) {
  Merged d = deletion(previous, {});
  remember(d.state, event_id);
  return d;
}

}  // namespace numflow::transform

namespace numflow::transform {

NumberState deletion_marker(const NumberState& deleted, std::int64_t at_ms) {
  // No event ids: a redelivered event is now recognised by its time (not newer than the deletion),
  // and a number listed again with its old data must come back.
  (void)deleted;
  NumberState marker;
  marker.deleted_at_ms = at_ms;
  return marker;
}

}  // namespace numflow::transform
