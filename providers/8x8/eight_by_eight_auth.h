#pragma once
// 8x8 signs nothing: a delivery is believed when it comes from 8x8's Voice IP addresses (a CIDR
// allowlist; X-Forwarded-For is believed only from configured proxies) and/or carries the
// `Authorization` value configured as the webhook's httpAuthHeader.
#include <string>

#include "common/net.h"
#include "providers/authenticator.h"

namespace numflow {

struct EightByEightAuthOptions {
  net::CidrSet allow;              // empty: any source
  net::CidrSet trusted_proxies;    // whose X-Forwarded-For is believed
  std::string authorization;       // expected Authorization value; "" = not checked
};

class EightByEightAuthenticator final : public Authenticator {
 public:
  explicit EightByEightAuthenticator(EightByEightAuthOptions options);  // allow and/or authorization
  AuthResult check(const http::Request& request) const override;

 private:
  EightByEightAuthOptions options_;
};

// The client address: the peer, or, when the peer is a trusted proxy, the rightmost address of
// X-Forwarded-For that is not itself a trusted proxy (the leftmost ones are the client's to forge).
std::string client_address(const http::Request& request, const net::CidrSet& trusted_proxies);

}  // namespace numflow
