#pragma once
// How ingest decides whether a delivery really comes from a provider. Each provider module has
// its authenticator beside its normalizer; ingest runs the one configured for the route before
// anything is written to Kafka.
#include <functional>
#include <optional>
#include <string>

#include "common/http_server.h"

namespace numflow {

struct AuthResult {
  enum Kind {
    accepted,  // write it to Kafka; `method` says how it was authenticated
    refused,   // answer `status` (401/403), never written to Kafka
    answered,  // a provider handshake: answer `answer` as is, not written to Kafka
  };
  Kind kind = accepted;
  int status = 0;          // refused: 401 or 403
  std::string reason;      // refused: short machine-readable reason; never a secret
  std::string method;      // accepted: e.g. "none", "zoom-hmac-sha256" (the numflow-auth header)
  http::Response answer;   // answered

  static AuthResult accept(std::string method);
  static AuthResult refuse(int status, std::string reason);
  static AuthResult answer_with(http::Response response);
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Called on an io thread for every POST on the provider's route; must not block.
  virtual AuthResult check(const http::Request& request) const = 0;
};

// A provider's handshake (a subscription or URL challenge) as it must be answered whatever the
// route's authentication: the answer, or nullopt when the request is not a handshake.
using Handshake = std::function<std::optional<AuthResult>(const http::Request&)>;

// For a route explicitly configured `none` (contract §1: it logs a warning at start). Handshakes
// are still answered by ingest and never written to Kafka (contract §1), so the provider's
// handshake runs first.
class NoAuth final : public Authenticator {
 public:
  NoAuth() = default;
  explicit NoAuth(Handshake handshake) : handshake_(std::move(handshake)) {}
  AuthResult check(const http::Request& request) const override {
    if (handshake_)
      if (auto answer = handshake_(request)) return std::move(*answer);
    return AuthResult::accept("none");
  }

 private:
  Handshake handshake_;
};

}  // namespace numflow
