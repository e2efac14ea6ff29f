#include "common/http_server.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "common/http_test_client.h"

namespace numflow::http {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using numflow::http_test::TestClient;

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

ServerOptions local(ServerOptions o = {}) {
  o.listen = "127.0.0.1:0";
  return o;
}

// Answers at once with a summary of what it got.
Response echo(const Request& r) {
  Response res = Response::text(200, r.body);
  res.headers.add("X-Method", r.method);
  res.headers.add("X-Target", r.target);
  res.headers.add("X-Path", std::string(r.path()));
  res.headers.add("X-Query", std::string(r.query()));
  res.headers.add("X-Remote", r.remote_ip);
  res.headers.add("X-Test", std::string(r.headers.get("x-TEST", "missing")));
  return res;
}

// Keeps requests (and their Respond) for the test to answer later, from any thread.
class Holder {
 public:
  Handler handler() {
    return [this](Request&& r, Respond respond) {
      std::lock_guard lock(m_);
      held_.emplace_back(std::move(r), std::move(respond));
      ++total_;
      cv_.notify_all();
    };
  }
  bool wait_total(std::size_t n, std::chrono::milliseconds timeout = 5000ms) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, timeout, [&] { return total_ >= n; });
  }
  std::size_t total() {
    std::lock_guard lock(m_);
    return total_;
  }
  std::deque<std::pair<Request, Respond>> take_all() {
    std::lock_guard lock(m_);
    return std::exchange(held_, {});
  }
  std::pair<Request, Respond> take_one() {
    std::lock_guard lock(m_);
    auto p = std::move(held_.front());
    held_.pop_front();
    return p;
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::pair<Request, Respond>> held_;
  std::size_t total_ = 0;
};

// ------------------------------------------------------------------------------------------

TEST(HttpHostPort, Parses) {
  auto a = parse_host_port("127.0.0.1:8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  auto b = parse_host_port("[::1]:0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
  auto c = parse_host_port(":9090");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "0.0.0.0");
  auto d = parse_host_port("localhost:80");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->host, "localhost");
  EXPECT_FALSE(parse_host_port("::1:80"));
  EXPECT_FALSE(parse_host_port("host"));
  EXPECT_FALSE(parse_host_port("host:"));
  EXPECT_FALSE(parse_host_port("host:65536"));
  EXPECT_FALSE(parse_host_port("host:8o"));
  EXPECT_FALSE(parse_host_port("[::1]80"));
  EXPECT_FALSE(parse_host_port(""));
}

TEST(HttpHeaders, CaseInsensitive) {
  Headers h{{"Content-Type", "a"}};
  h.add("X-A", "1");
  h.add("x-a", "2");
  EXPECT_EQ(h.get("content-type"), "a");
  EXPECT_EQ(h.get("X-A"), "1");
  EXPECT_EQ(h.get("nope", "dflt"), "dflt");
  EXPECT_TRUE(h.contains("CONTENT-TYPE"));
  h.set("X-a", "3");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.get("x-A"), "3");
  EXPECT_EQ(h.erase("x-a"), 1u);
  EXPECT_FALSE(h.contains("x-a"));
}

TEST(HttpServer, BadListenAddressThrows) {
  ServerOptions o;
  o.listen = "nonsense";
  Server s(o, [](Request&&, Respond r) { r(Response{}); });
  EXPECT_THROW(s.start(), std::runtime_error);
}

TEST(HttpServer, EchoesRequestParts) {
  Server server(local(), [](Request&& r, Respond respond) {
    EXPECT_NE(r.received_at, std::chrono::steady_clock::time_point{});
    EXPECT_NE(r.received_wall, std::chrono::system_clock::time_point{});
    EXPECT_NE(r.remote_port, 0);
    respond(echo(r));
  });
  server.start();
  ASSERT_NE(server.port(), 0);
  TestClient c(server.port());
  ASSERT_TRUE(c.send(TestClient::request("POST", "/a/b?x=1&y=2", std::string("bin\0ary", 7), {{"X-Test", "yes"}})));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, std::string("bin\0ary", 7));
  EXPECT_EQ(r->header("X-Method"), "POST");
  EXPECT_EQ(r->header("X-Target"), "/a/b?x=1&y=2");
  EXPECT_EQ(r->header("X-Path"), "/a/b");
  EXPECT_EQ(r->header("X-Query"), "x=1&y=2");
  EXPECT_EQ(r->header("X-Remote"), "127.0.0.1");
  EXPECT_EQ(r->header("X-Test"), "yes");
  EXPECT_EQ(r->header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r->header("Content-Length"), "7");
  EXPECT_THAT(r->header("Date"), HasSubstr("GMT"));
  EXPECT_TRUE(server.shutdown(2s));
  EXPECT_FALSE(server.running());
}

// A watched fd's callback runs on the io thread, once per readiness (it drains the fd), and the
// server still stops cleanly with the watch armed; the caller's fd stays open.
TEST(HttpServer, WatchRunsTheCallbackOnTheIoThreadWhenTheFdIsReadable) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK), 0);
  std::atomic<int> calls{0};
  std::thread::id io_thread, ran_on;
  std::mutex m;
  Server server(local(), [&](Request&&, Respond respond) {
    {
      std::lock_guard lock(m);
      io_thread = std::this_thread::get_id();
    }
    respond(Response::text(200, "ok"));
  });
  server.start();
  server.watch(fds[0], [&] {
    char buf[16];
    while (::read(fds[0], buf, sizeof buf) > 0) {
    }
    {
      std::lock_guard lock(m);
      ran_on = std::this_thread::get_id();
    }
    calls.fetch_add(1);
  });
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  ASSERT_TRUE(eventually([&] { return calls.load() == 1; }));
  ASSERT_EQ(::write(fds[1], "yz", 2), 2);
  ASSERT_TRUE(eventually([&] { return calls.load() == 2; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(calls.load(), 2) << "a drained fd must not call again";

  TestClient c(server.port());
  ASSERT_TRUE(c.send(TestClient::request("GET", "/", "")));
  ASSERT_TRUE(c.read_response());
  {
    std::lock_guard lock(m);
    EXPECT_EQ(ran_on, io_thread) << "one io thread: the callback runs where the handler does";
  }
  EXPECT_TRUE(server.shutdown(2s));
  EXPECT_EQ(::write(fds[1], "x", 1), 1) << "the caller's fd is still open";
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(HttpServer, KeepAliveManySequentialRequests) {
  Server server(local(), [](Request&& r, Respond respond) { respond(Response::text(200, r.target)); });
  server.start();
  TestClient c(server.port());
  for (int i = 0; i < 1000; ++i) {
    const std::string target = "/n/" + std::to_string(i);
    ASSERT_TRUE(c.send(TestClient::request("GET", target)));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->body, target);
    ASSERT_NE(r->header("Connection"), "close");
  }
  EXPECT_EQ(server.stats().connections_accepted, 1u);
  EXPECT_EQ(server.stats().requests, 1000u);
}

TEST(HttpServer, FiveHundredConcurrentRequestsAnsweredFromAnotherThread) {
  constexpr int kClients = 500;
  Holder holder;
  ServerOptions o = local();
  o.io_threads = 2;
  Server server(o, holder.handler());
  server.start();
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<TestClient>(server.port()));
    ASSERT_TRUE(clients.back()->send(TestClient::request("POST", "/c/" + std::to_string(i), "body" + std::to_string(i))));
  }
  ASSERT_TRUE(holder.wait_total(kClients, 10s));
  EXPECT_EQ(server.in_flight(), static_cast<std::size_t>(kClients));
  EXPECT_EQ(server.connections(), static_cast<std::size_t>(kClients));
  std::thread answerer([&] {
    for (auto& [req, respond] : holder.take_all()) respond(Response::text(200, req.target + ":" + req.body));
  });
  answerer.join();
  for (int i = 0; i < kClients; ++i) {
    auto r = clients[static_cast<std::size_t>(i)]->read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "/c/" + std::to_string(i) + ":body" + std::to_string(i));
  }
  EXPECT_TRUE(eventually([&] { return server.in_flight() == 0; }));
}

TEST(HttpServer, PipelinedRequestsAreHandledOneAtATimeInOrder) {
  Holder holder;
  Server server(local(), holder.handler());
  server.start();
  TestClient c(server.port());
  ASSERT_TRUE(c.send(TestClient::request("GET", "/1") + TestClient::request("POST", "/2", "two") +
                     TestClient::request("GET", "/3")));
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(holder.wait_total(static_cast<std::size_t>(i)));
    // The next request is not read before this one is answered.
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(holder.total(), static_cast<std::size_t>(i));
    auto [req, respond] = holder.take_one();
    EXPECT_EQ(req.target, "/" + std::to_string(i));
    if (i == 2) {
      EXPECT_EQ(req.body, "two");
    }
    std::thread([respond = std::move(respond), t = req.target] { respond(Response::text(200, t)); }).join();
  }
  for (int i = 1; i <= 3; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "/" + std::to_string(i));
  }
  EXPECT_EQ(server.stats().connections_accepted, 1u);
}

// Watching from the start, or only requests still waiting after a sweep or two (the default).
class HttpServerClientGone : public ::testing::TestWithParam<std::chrono::milliseconds> {};

INSTANTIATE_TEST_SUITE_P(WatchDelay, HttpServerClientGone, ::testing::Values(0ms, 50ms),
                         [](const auto& p) { return "After" + std::to_string(p.param.count()) + "ms"; });

TEST_P(HttpServerClientGone, ClientGoneBeforeAnswerDropsTheResponse) {
  Holder holder;
  ServerOptions o = local();
  o.watch_client_after = GetParam();
  Server server(o, holder.handler());
  server.start();
  {
    TestClient c(server.port());
    ASSERT_TRUE(c.send(TestClient::request("POST", "/x", "payload")));
    ASSERT_TRUE(holder.wait_total(1));
    c.close();
  }
  {
    TestClient c(server.port());
    ASSERT_TRUE(c.send(TestClient::request("POST", "/y", "payload")));
    ASSERT_TRUE(holder.wait_total(2));
    c.abort();  // RST
  }
  ASSERT_TRUE(eventually([&] { return server.connections() == 0; }));
  EXPECT_EQ(server.stats().client_aborts, 2u);
  EXPECT_EQ(server.in_flight(), 2u);
  for (auto& [req, respond] : holder.take_all()) {
    std::thread([respond = std::move(respond)] { respond(Response::text(200, "late")); }).join();
  }
  EXPECT_EQ(server.in_flight(), 0u);
  EXPECT_TRUE(eventually([&] { return server.stats().responses_dropped == 2u; }));
  // Still serving.
  TestClient c(server.port());
  ASSERT_TRUE(c.send(TestClient::request("GET", "/z")));
  ASSERT_TRUE(holder.wait_total(3));
  holder.take_one().second(Response::text(200, "ok"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "ok");
}

TEST(HttpServer, HandlerErrorsBecome500) {
  Server server(local(), [](Request&& r, Respond respond) {
    if (r.target == "/throw") throw std::runtime_error("boom");
    if (r.target == "/drop") return;  // Respond destroyed without a call
    respond(Response::text(201, "first"));
    respond(Response::text(202, "second"));  // ignored
  });
  server.start();
  TestClient c(server.port());
  for (const auto& [target, status] : std::vector<std::pair<std::string, int>>{{"/throw", 500}, {"/drop", 500}, {"/twice", 201}}) {
    ASSERT_TRUE(c.send(TestClient::request("GET", target)));
    auto r = c.read_response();
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, status) << target;
  }
  EXPECT_EQ(server.stats().handler_errors, 2u);
  EXPECT_EQ(server.in_flight(), 0u);
}

TEST(HttpServer, SlowClientHitsReadTimeout) {
  ServerOptions o = local();
  o.read_timeout = 200ms;
  Server server(o, [](Request&& r, Respond respond) { respond(echo(r)); });
  server.start();
  const auto t0 = std::chrono::steady_clock::now();
  TestClient stalled(server.port());
  ASSERT_TRUE(stalled.send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345"));
  // Trickles a byte every 40 ms: never idle for long, still cut at the total read deadline.
  TestClient trickle(server.port());
  bool closed = false;
  const std::string req = "GET /slow HTTP/1.1\r\nHost: a\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
  for (char ch : req) {
    if (!trickle.send(std::string_view(&ch, 1))) {
      closed = true;
      break;
    }
    if (trickle.wait_closed(40ms)) {
      closed = true;
      break;
    }
  }
  EXPECT_TRUE(closed);
  EXPECT_TRUE(stalled.wait_closed(2s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
  // (the socket is closed by the timer; the counter follows on the connection's io thread)
  EXPECT_TRUE(eventually([&] { return server.stats().read_timeouts == 2u; }));
  EXPECT_EQ(server.stats().requests, 0u);
}

TEST(HttpServer, BodyMemoryBudgetAnswers503AndIsGivenBack) {
  ServerOptions o = local();
  o.max_body_bytes = 1000;
  o.max_body_memory_bytes = 2500;  // two bodies of 1000, not three
  Holder holder;
  Server server(o, holder.handler());
  server.start();
  const std::string head = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n";
  TestClient a(server.port()), b(server.port());
  ASSERT_TRUE(a.send(head + std::string(10, 'a')));  // slow senders: header now, body later
  ASSERT_TRUE(b.send(head));
  ASSERT_TRUE(eventually([&] { return server.stats().body_memory_bytes == 2000u; }));

  TestClient c(server.port());
  ASSERT_TRUE(c.send(head));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->header("Retry-After"), "1");
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(server.stats().body_memory_full, 1u);
  // A request without a body needs none of the budget.
  TestClient d(server.port());
  ASSERT_TRUE(d.send("GET /no-body HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(holder.wait_total(1));
  holder.take_one().second(Response::text(200, "ok"));
  ASSERT_TRUE(d.read_response());

  // a's body completes and is answered: its share comes back; b hangs up: so does its share.
  ASSERT_TRUE(a.send(std::string(990, 'a')));
  ASSERT_TRUE(holder.wait_total(2));
  EXPECT_EQ(server.stats().body_memory_bytes, 2000u) << "held while the handler has the body";
  holder.take_one().second(Response::text(200, "ok"));
  r = a.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  b.close();
  ASSERT_TRUE(eventually([&] { return server.stats().body_memory_bytes == 0u; }));

  TestClient e(server.port());
  ASSERT_TRUE(e.send(head + std::string(1000, 'e')));
  ASSERT_TRUE(holder.wait_total(3));
  holder.take_one().second(Response::text(200, "ok"));
  r = e.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// One timer per connection serves every phase: a busy keep-alive connection outlives the
// shortest timeout, an idle one waits out its own (longer) one, and a stalled read is still cut.
TEST(HttpServer, EachPhaseKeepsItsOwnDeadline) {
  ServerOptions o = local();
  o.read_timeout = 300ms;
  o.idle_timeout = 10s;
  Server server(o, [](Request&& r, Respond respond) { respond(echo(r)); });
  server.start();
  TestClient c(server.port());
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 14; ++i) {  // 700 ms of requests, each read well within 300 ms
    ASSERT_TRUE(c.send(TestClient::request("GET", "/" + std::to_string(i))));
    auto r = c.read_response();
    ASSERT_TRUE(r) << "request " << i;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GT(std::chrono::steady_clock::now() - t0, 600ms);
  EXPECT_FALSE(c.wait_closed(700ms));  // idle longer than the read timeout: still open
  ASSERT_TRUE(c.send(TestClient::request("GET", "/after-idle")));
  ASSERT_TRUE(c.read_response());
  const auto t1 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345"));
  EXPECT_TRUE(c.wait_closed(3s));
  const auto took = std::chrono::steady_clock::now() - t1;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_TRUE(eventually([&] { return server.stats().read_timeouts == 1u; }));
  EXPECT_EQ(server.stats().requests, 15u);
}

// A zero timeout among the keep-alive cycle's (here the write's) must not make a connection's
// timer spin while a longer deadline runs: the timer is armed at least 100 ms ahead.
TEST(HttpServer, AZeroTimeoutDoesNotMakeTheTimerSpin) {
  ServerOptions o = local();
  o.write_timeout = 0ms;
  o.read_timeout = 400ms;
  o.idle_timeout = 10s;
  Server server(o, [](Request&& r, Respond respond) { respond(echo(r)); });
  server.start();
  TestClient slow(server.port());
  const auto cpu0 = std::clock();
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(slow.send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345"));
  EXPECT_TRUE(slow.wait_closed(3s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 350ms);  // the read deadline ended it
  EXPECT_LT(std::clock() - cpu0, CLOCKS_PER_SEC / 4);       // and nothing spun meanwhile
  EXPECT_TRUE(eventually([&] { return server.stats().read_timeouts == 1u; }));
}

TEST(HttpServer, IdleKeepAliveTimeoutClosesConnection) {
  ServerOptions o = local();
  o.idle_timeout = 150ms;
  Server server(o, [](Request&& r, Respond respond) { respond(echo(r)); });
  server.start();
  TestClient c(server.port());
  ASSERT_TRUE(c.send(TestClient::request("GET", "/")));
  ASSERT_TRUE(c.read_response());
  EXPECT_TRUE(c.wait_closed(2s));
  TestClient silent(server.port());
  EXPECT_TRUE(silent.wait_closed(2s));
  EXPECT_TRUE(eventually([&] { return server.connections() == 0; }));
  EXPECT_EQ(server.stats().read_timeouts, 0u);
}

TEST(HttpServer, OversizedBodyGets413WithoutReadingIt) {
  ServerOptions o = local();
  o.max_body_bytes = 1024;
  std::atomic<int> calls{0};
  Server server(o, [&](Request&& r, Respond respond) {
    ++calls;
    respond(echo(r));
  });
  server.start();
  {  // Content-Length over the limit: answered right after the header, body never sent.
    TestClient c(server.port());
    ASSERT_TRUE(c.send("POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 1048576\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->header("Connection"), "close");
    EXPECT_TRUE(c.wait_closed());
  }
  {  // The client sends a large body anyway: it still reads the 413 (no reset).
    TestClient c(server.port());
    std::string body(300 * 1024, 'x');
    auto sent = std::async(std::launch::async, [&] { return c.send(TestClient::request("POST", "/big", body)); });
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    sent.wait();
  }
  {  // Chunked, growing over the limit.
    TestClient c(server.port());
    std::string chunk(600, 'y');
    ASSERT_TRUE(c.send("POST /big HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n" + chunk + "\r\n258\r\n" + chunk +
                       "\r\n0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  {  // Exactly at the limit is fine.
    TestClient c(server.port());
    ASSERT_TRUE(c.send(TestClient::request("POST", "/ok", std::string(1024, 'z'))));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body.size(), 1024u);
  }
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(server.stats().bodies_too_large, 3u);
}

TEST(HttpServer, OversizedHeadersGet431) {
  ServerOptions o = local();
  o.max_header_bytes = 4096;
  Server server(o, [](Request&& r, Respond respond) { respond(echo(r)); });
  server.start();
  TestClient c(server.port());
  ASSERT_TRUE(c.send(TestClient::request("GET", "/", {}, {{"X-Big", std::string(8192, 'h')}})));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(server.stats().headers_too_large, 1u);
}

// Beast 1.74 alone lets a header reach twice its limit when it arrives in two reads: the fields
// parsed from the first are no longer counted.
TEST(HttpServer, HeaderLimitCountsTheWholeHeader) {
  ServerOptions o = local();
  o.max_header_bytes = 4096;
  Server server(o, [](Request&& r, Respond respond) { respond(echo(r)); });
  server.start();
  std::vector<std::pair<std::string, std::string>> fields;
  for (int i = 0; i < 60; ++i) fields.emplace_back("X-Field-" + std::to_string(i), std::string(100, 'v'));
  const std::string request = TestClient::request("GET", "/", {}, fields);  // ~7 KB in ~100-byte lines
  for (std::size_t first : {std::size_t{3000}, request.size()}) {
    TestClient c(server.port());
    ASSERT_TRUE(c.send(request.substr(0, first)));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a second read for the rest
    c.send(request.substr(first));
    auto r = c.read_response();
    ASSERT_TRUE(r) << first;
    EXPECT_EQ(r->status, 431) << first;
  }
  EXPECT_EQ(server.stats().headers_too_large, 2u);
  // Just under the limit, in two reads, is fine.
  fields.resize(35);
  const std::string fits = TestClient::request("GET", "/", {}, fields);
  ASSERT_LT(fits.size(), 4096u);
  TestClient c(server.port());
  ASSERT_TRUE(c.send(fits.substr(0, 2000)));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(c.send(fits.substr(2000)));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServer, MalformedRequestGets400) {
  Server server(local(), [](Request&& r, Respond respond) { respond(echo(r)); });
  server.start();
  TestClient c(server.port());
  ASSERT_TRUE(c.send("GARBAGE\x01 / HTTP/1.1\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.wait_closed());
}

TEST(HttpServer, ChunkedRequestBodyIsDecoded) {
  Server server(local(), [](Request&& r, Respond respond) { respond(echo(r)); });
  server.start();
  TestClient c(server.port());
  ASSERT_TRUE(c.send("POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world!");
  // The connection stays usable.
  ASSERT_TRUE(c.send(TestClient::request("GET", "/after")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("X-Target"), "/after");
}

// The body is parsed from whatever each read brings: a Content-Length body in pieces, a chunked
// one a byte at a time (chunk headers cut anywhere), and a client that leaves mid-body is closed
// without a request reaching the handler.
TEST(HttpServer, BodiesArrivingInPiecesAreReassembled) {
  Server server(local(), [](Request&& r, Respond respond) { respond(echo(r)); });
  server.start();
  TestClient c(server.port());
  ASSERT_TRUE(c.send("POST /pieces HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhel"));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(c.send("lo wo"));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(c.send("rld"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");

  const std::string chunked =
      "POST /bytes HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\n\r\n";
  for (char ch : chunked) {
    ASSERT_TRUE(c.send(std::string_view(&ch, 1)));
    std::this_thread::sleep_for(1ms);
  }
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world!");

  {
    TestClient leaves(server.port());
    ASSERT_TRUE(leaves.send("POST /gone HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly part"));
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(eventually([&] { return server.connections() == 1u; }));
  EXPECT_EQ(server.stats().requests, 2u);
  ASSERT_TRUE(c.send(TestClient::request("GET", "/after")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("X-Target"), "/after");
}

TEST(HttpServer, ExpectContinue) {
  ServerOptions o = local();
  o.max_body_bytes = 100;
  Server server(o, [](Request&& r, Respond respond) { respond(echo(r)); });
  server.start();
  TestClient c(server.port());
  ASSERT_TRUE(c.send("POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto interim = c.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("hello"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  // Too large: 413 instead of 100.
  TestClient big(server.port());
  ASSERT_TRUE(big.send("POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 500\r\n\r\n"));
  r = big.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST(HttpServer, HeadOmitsBodyAndHttp10Closes) {
  Server server(local(), [](Request&&, Respond respond) { respond(Response::text(200, "twelve bytes")); });
  server.start();
  TestClient c(server.port());
  ASSERT_TRUE(c.send(TestClient::request("HEAD", "/")));
  auto r = c.read_response(5000ms, /*head=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Content-Length"), "12");
  ASSERT_TRUE(c.send(TestClient::request("GET", "/")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "twelve bytes");  // so the HEAD response really had no body

  TestClient old(server.port());
  ASSERT_TRUE(old.send("GET / HTTP/1.0\r\n\r\n"));
  r = old.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "twelve bytes");
  EXPECT_TRUE(old.wait_closed());
}

TEST(HttpServer, ConnectionCloseFromClientOrHandler) {
  Server server(local(), [](Request&& r, Respond respond) {
    Response res = Response::text(200, "bye");
    if (r.target == "/handler-closes") res.headers.add("Connection", "close");
    respond(std::move(res));
  });
  server.start();
  TestClient a(server.port());
  ASSERT_TRUE(a.send(TestClient::request("GET", "/", {}, {{"Connection", "close"}})));
  auto r = a.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(a.wait_closed());
  TestClient b(server.port());
  ASSERT_TRUE(b.send(TestClient::request("GET", "/handler-closes")));
  r = b.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(b.wait_closed());
}

TEST(HttpServer, MaxConnections) {
  ServerOptions o = local();
  o.max_connections = 2;
  Server server(o, [](Request&& r, Respond respond) { respond(echo(r)); });
  server.start();
  TestClient a(server.port()), b(server.port());
  ASSERT_TRUE(eventually([&] { return server.connections() == 2; }));
  TestClient extra(server.port());
  ASSERT_TRUE(extra.send(TestClient::request("GET", "/")));
  auto r = extra.read_response();
  if (r) {
    EXPECT_EQ(r->status, 503);
  }
  EXPECT_TRUE(extra.wait_closed());
  EXPECT_EQ(server.stats().connections_rejected, 1u);
  ASSERT_TRUE(a.send(TestClient::request("GET", "/still")));
  r = a.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServer, GracefulShutdownWaitsForInFlightThenCloses) {
  Holder holder;
  Server server(local(), holder.handler());
  server.start();
  const auto port = server.port();

  TestClient idle(port);  // one answered request, then idle keep-alive
  ASSERT_TRUE(idle.send(TestClient::request("GET", "/first")));
  ASSERT_TRUE(holder.wait_total(1));
  holder.take_one().second(Response::text(200, "first"));
  ASSERT_TRUE(idle.read_response());

  TestClient busy(port);  // a request in flight
  ASSERT_TRUE(busy.send(TestClient::request("POST", "/busy", "b")));
  ASSERT_TRUE(holder.wait_total(2));

  auto done = std::async(std::launch::async, [&] { return server.shutdown(5s); });
  EXPECT_TRUE(idle.wait_closed(2s));  // idle connections go at once
  EXPECT_THROW(TestClient{port}, std::runtime_error);  // listener closed
  EXPECT_EQ(done.wait_for(50ms), std::future_status::timeout);  // still waiting for /busy

  holder.take_one().second(Response::text(200, "answered"));
  auto r = busy.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "answered");
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(busy.wait_closed(2s));
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(done.get());
  server.join();  // returns at once: stopped
}

TEST(HttpServer, ShutdownDeadlineClosesStuckRequestsAndLateRespondIsSafe) {
  Holder holder;
  Respond late;
  {
    Server server(local(), holder.handler());
    server.start();
    TestClient c(server.port());
    ASSERT_TRUE(c.send(TestClient::request("POST", "/stuck", "s")));
    ASSERT_TRUE(holder.wait_total(1));
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(server.shutdown(150ms));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
    EXPECT_TRUE(c.wait_closed(2s));
    late = holder.take_one().second;
  }  // server destroyed
  std::thread([&] { late(Response::text(200, "too late")); }).join();  // dropped, no crash
  late = nullptr;
}

TEST(HttpServer, RunBlocksUntilShutdown) {
  Server server(local(), [](Request&& r, Respond respond) { respond(echo(r)); });
  std::thread runner([&] { server.run(); });
  ASSERT_TRUE(eventually([&] { return server.running(); }));
  TestClient c(server.port());
  ASSERT_TRUE(c.send(TestClient::request("GET", "/run")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(server.shutdown(1s));
  runner.join();
}

TEST(HttpServer, ListensOnIpv6Loopback) {
  ServerOptions o;
  o.listen = "[::1]:0";
  Server server(o, [](Request&& r, Respond respond) { respond(echo(r)); });
  try {
    server.start();
  } catch (const std::exception& e) {
    GTEST_SKIP() << "no IPv6 loopback: " << e.what();
  }
  TestClient c(server.port(), "::1");
  ASSERT_TRUE(c.send(TestClient::request("GET", "/v6")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("X-Remote"), "::1");
}

}  // namespace
}  // namespace numflow::http
