// The 8x8 numbers API poller against a loopback fake of the 8x8 API (numflow::http::Server on
// 127.0.0.1, port 0) and a fake RawSink whose delivery reports the test controls. Intervals and
// backoffs are tens of milliseconds, jitter is 0, every wait is bounded.
#include "ingest/poller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/http_server.h"
#include "common/time.h"

namespace numflow::ingest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using publish::Delivery;
using publish::DeliveryCallback;
using publish::DeliveryResult;
using publish::Message;

constexpr char kKey[] = "k3y-secret";
constexpr char kOtherKey[] = "other-k3y";

const std::string kSnapshot =
    R"({"totalNumbers":1,"lastUpdatedAt":"2023-02-17T05:10:14.760Z","numbers":[{"msisdn":"+65123456789",)"
    R"("dateCreated":"2023-02-17T05:10:14.760Z","dateUpdated":"2023-02-17T05:10:14.760Z","countryCode":"SG",)"
    R"("operationalStatus":"Active","referenceId":"MyVirtualNumber-1","rentalPrice":5,"incomingRate":0.05,)"
    R"("billingUnit":1,"uri":"https://voice.8x8.com/api/v1/subaccounts/MySubAccount/numbers/+65123456789",)"
    R"("numberHealthCheckEnabled":true,"billingCurrency":"USD","numberType":"Local",)"
    R"("numberHealth":{"isHealthy":true,"status":"OK","lastCheckedTime":"2023-02-17T05:10:14.760Z"}}],)"
    R"("statusCode":0,"statusMessage":"OK"})";

std::int64_t ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<milliseconds>(b - a).count();
}

// --- the fake 8x8 API ---------------------------------------------------------------------------

struct Seen {
  std::string method, target, authorization, accept;
  Clock::time_point at;
};

struct Reply {
  http::Response response;
  bool hold = false;  // never answer: a slow API
};

Reply reply(int status, std::string body = "", std::string content_type = "application/json") {
  Reply r;
  r.response = http::Response::text(status, std::move(body), std::move(content_type));
  return r;
}

Reply hold() {
  Reply r;
  r.hold = true;
  return r;
}

class FakeApi {
 public:
  // n: how many requests this target got before this one (0 for the first).
  using Script = std::function<Reply(const Seen&, std::size_t n)>;

  explicit FakeApi(Script script) : script_(std::move(script)), server_(server_options(), handler()) {
    server_.start();
  }
  ~FakeApi() {
    server_.stop();
    std::lock_guard lock(mu_);
    held_.clear();
  }

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }

  std::vector<Seen> requests() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::vector<Seen> requests_for(const std::string& target) const {
    std::vector<Seen> out;
    for (const Seen& s : requests()) {
      if (s.target == target) out.push_back(s);
    }
    return out;
  }
  bool wait_requests(std::size_t n, milliseconds timeout = 3000ms) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return seen_.size() >= n; });
  }

 private:
  static http::ServerOptions server_options() {
    http::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.io_threads = 1;
    return o;
  }
  http::Handler handler() {
    return [this](http::Request&& req, http::Respond respond) {
      Seen s{req.method, req.target, std::string(req.headers.get("Authorization")),
             std::string(req.headers.get("Accept")), Clock::now()};
      std::size_t n = 0;
      {
        std::lock_guard lock(mu_);
        n = per_target_[s.target]++;
        seen_.push_back(s);
      }
      cv_.notify_all();
      Reply r = script_(s, n);
      if (r.hold) {
        std::lock_guard lock(mu_);
        held_.push_back(std::move(respond));
        return;
      }
      respond(std::move(r.response));
    };
  }

  Script script_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Seen> seen_;
  std::map<std::string, std::size_t> per_target_;
  std::vector<http::Respond> held_;
  http::Server server_;
};

// --- the fake sink --------------------------------------------------------------------------------

class FakeSink final : public publish::RawSink {
 public:
  struct Plan {
    Delivery status = Delivery::persisted;
    bool synchronous = false;  // report from submit's own stack (a refusal at once)
    std::string error = "broker said no";
  };

  ~FakeSink() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  void submit(Message msg, DeliveryCallback done) override {
    Plan plan;
    {
      std::lock_guard lock(mu_);
      messages_.push_back(std::move(msg));
      if (!plans_.empty()) {
        plan = plans_.front();
        plans_.pop_front();
      }
    }
    DeliveryResult result{plan.status, plan.status == Delivery::persisted ? "" : plan.error};
    if (plan.synchronous) {
      done(result);
      return;
    }
    std::lock_guard lock(mu_);
    threads_.emplace_back([done = std::move(done), result] {
      std::this_thread::sleep_for(2ms);  // a producer thread, a little later
      done(result);
    });
  }
  bool ready() const override { return ready_.load(); }
  std::size_t in_flight() const override { return 0; }
  bool flush(int) override { return true; }

  void plan(std::vector<Plan> plans) {
    std::lock_guard lock(mu_);
    plans_.assign(plans.begin(), plans.end());
  }
  void set_ready(bool r) { ready_.store(r); }
  std::vector<Message> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Message> messages_;
  std::deque<Plan> plans_;
  std::vector<std::thread> threads_;
  std::atomic<bool> ready_{true};
};

// --- outcomes -------------------------------------------------------------------------------------

struct Recorded {
  std::string subaccount;
  PollResult result;
  int status;
  Clock::duration latency;
  std::size_t bytes;
  milliseconds next;
  std::string error;
};

class Outcomes {
 public:
  std::function<void(const PollOutcome&)> callback() {
    return [this](const PollOutcome& o) {
      {
        std::lock_guard lock(mu_);
        items_.push_back(Recorded{std::string(o.subaccount), o.result, o.http_status, o.latency, o.body_bytes,
                                  o.next_poll_in, std::string(o.error)});
      }
      cv_.notify_all();
    };
  }
  bool wait(std::size_t n, milliseconds timeout = 3000ms) {
    return wait_until([n](const std::vector<Recorded>& v) { return v.size() >= n; }, timeout);
  }
  bool wait_until(const std::function<bool(const std::vector<Recorded>&)>& pred, milliseconds timeout = 3000ms) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(items_); });
  }
  std::vector<Recorded> all() const {
    std::lock_guard lock(mu_);
    return items_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Recorded> items_;
};

std::size_t count_for(const std::vector<Recorded>& v, const std::string& subaccount) {
  std::size_t n = 0;
  for (const auto& r : v) n += r.subaccount == subaccount ? 1 : 0;
  return n;
}

std::string header(const Message& m, const std::string& name) {
  for (const auto& [k, v] : m.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

// --- fixture --------------------------------------------------------------------------------------

class PollerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Loopback requests must not go through a proxy from the environment.
    for (const char* v : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
      ::unsetenv(v);
    }
    ::testing::internal::CaptureStderr();
  }
  void TearDown() override {
    const std::string logs = ::testing::internal::GetCapturedStderr();
    // Nothing the poller logs may contain an API key or the Authorization header.
    EXPECT_EQ(logs.find(kKey), std::string::npos) << logs;
    EXPECT_EQ(logs.find(kOtherKey), std::string::npos) << logs;
    EXPECT_EQ(logs.find("Bearer"), std::string::npos) << logs;
    if (HasFailure()) std::cerr << "--- poller logs ---\n" << logs;
  }

  PollerOptions options(const FakeApi& api) {
    PollerOptions o;
    o.base_url = api.base_url();
    o.subaccounts = {{"MySubAccount", kKey}};
    o.interval = 60s;  // long unless a test needs the second poll
    o.jitter = 0;
    o.connect_timeout = 1000ms;
    o.request_timeout = 2000ms;
    o.backoff_min = 50ms;
    o.backoff_max = 400ms;
    o.raw_topic = "test.raw";
    o.on_outcome = outcomes_.callback();
    return o;
  }

  static constexpr char kPath[] = "/api/v1/subaccounts/MySubAccount/numbers";
  FakeSink sink_;
  Outcomes outcomes_;
};

// --- pure helpers ---------------------------------------------------------------------------------

TEST(PollerHelpers, ParseRetryAfter) {
  const auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("120", now), 120000ms);
  EXPECT_EQ(parse_retry_after(" 2 ", now), 2000ms);
  EXPECT_EQ(parse_retry_after("0", now), 0ms);
  EXPECT_EQ(parse_retry_after("99999999999999999999", now), milliseconds(10LL * 365 * 24 * 3600 * 1000));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), 10000ms);   // IMF-fixdate
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now), 60000ms);  // RFC 850
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:39 1994", now), 2000ms);         // asctime
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), 0ms);      // in the past
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("-1", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("1.5", now), std::nullopt);
}

TEST(PollerHelpers, NumbersUrlEncodesTheId) {
  EXPECT_EQ(numbers_url("https://voice.8x8.com", "MySubAccount"),
            "https://voice.8x8.com/api/v1/subaccounts/MySubAccount/numbers");
  EXPECT_EQ(numbers_url("http://127.0.0.1:1/prefix//", "A-b.c_d&e"),
            "http://127.0.0.1:1/prefix/api/v1/subaccounts/A-b.c_d%26e/numbers");
}

TEST_F(PollerTest, InvalidOptionsAreRejectedClearly) {
  FakeApi api([](const Seen&, std::size_t) { return reply(200, kSnapshot); });
  auto message_of = [&](PollerOptions o) -> std::string {
    try {
      EightByEightPoller p(std::move(o), sink_);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "<accepted>";
  };
  for (const std::string& bad : std::vector<std::string>{"", "ab", "has space", "a/b", "semi;colon",
                                                        "\xc3\xbcmlaut", "a%26b", std::string(51, 'a')}) {
    PollerOptions o = options(api);
    o.subaccounts = {{bad, kKey}};
    EXPECT_THAT(message_of(o), ::testing::HasSubstr("^[A-Za-z0-9\\-._&]{3,50}$")) << bad;
  }
  for (const std::string& good : std::vector<std::string>{"abc", "A-b.c_d&e", std::string(50, 'a')}) {
    PollerOptions o = options(api);
    o.subaccounts = {{good, kKey}};
    EXPECT_EQ(message_of(o), "<accepted>") << good;
  }

  PollerOptions o = options(api);
  o.subaccounts = {{"MySubAccount", ""}};
  EXPECT_THAT(message_of(o), ::testing::HasSubstr("API key is empty"));
  o.subaccounts = {{"MySubAccount", std::string(kKey) + "\r\nX-Evil: 1"}};
  EXPECT_THAT(message_of(o), ::testing::AllOf(::testing::HasSubstr("control characters"),
                                              ::testing::Not(::testing::HasSubstr(kKey))));
  o.subaccounts = {{"MySubAccount", kKey}, {"MySubAccount", kOtherKey}};
  EXPECT_THAT(message_of(o), ::testing::HasSubstr("listed twice"));
  o.subaccounts = {};
  EXPECT_THAT(message_of(o), ::testing::HasSubstr("at least one subaccount"));

  for (const char* url : {"", "ftp://voice.8x8.com", "voice.8x8.com", "https://", "https:///path", "http://a b",
                          "https://user:pw@voice.8x8.com", "https://voice.8x8.com/?x=1", "https://voice.8x8.com#f"}) {
    o = options(api);
    o.base_url = url;
    EXPECT_THAT(message_of(o), ::testing::HasSubstr("base URL")) << url;
  }
  // Plain http would carry the API key unencrypted: only to this machine.
  for (const char* url : {"http://voice.8x8.com", "HTTP://10.0.0.1:8080", "http://127.0.0.1.evil.example"}) {
    o = options(api);
    o.base_url = url;
    EXPECT_THAT(message_of(o), ::testing::HasSubstr("unencrypted")) << url;
  }
  for (const char* url : {"https://voice.8x8.com", "https://voice.8x8.com/", "http://127.0.0.1:8080/prefix/",
                          "http://localhost:1", "http://[::1]:8080"}) {
    o = options(api);
    o.base_url = url;
    EXPECT_EQ(message_of(o), "<accepted>") << url;
  }
  o = options(api);
  o.jitter = 1.0;
  EXPECT_THAT(message_of(o), ::testing::HasSubstr("jitter"));
  o = options(api);
  o.backoff_max = 10ms;
  EXPECT_THAT(message_of(o), ::testing::HasSubstr("backoff"));
  o = options(api);
  o.interval = 0ms;
  EXPECT_THAT(message_of(o), ::testing::HasSubstr("interval"));
  EXPECT_TRUE(api.requests().empty());
}

// --- against the loopback API ---------------------------------------------------------------------

TEST_F(PollerTest, SuccessPublishesTheExactBodyWithHeaders) {
  FakeApi api([](const Seen&, std::size_t) { return reply(200, kSnapshot, "application/json; charset=utf-8"); });
  PollerOptions o = options(api);
  o.interval = 300ms;
  EightByEightPoller poller(o, sink_);
  poller.start();
  EXPECT_TRUE(poller.running());
  ASSERT_TRUE(outcomes_.wait(2));
  poller.stop();
  EXPECT_FALSE(poller.running());

  const auto seen = api.requests();
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, kPath);
  EXPECT_EQ(seen[0].authorization, std::string("Bearer ") + kKey);
  EXPECT_EQ(seen[0].accept, "application/json");
  EXPECT_GE(ms_between(seen[0].at, seen[1].at), 300) << "the next poll comes one interval later";

  const auto out = outcomes_.all();
  EXPECT_EQ(out[0].subaccount, "MySubAccount");
  EXPECT_EQ(out[0].result, PollResult::success);
  EXPECT_EQ(out[0].status, 200);
  EXPECT_EQ(out[0].bytes, kSnapshot.size());
  EXPECT_EQ(out[0].next, 300ms);
  EXPECT_EQ(out[0].error, "");

  const auto msgs = sink_.messages();
  ASSERT_GE(msgs.size(), 2u);
  const Message& m = msgs[0];
  EXPECT_EQ(m.topic, "test.raw");
  EXPECT_EQ(m.key, "8x8:MySubAccount");
  EXPECT_EQ(m.value, kSnapshot);
  EXPECT_FALSE(m.tombstone);
  std::vector<std::string> names;
  for (const auto& h : m.headers) names.push_back(h.first);
  EXPECT_THAT(names, ::testing::ElementsAre("numflow-provider", "numflow-received-at", "numflow-request-id",
                                            "content-type", "numflow-auth", "numflow-source",
                                            "numflow-poll-subaccount"));
  EXPECT_EQ(header(m, "numflow-provider"), "8x8");
  EXPECT_EQ(header(m, "content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(header(m, "numflow-auth"), "poll");
  EXPECT_EQ(header(m, "numflow-source"), "poll");
  EXPECT_EQ(header(m, "numflow-poll-subaccount"), "MySubAccount");
  const std::string at = header(m, "numflow-received-at");
  // RFC 3339 UTC with milliseconds. (No std::regex: GCC 12 warns inside it in the sanitizer build.)
  EXPECT_THAT(at, ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"));
  const auto at_ms = parse_rfc3339_ms(at);
  ASSERT_TRUE(at_ms.has_value());
  EXPECT_LT(std::llabs(*at_ms - now_unix_ms()), 10000);
  EXPECT_THAT(header(m, "numflow-request-id"), ::testing::MatchesRegex("[0-9a-f]{32}"));
  EXPECT_NE(header(m, "numflow-request-id"), header(msgs[1], "numflow-request-id"));

  const PollerStats s = poller.stats();
  EXPECT_GE(s.runs, 2u);
  EXPECT_EQ(s.successes, s.runs);
  EXPECT_EQ(s.failures, 0u);
  EXPECT_EQ(s.body_bytes, s.successes * kSnapshot.size());
}

TEST_F(PollerTest, UnauthorizedIsCountedNotSubmittedAndBackedOffToTheInterval) {
  FakeApi api([](const Seen&, std::size_t n) {
    return n == 0 ? reply(401, R"({"statusMessage":"Unauthorized"})") : reply(403, "{}");
  });
  PollerOptions o = options(api);
  o.interval = 400ms;  // an auth failure waits at least the interval (backoff_min is 50 ms)
  EightByEightPoller poller(o, sink_);
  poller.start();
  ASSERT_TRUE(outcomes_.wait(2));
  poller.stop();

  const auto out = outcomes_.all();
  EXPECT_EQ(out[0].result, PollResult::auth);
  EXPECT_EQ(out[0].status, 401);
  EXPECT_EQ(out[0].next, 400ms);
  EXPECT_EQ(out[0].error, "HTTP 401");
  EXPECT_EQ(out[1].result, PollResult::auth);
  EXPECT_EQ(out[1].status, 403);
  const auto seen = api.requests();
  ASSERT_GE(seen.size(), 2u);
  EXPECT_GE(ms_between(seen[0].at, seen[1].at), 400);
  EXPECT_TRUE(sink_.messages().empty());
  const PollerStats s = poller.stats();
  EXPECT_EQ(s.auth, 2u);
  EXPECT_EQ(s.failures, 2u);
  EXPECT_EQ(s.runs, 2u);
  EXPECT_EQ(s.successes, 0u);
}

TEST_F(PollerTest, OtherClientErrorsAndRedirectsAreFailuresAndNotFollowed) {
  FakeApi api([](const Seen& s, std::size_t n) {
    if (s.target != kPath) return reply(200, kSnapshot);
    if (n == 0) return reply(404, "{}");
    Reply r = reply(302, "");
    r.response.headers.add("Location", "/elsewhere");
    return r;
  });
  EightByEightPoller poller(options(api), sink_);
  poller.start();
  ASSERT_TRUE(outcomes_.wait(2));
  poller.stop();
  const auto out = outcomes_.all();
  EXPECT_EQ(out[0].result, PollResult::http_4xx);
  EXPECT_EQ(out[0].status, 404);
  EXPECT_EQ(out[0].next, 50ms);
  EXPECT_EQ(out[1].result, PollResult::unexpected_status);
  EXPECT_EQ(out[1].status, 302);
  EXPECT_EQ(out[1].next, 100ms);
  EXPECT_TRUE(api.requests_for("/elsewhere").empty());
  EXPECT_TRUE(sink_.messages().empty());
  EXPECT_EQ(poller.stats().http_4xx, 1u);
  EXPECT_EQ(poller.stats().unexpected_status, 1u);
}

TEST_F(PollerTest, RateLimitedWaitsRetryAfterSeconds) {
  FakeApi api([](const Seen&, std::size_t n) {
    if (n > 0) return reply(200, kSnapshot);
    Reply r = reply(429, R"({"statusMessage":"Too Many Requests"})");
    r.response.headers.add("Retry-After", "2");
    return r;
  });
  PollerOptions o = options(api);
  o.backoff_max = 5s;
  EightByEightPoller poller(o, sink_);
  poller.start();
  ASSERT_TRUE(outcomes_.wait(2, 6000ms));
  poller.stop();
  const auto out = outcomes_.all();
  EXPECT_EQ(out[0].result, PollResult::rate_limited);
  EXPECT_EQ(out[0].status, 429);
  EXPECT_EQ(out[0].next, 2000ms);
  EXPECT_EQ(out[1].result, PollResult::success);
  const auto seen = api.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_GE(ms_between(seen[0].at, seen[1].at), 2000);
  EXPECT_EQ(sink_.messages().size(), 1u);
  EXPECT_EQ(poller.stats().rate_limited, 1u);
}

TEST_F(PollerTest, RateLimitedWaitsUntilAnHttpDate) {
  FakeApi api([](const Seen&, std::size_t n) {
    if (n > 0) return reply(200, kSnapshot);
    const std::time_t when = std::time(nullptr) + 3;  // 2 to 3 seconds from now
    std::tm tm{};
    gmtime_r(&when, &tm);
    char date[64];
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    Reply r = reply(429, "{}");
    r.response.headers.add("Retry-After", date);
    return r;
  });
  PollerOptions o = options(api);
  o.backoff_max = 5s;
  EightByEightPoller poller(o, sink_);
  poller.start();
  ASSERT_TRUE(outcomes_.wait(2, 6000ms));
  poller.stop();
  const auto out = outcomes_.all();
  EXPECT_EQ(out[0].result, PollResult::rate_limited);
  EXPECT_GE(out[0].next, 1500ms);
  EXPECT_LE(out[0].next, 3000ms);
  EXPECT_EQ(out[1].result, PollResult::success);
  const auto seen = api.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_GE(ms_between(seen[0].at, seen[1].at), 1500);
}

TEST_F(PollerTest, RateLimitedWithoutRetryAfterBacksOffAndAHugeOneIsCapped) {
  FakeApi api([](const Seen&, std::size_t n) {
    if (n == 0) return reply(429, "{}");
    if (n == 1) {
      Reply r = reply(429, "{}");
      r.response.headers.add("Retry-After", "3600");
      return r;
    }
    return reply(200, kSnapshot);
  });
  PollerOptions o = options(api);
  o.backoff_max = 200ms;
  EightByEightPoller poller(o, sink_);
  poller.start();
  ASSERT_TRUE(outcomes_.wait(3));
  poller.stop();
  const auto out = outcomes_.all();
  EXPECT_EQ(out[0].result, PollResult::rate_limited);
  EXPECT_EQ(out[0].next, 50ms);  // no Retry-After: the backoff
  EXPECT_EQ(out[1].result, PollResult::rate_limited);
  EXPECT_EQ(out[1].next, 200ms);  // capped at backoff_max
  EXPECT_EQ(out[2].result, PollResult::success);
}

TEST_F(PollerTest, SlowAnswerTimesOutAndStopInterruptsARequest) {
  FakeApi api([](const Seen&, std::size_t) { return hold(); });
  PollerOptions o = options(api);
  o.request_timeout = 300ms;
  EightByEightPoller poller(o, sink_);
  poller.start();
  ASSERT_TRUE(outcomes_.wait(1));
  const auto out = outcomes_.all();
  EXPECT_EQ(out[0].result, PollResult::timeout);
  EXPECT_EQ(out[0].status, 0);
  EXPECT_GE(out[0].latency, 250ms);
  EXPECT_LT(out[0].latency, 2000ms);
  EXPECT_EQ(out[0].next, 50ms);

  // The retry is in flight (the API holds it): stop() must not wait for its timeout.
  ASSERT_TRUE(api.wait_requests(2));
  std::this_thread::sleep_for(50ms);
  const auto t0 = Clock::now();
  poller.stop();
  EXPECT_LT(ms_between(t0, Clock::now()), 150);
  const PollerStats s = poller.stats();
  EXPECT_EQ(s.timeout, 1u);  // the interrupted attempt is not counted
  EXPECT_EQ(s.runs, 1u);
  EXPECT_TRUE(sink_.messages().empty());
}

TEST_F(PollerTest, MalformedBodyIsCapturedAsIs) {
  static constexpr char kWeird[] = "<html>not json {\"x\":\0\xff\xfe</html>";  // a NUL, invalid UTF-8
  const std::string body(kWeird, sizeof kWeird - 1);
  FakeApi api([&](const Seen&, std::size_t) { return reply(200, body, "text/html"); });
  EightByEightPoller poller(options(api), sink_);
  poller.start();
  ASSERT_TRUE(outcomes_.wait(1));
  poller.stop();
  EXPECT_EQ(outcomes_.all()[0].result, PollResult::success);
  const auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].value, body);
  EXPECT_EQ(msgs[0].value.size(), sizeof kWeird - 1);
  EXPECT_EQ(header(msgs[0], "content-type"), "text/html");
  EXPECT_EQ(msgs[0].key, "8x8:MySubAccount");
}

TEST_F(PollerTest, ServerErrorsBackOffExponentiallyAndSuccessResetsTheBackoff) {
  FakeApi api([](const Seen&, std::size_t n) {
    switch (n) {
      case 0: return reply(500, "{}");
      case 1: return reply(503, "{}");
      case 2: return reply(200, kSnapshot);
      default: return reply(502, "{}");
    }
  });
  PollerOptions o = options(api);
  o.interval = 100ms;
  o.backoff_min = 60ms;
  o.backoff_max = 1000ms;
  EightByEightPoller poller(o, sink_);
  poller.start();
  ASSERT_TRUE(outcomes_.wait(4));
  poller.stop();
  const auto out = outcomes_.all();
  EXPECT_EQ(out[0].result, PollResult::server_error);
  EXPECT_EQ(out[0].status, 500);
  EXPECT_EQ(out[0].next, 60ms);
  EXPECT_EQ(out[1].result, PollResult::server_error);
  EXPECT_EQ(out[1].next, 120ms);
  EXPECT_EQ(out[2].result, PollResult::success);
  EXPECT_EQ(out[2].next, 100ms);
  EXPECT_EQ(out[3].result, PollResult::server_error);
  EXPECT_EQ(out[3].next, 60ms) << "a success resets the backoff";
  const auto seen = api.requests();
  ASSERT_GE(seen.size(), 4u);
  EXPECT_GE(ms_between(seen[0].at, seen[1].at), 60);
  EXPECT_GE(ms_between(seen[1].at, seen[2].at), 120);
  EXPECT_GE(ms_between(seen[2].at, seen[3].at), 100);
  EXPECT_EQ(sink_.messages().size(), 1u);
  EXPECT_GE(poller.stats().server_error, 3u);
  EXPECT_EQ(poller.stats().successes, 1u);
}

TEST_F(PollerTest, BackoffWithJitterStaysWithinBounds) {
  FakeApi api([](const Seen&, std::size_t) { return reply(500, "{}"); });
  PollerOptions o = options(api);
  o.jitter = 0.5;
  o.backoff_min = 20ms;
  o.backoff_max = 80ms;
  EightByEightPoller poller(o, sink_);
  poller.start();
  ASSERT_TRUE(outcomes_.wait(6));
  poller.stop();
  for (const auto& r : outcomes_.all()) {
    EXPECT_GE(r.next, 20ms);
    EXPECT_LE(r.next, 80ms);
  }
}

TEST_F(PollerTest, KafkaDeliveryFailureIsRetried) {
  FakeApi api([](const Seen&, std::size_t) { return reply(200, kSnapshot); });
  sink_.plan({{Delivery::queue_full, true}, {Delivery::failed, false}, {Delivery::persisted, false}});
  EightByEightPoller poller(options(api), sink_);
  poller.start();
  ASSERT_TRUE(outcomes_.wait(3));
  poller.stop();
  const auto out = outcomes_.all();
  EXPECT_EQ(out[0].result, PollResult::kafka);  // refused synchronously, from submit's stack
  EXPECT_EQ(out[0].status, 200);
  EXPECT_THAT(out[0].error, ::testing::HasSubstr("broker said no"));
  EXPECT_EQ(out[0].next, 50ms);
  EXPECT_EQ(out[1].result, PollResult::kafka);  // failed in a later delivery report
  EXPECT_EQ(out[1].next, 100ms);
  EXPECT_EQ(out[2].result, PollResult::success);
  EXPECT_EQ(api.requests().size(), 3u);
  const auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 3u);
  for (const auto& m : msgs) EXPECT_EQ(m.value, kSnapshot);
  const PollerStats s = poller.stats();
  EXPECT_EQ(s.kafka, 2u);
  EXPECT_EQ(s.successes, 1u);
  EXPECT_EQ(s.body_bytes, kSnapshot.size());
}

TEST_F(PollerTest, SinkNotReadyMeansNoFetch) {
  FakeApi api([](const Seen&, std::size_t) { return reply(200, kSnapshot); });
  sink_.set_ready(false);
  PollerOptions o = options(api);
  o.backoff_max = 100ms;
  EightByEightPoller poller(o, sink_);
  poller.start();
  ASSERT_TRUE(outcomes_.wait(2));
  EXPECT_TRUE(api.requests().empty());
  for (const auto& r : outcomes_.all()) {
    EXPECT_EQ(r.result, PollResult::kafka);
    EXPECT_EQ(r.status, 0);
  }
  sink_.set_ready(true);
  ASSERT_TRUE(outcomes_.wait_until([](const auto& v) { return v.back().result == PollResult::success; }));
  poller.stop();
  EXPECT_EQ(api.requests().size(), 1u);
  EXPECT_EQ(sink_.messages().size(), 1u);
}

TEST_F(PollerTest, BodyOverTheLimitIsAFailure) {
  FakeApi api([](const Seen&, std::size_t) { return reply(200, std::string(5000, 'x')); });
  PollerOptions o = options(api);
  o.max_body_bytes = 1000;
  EightByEightPoller poller(o, sink_);
  poller.start();
  ASSERT_TRUE(outcomes_.wait(1));
  poller.stop();
  const auto out = outcomes_.all();
  EXPECT_EQ(out[0].result, PollResult::too_large);
  EXPECT_LE(out[0].bytes, 1000u);
  EXPECT_EQ(out[0].error, "response body over 1000 bytes (the poller's limit, numflow-ingest --8x8-poll-max-body-bytes)");
  // Not retried in a tight loop: an inventory does not shrink by being fetched again.
  EXPECT_GE(out[0].next, o.interval);
  EXPECT_TRUE(sink_.messages().empty());
  EXPECT_EQ(poller.stats().too_large, 1u);
  EXPECT_EQ(api.requests().size(), 1u);
}

TEST_F(PollerTest, DecodedBodyOverTheLimitIsCutOffAtTheLimit) {
  // A gzip body of 325 bytes (its Content-Length) that decodes to 300,000 bytes: the limit is on
  // the decoded body, which is what would be stored, and the transfer stops once it is passed.
  const std::string gzip = std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xed\xc1\x01\x0d\x00\x00\x00\xc2\xa0"
                                       "\xda\x8f\x6f\x0f\x07\x14", 25) +
                           std::string(290, '\0') + std::string("\xfc\x18\xcd\x2a\xc8\xb3\xe0\x93\x04\x00", 10);
  FakeApi api([&gzip](const Seen&, std::size_t) {
    Reply r = reply(200, gzip);
    r.response.headers.set("Content-Encoding", "gzip");
    return r;
  });
  PollerOptions o = options(api);
  o.max_body_bytes = 4096;
  EightByEightPoller poller(o, sink_);
  poller.start();
  ASSERT_TRUE(outcomes_.wait(1));
  poller.stop();
  const auto out = outcomes_.all();
  EXPECT_EQ(out[0].result, PollResult::too_large);
  EXPECT_LE(out[0].bytes, 4096u);
  EXPECT_GE(out[0].next, o.interval);
  EXPECT_TRUE(sink_.messages().empty());
}

TEST_F(PollerTest, BodyKafkaRefusesAsTooLargeIsTooLargeAndNotRetriedSoon) {
  // The producer's message.max.bytes or the raw topic's max.message.bytes is below the body:
  // librdkafka reports RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.
  FakeApi api([](const Seen&, std::size_t) { return reply(200, kSnapshot); });
  sink_.plan({{Delivery::failed, false, "Broker: Message size too large"}});
  PollerOptions o = options(api);
  EightByEightPoller poller(o, sink_);
  poller.start();
  ASSERT_TRUE(outcomes_.wait(1));
  poller.stop();
  const auto out = outcomes_.all();
  EXPECT_EQ(out[0].result, PollResult::too_large);
  EXPECT_EQ(out[0].status, 200);
  EXPECT_NE(out[0].error.find("max.message.bytes"), std::string::npos) << out[0].error;
  EXPECT_GE(out[0].next, o.interval);
  EXPECT_EQ(poller.stats().too_large, 1u);
  EXPECT_EQ(poller.stats().kafka, 0u);
}

TEST_F(PollerTest, ConnectionRefusedIsANetworkFailure) {
  std::string base;
  {
    FakeApi gone([](const Seen&, std::size_t) { return reply(200, kSnapshot); });
    base = gone.base_url();
  }
  FakeApi api([](const Seen&, std::size_t) { return reply(200, kSnapshot); });
  PollerOptions o = options(api);
  o.base_url = base;  // nothing listens there any more
  EightByEightPoller poller(o, sink_);
  poller.start();
  ASSERT_TRUE(outcomes_.wait(1));
  poller.stop();
  const auto out = outcomes_.all();
  EXPECT_EQ(out[0].result, PollResult::network);
  EXPECT_EQ(out[0].status, 0);
  EXPECT_FALSE(out[0].error.empty());
  EXPECT_EQ(poller.stats().network, 1u);
}

TEST_F(PollerTest, TwoSubaccountsHaveTheirOwnKeysAndSchedules) {
  const std::string other_path = "/api/v1/subaccounts/Other.Sub%261/numbers";
  FakeApi api([&](const Seen& s, std::size_t n) {
    if (s.target == other_path && n == 0) return reply(500, "{}");
    return reply(200, R"({"totalNumbers":0,"numbers":[],"for":")" + s.target + "\"}");
  });
  PollerOptions o = options(api);
  o.subaccounts = {{"MySubAccount", kKey}, {"Other.Sub&1", kOtherKey}};
  EightByEightPoller poller(o, sink_);
  poller.start();
  ASSERT_TRUE(outcomes_.wait_until([](const auto& v) { return count_for(v, "Other.Sub&1") >= 2; }));
  poller.stop();

  const auto mine = api.requests_for(kPath);
  const auto other = api.requests_for(other_path);
  ASSERT_EQ(mine.size(), 1u) << "a 60 s interval: polled once, whatever the other subaccount does";
  ASSERT_EQ(other.size(), 2u) << "failed once, retried after its own backoff";
  EXPECT_EQ(mine[0].authorization, std::string("Bearer ") + kKey);
  EXPECT_EQ(other[0].authorization, std::string("Bearer ") + kOtherKey);
  EXPECT_EQ(other[1].authorization, std::string("Bearer ") + kOtherKey);

  const auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 2u);
  std::map<std::string, const Message*> by_key;
  for (const auto& m : msgs) by_key[m.key] = &m;
  ASSERT_TRUE(by_key.count("8x8:MySubAccount"));
  ASSERT_TRUE(by_key.count("8x8:Other.Sub&1"));
  EXPECT_EQ(header(*by_key["8x8:Other.Sub&1"], "numflow-poll-subaccount"), "Other.Sub&1");
  EXPECT_THAT(by_key["8x8:Other.Sub&1"]->value, ::testing::HasSubstr(other_path));
  EXPECT_THAT(by_key["8x8:MySubAccount"]->value, ::testing::HasSubstr(kPath));
  const PollerStats s = poller.stats();
  EXPECT_EQ(s.successes, 2u);
  EXPECT_EQ(s.server_error, 1u);
}

TEST_F(PollerTest, StopDuringALongIntervalIsPrompt) {
  FakeApi api([](const Seen&, std::size_t) { return reply(200, kSnapshot); });
  EightByEightPoller poller(options(api), sink_);  // interval 60 s
  poller.start();
  ASSERT_TRUE(outcomes_.wait(1));
  std::this_thread::sleep_for(20ms);
  const auto t0 = Clock::now();
  poller.stop();
  EXPECT_LT(ms_between(t0, Clock::now()), 100);
  EXPECT_FALSE(poller.running());
  poller.stop();  // idempotent
  EXPECT_EQ(api.requests().size(), 1u);
}

TEST_F(PollerTest, DestroyingARunningPollerStopsIt) {
  FakeApi api([](const Seen&, std::size_t) { return hold(); });
  const auto t0 = Clock::now();
  {
    EightByEightPoller poller(options(api), sink_);
    poller.start();
    ASSERT_TRUE(api.wait_requests(1));
  }
  EXPECT_LT(ms_between(t0, Clock::now()), 1000);
  EXPECT_TRUE(outcomes_.all().empty());
}

}  // namespace
}  // namespace numflow::ingest
