// RingCentral: Contact Center Phone Number events (one number each), Extension Info events (no
// number: they go to extension-changes) and subscription renewal reminders (skipped).
#include "providers/ringcentral/ringcentral.h"

#include <array>

#include "providers/json_util.h"
#include "providers/provider_util.h"

namespace numflow {
namespace {

enum class Kind { phone_number, extension, renewal, unknown };

// "/restapi/v1.0/account/{a}/extension/{e}" is Extension Info; deeper extension paths
// (".../presence", ".../message-store") are other event filters numflow does not subscribe to.
bool is_extension_info(std::string_view path) {
  const auto q = path.find('?');
  path = path.substr(0, q);
  const auto pos = path.find("/extension/");
  return pos != std::string_view::npos && path.find('/', pos + 11) == std::string_view::npos;
}

Kind kind_of(std::string_view event, const rapidjson::Value& body) {
  if (event.find("/subscription") != std::string_view::npos) return Kind::renewal;
  if (event.find("/phone-number") != std::string_view::npos) return Kind::phone_number;
  if (is_extension_info(event)) return Kind::extension;
  const auto* b = json::member(body, "body");
  if (b && json::member(*b, "phoneNumberInfo")) return Kind::phone_number;
  return Kind::unknown;
}

std::string_view status_of(std::string_view rc) {
  if (rc == "Normal") return "active";
  if (rc == "Pending") return "pending";
  return "unknown";
}

ChangeHint hint_of(std::string_view event_type) {
  if (event_type == "Created") return ChangeHint::created;
  if (event_type == "Deleted") return ChangeHint::deleted;
  return ChangeHint::updated;
}

std::string resolve_account(std::string_view event, std::string_view uri, std::string_view hint) {
  std::string a = ringcentral_account_in(event);
  if (a.empty()) a = ringcentral_account_in(uri);
  if (a.empty()) a = std::string(hint);
  return a;
}

constexpr std::array<std::string_view, 2> kProviderFields = {"id", "name"};

}  // namespace

std::string ringcentral_account_in(std::string_view path) {
  constexpr std::string_view kMarker = "/account/";
  const auto pos = path.find(kMarker);
  if (pos == std::string_view::npos) return {};
  auto rest = path.substr(pos + kMarker.size());
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (rest.empty() || rest == "~" || rest.front() == '{') return {};
  return std::string(rest);
}

std::vector<json::MemberPath> RingCentral::account_paths() const { return {{"event"}, {"body", "phoneNumberInfo", "uri"}}; }

std::string RingCentral::account_of(const rapidjson::Value& body) const {
  std::string uri;
  if (const auto* b = json::member(body, "body"))
    if (const auto* info = json::member(*b, "phoneNumberInfo")) uri = json::string_member(*info, "uri").value_or("");
  return resolve_account(json::string_member(body, "event").value_or(""), uri, "");
}

NormalizeResult RingCentral::normalize(const rapidjson::Value& body, const EventContext& ctx) const {
  const auto event = json::string_member(body, "event");
  if (!event) return Failure{"schema_violation", "ringcentral: missing required property 'event' at /event"};
  const Kind kind = kind_of(*event, body);
  Normalized out;
  if (kind == Kind::unknown)
    return Failure{"unknown_event", "ringcentral event filter '" + std::string(*event) + "' is not one numflow handles"};
  if (kind == Kind::renewal) {
    if (auto f = provider_util::check_schema("ringcentral/subscription-renewal", body)) return *f;
    out.event_type = "SubscriptionRenewalReminder";
    out.skipped = "ringcentral subscription renewal reminder";
    return out;
  }
  // Strings are read with their length throughout: "\u0000" is legal inside a JSON string, and a
  // C-string read would cut the value there (extension "12\u00003" would become extension "12").
  const std::string_view uuid = json::string_member(body, "uuid").value_or("");
  const std::int64_t when = provider_util::time_or(json::string_member(body, "timestamp"), ctx.received_at_ms);

  if (kind == Kind::extension) {
    if (auto f = provider_util::check_schema("ringcentral/extension-info", body)) return *f;
    const auto& b = body["body"];
    out.event_type = *json::string_member(b, "eventType");  // the schema requires both strings
    out.account_id = resolve_account(*event, "", ctx.account_hint);
    ExtensionUpdate x;
    x.extension_id = *json::string_member(b, "extensionId");
    x.deleted = out.event_type == "Delete";
    if (const auto* h = json::member(b, "hints"); h && h->IsArray())
      for (const auto& item : h->GetArray())
        if (item.IsString()) x.hints.emplace_back(item.GetString(), item.GetStringLength());
    x.event_id = std::string(uuid);
    x.event_time_ms = when;
    out.extensions.push_back(std::move(x));
    return out;
  }

  if (auto f = provider_util::check_schema("ringcentral/contact-center-phone-number", body)) return *f;
  const auto& b = body["body"];
  const auto& info = b["phoneNumberInfo"];
  out.event_type = *json::string_member(b, "eventType");
  out.account_id = resolve_account(*event, json::string_member(info, "uri").value_or(""), ctx.account_hint);
  NumberUpdate u;
  const std::string_view text(info["phoneNumber"].GetString(), info["phoneNumber"].GetStringLength());
  if (!provider_util::take_number(text, "", "/body/phoneNumberInfo/phoneNumber", u, out)) return out;
  u.hint = hint_of(out.event_type);
  u.event_id = std::string(uuid);
  u.event_time_ms = when;
  if (auto st = json::string_member(info, "status")) {
    u.slots.set(Slot::status, json::quote(status_of(*st)));
    u.slots.set(Slot::provider_status, json::quote(*st));
  }
  provider_util::copy_string(info, "usageType", Slot::usage_type, u.slots);
  provider_util::copy_string(info, "type", Slot::number_type, u.slots);
  provider_util::copy_string(info, "paymentType", Slot::payment_type, u.slots);
  provider_util::copy_string(info, "location", Slot::location, u.slots);
  if (const auto* cc = json::member(info, "contactCenterProvider"); cc && cc->IsObject())
    u.slots.set(Slot::contact_center_provider, json::pick(*cc, kProviderFields));
  out.numbers.push_back(std::move(u));
  return out;
}

}  // namespace numflow
