// The seeds' examples, normalized by the core, compared with records written out by hand.
#include "transform/core/core.h"

#include <gtest/gtest.h>

#include "schemas/schema_store.h"
#include "tests/support/normalize_helpers.h"

namespace numflow::transform {
namespace {

using namespace numflow::testing;

void expect_valid_record(const Output& o) {
  ASSERT_TRUE(o.value);
  const auto doc = parse(*o.value);
  const char* schema = o.topic == Topic::number_changes ? "number-change.v1" : "extension-change.v1";
  const auto v = schemas::validate(schema, doc);
  EXPECT_FALSE(v) << (v ? v->detail : "") << "\n" << *o.value;
}

TEST(CoreSeeds, EightByEightWebhookSeed) {
  const std::string body = read_file("providers/8x8/fixtures/webhook-seed.json");
  const Result r = run("8x8", body);
  ASSERT_EQ(r.outcome, Outcome::published) << r.detail;
  ASSERT_EQ(r.outputs.size(), 2u);
  EXPECT_EQ(r.outputs[0].key, "+65123456789");
  EXPECT_EQ(r.outputs[1].key, "+65987654321");
  for (const auto& o : r.outputs) expect_valid_record(o);

  auto got = value_of(r.outputs[1]);
  got.RemoveMember("event_id");  // a hash: checked separately
  const auto want = expected(R"({
    "schema": "numflow.number-change.v1",
    "number": "+65987654321",
    "provider": "8x8",
    "account_id": "MySubAccount",
    "change": "updated",
    "changed_fields": ["country_code", "number_valid", "status", "provider_status", "usable_for_new_sessions",
                       "health", "reference_id", "pricing"],
    "event_type": "VIRTUAL_NUMBER_UPDATE",
    "event_time": "2023-04-11T09:34:18.780Z",
    "processed_at": "2026-11-24T00:00:00.000Z",
    "state": {
      "country_code": "SG",
      "number_valid": false,
      "status": "active",
      "provider_status": "Active",
      "usable_for_new_sessions": true,
      "health": {"check_enabled": true, "healthy": null, "status": null, "last_checked": null},
      "cnam": null,
      "emergency_address": null,
      "carrier_code": null,
      "usage_type": null,
      "number_type": null,
      "payment_type": null,
      "location": null,
      "contact_center_provider": null,
      "reference_id": "MyVirtualNumber-2",
      "pricing": {"rental_price": 5.0, "incoming_rate": 0.05, "billing_unit": 60, "currency": "USD"}
    },
    "source": null
  })");
  EXPECT_EQ(got, want) << *r.outputs[1].value;

  const auto first = value_of(r.outputs[0]);
  EXPECT_STREQ(first["event_time"].GetString(), "2023-02-17T05:10:14.760Z");
  EXPECT_EQ(first["state"]["pricing"]["billing_unit"].GetInt(), 1);
  EXPECT_FALSE(first["state"]["health"]["check_enabled"].GetBool());
  EXPECT_EQ(std::string(first["event_id"].GetString()).size(), 32u);
  EXPECT_STRNE(first["event_id"].GetString(), value_of(r.outputs[1])["event_id"].GetString());
}

TEST(CoreSeeds, EightByEightEventIdIsStableAcrossRetries) {
  const std::string body = read_file("providers/8x8/fixtures/webhook-seed.json");
  const auto a = value_of(run("8x8", body).outputs[0]);
  const auto b = value_of(run("8x8", body).outputs[0]);
  EXPECT_STREQ(a["event_id"].GetString(), b["event_id"].GetString());
}

TEST(CoreSeeds, EightByEightNumbersApiSeedShapeIsASnapshot) {
  const std::string body = R"({"totalNumbers":1,"lastUpdatedAt":"2024-05-01T10:00:00Z","numbers":[
    {"msisdn":"+6561234567","dateCreated":"2023-01-01T00:00:00Z","dateUpdated":"2024-04-30T08:15:00.5Z",
     "countryCode":"SG","operationalStatus":"Expiring","referenceId":"Range-7","rentalPrice":3.5,"incomingRate":0,
     "billingUnit":60,"uri":"/api/v1/subaccounts/acme/numbers/+6561234567","numberHealthCheckEnabled":true,
     "billingCurrency":"SGD","numberType":"Mobile",
     "numberHealth":{"isHealthy":false,"status":"NO_ANSWER","lastCheckedTime":"2024-04-30T08:00:00Z"}}],
    "statusCode":0,"statusMessage":"OK"})";
  const Result r = run("8x8", body, "acme");
  ASSERT_EQ(r.outputs.size(), 1u) << r.detail;
  expect_valid_record(r.outputs[0]);
  auto got = value_of(r.outputs[0]);
  got.RemoveMember("event_id");
  const auto want = expected(R"({
    "schema": "numflow.number-change.v1", "number": "+6561234567", "provider": "8x8", "account_id": "acme",
    "change": "created",
    "changed_fields": ["country_code", "number_valid", "status", "provider_status", "usable_for_new_sessions",
                       "health", "number_type", "reference_id", "pricing"],
    "event_type": "NUMBERS_API_SNAPSHOT", "event_time": "2024-04-30T08:15:00.500Z",
    "processed_at": "2026-11-24T00:00:00.000Z",
    "state": {"country_code": "SG", "number_valid": true, "status": "expiring", "provider_status": "Expiring",
      "usable_for_new_sessions": false,
      "health": {"check_enabled": true, "healthy": false, "status": "NO_ANSWER", "last_checked": "2024-04-30T08:00:00.000Z"},
      "cnam": null, "emergency_address": null, "carrier_code": null, "usage_type": null, "number_type": "Mobile",
      "payment_type": null, "location": null, "contact_center_provider": null, "reference_id": "Range-7",
      "pricing": {"rental_price": 3.5, "incoming_rate": 0, "billing_unit": 60, "currency": "SGD"}},
    "source": null})");
  EXPECT_EQ(got, want) << *r.outputs[0].value;
}

TEST(CoreSeeds, ZoomCnamSeedPlaceholderIsDeadLettered) {
  const Result r = run("zoom", read_file("providers/zoom/fixtures/cnam-updated-seed.json"));
  EXPECT_EQ(r.outcome, Outcome::dead_lettered);
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0].topic, Topic::dead_letter);
  EXPECT_EQ(r.outputs[0].error_code, "unknown_event");
}

TEST(CoreSeeds, ZoomCnamFilledIn) {
  const std::string body = R"({"event":"number_management.peering_number_cnam_updated","event_ts":1700000000123,
    "payload":{"account_id":"abc123","object":{"cnam":"ACME SUPPORT","carrier_code":1234,
    "phone_numbers":["+14155550123","14155550124"]}}})";
  const Result r = run("zoom", body);
  ASSERT_EQ(r.outputs.size(), 2u) << r.detail;
  EXPECT_EQ(r.outputs[0].key, "+14155550123");
  EXPECT_EQ(r.outputs[1].key, "+14155550124");  // digits without '+' are international
  for (const auto& o : r.outputs) expect_valid_record(o);
  auto got = value_of(r.outputs[1]);
  EXPECT_EQ(std::string(got["event_id"].GetString()), std::string(value_of(r.outputs[0])["event_id"].GetString()));
  got.RemoveMember("event_id");
  const auto want = expected(R"({
    "schema": "numflow.number-change.v1", "number": "+14155550124", "provider": "zoom", "account_id": "abc123",
    "change": "updated", "changed_fields": ["country_code", "number_valid", "cnam", "carrier_code"],
    "event_type": "number_management.peering_number_cnam_updated", "event_time": "2023-11-14T22:13:20.123Z",
    "processed_at": "2026-11-24T00:00:00.000Z",
    "state": {"country_code": "US", "number_valid": true, "status": null, "provider_status": null,
      "usable_for_new_sessions": null, "health": null, "cnam": "ACME SUPPORT", "emergency_address": null,
      "carrier_code": 1234, "usage_type": null, "number_type": null, "payment_type": null, "location": null,
      "contact_center_provider": null, "reference_id": null, "pricing": null},
    "source": null})");
  EXPECT_EQ(got, want) << *r.outputs[1].value;
}

TEST(CoreSeeds, ZoomEmergencyAddressUnderOlderName) {
  const std::string body = R"({"event":"phone.peering_number_emergency_address_updated","event_ts":1,
    "payload":{"account_id":"abc123","object":{"emergency_address":{"country":"US","address_line1":"55 Almaden Blvd",
    "address_line2":"","city":"San Jose","zip":"95113","state_code":"CA","extra":"ignored"},"carrier_code":1,
    "phone_numbers":["+14085550100"]}}})";
  const Result r = run("zoom", body);
  ASSERT_EQ(r.outputs.size(), 1u) << r.detail;
  expect_valid_record(r.outputs[0]);
  const auto got = value_of(r.outputs[0]);
  EXPECT_EQ(got["state"]["emergency_address"], expected(R"({"country":"US","address_line1":"55 Almaden Blvd",
    "address_line2":"","city":"San Jose","zip":"95113","state_code":"CA"})"));
  EXPECT_STREQ(got["event_time"].GetString(), "1970-01-01T00:00:00.001Z");
}

TEST(CoreSeeds, RingCentralContactCenterSeed) {
  const Result r = run("ringcentral", read_file("providers/ringcentral/fixtures/phone-number-created-seed.json"));
  ASSERT_EQ(r.outputs.size(), 1u) << r.detail;
  expect_valid_record(r.outputs[0]);
  auto got = value_of(r.outputs[0]);
  const auto want = expected(R"({
    "schema": "numflow.number-change.v1", "number": "+12024999741", "provider": "ringcentral",
    "account_id": "37439510", "change": "created",
    "changed_fields": ["country_code", "number_valid", "status", "provider_status", "usage_type", "number_type",
                       "payment_type", "location", "contact_center_provider"],
    "event_type": "Created", "event_id": "ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0",
    "event_time": "2013-06-14T12:00:00.000Z", "processed_at": "2026-11-24T00:00:00.000Z",
    "state": {"country_code": "US", "number_valid": true, "status": "active", "provider_status": "Normal",
      "usable_for_new_sessions": null, "health": null, "cnam": null, "emergency_address": null,
      "carrier_code": null, "usage_type": "ContactCenterNumber", "number_type": "VoiceFax", "payment_type": "Local",
      "location": "Washington, DC", "contact_center_provider": {"id": "12345", "name": "ProviderName"},
      "reference_id": null, "pricing": null},
    "source": null})");
  EXPECT_EQ(got, want) << *r.outputs[0].value;
}

TEST(CoreSeeds, RingCentralExtensionSeed) {
  const Result r = run("ringcentral", read_file("providers/ringcentral/fixtures/extension-update-seed.json"), "99");
  ASSERT_EQ(r.outputs.size(), 1u) << r.detail;
  EXPECT_EQ(r.outputs[0].topic, Topic::extension_changes);
  EXPECT_EQ(r.outputs[0].key, "ringcentral:99:8475874957");
  expect_valid_record(r.outputs[0]);
  const auto want = expected(R"({
    "schema": "numflow.extension-change.v1", "provider": "ringcentral", "account_id": "99",
    "extension_id": "8475874957", "change": "updated", "hints": ["ExtensionInfo", "CompanyNumbers"],
    "event_type": "Update", "event_id": "ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0",
    "event_time": "2013-06-14T12:00:00.000Z", "processed_at": "2026-11-24T00:00:00.000Z", "source": null})");
  EXPECT_EQ(value_of(r.outputs[0]), want) << *r.outputs[0].value;
}

TEST(CoreSeeds, RingCentralDeletedNumberIsFollowedByATombstone) {
  const std::string body = R"({"uuid":"u-1","event":"/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber",
    "timestamp":"2024-01-02T03:04:05.006Z","subscriptionId":"s","ownerId":"o","body":{"eventType":"Deleted",
    "phoneNumberInfo":{"uri":"https://platform.ringcentral.com/restapi/v1.0/account/~/phone-number/1",
    "id":"1","phoneNumber":"+442079460123","status":"Normal"}}})";
  const Result r = run("ringcentral", body, "4242");
  ASSERT_EQ(r.outputs.size(), 2u) << r.detail;
  const auto rec = value_of(r.outputs[0]);
  EXPECT_STREQ(rec["change"].GetString(), "deleted");
  EXPECT_STREQ(rec["account_id"].GetString(), "4242");
  EXPECT_EQ(r.outputs[1].key, "+442079460123");
  EXPECT_FALSE(r.outputs[1].value.has_value());
}

TEST(CoreSeeds, RingCentralExtensionDeleteIsFollowedByATombstone) {
  const std::string body = R"({"uuid":"u-2","event":"/restapi/v1.0/account/37439510/extension/1001",
    "timestamp":"2024-01-02T03:04:05Z","body":{"extensionId":"1001","eventType":"Delete"}})";
  const Result r = run("ringcentral", body);
  ASSERT_EQ(r.outputs.size(), 2u) << r.detail;
  EXPECT_EQ(r.outputs[0].key, "ringcentral:37439510:1001");
  EXPECT_STREQ(value_of(r.outputs[0])["change"].GetString(), "deleted");
  EXPECT_EQ(value_of(r.outputs[0])["hints"].Size(), 0u);
  EXPECT_FALSE(r.outputs[1].value.has_value());
}

TEST(CoreSeeds, RingCentralRenewalReminderIsSkipped) {
  const std::string body = R"({"uuid":"u-3","event":"/restapi/v1.0/subscription/~?threshold=86400&interval=3600",
    "timestamp":"2024-01-02T03:04:05Z","subscriptionId":"s","ownerId":"o","body":{"id":"s","expiresIn":86399}})";
  const Result r = run("ringcentral", body);
  EXPECT_EQ(r.outcome, Outcome::skipped) << r.detail;
  EXPECT_TRUE(r.outputs.empty());
}

TEST(CoreBadInput, GarbageIsInvalidJson) {
  for (const char* body : {"not json", "", "{\"a\":", "{} trailing", "\xff\xfe{}"}) {
    const Result r = run("8x8", body);
    ASSERT_EQ(r.outputs.size(), 1u) << body;
    EXPECT_EQ(r.outputs[0].error_code, "invalid_json") << body;
  }
}

TEST(CoreBadInput, InvalidUtf8InsideAStringIsInvalidJson) {
  const Result r = run("zoom", "{\"event\":\"\xc3\x28\"}");
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0].error_code, "invalid_json");
}

TEST(CoreBadInput, NonObjectIsSchemaViolation) {
  const Result r = run("8x8", "[1,2,3]");
  EXPECT_EQ(r.outputs.at(0).error_code, "schema_violation");
}

TEST(CoreBadInput, DeepNestingDoesNotOverflowTheStack) {
  const std::string body = std::string(100000, '[') + std::string(100000, ']');
  const Result r = run("8x8", body);
  EXPECT_EQ(r.outputs.at(0).error_code, "schema_violation");
}

TEST(CoreBadInput, MissingRequiredFieldNamesThePointer) {
  const std::string body = R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":"a",
    "virtualNumbers":[{"msisdn":"+6561234567"},{"countryCode":"SG"}]}})";
  const Result r = run("8x8", body);
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0].error_code, "schema_violation");
  EXPECT_NE(r.outputs[0].error_detail.find("/payload/virtualNumbers/1"), std::string::npos) << r.outputs[0].error_detail;
}

TEST(CoreBadInput, UnknownEightByEightEvent) {
  const Result r = run("8x8", R"({"eventType":"CALL_STATUS","payload":{}})");
  EXPECT_EQ(r.outputs.at(0).error_code, "unknown_event");
}

TEST(CoreBadInput, UnknownProvider) {
  const Result r = run("twilio", "{}");
  EXPECT_EQ(r.outputs.at(0).error_code, "unknown_provider");
}

TEST(CoreBadInput, ImpossibleNumberIsDeadLetteredWhileOthersGoThrough) {
  const std::string body = R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":"a","virtualNumbers":[
    {"msisdn":"+6561234567","countryCode":"SG","operationalStatus":"Active"},
    {"msisdn":"not a number","countryCode":"SG"},
    {"msisdn":"+0123","countryCode":"SG"},
    {"msisdn":"+447700900123","countryCode":"GB","operationalStatus":"Suspended"}]}})";
  const Result r = run("8x8", body);
  ASSERT_EQ(r.outputs.size(), 3u);
  EXPECT_EQ(r.outputs[0].key, "+6561234567");
  EXPECT_EQ(r.outputs[1].key, "+447700900123");
  EXPECT_EQ(r.outputs[2].topic, Topic::dead_letter);
  EXPECT_EQ(r.outputs[2].error_code, "invalid_number");
  EXPECT_NE(r.outputs[2].error_detail.find("/payload/virtualNumbers/1/msisdn"), std::string::npos);
  EXPECT_NE(r.outputs[2].error_detail.find("/payload/virtualNumbers/2/msisdn"), std::string::npos);
  // An unexpected status is kept, mapped to unknown, not an error.
  const auto gb = value_of(r.outputs[1]);
  EXPECT_STREQ(gb["state"]["status"].GetString(), "unknown");
  EXPECT_STREQ(gb["state"]["provider_status"].GetString(), "Suspended");
  EXPECT_FALSE(gb["state"]["usable_for_new_sessions"].GetBool());
}

TEST(CoreRecords, SourceIsWrittenWhenKnown) {
  MemoryStateStore state;
  const std::string body = read_file("providers/8x8/fixtures/webhook-seed.json");
  RawEvent ev{"8x8", "", body, kNow,
              SourcePosition{"webhooks.raw", 2, 42}};
  const Result r = process(ev, state, {}, kNow);
  const auto rec = value_of(r.outputs.at(0));
  EXPECT_EQ(rec["source"], expected(R"({"topic":"webhooks.raw","partition":2,"offset":42})"));
}

TEST(CoreRecords, ANumberListedTwiceInOneDeliveryIsAppliedInOrder) {
  const std::string body = R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":"a","virtualNumbers":[
    {"msisdn":"+6561234567","updatedTimestamp":"2024-01-01T00:00:00Z","countryCode":"SG","operationalStatus":"Active"},
    {"msisdn":"+6561234567","updatedTimestamp":"2024-01-01T00:00:01Z","countryCode":"SG","operationalStatus":"Unhealthy"},
    {"msisdn":"+6561234567","updatedTimestamp":"2024-01-01T00:00:02Z","countryCode":"SG","operationalStatus":"Unhealthy"}]}})";
  const Result r = run("8x8", body);
  ASSERT_EQ(r.outputs.size(), 2u);  // the third entry changes nothing
  const auto second = value_of(r.outputs[1]);
  EXPECT_STREQ(second["state"]["status"].GetString(), "unhealthy");
  EXPECT_EQ(second["changed_fields"], expected(R"(["status","provider_status","usable_for_new_sessions"])"));
}

TEST(CoreRecords, SplitRawKey) {
  EXPECT_EQ(split_raw_key("8x8:acme"), (std::pair<std::string_view, std::string_view>{"8x8", "acme"}));
  EXPECT_EQ(split_raw_key("zoom:"), (std::pair<std::string_view, std::string_view>{"zoom", ""}));
  EXPECT_EQ(split_raw_key("ringcentral"), (std::pair<std::string_view, std::string_view>{"ringcentral", ""}));
}

}  // namespace
}  // namespace numflow::transform

namespace numflow::transform {
namespace {

using namespace numflow::testing;

// Every fixture body (the seeds and the realistic ones beside them) runs through the core; every
// record it yields conforms to the published schemas. Seed placeholders are the only dead letters.
TEST(CoreFixtures, EveryFixtureNormalizesToValidRecords) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> fixtures = {
      {"8x8", {"numbers-api-response", "webhook-minimal-fields", "webhook-multi-country",
               "webhook-no-change", "webhook-numbers-without-plus", "webhook-seed", "webhook-snapshot"}},
      {"zoom", {"cnam-updated", "emergency-address-updated", "legacy-cnam-updated",
                "legacy-emergency-address-updated"}},
      {"ringcentral", {"extension-delete", "extension-update-seed", "phone-number-created-seed",
                       "phone-number-deleted", "phone-number-updated-pending", "phone-number-updated",
                       "subscription-renewal-reminder"}},
  };
  for (const auto& [provider, names] : fixtures) {
    for (const auto& name : names) {
      const std::string body = read_file("providers/" + provider + "/fixtures/" + name + ".json");
      const Result r = run(provider, body, "acct-1");
      SCOPED_TRACE(provider + "/" + name + ": " + r.detail);
      EXPECT_TRUE(r.outcome == Outcome::published || r.outcome == Outcome::skipped || r.outcome == Outcome::unchanged);
      for (const auto& o : r.outputs) {
        ASSERT_NE(o.topic, Topic::dead_letter) << o.error_code << " " << o.error_detail;
        if (o.value) expect_valid_record(o);
      }
    }
  }
}

TEST(CoreFixtures, NumbersApiSeedPlaceholderIsDeadLettered) {
  // The seed documents the response with "string" placeholders: "msisdn":"string" is no number.
  const Result r = run("8x8", read_file("providers/8x8/fixtures/numbers-api-seed.json"), "acct-1");
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0].topic, Topic::dead_letter);
  EXPECT_EQ(r.outputs[0].error_code, "invalid_number");
}

// The realistic fixtures beside the seeds, number by number: the keys (E.164, completed from the
// entry's country where the provider wrote a national form) and the status each one gets.
TEST(CoreFixtures, EveryFixtureNumberGetsItsKeyAndStatus) {
  struct Expect {
    std::string provider, fixture;
    std::vector<std::pair<std::string, std::string>> key_status;  // in output order; "" = no status
  };
  const std::vector<Expect> cases = {
      {"8x8", "numbers-api-response", {{"+6561234567", "active"}, {"+447700900123", "active"}, {"+14155550123", "expiring"}}},
      {"8x8", "webhook-minimal-fields", {{"+6561234567", "unhealthy"}, {"+61291234567", ""}, {"+14155550123", ""}}},
      {"8x8", "webhook-multi-country",
       {{"+6561234567", "active"}, {"+447700900123", "unhealthy"}, {"+14155550123", "expiring"},
        {"+4930123456", "inactive"}, {"+61291234567", "unknown"}}},  // "Suspended": an open enum
      {"8x8", "webhook-no-change", {{"+6561234567", "active"}, {"+447700900123", "active"}, {"+14155550123", "expiring"}}},
      // "6561234567"/SG, "447700900123"/GB, "07700 900789"/GB, "61291234567"/AU
      {"8x8", "webhook-numbers-without-plus",
       {{"+6561234567", "active"}, {"+447700900123", "active"}, {"+447700900789", "expiring"}, {"+61291234567", "active"}}},
      {"8x8", "webhook-seed", {{"+65123456789", "active"}, {"+65987654321", "active"}}},
      {"8x8", "webhook-snapshot", {{"+447700900123", "active"}, {"+447700900456", "active"}, {"+4930123456", "inactive"}}},
      {"zoom", "cnam-updated", {{"+14155550123", ""}, {"+14155550124", ""}}},
      {"zoom", "emergency-address-updated", {{"+14155550123", ""}, {"+14155550124", ""}}},
      {"zoom", "legacy-cnam-updated", {{"+14155550125", ""}}},
      {"zoom", "legacy-emergency-address-updated", {{"+14155550125", ""}, {"+14155550126", ""}}},
      {"ringcentral", "phone-number-created-seed", {{"+12024999741", "active"}}},
      {"ringcentral", "phone-number-deleted", {{"+442071234567", "active"}}},  // then its tombstone
      {"ringcentral", "phone-number-updated-pending", {{"+12025550143", "pending"}}},
      {"ringcentral", "phone-number-updated", {{"+14155550177", "active"}}},
  };
  for (const auto& c : cases) {
    const Result r = run(c.provider, read_file("providers/" + c.provider + "/fixtures/" + c.fixture + ".json"), "acct-1");
    SCOPED_TRACE(c.provider + "/" + c.fixture + ": " + r.detail);
    std::vector<std::pair<std::string, std::string>> got;
    for (const auto& o : r.outputs) {
      if (o.topic != Topic::number_changes || !o.value) continue;
      const auto v = value_of(o);
      const auto& st = v["state"]["status"];
      got.emplace_back(o.key, st.IsString() ? st.GetString() : "");
    }
    EXPECT_EQ(got, c.key_status);
  }
}

}  // namespace
}  // namespace numflow::transform

// Contract §3's state rules, one test each, through process() with a shared store.
namespace numflow::transform {
namespace {

using namespace numflow::testing;

std::string eight(const std::string& entries, const std::string& kind = "UPDATES", int total = -1) {
  std::string out = R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":"acme","updateEventType":")";
  out += kind;
  out += '"';
  if (total >= 0) {
    out += R"(,"totalNumbers":)";
    out += std::to_string(total);
  }
  out += R"(,"virtualNumbers":[)";
  out += entries;
  out += "]}}";
  return out;
}
std::string entry(const std::string& msisdn, const std::string& status, const std::string& ts,
                  const std::string& update_status = "UPDATED") {
  return R"({"msisdn":")" + msisdn + R"(","countryCode":"SG","operationalStatus":")" + status +
         R"(","updatedTimestamp":")" + ts + R"(","updateStatus":")" + update_status + "\"}";
}
std::string zoom_cnam(const std::string& number, const std::string& cnam, long long ts) {
  return R"({"event":"number_management.peering_number_cnam_updated","event_ts":)" + std::to_string(ts) +
         R"(,"payload":{"account_id":"z1","object":{"cnam":")" + cnam + R"(","carrier_code":1,"phone_numbers":[")" +
         number + "\"]}}}";
}
std::string api(const std::vector<std::string>& numbers) {
  std::string list;
  for (const auto& n : numbers) {
    if (!list.empty()) list += ',';
    list += R"({"msisdn":")";
    list += n;
    list += R"(","countryCode":"SG","operationalStatus":"Active","dateUpdated":"2024-01-01T00:00:00Z"})";
  }
  return R"({"totalNumbers":)" + std::to_string(numbers.size()) + R"(,"numbers":[)" + list + "]}";
}
Result at(MemoryStateStore& s, const std::string& provider, const std::string& body, std::int64_t received,
          const std::string& account = "acme") {
  RawEvent ev{provider, account, body, received, std::nullopt};
  return process(ev, s, {}, kNow);
}
std::vector<std::string> keys(const Result& r) {
  std::vector<std::string> k;
  for (const auto& o : r.outputs) {
    k.push_back(o.key);
    if (!o.value) k.back() += " (tombstone)";
  }
  return k;
}

TEST(CoreState, ZoomCnamKeepsTheStatusEightByEightSet) {
  MemoryStateStore s;
  at(s, "8x8", eight(entry("+6561234567", "Active", "2024-01-01T00:00:00Z")), 1);
  const Result r = at(s, "zoom", zoom_cnam("+6561234567", "ACME", 1704067300000), 2);
  ASSERT_EQ(r.outputs.size(), 1u);
  const auto v = value_of(r.outputs[0]);
  EXPECT_STREQ(v["state"]["status"].GetString(), "active");
  EXPECT_STREQ(v["state"]["cnam"].GetString(), "ACME");
  EXPECT_EQ(v["changed_fields"], expected(R"(["cnam","carrier_code"])"));
  EXPECT_STREQ(v["provider"].GetString(), "zoom");
}

TEST(CoreState, NoChangeEntryForAKnownNumberProducesNothing) {
  MemoryStateStore s;
  at(s, "8x8", eight(entry("+6561234567", "Active", "2024-01-01T00:00:00Z")), 1);
  const Result r = at(s, "8x8", eight(entry("+6561234567", "Active", "2024-01-02T00:00:00Z", "NO_CHANGE")), 2);
  EXPECT_TRUE(r.outputs.empty());
  EXPECT_EQ(r.outcome, Outcome::unchanged);
}

TEST(CoreState, ARetriedDeliveryProducesNothing) {
  MemoryStateStore s;
  const std::string body = zoom_cnam("+14155550123", "ACME", 1704067300000);
  EXPECT_EQ(at(s, "zoom", body, 1).outputs.size(), 1u);
  EXPECT_TRUE(at(s, "zoom", body, 2).outputs.empty());
}

TEST(CoreState, AnOlderStatusAfterANewerOneChangesNothing) {
  MemoryStateStore s;
  at(s, "8x8", eight(entry("+6561234567", "Inactive", "2024-01-02T00:00:00Z")), 1);
  EXPECT_TRUE(at(s, "8x8", eight(entry("+6561234567", "Active", "2024-01-01T00:00:00Z")), 2).outputs.empty());
}

TEST(CoreState, AnOlderStatusAfterANewerCnamIsApplied) {
  MemoryStateStore s;
  at(s, "zoom", zoom_cnam("+6561234567", "ACME", 1704153600000), 1);  // 2024-01-02
  const Result r = at(s, "8x8", eight(entry("+6561234567", "Unhealthy", "2024-01-01T00:00:00Z")), 2);
  ASSERT_EQ(r.outputs.size(), 1u);
  const auto v = value_of(r.outputs[0]);
  EXPECT_STREQ(v["state"]["status"].GetString(), "unhealthy");
  EXPECT_STREQ(v["state"]["cnam"].GetString(), "ACME");
}

TEST(CoreState, RingCentralDeletedThenBackIsCreatedAgain) {
  MemoryStateStore s;
  auto rc = [](const std::string& type, const std::string& uuid, const std::string& ts) {
    return R"({"uuid":")" + uuid + R"(","event":"/restapi/v1.0/account/1/phone-number","timestamp":")" + ts +
           R"(","body":{"eventType":")" + type + R"(","phoneNumberInfo":{"phoneNumber":"+12025550100","status":"Normal"}}})";
  };
  EXPECT_EQ(keys(at(s, "ringcentral", rc("Created", "u1", "2024-01-01T00:00:00Z"), 1)),
            std::vector<std::string>{"+12025550100"});
  EXPECT_EQ(keys(at(s, "ringcentral", rc("Deleted", "u2", "2024-01-02T00:00:00Z"), 2)),
            (std::vector<std::string>{"+12025550100", "+12025550100 (tombstone)"}));
  EXPECT_TRUE(at(s, "ringcentral", rc("Updated", "u3", "2024-01-01T12:00:00Z"), 3).outputs.empty())
      << "an event older than the deletion does not revive the number";
  const Result back = at(s, "ringcentral", rc("Created", "u4", "2024-01-03T00:00:00Z"), 4);
  ASSERT_EQ(back.outputs.size(), 1u);
  EXPECT_STREQ(value_of(back.outputs[0])["change"].GetString(), "created");
}

TEST(CoreState, NumbersMissingFromACompleteSnapshotAreDeleted) {
  MemoryStateStore s;
  const Result first = at(s, "8x8", api({"+6561234567", "+6561234568"}), 1000);
  ASSERT_EQ(first.outputs.size(), 2u);
  EXPECT_STREQ(value_of(first.outputs[0])["change"].GetString(), "created");
  // A number another provider knows is not the snapshot's to delete.
  at(s, "zoom", zoom_cnam("+14155550123", "Z", 1704067300000), 1001);
  const Result second = at(s, "8x8", api({"+6561234567"}), 2000);
  EXPECT_EQ(keys(second), (std::vector<std::string>{"+6561234568", "+6561234568 (tombstone)"}));
  const auto v = value_of(second.outputs[0]);
  EXPECT_STREQ(v["change"].GetString(), "deleted");
  EXPECT_STREQ(v["event_type"].GetString(), "NUMBERS_API_SNAPSHOT");
  // It comes back in a later snapshot: created again.
  const Result third = at(s, "8x8", api({"+6561234567", "+6561234568"}), 3000);
  ASSERT_EQ(third.outputs.size(), 1u);
  EXPECT_STREQ(value_of(third.outputs[0])["change"].GetString(), "created");
  // Another subaccount's snapshot deletes nothing of this one.
  EXPECT_TRUE(at(s, "8x8", api({}), 4000, "other").outputs.empty());
}

TEST(CoreState, SnapshotWebhooksDeleteOnlyWhenConfiguredAndComplete) {
  const std::string listed = eight(entry("+6561234567", "Active", "2024-01-01T00:00:00Z"), "SNAPSHOT", 1);
  const std::string shorter = eight(entry("+6561234567", "Active", "2024-01-01T00:00:00Z"), "SNAPSHOT", 2);
  auto run_with = [&](bool configured, const std::string& second_body) {
    MemoryStateStore s;
    const std::string first = api({"+6561234567", "+6561234568"});
    RawEvent a{"8x8", "acme", first, 1000, std::nullopt};  // the webhooks' subaccount
    process(a, s, {}, kNow);
    RawEvent b{"8x8", "", second_body, 2000, std::nullopt};
    return process(b, s, CoreOptions{configured}, kNow);
  };
  const Result unconfigured = run_with(false, listed);
  for (const auto& o : unconfigured.outputs) ADD_FAILURE() << o.key << " " << o.value.value_or("tombstone");
  EXPECT_TRUE(run_with(true, shorter).outputs.empty()) << "totalNumbers must equal the list's length";
  // Configured and complete: the number it does not list is deleted, then tombstoned.
  const Result configured = run_with(true, listed);
  EXPECT_EQ(keys(configured), (std::vector<std::string>{"+6561234568", "+6561234568 (tombstone)"}));
  ASSERT_FALSE(configured.outputs.empty());
  EXPECT_STREQ(value_of(configured.outputs[0])["change"].GetString(), "deleted");
}

}  // namespace
}  // namespace numflow::transform
