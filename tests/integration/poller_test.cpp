// The 8x8 snapshot poller inside numflow-ingest, end to end: a loopback fake of the 8x8 numbers
// API, the real broker, the transform; a number missing from a later snapshot is deleted.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <fstream>
#include <mutex>

#include "common/http_server.h"
#include "tests/support/normalize_helpers.h"
#include "tests/support/pipeline_fixture.h"

namespace numflow::testing {
namespace {

std::string snapshot(const std::vector<std::string>& numbers) {
  std::string list;
  for (const auto& n : numbers) {
    if (!list.empty()) list += ',';
    list += R"({"msisdn":")" + n +
            R"(","dateUpdated":"2024-05-01T00:00:00Z","countryCode":"SG","operationalStatus":"Active","numberHealthCheckEnabled":true,"numberHealth":{"isHealthy":true,"status":"OK","lastCheckedTime":"2024-05-01T00:00:00Z"}})";
  }
  return R"({"totalNumbers":)" + std::to_string(numbers.size()) + R"(,"lastUpdatedAt":"2024-05-01T00:00:00Z","numbers":[)" +
         list + "]}";
}

TEST_F(Pipeline, EightByEightSnapshotsArePolledAndMissingNumbersDeleted) {
  std::mutex mu;
  std::string body = snapshot({"+6561234567", "+6561234568"});
  std::string seen_auth, seen_path;
  std::atomic<int> polls{0};
  http::ServerOptions so;
  so.listen = "127.0.0.1:0";
  http::Server api(so, [&](http::Request&& req, http::Respond respond) {
    std::lock_guard lock(mu);
    seen_auth = std::string(req.headers.get("Authorization"));
    seen_path = std::string(req.path());
    ++polls;
    respond(http::Response::json(200, body));
  });
  api.start();

  const std::string key_file = "/tmp/numflow-test-8x8-key";
  std::ofstream(key_file) << "s3cret-api-key\n";
  auto transform = start_transform();
  auto ingest = start_ingest({"--8x8-poll-subaccounts", "MySubAccount", "--8x8-api-key-file", key_file,
                              "--8x8-api-base", "http://127.0.0.1:" + std::to_string(api.port()),
                              "--8x8-poll-interval-seconds", "1", "--8x8-poll-jitter-percent", "0"});
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();

  auto created = read_topic(brokers_, topics_.numbers, 2, 60s);
  ASSERT_EQ(created.size(), 2u) << transform->log();
  for (const auto& r : created) {
    const auto v = parse(r.value.value_or("{}"));
    EXPECT_STREQ(v["change"].GetString(), "created");
    EXPECT_STREQ(v["account_id"].GetString(), "MySubAccount");
    EXPECT_STREQ(v["event_type"].GetString(), "NUMBERS_API_SNAPSHOT");
    EXPECT_TRUE(v["state"]["health"]["healthy"].GetBool());
  }
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(seen_auth, "Bearer s3cret-api-key");
    EXPECT_EQ(seen_path, "/api/v1/subaccounts/MySubAccount/numbers");
    body = snapshot({"+6561234567"});  // +6561234568 leaves the inventory
  }

  // The next snapshots delete it: a `deleted` record, then a tombstone; nothing else changes.
  const auto all = read_topic(brokers_, topics_.numbers, 4, 60s);
  ASSERT_GE(all.size(), 4u) << transform->log();
  EXPECT_EQ(all.size(), 4u);
  std::vector<std::string> tail;
  for (const auto& r : all)
    if (r.key == "+6561234568") tail.push_back(r.value ? parse(*r.value)["change"].GetString() : "tombstone");
  EXPECT_EQ(tail, (std::vector<std::string>{"created", "deleted", "tombstone"}));

  const auto raw = read_topic(brokers_, topics_.raw, 0, 20s);
  ASSERT_FALSE(raw.empty());
  EXPECT_EQ(raw[0].key, "8x8:MySubAccount");
  EXPECT_EQ(raw[0].header("numflow-source"), "poll");
  EXPECT_GE(polls.load(), 2);
  EXPECT_EQ(ingest->log().find("s3cret-api-key"), std::string::npos) << "the API key must never be logged";
  ingest->signal(SIGTERM);
  EXPECT_EQ(ingest->wait(20s), 0) << ingest->log();
  transform->signal(SIGTERM);
  api.stop();
}

}  // namespace
}  // namespace numflow::testing
