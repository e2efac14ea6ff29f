#pragma once
// Test-only helper (header-only, not compiled into numflow_common): a tiny blocking HTTP/1.1
// client over POSIX sockets where every wait is bounded, so a broken server fails a test instead
// of hanging it. Good enough for responses with Content-Length (what numflow's server sends) and
// close-delimited bodies.
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace numflow::http_test {

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::optional<std::string> find(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() != name.size()) continue;
      bool same = true;
      for (std::size_t i = 0; i < k.size() && same; ++i) {
        same = std::tolower(static_cast<unsigned char>(k[i])) == std::tolower(static_cast<unsigned char>(name[i]));
      }
      if (same) return v;
    }
    return std::nullopt;
  }
  std::string header(std::string_view name) const { return find(name).value_or(""); }
};

class TestClient {
 public:
  using ms = std::chrono::milliseconds;

  explicit TestClient(std::uint16_t port, const std::string& host = "127.0.0.1") {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || res == nullptr) {
      throw std::runtime_error("TestClient: bad address " + host);
    }
    fd_ = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int rc = fd_ < 0 ? -1 : ::connect(fd_, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc != 0) {
      const int err = errno;
      close();
      throw std::runtime_error("TestClient: connect failed: " + std::to_string(err));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~TestClient() { close(); }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool is_open() const { return fd_ >= 0; }

  static std::string request(std::string_view method, std::string_view target, std::string_view body = {},
                             const std::vector<std::pair<std::string, std::string>>& headers = {},
                             bool with_length = true) {
    std::string r;
    r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: test\r\n");
    for (const auto& [k, v] : headers) r.append(k).append(": ").append(v).append("\r\n");
    if (with_length && (!body.empty() || method == "POST" || method == "PUT")) {
      r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    r.append("\r\n").append(body);
    return r;
  }

  // Sends everything (false on error or timeout).
  bool send(std::string_view data, ms timeout = ms(5000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!data.empty()) {
      if (!wait_for(POLLOUT, deadline)) return false;
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // One response; nullopt on EOF, reset, malformed response or timeout. `head`: the request was
  // HEAD (no body follows whatever Content-Length says).
  std::optional<ClientResponse> read_response(ms timeout = ms(5000), bool head = false) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (fill(deadline) <= 0) return std::nullopt;
    }
    ClientResponse r;
    std::string_view head_text(buf_.data(), end);
    const auto line_end = head_text.find("\r\n");
    std::string_view status_line = head_text.substr(0, line_end);
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return std::nullopt;
    r.status = std::stoi(std::string(status_line.substr(9, 3)));
    std::string_view rest = line_end == std::string_view::npos ? std::string_view{} : head_text.substr(line_end + 2);
    while (!rest.empty()) {
      const auto eol = rest.find("\r\n");
      std::string_view line = rest.substr(0, eol);
      const auto colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string_view v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(v));
      }
      if (eol == std::string_view::npos) break;
      rest.remove_prefix(eol + 2);
    }
    buf_.erase(0, end + 4);
    if (head || r.status < 200 || r.status == 204 || r.status == 304) return r;
    if (auto cl = r.find("Content-Length")) {
      const std::size_t n = std::stoul(*cl);
      while (buf_.size() < n) {
        if (fill(deadline) <= 0) return std::nullopt;
      }
      r.body = buf_.substr(0, n);
      buf_.erase(0, n);
      return r;
    }
    for (;;) {  // close-delimited
      const int got = fill(deadline);
      if (got == 0) break;
      if (got < 0) return std::nullopt;
    }
    r.body = std::move(buf_);
    buf_.clear();
    return r;
  }

  // True when the peer closes (EOF or reset) within the timeout; data read meanwhile is dropped.
  bool wait_closed(ms timeout = ms(5000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      buf_.clear();
      const int got = fill(deadline);
      if (got == 0) return true;
      if (got == -1) return true;   // reset
      if (got == -2) return false;  // timeout
    }
  }

  void shutdown_write() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Closes with an RST rather than a FIN.
  void abort() {
    if (fd_ < 0) return;
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }
  std::string& buffered() { return buf_; }

 private:
  bool wait_for(short events, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      const auto left = std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, events, 0};
      const int rc = ::poll(&p, 1, static_cast<int>(left));
      if (rc < 0 && errno == EINTR) continue;
      return rc > 0;
    }
  }

  // >0 bytes appended, 0 EOF, -1 error (reset), -2 timeout.
  int fill(std::chrono::steady_clock::time_point deadline) {
    if (fd_ < 0) return -1;
    if (!wait_for(POLLIN, deadline)) return -2;
    char tmp[16384];
    for (;;) {
      const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return -1;
      buf_.append(tmp, static_cast<std::size_t>(n));
      return static_cast<int>(n);
    }
  }

  int fd_ = -1;
  std::string buf_;
};

}  // namespace numflow::http_test
