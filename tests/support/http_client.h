#pragma once
// A blocking HTTP/1.1 client for tests (one request per connection).
#include <chrono>
#include <map>
#include <string>

namespace numflow::testing {

struct HttpResult {
  int status = 0;  // 0: could not connect or no answer
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::chrono::milliseconds elapsed{0};
};

HttpResult http_request(int port, const std::string& method, const std::string& target, const std::string& body = {},
                        const std::map<std::string, std::string>& headers = {},
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

// Polls GET target until it answers 200 or the timeout passes.
bool wait_http_ok(int port, const std::string& target, std::chrono::milliseconds timeout);

}  // namespace numflow::testing
