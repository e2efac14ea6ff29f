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

// Found by fuzz_transform_core: event_ts 1741704820030228 (year 57,000) became the event_time
// "-8374-06-06T14:27:10.228Z". A time RFC 3339 cannot write with four digits, or before 1970,
// is refused by the schema; the edges still go through.
TEST(Zoom, EventTsOutsideWhatRfc3339CanWriteIsASchemaViolation) {
  auto event = [](const std::string& ts) {
    return R"({"event":"number_management.peering_number_cnam_updated","event_ts":)" + ts +
           R"(,"payload":{"account_id":"a","object":{"cnam":"X","carrier_code":1,"phone_numbers":["+14155550123"]}}})";
  };
  for (const char* bad : {"1741704820030228", "253402300800000", "-1", "9223372036854775807"}) {
    const auto r = run("zoom", event(bad));
    ASSERT_EQ(r.outputs.size(), 1u) << bad;
    EXPECT_EQ(r.outputs[0].error_code, "schema_violation") << bad;
  }
  const auto last = run("zoom", event("253402300799999"));
  ASSERT_EQ(last.outputs.size(), 1u) << last.detail;
  EXPECT_STREQ(value_of(last.outputs[0])["event_time"].GetString(), "9999-12-31T23:59:59.999Z");
  const auto first = run("zoom", event("0"));
  ASSERT_EQ(first.outputs.size(), 1u) << first.detail;
  EXPECT_STREQ(value_of(first.outputs[0])["event_time"].GetString(), "1970-01-01T00:00:00.000Z");
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
