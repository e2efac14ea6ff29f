#pragma once
// RingCentral: the subscription handshake (a `Validation-Token` header, empty body) is answered
// here; deliveries carry the subscription's `Verification-Token` header and/or a secret query
// parameter in the webhook address. Both compared in constant time.
#include <optional>
#include <string>

#include "providers/authenticator.h"

namespace numflow {

struct RingCentralAuthOptions {
  std::string verification_token;  // expected Verification-Token header; "" = not checked
  std::string query_secret;        // expected value of `query_parameter`; "" = not checked
  std::string query_parameter = "token";
};

class RingCentralAuthenticator final : public Authenticator {
 public:
  explicit RingCentralAuthenticator(RingCentralAuthOptions options);  // one of the two is needed
  AuthResult check(const http::Request& request) const override;

 private:
  RingCentralAuthOptions options_;
};

// The subscription handshake (`Validation-Token` header, empty body) echoed, or nullopt for any
// other request. Needs no secret, so a route with authentication `none` answers it too.
std::optional<AuthResult> ringcentral_handshake(const http::Request& request);

// The value of `name` in a query string ("a=1&token=x"), percent-decoded; nullopt when absent.
std::optional<std::string> query_value(std::string_view query, std::string_view name);

}  // namespace numflow
