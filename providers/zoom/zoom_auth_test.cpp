// Signature vectors were computed outside numflow (Python's hmac module), not with its own code.
#include "providers/zoom/zoom_auth.h"

#include <gtest/gtest.h>

namespace numflow {
namespace {

constexpr std::int64_t kNow = 1700000000;
const std::string kBody =
    R"({"event":"number_management.peering_number_cnam_updated","event_ts":1700000000123,"payload":{"account_id":"abc123","object":{"cnam":"ACME","carrier_code":1,"phone_numbers":["+14155550123"]}}})";
const std::string kSig = "v0=7d928d23d9f4252c8abc7a9ef6a30bb2b574d93e0e2324c13991989cda2bb7ac";

ZoomAuthenticator auth(std::vector<std::string> secrets = {"secret-one"}, std::int64_t now = kNow) {
  return ZoomAuthenticator({std::move(secrets), std::chrono::seconds(300), [now] { return now; }});
}

http::Request request(std::string body, std::string sig, std::string ts = "1700000000") {
  http::Request r;
  r.method = "POST";
  r.target = "/webhooks/zoom";
  r.body = std::move(body);
  if (!sig.empty()) r.headers.add("x-zm-signature", sig);
  if (!ts.empty()) r.headers.add("x-zm-request-timestamp", ts);
  return r;
}

TEST(ZoomAuth, GenuineDeliveryIsAccepted) {
  const auto r = auth().check(request(kBody, kSig));
  EXPECT_EQ(r.kind, AuthResult::accepted);
  EXPECT_EQ(r.method, "zoom-hmac-sha256");
}

TEST(ZoomAuth, HeaderNamesAreCaseInsensitive) {
  http::Request r = request(kBody, "", "");
  r.headers.add("X-Zm-Signature", kSig);
  r.headers.add("X-ZM-Request-Timestamp", "1700000000");
  EXPECT_EQ(auth().check(r).kind, AuthResult::accepted);
}

TEST(ZoomAuth, WrongSecretIsRefused) {
  const auto r = auth({"another-secret"}).check(request(kBody, kSig));
  EXPECT_EQ(r.kind, AuthResult::refused);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.reason, "bad_signature");
}

TEST(ZoomAuth, SecondOfSeveralSecretsIsAccepted) {
  EXPECT_EQ(auth({"old-rotated-secret", "secret-one"}).check(request(kBody, kSig)).kind, AuthResult::accepted);
}

TEST(ZoomAuth, BodyWithNonAsciiBytesIsVerifiedOverTheExactBytes) {
  const std::string body =
      "{\"event\":\"number_management.peering_number_cnam_updated\",\"payload\":{\"object\":{\"cnam\":\"Caf\xc3\xa9 "
      "M\xc3\xbcller \xe6\x97\xa5\xe6\x9c\xac\"}}}";
  const std::string sig = "v0=de37fb183fc3927b96d5da4a8aec2962c09bd0ebeb3de0d9a01e7b376eb54adf";
  EXPECT_EQ(auth({"secret-two"}).check(request(body, sig)).kind, AuthResult::accepted);
  // Re-serializing (e.g. \u-escaping) changes the bytes and must fail.
  const std::string escaped =
      R"({"event":"number_management.peering_number_cnam_updated","payload":{"object":{"cnam":"Caf\u00e9 M\u00fcller \u65e5\u672c"}}})";
  EXPECT_EQ(auth({"secret-two"}).check(request(escaped, sig)).kind, AuthResult::refused);
}

TEST(ZoomAuth, TamperedBodyOrTimestampIsRefused) {
  std::string tampered = kBody;
  tampered[tampered.find("ACME")] = 'X';
  EXPECT_EQ(auth().check(request(tampered, kSig)).reason, "bad_signature");
  EXPECT_EQ(auth(std::vector<std::string>{"secret-one"}, kNow + 1).check(request(kBody, kSig, "1700000001")).reason,
            "bad_signature");
}

TEST(ZoomAuth, StaleAndFutureTimestampsAreRefused) {
  EXPECT_EQ(auth({"secret-one"}, kNow + 301).check(request(kBody, kSig)).reason, "stale_timestamp");
  EXPECT_EQ(auth({"secret-one"}, kNow - 301).check(request(kBody, kSig)).reason, "stale_timestamp");
  EXPECT_EQ(auth({"secret-one"}, kNow + 300).check(request(kBody, kSig)).kind, AuthResult::accepted);
}

TEST(ZoomAuth, MissingOrMalformedHeadersAreRefused) {
  EXPECT_EQ(auth().check(request(kBody, "")).reason, "missing_signature");
  EXPECT_EQ(auth().check(request(kBody, kSig, "")).reason, "missing_signature");
  EXPECT_EQ(auth().check(request(kBody, kSig, "17e8")).reason, "bad_timestamp");
  EXPECT_EQ(auth().check(request(kBody, kSig.substr(3))).reason, "bad_signature") << "the v0= prefix is required";
  EXPECT_EQ(auth().check(request(kBody, "v1=" + kSig.substr(3))).reason, "bad_signature") << "another scheme";
  EXPECT_EQ(auth().check(request(kBody, kSig + "00")).reason, "bad_signature");
  EXPECT_EQ(auth().check(request(kBody, "v0=" + std::string(64, '0'))).reason, "bad_signature");
}

TEST(ZoomAuth, UrlValidationIsAnsweredWithTheExactChallenge) {
  const std::string body = R"({"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"})";
  const std::string sig = "v0=" + ZoomAuthenticator::sign_hex("secret-one", "v0:1700000000:" + body);
  const auto r = auth().check(request(body, sig));
  ASSERT_EQ(r.kind, AuthResult::answered);
  EXPECT_EQ(r.answer.status, 200);
  EXPECT_EQ(r.answer.body,
            R"({"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"2b5b8ef7c1c56125672a3fca1e3bd3aa31bbc43986af756188e40ce985a9f64e"})");
}

TEST(ZoomAuth, UnsignedUrlValidationIsRefused) {
  const std::string body = R"({"payload":{"plainToken":"x"},"event":"endpoint.url_validation"})";
  EXPECT_EQ(auth().check(request(body, "v0=00")).kind, AuthResult::refused);
}

TEST(ZoomAuth, NeedsASecret) {
  EXPECT_THROW(ZoomAuthenticator({{}, std::chrono::seconds(300), nullptr}), std::invalid_argument);
}

}  // namespace
}  // namespace numflow

namespace numflow {
namespace {
// Found by fuzz_auth: a timestamp at the edge of int64 must be refused, not overflow.
TEST(ZoomAuth, ExtremeTimestampsAreStaleNotOverflow) {
  EXPECT_EQ(auth().check(request(kBody, kSig, "-9223372036854775808")).reason, "stale_timestamp");
  EXPECT_EQ(auth().check(request(kBody, kSig, "9223372036854775807")).reason, "stale_timestamp");
}
}  // namespace
}  // namespace numflow

namespace numflow {
namespace {
// With authentication `none` the challenge cannot be answered (its answer is an HMAC with the
// secret token): refused clearly, and never accepted as an event to store.
TEST(ZoomAuth, UrlValidationOnARouteWithoutAuthenticationIsRefusedNotStored) {
  const NoAuth none(zoom_handshake_without_secret);
  const std::string challenge = R"({"payload":{"plainToken":"x"},"event":"endpoint.url_validation"})";
  const auto r = none.check(request(challenge, ""));
  ASSERT_EQ(r.kind, AuthResult::refused);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.reason, "url_validation_needs_secret_token");
  EXPECT_EQ(none.check(request(R"({"event":"phone.number.cnam_updated"})", "")).kind, AuthResult::accepted);
}
}  // namespace
}  // namespace numflow
