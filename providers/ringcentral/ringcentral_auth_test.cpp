#include "providers/ringcentral/ringcentral_auth.h"

#include <gtest/gtest.h>

namespace numflow {
namespace {

http::Request request(std::string target, std::string body, http::Headers headers = {}) {
  http::Request r;
  r.method = "POST";
  r.target = std::move(target);
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(RingCentralAuth, HandshakeEchoesValidationTokenUnder1KB) {
  RingCentralAuthenticator a({"vt-secret", "", "token"});
  const auto r = a.check(request("/webhooks/ringcentral", "", {{"Validation-Token", "c5f1b2e0-handshake"}}));
  ASSERT_EQ(r.kind, AuthResult::answered);
  EXPECT_EQ(r.answer.status, 200);
  EXPECT_EQ(std::string(r.answer.headers.get("Validation-Token")), "c5f1b2e0-handshake");
  std::size_t size = r.answer.body.size();
  for (const auto& [k, v] : r.answer.headers) size += k.size() + v.size() + 4;
  EXPECT_LT(size, 1024u);
}

TEST(RingCentralAuth, VerificationToken) {
  RingCentralAuthenticator a({"vt-secret", "", "token"});
  EXPECT_EQ(a.check(request("/webhooks/ringcentral", "{}", {{"Verification-Token", "vt-secret"}})).kind,
            AuthResult::accepted);
  const auto wrong = a.check(request("/webhooks/ringcentral", "{}", {{"Verification-Token", "vt-secreT"}}));
  EXPECT_EQ(wrong.kind, AuthResult::refused);
  EXPECT_EQ(wrong.status, 403);
  const auto missing = a.check(request("/webhooks/ringcentral", "{}"));
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.reason, "missing_verification_token");
}

TEST(RingCentralAuth, QuerySecret) {
  RingCentralAuthenticator a({"", "q s3cret/+", "token"});
  EXPECT_EQ(a.check(request("/webhooks/ringcentral?x=1&token=q%20s3cret%2F%2B", "{}")).kind, AuthResult::accepted);
  EXPECT_EQ(a.check(request("/webhooks/ringcentral?token=nope", "{}")).reason, "bad_query_secret");
  EXPECT_EQ(a.check(request("/webhooks/ringcentral", "{}")).reason, "missing_query_secret");
}

TEST(RingCentralAuth, BothMustPassWhenBothAreConfigured) {
  RingCentralAuthenticator a({"vt", "qs", "token"});
  EXPECT_EQ(a.check(request("/webhooks/ringcentral?token=qs", "{}", {{"Verification-Token", "vt"}})).method,
            "ringcentral-verification-token+query-secret");
  EXPECT_EQ(a.check(request("/webhooks/ringcentral?token=qs", "{}")).kind, AuthResult::refused);
  EXPECT_EQ(a.check(request("/webhooks/ringcentral", "{}", {{"Verification-Token", "vt"}})).kind, AuthResult::refused);
}

TEST(RingCentralAuth, HandshakeWithABodyIsADeliveryAndNeedsItsToken) {
  RingCentralAuthenticator a({"vt", "", "token"});
  EXPECT_EQ(a.check(request("/webhooks/ringcentral", "{}", {{"Validation-Token", "x"}})).kind, AuthResult::refused);
}

TEST(RingCentralAuth, QueryValue) {
  EXPECT_EQ(query_value("a=1&b=2", "b"), "2");
  EXPECT_EQ(query_value("a=1&b", "b"), "");
  EXPECT_EQ(query_value("a=1", "b"), std::nullopt);
  EXPECT_EQ(query_value("", "b"), std::nullopt);
  EXPECT_EQ(query_value("b=%zz", "b"), "%zz");
}

TEST(RingCentralAuth, NeedsSomething) { EXPECT_THROW(RingCentralAuthenticator({"", "", "token"}), std::invalid_argument); }

}  // namespace
}  // namespace numflow

namespace numflow {
namespace {
// Contract §1: handshakes are answered by ingest and never written to Kafka, whatever the
// route's authentication; with `none` the validation must still succeed.
TEST(RingCentralAuth, HandshakeIsAnsweredOnARouteWithoutAuthentication) {
  const NoAuth none(ringcentral_handshake);
  const auto r = none.check(request("/webhooks/ringcentral", "", {{"Validation-Token", "vt-7"}}));
  ASSERT_EQ(r.kind, AuthResult::answered);
  EXPECT_EQ(std::string(r.answer.headers.get("Validation-Token")), "vt-7");
  EXPECT_EQ(none.check(request("/webhooks/ringcentral", "{}")).kind, AuthResult::accepted);
}
}  // namespace
}  // namespace numflow
