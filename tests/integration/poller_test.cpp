// The 8x8 snapshot poller inside numflow-ingest, end to end: a loopback fake of the 8x8 numbers
// API, the real broker, the transform; a number missing from a later snapshot is deleted.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "common/http_server.h"
#include "publish/topics.h"
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

// A valid numbers API snapshot of about `bytes` bytes: two numbers and an unknown member (which
// the transform ignores) of random letters, so the body does not compress below Kafka's limits.
std::string large_snapshot(std::size_t bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::mt19937_64 rng(42);
  std::string filler(bytes, 'x');
  for (char& c : filler) c = kAlphabet[rng() % 64];
  std::string body = snapshot({"+6561234567", "+6561234568"});
  body.insert(body.size() - 1, R"(,"padding":")" + filler + "\"");
  return body;
}

// A loopback stand-in for 8x8's numbers API answering every request with `body`, counting them.
class FixedNumbersApi {
 public:
  explicit FixedNumbersApi(std::string body)
      : body_(std::move(body)), server_(options(), [this](http::Request&&, http::Respond respond) {
          ++polls;
          respond(http::Response::json(200, body_));
        }) {
    server_.start();
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
  std::atomic<int> polls{0};

 private:
  static http::ServerOptions options() {
    http::ServerOptions so;
    so.listen = "127.0.0.1:0";
    return so;
  }
  std::string body_;
  http::Server server_;  // last: its handler uses the members above
};

// A topic's max.message.bytes as the broker reports it ("" when it cannot say).
std::string topic_max_message_bytes(const std::string& brokers, const std::string& topic) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) return "";
  std::string error;
  auto values = publish::topic_configs(rk, {topic}, "max.message.bytes", 10000, error);
  rd_kafka_destroy(rk);
  return values[topic];
}

// Issue 3: a snapshot over --max-body-bytes (1 MiB) but under --8x8-poll-max-body-bytes (16 MiB by
// default) gets into the raw topic whole: the producer's message.max.bytes and the raw topic's
// max.message.bytes are sized for the poller's limit too.
TEST_F(Pipeline, EightByEightSnapshotOverOneMiBArrivesWholeInTheRawTopic) {
  const std::string body = large_snapshot(3 * 1024 * 1024);
  ASSERT_GT(body.size(), 3u * 1024 * 1024);
  FixedNumbersApi api(body);
  auto ingest = start_ingest({"--8x8-poll-subaccounts", "BigSubAccount", "--8x8-api-key", "k",
                              "--8x8-api-base", api.base(), "--8x8-poll-interval-seconds", "3600"});
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();

  const auto raw = read_topic(brokers_, topics_.raw, 1, 60s);
  ASSERT_EQ(raw.size(), 1u) << ingest->log();
  EXPECT_EQ(raw[0].key, "8x8:BigSubAccount");
  EXPECT_EQ(raw[0].header("numflow-source"), "poll");
  ASSERT_TRUE(raw[0].value.has_value());
  EXPECT_EQ(raw[0].value->size(), body.size());
  EXPECT_TRUE(*raw[0].value == body) << "the snapshot must arrive byte for byte";
  // The raw topic ingest created holds the poller's limit plus key and headers.
  const std::string max = topic_max_message_bytes(brokers_, topics_.raw);
  ASSERT_FALSE(max.empty());
  EXPECT_GE(std::stoll(max), 16LL * 1024 * 1024) << max;

  const std::string metrics = http_request(ingest_metrics_port_, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("numflow_ingest_poller_runs_total{result=\"success\"} 1"), std::string::npos) << metrics;
  EXPECT_EQ(api.polls.load(), 1);
  ingest->signal(SIGTERM);
  EXPECT_EQ(ingest->wait(20s), 0) << ingest->log();
}

// A snapshot over --8x8-poll-max-body-bytes is reported (result too_large in the metric, an error
// log line), never stored, and not fetched again before the interval.
TEST_F(Pipeline, EightByEightSnapshotOverThePollerLimitIsReportedTooLarge) {
  const std::string body = large_snapshot(1536 * 1024);
  FixedNumbersApi api(body);
  auto ingest = start_ingest({"--8x8-poll-subaccounts", "BigSubAccount", "--8x8-api-key", "k",
                              "--8x8-api-base", api.base(), "--8x8-poll-max-body-bytes", "1048576", "--8x8-poll-interval-seconds", "2",
                              "--8x8-poll-jitter-percent", "0", "--8x8-poll-backoff-min-seconds", "1"});
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();
  const std::string series = "numflow_ingest_poller_runs_total{result=\"too_large\"}";
  std::string metrics;
  for (auto until = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < until;) {
    metrics = http_request(ingest_metrics_port_, "GET", "/metrics").body;
    if (metrics.find(series) != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_NE(metrics.find(series), std::string::npos) << metrics << ingest->log();
  const int first = api.polls.load();
  std::this_thread::sleep_for(3s);
  // At most the two polls the 2 s interval allows in 3 s (backoff only lengthens it).
  EXPECT_LE(api.polls.load() - first, 2) << "too_large must not be retried in a tight loop";
  EXPECT_EQ(metrics.find("numflow_ingest_poller_runs_total{result=\"success\"}"), std::string::npos);
  const std::string log = ingest->log();
  EXPECT_NE(log.find("8x8 numbers snapshot too large"), std::string::npos) << log;
  EXPECT_NE(log.find("\"result\":\"too_large\""), std::string::npos) << log;
  EXPECT_NE(log.find("response body over 1048576 bytes"), std::string::npos) << log;
  EXPECT_TRUE(read_topic(brokers_, topics_.raw, 0, 10s).empty()) << "nothing of it is stored";
  ingest->signal(SIGTERM);
  EXPECT_EQ(ingest->wait(20s), 0) << ingest->log();
}

// Issue 3: each subaccount's API key is its own secret (--8x8-api-keys, here from a file as a
// Kubernetes Secret would mount it); a subaccount without one uses the shared --8x8-api-key.
TEST_F(Pipeline, EightByEightSubaccountsUseTheirOwnApiKeys) {
  std::mutex mu;
  std::map<std::string, std::string> auth_by_path;
  http::ServerOptions so;
  so.listen = "127.0.0.1:0";
  http::Server api(so, [&](http::Request&& req, http::Respond respond) {
    {
      std::lock_guard lock(mu);
      auth_by_path[std::string(req.path())] = std::string(req.headers.get("Authorization"));
    }
    respond(http::Response::json(200, snapshot({})));
  });
  api.start();
  const std::string keys_file = "/tmp/numflow-test-8x8-api-keys-" + topics_.raw;
  std::ofstream(keys_file) << "SubAccountA=key-of-a-s3cret\nSubAccountB = key-of-b-s3cret\n";
  auto ingest = start_ingest({"--8x8-poll-subaccounts", "SubAccountA,SubAccountB,SubAccountC", "--8x8-api-keys-file",
                              keys_file, "--8x8-api-key", "shared-s3cret", "--8x8-api-base",
                              "http://127.0.0.1:" + std::to_string(api.port()), "--8x8-poll-interval-seconds", "3600"});
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();
  const auto raw = read_topic(brokers_, topics_.raw, 3, 60s);
  ASSERT_EQ(raw.size(), 3u) << ingest->log();
  std::set<std::string> keys;
  for (const auto& r : raw) keys.insert(r.key);
  EXPECT_EQ(keys, (std::set<std::string>{"8x8:SubAccountA", "8x8:SubAccountB", "8x8:SubAccountC"}));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(auth_by_path["/api/v1/subaccounts/SubAccountA/numbers"], "Bearer key-of-a-s3cret");
    EXPECT_EQ(auth_by_path["/api/v1/subaccounts/SubAccountB/numbers"], "Bearer key-of-b-s3cret");
    EXPECT_EQ(auth_by_path["/api/v1/subaccounts/SubAccountC/numbers"], "Bearer shared-s3cret");
  }
  ingest->signal(SIGTERM);
  EXPECT_EQ(ingest->wait(20s), 0) << ingest->log();
  EXPECT_EQ(ingest->log().find("s3cret"), std::string::npos) << "API keys must never be logged";
  api.stop();

  // A polled subaccount without any key: ingest refuses to start, saying which, showing no key.
  auto refused = start_ingest({"--8x8-poll-subaccounts", "SubAccountA,SubAccountB,SubAccountD", "--8x8-api-keys-file", keys_file,
                               "--8x8-api-base", "http://127.0.0.1:1"});
  EXPECT_EQ(refused->wait(20s), 2) << refused->log();
  EXPECT_NE(refused->log().find("8x8 subaccount 'SubAccountD' is polled but has no API key"), std::string::npos)
      << refused->log();
  EXPECT_EQ(refused->log().find("s3cret"), std::string::npos) << refused->log();
  std::remove(keys_file.c_str());
}

}  // namespace
}  // namespace numflow::testing
