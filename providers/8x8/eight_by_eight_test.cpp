#include "providers/8x8/eight_by_eight.h"

#include <gtest/gtest.h>

#include "tests/support/normalize_helpers.h"

namespace numflow {
namespace {

using namespace numflow::testing;

const EightByEight k8x8;

TEST(EightByEight, AccountOfWebhook) {
  EXPECT_EQ(k8x8.account_of(parse(read_file("providers/8x8/fixtures/webhook-seed.json"))), "MySubAccount");
  EXPECT_EQ(k8x8.account_of(parse(R"({"numbers":[]})")), "");
}

TEST(EightByEight, NationalNumbersCompletedFromCountryCode) {
  const auto r = run("8x8", R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":"a","virtualNumbers":[
    {"msisdn":"02079460123","countryCode":"gb"},{"msisdn":"4930123456","countryCode":"DE"}]}})");
  ASSERT_EQ(r.outputs.size(), 2u) << r.detail;
  EXPECT_EQ(r.outputs[0].key, "+442079460123");
  EXPECT_EQ(r.outputs[1].key, "+4930123456");
  EXPECT_STREQ(value_of(r.outputs[0])["state"]["country_code"].GetString(), "GB");
}

TEST(EightByEight, MissingOptionalFieldsLeaveStateNull) {
  const auto r = run("8x8", R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":"a",
    "virtualNumbers":[{"msisdn":"+61291234567"}]}})");
  ASSERT_EQ(r.outputs.size(), 1u) << r.detail;
  const auto v = value_of(r.outputs[0]);
  EXPECT_TRUE(v["state"]["status"].IsNull());
  EXPECT_TRUE(v["state"]["pricing"].IsNull());
  EXPECT_TRUE(v["state"]["health"].IsNull());
  EXPECT_STREQ(v["state"]["country_code"].GetString(), "AU");
  EXPECT_EQ(v["changed_fields"], expected(R"(["country_code","number_valid"])"));
}

TEST(EightByEight, MsisdnAsJsonNumberIsASchemaViolation) {
  const auto r = run("8x8", R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":"a",
    "virtualNumbers":[{"msisdn":6561234567}]}})");
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0].error_code, "schema_violation");
}

TEST(EightByEight, EveryStatusMaps) {
  const std::pair<const char*, const char*> cases[] = {
      {"Active", "active"}, {"Unhealthy", "unhealthy"}, {"Expiring", "expiring"},
      {"Inactive", "inactive"}, {"Quarantined", "unknown"}};
  for (const auto& [word, status] : cases) {
    const auto r = run("8x8", std::string(R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":"a",
      "virtualNumbers":[{"msisdn":"+6561234567","operationalStatus":")") + word + R"("}]}})");
    const auto v = value_of(r.outputs.at(0));
    EXPECT_STREQ(v["state"]["status"].GetString(), status) << word;
    EXPECT_EQ(v["state"]["usable_for_new_sessions"].GetBool(), std::string(word) == "Active");
  }
}

TEST(EightByEight, SnapshotWebhookCountsAsCompleteOnlyWhenConfigured) {
  const std::string body = R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":"a","totalNumbers":1,
    "updateEventType":"SNAPSHOT","virtualNumbers":[{"msisdn":"+6561234567","operationalStatus":"Active"}]}})";
  EXPECT_STREQ(value_of(run("8x8", body).outputs.at(0))["change"].GetString(), "updated");
  transform::CoreOptions complete{true};
  EXPECT_STREQ(value_of(run("8x8", body, "", nullptr, complete).outputs.at(0))["change"].GetString(), "created");
}

}  // namespace
}  // namespace numflow

namespace numflow {
namespace {
// Found by fuzz_transform_core: only a 2-letter countryCode is a country.
TEST(EightByEight, CountryCodeThatIsNotAlpha2IsIgnored) {
  const auto r = run("8x8", R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":"a",
    "virtualNumbers":[{"msisdn":"+14155550123","countryCode":"USA"}]}})");
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_STREQ(value_of(r.outputs[0])["state"]["country_code"].GetString(), "US");
}
}  // namespace
}  // namespace numflow

namespace numflow {
namespace {
// Found by fuzz_transform_core: RapidJSON 1.1.0's full-precision path turned 0e-23 into garbage.
TEST(EightByEight, TinyZeroPriceStaysZero) {
  const auto r = run("8x8", R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":"a",
    "virtualNumbers":[{"msisdn":"+14155550123","rentalPrice":0e-23,"incomingRate":0.000000000000000000000000}]}})");
  ASSERT_EQ(r.outputs.size(), 1u);
  const auto v = value_of(r.outputs[0]);
  EXPECT_EQ(v["state"]["pricing"]["rental_price"].GetDouble(), 0.0);
  EXPECT_EQ(v["state"]["pricing"]["incoming_rate"].GetDouble(), 0.0);
}
}  // namespace
}  // namespace numflow

namespace numflow {
namespace {
// A numbers API response is a complete inventory only when ingest's poller fetched it
// (numflow-source: poll). The same shape posted to the webhook route, by whoever holds the 8x8
// webhook credential, updates the numbers it lists and deletes none of the others.
TEST(EightByEight, NumbersApiBodyIsACompleteInventoryOnlyFromThePoller) {
  using transform::RawEvent;
  const std::string body = read_file("providers/8x8/fixtures/numbers-api-response.json");
  auto normalize = [&](Origin origin) {
    RawEvent ev{"8x8", "MySubAccount", body, kNow, std::nullopt};
    ev.origin = origin;
    return transform::normalize_raw(ev, {}, kNow);
  };
  for (Origin complete : {Origin::poll, Origin::unknown}) {  // unknown: the offline normalize command
    const auto n = normalize(complete);
    ASSERT_FALSE(n.fragments.empty());
    EXPECT_TRUE(n.snapshot_end.has_value());
    EXPECT_EQ(n.fragments[0].update.hint, ChangeHint::listed_in_snapshot);
    EXPECT_EQ(n.fragments[0].inventory, "8x8:MySubAccount");
  }
  const auto posted = normalize(Origin::webhook);
  ASSERT_FALSE(posted.fragments.empty());
  EXPECT_FALSE(posted.snapshot_end.has_value()) << "nothing may be deleted for a posted listing";
  for (const auto& f : posted.fragments) {
    EXPECT_EQ(f.update.hint, ChangeHint::updated);
    EXPECT_TRUE(f.inventory.empty());
  }
}
}  // namespace
}  // namespace numflow
