#include "transform/core/records.h"

#include <array>
#include <cstdint>

#include "common/time.h"
#include "providers/json_util.h"

namespace numflow::transform {
namespace {

void append_member(std::string& out, std::string_view key, std::string_view json_value) {
  out += '"';
  out += key;  // keys are numflow's own snake_case names: no escaping needed
  out += "\":";
  out += json_value;
  out += ',';
}

void append_string_member(std::string& out, std::string_view key, std::string_view value) {
  out += '"';
  out += key;
  out += "\":";
  json::append_quoted(out, value);
  out += ',';
}

void append_source(std::string& out, const std::optional<SourcePosition>* source) {
  out += "\"source\":";
  if (!source || !*source) {
    out += "null";
    return;
  }
  const auto& s = **source;
  out += "{\"topic\":";
  json::append_quoted(out, s.topic);
  out += ",\"partition\":";
  out += std::to_string(s.partition);
  out += ",\"offset\":";
  out += std::to_string(s.offset);
  out += '}';
}

// Each field's slots, in slot order: one for a whole field, several for an object field (health,
// pricing). Worked out at compile time; serializing searched all 22 slots for each of the 16
// fields of every record.
struct FieldSlots {
  std::array<std::uint8_t, kSlotCount> slot{};
  std::size_t count = 0;
};
constexpr std::array<FieldSlots, kFieldCount> kFieldSlots = [] {
  std::array<FieldSlots, kFieldCount> out{};
  for (std::size_t s = 0; s < kSlotCount; ++s) {
    FieldSlots& f = out[static_cast<std::size_t>(kSlots[s].field)];
    f.slot[f.count++] = static_cast<std::uint8_t>(s);
  }
  return out;
}();

std::string_view slot_json(const NumberState& state, std::size_t s) {
  return state.slots[s] ? std::string_view(state.slots[s]->json) : std::string_view("null");
}

// An object field (health, pricing) from its member slots: null until one of them is known.
void append_object_field(std::string& out, const NumberState& state, const FieldSlots& members) {
  bool any = false;
  for (std::size_t i = 0; i < members.count; ++i) any |= state.slots[members.slot[i]].has_value();
  if (!any) {
    out += "null";
    return;
  }
  out += '{';
  for (std::size_t i = 0; i < members.count; ++i) {
    if (i) out += ',';
    out += '"';
    out += kSlots[members.slot[i]].member;
    out += "\":";
    out += slot_json(state, members.slot[i]);
  }
  out += '}';
}

void append_state_json(std::string& out, const NumberState& state) {
  out += '{';
  for (std::size_t f = 0; f < kFieldCount; ++f) {
    if (f) out += ',';
    out += '"';
    out += kFieldNames[f];
    out += "\":";
    const Field field = static_cast<Field>(f);
    if (field == Field::health || field == Field::pricing)
      append_object_field(out, state, kFieldSlots[f]);
    else
      out += slot_json(state, kFieldSlots[f].slot[0]);
  }
  out += '}';
}

}  // namespace

std::string state_json(const NumberState& state) {
  std::string out;
  out.reserve(512);
  append_state_json(out, state);
  return out;
}

std::string number_change_json(const RecordContext& ctx, std::string_view number, const Merged& merged,
                               std::string_view event_id, std::int64_t event_time_ms) {
  std::string out;
  out.reserve(1024);
  out += '{';
  append_member(out, "schema", "\"numflow.number-change.v1\"");
  append_string_member(out, "number", number);
  append_string_member(out, "provider", ctx.provider);
  append_string_member(out, "account_id", ctx.account_id);
  append_string_member(out, "change", to_string(merged.change));
  out += "\"changed_fields\":[";
  for (std::size_t i = 0; i < merged.changed_fields.size(); ++i) {
    if (i) out += ',';
    out += '"';
    out += kFieldNames[static_cast<std::size_t>(merged.changed_fields[i])];
    out += '"';
  }
  out += "],";
  append_string_member(out, "event_type", ctx.event_type);
  append_string_member(out, "event_id", event_id);
  append_string_member(out, "event_time", format_rfc3339_ms(event_time_ms));
  append_string_member(out, "processed_at", format_rfc3339_ms(ctx.processed_at_ms));
  out += "\"state\":";
  append_state_json(out, merged.state);
  out += ',';
  append_source(out, ctx.source);
  out += '}';
  return out;
}

std::string extension_change_json(const RecordContext& ctx, const ExtensionUpdate& x) {
  std::string out = "{";
  append_member(out, "schema", "\"numflow.extension-change.v1\"");
  append_member(out, "provider", json::quote(ctx.provider));
  append_member(out, "account_id", json::quote(ctx.account_id));
  append_member(out, "extension_id", json::quote(x.extension_id));
  append_member(out, "change", x.deleted ? "\"deleted\"" : "\"updated\"");
  std::string hints = "[";
  for (std::size_t i = 0; i < x.hints.size(); ++i) {
    if (i) hints += ',';
    hints += json::quote(x.hints[i]);
  }
  hints += ']';
  append_member(out, "hints", hints);
  append_member(out, "event_type", json::quote(ctx.event_type));
  append_member(out, "event_id", json::quote(x.event_id));
  append_member(out, "event_time", json::quote(format_rfc3339_ms(x.event_time_ms)));
  append_member(out, "processed_at", json::quote(format_rfc3339_ms(ctx.processed_at_ms)));
  append_source(out, ctx.source);
  out += '}';
  return out;
}

}  // namespace numflow::transform
