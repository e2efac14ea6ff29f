#include "providers/8x8/eight_by_eight_auth.h"

#include <gtest/gtest.h>

namespace numflow {
namespace {

http::Request from(std::string ip, http::Headers headers = {}) {
  http::Request r;
  r.method = "POST";
  r.target = "/webhooks/8x8";
  r.remote_ip = std::move(ip);
  r.headers = std::move(headers);
  r.body = "{}";
  return r;
}

EightByEightAuthenticator allowlist(std::vector<std::string> proxies = {}) {
  return EightByEightAuthenticator(
      {net::CidrSet::parse({"203.0.113.0/24", "2001:db8::/32"}), net::CidrSet::parse(proxies), ""});
}

TEST(EightByEightAuth, AllowlistWithoutProxy) {
  EXPECT_EQ(allowlist().check(from("203.0.113.9")).kind, AuthResult::accepted);
  EXPECT_EQ(allowlist().check(from("2001:db8::5")).method, "8x8-ip-allowlist");
  const auto r = allowlist().check(from("198.51.100.1"));
  EXPECT_EQ(r.kind, AuthResult::refused);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.reason, "source_not_allowed");
}

TEST(EightByEightAuth, ForwardedForIsIgnoredFromUntrustedPeers) {
  // Anyone can write X-Forwarded-For: without a trusted proxy it must not open the allowlist.
  EXPECT_EQ(allowlist().check(from("198.51.100.1", {{"X-Forwarded-For", "203.0.113.9"}})).kind, AuthResult::refused);
  EXPECT_EQ(allowlist({"10.0.0.0/8"}).check(from("198.51.100.1", {{"X-Forwarded-For", "203.0.113.9"}})).kind,
            AuthResult::refused);
}

TEST(EightByEightAuth, ForwardedForFromATrustedProxy) {
  const auto a = allowlist({"10.0.0.0/8"});
  EXPECT_EQ(a.check(from("10.1.1.1", {{"X-Forwarded-For", "203.0.113.9"}})).kind, AuthResult::accepted);
  // The rightmost untrusted hop is the client; spoofed entries to its left do not count.
  EXPECT_EQ(a.check(from("10.1.1.1", {{"X-Forwarded-For", "203.0.113.9, 198.51.100.1"}})).kind, AuthResult::refused);
  EXPECT_EQ(a.check(from("10.1.1.1", {{"X-Forwarded-For", "198.51.100.1, 203.0.113.9, 10.2.2.2"}})).kind,
            AuthResult::accepted);
  EXPECT_EQ(a.check(from("10.1.1.1", {{"X-Forwarded-For", "198.51.100.1"}, {"X-Forwarded-For", "203.0.113.9"}})).kind,
            AuthResult::accepted);
  // A trusted proxy's own address is not a client.
  EXPECT_EQ(a.check(from("10.1.1.1")).kind, AuthResult::refused);
}

TEST(EightByEightAuth, AuthorizationHeader) {
  EightByEightAuthenticator a({{}, {}, "Basic bnVtZmxvdzpzM2NyZXQ="});
  EXPECT_EQ(a.check(from("198.51.100.1", {{"Authorization", "Basic bnVtZmxvdzpzM2NyZXQ="}})).method, "8x8-auth-header");
  EXPECT_EQ(a.check(from("198.51.100.1", {{"Authorization", "Basic bnVtZmxvdzpzM2NyZXR="}})).reason, "bad_authorization");
  EXPECT_EQ(a.check(from("198.51.100.1")).reason, "missing_authorization");
}

TEST(EightByEightAuth, BothMustPass) {
  EightByEightAuthenticator a({net::CidrSet::parse({"203.0.113.0/24"}), {}, "Bearer t"});
  EXPECT_EQ(a.check(from("203.0.113.1", {{"Authorization", "Bearer t"}})).method, "8x8-ip-allowlist+auth-header");
  EXPECT_EQ(a.check(from("198.51.100.1", {{"Authorization", "Bearer t"}})).kind, AuthResult::refused);
  EXPECT_EQ(a.check(from("203.0.113.1")).kind, AuthResult::refused);
}

TEST(EightByEightAuth, NeedsSomething) { EXPECT_THROW(EightByEightAuthenticator({}), std::invalid_argument); }

}  // namespace
}  // namespace numflow
