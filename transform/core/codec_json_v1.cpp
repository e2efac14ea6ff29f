// Reads the internal records numflow wrote before they went binary: JSON with "v":1. Kept so a changelog
// (and fragments in flight) written by an older version still restore after an upgrade; numflow
// writes them in the binary form of codec.cpp now.
#include "transform/core/codec_json_v1.h"

#include <rapidjson/document.h>

#include "providers/exact_json.h"

namespace numflow::transform {
namespace {

constexpr std::string_view kHints[] = {"updated", "created", "deleted", "listed"};

std::string str(const rapidjson::Value& obj, const char* name) {
  const auto it = obj.FindMember(name);
  return it != obj.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
                                                       : std::string();
}

std::int64_t num(const rapidjson::Value& obj, const char* name, std::int64_t fallback = -1) {
  const auto it = obj.FindMember(name);
  return it != obj.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : fallback;
}

std::optional<SourcePosition> source_of(const rapidjson::Value& v) {
  if (!v.IsObject() || !v.HasMember("topic") || !v["topic"].IsString() || !v.HasMember("partition") ||
      !v["partition"].IsInt() || !v.HasMember("offset") || !v["offset"].IsInt64())
    return std::nullopt;
  return SourcePosition{str(v, "topic"), v["partition"].GetInt(), v["offset"].GetInt64()};
}

}  // namespace

std::optional<std::variant<NumberFragment, SnapshotEnd>> decode_fragment_json_v1(std::string_view bytes) {
  json::ExactDocument exact;  // slot values keep their numbers' text: a price stays exact end to end
  if (exact.parse(bytes)) return std::nullopt;
  const rapidjson::Value& d = exact.root();
  if (!d.IsObject() || num(d, "v") != 1) return std::nullopt;
  const std::string type = str(d, "type");
  if (type == "snapshot_end") {
    SnapshotEnd e{str(d, "provider"), str(d, "account"), str(d, "event_type"), str(d, "inventory"),
                  num(d, "snapshot_ms"), std::nullopt};
    if (d.HasMember("source")) e.source = source_of(d["source"]);
    return e;
  }
  if (type != "update" || !d.HasMember("slots") || !d["slots"].IsObject()) return std::nullopt;
  NumberFragment f;
  f.provider = str(d, "provider");
  f.account_id = str(d, "account");
  f.event_type = str(d, "event_type");
  f.inventory = str(d, "inventory");
  f.snapshot_ms = num(d, "snapshot_ms");
  if (d.HasMember("source")) f.source = source_of(d["source"]);
  NumberUpdate& u = f.update;
  u.number = str(d, "number");
  u.event_id = str(d, "event_id");
  u.event_time_ms = num(d, "event_time", 0);
  const std::string hint = str(d, "hint");
  for (int i = 0; i < 4; ++i)
    if (kHints[i] == hint) u.hint = static_cast<ChangeHint>(i);
  for (const auto& m : d["slots"].GetObject()) {
    const std::string_view name(m.name.GetString(), m.name.GetStringLength());
    for (std::size_t s = 0; s < kSlotCount; ++s)
      if (kSlotNames[s] == name) u.slots.values[s] = json::text(m.value, &exact);
  }
  if (u.number.empty()) return std::nullopt;
  return f;
}

std::optional<NumberState> decode_state_json_v1(std::string_view bytes) {
  json::ExactDocument exact;  // see decode_fragment
  if (exact.parse(bytes)) return std::nullopt;
  const rapidjson::Value& d = exact.root();
  if (!d.IsObject() || num(d, "v") != 1) return std::nullopt;
  NumberState s;
  s.provider = str(d, "provider");
  s.account_id = str(d, "account");
  s.inventory = str(d, "inventory");
  s.snapshot_ms = num(d, "snapshot_ms");
  s.deleted_at_ms = num(d, "deleted_at");
  if (d.HasMember("ids") && d["ids"].IsArray())
    for (const auto& id : d["ids"].GetArray())
      if (id.IsString()) s.recent_event_ids.emplace_back(id.GetString(), id.GetStringLength());
  if (d.HasMember("slots") && d["slots"].IsObject())
    for (const auto& m : d["slots"].GetObject()) {
      const std::string_view name(m.name.GetString(), m.name.GetStringLength());
      for (std::size_t i = 0; i < kSlotCount; ++i)
        if (kSlotNames[i] == name && m.value.IsObject() && m.value.HasMember("v"))
          s.slots[i] = SlotValue{json::text(m.value["v"], &exact), num(m.value, "t", 0)};
    }
  return s;
}

}  // namespace numflow::transform
