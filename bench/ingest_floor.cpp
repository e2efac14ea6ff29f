// ingest_floor: the least work any webhook receiver on this machine must do, as a server a load
// generator can hit exactly like numflow-ingest: read an HTTP/1.1 request off a keep-alive
// connection, hand its body to Kafka (acks=all, idempotent, lz4, linger.ms 0.5: numflow-ingest's
// producer), answer 200 when the broker has it. Nothing else: no routing, no header parsing beyond
// Content-Length, no authentication, no account key (keys rotate), no limits, no metrics, no
// timeouts. One thread, epoll, level-triggered; librdkafka's delivery reports wake the same loop
// through a pipe (rd_kafka_queue_io_event_enable), so no thread handoff is added.
//
// Its CPU per request is the floor under numflow-ingest's (Beast + the handler), and its requests
// per second the ceiling of any ingest answering after a durable write on this broker with this
// load generator: bench/compare.sh runs it beside numflow-ingest and Benthos. With --no-kafka it
// answers at once: the floor of the HTTP exchange alone.
//
//   ingest_floor --port P [--brokers HOST:PORT --topic T | --no-kafka] [--linger-ms 0.5] [-X k=v ...]
//                [--spin-request-ns N] [--spin-answer-ns N]
//
// The spins make the floor a heavier receiver on purpose: its io thread busy-waits N ns per
// request read and per answer written, to measure what a receiver's own CPU per webhook costs in
// webhooks/s at a given linger (docs/PERFORMANCE.md, "The io thread, lighter").
//
// Runs until SIGTERM or SIGINT. Not a server to deploy: it trusts its client (wrk) completely.
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "bench/produce_webhook.h"
#include "publish/kafka_config.h"

namespace {

volatile std::sig_atomic_t stopping = 0;

struct Options {
  int port = 0;
  std::string brokers, topic, linger_ms = "0.5";
  bool kafka = true;
  numflow::publish::Properties extra;
  long spin_request_ns = 0, spin_answer_ns = 0;
};

// Busy-waits (not sleeps): the time is spent on the io thread, as a heavier receiver's would be.
void spin(long ns) {
  if (ns <= 0) return;
  const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(ns);
  while (std::chrono::steady_clock::now() < until) {
  }
}

// numflow-ingest's answer, without its X-Request-Id and Cache-Control headers.
constexpr std::string_view kBody = R"({"status":"accepted","request_id":"0123456789abcdef01234567"})";
constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 61\r\n\r\n"
    R"({"status":"accepted","request_id":"0123456789abcdef01234567"})";
static_assert(kBody.size() == 61 && kResponse.ends_with(kBody));

struct Conn {
  int fd = -1;
  unsigned generation = 0;  // a delivery report for a closed (and reused) fd finds a new generation
  std::string in;
  bool waiting = false;  // a request handed to Kafka, not answered yet
};

class Floor {
 public:
  explicit Floor(const Options& o) : o_(o) {}

  int run();

 private:
  void accept_all();
  void on_readable(Conn& c);
  void handle_requests(Conn& c);
  void respond(Conn& c);
  void close_conn(Conn& c);
  void produce(Conn& c, std::string_view body);
  void serve_reports();
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);

  const Options& o_;
  int ep_ = -1, listen_fd_ = -1, wake_[2] = {-1, -1};
  rd_kafka_t* rk_ = nullptr;
  std::vector<Conn> conns_;  // indexed by fd
  std::size_t next_key_ = 0;
};

// The end of the first complete request in `in` (headers and Content-Length body), or 0.
std::size_t request_end(const std::string& in, std::size_t& body_at, std::size_t& body_len) {
  const std::size_t hend = in.find("\r\n\r\n");
  if (hend == std::string::npos) return 0;
  body_len = 0;
  // wrk writes "Content-Length" in this case; a floor need not handle any other spelling.
  const std::size_t cl = in.rfind("Content-Length:", hend);
  if (cl != std::string::npos) body_len = std::strtoul(in.c_str() + cl + 15, nullptr, 10);
  body_at = hend + 4;
  return in.size() >= body_at + body_len ? body_at + body_len : 0;
}

void Floor::produce(Conn& c, std::string_view body) {
  const std::string key = "8x8:bench-" + std::to_string(next_key_++ % 1000);
  // The opaque carries fd and generation: the report finds its connection without a lookup table.
  const auto tag = (static_cast<std::uintptr_t>(c.generation) << 32) | static_cast<std::uintptr_t>(c.fd);
  if (rd_kafka_error_t* e = numflow::bench::produce_webhook(rk_, o_.topic, key, body, reinterpret_cast<void*>(tag))) {
    std::fprintf(stderr, "ingest_floor: produce: %s\n", rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    close_conn(c);
    return;
  }
  c.waiting = true;
}

void Floor::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<Floor*>(opaque);
  const auto tag = reinterpret_cast<std::uintptr_t>(m->_private);
  const int fd = static_cast<int>(tag & 0xffffffffu);
  Conn& c = self->conns_[static_cast<std::size_t>(fd)];
  if (c.fd != fd || c.generation != static_cast<unsigned>(tag >> 32) || !c.waiting) return;
  if (m->err) {
    std::fprintf(stderr, "ingest_floor: delivery: %s\n", rd_kafka_err2str(m->err));
    self->close_conn(c);
    return;
  }
  c.waiting = false;
  self->respond(c);
  if (c.fd >= 0) self->handle_requests(c);  // a pipelined request may be waiting in the buffer
}

void Floor::respond(Conn& c) {
  spin(o_.spin_answer_ns);
  // ~135 bytes into an idle loopback socket: a short write only happens to a client that stopped
  // reading, which wrk does not do; the floor closes such a connection rather than buffer.
  if (::write(c.fd, kResponse.data(), kResponse.size()) != static_cast<ssize_t>(kResponse.size())) close_conn(c);
}

void Floor::handle_requests(Conn& c) {
  while (!c.waiting && c.fd >= 0) {
    std::size_t body_at = 0, body_len = 0;
    const std::size_t end = request_end(c.in, body_at, body_len);
    if (end == 0) return;
    spin(o_.spin_request_ns);
    if (o_.kafka) {
      produce(c, std::string_view(c.in).substr(body_at, body_len));
    } else {
      respond(c);
    }
    if (c.fd >= 0) c.in.erase(0, end);
  }
}

void Floor::on_readable(Conn& c) {
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(c.fd, buf, sizeof buf);
    if (n > 0) {
      c.in.append(buf, static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < sizeof buf) break;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    close_conn(c);  // EOF or error
    return;
  }
  handle_requests(c);
}

void Floor::close_conn(Conn& c) {
  if (c.fd < 0) return;
  ::close(c.fd);  // also leaves the epoll set
  c.fd = -1;
  c.in.clear();
  c.waiting = false;
  ++c.generation;
}

void Floor::accept_all() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (static_cast<std::size_t>(fd) >= conns_.size()) conns_.resize(static_cast<std::size_t>(fd) + 1);
    Conn& c = conns_[static_cast<std::size_t>(fd)];
    c.fd = fd;
    c.in.clear();
    c.waiting = false;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }
}

void Floor::serve_reports() {
  char drain[64];
  while (::read(wake_[0], drain, sizeof drain) > 0) {
  }
  while (rd_kafka_poll(rk_, 0) > 0) {
  }
}

int Floor::run() {
  ep_ = ::epoll_create1(EPOLL_CLOEXEC);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(o_.port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, SOMAXCONN) != 0) {
    std::perror("ingest_floor: bind/listen");
    return 1;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  ::epoll_ctl(ep_, EPOLL_CTL_ADD, listen_fd_, &ev);

  if (o_.kafka) {
    if (::pipe2(wake_, O_NONBLOCK | O_CLOEXEC) != 0) return 1;
    auto props = numflow::publish::durable_producer_defaults();
    props = numflow::publish::merged(props, {{"bootstrap.servers", o_.brokers}, {"linger.ms", o_.linger_ms}});
    rd_kafka_conf_t* conf = numflow::publish::make_conf(props, o_.extra);
    rd_kafka_conf_set_dr_msg_cb(conf, &Floor::on_delivery);
    rd_kafka_conf_set_opaque(conf, this);
    char err[512];
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk_) {
      std::fprintf(stderr, "ingest_floor: %s\n", err);
      return 1;
    }
    rd_kafka_queue_t* main_q = rd_kafka_queue_get_main(rk_);
    rd_kafka_queue_io_event_enable(main_q, wake_[1], "1", 1);
    rd_kafka_queue_destroy(main_q);
    ev.data.fd = wake_[0];
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, wake_[0], &ev);
  }

  std::fprintf(stderr, "ingest_floor: listening on 127.0.0.1:%d (%s)\n", o_.port, o_.kafka ? "durable produce" : "no Kafka");
  epoll_event events[256];
  while (!stopping) {
    const int n = ::epoll_wait(ep_, events, 256, 100);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listen_fd_) accept_all();
      else if (fd == wake_[0]) serve_reports();
      else if (conns_[static_cast<std::size_t>(fd)].fd == fd) on_readable(conns_[static_cast<std::size_t>(fd)]);
    }
    if (rk_) serve_reports();  // reports that arrived while the queue was not empty
  }
  if (rk_) {
    rd_kafka_flush(rk_, 5000);
    rd_kafka_destroy(rk_);
  }
  return 0;
}

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: ingest_floor --port P [--brokers HOST:PORT --topic T | --no-kafka] [--linger-ms MS] [-X key=value ...]\n"
               "                    [--spin-request-ns N] [--spin-answer-ns N]\n");
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (a == "--port") o.port = std::atoi(next().c_str());
    else if (a == "--brokers") o.brokers = next();
    else if (a == "--topic") o.topic = next();
    else if (a == "--linger-ms") o.linger_ms = next();
    else if (a == "--no-kafka") o.kafka = false;
    else if (a == "--spin-request-ns") o.spin_request_ns = std::atol(next().c_str());
    else if (a == "--spin-answer-ns") o.spin_answer_ns = std::atol(next().c_str());
    else if (a == "-X") {
      const std::string kv = next();
      const auto eq = kv.find('=');
      if (eq == std::string::npos) usage(2);
      o.extra.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    } else if (a == "-h" || a == "--help") usage(0);
    else usage(2);
  }
  if (o.port <= 0 || (o.kafka && (o.brokers.empty() || o.topic.empty()))) usage(2);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::signal(SIGTERM, [](int) { stopping = 1; });
  std::signal(SIGINT, [](int) { stopping = 1; });
  std::signal(SIGPIPE, SIG_IGN);
  Floor floor(o);
  return floor.run();
}
