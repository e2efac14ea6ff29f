#pragma once
// The JSON of the records numflow publishes (contract §3, §4; schemas/number-change.v1 and
// schemas/extension-change.v1). Built by concatenating canonical fragments: the state's values
// are already JSON text.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "providers/provider.h"
#include "transform/core/merge.h"

namespace numflow::transform {

struct SourcePosition {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

struct RecordContext {
  std::string_view provider;
  std::string_view account_id;
  std::string_view event_type;
  std::int64_t processed_at_ms = 0;
  const std::optional<SourcePosition>* source = nullptr;
};

std::string state_json(const NumberState& state);
std::string number_change_json(const RecordContext& ctx, std::string_view number, const Merged& merged,
                               std::string_view event_id, std::int64_t event_time_ms);
std::string extension_change_json(const RecordContext& ctx, const ExtensionUpdate& x);

}  // namespace numflow::transform
