#pragma once
// The 8x8 numbers API poller that runs inside numflow-ingest (contract §1 "(poller, no route)",
// §3 "8x8 snapshots"; seed 001).
//
// For each configured subaccount, on its own schedule:
//
//   GET {base_url}/api/v1/subaccounts/{id}/numbers     Authorization: Bearer {api key}
//                                                      Accept: application/json
//
//   200                   the exact response body goes to the raw topic like a webhook: key
//                         `8x8:{id}`, headers numflow-provider=8x8, numflow-received-at,
//                         numflow-request-id, content-type (the response's, when it has one),
//                         numflow-auth=poll, numflow-source=poll, numflow-poll-subaccount={id}.
//                         The poller waits for the delivery report; a body Kafka did not persist
//                         is a failure (`kafka`) and is fetched again after a backoff. A body that
//                         is not JSON is captured all the same (the transform dead-letters it).
//                         Next poll: interval ± jitter.
//   401, 403              `auth`: logged as an error with the status; next try after the
//                         backoff, but never sooner than the interval.
//   429                   `rate_limited`: next try after Retry-After (delta-seconds or HTTP-date),
//                         at least backoff_min, at most backoff_max; without a usable Retry-After
//                         the backoff.
//   over max_body_bytes   `too_large` (a Content-Length over it fails before the body comes; a
//                         body without one is cut off at the limit), and likewise a body Kafka
//                         refuses as too large (the producer's message.max.bytes or the raw
//                         topic's max.message.bytes): logged as an error, nothing stored; next
//                         try after the backoff, but never sooner than the interval (an inventory
//                         does not shrink by being fetched again).
//   other 4xx             `http_4xx`; 5xx `server_error`; timeouts `timeout`; connection, DNS and
//                         TLS errors `network`; any other status `unexpected_status`: exponential
//                         backoff with jitter from backoff_min to backoff_max.
//
// Before fetching, the poller asks the sink whether it is ready; when it is not, the attempt is
// a `kafka` failure without an HTTP request (no API quota is spent on a body that cannot be kept).
//
// One thread polls the subaccounts in turn (earliest due first); each subaccount has its own
// schedule and backoff. The first poll of every subaccount is due at start(). stop() returns
// promptly even in the middle of a request (libcurl multi interface, woken by curl_multi_wakeup),
// a sleep or a wait for a delivery report; the attempt it interrupts is not counted.
//
// The API keys are secrets: they are never logged (nor is the Authorization header; libcurl's
// verbose output stays off), and error messages never contain them. Redirects are not followed.
// libcurl's usual proxy environment variables (https_proxy, no_proxy, ...) apply.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "publish/raw_sink.h"

namespace numflow::ingest {

struct Subaccount {
  std::string id;       // must match ^[A-Za-z0-9\-._&]{3,50}$ (the API's documented pattern)
  std::string api_key;  // secret: sent as `Authorization: Bearer {api_key}`, never logged
};

// How one poll attempt ended.
enum class PollResult {
  success,            // 200, and the body was persisted in the raw topic
  auth,               // 401 or 403
  rate_limited,       // 429
  http_4xx,           // any other 4xx
  server_error,       // 5xx
  unexpected_status,  // any other status (1xx, 3xx: redirects are not followed; 2xx other than 200)
  timeout,            // connect or request timeout
  network,            // DNS, connection, TLS, protocol errors
  too_large,          // body over max_body_bytes, or refused by Kafka as too large
  kafka,              // the sink was not ready, refused the body, or did not persist it
};
// "success", "auth", "rate_limited", ... (stable: metric label values).
std::string_view to_string(PollResult result);

// Passed to PollerOptions::on_outcome after every attempt (from the poller thread).
struct PollOutcome {
  std::string_view subaccount;
  PollResult result;
  int http_status;                              // 0 when no response came
  std::chrono::steady_clock::duration latency;  // the HTTP exchange (0 when none was made)
  std::size_t body_bytes;                       // response body bytes received
  std::chrono::milliseconds next_poll_in;       // when this subaccount is polled next
  std::string_view error;                       // short, human-readable, never a secret; "" on success
};

struct PollerStats {
  std::uint64_t runs = 0;       // attempts (each ends as one success or one failure)
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;   // the sum of the reasons below
  std::uint64_t auth = 0;
  std::uint64_t rate_limited = 0;
  std::uint64_t http_4xx = 0;
  std::uint64_t server_error = 0;
  std::uint64_t unexpected_status = 0;
  std::uint64_t timeout = 0;
  std::uint64_t network = 0;
  std::uint64_t too_large = 0;
  std::uint64_t kafka = 0;
  std::uint64_t body_bytes = 0;  // bytes of bodies persisted in the raw topic
};

struct PollerOptions {
  std::string base_url = "https://voice.8x8.com";  // http:// or https://; a trailing '/' is ignored
  std::vector<Subaccount> subaccounts;
  std::chrono::milliseconds interval{300000};
  double jitter = 0.1;  // each interval and backoff is multiplied by a random factor in [1-j, 1+j]
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{15000};  // the whole exchange, connect included
  std::chrono::milliseconds backoff_min{5000};       // first retry after a failure
  std::chrono::milliseconds backoff_max{300000};     // doubling up to this; also caps Retry-After
  std::chrono::milliseconds delivery_timeout{60000};  // waiting for the sink's delivery report
  // Largest snapshot kept (numflow-ingest: --8x8-poll-max-body-bytes). The Kafka producer and the
  // raw topic must take a record this large plus its key and headers.
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  std::string raw_topic = "webhooks.raw";
  // Called after every attempt, on the poller thread. Must be cheap and must not call stop().
  std::function<void(const PollOutcome&)> on_outcome;
};

// Throws std::invalid_argument (naming the rule) unless `id` matches ^[A-Za-z0-9\-._&]{3,50}$.
void validate_subaccount_id(std::string_view id);
// {base_url without trailing '/'}/api/v1/subaccounts/{percent-encoded id}/numbers
std::string numbers_url(std::string_view base_url, std::string_view subaccount_id);
// A Retry-After value as a delay from `now`: delta-seconds ("120") or an HTTP-date ("Wed, 21 Oct
// 2015 07:28:00 GMT", and the obsolete RFC 850 / asctime forms). A date in the past is 0.
// nullopt when the value is neither.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

class EightByEightPoller {
 public:
  // Validates the options (ids, keys, URL, durations) and throws std::invalid_argument with a
  // clear message (never containing a key). `sink` must outlive this object.
  EightByEightPoller(PollerOptions options, publish::RawSink& sink);
  ~EightByEightPoller();  // stop()
  EightByEightPoller(const EightByEightPoller&) = delete;
  EightByEightPoller& operator=(const EightByEightPoller&) = delete;

  // Starts the poller thread; every subaccount is due at once. Call at most once.
  void start();
  // Interrupts whatever the thread is doing and joins it. Idempotent; must not be called from
  // on_outcome. A delivery report that arrives later is ignored safely.
  void stop();
  // Started and not stopped. Thread-safe, like stats().
  bool running() const;

  PollerStats stats() const;

  struct Shared;  // state shared with delivery callbacks (which may outlive the poller)
  struct Worker;  // the poller thread's libcurl handles and random numbers

 private:
  struct Target;
  void run();
  void poll(Target& target);

  PollerOptions options_;
  publish::RawSink& sink_;
  std::vector<Target> targets_;
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<Worker> worker_;
  std::thread thread_;
  bool started_ = false;  // guarded by Shared::mu

  mutable std::mutex stats_mu_;
  PollerStats stats_;
};

}  // namespace numflow::ingest
