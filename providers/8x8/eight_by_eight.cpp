// 8x8: the VIRTUAL_NUMBER_UPDATE webhook (payload.virtualNumbers[]) and the "Get My Virtual
// Numbers" API response the poller captures (numbers[]), told apart by shape.
#include "providers/8x8/eight_by_eight.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "common/time.h"
#include "providers/json_util.h"
#include "providers/provider_util.h"

namespace numflow {
namespace {

using provider_util::copy_any;
using provider_util::copy_string;

constexpr std::string_view kWebhookEvent = "VIRTUAL_NUMBER_UPDATE";
constexpr std::string_view kSnapshotEventType = "NUMBERS_API_SNAPSHOT";

std::string_view status_of(std::string_view operational) {
  if (operational == "Active") return "active";
  if (operational == "Unhealthy") return "unhealthy";
  if (operational == "Expiring") return "expiring";
  if (operational == "Inactive") return "inactive";
  return "unknown";  // provider enums are open: the word itself stays in provider_status
}

// The provider's country as an ISO 3166 alpha-2 code, or "" when it gives something else (the
// number's own region is used then): it feeds libphonenumber and the state's country_code.
std::string country_of(const rapidjson::Value& n) {
  std::string out(json::string_member(n, "countryCode").value_or(""));
  if (out.size() != 2 || !std::isalpha(static_cast<unsigned char>(out[0])) ||
      !std::isalpha(static_cast<unsigned char>(out[1])))
    return {};
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

// The fields both 8x8 shapes share (contract §3 table, both 8x8 columns). Prices keep the
// provider's exact number text (`source`).
void map_common(const rapidjson::Value& n, const EventContext& ctx, SlotSet& s) {
  if (const auto* op = json::member(n, "operationalStatus"); op && op->IsString()) {
    const std::string_view word(op->GetString(), op->GetStringLength());
    s.set(Slot::status, json::quote(status_of(word)));
    s.set(Slot::provider_status, json::quote(word));
    s.set(Slot::usable_for_new_sessions, json::boolean(word == "Active"));
  }
  if (const auto* hc = json::member(n, "numberHealthCheckEnabled"); hc && hc->IsBool())
    s.set(Slot::health_check_enabled, json::boolean(hc->GetBool()));
  copy_string(n, "referenceId", Slot::reference_id, s);
  copy_any(n, "rentalPrice", Slot::pricing_rental_price, s, ctx.source);
  copy_any(n, "incomingRate", Slot::pricing_incoming_rate, s, ctx.source);
  copy_any(n, "billingUnit", Slot::pricing_billing_unit, s, ctx.source);
  copy_string(n, "billingCurrency", Slot::pricing_currency, s);
}

void map_api_only(const rapidjson::Value& n, const EventContext& ctx, SlotSet& s) {
  copy_string(n, "numberType", Slot::number_type, s);
  if (const auto* h = json::member(n, "numberHealth"); h && h->IsObject()) {
    copy_any(*h, "isHealthy", Slot::health_healthy, s, ctx.source);
    copy_string(*h, "status", Slot::health_status, s);
    if (auto t = json::string_member(*h, "lastCheckedTime")) {
      // Normalized like every other time numflow writes; kept verbatim when it does not parse.
      auto ms = parse_rfc3339_ms(*t);
      s.set(Slot::health_last_checked, json::quote(ms ? format_rfc3339_ms(*ms) : std::string(*t)));
    }
  }
}

}  // namespace

std::vector<json::MemberPath> EightByEight::account_paths() const { return {{"payload", "subAccountId"}}; }

std::string EightByEight::account_of(const rapidjson::Value& body) const {
  if (const auto* p = json::member(body, "payload"))
    if (auto id = json::string_member(*p, "subAccountId")) return std::string(*id);
  return {};
}

NormalizeResult EightByEight::normalize(const rapidjson::Value& body, const EventContext& ctx) const {
  if (body.IsObject() && json::member(body, "numbers") && !json::member(body, "payload"))
    return normalize_api(body, ctx);
  const auto event = json::string_member(body, "eventType");
  if (event && *event != kWebhookEvent)
    return Failure{"unknown_event", "8x8 eventType '" + std::string(*event) + "' is not one numflow handles"};
  return normalize_webhook(body, ctx);
}

NormalizeResult EightByEight::normalize_webhook(const rapidjson::Value& body, const EventContext& ctx) const {
  if (auto f = provider_util::check_schema("8x8/virtual-number-update", body)) return *f;
  const auto& payload = body["payload"];
  Normalized out;
  out.event_type = std::string(kWebhookEvent);
  out.account_id = account_of(body);
  if (out.account_id.empty()) out.account_id = std::string(ctx.account_hint);
  const auto& list = payload["virtualNumbers"];
  const auto kind = json::string_member(payload, "updateEventType");
  out.complete_snapshot = ctx.snapshot_webhooks_complete && kind == "SNAPSHOT" &&
                          json::member(payload, "totalNumbers") && payload["totalNumbers"].IsInt64() &&
                          payload["totalNumbers"].GetInt64() == static_cast<std::int64_t>(list.Size());
  for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
    const auto& n = list[i];
    const std::string_view msisdn(n["msisdn"].GetString(), n["msisdn"].GetStringLength());
    const std::string country = country_of(n);
    NumberUpdate u;
    if (!provider_util::take_number(msisdn, country, "/payload/virtualNumbers/" + std::to_string(i) + "/msisdn", u,
                                    out))
      continue;
    const auto updated = json::string_member(n, "updatedTimestamp");
    u.event_time_ms = provider_util::time_or(updated, ctx.received_at_ms);
    u.event_id = provider_util::event_hash({out.account_id, msisdn, updated.value_or(""),
                                            json::string_member(n, "operationalStatus").value_or("")});
    u.hint = out.complete_snapshot ? ChangeHint::listed_in_snapshot : ChangeHint::updated;
    map_common(n, ctx, u.slots);
    out.numbers.push_back(std::move(u));
  }
  return out;
}

NormalizeResult EightByEight::normalize_api(const rapidjson::Value& body, const EventContext& ctx) const {
  if (auto f = provider_util::check_schema("8x8/numbers-api-response", body)) return *f;
  Normalized out;
  out.event_type = std::string(kSnapshotEventType);
  out.account_id = std::string(ctx.account_hint);
  // The API lists the subaccount's whole inventory. The same shape posted to the webhook route
  // is not the poller's: its numbers are taken as updates, and nothing it leaves out is deleted.
  out.complete_snapshot = ctx.origin != Origin::webhook;
  const auto last_updated = json::string_member(body, "lastUpdatedAt");
  const auto& list = body["numbers"];
  for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
    const auto& n = list[i];
    const std::string_view msisdn(n["msisdn"].GetString(), n["msisdn"].GetStringLength());
    const std::string country = country_of(n);
    NumberUpdate u;
    if (!provider_util::take_number(msisdn, country, "/numbers/" + std::to_string(i) + "/msisdn", u, out)) continue;
    auto updated = json::string_member(n, "dateUpdated");
    if (!updated) updated = last_updated;
    u.event_time_ms = provider_util::time_or(updated, ctx.received_at_ms);
    u.event_id = provider_util::event_hash({out.account_id, msisdn, updated.value_or(""),
                                            json::string_member(n, "operationalStatus").value_or("")});
    u.hint = out.complete_snapshot ? ChangeHint::listed_in_snapshot : ChangeHint::updated;
    map_common(n, ctx, u.slots);
    map_api_only(n, ctx, u.slots);
    out.numbers.push_back(std::move(u));
  }
  return out;
}

}  // namespace numflow
