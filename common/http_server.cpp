#include "common/http_server.h"

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <ctime>
#include <future>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/status.hpp>

namespace numflow::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
// Each io thread runs an io_context of its own, and a connection lives on one of them from accept
// to close, so its handlers never run concurrently and need no strand (a strand's lock, queue and
// invoker per completion were ~0.7 µs of numflow-ingest's ~10 µs per webhook on its io thread).
// Concrete executor types rather than Asio's type-erased any_io_executor: every completion
// otherwise copies and queries a polymorphic executor (about 6% of numflow-ingest's CPU).
using Executor = asio::io_context::executor_type;
using Socket = tcp::socket::rebind_executor<Executor>::other;
using Timer = asio::steady_timer::rebind_executor<Executor>::other;

// ---------------------------------------------------------------------------------------------
// Small helpers

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// True when the comma-separated list `value` contains `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// IMF-fixdate for the Date header, formatted at most once per second per thread.
std::string_view http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local char buf[40] = {};
  thread_local std::size_t len = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second || len == 0) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return {buf, len};
}

bool safe_header_value(std::string_view v) {
  // One pass (find_first_of walked its set for every byte, then find('\0') walked again).
  return std::none_of(v.begin(), v.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool safe_header_name(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    if (c <= ' ' || c == ':' || c == 127) return false;
  }
  return true;
}

constexpr std::size_t kReadChunk = 16 * 1024;
// While a request is being handled we keep reading (to notice a client that goes away); bytes of
// pipelined requests are buffered up to this much, then reading pauses until the response.
constexpr std::size_t kMonitorCap = 64 * 1024;

const std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
const std::string_view kTooManyConnections =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 33\r\n"
    "Retry-After: 1\r\n"
    "Connection: close\r\n"
    "\r\n"
    "{\"error\":\"too_many_connections\"}\n";

thread_local const void* tl_io_server = nullptr;

constexpr auto kNever = std::chrono::steady_clock::time_point::max();

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Headers, Request, Response

void Headers::add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }

void Headers::set(std::string name, std::string value) {
  erase(name);
  add(std::move(name), std::move(value));
}

std::size_t Headers::erase(std::string_view name) {
  const auto before = items_.size();
  std::erase_if(items_, [&](const Entry& e) { return iequals(e.first, name); });
  return before - items_.size();
}

const std::string* Headers::find(std::string_view name) const {
  for (const auto& e : items_) {
    if (iequals(e.first, name)) return &e.second;
  }
  return nullptr;
}

std::string_view Headers::get(std::string_view name, std::string_view fallback) const {
  const std::string* v = find(name);
  return v ? std::string_view(*v) : fallback;
}

std::string_view Request::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view Request::query() const {
  std::string_view t = target;
  const auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.reserve(4);  // numflow's answers add two or three more: one allocation, not three
  r.headers.add("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

Response Response::json(int status, std::string body) {
  return text(status, std::move(body), "application/json");
}

std::optional<HostPort> parse_host_port(std::string_view text) {
  HostPort hp;
  std::string_view port;
  if (text.empty()) return std::nullopt;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    hp.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
    if (hp.host.empty()) return std::nullopt;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    const std::string_view host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
    hp.host = (host.empty() || host == "*") ? std::string("0.0.0.0") : std::string(host);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  hp.port = static_cast<std::uint16_t>(value);
  return hp;
}

// ---------------------------------------------------------------------------------------------
// Beast's HTTP/1.1 parser, building numflow's Request as it goes. (Beast's own parser keeps the
// fields in its basic_fields, a node allocated per field, and they were then copied into Request
// one by one: that copy and those nodes were a few percent of numflow-ingest's CPU.)

namespace {

class RequestParser final : public bhttp::basic_parser<true> {
 public:
  RequestParser() { request_.headers.reserve(8); }  // a webhook has fewer
  Request& request() { return request_; }

 private:
  void on_request_impl(bhttp::verb, std::string_view method, std::string_view target, int version,
                       beast::error_code&) override {
    request_.method.assign(method);
    request_.target.assign(target);
    request_.version = static_cast<unsigned>(version);
  }
  void on_response_impl(int, std::string_view, int, beast::error_code&) override {}
  void on_field_impl(bhttp::field, std::string_view name, std::string_view value, beast::error_code&) override {
    request_.headers.add(std::string(name), std::string(value));
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, beast::error_code& ec) override {
    if (!length) return;
    if (*length > request_.body.max_size()) {
      ec = bhttp::error::buffer_overflow;
      return;
    }
    request_.body.reserve(static_cast<std::size_t>(*length));
  }
  std::size_t on_body_impl(std::string_view body, beast::error_code&) override {
    request_.body.append(body);
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, std::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, std::string_view body, beast::error_code&) override {
    request_.body.append(body);
    return body.size();
  }
  void on_finish_impl(beast::error_code&) override {}

  Request request_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// State shared with Respond callbacks; outlives the server while such callbacks exist.

class Session;

namespace {

struct Shared {
  // Respond callbacks post to the io_context only while `open` (read lock); the server closes it
  // (write lock) before the io_context goes away.
  std::shared_mutex gate;
  bool open = true;

  // Responses given from other threads wait here for an io thread; one posted drain delivers all
  // that came meanwhile. Answers come in bursts (a Kafka delivery report acknowledges many
  // messages at once, on one producer thread): one wake-up of an io thread per burst instead of
  // one per response, which was a tenth of ingest's CPU in task switches and wake-ups.
  // Answers given on the connection's own io thread (its delivery reports are served there) come
  // this way too: writing each in place, inside the producer's report callbacks, was measured
  // slower (47,800-48,700 webhooks/s against 51,000-53,000): a burst's reports first, then its answers.
  std::mutex ready_m;
  std::vector<std::pair<std::shared_ptr<Session>, Response>> ready;
  bool drain_posted = false;

  std::atomic<std::uint64_t> accepted{0}, rejected{0}, active{0}, requests{0}, in_flight{0}, dropped{0},
      aborts{0}, read_timeouts{0}, bad_requests{0}, too_large{0}, headers_too_large{0}, handler_errors{0},
      body_memory_full{0}, body_memory{0};

  std::mutex m;
  std::condition_variable cv;
  void notify() {
    std::lock_guard lock(m);
    cv.notify_all();
  }
};

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions o, Handler h)
      : opt(std::move(o)),
        handler(std::move(h)),
        shared(std::make_shared<Shared>()),
        threads_wanted(opt.io_threads ? opt.io_threads : std::max(1u, std::thread::hardware_concurrency())),
        contexts(threads_wanted),
        acceptor(main_executor()),
        accept_retry(main_executor()) {}

  ~Impl() {
    // Threads are joined by now; sessions must go before the io_context does.
    std::unordered_map<Session*, std::shared_ptr<Session>> rest;
    {
      std::lock_guard lock(reg_m);
      rest.swap(sessions);
    }
    rest.clear();
  }

  void start();
  bool shutdown(std::chrono::steady_clock::time_point deadline);
  void stop_accepting();
  void join() {
    std::unique_lock lock(life_m);
    life_cv.wait(lock, [&] { return life == Life::stopped; });
  }

  void do_accept();
  void on_accept(beast::error_code ec, Socket socket);
  struct Watch {
    asio::posix::stream_descriptor fd;
    std::function<void()> on_readable;
  };
  void watch(int fd, std::function<void()> on_readable);
  void arm(Watch& w);
  void unregister(Session* s);
  void watch_later(std::weak_ptr<Session> s, std::uint64_t seq);
  void arm_watch_sweep();
  void watch_sweep();
  void error(std::string_view what) const {
    if (opt.on_error) {
      try {
        opt.on_error(what);
      } catch (...) {
      }
    }
  }
  bool in_io_thread() const { return tl_io_server == this; }
  // One io_context per io thread; the first also runs the acceptor, the sweep and the watches.
  struct Contexts {
    explicit Contexts(unsigned n) {
      for (unsigned i = 0; i < n; ++i) list.push_back(std::make_unique<asio::io_context>(1));  // one thread each
    }
    // In order: the first holds the accept in progress, whose socket belongs to another context.
    ~Contexts() {
      for (auto& c : list) c.reset();
    }
    std::size_t size() const { return list.size(); }
    asio::io_context& operator[](std::size_t i) { return *list[i]; }
    std::vector<std::unique_ptr<asio::io_context>> list;
  };
  Executor main_executor() { return contexts[0].get_executor(); }
  // Where the next connection lives: round robin over the io threads.
  Executor next_executor() { return contexts[next_context++ % contexts.size()].get_executor(); }
  template <class F>
  void for_each_session(F f);

  ServerOptions opt;
  Handler handler;
  // The shortest timeout of the keep-alive cycle (read, write, idle), how far ahead a
  // connection's timer is armed at most (Session::set_deadline). Not below 100 ms: with a zero
  // timeout among them a timer armed "now" would wake again and again while a longer deadline runs.
  std::chrono::milliseconds cycle_timeout{
      std::max(std::min({opt.read_timeout, opt.write_timeout, opt.idle_timeout}), std::chrono::milliseconds(100))};
  std::shared_ptr<Shared> shared;
  unsigned threads_wanted;

  std::mutex reg_m;
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions;
  std::atomic<bool> draining{false};
  std::atomic<bool> accept_closed{false};

  enum class Life { created, running, stopping, stopped };
  std::mutex life_m;
  std::condition_variable life_cv;
  Life life = Life::created;
  bool shutdown_result = true;
  std::uint16_t port = 0;

  // Asio objects last: destroyed first (in reverse order).
  Contexts contexts;
  std::vector<asio::executor_work_guard<Executor>> work;
  std::size_t next_context = 0;  // only the acceptor (on the main context) uses it
  tcp::acceptor acceptor;
  asio::steady_timer accept_retry;
  std::vector<std::unique_ptr<Watch>> watches;  // appended under life_m; destroyed before the contexts
  // Requests waiting for their answer whose connection is not watched yet (watch_later): those
  // handed over since the last sweep, and those of the sweep before, due at the next one.
  using Waiting = std::vector<std::pair<std::weak_ptr<Session>, std::uint64_t>>;
  std::mutex waiting_m;
  Waiting waiting_new, waiting_due, waiting_spare;
  asio::steady_timer watch_sweep_timer{main_executor()};
  std::vector<std::thread> threads;
};

// ---------------------------------------------------------------------------------------------
// One connection

namespace {

class ResponseSlot;

}  // namespace

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server::Impl& srv, Socket&& socket, std::string ip, std::uint16_t port)
      : srv_(srv),
        socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        remote_ip_(std::move(ip)),
        remote_port_(port) {}

  Executor executor() { return socket_.get_executor(); }

  void start() {
    // The monitor's read (below) must return would_block, not wait, on a spurious wake-up.
    beast::error_code ec;
    socket_.non_blocking(true, ec);
    if (state_ != State::closed) do_idle();
  }

  // From a Respond callback, on the connection's io thread.
  void on_response(Response r) {
    waiting_seq_.store(0, std::memory_order_relaxed);
    if (state_ != State::handling) {
      srv_.shared->dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (monitoring_) {
      pending_response_ = std::move(r);
      beast::error_code ec;
      socket_.cancel(ec);  // on_monitor() continues
      return;
    }
    write_response(std::move(r));
  }

  // Server shutting down: finish what is in progress, then close.
  void drain() {
    switch (state_) {
      case State::idle:
        close();
        break;
      case State::reading:
      case State::handling:
      case State::writing:
        close_after_ = true;
        break;
      case State::lingering:
        close();
        break;
      case State::closed:
        break;
    }
  }

  void force_close() { close(); }

  // From the server's sweep: this request has waited a while for its answer; from now on a
  // client that goes away is noticed at once.
  void watch_if_still_waiting(std::uint64_t seq) {
    if (state_ == State::handling && seq == request_seq_ && !monitoring_) start_monitor();
  }
  // The request the handler has not answered yet (0: none); read by the sweep on another thread.
  bool still_waiting(std::uint64_t seq) const { return waiting_seq_.load(std::memory_order_relaxed) == seq; }

 private:
  enum class State { idle, reading, handling, writing, lingering, closed };

  void do_idle() {
    if (srv_.draining.load()) {
      close();
      return;
    }
    if (buffer_.size() > 0) {  // a pipelined request is already here
      begin_request();
      return;
    }
    state_ = State::idle;
    set_deadline(srv_.opt.idle_timeout);
    socket_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->on_idle_read(ec, n);
                            });
  }

  void on_idle_read(beast::error_code ec, std::size_t n) {
    if (state_ == State::closed) return;
    if (ec) {  // idle timeout, client closed, or shutdown
      close();
      return;
    }
    buffer_.commit(n);
    begin_request();
  }

  void begin_request() {
    state_ = State::reading;
    received_at_ = std::chrono::steady_clock::now();
    received_wall_ = std::chrono::system_clock::now();
    version_ = 11;
    head_ = false;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(srv_.opt.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(static_cast<std::uint64_t>(srv_.opt.max_body_bytes));
    header_bytes_ = 0;
    set_deadline(srv_.opt.read_timeout, received_at_);
    read_header();
  }

  // Parses what is buffered, reading more until the header is complete. Not Beast's
  // async_read_header: Beast 1.74's header_limit bounds what one parse step sees, and fields
  // parsed in an earlier step are consumed and no longer counted, so a header arriving in two
  // reads could reach twice the limit. Counting every byte the parser consumes keeps it exact.
  void read_header() {
    if (buffer_.size() > 0) {
      beast::error_code ec;
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      header_bytes_ += used;
      if (header_bytes_ > srv_.opt.max_header_bytes) ec = bhttp::error::header_limit;
      if (ec != bhttp::error::need_more) {
        on_header(ec);
        return;
      }
    }
    read_more(&Session::read_header, bhttp::error::end_of_stream);
  }

  // Reads what the socket has into the buffer, then continues with `then`; a client that closes
  // here ends the request as `on_eof` says (nothing sent yet, or half a message).
  void read_more(void (Session::*then)(), bhttp::error on_eof) {
    socket_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = shared_from_this(), then, on_eof](beast::error_code ec, std::size_t n) {
                              if (self->state_ == State::closed) return;
                              if (ec) {
                                self->on_read_error(ec == asio::error::eof ? bhttp::make_error_code(on_eof) : ec);
                                return;
                              }
                              self->buffer_.commit(n);
                              ((*self).*then)();
                            });
  }

  void on_header(beast::error_code ec) {
    if (state_ == State::closed) return;
    if (ec) {
      on_read_error(ec);
      return;
    }
    const Request& h = parser_->request();
    version_ = h.version;
    head_ = h.method == "HEAD";
    if (parser_->is_done()) {
      on_read({});
      return;
    }
    if (!reserve_body_memory()) {
      srv_.shared->body_memory_full.fetch_add(1, std::memory_order_relaxed);
      Response busy = Response::json(503, "{\"error\":\"server_busy\"}");
      busy.headers.add("Retry-After", "1");
      close_after_ = true;
      error_close_ = true;
      parser_.reset();
      write_response(std::move(busy));
      return;
    }
    if (version_ >= 11 && buffer_.size() == 0 && has_token(h.headers.get("Expect"), "100-continue")) {
      asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](beast::error_code wec, std::size_t) {
                          if (self->state_ == State::closed) return;
                          if (wec) {
                            self->close();
                            return;
                          }
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  // Reserves what this request's body may take from the server-wide budget (its declared length,
  // or the body limit when chunked); false when the budget cannot take it.
  bool reserve_body_memory() {
    const std::size_t budget = srv_.opt.max_body_memory_bytes;
    if (budget == 0) return true;
    const auto declared = parser_->content_length();
    const std::uint64_t need = declared ? *declared : srv_.opt.max_body_bytes;
    if (need == 0) return true;
    auto& used = srv_.shared->body_memory;
    if (used.fetch_add(need, std::memory_order_relaxed) + need > budget) {
      used.fetch_sub(need, std::memory_order_relaxed);
      return false;
    }
    body_reserved_ = need;
    return true;
  }

  void release_body_memory() {
    if (body_reserved_ == 0) return;
    srv_.shared->body_memory.fetch_sub(body_reserved_, std::memory_order_relaxed);
    body_reserved_ = 0;
  }

  // Parses the body from what is buffered, reading more as it comes. (Not Beast's async_read: with
  // the whole webhook in the first read, as nearly always, that completed through the scheduler
  // once more per request.)
  void read_body() {
    while (buffer_.size() > 0 && !parser_->is_done()) {
      beast::error_code ec;
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) break;  // e.g. half a chunk header: wait for the rest
      if (ec) {
        on_read(ec);
        return;
      }
      if (used == 0) break;
    }
    if (parser_->is_done()) {
      on_read({});
      return;
    }
    read_more(&Session::read_body, bhttp::error::partial_message);  // a client leaving now: nothing to answer
  }

  void on_read_error(beast::error_code ec) {
    auto& s = *srv_.shared;
    if (ec == bhttp::error::body_limit) {
      s.too_large.fetch_add(1, std::memory_order_relaxed);
      error_response(413, "{\"error\":\"body_too_large\"}");
    } else if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
      s.headers_too_large.fetch_add(1, std::memory_order_relaxed);
      error_response(431, "{\"error\":\"headers_too_large\"}");
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
               ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      s.bad_requests.fetch_add(1, std::memory_order_relaxed);
      error_response(400, "{\"error\":\"bad_request\"}");
    } else {
      close();  // client closed or reset, or shutdown
    }
  }

  void error_response(int status, std::string body) {
    close_after_ = true;
    error_close_ = true;
    parser_.reset();
    write_response(Response::json(status, std::move(body)));
  }

  void on_read(beast::error_code ec) {
    if (state_ == State::closed) return;
    if (ec) {
      on_read_error(ec);
      return;
    }
    clear_deadline();
    state_ = State::handling;

    if (!parser_->keep_alive()) close_after_ = true;
    Request req = std::move(parser_->request());
    parser_.reset();
    req.remote_ip = remote_ip_;
    req.remote_port = remote_port_;
    req.received_at = received_at_;
    req.received_wall = received_wall_;

    dispatch(std::move(req));
  }

  void dispatch(Request&& req);

  // Waits for readiness, not for bytes: an async_read_some starts with a speculative read, and
  // while a webhook waits for Kafka the client almost never sends anything, so that read was a
  // syscall per request that failed with EAGAIN on the io thread. Readiness comes only when the
  // client does send (a pipelined request) or closes; then one read says which.
  void start_monitor() {
    if (buffer_.size() >= kMonitorCap) return;
    monitoring_ = true;
    socket_.async_wait(tcp::socket::wait_read,
                                [self = shared_from_this()](beast::error_code ec) { self->on_monitor_ready(ec); });
  }

  void on_monitor_ready(beast::error_code ec) {
    std::size_t n = 0;
    if (!ec && state_ != State::closed) {
      n = socket_.read_some(buffer_.prepare(kReadChunk), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};  // spurious: wait again
    }
    on_monitor(ec, n);
  }

  void on_monitor(beast::error_code ec, std::size_t n) {
    monitoring_ = false;
    if (state_ == State::closed) return;
    if (!ec) buffer_.commit(n);
    const bool gone = ec && ec != asio::error::operation_aborted;
    if (pending_response_) {
      Response r = std::move(*pending_response_);
      pending_response_.reset();
      if (gone) {
        srv_.shared->dropped.fetch_add(1, std::memory_order_relaxed);
        close();
        return;
      }
      write_response(std::move(r));
      return;
    }
    if (!ec) {
      start_monitor();
      return;
    }
    if (gone) {  // the client went away before its answer
      srv_.shared->aborts.fetch_add(1, std::memory_order_relaxed);
      close();
    }
  }

  // The status line and headers go into one string, the body stays where it is, and both leave
  // in one gathered write. (Beast's serializer walked its nested buffer sequences element by
  // element: about a tenth of numflow-ingest's CPU went there.)
  void write_response(Response r) {
    release_body_memory();  // the handler has answered: it is done with the body
    state_ = State::writing;
    const int status = (r.status >= 100 && r.status <= 999) ? r.status : 500;
    std::string& h = out_head_;
    h.clear();
    h += version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    const char digits[] = {static_cast<char>('0' + status / 100), static_cast<char>('0' + status / 10 % 10),
                           static_cast<char>('0' + status % 10), ' '};
    h.append(digits, sizeof digits);
    h += bhttp::obsolete_reason(bhttp::int_to_status(static_cast<unsigned>(status)));
    h += "\r\n";
    bool has_date = false;
    for (const auto& [name, value] : r.headers) {
      if (iequals(name, "content-length") || iequals(name, "transfer-encoding")) continue;
      if (iequals(name, "connection")) {
        if (has_token(value, "close")) close_after_ = true;
        continue;
      }
      if (!safe_header_name(name) || !safe_header_value(value)) continue;
      if (iequals(name, "date")) has_date = true;
      append_header(h, name, value);
    }
    if (!has_date) append_header(h, "Date", http_date());
    if (srv_.draining.load()) close_after_ = true;
    if (close_after_) {
      append_header(h, "Connection", "close");
    } else if (version_ == 10) {
      append_header(h, "Connection", "keep-alive");  // HTTP/1.0 closes unless told otherwise
    }
    out_body_.clear();
    const bool no_body = status < 200 || status == 204 || status == 304;
    if (!no_body) {
      append_header(h, "Content-Length", std::to_string(r.body.size()));
      if (!head_) out_body_ = std::move(r.body);
    }
    h += "\r\n";
    set_deadline(srv_.opt.write_timeout);
    const std::array<asio::const_buffer, 2> out{asio::buffer(out_head_), asio::buffer(out_body_)};
    asio::async_write(socket_, out, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_write(ec);
    });
  }

  static void append_header(std::string& out, std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }

  void on_write(beast::error_code ec) {
    if (state_ == State::closed) return;
    out_body_ = {};  // a large body is not kept for the connection's life
    if (ec) {
      close();
      return;
    }
    if (close_after_ || srv_.draining.load()) {
      // After an error response the rest of the request is probably still arriving: linger so
      // the client gets to read the answer. Otherwise close now unless input is waiting.
      beast::error_code aec;
      if (!error_close_ && socket_.available(aec) == 0 && !aec) {
        socket_.shutdown(tcp::socket::shutdown_send, aec);
        close();
        return;
      }
      linger();
      return;
    }
    do_idle();
  }

  // After a closing response: half-close and discard input for a while, so the client reads the
  // response rather than a reset caused by unread request bytes.
  void linger() {
    state_ = State::lingering;
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      close();
      return;
    }
    buffer_.consume(buffer_.size());
    set_deadline(srv_.opt.linger_timeout);
    linger_read();
  }

  void linger_read() {
    socket_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (self->state_ == State::closed) return;
                              if (ec) {
                                self->close();
                                return;
                              }
                              self->linger_read();  // not committed: discarded
                            });
  }

  // Deadlines without a timer operation per read and per write (Beast's tcp_stream armed and
  // cancelled one around each, and ran the cancelled handler: two extra completions per
  // request). A phase only stores its deadline; one timer per connection, armed at most once at
  // a time, compares it when it fires. It is armed no later than the keep-alive cycle's shortest
  // timeout ahead, so a later phase's deadline never comes before it and never re-arms it; a
  // busy connection's timer fires about once per that timeout.
  void set_deadline(std::chrono::milliseconds after,
                    std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) {
    deadline_ = now + after;
    if (deadline_ < timer_at_) arm_timer(std::min(deadline_, now + srv_.cycle_timeout));  // also when unarmed
  }

  void clear_deadline() { deadline_ = kNever; }

  void arm_timer(std::chrono::steady_clock::time_point at) {
    timer_at_ = at;
    timer_.expires_at(at);  // cancels a wait already armed: its handler sees a newer timer_at_
    timer_.async_wait([self = shared_from_this(), at](beast::error_code ec) { self->on_timer(ec, at); });
  }

  void on_timer(beast::error_code ec, std::chrono::steady_clock::time_point at) {
    if (ec || state_ == State::closed || at != timer_at_) return;  // cancelled or superseded
    timer_at_ = kNever;
    if (deadline_ == kNever) return;  // e.g. waiting for the handler: the next phase arms it
    const auto now = std::chrono::steady_clock::now();
    if (now < deadline_) {
      arm_timer(std::min(deadline_, now + srv_.cycle_timeout));
      return;
    }
    // Reading a request too slowly is counted; an idle keep-alive, a write or a linger that
    // runs out just ends the connection.
    if (state_ == State::reading) srv_.shared->read_timeouts.fetch_add(1, std::memory_order_relaxed);
    close();
  }

  void close() {
    if (state_ == State::closed) return;
    release_body_memory();
    state_ = State::closed;
    beast::error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
    srv_.unregister(this);
  }

  Server::Impl& srv_;
  Socket socket_;
  Timer timer_;  // see set_deadline()
  std::chrono::steady_clock::time_point deadline_ = kNever;
  std::chrono::steady_clock::time_point timer_at_ = kNever;  // when the armed timer fires; kNever: unarmed
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  std::string out_head_;  // the response being written: status line and headers
  std::string out_body_;  // and its body
  std::optional<Response> pending_response_;
  std::string remote_ip_;
  std::uint16_t remote_port_;
  State state_ = State::idle;
  bool close_after_ = false;
  std::uint64_t body_reserved_ = 0;  // of Shared::body_memory, held by the current request
  bool error_close_ = false;
  bool monitoring_ = false;
  std::uint64_t request_seq_ = 0;  // requests handed to the handler on this connection
  std::atomic<std::uint64_t> waiting_seq_{0};
  bool head_ = false;
  std::size_t header_bytes_ = 0;  // of the request being read, consumed by the parser so far
  unsigned version_ = 11;
  std::chrono::steady_clock::time_point received_at_{};
  std::chrono::system_clock::time_point received_wall_{};
};

namespace {

// Behind every Respond: delivers the response once, from any thread, while the server exists.
class ResponseSlot {
 public:
  ResponseSlot(std::shared_ptr<Shared> shared, std::weak_ptr<Session> session)
      : shared_(std::move(shared)), session_(std::move(session)) {}
  ResponseSlot(const ResponseSlot&) = delete;
  ResponseSlot& operator=(const ResponseSlot&) = delete;

  ~ResponseSlot() {
    if (!called_.exchange(true)) {  // the handler dropped its Respond without calling it
      shared_->handler_errors.fetch_add(1, std::memory_order_relaxed);
      finish(Response::json(500, "{\"error\":\"internal_error\"}"));
    }
  }

  void respond(Response r) {
    if (called_.exchange(true)) return;  // only the first call counts
    finish(std::move(r));
  }

  bool called() const { return called_.load(); }

 private:
  void finish(Response r) {
    if (shared_->in_flight.fetch_sub(1) == 1) shared_->notify();
    std::shared_lock lock(shared_->gate);
    std::shared_ptr<Session> s = shared_->open ? session_.lock() : nullptr;
    if (!s) {
      shared_->dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    auto ex = s->executor();
    bool post;
    {
      std::lock_guard ready_lock(shared_->ready_m);
      shared_->ready.emplace_back(std::move(s), std::move(r));
      post = !std::exchange(shared_->drain_posted, true);
    }
    if (post) asio::post(ex, [shared = shared_] { deliver_ready(*shared); });
  }

  // On an io thread: every response waiting, each on its own session's io thread (run in place when
  // that is this thread).
  static void deliver_ready(Shared& shared) {
    // Swapped with a vector kept per thread: both keep their capacity, so a burst's queue grows
    // once, not once per burst.
    thread_local std::vector<std::pair<std::shared_ptr<Session>, Response>> batch;
    batch.clear();  // empty unless an answer threw last time: never handed back to `ready`
    {
      std::lock_guard lock(shared.ready_m);
      batch.swap(shared.ready);
      shared.drain_posted = false;
    }
    for (auto& [s, r] : batch) {
      auto ex = s->executor();
      asio::dispatch(ex, [s = std::move(s), r = std::move(r)]() mutable { s->on_response(std::move(r)); });
    }
    batch.clear();
  }

  std::shared_ptr<Shared> shared_;
  std::weak_ptr<Session> session_;
  std::atomic<bool> called_{false};
};

}  // namespace

void Session::dispatch(Request&& req) {
  ++request_seq_;
  auto& s = *srv_.shared;
  s.requests.fetch_add(1, std::memory_order_relaxed);
  s.in_flight.fetch_add(1);
  auto slot = std::make_shared<ResponseSlot>(srv_.shared, weak_from_this());
  try {
    srv_.handler(std::move(req), [slot](Response r) { slot->respond(std::move(r)); });
  } catch (const std::exception& e) {
    s.handler_errors.fetch_add(1, std::memory_order_relaxed);
    srv_.error(std::string("http handler threw: ") + e.what());
    slot->respond(Response::json(500, "{\"error\":\"internal_error\"}"));
  } catch (...) {
    s.handler_errors.fetch_add(1, std::memory_order_relaxed);
    srv_.error("http handler threw");
    slot->respond(Response::json(500, "{\"error\":\"internal_error\"}"));
  }
  // Already answered (synchronous handler): the response is on its way, no need to watch.
  if (state_ != State::handling || slot->called()) return;
  if (srv_.opt.watch_client_after.count() <= 0) {
    start_monitor();
  } else {
    waiting_seq_.store(request_seq_, std::memory_order_relaxed);
    srv_.watch_later(weak_from_this(), request_seq_);
  }
}

// ---------------------------------------------------------------------------------------------
// Server::Impl

template <class F>
void Server::Impl::for_each_session(F f) {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard lock(reg_m);
    all.reserve(sessions.size());
    for (auto& [_, s] : sessions) all.push_back(s);
  }
  for (auto& s : all) f(s);
}

void Server::Impl::start() {
  const auto hp = parse_host_port(opt.listen);
  if (!hp) throw std::runtime_error("invalid listen address '" + opt.listen + "' (want host:port)");
  tcp::endpoint endpoint;
  beast::error_code ec;
  const auto addr = asio::ip::make_address(hp->host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(addr, hp->port);
  } else {
    tcp::resolver resolver(contexts[0]);
    auto results = resolver.resolve(hp->host, std::to_string(hp->port), tcp::resolver::passive);
    if (results.empty()) throw std::runtime_error("cannot resolve listen host '" + hp->host + "'");
    endpoint = results.begin()->endpoint();
  }
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(opt.backlog > 0 ? opt.backlog : asio::socket_base::max_listen_connections);
  port = acceptor.local_endpoint().port();

  for (auto& c : contexts.list) work.push_back(asio::make_work_guard(*c));
  do_accept();  // no io thread yet: safe to touch the acceptor and the sweep's timer here
  if (opt.watch_client_after.count() > 0) arm_watch_sweep();
  {
    std::lock_guard lock(life_m);
    life = Life::running;
  }
  threads.reserve(threads_wanted);
  for (unsigned i = 0; i < threads_wanted; ++i) {
    threads.emplace_back([this, &ioc = contexts[i]] {
      tl_io_server = this;
      for (;;) {
        try {
          ioc.run();
          break;
        } catch (const std::exception& e) {
          error(std::string("http io thread: ") + e.what());
        } catch (...) {
          error("http io thread: unknown exception");
        }
      }
      tl_io_server = nullptr;
    });
  }
}

void Server::Impl::do_accept() {
  acceptor.async_accept(next_executor(), [this](beast::error_code ec, Socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void Server::Impl::on_accept(beast::error_code ec, Socket socket) {
  if (ec) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    // e.g. EMFILE: back off a little rather than spin.
    error("http accept: " + ec.message());
    accept_retry.expires_after(std::chrono::milliseconds(50));
    accept_retry.async_wait([this](beast::error_code wec) {
      if (!wec && acceptor.is_open()) do_accept();
    });
    return;
  }
  beast::error_code ignored;
  if (!acceptor.is_open() || draining.load()) {
    socket.close(ignored);
    return;
  }
  if (shared->active.load() >= opt.max_connections) {
    shared->rejected.fetch_add(1, std::memory_order_relaxed);
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(kTooManyConnections.data(), kTooManyConnections.size()), ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    do_accept();
    return;
  }
  const auto remote = socket.remote_endpoint(ignored);
  if (ignored) {  // already gone
    socket.close(ignored);
    do_accept();
    return;
  }
  asio::ip::address addr = remote.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  socket.set_option(tcp::no_delay(true), ignored);

  auto session = std::make_shared<Session>(*this, std::move(socket), addr.to_string(), remote.port());
  {
    std::lock_guard lock(reg_m);
    sessions.emplace(session.get(), session);
  }
  shared->active.fetch_add(1);
  shared->accepted.fetch_add(1, std::memory_order_relaxed);
  asio::post(session->executor(), [session] { session->start(); });
  do_accept();
}

// Watching a connection while its request waits costs a system call or two per request (Asio
// re-arms epoll for a readiness wait, and the answer cancels it), and nearly every answer comes
// within milliseconds. So a request is only listed here, and the sweep, every
// watch_client_after, starts watching those listed one sweep earlier that still wait.
void Server::Impl::watch_later(std::weak_ptr<Session> s, std::uint64_t seq) {
  std::lock_guard lock(waiting_m);
  waiting_new.emplace_back(std::move(s), seq);
}

void Server::Impl::arm_watch_sweep() {
  watch_sweep_timer.expires_after(opt.watch_client_after);
  watch_sweep_timer.async_wait([this](beast::error_code ec) {
    if (ec) return;  // stopping
    watch_sweep();
    arm_watch_sweep();
  });
}

void Server::Impl::watch_sweep() {
  Waiting due;
  {
    std::lock_guard lock(waiting_m);
    due = std::exchange(waiting_due, std::exchange(waiting_new, std::move(waiting_spare)));
  }
  for (auto& [weak, seq] : due) {
    if (auto s = weak.lock(); s && s->still_waiting(seq)) {
      asio::post(s->executor(), [s, seq = seq] { s->watch_if_still_waiting(seq); });
    }
  }
  due.clear();  // keeps its capacity for the next round
  std::lock_guard lock(waiting_m);
  waiting_spare = std::move(due);
}

void Server::Impl::unregister(Session* s) {
  std::shared_ptr<Session> keep;  // released outside the lock
  {
    std::lock_guard lock(reg_m);
    auto it = sessions.find(s);
    if (it == sessions.end()) return;
    keep = std::move(it->second);
    sessions.erase(it);
  }
  shared->active.fetch_sub(1);
  shared->notify();
}

void Server::Impl::stop_accepting() {
  if (accept_closed.exchange(true)) return;
  bool running_now;
  {
    std::lock_guard lock(life_m);
    running_now = life == Life::running || life == Life::stopping;
  }
  if (!running_now) {
    beast::error_code ignored;
    acceptor.close(ignored);
    return;
  }
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  asio::post(main_executor(), [this, done] {
    beast::error_code ignored;
    acceptor.close(ignored);
    accept_retry.cancel();
    done->set_value();
  });
  if (!in_io_thread()) fut.wait();
}

bool Server::Impl::shutdown(std::chrono::steady_clock::time_point deadline) {
  if (in_io_thread()) throw std::logic_error("http::Server::shutdown() called from an io thread");
  {
    std::unique_lock lock(life_m);
    if (life == Life::created) {
      life = Life::stopped;
      life_cv.notify_all();
      return true;
    }
    if (life != Life::running) {  // another thread is (or was) shutting down
      life_cv.wait(lock, [&] { return life == Life::stopped; });
      return shutdown_result;
    }
    life = Life::stopping;
  }

  stop_accepting();
  draining.store(true);
  for_each_session([](const std::shared_ptr<Session>& s) { asio::post(s->executor(), [s] { s->drain(); }); });

  bool ok;
  {
    std::unique_lock lock(shared->m);
    ok = shared->cv.wait_until(lock, deadline, [&] { return shared->active.load() == 0; });
  }
  if (!ok) {
    for_each_session(
        [](const std::shared_ptr<Session>& s) { asio::post(s->executor(), [s] { s->force_close(); }); });
    std::unique_lock lock(shared->m);
    shared->cv.wait_for(lock, std::chrono::seconds(1), [&] { return shared->active.load() == 0; });
  }

  work.clear();
  for (auto& c : contexts.list) c->stop();
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
  {
    std::unique_lock gate(shared->gate);
    shared->open = false;
    // Responses whose drain the stopped io_context will never run: their sessions go now, while
    // the io_context they belong to still exists.
    std::lock_guard ready_lock(shared->ready_m);
    shared->ready.clear();
  }
  {
    std::unordered_map<Session*, std::shared_ptr<Session>> rest;
    {
      std::lock_guard lock(reg_m);
      rest.swap(sessions);
    }
    shared->active.fetch_sub(rest.size());
  }
  {
    std::lock_guard lock(life_m);
    life = Life::stopped;
    shutdown_result = ok;
  }
  life_cv.notify_all();
  return ok;
}

// ---------------------------------------------------------------------------------------------
// Server

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {
  if (!impl_->handler) throw std::invalid_argument("http::Server needs a handler");
}

Server::~Server() {
  if (impl_) stop();
}

void Server::start() {
  {
    std::lock_guard lock(impl_->life_m);
    if (impl_->life != Impl::Life::created) throw std::logic_error("http::Server::start() called twice");
  }
  impl_->start();
}

void Server::run() {
  bool fresh;
  {
    std::lock_guard lock(impl_->life_m);
    fresh = impl_->life == Impl::Life::created;
  }
  if (fresh) start();
  join();
}

void Server::join() { impl_->join(); }

void Server::Impl::watch(int fd, std::function<void()> on_readable) {
  // A duplicate: the descriptor object closes what it holds, the caller keeps its fd.
  const int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) throw std::system_error(errno, std::generic_category(), "http::Server::watch: dup");
  auto w = std::make_unique<Watch>(Watch{asio::posix::stream_descriptor(contexts[0], own), std::move(on_readable)});
  Watch& ref = *w;
  {
    std::lock_guard lock(life_m);
    watches.push_back(std::move(w));
  }
  asio::post(main_executor(), [this, &ref] { arm(ref); });
}

void Server::Impl::arm(Watch& w) {
  w.fd.async_wait(asio::posix::descriptor_base::wait_read, [this, &w](beast::error_code ec) {
    if (ec) return;  // the server is stopping
    try {
      w.on_readable();
    } catch (const std::exception& e) {
      error(std::string("http watch callback threw: ") + e.what());
    } catch (...) {
      error("http watch callback threw");
    }
    arm(w);
  });
}

void Server::watch(int fd, std::function<void()> on_readable) { impl_->watch(fd, std::move(on_readable)); }

std::uint16_t Server::port() const { return impl_->port; }

void Server::stop_accepting() { impl_->stop_accepting(); }

bool Server::shutdown(std::chrono::steady_clock::time_point deadline) { return impl_->shutdown(deadline); }

void Server::stop() { impl_->shutdown(std::chrono::steady_clock::now() - std::chrono::milliseconds(1)); }

bool Server::running() const {
  std::lock_guard lock(impl_->life_m);
  return impl_->life == Impl::Life::running;
}

std::size_t Server::connections() const { return impl_->shared->active.load(); }

std::size_t Server::in_flight() const { return impl_->shared->in_flight.load(); }

ServerStats Server::stats() const {
  const Shared& s = *impl_->shared;
  ServerStats r;
  r.connections_accepted = s.accepted.load();
  r.connections_rejected = s.rejected.load();
  r.connections_active = s.active.load();
  r.requests = s.requests.load();
  r.in_flight = s.in_flight.load();
  r.responses_dropped = s.dropped.load();
  r.client_aborts = s.aborts.load();
  r.read_timeouts = s.read_timeouts.load();
  r.bad_requests = s.bad_requests.load();
  r.bodies_too_large = s.too_large.load();
  r.headers_too_large = s.headers_too_large.load();
  r.handler_errors = s.handler_errors.load();
  r.body_memory_full = s.body_memory_full.load();
  r.body_memory_bytes = s.body_memory.load();
  return r;
}

}  // namespace numflow::http
