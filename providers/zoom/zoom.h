#pragma once
#include "providers/provider.h"

namespace numflow {

class Zoom final : public Provider {
 public:
  std::string_view name() const override { return "zoom"; }
  std::string account_of(const rapidjson::Value& body) const override;
  std::vector<json::MemberPath> account_paths() const override;
  NormalizeResult normalize(const rapidjson::Value& body, const EventContext& ctx) const override;
};

}  // namespace numflow
