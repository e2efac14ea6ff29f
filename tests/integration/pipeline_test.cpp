// The whole pipeline on the real broker: numflow-ingest and numflow-transform as processes, seed
// examples POSTed over HTTP, every output topic read back read_committed.
#include <gtest/gtest.h>
#include <openssl/hmac.h>
#include <rapidjson/document.h>

#include <cstdlib>
#include <fstream>
#include <ctime>
#include <random>
#include <set>

#include "common/crypto.h"
#include "publish/kafka_config.h"
#include "publish/kafka_settings.h"
#include "publish/topics.h"
#include "schemas/schema_store.h"
#include "tests/support/http_client.h"
#include "tests/support/kafka_reader.h"
#include "tests/support/normalize_helpers.h"
#include "tests/support/pipeline_fixture.h"
#include "tests/support/process.h"

namespace numflow::testing {
namespace {

void expect_schema(const KafkaRecord& r, const char* schema) {
  ASSERT_TRUE(r.value) << r.key;
  const auto doc = parse(*r.value);
  const auto v = schemas::validate(schema, doc);
  EXPECT_FALSE(v) << (v ? v->detail : "") << "\n" << *r.value;
}

TEST_F(Pipeline, SeedExamplesEndToEnd) {
  auto transform = start_transform();
  auto ingest = start_ingest();
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();
  ASSERT_TRUE(wait_http_ok(transform_port_, "/readyz", 30s)) << transform->log();

  const std::string zoom_filled = R"({"event":"number_management.peering_number_cnam_updated","event_ts":1700000000000,
    "payload":{"account_id":"abc123","object":{"cnam":"ACME SUPPORT","carrier_code":1,
    "phone_numbers":["+14155550123","14155550124"]}}})";
  const std::vector<std::pair<std::string, std::string>> posts = {
      {"8x8", read_file("providers/8x8/fixtures/webhook-seed.json")},
      {"zoom", read_file("providers/zoom/fixtures/cnam-updated-seed.json")},
      {"zoom", read_file("providers/zoom/fixtures/emergency-address-updated-seed.json")},
      {"zoom", zoom_filled},
      {"ringcentral", read_file("providers/ringcentral/fixtures/phone-number-created-seed.json")},
      {"ringcentral", read_file("providers/ringcentral/fixtures/extension-update-seed.json")},
      {"8x8", "this is not json"},
  };
  for (const auto& [provider, body] : posts) {
    const auto r = post(provider, body);
    ASSERT_EQ(r.status, 200) << provider << ": " << r.body << "\n" << ingest->log();
    EXPECT_TRUE(r.headers.count("x-request-id"));
  }

  const auto raw = read_topic(brokers_, topics_.raw, posts.size(), 20s);
  ASSERT_EQ(raw.size(), posts.size());
  std::multiset<std::string> raw_bodies, posted_bodies;
  for (const auto& r : raw) {
    raw_bodies.insert(r.value.value_or(""));
    EXPECT_FALSE(r.header("numflow-request-id").empty());
    EXPECT_FALSE(r.header("numflow-received-at").empty());
    EXPECT_EQ(r.header("numflow-auth"), "none");
    EXPECT_EQ(r.key.substr(0, r.key.find(':')), r.header("numflow-provider"));
  }
  for (const auto& [provider, body] : posts) posted_bodies.insert(body);
  EXPECT_EQ(raw_bodies, posted_bodies) << "raw bodies must be the exact bytes posted";

  const auto numbers = read_topic(brokers_, topics_.numbers, 5, 30s);
  std::set<std::string> keys;
  for (const auto& r : numbers) {
    keys.insert(r.key);
    expect_schema(r, "number-change.v1");
    const auto v = parse(*r.value);
    EXPECT_EQ(std::string(v["source"]["topic"].GetString()), topics_.raw);
  }
  EXPECT_EQ(keys, (std::set<std::string>{"+65123456789", "+65987654321", "+12024999741", "+14155550123",
                                         "+14155550124"}));

  const auto extensions = read_topic(brokers_, topics_.extensions, 1, 20s);
  ASSERT_EQ(extensions.size(), 1u);
  EXPECT_EQ(extensions[0].key, "ringcentral:99:8475874957");
  expect_schema(extensions[0], "extension-change.v1");

  const auto dead = read_topic(brokers_, topics_.dead, 3, 20s);
  ASSERT_EQ(dead.size(), 3u) << transform->log();
  std::multiset<std::string> codes;
  for (const auto& d : dead) {
    codes.insert(d.header("numflow-error-code"));
    EXPECT_FALSE(d.header("numflow-error-detail").empty());
    EXPECT_EQ(d.header("numflow-source-topic"), topics_.raw);
    EXPECT_FALSE(d.header("numflow-source-offset").empty());
    EXPECT_FALSE(d.header("numflow-request-id").empty()) << "dead letters keep the raw headers";
    EXPECT_TRUE(posted_bodies.count(d.value.value_or(""))) << "dead letters carry the raw bytes unchanged";
  }
  EXPECT_EQ(codes, (std::multiset<std::string>{"invalid_json", "unknown_event", "unknown_event"}));

  // Both services' metrics are valid Prometheus exposition (promtool check metrics) and count
  // what just happened.
  for (int port : {ingest_metrics_port_, transform_port_}) {
    const std::string metrics = http_request(port, "GET", "/metrics").body;
    EXPECT_NE(metrics.find("numflow_build_info"), std::string::npos);
    const std::string file = "/tmp/numflow-test-metrics-" + std::to_string(port) + ".txt";
    std::ofstream(file) << metrics;
    const std::string cmd = "promtool check metrics < " + file + " > " + file + ".out 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << read_file(file + ".out") << "\n" << metrics;
  }
  const std::string tm = http_request(transform_port_, "GET", "/metrics").body;
  EXPECT_NE(tm.find(R"(numflow_transform_events_total{code="invalid_json",kind="unknown",outcome="dead_lettered",provider="8x8"} 1)"),
            std::string::npos) << tm;
  EXPECT_NE(tm.find(R"(numflow_transform_records_total{topic=")" + topics_.numbers + R"("} 5)"), std::string::npos) << tm;
  const std::string im = http_request(ingest_metrics_port_, "GET", "/metrics").body;
  EXPECT_NE(im.find(R"(numflow_ingest_requests_total{outcome="accepted",provider="zoom",route="/webhooks/zoom",status="200"} 3)"),
            std::string::npos) << im;
  EXPECT_NE(im.find("numflow_ingest_produce_seconds_count{result=\"persisted\"} 7"), std::string::npos) << im;

  ingest->signal(SIGTERM);
  transform->signal(SIGTERM);
  EXPECT_EQ(ingest->wait(20s), 0) << ingest->log();
  EXPECT_EQ(transform->wait(20s), 0) << transform->log();
}

TEST_F(Pipeline, OffsetsAreCommittedSoARestartDoesNotReprocess) {
  auto ingest = start_ingest();
  auto transform = start_transform();
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();
  ASSERT_TRUE(wait_http_ok(transform_port_, "/readyz", 30s)) << transform->log();
  ASSERT_EQ(post("8x8", read_file("providers/8x8/fixtures/webhook-seed.json")).status, 200);
  ASSERT_EQ(read_topic(brokers_, topics_.numbers, 2, 30s).size(), 2u) << transform->log();
  transform->signal(SIGTERM);
  ASSERT_EQ(transform->wait(20s), 0) << transform->log();

  transform = start_transform();  // same group
  ASSERT_TRUE(wait_http_ok(transform_port_, "/readyz", 30s)) << transform->log();
  ASSERT_EQ(post("ringcentral", read_file("providers/ringcentral/fixtures/phone-number-created-seed.json")).status,
            200);
  const auto numbers = read_topic(brokers_, topics_.numbers, 3, 30s);
  ASSERT_EQ(numbers.size(), 3u);
  std::this_thread::sleep_for(2s);  // anything reprocessed would show up by now
  EXPECT_EQ(read_topic(brokers_, topics_.numbers, 0, 20s).size(), 3u) << "the 8x8 event was processed again";
  ingest->signal(SIGTERM);
  transform->signal(SIGTERM);
  EXPECT_EQ(ingest->wait(20s), 0);
  EXPECT_EQ(transform->wait(20s), 0);
}

TEST_F(Pipeline, HttpRules) {
  auto ingest = start_ingest({"--max-body-bytes", "1024"});
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();
  EXPECT_EQ(http_request(ingest_port_, "GET", "/healthz").status, 200);
  EXPECT_EQ(http_request(ingest_port_, "GET", "/webhooks/zoom").status, 405);
  EXPECT_EQ(http_request(ingest_port_, "POST", "/webhooks/twilio", "{}").status, 404);
  EXPECT_EQ(http_request(ingest_port_, "POST", "/nope", "{}").status, 404);
  EXPECT_EQ(post("8x8", std::string(2048, 'x')).status, 413);
  EXPECT_EQ(post("8x8", "{}").status, 200);
  // Only the accepted body reached Kafka.
  const auto raw = read_topic(brokers_, topics_.raw, 0, 15s);
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(raw[0].value, "{}");
}

TEST_F(Pipeline, ServicesStartAndStayUpWithoutKafka) {
  auto ingest = start_ingest({}, "127.0.0.1:1");
  auto transform = start_transform({}, "127.0.0.1:1");
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/healthz", 10s)) << ingest->log();
  ASSERT_TRUE(wait_http_ok(transform_port_, "/healthz", 10s)) << transform->log();
  std::this_thread::sleep_for(2s);
  EXPECT_TRUE(ingest->running());
  EXPECT_TRUE(transform->running());
  EXPECT_EQ(http_request(ingest_port_, "GET", "/readyz").status, 503);
  EXPECT_EQ(http_request(transform_port_, "GET", "/readyz").status, 503);
  const auto r = post("8x8", "{}");
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(r.headers.count("retry-after"));
  EXPECT_LT(r.elapsed, 1000ms) << "Kafka known to be down: answer at once";
  ingest->signal(SIGTERM);
  transform->signal(SIGTERM);
  EXPECT_EQ(ingest->wait(15s), 0) << ingest->log();
  EXPECT_EQ(transform->wait(15s), 0) << transform->log();
}

// A --kafka-property that would weaken what a 2xx or a record promises stops either service at
// start, with a line naming it, before it listens.
TEST_F(Pipeline, ServicesRefuseKafkaPropertiesThatWeakenTheirGuarantees) {
  auto ingest = start_ingest({"--kafka-property", "acks=1"});
  auto transform = start_transform({"--kafka-property", "isolation.level=read_uncommitted"});
  EXPECT_EQ(ingest->wait(15s), 2) << ingest->log();
  EXPECT_EQ(transform->wait(15s), 2) << transform->log();
  EXPECT_NE(ingest->log().find("'acks' cannot be set to '1'"), std::string::npos) << ingest->log();
  EXPECT_NE(transform->log().find("'isolation.level' cannot be set"), std::string::npos) << transform->log();
}

TEST_F(Pipeline, PostWhileTheBrokerIsStoppedGets503AndLeavesNothingBehind) {
  auto ingest = start_ingest();
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();
  ASSERT_EQ(post("8x8", R"({"before":"stop"})").status, 200);

  ASSERT_EQ(kafka_script("stop", brokers_), 0);
  struct Restart {  // whatever happens below, the broker comes back for the next test
    std::string brokers;
    ~Restart() { kafka_script("start", brokers); }
  } restart{brokers_};

  const std::string lost = R"({"while":"stopped","marker":")" + crypto::random_hex_id() + "\"}";
  for (int i = 0; i < 3; ++i) {
    const auto r = post("8x8", lost);
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_TRUE(r.headers.count("retry-after"));
    EXPECT_LT(r.elapsed, 3000ms) << "providers drop endpoints slower than 3 s";
  }
  EXPECT_EQ(http_request(ingest_port_, "GET", "/readyz").status, 503);
  EXPECT_EQ(http_request(ingest_port_, "GET", "/healthz").status, 200);

  ASSERT_EQ(kafka_script("start", brokers_), 0);
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 60s)) << "ingest recovers when Kafka returns\n" << ingest->log();
  const auto after = post("8x8", R"({"after":"restart"})");
  EXPECT_EQ(after.status, 200) << after.body;

  // Give any message librdkafka might still have held a chance to appear, then look.
  std::this_thread::sleep_for(3s);
  const auto raw = read_topic(brokers_, topics_.raw, 0, 30s);
  std::vector<std::string> bodies;
  for (const auto& r : raw) bodies.push_back(r.value.value_or(""));
  EXPECT_EQ(bodies, (std::vector<std::string>{R"({"before":"stop"})", R"({"after":"restart"})"}));
  ingest->signal(SIGTERM);
  EXPECT_EQ(ingest->wait(20s), 0) << ingest->log();
}

TEST_F(Pipeline, RefusesATopicWithTheWrongCleanupPolicy) {
  // number-changes must be compacted: make it a delete topic first.
  rd_kafka_conf_t* conf = publish::make_conf({{"bootstrap.servers", brokers_}}, {});
  char err[256];
  publish::KafkaHandle admin(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
  ASSERT_EQ(publish::ensure_topics(admin.get(), {{topics_.numbers, "delete"}}, 10000).status,
            publish::TopicsResult::ok);
  auto transform = start_transform();
  EXPECT_EQ(transform->wait(30s), 3) << transform->log();
  EXPECT_NE(transform->log().find("cleanup.policy=delete"), std::string::npos) << transform->log();
}

TEST_F(Pipeline, IngestRefusesACompactedRawTopic) {
  // The raw topic keeps every body (delete policy, 7 days): compaction would drop deliveries
  // that share a key (provider:account). ingest must not write to such a topic.
  rd_kafka_conf_t* conf = publish::make_conf({{"bootstrap.servers", brokers_}}, {});
  char err[256];
  publish::KafkaHandle admin(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
  // Retried: a test before this one may have just restarted the broker.
  publish::TopicsResult made;
  for (int i = 0; i < 30; ++i) {
    made = publish::ensure_topics(admin.get(), {{topics_.raw, "compact"}}, 10000);
    if (made.status != publish::TopicsResult::retry) break;
    std::this_thread::sleep_for(1s);
  }
  ASSERT_EQ(made.status, publish::TopicsResult::ok) << made.message;
  auto ingest = start_ingest();
  EXPECT_EQ(ingest->wait(30s), 3) << ingest->log();
  EXPECT_NE(ingest->log().find("cleanup.policy=compact"), std::string::npos) << ingest->log();
}

TEST_F(Pipeline, CreatesMissingTopicsWithTheContractsSettings) {
  // ingest creates the raw topic sized for its --max-body-bytes; the transform creates the rest.
  auto ingest = start_ingest({"--max-body-bytes", "2097152", "--topic-partitions", "3"});
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();
  auto transform = start_transform({"--topic-partitions", "3", "--topic-replication-factor", "1"});
  ASSERT_TRUE(wait_http_ok(transform_port_, "/readyz", 60s)) << transform->log();
  rd_kafka_conf_t* conf = publish::make_conf({{"bootstrap.servers", brokers_}}, {});
  char err[256];
  publish::KafkaHandle admin(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
  const std::vector<std::string> all = {topics_.raw, topics_.numbers, topics_.extensions, topics_.dead};
  std::string error;
  const auto policy = publish::topic_configs(admin.get(), all, "cleanup.policy", 10000, error);
  ASSERT_EQ(error, "");
  EXPECT_EQ(policy.at(topics_.raw), "delete");
  EXPECT_EQ(policy.at(topics_.numbers), "compact");
  EXPECT_EQ(policy.at(topics_.extensions), "compact");
  EXPECT_EQ(policy.at(topics_.dead), "delete");
  // A body at the limit that does not compress must fit the raw topic, and its dead letter (the
  // same bytes plus headers) the dead-letter topic, which the transform sizes for the largest body
  // any ingest setting allows (it cannot know the ingest's).
  const auto max_bytes = publish::topic_configs(admin.get(), all, "max.message.bytes", 10000, error);
  ASSERT_EQ(error, "");
  EXPECT_EQ(max_bytes.at(topics_.raw), std::to_string(2097152 + 65536));
  EXPECT_EQ(max_bytes.at(topics_.dead), std::to_string(publish::kLargestDeadLetterBytes));
  const auto retention = publish::topic_configs(admin.get(), all, "retention.ms", 10000, error);
  EXPECT_EQ(retention.at(topics_.raw), std::to_string(7LL * 24 * 3600 * 1000));
  EXPECT_EQ(retention.at(topics_.dead), std::to_string(30LL * 24 * 3600 * 1000));
  // --topic-partitions: every topic either service created.
  for (const auto& t : all) EXPECT_EQ(publish::partition_count(admin.get(), t), 3) << t;
}

// HMAC-SHA256 hex with OpenSSL directly, not with numflow's code.
std::string hmac_hex(const std::string& key, const std::string& msg) {
  unsigned char md[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), md, &len);
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += d[md[i] >> 4];
    out += d[md[i] & 15];
  }
  return out;
}

TEST_F(Pipeline, ProviderAuthenticationEndToEnd) {
  const int port = free_port();
  const int metrics_port = free_port();
  ingest_port_ = port;
  Process ingest(NUMFLOW_INGEST_BIN,
                 concat({"--brokers", brokers_, "--listen", "127.0.0.1:" + std::to_string(port), "--metrics-listen",
                         "127.0.0.1:" + std::to_string(metrics_port), "--zoom-secret-token", "old-token,zoom-secret", "--ringcentral-verification-token",
                         "rc-token", "--8x8-auth-header", "Bearer eight"},
                        topics_.args()),
                 log_path("ingest"));
  ASSERT_TRUE(wait_http_ok(port, "/readyz", 30s)) << ingest.log();
  const std::string ts = std::to_string(std::time(nullptr));
  const std::string zoom_body = R"({"event":"number_management.peering_number_cnam_updated","event_ts":1,"payload":{"account_id":"a","object":{"cnam":"Z","carrier_code":1,"phone_numbers":["+14155550123"]}}})";
  const std::string good_sig = "v0=" + hmac_hex("zoom-secret", "v0:" + ts + ":" + zoom_body);
  auto zoom = [&](const std::string& body, const std::string& sig, const std::string& t) {
    return http_request(port, "POST", "/webhooks/zoom", body, {{"x-zm-signature", sig}, {"x-zm-request-timestamp", t}});
  };
  EXPECT_EQ(zoom(zoom_body, good_sig, ts).status, 200);
  EXPECT_EQ(zoom(zoom_body + " ", good_sig, ts).status, 401) << "a changed body";
  EXPECT_EQ(zoom(zoom_body, "v0=" + hmac_hex("wrong", "v0:" + ts + ":" + zoom_body), ts).status, 401);
  const std::string old_ts = std::to_string(std::time(nullptr) - 3600);
  EXPECT_EQ(zoom(zoom_body, "v0=" + hmac_hex("zoom-secret", "v0:" + old_ts + ":" + zoom_body), old_ts).status, 401);

  const std::string challenge = R"({"payload":{"plainToken":"plain-123"},"event_ts":1,"event":"endpoint.url_validation"})";
  const auto ch = zoom(challenge, "v0=" + hmac_hex("old-token", "v0:" + ts + ":" + challenge), ts);
  EXPECT_EQ(ch.status, 200);
  EXPECT_EQ(ch.body, R"({"plainToken":"plain-123","encryptedToken":")" + hmac_hex("old-token", "plain-123") + "\"}");

  const auto handshake = http_request(port, "POST", "/webhooks/ringcentral", "", {{"Validation-Token", "vt-42"}});
  EXPECT_EQ(handshake.status, 200);
  EXPECT_EQ(handshake.headers.count("validation-token") ? handshake.headers.at("validation-token") : "", "vt-42");
  EXPECT_EQ(handshake.body, R"({"status":"validated"})");
  // RingCentral wants the whole answer under 1 KB: status line, headers and body as sent.
  std::size_t answer_bytes = std::string("HTTP/1.1 200 OK\r\n\r\n").size() + handshake.body.size();
  for (const auto& [name, value] : handshake.headers) answer_bytes += name.size() + 2 + value.size() + 2;
  EXPECT_LT(answer_bytes, 1024u);
  const std::string rc_body = read_file("providers/ringcentral/fixtures/phone-number-created-seed.json");
  EXPECT_EQ(http_request(port, "POST", "/webhooks/ringcentral", rc_body, {{"Verification-Token", "rc-token"}}).status, 200);
  EXPECT_EQ(http_request(port, "POST", "/webhooks/ringcentral", rc_body, {{"Verification-Token", "rc-tokeN"}}).status, 403);
  EXPECT_EQ(http_request(port, "POST", "/webhooks/ringcentral", rc_body).status, 401);

  EXPECT_EQ(http_request(port, "POST", "/webhooks/8x8", "{}", {{"Authorization", "Bearer eight"}}).status, 200);
  EXPECT_EQ(http_request(port, "POST", "/webhooks/8x8", "{}", {{"Authorization", "Bearer nine"}}).status, 401);

  // Exactly the three genuine deliveries reached Kafka, each saying how it was authenticated.
  std::this_thread::sleep_for(1s);
  const auto raw = read_topic(brokers_, topics_.raw, 0, 20s);
  std::multiset<std::string> methods;
  for (const auto& r : raw) methods.insert(r.header("numflow-auth"));
  EXPECT_EQ(methods, (std::multiset<std::string>{"zoom-hmac-sha256", "ringcentral-verification-token", "8x8-auth-header"}));
  // Refusals are logged with their reason, never with a secret.
  const std::string log = ingest.log();
  EXPECT_NE(log.find("bad_signature"), std::string::npos);
  EXPECT_NE(log.find(R"("client":"127.0.0.1")"), std::string::npos) << "a refusal names its source";
  EXPECT_NE(log.find(R"("request_id":")"), std::string::npos);
  for (const char* secret : {"zoom-secret", "old-token", "rc-token", "Bearer eight"})
    EXPECT_EQ(log.find(secret), std::string::npos) << secret;
  // ... and counted by provider and reason.
  const std::string metrics = http_request(metrics_port, "GET", "/metrics").body;
  for (const char* series : {R"(numflow_ingest_refusals_total{provider="zoom",reason="bad_signature"} 2)",
                             R"(numflow_ingest_refusals_total{provider="zoom",reason="stale_timestamp"} 1)",
                             R"(numflow_ingest_refusals_total{provider="ringcentral",reason="bad_verification_token"} 1)",
                             R"(numflow_ingest_refusals_total{provider="ringcentral",reason="missing_verification_token"} 1)",
                             R"(numflow_ingest_refusals_total{provider="8x8",reason="bad_authorization"} 1)"})
    EXPECT_NE(metrics.find(series), std::string::npos) << series << "\n" << metrics;
}

TEST_F(Pipeline, RefusesToStartWithoutAnAuthenticationDecision) {
  const int port = free_port();
  Process ingest(NUMFLOW_INGEST_BIN, {"--brokers", brokers_, "--listen", "127.0.0.1:" + std::to_string(port),
                                      "--metrics-listen", "127.0.0.1:0", "--8x8-auth", "none"},
                 log_path("ingest"));
  EXPECT_EQ(ingest.wait(10s), 2);
  EXPECT_NE(ingest.log().find("no authentication configured for zoom"), std::string::npos) << ingest.log();
}

}  // namespace
}  // namespace numflow::testing
