#include "ingest/ingest_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <ctime>
#include <future>
#include <iomanip>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <rapidjson/document.h>

#include "common/http_test_client.h"

namespace numflow::ingest {
namespace {

using namespace std::chrono_literals;
using numflow::http_test::ClientResponse;
using numflow::http_test::TestClient;
using publish::Delivery;
using publish::DeliveryCallback;
using publish::DeliveryResult;
using publish::Message;

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// A RawSink whose delivery reports the test controls.
class FakeSink final : public publish::RawSink {
 public:
  enum class Mode { persist, fail, queue_full, unavailable, hold, throws };

  void submit(Message msg, DeliveryCallback done) override {
    std::unique_lock lock(m_);
    messages_.push_back(std::move(msg));
    const Mode mode = mode_;
    switch (mode) {
      case Mode::hold:
        held_.push_back(std::move(done));
        cv_.notify_all();
        return;
      case Mode::throws:
        throw std::runtime_error("sink exploded");
      default:
        break;
    }
    lock.unlock();
    // Synchronous report, from the caller's stack (what a sink does when it refuses at once).
    done(DeliveryResult{mode == Mode::persist      ? Delivery::persisted
                        : mode == Mode::fail       ? Delivery::failed
                        : mode == Mode::queue_full ? Delivery::queue_full
                                                   : Delivery::unavailable,
                        mode == Mode::persist ? "" : "test"});
  }
  bool ready() const override { return ready_.load(); }
  std::size_t in_flight() const override {
    std::lock_guard lock(m_);
    return held_.size();
  }
  bool flush(int) override { return true; }

  void set_mode(Mode m) {
    std::lock_guard lock(m_);
    mode_ = m;
  }
  void set_ready(bool r) { ready_.store(r); }
  bool wait_held(std::size_t n, std::chrono::milliseconds timeout = 5000ms) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, timeout, [&] { return held_.size() >= n; });
  }
  std::vector<DeliveryCallback> take_held() {
    std::lock_guard lock(m_);
    return std::exchange(held_, {});
  }
  // Reports every held message from another thread (like librdkafka's delivery thread).
  void release_all(Delivery d) {
    auto held = take_held();
    std::thread([&held, d] {
      for (auto& cb : held) cb(DeliveryResult{d, d == Delivery::persisted ? "" : "test"});
    }).join();
  }
  std::vector<Message> messages() const {
    std::lock_guard lock(m_);
    return messages_;
  }
  std::size_t submitted() const {
    std::lock_guard lock(m_);
    return messages_.size();
  }

 private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  Mode mode_ = Mode::persist;
  std::atomic<bool> ready_{true};
  std::vector<Message> messages_;
  std::vector<DeliveryCallback> held_;
};

// X-Test-Auth: refuse -> 403, handshake -> answered, throw -> throws; otherwise accepted.
class ScriptedAuth final : public Authenticator {
 public:
  AuthResult check(const http::Request& r) const override {
    const auto what = r.headers.get("X-Test-Auth");
    if (what == "refuse") return AuthResult::refuse(403, "bad_signature");
    if (what == "refuse-no-status") return AuthResult::refuse(0, "");
    if (what == "handshake") {
      http::Response res = http::Response::json(200, "{\"plainToken\":\"abc\"}");
      return AuthResult::answer_with(std::move(res));
    }
    if (what == "throw") throw std::runtime_error("auth exploded");
    return AuthResult::accept("test-signature");
  }
};

std::string header_of(const Message& m, std::string_view name) {
  for (const auto& [k, v] : m.headers) {
    if (k == name) return v;
  }
  return "<missing>";
}

bool has_header(const Message& m, std::string_view name) {
  for (const auto& [k, v] : m.headers) {
    if (k == name) return true;
  }
  return false;
}

// `pattern`: 'd' a decimal digit, 'x' a lowercase hex digit, anything else itself.
bool matches(std::string_view text, std::string_view pattern) {
  if (text.size() != pattern.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool digit = c >= '0' && c <= '9';
    if (pattern[i] == 'd') {
      if (!digit) return false;
    } else if (pattern[i] == 'x') {
      if (!digit && !(c >= 'a' && c <= 'f')) return false;
    } else if (c != pattern[i]) {
      return false;
    }
  }
  return true;
}

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str(), body.size());
  return d;
}

std::string json_field(const std::string& body, const char* name) {
  auto d = parse(body);
  if (d.HasParseError() || !d.IsObject() || !d.HasMember(name) || !d[name].IsString()) return "<none>";
  return d[name].GetString();
}

IngestOptions test_options() {
  IngestOptions o;
  o.routes.push_back({"8x8", "", std::make_shared<NoAuth>(), json_account_at({"/payload/subAccountId"})});
  o.routes.push_back({"zoom", "", std::make_shared<ScriptedAuth>(), json_account_at({"/payload/account_id"})});
  o.routes.push_back({"ringcentral", "", std::make_shared<NoAuth>(), [](std::string_view) { return std::string("rc1"); }});
  return o;
}

class IngestTest : public ::testing::Test {
 protected:
  void start(IngestOptions o = test_options(), http::ServerOptions so = {}) {
    o.on_outcome = [this](const RequestOutcome& out) {
      std::lock_guard lock(outcomes_m_);
      outcomes_.emplace_back(std::string(out.provider), out.outcome, out.status);
      routes_.emplace_back(out.route);
    };
    handler_ = std::make_unique<IngestHandler>(std::move(o), sink_);
    so.listen = "127.0.0.1:0";
    server_ = std::make_unique<http::Server>(so, handler_->handler());
    server_->start();
  }
  void TearDown() override {
    server_.reset();   // first: no more requests
    handler_.reset();  // then: answers what is left (dropped), ignores late reports
  }

  std::optional<ClientResponse> call(std::string_view method, std::string_view target, std::string_view body = {},
                                     const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    TestClient c(server_->port());
    if (!c.send(TestClient::request(method, target, body, headers))) return std::nullopt;
    return c.read_response(5000ms, method == "HEAD");
  }

  std::vector<std::tuple<std::string, Outcome, int>> outcomes() {
    std::lock_guard lock(outcomes_m_);
    return outcomes_;
  }

  FakeSink sink_;
  std::unique_ptr<IngestHandler> handler_;
  std::unique_ptr<http::Server> server_;
  std::mutex outcomes_m_;
  std::vector<std::string> routes_;
  std::vector<std::tuple<std::string, Outcome, int>> outcomes_;
};

const std::string kZoomBody =
    R"({"event":"phone.peering_number_cnam_updated","event_ts":1,"payload":{"account_id":"acc-1","object":{}}})";

// ------------------------------------------------------------------------------------------

TEST_F(IngestTest, PersistedAnswers200AndPublishesExactBodyWithHeadersAndKey) {
  start();
  const auto before = std::chrono::system_clock::now();
  auto r = call("POST", "/webhooks/zoom?token=ignored-for-routing", kZoomBody,
                {{"Content-Type", "application/json; charset=utf-8"}, {"X-Zm-Signature", "v0=abc"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  const std::string rid = r->header("X-Request-Id");
  EXPECT_TRUE(matches(rid, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")) << rid;
  EXPECT_EQ(json_field(r->body, "status"), "accepted");
  EXPECT_EQ(json_field(r->body, "request_id"), rid);

  const auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 1u);
  const Message& m = msgs[0];
  EXPECT_EQ(m.topic, "webhooks.raw");
  EXPECT_EQ(m.key, "zoom:acc-1");
  EXPECT_EQ(m.value, kZoomBody);
  EXPECT_EQ(header_of(m, "numflow-provider"), "zoom");
  EXPECT_EQ(header_of(m, "numflow-request-id"), rid);
  EXPECT_EQ(header_of(m, "content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(header_of(m, "numflow-auth"), "test-signature");
  const std::string at = header_of(m, "numflow-received-at");
  EXPECT_TRUE(matches(at, "dddd-dd-ddTdd:dd:dd.dddZ")) << at;
  // The header is the receive time (to the millisecond), so it lies in [before, now].
  std::tm tm{};
  std::istringstream in(at.substr(0, 19));
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  const auto secs = std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::milliseconds(std::stoi(at.substr(20, 3)));
  EXPECT_GE(secs, std::chrono::floor<std::chrono::seconds>(before));
  EXPECT_LE(secs, std::chrono::system_clock::now());
  EXPECT_EQ(m.headers.size(), 5u);

  EXPECT_EQ(handler_->stats().accepted, 1u);
  // The answer can reach the client a moment before the handler counts the request done.
  EXPECT_TRUE(eventually([&] { return handler_->in_flight() == 0; }));
  EXPECT_THAT(outcomes(), ::testing::ElementsAre(std::make_tuple(std::string("zoom"), Outcome::accepted, 200)));
}

TEST_F(IngestTest, KeyHasEmptyAccountWhenUnknownAndBodyBytesAreKeptExactly) {
  start();
  const std::string binary("not json \x00\xff\r\n{", 15);
  auto r = call("POST", "/webhooks/8x8", binary);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto r2 = call("POST", "/webhooks/ringcentral", "{}", {{"Content-Type", "application/json"}});
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
  auto r3 = call("POST", "/webhooks/8x8", R"({"payload":{"subAccountId":"Sub-9"}})");
  ASSERT_TRUE(r3);
  const auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(msgs[0].key, "8x8:");
  EXPECT_EQ(msgs[0].value, binary);
  EXPECT_FALSE(has_header(msgs[0], "content-type"));  // the request had none
  EXPECT_EQ(header_of(msgs[0], "numflow-auth"), "none");
  EXPECT_EQ(header_of(msgs[0], "numflow-provider"), "8x8");
  EXPECT_EQ(msgs[1].key, "ringcentral:rc1");
  EXPECT_EQ(msgs[2].key, "8x8:Sub-9");
}

TEST_F(IngestTest, AHugeAccountIsLeftOutOfTheKey) {
  start();
  const std::string at_limit(256, 'a'), over(900 * 1000, 'b');
  for (const auto& account : {at_limit, over}) {
    auto r = call("POST", "/webhooks/8x8", R"({"payload":{"subAccountId":")" + account + "\"}}");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  const auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].key, "8x8:" + at_limit);
  EXPECT_EQ(msgs[1].key, "8x8:") << "a key as large as the body could not be written to Kafka";
  EXPECT_NE(msgs[1].value.find(over), std::string::npos) << "the body keeps it";
}

TEST_F(IngestTest, EmptyBodyIsCaptured) {
  start();
  auto r = call("POST", "/webhooks/8x8", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(sink_.submitted(), 1u);
  EXPECT_EQ(sink_.messages()[0].value, "");
  EXPECT_EQ(sink_.messages()[0].key, "8x8:");
}

TEST_F(IngestTest, RequestIdsAreUniqueAndKeepAliveCarriesManyRequests) {
  start();
  TestClient c(server_->port());
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(c.send(TestClient::request("POST", "/webhooks/8x8", "{\"n\":" + std::to_string(i) + "}")));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->status, 200);
    ids.insert(r->header("X-Request-Id"));
  }
  EXPECT_EQ(ids.size(), 200u);
  EXPECT_EQ(sink_.submitted(), 200u);
  EXPECT_EQ(server_->stats().connections_accepted, 1u);
}

TEST_F(IngestTest, DeliveryFailuresAnswer503WithRetryAfter) {
  IngestOptions o = test_options();
  o.retry_after = 7s;
  start(o);
  const std::vector<std::pair<FakeSink::Mode, std::string>> cases = {
      {FakeSink::Mode::fail, "kafka_delivery_failed"},
      {FakeSink::Mode::queue_full, "kafka_queue_full"},
      {FakeSink::Mode::unavailable, "kafka_unavailable"},
      {FakeSink::Mode::throws, "kafka_unavailable"},
  };
  for (const auto& [mode, error] : cases) {
    sink_.set_mode(mode);
    auto r = call("POST", "/webhooks/8x8", "{}");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503) << error;
    EXPECT_EQ(r->header("Retry-After"), "7");
    EXPECT_EQ(json_field(r->body, "error"), error);
    EXPECT_EQ(json_field(r->body, "request_id"), r->header("X-Request-Id"));
  }
  const auto s = handler_->stats();
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.queue_full, 1u);
  EXPECT_EQ(s.unavailable, 1u);
  EXPECT_EQ(s.errors, 1u);
  EXPECT_EQ(s.accepted, 0u);
  EXPECT_EQ(s.in_flight, 0u);
}

TEST_F(IngestTest, NotReadyAnswers503AtOnceWithoutSubmitting) {
  start();
  sink_.set_ready(false);
  auto r = call("POST", "/webhooks/8x8", "{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->header("Retry-After"), "5");
  EXPECT_EQ(json_field(r->body, "error"), "not_ready");
  EXPECT_EQ(sink_.submitted(), 0u);
  EXPECT_EQ(call("GET", "/readyz")->status, 503);
  EXPECT_EQ(call("GET", "/healthz")->status, 200);

  sink_.set_ready(true);
  EXPECT_EQ(call("GET", "/readyz")->status, 200);
  handler_->set_draining(true);
  EXPECT_EQ(call("GET", "/readyz")->status, 503);
  EXPECT_EQ(call("POST", "/webhooks/8x8", "{}")->status, 200);  // still served while draining
  EXPECT_EQ(call("GET", "/healthz")->status, 200);
  EXPECT_EQ(handler_->stats().not_ready, 1u);
}

TEST_F(IngestTest, RoutingStatusCodes) {
  IngestOptions o = test_options();
  o.get_routes["/metrics"] = [](const http::Request&) {
    return http::Response::text(200, "numflow_up 1\n", "text/plain; version=0.0.4");
  };
  start(o);
  EXPECT_EQ(call("GET", "/nope")->status, 404);
  EXPECT_EQ(call("POST", "/webhooks/unknown", "{}")->status, 404);
  EXPECT_EQ(call("POST", "/webhooks/zoom/", "{}")->status, 404);
  auto nf = call("GET", "/");
  EXPECT_EQ(json_field(nf->body, "error"), "not_found");

  auto r = call("GET", "/webhooks/zoom");
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->header("Allow"), "POST");
  r = call("PUT", "/webhooks/8x8?x=1", "{}");
  EXPECT_EQ(r->status, 405);
  r = call("POST", "/healthz", "{}");
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->header("Allow"), "GET, HEAD");
  r = call("DELETE", "/readyz");
  EXPECT_EQ(r->status, 405);

  r = call("GET", "/healthz?probe=1");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json_field(r->body, "status"), "ok");
  r = call("HEAD", "/healthz");
  EXPECT_EQ(r->status, 200);
  r = call("GET", "/metrics");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "numflow_up 1\n");
  EXPECT_EQ(call("POST", "/metrics", "")->status, 405);
  EXPECT_EQ(sink_.submitted(), 0u);
  EXPECT_TRUE(outcomes().empty());  // only webhook deliveries are outcomes
  // ... but 404s and 405s are counted (numflow_ingest_http_rejections_total).
  EXPECT_EQ(handler_->stats().not_found, 4u);
  EXPECT_EQ(handler_->stats().wrong_method, 5u);
  EXPECT_EQ(handler_->stats().webhook_requests, 0u);
}

TEST_F(IngestTest, OutcomesNameTheirRoute) {
  start();
  ASSERT_EQ(call("POST", "/webhooks/8x8", "{}")->status, 200);
  ASSERT_EQ(call("POST", "/webhooks/ringcentral", "{}")->status, 200);
  std::lock_guard lock(outcomes_m_);
  EXPECT_EQ(routes_, (std::vector<std::string>{"/webhooks/8x8", "/webhooks/ringcentral"}));
}

TEST_F(IngestTest, BodyOverTheLimitAnswers413) {
  IngestOptions o = test_options();
  o.max_body_bytes = 100;
  http::ServerOptions so;
  so.max_body_bytes = 1000;
  start(o, so);
  auto r = call("POST", "/webhooks/8x8", std::string(101, 'x'));
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(json_field(r->body, "error"), "body_too_large");
  r = call("POST", "/webhooks/8x8", std::string(2000, 'x'));  // over the server's own limit
  EXPECT_EQ(r->status, 413);
  r = call("POST", "/webhooks/8x8", std::string(100, 'x'));
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(sink_.submitted(), 1u);
  EXPECT_EQ(handler_->stats().too_large, 1u);
}

TEST_F(IngestTest, AuthenticationRefusedOrAnsweredIsNeverWrittenToKafka) {
  start();
  auto r = call("POST", "/webhooks/zoom", kZoomBody, {{"X-Test-Auth", "refuse"}});
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(json_field(r->body, "error"), "bad_signature");
  EXPECT_FALSE(r->header("X-Request-Id").empty());
  r = call("POST", "/webhooks/zoom", kZoomBody, {{"X-Test-Auth", "refuse-no-status"}});
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(json_field(r->body, "error"), "unauthorized");
  r = call("POST", "/webhooks/zoom", "", {{"X-Test-Auth", "handshake"}});
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"plainToken\":\"abc\"}");
  r = call("POST", "/webhooks/zoom", kZoomBody, {{"X-Test-Auth", "throw"}});
  EXPECT_EQ(r->status, 500);
  // Authentication comes before readiness: a handshake works while Kafka is down.
  sink_.set_ready(false);
  r = call("POST", "/webhooks/zoom", "", {{"X-Test-Auth", "handshake"}});
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(sink_.submitted(), 0u);
  const auto s = handler_->stats();
  EXPECT_EQ(s.refused, 2u);
  EXPECT_EQ(s.answered, 2u);
  EXPECT_EQ(s.errors, 1u);
}

TEST_F(IngestTest, AnswersOnlyAfterTheDelayedDeliveryReport) {
  start();
  sink_.set_mode(FakeSink::Mode::hold);
  TestClient c(server_->port());
  ASSERT_TRUE(c.send(TestClient::request("POST", "/webhooks/8x8", "{}")));
  ASSERT_TRUE(sink_.wait_held(1));
  EXPECT_FALSE(c.read_response(100ms));  // nothing before the report
  EXPECT_EQ(handler_->in_flight(), 1u);
  EXPECT_FALSE(handler_->wait_idle(10ms));
  sink_.release_all(Delivery::persisted);
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(handler_->wait_idle(1000ms));
  // The answer can reach the client a moment before the handler counts the request done.
  EXPECT_TRUE(eventually([&] { return handler_->in_flight() == 0; }));
}

TEST_F(IngestTest, DeadlineAnswers503AndTheLateReportIsIgnored) {
  IngestOptions o = test_options();
  o.response_deadline = 150ms;
  start(o);
  sink_.set_mode(FakeSink::Mode::hold);
  TestClient c(server_->port());
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send(TestClient::request("POST", "/webhooks/8x8", "{}")));
  auto r = c.read_response(3000ms);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(json_field(r->body, "error"), "kafka_timeout");
  EXPECT_EQ(r->header("Retry-After"), "5");
  EXPECT_GE(took, 140ms);
  EXPECT_LT(took, 1000ms);
  // The answer can reach the client a moment before the handler counts the request done.
  EXPECT_TRUE(eventually([&] { return handler_->in_flight() == 0; }));
  const std::string first_id = r->header("X-Request-Id");

  // The report comes late: ignored, and it must not answer the next request on the connection.
  sink_.release_all(Delivery::persisted);
  EXPECT_EQ(handler_->stats().late_reports, 1u);
  sink_.set_mode(FakeSink::Mode::persist);
  ASSERT_TRUE(c.send(TestClient::request("POST", "/webhooks/8x8", "{\"second\":1}")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->header("X-Request-Id"), first_id);
  EXPECT_EQ(json_field(r->body, "request_id"), r->header("X-Request-Id"));
  EXPECT_EQ(handler_->stats().timeouts, 1u);
  EXPECT_EQ(handler_->stats().accepted, 1u);
}

// Kafka sits on a delivery longer than shed_backlog: the webhooks that follow are answered 503
// "overloaded" at once, never submitted (the producer queue stops growing), until it catches up.
TEST_F(IngestTest, ShedsAtOnceWhileKafkaKeepsADeliveryWaitingAndRecovers) {
  IngestOptions o = test_options();
  o.shed_backlog = 200ms;
  start(o);
  sink_.set_mode(FakeSink::Mode::hold);
  TestClient waiting(server_->port());
  ASSERT_TRUE(waiting.send(TestClient::request("POST", "/webhooks/8x8", "{\"first\":1}")));
  ASSERT_TRUE(sink_.wait_held(1));

  // Younger than the threshold: still taken (held like the first).
  auto young = std::async(std::launch::async, [&] { return call("POST", "/webhooks/8x8", "{\"young\":1}"); });
  ASSERT_TRUE(sink_.wait_held(2));
  EXPECT_GE(handler_->backlog_age(), 0ms);

  std::this_thread::sleep_for(250ms);
  EXPECT_GE(handler_->backlog_age(), 200ms);
  for (int i = 0; i < 3; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = call("POST", "/webhooks/8x8", "{\"shed\":1}");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(json_field(r->body, "error"), "overloaded");
    EXPECT_EQ(r->header("Retry-After"), "5");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 150ms) << "shedding answers at once";
  }
  EXPECT_EQ(sink_.submitted(), 2u) << "a shed webhook is never handed to Kafka";
  EXPECT_EQ(handler_->stats().overloaded, 3u);
  // Handshakes and refusals do not reach Kafka, so they are answered as usual.
  auto hs = call("POST", "/webhooks/zoom", kZoomBody, {{"X-Test-Auth", "handshake"}});
  ASSERT_TRUE(hs);
  EXPECT_EQ(hs->status, 200);

  // Kafka catches up: both waiting webhooks get their 200, and new ones are taken again.
  sink_.release_all(Delivery::persisted);
  auto first = waiting.read_response();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  const auto young_answer = young.get();
  ASSERT_TRUE(young_answer);
  EXPECT_EQ(young_answer->status, 200);
  EXPECT_TRUE(eventually([&] { return handler_->backlog_age() == std::chrono::steady_clock::duration::zero(); }));
  sink_.set_mode(FakeSink::Mode::persist);
  auto again = call("POST", "/webhooks/8x8", "{\"again\":1}");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(handler_->stats().accepted, 3u);
}

// A body answered 503 kafka_timeout is still in the producer's queue, ahead of what would be
// submitted next: it keeps counting as backlog, and webhooks are shed, until Kafka reports on it.
// (Otherwise a slow broker's queue would fill with bodies already answered, each new body behind
// them timing out in turn and still written: the broker's capacity spent on answered bodies.)
TEST_F(IngestTest, ABodyAnsweredAtItsDeadlineIsBacklogUntilKafkaReports) {
  IngestOptions o = test_options();
  o.response_deadline = 150ms;
  o.shed_backlog = 300ms;
  start(o);
  sink_.set_mode(FakeSink::Mode::hold);
  auto r = call("POST", "/webhooks/8x8", "{\"slow\":1}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(json_field(r->body, "error"), "kafka_timeout");
  std::this_thread::sleep_for(200ms);  // 350 ms since submission: past the shed threshold
  EXPECT_GE(handler_->backlog_age(), 300ms);
  auto shed = call("POST", "/webhooks/8x8", "{\"next\":1}");
  ASSERT_TRUE(shed);
  EXPECT_EQ(shed->status, 503);
  EXPECT_EQ(json_field(shed->body, "error"), "overloaded");
  EXPECT_EQ(sink_.submitted(), 1u);

  sink_.release_all(Delivery::persisted);  // the late report: the backlog is gone
  EXPECT_EQ(handler_->stats().late_reports, 1u);
  EXPECT_EQ(handler_->backlog_age(), std::chrono::steady_clock::duration::zero());
  sink_.set_mode(FakeSink::Mode::persist);
  auto again = call("POST", "/webhooks/8x8", "{\"again\":1}");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST_F(IngestTest, ZeroShedBacklogDoesNotShedWithinTheDeadline) {
  IngestOptions o = test_options();
  o.shed_backlog = 0ms;
  start(o);
  sink_.set_mode(FakeSink::Mode::hold);
  TestClient waiting(server_->port());
  ASSERT_TRUE(waiting.send(TestClient::request("POST", "/webhooks/8x8", "{}")));
  ASSERT_TRUE(sink_.wait_held(1));
  std::this_thread::sleep_for(50ms);
  TestClient next(server_->port());
  ASSERT_TRUE(next.send(TestClient::request("POST", "/webhooks/8x8", "{\"next\":1}")));
  EXPECT_TRUE(sink_.wait_held(2)) << "submitted, not shed";
  sink_.release_all(Delivery::persisted);
  EXPECT_EQ(waiting.read_response()->status, 200);
  EXPECT_EQ(next.read_response()->status, 200);
  EXPECT_EQ(handler_->stats().overloaded, 0u);
}

// Without --shed-backlog-ms (0), or with one longer than the response deadline, webhooks are
// still shed behind a body Kafka has kept past that deadline: it has had its 503, and whatever
// queued behind it would too, yet be written (bench/overload.sh measured a 30 s queue of answered
// bodies taking the broker's whole capacity that way).
TEST_F(IngestTest, BehindABodyPastItsDeadlineWebhooksAreShedWhateverTheSetting) {
  for (const auto shed : {0ms, 60000ms}) {
    SCOPED_TRACE(shed.count());
    IngestOptions o = test_options();
    o.shed_backlog = shed;
    o.response_deadline = 150ms;
    start(o);
    sink_.set_mode(FakeSink::Mode::hold);
    auto late = call("POST", "/webhooks/8x8", "{\"late\":1}");
    ASSERT_TRUE(late);
    EXPECT_EQ(json_field(late->body, "error"), "kafka_timeout");
    // Its deadline counts from its first byte, its backlog age from its submission a moment
    // later (CI once asked within that moment): past the deadline by a margin.
    std::this_thread::sleep_for(30ms);
    auto behind = call("POST", "/webhooks/8x8", "{\"behind\":1}");
    ASSERT_TRUE(behind);
    EXPECT_EQ(json_field(behind->body, "error"), "overloaded");
    sink_.release_all(Delivery::persisted);
    sink_.set_mode(FakeSink::Mode::persist);
    auto again = call("POST", "/webhooks/8x8", "{\"again\":1}");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 200);
    TearDown();  // the next round starts a fresh handler
  }
}

TEST_F(IngestTest, FiveHundredConcurrentRequestsAnsweredByTheProducerThread) {
  constexpr int kClients = 500;
  http::ServerOptions so;
  so.io_threads = 2;
  start(test_options(), so);
  sink_.set_mode(FakeSink::Mode::hold);
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<TestClient>(server_->port()));
    ASSERT_TRUE(clients.back()->send(TestClient::request("POST", "/webhooks/8x8", "{\"i\":" + std::to_string(i) + "}")));
  }
  ASSERT_TRUE(sink_.wait_held(kClients, 10s));
  EXPECT_EQ(handler_->in_flight(), static_cast<std::size_t>(kClients));
  sink_.release_all(Delivery::persisted);
  std::set<std::string> ids;
  for (auto& c : clients) {
    auto r = c->read_response();
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    ids.insert(r->header("X-Request-Id"));
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kClients));
  EXPECT_TRUE(handler_->wait_idle(1000ms));
}

TEST_F(IngestTest, ClientGoneBeforeTheReportIsHarmless) {
  start();
  sink_.set_mode(FakeSink::Mode::hold);
  {
    TestClient c(server_->port());
    ASSERT_TRUE(c.send(TestClient::request("POST", "/webhooks/8x8", "{}")));
    ASSERT_TRUE(sink_.wait_held(1));
  }
  ASSERT_TRUE(eventually([&] { return server_->connections() == 0; }));
  sink_.release_all(Delivery::persisted);
  EXPECT_EQ(handler_->stats().accepted, 1u);  // it is in Kafka; only the answer had nowhere to go
  EXPECT_TRUE(eventually([&] { return server_->stats().responses_dropped == 1; }));
  // The answer can reach the client a moment before the handler counts the request done.
  EXPECT_TRUE(eventually([&] { return handler_->in_flight() == 0; }));
}

TEST_F(IngestTest, GracefulStopAnswersInFlightRequests) {
  start();
  sink_.set_mode(FakeSink::Mode::hold);
  TestClient a(server_->port()), b(server_->port());
  ASSERT_TRUE(a.send(TestClient::request("POST", "/webhooks/8x8", "{\"a\":1}")));
  ASSERT_TRUE(b.send(TestClient::request("POST", "/webhooks/zoom", kZoomBody)));
  ASSERT_TRUE(sink_.wait_held(2));

  // What main does at SIGTERM.
  handler_->set_draining(true);
  server_->stop_accepting();
  auto stopped = std::async(std::launch::async, [&] { return server_->shutdown(3s); });
  sink_.release_all(Delivery::persisted);
  EXPECT_TRUE(handler_->wait_idle(2000ms));
  for (auto* c : {&a, &b}) {
    auto r = c->read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(c->wait_closed(2000ms));  // then the server closes the connection
  }
  EXPECT_TRUE(stopped.get());
}

TEST(IngestHandlerDirect, DestroyedHandlerAnswersWaitingRequestsAndIgnoresLateReports) {
  FakeSink sink;
  sink.set_mode(FakeSink::Mode::hold);
  auto handler = std::make_unique<IngestHandler>(test_options(), sink);
  std::promise<http::Response> answered;
  http::Request req;
  req.method = "POST";
  req.target = "/webhooks/8x8";
  req.body = "{}";
  handler->handle(std::move(req), [&answered](http::Response r) { answered.set_value(std::move(r)); });
  ASSERT_TRUE(sink.wait_held(1));
  handler.reset();
  auto fut = answered.get_future();
  ASSERT_EQ(fut.wait_for(1s), std::future_status::ready);
  const auto r = fut.get();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json_field(r.body, "error"), "shutting_down");
  sink.release_all(Delivery::persisted);  // after the handler is gone: ignored safely
}

// Deadlines run from each request's first byte, so a slow body's comes before those of requests
// submitted earlier: the deadline thread, asleep until the earlier one, must wake for it.
TEST(IngestHandlerDirect, ASlowBodysEarlierDeadlineIsAnsweredFirst) {
  FakeSink sink;
  sink.set_mode(FakeSink::Mode::hold);
  IngestOptions o = test_options();
  o.response_deadline = 400ms;
  IngestHandler handler(std::move(o), sink);
  auto post = [&](std::chrono::steady_clock::time_point first_byte, std::promise<std::chrono::steady_clock::time_point>& p) {
    http::Request req;
    req.method = "POST";
    req.target = "/webhooks/8x8";
    req.body = "{}";
    req.received_at = first_byte;
    handler.handle(std::move(req), [&p](http::Response r) {
      EXPECT_EQ(r.status, 503);
      EXPECT_EQ(json_field(r.body, "error"), "kafka_timeout");
      p.set_value(std::chrono::steady_clock::now());
    });
  };
  std::promise<std::chrono::steady_clock::time_point> prompt, slow;
  const auto t0 = std::chrono::steady_clock::now();
  post(t0, prompt);
  ASSERT_TRUE(sink.wait_held(1));
  std::this_thread::sleep_for(20ms);  // the deadline thread now sleeps until t0 + 400 ms
  post(t0 - 300ms, slow);             // its body took 300 ms: due at t0 + 100 ms
  auto slow_at = slow.get_future(), prompt_at = prompt.get_future();
  ASSERT_EQ(slow_at.wait_for(2s), std::future_status::ready);
  const auto s = slow_at.get();
  EXPECT_GE(s - t0, 95ms);
  EXPECT_LT(s - t0, 300ms) << "answered at its own deadline, not the earlier request's";
  ASSERT_EQ(prompt_at.wait_for(2s), std::future_status::ready);
  EXPECT_GE(prompt_at.get() - t0, 395ms);
  EXPECT_EQ(handler.stats().timeouts, 2u);
  // The answer goes out a moment before the handler counts the request done.
  EXPECT_TRUE(eventually([&] { return handler.in_flight() == 0; }));
  // Answered, but still in Kafka's queue until reported on: still backlog (the prompt one's age,
  // from its submission a little after t0: over 300 ms, with room for a slow sanitizer build).
  EXPECT_GE(handler.backlog_age(), 300ms);
  sink.release_all(Delivery::persisted);
  EXPECT_EQ(handler.backlog_age(), std::chrono::steady_clock::duration::zero());
  EXPECT_EQ(handler.stats().late_reports, 2u);
}

// A sink that loses a delivery callback without calling it: the request is answered at once
// (503, the provider retries) rather than left to its deadline or never answered.
TEST(IngestHandlerDirect, ACallbackDroppedUncalledAnswers503) {
  FakeSink sink;
  sink.set_mode(FakeSink::Mode::hold);
  IngestHandler handler(test_options(), sink);
  std::promise<http::Response> answered;
  http::Request req;
  req.method = "POST";
  req.target = "/webhooks/8x8";
  req.body = "{}";
  handler.handle(std::move(req), [&answered](http::Response r) { answered.set_value(std::move(r)); });
  ASSERT_TRUE(sink.wait_held(1));
  sink.take_held();  // dropped
  auto fut = answered.get_future();
  ASSERT_EQ(fut.wait_for(0s), std::future_status::ready);
  EXPECT_EQ(fut.get().status, 503);
  EXPECT_EQ(handler.in_flight(), 0u);
  EXPECT_EQ(handler.backlog_age(), std::chrono::steady_clock::duration::zero());
}

TEST(IngestHandlerDirect, RejectsBadRouteTables) {
  FakeSink sink;
  IngestOptions no_auth;
  no_auth.routes.push_back({"zoom", "", nullptr, {}});
  EXPECT_THROW(IngestHandler(no_auth, sink), std::invalid_argument);
  IngestOptions dup;
  dup.routes.push_back({"zoom", "", std::make_shared<NoAuth>(), {}});
  dup.routes.push_back({"zoom2", "/webhooks/zoom", std::make_shared<NoAuth>(), {}});
  EXPECT_THROW(IngestHandler(dup, sink), std::invalid_argument);
  IngestOptions clash;
  clash.routes.push_back({"x", "/healthz", std::make_shared<NoAuth>(), {}});
  EXPECT_THROW(IngestHandler(clash, sink), std::invalid_argument);
  IngestOptions no_topic = test_options();
  no_topic.raw_topic.clear();
  EXPECT_THROW(IngestHandler(no_topic, sink), std::invalid_argument);
}

TEST(IngestJsonAccount, ExtractsFirstMatchingPointer) {
  auto f = json_account_at({"/payload/account_id", "/account"});
  EXPECT_EQ(f(R"({"payload":{"account_id":"A1"}})"), "A1");
  EXPECT_EQ(f(R"({"account":42})"), "42");
  EXPECT_EQ(f(R"({"payload":{"account_id":{"x":1}},"account":"B"})"), "B");
  EXPECT_EQ(f(R"({"other":1})"), "");
  EXPECT_EQ(f("not json"), "");
  EXPECT_EQ(f(""), "");
  EXPECT_EQ(f(std::string(100000, '[')), "");  // deep nesting: no stack overflow
  EXPECT_THROW(json_account_at({"no-leading-slash"}), std::invalid_argument);
}

}  // namespace
}  // namespace numflow::ingest
