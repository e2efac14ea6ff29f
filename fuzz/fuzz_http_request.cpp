// fuzz_http_request: the bytes a client sends on one connection -> what numflow-ingest does with
// them: Boost.Beast's request parser configured as common/http_server.cpp's Session configures it
// (header limit 16 KiB, body limit --max-body-bytes), then ingest::IngestHandler with the real
// authenticators of the three providers and a fake Kafka sink that persists at once.
//
// The input is raw HTTP/1.x: one request, several pipelined ones (keep-alive), chunked bodies,
// huge headers... Each request is parsed as the server parses it (the whole input is what the
// socket delivered, then EOF), handled, and, as the server does, the next pipelined request is
// read only when the answer keeps the connection open. Parse errors end the connection with the
// server's answer (400/413/431) or none (EOF in the middle of a request).
//
// Checks, beyond sanitizer reports: each request is answered exactly once, synchronously (the sink
// reports at once, so nothing may wait for the deadline thread); a 200 on a webhook route means its
// exact body went to the raw topic under "{provider}:..." with the contract's headers, and nothing
// else reaches the sink; every webhook request is counted in exactly one outcome.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <memory>

#include "fuzz/fuzz_util.h"
#include "ingest/ingest_handler.h"
#include "providers/8x8/eight_by_eight_auth.h"
#include "providers/registry.h"
#include "providers/ringcentral/ringcentral_auth.h"
#include "providers/zoom/zoom_auth.h"

#include <rapidjson/document.h>

namespace {

using namespace numflow;
namespace fz = numflow::fuzz;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// As common/http_server.h's ServerOptions defaults and numflow-ingest's --max-body-bytes default.
constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr std::size_t kMaxBodyBytes = 1024 * 1024;
constexpr std::size_t kMaxRequestsPerInput = 100;
constexpr std::int64_t kNowSeconds = 1700000000;  // Zoom's clock; the seeds are signed for it

class PersistingSink final : public publish::RawSink {
 public:
  void submit(publish::Message msg, publish::DeliveryCallback done) override {
    last = std::move(msg);
    ++submitted;
    done(publish::DeliveryResult{publish::Delivery::persisted, ""});
  }
  bool ready() const override { return true; }
  std::size_t in_flight() const override { return 0; }
  bool flush(int) override { return true; }

  publish::Message last;
  std::size_t submitted = 0;
};

ingest::AccountOf account_of(std::string_view provider) {
  const Provider* p = find_provider(provider);
  return [p](std::string_view body) {  // as numflow-ingest's main.cpp
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject()) return std::string();
    return p->account_of(doc);
  };
}

struct World {
  PersistingSink sink;
  std::atomic<std::uint64_t> outcomes{0};
  std::unique_ptr<ingest::IngestHandler> handler;

  World() {
    ingest::IngestOptions o;
    o.max_body_bytes = kMaxBodyBytes;
    o.routes.push_back({"zoom", "",
                        std::make_shared<ZoomAuthenticator>(ZoomAuthOptions{
                            {"fuzz-secret-old", "fuzz-secret-new"}, std::chrono::seconds(300), [] { return kNowSeconds; }}),
                        account_of("zoom")});
    o.routes.push_back({"ringcentral", "",
                        std::make_shared<RingCentralAuthenticator>(
                            RingCentralAuthOptions{"fuzz-verification-token", "fuzz-query-secret", "token"}),
                        account_of("ringcentral")});
    o.routes.push_back({"8x8", "",
                        std::make_shared<EightByEightAuthenticator>(EightByEightAuthOptions{
                            net::CidrSet::parse({"127.0.0.0/8", "192.0.2.0/24"}), net::CidrSet::parse({"127.0.0.1"}),
                            "Bearer fuzz-8x8"}),
                        account_of("8x8")});
    o.get_routes.emplace("/metrics", [](const http::Request&) {
      return http::Response::text(200, "numflow_up 1\n", "text/plain; version=0.0.4");
    });
    o.on_outcome = [this](const ingest::RequestOutcome&) { outcomes.fetch_add(1); };
    handler = std::make_unique<ingest::IngestHandler>(std::move(o), sink);
  }
};

World& world() {
  static World* w = new World();  // never destroyed: its deadline thread runs for the process
  return *w;
}

enum class Read { request, error_answered, closed };

// One request off the front of `rest`, as Session::begin_request/on_header/read_body do.
Read read_request(std::string_view& rest, bhttp::request<bhttp::string_body>& out, int& error_status) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));
  parser.body_limit(static_cast<std::uint64_t>(kMaxBodyBytes));
  beast::error_code ec;
  const auto feed = [&](bool eager) {
    parser.eager(eager);
    while (!(eager ? parser.is_done() : parser.is_header_done())) {
      if (rest.empty()) {  // the client sent nothing more: EOF
        parser.put_eof(ec);
        if (!ec) continue;
        return;
      }
      const std::size_t n = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(n);
      if (ec == bhttp::error::need_more) {
        // Everything the client sent is already here: more will not come.
        ec = {};
        parser.put_eof(ec);
        if (!ec && !(eager ? parser.is_done() : parser.is_header_done())) ec = bhttp::error::partial_message;
        if (ec) return;
        continue;
      }
      if (ec) return;
    }
  };
  if (rest.empty()) return Read::closed;  // idle keep-alive connection closed by the client
  feed(false);
  if (!ec && !parser.is_done()) feed(true);
  if (ec) {
    // Session::on_read_error.
    if (ec == bhttp::error::body_limit) {
      error_status = 413;
    } else if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
      error_status = 431;
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
               ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      error_status = 400;
    } else {
      return Read::closed;
    }
    return Read::error_answered;
  }
  out = parser.release();
  return Read::request;
}

std::string_view header(const publish::Message& m, std::string_view name) {
  for (const auto& [k, v] : m.headers)
    if (k == name) return v;
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = world();
  std::string_view rest = fz::as_view(data, size);
  for (std::size_t n = 0; n < kMaxRequestsPerInput; ++n) {
    bhttp::request<bhttp::string_body> msg;
    int error_status = 0;
    const Read read = read_request(rest, msg, error_status);
    if (read != Read::request) break;  // an error answer closes the connection

    // Session::on_read.
    http::Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.version = msg.version();
    for (const auto& f : msg) req.headers.add(std::string(f.name_string()), std::string(f.value()));
    req.body = std::move(msg.body());
    req.remote_ip = "127.0.0.1";
    req.remote_port = 40000;
    req.received_at = std::chrono::steady_clock::now();
    req.received_wall = std::chrono::system_clock::now();
    const bool keep_alive = msg.keep_alive();

    const std::string body = req.body, target = req.target, method = req.method;
    const bool webhook = req.path().starts_with("/webhooks/");
    const auto before = w.handler->stats();
    const std::size_t submitted = w.sink.submitted;
    const std::uint64_t outcomes = w.outcomes.load();
    int calls = 0;
    http::Response res;
    w.handler->handle(std::move(req), [&](http::Response r) {
      ++calls;
      res = std::move(r);
    });
    fz::check(calls == 1, "a request was not answered exactly once, synchronously", target);
    fz::check(res.status >= 200 && res.status <= 599, "odd status", std::to_string(res.status));
    const auto after = w.handler->stats();
    const std::uint64_t posts = after.webhook_requests - before.webhook_requests;
    fz::check(w.outcomes.load() - outcomes == posts, "webhook request without exactly one outcome", target);
    fz::check(after.in_flight == 0, "a request stayed in flight", target);

    const bool stored = w.sink.submitted != submitted;
    const bool accepted = after.accepted - before.accepted == 1;
    fz::check(stored == accepted, "what reached the raw topic does not match the outcome", target);
    fz::check(!accepted || res.status == 200, "accepted without a 200", std::to_string(res.status));
    if (stored) {
      fz::check(webhook && method == "POST", "a non-webhook request reached the raw topic", target);
      const publish::Message& m = w.sink.last;
      fz::check(m.value == body, "the raw topic got other bytes than the body", target);
      const std::string_view provider = header(m, "numflow-provider");
      fz::check(!provider.empty() && m.key.starts_with(std::string(provider) + ":"), "raw key/provider mismatch",
                m.key);
      fz::check(!header(m, "numflow-request-id").empty() && !header(m, "numflow-auth").empty() &&
                    !header(m, "numflow-received-at").empty(),
                "raw record without the contract's headers", m.key);
    }
    if (!keep_alive) break;
    for (const auto& [name, value] : res.headers)
      if (http::iequals(name, "connection") && value.find("close") != std::string::npos) return 0;
  }
  return 0;
}
