// The 8x8 snapshot poller inside numflow-ingest, end to end: a loopback fake of the 8x8 numbers
// API, the real broker, the transform; a number missing from a later snapshot is deleted.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

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
  // The fake 8x8 API misbehaves first, as real APIs do: 401, 429 with Retry-After, an answer
  // slower than the poller's timeout, a malformed body; then it serves snapshots.
  const std::string malformed = "{\"numbers\": [ this is not json";
  http::Server api(so, [&](http::Request&& req, http::Respond respond) {
    std::lock_guard lock(mu);
    seen_auth = std::string(req.headers.get("Authorization"));
    seen_path = std::string(req.path());
    switch (polls++) {
      case 0: respond(http::Response::json(401, R"({"error":"unauthorized"})")); return;
      case 1: {
        auto r = http::Response::json(429, R"({"error":"slow down"})");
        r.headers.set("Retry-After", "1");
        respond(std::move(r));
        return;
      }
      case 2:
        std::thread([respond]() mutable {
          std::this_thread::sleep_for(2500ms);
          respond(http::Response::json(200, R"({"numbers":[]})"));
        }).detach();
        return;
      case 3: respond(http::Response::json(200, malformed)); return;
      default: respond(http::Response::json(200, body));
    }
  });
  api.start();

  const int metrics_port = free_port();
  const std::string key_file = "/tmp/numflow-test-8x8-key";
  std::ofstream(key_file) << "s3cret-api-key\n";
  auto transform = start_transform();
  auto ingest = start_ingest({"--8x8-poll-subaccounts", "MySubAccount", "--8x8-api-key-file", key_file,
                              "--8x8-api-base", "http://127.0.0.1:" + std::to_string(api.port()),
                              "--8x8-poll-interval-seconds", "1", "--8x8-poll-jitter-percent", "0",
                              "--8x8-poll-backoff-min-seconds", "1", "--8x8-poll-timeout-ms", "1000",
                              "--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port)});
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

  // Only 200 answers reach the raw topic, the malformed one included (dead-lettered, not lost).
  const auto raw = read_topic(brokers_, topics_.raw, 0, 20s);
  ASSERT_FALSE(raw.empty());
  for (const auto& r : raw) {
    EXPECT_EQ(r.key, "8x8:MySubAccount");
    EXPECT_EQ(r.header("numflow-source"), "poll");
    EXPECT_EQ(r.value->find("unauthorized"), std::string::npos);
    EXPECT_EQ(r.value->find("slow down"), std::string::npos);
  }
  EXPECT_EQ(raw[0].value, malformed);
  const auto dead = read_topic(brokers_, topics_.dead, 1, 20s);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].header("numflow-error-code"), "invalid_json");
  const std::string metrics = http_request(metrics_port, "GET", "/metrics").body;
  for (const char* result : {"auth", "rate_limited", "timeout", "success"})
    EXPECT_NE(metrics.find(std::string("numflow_ingest_poller_runs_total{result=\"") + result + "\"}"), std::string::npos)
        << result << "\n" << metrics;
  EXPECT_EQ(ingest->log().find("s3cret-api-key"), std::string::npos) << "the API key must never be logged";
  ingest->signal(SIGTERM);
  EXPECT_EQ(ingest->wait(20s), 0) << ingest->log();
  transform->signal(SIGTERM);
  api.stop();
}

}  // namespace
}  // namespace numflow::testing
