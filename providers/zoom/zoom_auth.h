#pragma once
// Zoom: `x-zm-signature: v0=hex(HMAC-SHA256(secret, "v0:{x-zm-request-timestamp}:{raw body}"))`,
// any of several secret tokens (so a token can be rotated without downtime), timestamps within a
// skew window, and the `endpoint.url_validation` challenge answered here, never stored.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "providers/authenticator.h"

namespace numflow {

struct ZoomAuthOptions {
  std::vector<std::string> secret_tokens;        // at least one
  std::chrono::seconds max_skew{300};
  std::function<std::int64_t()> now_seconds;     // unix time; empty: the system clock
};

class ZoomAuthenticator final : public Authenticator {
 public:
  explicit ZoomAuthenticator(ZoomAuthOptions options);
  AuthResult check(const http::Request& request) const override;

  // hex(HMAC-SHA256(secret, message)): the signature's and the challenge's primitive.
  static std::string sign_hex(std::string_view secret, std::string_view message);

 private:
  ZoomAuthOptions options_;
  std::vector<crypto::HmacSha256Key> keys_;  // one per secret token, in the same order
};

// For a Zoom route with authentication `none`: Zoom's `endpoint.url_validation` challenge can only
// be answered with a secret token (its answer is an HMAC), so it is refused (400
// `url_validation_needs_secret_token`) rather than stored as if it were an event; nullopt for
// any other request.
std::optional<AuthResult> zoom_handshake_without_secret(const http::Request& request);

}  // namespace numflow
