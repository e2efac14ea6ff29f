#pragma once
// The transform's internal records: fragments on the repartition topic (numflow.fragments) and
// per-number state on the changelog topic (numflow.number-state). Binary (codec.cpp), for
// numflow's own use only: analytics read number-changes. The JSON form numflow wrote before
// ("v":1) is still read.
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "transform/core/core.h"

namespace numflow::transform {

std::string encode_fragment(const NumberFragment& f);
std::string encode_snapshot_end(const SnapshotEnd& e);
// nullopt when the bytes are not a fragment (a state) numflow wrote.
std::optional<std::variant<NumberFragment, SnapshotEnd>> decode_fragment(std::string_view bytes);

std::string encode_state(const NumberState& s);
std::optional<NumberState> decode_state(std::string_view bytes);

}  // namespace numflow::transform
