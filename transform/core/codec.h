#pragma once
// The transform's internal records: fragments on the repartition topic (numflow.fragments) and
// per-number state on the changelog topic (numflow.number-state). JSON, versioned ("v":1), for
// numflow's own use only: analytics read number-changes.
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "transform/core/core.h"

namespace numflow::transform {

std::string encode_fragment(const NumberFragment& f);
std::string encode_snapshot_end(const SnapshotEnd& e);
// nullopt when the bytes are not a fragment numflow wrote.
std::optional<std::variant<NumberFragment, SnapshotEnd>> decode_fragment(std::string_view json);

std::string encode_state(const NumberState& s);
std::optional<NumberState> decode_state(std::string_view json);

}  // namespace numflow::transform
