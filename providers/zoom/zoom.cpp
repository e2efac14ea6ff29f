// Zoom Number Management: peering number CNAM and emergency address updates, under their
// current (number_management.*) and older (phone.*) names. One event names several numbers.
#include "providers/zoom/zoom.h"

#include <array>

#include "providers/json_util.h"
#include "providers/provider_util.h"

namespace numflow {
namespace {

enum class Kind { cnam, emergency_address, url_validation, unknown };

Kind kind_of(std::string_view event) {
  if (event == "number_management.peering_number_cnam_updated" || event == "phone.peering_number_cnam_updated")
    return Kind::cnam;
  if (event == "number_management.peering_number_emergency_address_updated" ||
      event == "phone.peering_number_emergency_address_updated")
    return Kind::emergency_address;
  if (event == "endpoint.url_validation") return Kind::url_validation;
  return Kind::unknown;
}

constexpr std::array<std::string_view, 6> kAddressFields = {"country", "address_line1", "address_line2",
                                                            "city",    "zip",           "state_code"};

}  // namespace

std::vector<json::MemberPath> Zoom::account_paths() const { return {{"payload", "account_id"}}; }

std::string Zoom::account_of(const rapidjson::Value& body) const {
  if (const auto* p = json::member(body, "payload"))
    if (auto id = json::string_member(*p, "account_id")) return std::string(*id);
  return {};
}

NormalizeResult Zoom::normalize(const rapidjson::Value& body, const EventContext& ctx) const {
  const auto event = json::string_member(body, "event");
  if (!event) return Failure{"schema_violation", "zoom: missing required property 'event' at /event"};
  const Kind kind = kind_of(*event);
  if (kind == Kind::unknown)
    return Failure{"unknown_event", "zoom event '" + std::string(*event) + "' is not one numflow handles"};
  Normalized out;
  out.event_type = std::string(*event);
  if (kind == Kind::url_validation) {
    // Ingest answers these itself; one that reaches the transform carries no number data.
    out.skipped = "zoom endpoint.url_validation";
    return out;
  }
  const char* schema = kind == Kind::cnam ? "zoom/peering-number-cnam-updated"
                                          : "zoom/peering-number-emergency-address-updated";
  if (auto f = provider_util::check_schema(schema, body)) return *f;

  const auto& payload = body["payload"];
  const auto& object = payload["object"];
  out.account_id = account_of(body);
  if (out.account_id.empty()) out.account_id = std::string(ctx.account_hint);
  const std::int64_t event_ts = body["event_ts"].GetInt64();
  const std::string event_id = provider_util::event_hash(
      {*event, out.account_id, std::to_string(event_ts), json::text(object)});

  const auto& numbers = object["phone_numbers"];
  for (rapidjson::SizeType i = 0; i < numbers.Size(); ++i) {
    const auto& n = numbers[i];
    const std::string_view text(n.GetString(), n.GetStringLength());
    NumberUpdate u;
    if (!provider_util::take_number(text, "", "/payload/object/phone_numbers/" + std::to_string(i), u, out)) continue;
    u.event_time_ms = event_ts;
    u.event_id = event_id;
    provider_util::copy_any(object, "carrier_code", Slot::carrier_code, u.slots, ctx.source);
    if (kind == Kind::cnam) {
      provider_util::copy_string(object, "cnam", Slot::cnam, u.slots);
    } else if (const auto* a = json::member(object, "emergency_address"); a && a->IsObject()) {
      u.slots.set(Slot::emergency_address, json::pick(*a, kAddressFields));
    }
    out.numbers.push_back(std::move(u));
  }
  return out;
}

}  // namespace numflow
