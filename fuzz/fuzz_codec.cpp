// fuzz_codec: bytes of the transform's internal topics -> decode_fragment / decode_state
// (transform/core/codec.h), then the merge stage on what was decoded.
//
// The internal topics (numflow.fragments, numflow.number-state) are written by numflow only, but
// whatever is on them is read back at every rebalance and restore: garbage must be refused
// (nullopt), never crash the transform.
//
// Input: a state record, "\n#NF#\n", a fragment record (either part may be empty), each in the
// binary form numflow writes or the JSON one ("v":1) it still reads. The whole input is also tried
// as each. When both decode, the state is stored under the fragment's number and the
// fragment applied to it, as the merge stage does.
// Checks: encode(decode(x)) is a fixpoint of decode/encode.
#include "fuzz/fuzz_util.h"
#include "transform/core/codec.h"
#include "transform/core/core.h"

namespace {

using namespace numflow;
using namespace numflow::transform;
namespace fz = numflow::fuzz;

constexpr std::int64_t kNow = 1795478400000;

std::optional<NumberState> state_of(std::string_view bytes) {
  auto s = decode_state(bytes);
  if (!s) return s;
  const std::string once = encode_state(*s);
  auto again = decode_state(once);
  fz::check(again.has_value(), "decode_state refused what encode_state wrote", once);
  fz::check(encode_state(*again) == once, "state encode/decode is not a fixpoint", once);
  return s;
}

std::optional<std::variant<NumberFragment, SnapshotEnd>> fragment_of(std::string_view bytes) {
  auto f = decode_fragment(bytes);
  if (!f) return f;
  if (const auto* u = std::get_if<NumberFragment>(&*f)) {
    const std::string once = encode_fragment(*u);
    auto again = decode_fragment(once);
    fz::check(again && std::holds_alternative<NumberFragment>(*again), "decode_fragment refused a fragment", once);
    fz::check(encode_fragment(std::get<NumberFragment>(*again)) == once, "fragment encode/decode is not a fixpoint",
              once);
  } else {
    const std::string once = encode_snapshot_end(std::get<SnapshotEnd>(*f));
    auto again = decode_fragment(once);
    fz::check(again && std::holds_alternative<SnapshotEnd>(*again), "decode_fragment refused a snapshot end", once);
    fz::check(encode_snapshot_end(std::get<SnapshotEnd>(*again)) == once,
              "snapshot end encode/decode is not a fixpoint", once);
  }
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all = fz::as_view(data, size);
  state_of(all);
  fragment_of(all);

  const auto parts = fz::split(all, "\n#NF#\n", 2);
  if (parts.size() < 2) return 0;
  auto state = state_of(parts[0]);
  auto fragment = fragment_of(parts[1]);
  if (!fragment) return 0;
  MemoryStateStore store;
  if (auto* u = std::get_if<NumberFragment>(&*fragment)) {
    if (state) store.put(u->update.number, std::move(*state));
    apply_fragment(*u, store, kNow);
  } else {
    const auto& end = std::get<SnapshotEnd>(*fragment);
    if (state) store.put("+15550100000", std::move(*state));
    apply_snapshot_end(end, store, kNow);
  }
  return 0;
}
