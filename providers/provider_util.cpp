#include "providers/provider_util.h"

#include "common/crypto.h"
#include "common/time.h"
#include "providers/json_util.h"
#include "schemas/schema_store.h"

namespace numflow::provider_util {

std::optional<Failure> check_schema(std::string_view schema_name, const rapidjson::Value& body) {
  auto violation = schemas::validate(schema_name, body);
  if (!violation) return std::nullopt;
  std::string detail = violation->detail;
  if (detail.empty()) detail = violation->keyword + " at " + (violation->pointer.empty() ? "/" : violation->pointer);
  return Failure{"schema_violation", std::string(schema_name) + ": " + detail};
}

std::string event_hash(std::initializer_list<std::string_view> parts) {
  std::string joined;
  for (auto p : parts) {
    joined.append(p);
    joined.push_back('\x1f');  // unit separator: ("ab","c") and ("a","bc") hash differently
  }
  return crypto::sha256_hex(joined).substr(0, 32);
}

std::int64_t time_or(std::optional<std::string_view> rfc3339, std::int64_t fallback_ms) {
  if (rfc3339)
    if (auto ms = parse_rfc3339_ms(*rfc3339)) return *ms;
  return fallback_ms;
}

bool take_number(std::string_view text, std::string_view country, std::string pointer, NumberUpdate& update,
                 Normalized& out) {
  auto n = phone::normalize(text, country);
  if (!n) {
    out.invalid_numbers.push_back({std::move(pointer), std::string(text)});
    return false;
  }
  update.number = n->e164;
  update.slots.set(Slot::number_valid, json::boolean(n->valid));
  if (!country.empty())
    update.slots.set(Slot::country_code, json::quote(country));
  else if (!n->region.empty())
    update.slots.set(Slot::country_code, json::quote(n->region));
  return true;
}

void copy_string(const rapidjson::Value& obj, std::string_view member, Slot slot, SlotSet& slots) {
  const auto* v = json::member(obj, member);
  if (v && (v->IsString() || v->IsNull())) slots.set(slot, json::text(*v));
}

void copy_any(const rapidjson::Value& obj, std::string_view member, Slot slot, SlotSet& slots,
              const json::ExactDocument* source) {
  if (auto t = json::member_text(obj, member, source)) slots.set(slot, std::move(*t));
}

}  // namespace numflow::provider_util
