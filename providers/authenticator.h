#pragma once
// How ingest decides whether a delivery really comes from a provider. Each provider module has
// its authenticator beside its normalizer; ingest runs the one configured for the route before
// anything is written to Kafka.
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

// For a route explicitly configured `none` (contract §1: it logs a warning at start).
class NoAuth final : public Authenticator {
 public:
  AuthResult check(const http::Request&) const override { return AuthResult::accept("none"); }
};

}  // namespace numflow
