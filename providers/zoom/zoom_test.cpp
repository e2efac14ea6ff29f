#include "providers/zoom/zoom.h"

#include <gtest/gtest.h>

#include "tests/support/normalize_helpers.h"

namespace numflow {
namespace {

using namespace numflow::testing;

TEST(Zoom, AccountOf) {
  EXPECT_EQ(Zoom().account_of(parse(R"({"payload":{"account_id":"abc"}})")), "abc");
  EXPECT_EQ(Zoom().account_of(parse(R"({"payload":{}})")), "");
}

TEST(Zoom, UrlValidationIsSkipped) {
  const auto r = run("zoom", R"({"event":"endpoint.url_validation","payload":{"plainToken":"x"},"event_ts":1})");
  EXPECT_EQ(r.outcome, transform::Outcome::skipped);
}

TEST(Zoom, UnknownEventIsDeadLettered) {
  const auto r = run("zoom", R"({"event":"meeting.started","event_ts":1,"payload":{}})");
  EXPECT_EQ(r.outputs.at(0).error_code, "unknown_event");
}

TEST(Zoom, EmptyPhoneListIsASchemaViolation) {
  const auto r = run("zoom", R"({"event":"number_management.peering_number_cnam_updated","event_ts":1,
    "payload":{"account_id":"a","object":{"cnam":"X","carrier_code":1,"phone_numbers":[]}}})");
  EXPECT_EQ(r.outputs.at(0).error_code, "schema_violation");
}

TEST(Zoom, EventTsAsStringIsASchemaViolation) {
  const auto r = run("zoom", R"({"event":"number_management.peering_number_cnam_updated","event_ts":"1",
    "payload":{"account_id":"a","object":{"cnam":"X","carrier_code":1,"phone_numbers":["+14155550123"]}}})");
  EXPECT_EQ(r.outputs.at(0).error_code, "schema_violation");
}

TEST(Zoom, OtherCountries) {
  const auto r = run("zoom", R"({"event":"phone.peering_number_cnam_updated","event_ts":5,
    "payload":{"account_id":"a","object":{"cnam":"Z","carrier_code":7,"phone_numbers":["+442079460123","61291234567"]}}})");
  ASSERT_EQ(r.outputs.size(), 2u) << r.detail;
  EXPECT_STREQ(value_of(r.outputs[0])["state"]["country_code"].GetString(), "GB");
  EXPECT_STREQ(value_of(r.outputs[1])["state"]["country_code"].GetString(), "AU");
}

}  // namespace
}  // namespace numflow
