#include "ingest/ingest_handler.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_set>
#include <utility>

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include "common/crypto.h"
#include "common/time.h"
#include "ingest/waiting_list.h"

namespace numflow::ingest {

using Clock = std::chrono::steady_clock;

// Longest account kept in a raw record's key (see handle()).
constexpr std::size_t kMaxKeyAccountBytes = 256;

// ---------------------------------------------------------------------------------------------
// Small pieces

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::accepted: return "accepted";
    case Outcome::refused: return "refused";
    case Outcome::answered: return "answered";
    case Outcome::not_ready: return "not_ready";
    case Outcome::queue_full: return "queue_full";
    case Outcome::unavailable: return "unavailable";
    case Outcome::failed: return "failed";
    case Outcome::timeout: return "timeout";
    case Outcome::overloaded: return "overloaded";
    case Outcome::too_large: return "too_large";
    case Outcome::error: return "error";
  }
  return "unknown";
}

AccountOf json_account_at(std::vector<std::string> pointers) {
  auto compiled = std::make_shared<std::vector<rapidjson::Pointer>>();
  for (const auto& text : pointers) {
    rapidjson::Pointer p(text.c_str(), text.size());
    if (!p.IsValid()) throw std::invalid_argument("invalid JSON pointer '" + text + "'");
    compiled->push_back(std::move(p));
  }
  return [compiled](std::string_view body) -> std::string {
    if (body.empty()) return {};
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
    if (doc.HasParseError()) return {};
    for (const auto& p : *compiled) {
      const rapidjson::Value* v = p.Get(doc);
      if (v == nullptr) continue;
      if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
      if (v->IsInt64()) return std::to_string(v->GetInt64());
      if (v->IsUint64()) return std::to_string(v->GetUint64());
    }
    return {};
  };
}

namespace {

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto plain = [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c != '"' && c != '\\';
  };
  out += '"';
  // Nearly always nothing to escape (a request id is hex): appended whole, not a byte at a time.
  if (std::all_of(s.begin(), s.end(), plain)) {
    out += s;
    out += '"';
    return;
  }
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
  out += '"';
}

http::Response json(int status, std::string_view key, std::string_view value, const std::string& request_id) {
  std::string body;
  body.reserve(24 + key.size() + value.size() + request_id.size());  // one allocation, not three
  body += '{';
  append_json_string(body, key);
  body += ':';
  append_json_string(body, value);
  body += ",\"request_id\":";
  append_json_string(body, request_id);
  body += '}';
  http::Response r = http::Response::json(status, std::move(body));
  r.headers.add("X-Request-Id", request_id);
  r.headers.add("Cache-Control", "no-store");
  return r;
}

http::Response method_not_allowed(std::string allow, const std::string& request_id) {
  http::Response r = json(405, "error", "method_not_allowed", request_id);
  r.headers.add("Allow", std::move(allow));
  return r;
}

std::int64_t unix_ms(std::chrono::system_clock::time_point tp) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Shared state: lives as long as any request that may still be answered (delivery callbacks
// hold it), so a late report after ~IngestHandler is harmless.

struct IngestHandler::Core {
  explicit Core(IngestOptions o)
      : opt(std::move(o)),
        retry_after(std::to_string(opt.retry_after.count())),
        // Never later than the response deadline (ingest_handler.h, shed_backlog).
        shed_at(opt.shed_backlog.count() > 0 ? std::min(opt.shed_backlog, opt.response_deadline)
                                             : opt.response_deadline) {}

  const ProviderRoute* find_route(std::string_view path) const {
    for (const auto& r : opt.routes) {
      if (r.path == path) return &r;
    }
    return nullptr;
  }

  http::Response unavailable(std::string_view error, const std::string& request_id) const {
    http::Response r = json(503, "error", error, request_id);
    r.headers.add("Retry-After", retry_after);
    return r;
  }

  void record(const ProviderRoute& route, Outcome outcome, int status, Clock::time_point received,
              std::size_t body_bytes, std::string_view reason = {}, std::string_view client = {},
              std::string_view request_id = {}) {
    std::atomic<std::uint64_t>* counter = nullptr;
    switch (outcome) {
      case Outcome::accepted: counter = &accepted; break;
      case Outcome::refused: counter = &refused; break;
      case Outcome::answered: counter = &answered; break;
      case Outcome::not_ready: counter = &not_ready; break;
      case Outcome::queue_full: counter = &queue_full; break;
      case Outcome::unavailable: counter = &unavailable_n; break;
      case Outcome::failed: counter = &failed; break;
      case Outcome::timeout: counter = &timeouts; break;
      case Outcome::overloaded: counter = &overloaded; break;
      case Outcome::too_large: counter = &too_large; break;
      case Outcome::error: counter = &errors; break;
    }
    counter->fetch_add(1, std::memory_order_relaxed);
    if (opt.on_outcome) {
      try {
        opt.on_outcome(RequestOutcome{route.provider, route.path, outcome, status, Clock::now() - received, body_bytes,
                                      reason, client, request_id});
      } catch (...) {
      }
    }
  }

  void release_in_flight() {
    if (in_flight.fetch_sub(1) == 1) {
      std::lock_guard lock(idle_m);
      idle_cv.notify_all();
    }
  }

  const IngestOptions opt;
  const std::string retry_after;
  const std::chrono::milliseconds shed_at;  // backlog age from which webhooks are shed
  std::atomic<bool> draining{false};

  std::atomic<std::uint64_t> not_found{0}, wrong_method{0};
  std::atomic<std::uint64_t> webhook_requests{0}, accepted{0}, refused{0}, answered{0}, not_ready{0},
      queue_full{0}, unavailable_n{0}, failed{0}, timeouts{0}, overloaded{0}, too_large{0}, errors{0},
      late_reports{0};
  std::atomic<std::size_t> in_flight{0};

  // The submissions Kafka has not reported on (waiting_list.h), and when the deadline thread is
  // to wake next: a new entry wakes it only when its deadline comes sooner than that.
  mutable std::mutex waiting_m;
  WaitingList waiting;
  Clock::time_point deadline_wake = Clock::time_point::max();
  std::condition_variable deadline_cv;
  bool stopping = false;

  Clock::duration backlog_age() const {
    std::lock_guard lock(waiting_m);
    const auto oldest = waiting.oldest_submission();
    return oldest ? Clock::now() - *oldest : Clock::duration::zero();
  }
  bool shedding() const { return backlog_age() >= shed_at; }
  mutable std::mutex idle_m;
  mutable std::condition_variable idle_cv;

  struct Pending;
  // Links p (keeping it alive while linked is the caller's: see Pending); wakes the deadline
  // thread when p is due before the time it sleeps until.
  void wait_for_report(Pending& p);
  void drop_deadline(Pending& p);  // answered: no deadline to keep; still backlog until reported
  void reported(Pending& p);  // Kafka has reported on it (or it is being dropped): unlinked
  // Unlinks the entries due by `due` (all: time_point::max()) for answering outside the lock.
  std::vector<std::shared_ptr<Pending>> take_waiting(Clock::time_point due);
  std::thread deadline_thread;
};

// One submitted request: answered exactly once, by its delivery report or by its deadline.
// Linked in Core::waiting from submission until its delivery report (the sink's callback keeps
// it alive until then); a Pending dropped unreported (a sink that lost its callback) unlinks
// itself.
struct IngestHandler::Core::Pending : Waiting, std::enable_shared_from_this<Pending> {
  // A sink that drops a callback uncalled must not leave its request unanswered (nor linked).
  ~Pending() {
    if (!core) return;
    if (respond && !done.load()) complete(core->unavailable("kafka_unavailable", request_id), Outcome::error);
    if (!unlinked.load(std::memory_order_relaxed)) core->reported(*this);
  }
  std::shared_ptr<Core> core;
  const ProviderRoute* route = nullptr;  // points into core->opt.routes
  http::Respond respond;
  std::string request_id;
  Clock::time_point received{};
  std::size_t body_bytes = 0;
  std::atomic<bool> done{false};
  // Out of Core::waiting (its report came): saves a lock when answering and on the way out. The
  // deadline thread may read it while the report sets it; either value is safe (unlinking twice
  // is harmless).
  std::atomic<bool> unlinked{false};

  // False when it had been answered already.
  bool complete(http::Response response, Outcome outcome) {
    if (done.exchange(true)) return false;
    if (!unlinked.load(std::memory_order_relaxed)) core->drop_deadline(*this);
    core->record(*route, outcome, response.status, received, body_bytes);
    http::Respond r = std::move(respond);  // only the winner gets here
    try {
      r(std::move(response));
    } catch (...) {
    }
    core->release_in_flight();
    return true;
  }

  void on_delivery(const publish::DeliveryResult& result) {
    core->reported(*this);
    unlinked.store(true, std::memory_order_relaxed);
    if (done.load()) {
      core->late_reports.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    bool won = false;
    switch (result.status) {
      case publish::Delivery::persisted: {
        std::string body;
        body.reserve(40 + request_id.size());  // one allocation, not three
        body += "{\"status\":\"accepted\",\"request_id\":";
        append_json_string(body, request_id);
        body += '}';
        http::Response r = http::Response::json(200, std::move(body));
        r.headers.add("X-Request-Id", request_id);
        r.headers.add("Cache-Control", "no-store");
        won = complete(std::move(r), Outcome::accepted);
        break;
      }
      case publish::Delivery::failed:
        won = complete(core->unavailable("kafka_delivery_failed", request_id), Outcome::failed);
        break;
      case publish::Delivery::queue_full:
        won = complete(core->unavailable("kafka_queue_full", request_id), Outcome::queue_full);
        break;
      case publish::Delivery::unavailable:
        won = complete(core->unavailable("kafka_unavailable", request_id), Outcome::unavailable);
        break;
    }
    if (!won) core->late_reports.fetch_add(1, std::memory_order_relaxed);
  }
};

// ---------------------------------------------------------------------------------------------

IngestHandler::IngestHandler(IngestOptions options, publish::RawSink& sink) : sink_(sink) {
  if (options.raw_topic.empty()) throw std::invalid_argument("ingest: the raw topic name is empty");
  if (options.response_deadline.count() <= 0) throw std::invalid_argument("ingest: response deadline must be > 0");
  std::unordered_set<std::string> paths;
  for (auto& route : options.routes) {
    if (route.provider.empty()) throw std::invalid_argument("ingest: a route has no provider name");
    if (!route.auth) throw std::invalid_argument("ingest: route for '" + route.provider + "' has no authenticator");
    if (route.path.empty()) route.path = "/webhooks/" + route.provider;
    if (route.path == "/healthz" || route.path == "/readyz" || options.get_routes.contains(route.path) ||
        !paths.insert(route.path).second) {
      throw std::invalid_argument("ingest: duplicate route path '" + route.path + "'");
    }
  }
  core_ = std::make_shared<Core>(std::move(options));
  core_->deadline_thread = std::thread([this] { deadline_loop(); });
}

IngestHandler::~IngestHandler() {
  {
    std::lock_guard lock(core_->waiting_m);
    core_->stopping = true;
  }
  core_->deadline_cv.notify_all();
  if (core_->deadline_thread.joinable()) core_->deadline_thread.join();
  for (auto& p : core_->take_waiting(Clock::time_point::max()))
    p->complete(core_->unavailable("shutting_down", p->request_id), Outcome::unavailable);
}

void IngestHandler::Core::drop_deadline(Pending& p) {
  std::lock_guard lock(waiting_m);
  waiting.answered(p);
}

void IngestHandler::Core::reported(Pending& p) {
  std::lock_guard lock(waiting_m);
  waiting.reported(p);
}

void IngestHandler::Core::wait_for_report(Pending& p) {
  bool wake;
  {
    std::lock_guard lock(waiting_m);
    wake = waiting.add(p) && p.deadline < deadline_wake;
  }
  if (wake) deadline_cv.notify_one();
}

std::vector<std::shared_ptr<IngestHandler::Core::Pending>> IngestHandler::Core::take_waiting(Clock::time_point due) {
  std::vector<std::shared_ptr<Pending>> taken;
  std::lock_guard lock(waiting_m);
  waiting.take_due(due, [&](Waiting& w) {
    // Null only while its last owner is destroying it unanswered (it waits on our lock).
    if (auto p = static_cast<Pending&>(w).weak_from_this().lock()) taken.push_back(std::move(p));
  });
  return taken;
}

void IngestHandler::deadline_loop() {
  Core& c = *core_;
  std::unique_lock lock(c.waiting_m);
  while (!c.stopping) {
    const auto next = c.waiting.next_deadline();
    const auto now = Clock::now();
    if (!next || *next > now) {
      c.deadline_wake = next.value_or(Clock::time_point::max());
      if (next)
        c.deadline_cv.wait_until(lock, *next);
      else
        c.deadline_cv.wait(lock);
      continue;
    }
    c.deadline_wake = Clock::time_point::max();  // awake: whoever adds need not notify
    lock.unlock();
    // Everything due, or due within a millisecond (one wake-up for a burst of timeouts).
    for (auto& p : c.take_waiting(now + std::chrono::milliseconds(1)))
      p->complete(c.unavailable("kafka_timeout", p->request_id), Outcome::timeout);
    lock.lock();
  }
}

http::Handler IngestHandler::handler() {
  return [this](http::Request&& request, http::Respond respond) { handle(std::move(request), std::move(respond)); };
}

void IngestHandler::handle(http::Request&& req, http::Respond respond) {
  Core& c = *core_;
  const std::string request_id = crypto::unique_hex_id();
  const std::string_view path = req.path();
  const ProviderRoute* route = c.find_route(path);

  if (route == nullptr) {
    const bool get_like = req.method == "GET" || req.method == "HEAD";
    auto wrong_method = [&](const char* allow) {
      c.wrong_method.fetch_add(1, std::memory_order_relaxed);
      respond(method_not_allowed(allow, request_id));
    };
    if (path == "/healthz") {
      if (get_like)
        respond(json(200, "status", "ok", request_id));
      else
        wrong_method("GET, HEAD");
    } else if (path == "/readyz") {
      if (!get_like) {
        wrong_method("GET, HEAD");
      } else if (!c.draining.load() && sink_.ready()) {
        respond(json(200, "status", "ready", request_id));
      } else {
        respond(json(503, "status", "not_ready", request_id));
      }
    } else if (auto it = c.opt.get_routes.find(path); it != c.opt.get_routes.end()) {
      if (!get_like) {
        wrong_method("GET, HEAD");
      } else {
        http::Response r;
        try {
          r = it->second(req);
        } catch (...) {
          r = json(500, "error", "internal_error", request_id);
        }
        respond(std::move(r));
      }
    } else {
      c.not_found.fetch_add(1, std::memory_order_relaxed);
      respond(json(404, "error", "not_found", request_id));
    }
    return;
  }

  if (req.method != "POST") {
    c.wrong_method.fetch_add(1, std::memory_order_relaxed);
    respond(method_not_allowed("POST", request_id));
    return;
  }

  c.webhook_requests.fetch_add(1, std::memory_order_relaxed);
  const Clock::time_point received = req.received_at == Clock::time_point{} ? Clock::now() : req.received_at;
  const std::size_t body_bytes = req.body.size();
  auto answer_now = [&](http::Response r, Outcome outcome, std::string_view reason = {}) {
    c.record(*route, outcome, r.status, received, body_bytes, reason,
             outcome == Outcome::refused ? std::string_view(req.remote_ip) : std::string_view{}, request_id);
    respond(std::move(r));
  };

  if (body_bytes > c.opt.max_body_bytes) {
    answer_now(json(413, "error", "body_too_large", request_id), Outcome::too_large);
    return;
  }

  AuthResult auth;
  try {
    auth = route->auth->check(req);
  } catch (...) {
    answer_now(json(500, "error", "internal_error", request_id), Outcome::error);
    return;
  }
  switch (auth.kind) {
    case AuthResult::refused: {
      const int status = (auth.status >= 400 && auth.status <= 499) ? auth.status : 401;
      const std::string reason = auth.reason.empty() ? "unauthorized" : auth.reason;
      answer_now(json(status, "error", reason, request_id), Outcome::refused, reason);
      return;
    }
    case AuthResult::answered: {
      http::Response r = std::move(auth.answer);
      if (!r.headers.contains("X-Request-Id")) r.headers.add("X-Request-Id", request_id);
      answer_now(std::move(r), Outcome::answered);
      return;
    }
    case AuthResult::accepted:
      break;
  }

  if (!sink_.ready()) {
    answer_now(c.unavailable("not_ready", request_id), Outcome::not_ready);
    return;
  }
  if (c.shedding()) {
    answer_now(c.unavailable("overloaded", request_id), Outcome::overloaded);
    return;
  }

  std::string account;
  if (route->account_of) {
    try {
      account = route->account_of(req.body);
    } catch (...) {
      account.clear();
    }
  }
  // The key only spreads accounts over partitions. A huge account id (a 900 KB string in a 1 MiB
  // body) would double the message past what Kafka takes: 503 on every retry, the body never in.
  // The body keeps the account for the transform; the key treats it as unknown.
  if (account.size() > kMaxKeyAccountBytes) account.clear();

  publish::Message msg;
  msg.topic = c.opt.raw_topic;
  msg.key.reserve(route->provider.size() + 1 + account.size());
  msg.key.append(route->provider).append(":").append(account);
  const auto wall = req.received_wall == std::chrono::system_clock::time_point{} ? std::chrono::system_clock::now()
                                                                                  : req.received_wall;
  msg.headers.reserve(5);
  msg.headers.emplace_back("numflow-provider", route->provider);
  msg.headers.emplace_back("numflow-received-at", format_rfc3339_ms(unix_ms(wall)));
  msg.headers.emplace_back("numflow-request-id", request_id);
  if (const std::string* ct = req.headers.find("Content-Type")) msg.headers.emplace_back("content-type", *ct);
  msg.headers.emplace_back("numflow-auth", auth.method.empty() ? std::string("unspecified") : auth.method);
  msg.value = std::move(req.body);

  auto pending = std::make_shared<Core::Pending>();
  pending->core = core_;
  pending->route = route;
  pending->respond = std::move(respond);
  pending->request_id = request_id;
  pending->received = received;
  pending->submitted = Clock::now();
  pending->deadline = received + c.opt.response_deadline;
  pending->body_bytes = body_bytes;
  c.in_flight.fetch_add(1);
  c.wait_for_report(*pending);  // before submit: the report may come from inside it

  try {
    sink_.submit(std::move(msg), [pending](publish::DeliveryResult result) { pending->on_delivery(result); });
  } catch (...) {
    pending->complete(c.unavailable("kafka_unavailable", request_id), Outcome::error);
    return;
  }
}

std::size_t IngestHandler::in_flight() const { return core_->in_flight.load(); }

std::chrono::steady_clock::duration IngestHandler::backlog_age() const { return core_->backlog_age(); }

bool IngestHandler::wait_idle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(core_->idle_m);
  return core_->idle_cv.wait_for(lock, timeout, [&] { return core_->in_flight.load() == 0; });
}

void IngestHandler::set_draining(bool draining) { core_->draining.store(draining); }

IngestStats IngestHandler::stats() const {
  const Core& c = *core_;
  IngestStats s;
  s.webhook_requests = c.webhook_requests.load();
  s.accepted = c.accepted.load();
  s.refused = c.refused.load();
  s.answered = c.answered.load();
  s.not_ready = c.not_ready.load();
  s.queue_full = c.queue_full.load();
  s.unavailable = c.unavailable_n.load();
  s.failed = c.failed.load();
  s.timeouts = c.timeouts.load();
  s.overloaded = c.overloaded.load();
  s.too_large = c.too_large.load();
  s.errors = c.errors.load();
  s.late_reports = c.late_reports.load();
  s.not_found = c.not_found.load();
  s.wrong_method = c.wrong_method.load();
  s.in_flight = c.in_flight.load();
  return s;
}

}  // namespace numflow::ingest
