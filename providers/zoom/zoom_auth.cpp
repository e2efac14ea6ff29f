#include "providers/zoom/zoom_auth.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <stdexcept>

#include "common/crypto.h"
#include "common/time.h"

namespace numflow {
namespace {

std::optional<std::int64_t> parse_seconds(std::string_view s) {
  std::int64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// The plainToken of an endpoint.url_validation body, or nullopt for any other body.
std::optional<std::string> url_validation_token(std::string_view body) {
  // Cheap pre-check: most deliveries are not challenges and need no parse here.
  if (body.find("endpoint.url_validation") == std::string_view::npos) return std::nullopt;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  const auto ev = doc.FindMember("event");
  // With its length: "endpoint.url_validation\u0000..." is another event, not the challenge.
  if (ev == doc.MemberEnd() || !ev->value.IsString() ||
      std::string_view(ev->value.GetString(), ev->value.GetStringLength()) != "endpoint.url_validation")
    return std::nullopt;
  const auto payload = doc.FindMember("payload");
  if (payload == doc.MemberEnd() || !payload->value.IsObject()) return std::string();
  const auto token = payload->value.FindMember("plainToken");
  if (token == payload->value.MemberEnd() || !token->value.IsString()) return std::string();
  return std::string(token->value.GetString(), token->value.GetStringLength());
}

std::string challenge_body(const std::string& plain, const std::string& encrypted) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("plainToken");
  w.String(plain.data(), static_cast<rapidjson::SizeType>(plain.size()));
  w.Key("encryptedToken");
  w.String(encrypted.data(), static_cast<rapidjson::SizeType>(encrypted.size()));
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

ZoomAuthenticator::ZoomAuthenticator(ZoomAuthOptions options) : options_(std::move(options)) {
  if (options_.secret_tokens.empty()) throw std::invalid_argument("zoom: at least one secret token is needed");
  for (const auto& t : options_.secret_tokens)
    if (t.empty()) throw std::invalid_argument("zoom: empty secret token");
  if (!options_.now_seconds) options_.now_seconds = [] { return now_unix_ms() / 1000; };
  for (const auto& t : options_.secret_tokens) keys_.emplace_back(t);
}

std::string ZoomAuthenticator::sign_hex(std::string_view secret, std::string_view message) {
  return crypto::to_hex(crypto::hmac_sha256(secret, message));
}

AuthResult ZoomAuthenticator::check(const http::Request& request) const {
  const std::string* signature = request.headers.find("x-zm-signature");
  const std::string* timestamp = request.headers.find("x-zm-request-timestamp");
  if (!signature || !timestamp) return AuthResult::refuse(401, "missing_signature");
  const auto ts = parse_seconds(*timestamp);
  if (!ts) return AuthResult::refuse(401, "bad_timestamp");
  // Compared without subtracting: a hostile timestamp near INT64_MIN/MAX must not overflow.
  const std::int64_t now = options_.now_seconds(), skew = options_.max_skew.count();
  if (*ts < now - skew || *ts > now + skew) return AuthResult::refuse(401, "stale_timestamp");

  // Over the exact bytes received: re-serialized JSON would not match what Zoom signed. The key
  // hashes the message's parts as they lie; "v0:" + timestamp + ":" + body is never built.
  // Without the v0= prefix nothing is given, and nothing matches a 64-character signature.
  const std::string_view given = std::string_view(*signature).starts_with("v0=") ? std::string_view(*signature).substr(3)
                                                                                  : std::string_view();
  std::optional<std::size_t> matched;  // which key
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    // Every token is tried, even after a match, so timing does not tell which one matched.
    const std::string expected = crypto::to_hex(keys_[i].sign({"v0:", *timestamp, ":", request.body}));
    if (crypto::constant_time_equal(given, expected) && !matched) matched = i;
  }
  if (!matched) return AuthResult::refuse(401, "bad_signature");

  if (auto plain = url_validation_token(request.body)) {
    if (plain->empty()) return AuthResult::refuse(400, "bad_url_validation");
    return AuthResult::answer_with(
        http::Response::json(200, challenge_body(*plain, crypto::to_hex(keys_[*matched].sign({*plain})))));
  }
  return AuthResult::accept("zoom-hmac-sha256");
}

std::optional<AuthResult> zoom_handshake_without_secret(const http::Request& request) {
  if (!url_validation_token(request.body)) return std::nullopt;
  return AuthResult::refuse(400, "url_validation_needs_secret_token");
}

}  // namespace numflow
