#pragma once
// numflow-ingest's request handling (contract §1, §2): routes provider webhooks to the raw topic
// and answers 2xx only after the Kafka delivery report says the body is durably stored.
//
//   POST /webhooks/{provider}  authenticate -> submit to the raw topic -> 200 when persisted,
//                              503 + Retry-After when failed / queue full / unavailable / not
//                              ready / no delivery report within the response deadline, and at
//                              once ("overloaded") while Kafka has kept a delivery waiting longer
//                              than shed_backlog: overload is answered fast instead of slowly
//   GET  /healthz              200 while the process serves
//   GET  /readyz               200 when the sink is ready (and not draining), else 503
//   anything else              404; a known path with another method: 405 with Allow
//
// Thread-safe: handle() may run on several io threads at once; delivery reports arrive on a
// producer thread; a deadline thread answers requests whose report is late.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_server.h"
#include "providers/authenticator.h"
#include "publish/raw_sink.h"

namespace numflow::ingest {

// Authentication is the provider modules' (providers/authenticator.h); ingest runs it per route.
using numflow::AuthResult;
using numflow::Authenticator;
using numflow::NoAuth;

using AccountOf = std::function<std::string(std::string_view body)>;

// An AccountOf that parses the body as JSON and returns the first of these JSON pointers
// (RFC 6901, e.g. "/payload/account_id") that names a string (or an integer, printed).
AccountOf json_account_at(std::vector<std::string> pointers);

struct ProviderRoute {
  std::string provider;  // "8x8", "zoom", "ringcentral": key prefix and numflow-provider header
  std::string path;      // "" means "/webhooks/{provider}"
  std::shared_ptr<const Authenticator> auth;  // required
  AccountOf account_of;                       // empty: account ""; one over 256 bytes is left out too
};

// How one request ended (for metrics). Passed to IngestOptions::on_outcome.
enum class Outcome {
  accepted,       // 200: persisted
  refused,        // 401/403 by the authenticator
  answered,       // handshake answered by the authenticator
  not_ready,      // 503: sink not ready (or draining), not submitted
  queue_full,     // 503
  unavailable,    // 503
  failed,         // 503: delivery failed
  timeout,        // 503: no delivery report within the response deadline
  overloaded,     // 503 at once: Kafka's oldest unacknowledged delivery is older than shed_backlog
  too_large,      // 413
  error,          // an authenticator threw (500) or the sink threw on submit (503)
};
std::string_view to_string(Outcome outcome);

struct RequestOutcome {
  std::string_view provider;
  std::string_view route;  // the route's path, e.g. "/webhooks/8x8"
  Outcome outcome;
  int status;
  std::chrono::steady_clock::duration latency;  // from the request's first byte to the answer
  std::size_t body_bytes;
  std::string_view reason = {};  // refused: the authenticator's reason (never a secret)
  std::string_view client = {};      // refused: the peer's address, for tracing a source in logs
  std::string_view request_id = {};  // refused: the X-Request-Id the client was answered with
};

struct IngestOptions {
  std::string raw_topic = "webhooks.raw";
  std::size_t max_body_bytes = 1024 * 1024;
  // Measured from the request's first byte; Zoom and RingCentral drop endpoints slower than 3 s.
  std::chrono::milliseconds response_deadline{2500};
  std::chrono::seconds retry_after{5};
  // Load shedding. When the oldest webhook handed to Kafka has waited this long for its
  // acknowledgement, Kafka is not keeping up (a slow or stalled broker, or more webhooks than it
  // takes): new webhooks are answered 503 "overloaded" at once, without being submitted, until it
  // catches up. The excess gets a fast 503 (its provider retries) instead of a slow one at the
  // response deadline, the producer queue stops growing, and the webhooks that are taken wait
  // little longer than this, unless Kafka stalls outright after taking them (then the response
  // deadline answers them). Never longer than response_deadline: a body Kafka has kept past it
  // has had its 503, and what joins the queue behind it would too, yet still be written (the
  // broker's capacity spent on answered bodies; measured in docs/PERFORMANCE.md, "A slow broker
  // is not a reason to write twice"). Zero: only that.
  std::chrono::milliseconds shed_backlog{1000};
  std::vector<ProviderRoute> routes;
  // Extra GET (and HEAD) endpoints answered synchronously, e.g. "/metrics". Must be thread-safe.
  std::map<std::string, std::function<http::Response(const http::Request&)>, std::less<>> get_routes;
  // Called once per webhook request (POST on a provider route that got past routing), from an
  // io thread, a producer thread or the deadline thread. Must be thread-safe and cheap.
  std::function<void(const RequestOutcome&)> on_outcome;
};

struct IngestStats {
  std::uint64_t webhook_requests = 0;  // POSTs on provider routes
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;
  std::uint64_t answered = 0;
  std::uint64_t not_ready = 0;
  std::uint64_t queue_full = 0;
  std::uint64_t unavailable = 0;
  std::uint64_t failed = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t overloaded = 0;
  std::uint64_t too_large = 0;
  std::uint64_t errors = 0;
  std::uint64_t late_reports = 0;  // delivery reports that came after the request was answered
  std::uint64_t not_found = 0;       // 404: no route (never a webhook: not in webhook_requests)
  std::uint64_t wrong_method = 0;    // 405: a route asked with the wrong method
  std::uint64_t in_flight = 0;     // submitted, not answered yet
};

class IngestHandler {
 public:
  // Throws std::invalid_argument on a bad route table. `sink` must outlive this object.
  IngestHandler(IngestOptions options, publish::RawSink& sink);
  // Answers 503 to every request still waiting for its delivery report, then returns. Reports
  // that arrive later are ignored safely.
  ~IngestHandler();
  IngestHandler(const IngestHandler&) = delete;
  IngestHandler& operator=(const IngestHandler&) = delete;

  void handle(http::Request&& request, http::Respond respond);
  // A handler for http::Server bound to this object (which must outlive the server's use of it).
  http::Handler handler();

  // Requests submitted to the sink and not answered yet.
  std::size_t in_flight() const;
  // How long the oldest of them has waited since it was submitted (zero when there is none).
  std::chrono::steady_clock::duration backlog_age() const;
  // Waits until in_flight() == 0; false on timeout. For SIGTERM: stop accepting, wait, flush.
  bool wait_idle(std::chrono::milliseconds timeout) const;
  // While draining, /readyz answers 503 so load balancers stop sending; webhooks still work.
  void set_draining(bool draining);
  IngestStats stats() const;

  struct Core;

 private:
  void deadline_loop();

  std::shared_ptr<Core> core_;
  publish::RawSink& sink_;
};

}  // namespace numflow::ingest
