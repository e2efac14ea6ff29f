#pragma once
// The first form of the transform's internal records, JSON with "v":1: read, no longer written.
#include <optional>
#include <string_view>
#include <variant>

#include "transform/core/core.h"

namespace numflow::transform {

std::optional<std::variant<NumberFragment, SnapshotEnd>> decode_fragment_json_v1(std::string_view bytes);
std::optional<NumberState> decode_state_json_v1(std::string_view bytes);

}  // namespace numflow::transform
