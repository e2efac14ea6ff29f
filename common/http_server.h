#pragma once
// A small, generic, asynchronous HTTP/1.1 server (Boost.Beast + Asio).
//
// - N io threads, each running an io_context of its own; a connection lives on one of them (round
//   robin at accept) from accept to close, so its handlers run one at a time without a strand.
// - Keep-alive; requests on one connection are handled strictly in order (the next request is
//   read only after the previous response was written; pipelined bytes wait in the buffer).
// - The handler is asynchronous: it gets the request and a Respond callback that may be called
//   later, from any thread, exactly once. The response is posted back to the connection's io thread.
//   If the client has gone in the meantime, or the server has been stopped or destroyed, the
//   response is dropped. A Respond that is destroyed without being called answers 500.
//   While a request is being handled (from watch_client_after on) the connection is watched: a
//   client that closes (FIN or RST) is treated as gone, its connection closed at once, and its
//   response later dropped (so a client that half-closes after sending does not get an answer;
//   webhook senders do not do that).
// - Limits: body bytes (413, without reading the body), header bytes (431), connections (503 and
//   close), a total read deadline per request (slow clients are closed), an idle keep-alive
//   timeout, a write timeout.
// - `Expect: 100-continue` is honoured; chunked request bodies are decoded.
// - Graceful stop: stop_accepting() closes the listener; shutdown(deadline) lets requests in
//   progress finish (their responses carry `Connection: close`), closes idle connections at once,
//   and closes whatever is left at the deadline.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace numflow::http {

// Header list with case-insensitive lookup; keeps order and duplicates.
class Headers {
 public:
  using Entry = std::pair<std::string, std::string>;

  Headers() = default;
  Headers(std::initializer_list<Entry> entries) : items_(entries) {}

  // Appends (a name may occur more than once).
  void add(std::string name, std::string value);
  void reserve(std::size_t n) { items_.reserve(n); }
  // Replaces every entry with this name by one entry.
  void set(std::string name, std::string value);
  // Removes every entry with this name; returns how many were removed.
  std::size_t erase(std::string_view name);
  // First value with this name, or nullptr.
  const std::string* find(std::string_view name) const;
  std::string_view get(std::string_view name, std::string_view fallback = {}) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }

  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  std::vector<Entry>::const_iterator begin() const { return items_.begin(); }
  std::vector<Entry>::const_iterator end() const { return items_.end(); }

 private:
  std::vector<Entry> items_;
};

bool iequals(std::string_view a, std::string_view b);

struct Request {
  std::string method;   // as sent, e.g. "POST"
  std::string target;   // path and query, as sent, e.g. "/webhooks/zoom?x=1"
  unsigned version = 11;  // 10 or 11
  Headers headers;
  std::string body;  // the exact bytes of the body (chunked framing removed)
  std::string remote_ip;  // "127.0.0.1", "::1"; IPv4-mapped IPv6 addresses are shown as IPv4
  std::uint16_t remote_port = 0;
  // When the first byte of this request arrived.
  std::chrono::steady_clock::time_point received_at{};
  std::chrono::system_clock::time_point received_wall{};

  std::string_view path() const;   // target up to '?'
  std::string_view query() const;  // after '?', without it ("" when none)
};

struct Response {
  int status = 200;
  Headers headers;  // Content-Length, Transfer-Encoding and Connection are set by the server;
                    // `Connection: close` here makes the server close after this response.
  std::string body;

  static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static Response json(int status, std::string body);
};

using Respond = std::function<void(Response)>;
// Called on an io thread; must not block. Must be thread-safe when io_threads > 1.
using Handler = std::function<void(Request&&, Respond)>;

struct ServerOptions {
  std::string listen = "0.0.0.0:8080";  // "host:port", "[v6]:port"; port 0 picks a free port
  unsigned io_threads = 1;              // 0: std::thread::hardware_concurrency()
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_connections = 10000;
  // Bodies being received or handled, summed over every connection (a body's declared length is
  // reserved when its header arrives, a chunked one reserves max_body_bytes, until its response
  // is written). A request that would exceed it gets 503 + Retry-After at once, so memory stays
  // bounded however many slow senders hold connections. 0: no limit.
  std::size_t max_body_memory_bytes = 256 * 1024 * 1024;
  std::chrono::milliseconds read_timeout{10000};   // from a request's first byte to its last
  std::chrono::milliseconds idle_timeout{60000};   // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{10000};  // writing one response
  std::chrono::milliseconds linger_timeout{2000};  // draining input after a closing response
  // A request still waiting for its answer after between one and two of these gets its
  // connection watched, so that a client that goes away is noticed (closed, its answer dropped)
  // while the handler works. Answers that come sooner cost no system call for it. 0: every
  // request is watched from the start.
  std::chrono::milliseconds watch_client_after{50};
  int backlog = 0;                                 // listen backlog; 0: SOMAXCONN
  // Optional sink for rare server-side problems (accept errors, handler exceptions). Never
  // receives request contents. Called from io threads.
  std::function<void(std::string_view)> on_error;
};

// Monotonic counters (and two gauges) for metrics and tests.
struct ServerStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_rejected = 0;  // over max_connections
  std::uint64_t connections_active = 0;    // gauge
  std::uint64_t requests = 0;              // handed to the handler
  std::uint64_t in_flight = 0;             // gauge: handed to the handler, Respond not called yet
  std::uint64_t responses_dropped = 0;     // Respond called after the connection was gone
  std::uint64_t client_aborts = 0;         // client closed while its request was being handled
  std::uint64_t read_timeouts = 0;         // slow requests closed (idle keep-alive closes are not counted)
  std::uint64_t bad_requests = 0;          // 400
  std::uint64_t bodies_too_large = 0;      // 413
  std::uint64_t headers_too_large = 0;     // 431
  std::uint64_t body_memory_full = 0;      // 503: max_body_memory_bytes reached
  std::uint64_t body_memory_bytes = 0;     // gauge: reserved for bodies now
  std::uint64_t handler_errors = 0;        // handler threw, or dropped Respond without calling it
};

struct HostPort {
  std::string host;  // without brackets
  std::uint16_t port = 0;
};
// "1.2.3.4:80", "[::1]:80", "localhost:80", ":80" (host "0.0.0.0"). nullopt when malformed.
std::optional<HostPort> parse_host_port(std::string_view text);

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();  // stop(), if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the io threads; returns at once. Throws std::runtime_error or
  // std::system_error when the address is malformed or cannot be bound. Call at most once.
  void start();
  // start() when not started yet, then join().
  void run();
  // Blocks until the server has been stopped (shutdown() or stop(), from another thread).
  void join();

  // Runs `on_readable` on an io thread whenever `fd` is readable, until the server stops
  // (e.g. a producer's delivery-report pipe: the answers it triggers then start on the thread
  // that writes them). on_readable must consume what made the fd readable, or it runs again at
  // once; like the handler it must not block. The fd stays the caller's and must stay open while
  // the server runs. Call after start().
  void watch(int fd, std::function<void()> on_readable);

  // The bound port (useful with port 0). Valid after start().
  std::uint16_t port() const;

  // Closes the listening socket: new connections are refused. Idempotent.
  void stop_accepting();
  // stop_accepting(), then: idle keep-alive connections are closed at once; requests in progress
  // are finished and answered with `Connection: close`; returns when every connection is closed,
  // or at the deadline, after which the rest are closed. Then stops the io threads. Returns true
  // when every connection finished before the deadline. Must not be called from an io thread
  // (e.g. from the handler). Idempotent.
  bool shutdown(std::chrono::steady_clock::time_point deadline);
  bool shutdown(std::chrono::milliseconds grace) { return shutdown(std::chrono::steady_clock::now() + grace); }
  // Closes everything now (shutdown with a deadline in the past). Like shutdown(), and so the
  // destructor, it must not run on an io thread.
  void stop();

  bool running() const;
  std::size_t connections() const;
  std::size_t in_flight() const;
  ServerStats stats() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace numflow::http
