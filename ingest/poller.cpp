#include "ingest/poller.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <ctime>
#include <limits>
#include <mutex>
#include <random>
#include <stdexcept>
#include <utility>

#include "common/crypto.h"
#include "common/log.h"
#include "common/time.h"

namespace numflow::ingest {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// Pure helpers

std::string_view to_string(PollResult result) {
  switch (result) {
    case PollResult::success: return "success";
    case PollResult::auth: return "auth";
    case PollResult::rate_limited: return "rate_limited";
    case PollResult::http_4xx: return "http_4xx";
    case PollResult::server_error: return "server_error";
    case PollResult::unexpected_status: return "unexpected_status";
    case PollResult::timeout: return "timeout";
    case PollResult::network: return "network";
    case PollResult::too_large: return "too_large";
    case PollResult::kafka: return "kafka";
  }
  return "unknown";
}

namespace {

bool id_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_' || c == '&';
}

bool unreserved(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x80 && std::isalnum(u) != 0) || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool has_control_chars(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

std::string_view strip_trailing_slashes(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

// A printable, bounded rendering of an untrusted id for error messages.
std::string quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 60)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f) ? '?' : c;
  }
  if (s.size() > 60) out += "...";
  out += "'";
  return out;
}

}  // namespace

void validate_subaccount_id(std::string_view id) {
  if (id.size() < 3 || id.size() > 50 || !std::all_of(id.begin(), id.end(), id_char)) {
    throw std::invalid_argument("invalid 8x8 subaccount id " + quoted(id) +
                                ": it must match ^[A-Za-z0-9\\-._&]{3,50}$ (3 to 50 letters, digits, '-', '.', "
                                "'_' or '&')");
  }
}

std::string numbers_url(std::string_view base_url, std::string_view subaccount_id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string url(strip_trailing_slashes(base_url));
  url += "/api/v1/subaccounts/";
  for (char c : subaccount_id) {
    if (unreserved(c)) {
      url += c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      url += '%';
      url += kHex[u >> 4];
      url += kHex[u & 0xf];
    }
  }
  url += "/numbers";
  return url;
}

std::optional<milliseconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // delta-seconds; anything beyond ten years is as good as ten years (callers cap it anyway).
    constexpr std::int64_t kMaxSeconds = 10LL * 365 * 24 * 3600;
    std::int64_t seconds = 0;
    for (char c : value) {
      seconds = seconds * 10 + (c - '0');
      if (seconds > kMaxSeconds) {
        seconds = kMaxSeconds;
        break;
      }
    }
    return milliseconds(seconds * 1000);
  }
  // HTTP-date: IMF-fixdate, RFC 850 or asctime (curl_getdate knows all three). Require a letter
  // so that odd numeric strings are not read as a time of day.
  auto letter = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; };
  if (!std::any_of(value.begin(), value.end(), letter)) {
    return std::nullopt;
  }
  const std::string text(value);
  const std::time_t when = curl_getdate(text.c_str(), nullptr);
  if (when == static_cast<std::time_t>(-1)) return std::nullopt;
  const auto at = std::chrono::system_clock::from_time_t(when);
  if (at <= now) return milliseconds(0);
  return std::chrono::duration_cast<milliseconds>(at - now);
}

// ---------------------------------------------------------------------------------------------
// libcurl, in one place. In C++ curl_easy_setopt is a plain C variadic function (the type-checking
// macros of curl/typecheck-gcc.h exist only for C), so every value must already have the exact
// type libcurl reads for that option: `long`, a string, a pointer. These typed overloads make
// that impossible to get wrong and keep the first error.

namespace {

class Options {
 public:
  explicit Options(CURL* easy) : easy_(easy) {}
  void set(CURLoption o, long v) { keep(curl_easy_setopt(easy_, o, v)); }
  void set(CURLoption o, const char* v) { keep(curl_easy_setopt(easy_, o, v)); }
  void set(CURLoption o, const std::string& v) { set(o, v.c_str()); }
  void set(CURLoption o, void* v) { keep(curl_easy_setopt(easy_, o, v)); }
  void set(CURLoption o, curl_slist* v) { keep(curl_easy_setopt(easy_, o, v)); }
  void set(CURLoption o, curl_write_callback v) { keep(curl_easy_setopt(easy_, o, v)); }
  CURLcode result() const { return rc_; }

 private:
  void keep(CURLcode rc) {
    if (rc_ == CURLE_OK) rc_ = rc;
  }
  CURL* easy_;
  CURLcode rc_ = CURLE_OK;
};

struct Body {
  std::string data;
  std::size_t limit = 0;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<Body*>(user);
  const std::size_t bytes = size * count;
  if (bytes > body->limit - body->data.size()) {
    body->too_large = true;
    return 0;  // libcurl aborts the transfer with CURLE_WRITE_ERROR
  }
  body->data.append(data, bytes);
  return bytes;
}

struct Exchange {
  CURLcode code = CURLE_OK;
  long status = 0;
  Body body;
  std::string content_type;
  std::optional<std::string> retry_after;
  std::string error;
  bool stopped = false;
  Clock::duration latency{};
};

struct CurlSlist {
  curl_slist* list = nullptr;
  ~CurlSlist() { curl_slist_free_all(list); }
  bool append(const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next == nullptr) return false;
    list = next;
    return true;
  }
};

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

std::int64_t to_ms(Clock::duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

// rd_kafka_err2str(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE), "Broker: Message size too large": what
// the producer reports for a message over its message.max.bytes or the topic's max.message.bytes.
constexpr std::string_view kKafkaTooLarge = "Message size too large";

}  // namespace

// ---------------------------------------------------------------------------------------------
// State

struct EightByEightPoller::Shared {
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::uint64_t delivery_seq = 0;                   // which submit a report belongs to
  std::optional<publish::DeliveryResult> delivery;  // the report for delivery_seq
};

struct EightByEightPoller::Target {
  Subaccount account;
  std::string url;
  Clock::time_point due{};
  unsigned failures = 0;  // consecutive
  bool healthy = false;   // last attempt succeeded
};

struct EightByEightPoller::Worker {
  Worker() {
    global_init();
    multi = curl_multi_init();
    easy = curl_easy_init();
    if (multi == nullptr || easy == nullptr) {
      cleanup();
      throw std::runtime_error("cannot initialize libcurl");
    }
  }
  ~Worker() { cleanup(); }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void cleanup() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
    easy = nullptr;
    multi = nullptr;
  }

  CURLM* multi = nullptr;  // owns the connection cache; woken by stop()
  CURL* easy = nullptr;    // reused for every request (curl_easy_reset in between)
  char error_buffer[CURL_ERROR_SIZE] = {};
  std::mt19937_64 rng{std::random_device{}()};
};

namespace {
// "127.0.0.1:8080", "localhost", "[::1]:80" -> true.
bool is_loopback_host(std::string_view host_port) {
  std::string_view host = host_port;
  if (host.starts_with('[')) {
    host = host.substr(1, host.find(']') - 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  const bool ipv4_loopback = host.starts_with("127.") && host.find_first_not_of("0123456789.") == std::string_view::npos;
  return host == "localhost" || host == "::1" || ipv4_loopback;
}
}  // namespace

// ---------------------------------------------------------------------------------------------

EightByEightPoller::EightByEightPoller(PollerOptions options, publish::RawSink& sink)
    : options_(std::move(options)), sink_(sink), shared_(std::make_shared<Shared>()) {
  const PollerOptions& o = options_;
  const std::string_view base = strip_trailing_slashes(o.base_url);
  const bool http = starts_with_icase(base, "http://");
  const bool https = starts_with_icase(base, "https://");
  const std::size_t authority = https ? 8 : 7;
  const std::string_view host_port =
      base.substr(std::min(authority, base.size()), base.find('/', authority) - authority);
  if ((!http && !https) || host_port.empty() || host_port.find('@') != std::string_view::npos ||
      has_control_chars(base) || base.find_first_of(" ?#") != std::string_view::npos) {
    throw std::invalid_argument("invalid 8x8 API base URL " + quoted(o.base_url) +
                                ": expected http(s)://host[:port][/path], without credentials, query or fragment");
  }
  // The API key goes in every request: in clear text only to this machine (a local stand-in).
  if (http && !is_loopback_host(host_port)) {
    throw std::invalid_argument("8x8 API base URL " + quoted(o.base_url) +
                                " is plain http: the API key would cross the network unencrypted; use https");
  }
  if (o.subaccounts.empty()) throw std::invalid_argument("the 8x8 poller needs at least one subaccount");
  if (o.interval <= milliseconds::zero()) throw std::invalid_argument("8x8 poll interval must be positive");
  if (!(o.jitter >= 0.0 && o.jitter < 1.0)) throw std::invalid_argument("8x8 poll jitter must be in [0, 1)");
  if (o.connect_timeout <= milliseconds::zero() || o.request_timeout <= milliseconds::zero()) {
    throw std::invalid_argument("8x8 poll timeouts must be positive");
  }
  if (o.backoff_min <= milliseconds::zero() || o.backoff_max < o.backoff_min) {
    throw std::invalid_argument("8x8 poll backoff: need 0 < backoff_min <= backoff_max");
  }
  if (o.delivery_timeout <= milliseconds::zero()) throw std::invalid_argument("delivery timeout must be positive");
  if (o.max_body_bytes == 0) throw std::invalid_argument("8x8 poll max body bytes must be positive");
  if (o.raw_topic.empty()) throw std::invalid_argument("8x8 poller: raw topic is empty");

  for (const Subaccount& s : o.subaccounts) {
    validate_subaccount_id(s.id);
    if (s.api_key.empty()) throw std::invalid_argument("8x8 subaccount '" + s.id + "': API key is empty");
    if (has_control_chars(s.api_key)) {
      throw std::invalid_argument("8x8 subaccount '" + s.id + "': API key contains control characters");
    }
    for (const Target& t : targets_) {
      if (t.account.id == s.id) throw std::invalid_argument("8x8 subaccount '" + s.id + "' is listed twice");
    }
    Target t;
    t.account = s;
    t.url = numbers_url(base, s.id);
    targets_.push_back(std::move(t));
  }
  worker_ = std::make_unique<Worker>();
}

EightByEightPoller::~EightByEightPoller() { stop(); }

void EightByEightPoller::start() {
  {
    std::lock_guard lock(shared_->mu);
    if (started_) throw std::logic_error("EightByEightPoller::start called twice");
    started_ = true;
  }
  const auto now = Clock::now();
  for (Target& t : targets_) t.due = now;
  std::string ids;
  for (const Target& t : targets_) ids += (ids.empty() ? "" : ",") + t.account.id;
  log::info("8x8 poller started", {{"base_url", std::string(strip_trailing_slashes(options_.base_url))},
                                   {"subaccounts", ids},
                                   {"interval_ms", static_cast<std::int64_t>(options_.interval.count())}});
  thread_ = std::thread([this] { run(); });
}

void EightByEightPoller::stop() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->stopping = true;
  }
  shared_->cv.notify_all();
  curl_multi_wakeup(worker_->multi);  // thread-safe; makes a curl_multi_poll in progress return
  if (thread_.joinable()) {
    thread_.join();
    log::info("8x8 poller stopped");
  }
}

bool EightByEightPoller::running() const {
  std::lock_guard lock(shared_->mu);
  return started_ && !shared_->stopping;
}

PollerStats EightByEightPoller::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

void EightByEightPoller::run() {
  while (true) {
    auto next = std::min_element(targets_.begin(), targets_.end(),
                                 [](const Target& a, const Target& b) { return a.due < b.due; });
    {
      std::unique_lock lock(shared_->mu);
      if (shared_->cv.wait_until(lock, next->due, [&] { return shared_->stopping; })) return;
    }
    poll(*next);
  }
}

void EightByEightPoller::poll(Target& target) {
  const PollerOptions& o = options_;
  Worker& w = *worker_;
  const std::string request_id = crypto::unique_hex_id();
  auto stopping = [this] {
    std::lock_guard lock(shared_->mu);
    return shared_->stopping;
  };

  // Ends the attempt: schedule, count, log, report.
  auto finish = [&](PollResult result, long status, Clock::duration latency, std::size_t bytes, std::string error,
                    std::optional<milliseconds> retry_after) {
    auto jittered = [&](milliseconds d) {
      if (o.jitter <= 0.0) return d;
      std::uniform_real_distribution<double> f(1.0 - o.jitter, 1.0 + o.jitter);
      return milliseconds(static_cast<std::int64_t>(std::llround(static_cast<double>(d.count()) * f(w.rng))));
    };
    auto backoff = [&] {
      // backoff_min * 2^(failures-1), jittered, within [backoff_min, backoff_max].
      const unsigned doublings = std::min(target.failures - 1, 40u);
      const double base = std::min(
          static_cast<double>(o.backoff_min.count()) * std::ldexp(1.0, static_cast<int>(doublings)),
          static_cast<double>(o.backoff_max.count()));
      return std::clamp(jittered(milliseconds(static_cast<std::int64_t>(base))), o.backoff_min, o.backoff_max);
    };

    milliseconds delay{};
    if (result == PollResult::success) {
      target.failures = 0;
      delay = jittered(o.interval);
    } else {
      ++target.failures;
      if (result == PollResult::auth || result == PollResult::too_large) {
        // Credentials rarely fix themselves, and an inventory over the body limit does not shrink
        // by being fetched again: never sooner than the interval.
        delay = std::max(jittered(o.interval), backoff());
      } else if (result == PollResult::rate_limited && retry_after) {
        delay = std::clamp(*retry_after, o.backoff_min, o.backoff_max);
      } else {
        delay = backoff();
      }
    }
    target.due = Clock::now() + delay;

    {
      std::lock_guard lock(stats_mu_);
      ++stats_.runs;
      switch (result) {
        case PollResult::success: ++stats_.successes; stats_.body_bytes += bytes; break;
        case PollResult::auth: ++stats_.auth; break;
        case PollResult::rate_limited: ++stats_.rate_limited; break;
        case PollResult::http_4xx: ++stats_.http_4xx; break;
        case PollResult::server_error: ++stats_.server_error; break;
        case PollResult::unexpected_status: ++stats_.unexpected_status; break;
        case PollResult::timeout: ++stats_.timeout; break;
        case PollResult::network: ++stats_.network; break;
        case PollResult::too_large: ++stats_.too_large; break;
        case PollResult::kafka: ++stats_.kafka; break;
      }
      if (result != PollResult::success) ++stats_.failures;
    }

    const std::initializer_list<log::Field> fields = {
        {"subaccount", target.account.id},         {"result", to_string(result)},
        {"status", static_cast<std::int64_t>(status)}, {"latency_ms", to_ms(latency)},
        {"bytes", static_cast<std::int64_t>(bytes)}, {"next_poll_ms", static_cast<std::int64_t>(delay.count())},
        {"consecutive_failures", static_cast<std::int64_t>(target.failures)},
        {"request_id", request_id},                {"error", error}};
    if (result == PollResult::success) {
      if (!target.healthy) {
        log::info("8x8 numbers snapshot captured", fields);
      } else {
        log::debug("8x8 numbers snapshot captured", fields);
      }
      target.healthy = true;
    } else {
      target.healthy = false;
      if (result == PollResult::auth) {
        log::error("8x8 numbers API refused the credentials of this subaccount (check its API key)", fields);
      } else if (result == PollResult::too_large) {
        log::error("8x8 numbers snapshot too large: not stored (the error says which limit)", fields);
      } else {
        log::warn("8x8 numbers poll failed", fields);
      }
    }

    if (o.on_outcome) {
      try {
        o.on_outcome(PollOutcome{target.account.id, result, static_cast<int>(status), latency, bytes, delay, error});
      } catch (const std::exception& e) {
        log::error("8x8 poller: on_outcome threw", {{"error", e.what()}});
      } catch (...) {
        log::error("8x8 poller: on_outcome threw");
      }
    }
  };

  if (!sink_.ready()) {
    finish(PollResult::kafka, 0, {}, 0, "raw topic not ready (Kafka unreachable?): not fetching", std::nullopt);
    return;
  }

  // --- HTTP exchange ---------------------------------------------------------------------------
  Exchange x;
  x.body.limit = o.max_body_bytes;
  {
    CurlSlist headers;
    if (!headers.append("Authorization: Bearer " + target.account.api_key) ||
        !headers.append("Accept: application/json")) {
      finish(PollResult::network, 0, {}, 0, "out of memory building request headers", std::nullopt);
      return;
    }
    curl_easy_reset(w.easy);
    w.error_buffer[0] = '\0';
    Options opt(w.easy);
    opt.set(CURLOPT_URL, target.url);
    opt.set(CURLOPT_HTTPGET, 1L);
    opt.set(CURLOPT_HTTPHEADER, headers.list);
    opt.set(CURLOPT_USERAGENT, "numflow-ingest (8x8 poller)");
    opt.set(CURLOPT_PROTOCOLS_STR, "http,https");
    opt.set(CURLOPT_FOLLOWLOCATION, 0L);  // a redirect is reported, never followed with the key
    opt.set(CURLOPT_VERBOSE, 0L);         // verbose output would print the Authorization header
    opt.set(CURLOPT_NOSIGNAL, 1L);
    opt.set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
    opt.set(CURLOPT_TIMEOUT_MS, static_cast<long>(o.request_timeout.count()));
    opt.set(CURLOPT_ACCEPT_ENCODING, "");  // any encoding libcurl can decode; the body is stored decoded
    // A Content-Length over the limit fails at once (CURLE_FILESIZE_EXCEEDED), before the body is
    // downloaded; without one, on_body stops the transfer at the limit.
    opt.set(CURLOPT_MAXFILESIZE, static_cast<long>(std::min<std::size_t>(
                                     o.max_body_bytes, static_cast<std::size_t>(std::numeric_limits<long>::max()))));
    opt.set(CURLOPT_WRITEFUNCTION, &on_body);
    opt.set(CURLOPT_WRITEDATA, static_cast<void*>(&x.body));
    opt.set(CURLOPT_ERRORBUFFER, static_cast<char*>(w.error_buffer));
    if (opt.result() != CURLE_OK) {
      finish(PollResult::network, 0, {}, 0, std::string("libcurl setup: ") + curl_easy_strerror(opt.result()),
             std::nullopt);
      return;
    }

    const auto started = Clock::now();
    CURLMcode mc = curl_multi_add_handle(w.multi, w.easy);
    bool done = false;
    while (mc == CURLM_OK) {
      int running = 0;
      mc = curl_multi_perform(w.multi, &running);
      if (mc != CURLM_OK) break;
      int queued = 0;
      while (CURLMsg* m = curl_multi_info_read(w.multi, &queued)) {
        if (m->msg == CURLMSG_DONE && m->easy_handle == w.easy) {
          x.code = m->data.result;
          done = true;
        }
      }
      if (done) break;
      if (running == 0) {  // finished without a report: should not happen
        x.code = CURLE_RECV_ERROR;
        break;
      }
      if (stopping()) {
        x.stopped = true;
        break;
      }
      // Waits for socket activity, libcurl's own timers (timeouts), or curl_multi_wakeup().
      mc = curl_multi_poll(w.multi, nullptr, 0, 1000, nullptr);
    }
    if (mc != CURLM_OK) {
      x.code = CURLE_RECV_ERROR;
      x.error = std::string("libcurl multi: ") + curl_multi_strerror(mc);
    }
    x.latency = Clock::now() - started;
    if (done && x.code == CURLE_OK) {
      curl_easy_getinfo(w.easy, CURLINFO_RESPONSE_CODE, &x.status);
      char* ct = nullptr;
      if (curl_easy_getinfo(w.easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != nullptr) x.content_type = ct;
      curl_header* h = nullptr;
      if (curl_easy_header(w.easy, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h != nullptr &&
          h->value != nullptr) {
        x.retry_after = h->value;
      }
    } else if (done) {
      // A status may be known even when the transfer failed (e.g. body too large).
      curl_easy_getinfo(w.easy, CURLINFO_RESPONSE_CODE, &x.status);
    }
    if (x.error.empty() && x.code != CURLE_OK) {
      x.error = w.error_buffer[0] != '\0' ? std::string(w.error_buffer) : std::string(curl_easy_strerror(x.code));
    }
    curl_multi_remove_handle(w.multi, w.easy);  // aborts a transfer still in progress
  }
  if (x.stopped) return;  // interrupted by stop(): not an outcome

  const std::size_t bytes = x.body.data.size();
  if (x.code != CURLE_OK) {
    PollResult r = PollResult::network;
    if (x.body.too_large || x.code == CURLE_FILESIZE_EXCEEDED) {
      r = PollResult::too_large;
      x.error = "response body over " + std::to_string(o.max_body_bytes) +
                " bytes (the poller's limit, numflow-ingest --8x8-poll-max-body-bytes)";
    } else if (x.code == CURLE_OPERATION_TIMEDOUT) {
      r = PollResult::timeout;
    }
    finish(r, x.status, x.latency, bytes, x.error, std::nullopt);
    return;
  }
  if (x.status != 200) {
    PollResult r = PollResult::unexpected_status;
    std::optional<milliseconds> retry_after;
    if (x.status == 401 || x.status == 403) {
      r = PollResult::auth;
    } else if (x.status == 429) {
      r = PollResult::rate_limited;
      if (x.retry_after) retry_after = parse_retry_after(*x.retry_after, std::chrono::system_clock::now());
    } else if (x.status >= 400 && x.status < 500) {
      r = PollResult::http_4xx;
    } else if (x.status >= 500 && x.status < 600) {
      r = PollResult::server_error;
    }
    finish(r, x.status, x.latency, bytes, "HTTP " + std::to_string(x.status), retry_after);
    return;
  }

  // --- 200: into the raw topic, like a webhook -------------------------------------------------
  publish::Message msg;
  msg.topic = o.raw_topic;
  msg.key = "8x8:" + target.account.id;
  msg.value = std::move(x.body.data);
  msg.headers.emplace_back("numflow-provider", "8x8");
  msg.headers.emplace_back("numflow-received-at", now_rfc3339_ms());
  msg.headers.emplace_back("numflow-request-id", request_id);
  if (!x.content_type.empty()) msg.headers.emplace_back("content-type", x.content_type);
  msg.headers.emplace_back("numflow-auth", "poll");
  msg.headers.emplace_back("numflow-source", "poll");
  msg.headers.emplace_back("numflow-poll-subaccount", target.account.id);

  std::uint64_t seq = 0;
  {
    std::lock_guard lock(shared_->mu);
    seq = ++shared_->delivery_seq;
    shared_->delivery.reset();
  }
  try {
    sink_.submit(std::move(msg), [shared = shared_, seq](publish::DeliveryResult r) {
      std::lock_guard lock(shared->mu);
      if (shared->delivery_seq != seq) return;  // given up on (timeout or stop)
      shared->delivery = std::move(r);
      shared->cv.notify_all();
    });
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(shared_->mu);
      ++shared_->delivery_seq;
    }
    finish(PollResult::kafka, x.status, x.latency, bytes, std::string("submit failed: ") + e.what(), std::nullopt);
    return;
  }
  std::optional<publish::DeliveryResult> report;
  {
    std::unique_lock lock(shared_->mu);
    shared_->cv.wait_for(lock, o.delivery_timeout, [&] { return shared_->delivery.has_value() || shared_->stopping; });
    report = std::move(shared_->delivery);
    shared_->delivery.reset();
    ++shared_->delivery_seq;  // a report that comes later is ignored
    if (!report && shared_->stopping) return;
  }
  if (!report) {
    finish(PollResult::kafka, x.status, x.latency, bytes, "no delivery report within the delivery timeout",
           std::nullopt);
  } else if (report->status != publish::Delivery::persisted &&
             report->error.find(kKafkaTooLarge) != std::string::npos) {
    // librdkafka's message.max.bytes or the raw topic's max.message.bytes is below this body:
    // fetching it again will not help.
    finish(PollResult::too_large, x.status, x.latency, bytes,
           "Kafka refused the snapshot as too large (" + report->error +
               "): the producer's message.max.bytes or the raw topic's max.message.bytes is below " +
               std::to_string(bytes) + " bytes (a raw topic created before: raise its max.message.bytes)",
           std::nullopt);
  } else if (report->status != publish::Delivery::persisted) {
    finish(PollResult::kafka, x.status, x.latency, bytes,
           "not persisted: " + (report->error.empty() ? std::string("delivery failed") : report->error), std::nullopt);
  } else {
    finish(PollResult::success, x.status, x.latency, bytes, "", std::nullopt);
  }
}

}  // namespace numflow::ingest
