#include "providers/8x8/eight_by_eight_auth.h"

#include <stdexcept>

#include "common/crypto.h"

namespace numflow {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string client_address(const http::Request& request, const net::CidrSet& trusted_proxies) {
  std::string client = request.remote_ip;
  if (trusted_proxies.empty() || !trusted_proxies.contains(client)) return client;
  // Walk X-Forwarded-For (every occurrence, in order) from the right.
  std::vector<std::string_view> hops;
  for (const auto& [name, value] : request.headers) {
    if (!http::iequals(name, "X-Forwarded-For")) continue;
    std::string_view v = value;
    while (!v.empty()) {
      const auto comma = v.find(',');
      hops.push_back(trim(v.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    client = std::string(*it);
    if (!trusted_proxies.contains(client)) break;
  }
  return client;
}

EightByEightAuthenticator::EightByEightAuthenticator(EightByEightAuthOptions options) : options_(std::move(options)) {
  if (options_.allow.empty() && options_.authorization.empty())
    throw std::invalid_argument("8x8: an allowlist (--8x8-allow-cidr) or an Authorization value is needed");
}

AuthResult EightByEightAuthenticator::check(const http::Request& request) const {
  std::string method;
  if (!options_.allow.empty()) {
    if (!options_.allow.contains(client_address(request, options_.trusted_proxies)))
      return AuthResult::refuse(403, "source_not_allowed");
    method = "8x8-ip-allowlist";
  }
  if (!options_.authorization.empty()) {
    const std::string* auth = request.headers.find("Authorization");
    if (!auth) return AuthResult::refuse(401, "missing_authorization");
    if (!crypto::constant_time_equal(*auth, options_.authorization)) return AuthResult::refuse(401, "bad_authorization");
    method += method.empty() ? "8x8-auth-header" : "+auth-header";
  }
  return AuthResult::accept(method);
}

}  // namespace numflow
