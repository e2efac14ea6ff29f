#pragma once
// What every provider module does the same way: schema checks, event ids, times, number slots.
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "providers/phone.h"
#include "providers/provider.h"

namespace numflow::provider_util {

// schema_violation naming the failing JSON pointer, or nullopt when the body conforms.
std::optional<Failure> check_schema(std::string_view schema_name, const rapidjson::Value& body);

// A stable id for providers that send none: sha256 over the identifying parts, 32 hex chars, so a
// retried delivery gets the same id (contract §3 event_id).
std::string event_hash(std::initializer_list<std::string_view> parts);

// The provider's time of the change in unix ms, or the receive time when it gives none.
std::int64_t time_or(std::optional<std::string_view> rfc3339, std::int64_t fallback_ms);

// Normalizes one number of the body. On success fills `update.number` and the country_code and
// number_valid slots (the provider's own country, when it gives one, wins) and returns true; else
// records it in `out.invalid_numbers` and returns false.
bool take_number(std::string_view text, std::string_view country, std::string pointer, NumberUpdate& update,
                 Normalized& out);

// Copies a string member into a slot when present (strings and null only; other types are left
// to the schema).
void copy_string(const rapidjson::Value& obj, std::string_view member, Slot slot, SlotSet& slots);
// Copies a member of any type; its numbers keep the text they have in `source` (a price stays
// 0.1234567890123456789, not the nearest double).
void copy_any(const rapidjson::Value& obj, std::string_view member, Slot slot, SlotSet& slots,
              const json::ExactDocument* source);

}  // namespace numflow::provider_util
