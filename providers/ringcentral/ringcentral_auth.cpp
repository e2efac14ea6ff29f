#include "providers/ringcentral/ringcentral_auth.h"

#include <optional>
#include <stdexcept>

#include "common/crypto.h"

namespace numflow {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq)) == name)
      return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

RingCentralAuthenticator::RingCentralAuthenticator(RingCentralAuthOptions options) : options_(std::move(options)) {
  if (options_.verification_token.empty() && options_.query_secret.empty())
    throw std::invalid_argument("ringcentral: a verification token or a query secret is needed");
}

std::optional<AuthResult> ringcentral_handshake(const http::Request& request) {
  const std::string* validation = request.headers.find("Validation-Token");
  if (!validation || !request.body.empty()) return std::nullopt;
  // The handshake must be echoed within 3 s for the subscription to be created; it carries no
  // data and is never written to Kafka. The echo is bounded so the answer stays under 1 KB.
  if (validation->size() > 512) return AuthResult::refuse(400, "bad_validation_token");
  http::Response r = http::Response::json(200, "{\"status\":\"validated\"}");
  r.headers.set("Validation-Token", *validation);
  return AuthResult::answer_with(std::move(r));
}

AuthResult RingCentralAuthenticator::check(const http::Request& request) const {
  if (auto answer = ringcentral_handshake(request)) return std::move(*answer);
  std::string method;
  if (!options_.verification_token.empty()) {
    const std::string* token = request.headers.find("Verification-Token");
    if (!token) return AuthResult::refuse(401, "missing_verification_token");
    if (!crypto::constant_time_equal(*token, options_.verification_token))
      return AuthResult::refuse(403, "bad_verification_token");
    method = "ringcentral-verification-token";
  }
  if (!options_.query_secret.empty()) {
    const auto value = query_value(request.query(), options_.query_parameter);
    if (!value) return AuthResult::refuse(401, "missing_query_secret");
    if (!crypto::constant_time_equal(*value, options_.query_secret)) return AuthResult::refuse(403, "bad_query_secret");
    method += method.empty() ? "ringcentral-query-secret" : "+query-secret";
  }
  return AuthResult::accept(method);
}

}  // namespace numflow
