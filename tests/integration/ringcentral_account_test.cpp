// --ringcentral-account in numflow-ingest (contract §3: an event whose path and number uri say `~`
// belongs to "the account configured for the route"): ingest writes that account into the raw
// key, ringcentral:{account}, and the transform takes it from there, even when the transform
// itself has no --ringcentral-account.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "tests/support/normalize_helpers.h"
#include "tests/support/pipeline_fixture.h"

namespace numflow::testing {
namespace {

std::string fixture(const std::string& path) {
  std::ifstream in("providers/ringcentral/fixtures/" + path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_F(Pipeline, RingCentralTildeAccountFromIngestReachesTheRawKeyAndTheRecords) {
  const std::string tilde_extension = fixture("extension-update-seed.json");  // event .../account/~/extension/...
  const std::string named_number = fixture("phone-number-created-seed.json");  // uri .../account/37439510/...
  ASSERT_NE(tilde_extension.find("/account/~/"), std::string::npos);

  // The fixture's transform gets --ringcentral-account 99: clear it, so only ingest knows the account.
  auto transform = start_transform({"--ringcentral-account", ""});
  auto ingest = start_ingest({"--ringcentral-account", "4242"});
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();
  ASSERT_EQ(post("ringcentral", tilde_extension).status, 200) << ingest->log();
  ASSERT_EQ(post("ringcentral", named_number).status, 200) << ingest->log();

  const auto raw = read_topic(brokers_, topics_.raw, 2, 30s);
  ASSERT_EQ(raw.size(), 2u);
  std::set<std::string> keys;
  for (const auto& r : raw) keys.insert(r.key);
  // The account the body names wins; `~` gets the configured one.
  EXPECT_EQ(keys, (std::set<std::string>{"ringcentral:4242", "ringcentral:37439510"}));

  const auto extensions = read_topic(brokers_, topics_.extensions, 1, 60s);
  ASSERT_EQ(extensions.size(), 1u) << transform->log();
  EXPECT_EQ(extensions[0].key, "ringcentral:4242:8475874957");
  EXPECT_STREQ(parse(extensions[0].value.value_or("{}"))["account_id"].GetString(), "4242");
  const auto numbers = read_topic(brokers_, topics_.numbers, 1, 60s);
  ASSERT_EQ(numbers.size(), 1u) << transform->log();
  EXPECT_STREQ(parse(numbers[0].value.value_or("{}"))["account_id"].GetString(), "37439510");

  ingest->signal(SIGTERM);
  EXPECT_EQ(ingest->wait(20s), 0) << ingest->log();
  transform->signal(SIGTERM);
  EXPECT_EQ(transform->wait(30s), 0) << transform->log();
}

}  // namespace
}  // namespace numflow::testing
