#pragma once
#include "providers/provider.h"

namespace numflow {

class RingCentral final : public Provider {
 public:
  std::string_view name() const override { return "ringcentral"; }
  std::string account_of(const rapidjson::Value& body) const override;
  std::vector<json::MemberPath> account_paths() const override;
  NormalizeResult normalize(const rapidjson::Value& body, const EventContext& ctx) const override;
};

// The account id in a RingCentral path or URI ("/restapi/v1.0/account/37439510/..."); "" when
// absent or a placeholder ("~", "{accountId}").
std::string ringcentral_account_in(std::string_view path);

}  // namespace numflow
