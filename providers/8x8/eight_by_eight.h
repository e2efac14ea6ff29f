#pragma once
#include "providers/provider.h"

namespace numflow {

class EightByEight final : public Provider {
 public:
  std::string_view name() const override { return "8x8"; }
  std::string account_of(const rapidjson::Value& body) const override;
  std::vector<json::MemberPath> account_paths() const override;
  NormalizeResult normalize(const rapidjson::Value& body, const EventContext& ctx) const override;

 private:
  NormalizeResult normalize_webhook(const rapidjson::Value& body, const EventContext& ctx) const;
  NormalizeResult normalize_api(const rapidjson::Value& body, const EventContext& ctx) const;
};

}  // namespace numflow
