#include "providers/ringcentral/ringcentral.h"

#include <gtest/gtest.h>

#include "tests/support/normalize_helpers.h"

namespace numflow {
namespace {

using namespace numflow::testing;

TEST(RingCentral, AccountInPath) {
  EXPECT_EQ(ringcentral_account_in("/restapi/v1.0/account/37439510/extension/1"), "37439510");
  EXPECT_EQ(ringcentral_account_in("https://platform.ringcentral.com/restapi/v1.0/account/8/phone-number/9"), "8");
  EXPECT_EQ(ringcentral_account_in("/restapi/v1.0/account/~/extension/1"), "");
  EXPECT_EQ(ringcentral_account_in("/restapi/v1.0/account/{accountId}/phone-number?x=1"), "");
  EXPECT_EQ(ringcentral_account_in("/restapi/v1.0/subscription/~"), "");
}

TEST(RingCentral, AccountFromThePathWinsOverTheUri) {
  const auto r = run("ringcentral", R"({"uuid":"u","event":"/restapi/v1.0/account/111/phone-number",
    "timestamp":"2024-01-01T00:00:00Z","body":{"eventType":"Updated","phoneNumberInfo":{
    "uri":"https://platform.ringcentral.com/restapi/v1.0/account/222/phone-number/1","phoneNumber":"+12025550100",
    "status":"Pending","paymentType":"TollFree"}}})");
  const auto v = value_of(r.outputs.at(0));
  EXPECT_STREQ(v["account_id"].GetString(), "111");
  EXPECT_STREQ(v["change"].GetString(), "updated");
  EXPECT_STREQ(v["state"]["status"].GetString(), "pending");
  EXPECT_STREQ(v["state"]["payment_type"].GetString(), "TollFree");
}

TEST(RingCentral, UnexpectedStatusIsUnknown) {
  const auto r = run("ringcentral", R"({"uuid":"u","event":"/restapi/v1.0/account/1/phone-number",
    "timestamp":"2024-01-01T00:00:00Z","body":{"eventType":"Updated","phoneNumberInfo":{"phoneNumber":"12025550100",
    "status":"PortedIn"}}})");
  const auto v = value_of(r.outputs.at(0));
  EXPECT_EQ(r.outputs[0].key, "+12025550100");
  EXPECT_STREQ(v["state"]["status"].GetString(), "unknown");
  EXPECT_STREQ(v["state"]["provider_status"].GetString(), "PortedIn");
}

TEST(RingCentral, OtherEventFiltersAreUnknown) {
  const auto r = run("ringcentral", R"({"uuid":"u","event":"/restapi/v1.0/account/~/extension/1/presence",
    "timestamp":"2024-01-01T00:00:00Z","body":{"presenceStatus":"Busy"}})");
  EXPECT_EQ(r.outputs.at(0).error_code, "unknown_event");
}

TEST(RingCentral, MissingPhoneNumberIsASchemaViolation) {
  const auto r = run("ringcentral", R"({"uuid":"u","event":"/restapi/v1.0/account/1/phone-number",
    "timestamp":"2024-01-01T00:00:00Z","body":{"eventType":"Created","phoneNumberInfo":{"id":"1"}}})");
  EXPECT_EQ(r.outputs.at(0).error_code, "schema_violation");
  EXPECT_NE(r.outputs[0].error_detail.find("phoneNumber"), std::string::npos) << r.outputs[0].error_detail;
}


// Found by fuzz_transform_core: an empty uuid became an empty event_id, a record the published
// schema refuses and no reader could deduplicate. Both event kinds now dead-letter it.
TEST(RingCentral, EmptyUuidIsASchemaViolation) {
  for (const char* body : {
           R"({"uuid":"","event":"/restapi/v1.0/account/1/phone-number","timestamp":"2024-01-01T00:00:00Z",
               "body":{"eventType":"Created","phoneNumberInfo":{"phoneNumber":"+12025550100"}}})",
           R"({"uuid":"","event":"/restapi/v1.0/account/1/extension/2","timestamp":"2024-01-01T00:00:00Z",
               "body":{"eventType":"Delete","extensionId":"2"}})"}) {
    const auto r = run("ringcentral", body);
    ASSERT_EQ(r.outputs.size(), 1u) << body;
    EXPECT_EQ(r.outputs[0].error_code, "schema_violation") << body;
    EXPECT_NE(r.outputs[0].error_detail.find("/uuid"), std::string::npos) << r.outputs[0].error_detail;
  }
}

}  // namespace
}  // namespace numflow
