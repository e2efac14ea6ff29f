#pragma once
// The per-number state of contract §3, as numflow keeps it internally.
//
// The record's `state` has 16 fields, but two of them (`health`, `pricing`) are objects whose
// members come from different events (the 8x8 webhook says only whether the health check is
// enabled; the numbers API also says whether the number is healthy). So the state is kept as finer
// *slots*, each merged on its own by event time, and `health`/`pricing` are assembled from theirs.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace numflow {

enum class Field : std::uint8_t {
  country_code, number_valid, status, provider_status, usable_for_new_sessions, health, cnam,
  emergency_address, carrier_code, usage_type, number_type, payment_type, location,
  contact_center_provider, reference_id, pricing,
};
inline constexpr std::size_t kFieldCount = 16;
inline constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "country_code", "number_valid", "status", "provider_status", "usable_for_new_sessions", "health", "cnam",
    "emergency_address", "carrier_code", "usage_type", "number_type", "payment_type", "location",
    "contact_center_provider", "reference_id", "pricing"};

enum class Slot : std::uint8_t {
  country_code, number_valid, status, provider_status, usable_for_new_sessions,
  health_check_enabled, health_healthy, health_status, health_last_checked,
  cnam, emergency_address, carrier_code, usage_type, number_type, payment_type, location,
  contact_center_provider, reference_id,
  pricing_rental_price, pricing_incoming_rate, pricing_billing_unit, pricing_currency,
};
inline constexpr std::size_t kSlotCount = 22;
inline constexpr std::array<std::string_view, kSlotCount> kSlotNames = {
    "country_code", "number_valid", "status", "provider_status", "usable_for_new_sessions",
    "health.check_enabled", "health.healthy", "health.status", "health.last_checked",
    "cnam", "emergency_address", "carrier_code", "usage_type", "number_type", "payment_type", "location",
    "contact_center_provider", "reference_id",
    "pricing.rental_price", "pricing.incoming_rate", "pricing.billing_unit", "pricing.currency"};

struct SlotInfo {
  Field field;
  std::string_view member;  // member name inside an object field, empty for a whole field
};
inline constexpr std::array<SlotInfo, kSlotCount> kSlots = {{
    {Field::country_code, ""}, {Field::number_valid, ""}, {Field::status, ""}, {Field::provider_status, ""},
    {Field::usable_for_new_sessions, ""},
    {Field::health, "check_enabled"}, {Field::health, "healthy"}, {Field::health, "status"},
    {Field::health, "last_checked"},
    {Field::cnam, ""}, {Field::emergency_address, ""}, {Field::carrier_code, ""}, {Field::usage_type, ""},
    {Field::number_type, ""}, {Field::payment_type, ""}, {Field::location, ""},
    {Field::contact_center_provider, ""}, {Field::reference_id, ""},
    {Field::pricing, "rental_price"}, {Field::pricing, "incoming_rate"}, {Field::pricing, "billing_unit"},
    {Field::pricing, "currency"},
}};

// Values are canonical JSON text ("\"active\"", "true", "null", "{...}"), so merging compares
// strings and serializing is concatenation.
struct SlotValue {
  std::string json;
  std::int64_t event_time_ms = 0;
};

// The slots one event sets for one number.
struct SlotSet {
  std::array<std::optional<std::string>, kSlotCount> values;
  void set(Slot s, std::string json) { values[static_cast<std::size_t>(s)] = std::move(json); }
  const std::optional<std::string>& get(Slot s) const { return values[static_cast<std::size_t>(s)]; }
};

// What numflow knows of one number.
struct NumberState {
  std::array<std::optional<SlotValue>, kSlotCount> slots;
  std::string provider, account_id;  // of the last event that changed it
  // "8x8:{subaccount}" when a complete snapshot of that inventory listed the number, and when the
  // newest such snapshot was taken: a later snapshot of the same inventory without it deletes it.
  std::string inventory;
  std::int64_t snapshot_ms = -1;
  // Set while the number is deleted: events no newer than this cannot bring it back.
  std::int64_t deleted_at_ms = -1;
  // The last few event ids applied: a redelivered event changes nothing (contract §3).
  std::vector<std::string> recent_event_ids;
  static constexpr std::size_t kRecentEventIds = 8;
  bool deleted() const { return deleted_at_ms >= 0; }
};

}  // namespace numflow
