// fuzz_transform_core: raw webhook bytes -> the transform's pure core (transform/core/core.h).
//
// Input layout:
//   byte 0      provider of each event, two bits per event from the low bits up:
//               0 "8x8", 1 "zoom", 2 "ringcentral", 3 "8x8" (so the first byte picks the provider)
//   byte 1      flags: bit 0 CoreOptions::snapshot_webhooks_complete, bit 1 the raw key names an
//               account ("acct-fuzz"; else none), bit 2 every event is delivered twice
//   bytes 2..   up to four raw bodies separated by "\n#NF#\n", processed in order against one state
//
// Beyond sanitizer reports, it checks what the service relies on:
//   - every number-changes / extension-changes value validates against its published schema
//     (schemas/number-change.v1, schemas/extension-change.v1) and tombstones follow deletions only;
//   - the service's split pipeline gives the same records as process(): normalize_raw, each
//     fragment through encode_fragment/decode_fragment (the repartition topic), apply_fragment on a
//     store whose every state goes through encode_state/decode_state (the changelog);
//   - encode(decode(encode(x))) == encode(x) for every fragment, snapshot end and state.
#include <rapidjson/document.h>

#include <array>
#include <map>

#include "fuzz/fuzz_util.h"
#include "schemas/schema_store.h"
#include "transform/core/codec.h"
#include "transform/core/core.h"

namespace {

using namespace numflow;
using namespace numflow::transform;
namespace fz = numflow::fuzz;

constexpr std::int64_t kNow = 1795478400000;  // 2026-11-24T00:00:00.000Z
constexpr std::array<std::string_view, 4> kProviders = {"8x8", "zoom", "ringcentral", "8x8"};

// A StateStore that keeps only what the changelog topic would: every state as encode_state() text,
// decoded again on each find() (what a restore after a rebalance gives the merge stage).
class ChangelogStore final : public StateStore {
 public:
  const NumberState* find(std::string_view number) const override {
    const auto it = text_.find(std::string(number));
    if (it == text_.end()) return nullptr;
    auto decoded = decode_state(it->second);
    fz::check(decoded.has_value(), "decode_state refused what encode_state wrote", it->second);
    fz::check(encode_state(*decoded) == it->second, "state does not survive encode/decode", it->second);
    // Updated in place: a pointer stays valid across put(), as with MemoryStateStore.
    NumberState& slot = cache_[it->first];
    slot = std::move(*decoded);
    return &slot;
  }
  void put(const std::string& number, NumberState state) override { text_[number] = encode_state(state); }
  void erase(std::string_view number) override { text_.erase(std::string(number)); }
  std::size_t size() const override { return text_.size(); }
  void for_each(const std::function<void(const std::string&, const NumberState&)>& fn) const override {
    for (const auto& [k, _] : text_) fn(k, *find(k));
  }

 private:
  std::map<std::string, std::string> text_;
  mutable std::map<std::string, NumberState> cache_;
};

std::string describe(const std::vector<Output>& outs) {
  std::string d;
  for (const auto& o : outs) {
    d += std::to_string(static_cast<int>(o.topic)) + " key=" + o.key + " value=" + o.value.value_or("<tombstone>") +
         " code=" + o.error_code + "\n";
  }
  return d;
}

void check_records(const std::vector<Output>& outs) {
  for (std::size_t i = 0; i < outs.size(); ++i) {
    const Output& o = outs[i];
    if (o.topic == Topic::dead_letter) {
      fz::check(!o.error_code.empty(), "dead letter without an error code");
      continue;
    }
    fz::check(!o.key.empty(), "record without a key", describe(outs));
    if (!o.value) {
      // A tombstone directly follows the deletion record of the same key.
      fz::check(i > 0 && outs[i - 1].key == o.key && outs[i - 1].value &&
                    outs[i - 1].value->find("\"change\":\"deleted\"") != std::string::npos,
                "tombstone without a deletion record before it", describe(outs));
      continue;
    }
    rapidjson::Document doc;
    doc.Parse(o.value->data(), o.value->size());
    fz::check(!doc.HasParseError(), "record is not JSON", *o.value);
    const char* schema = o.topic == Topic::number_changes ? "number-change.v1" : "extension-change.v1";
    const auto v = schemas::validate(schema, doc);
    if (v) fz::fail(std::string("record violates ") + schema + ": " + v->detail, *o.value);
  }
}

// The service's two stages, with the repartition and changelog topics' encodings in between.
std::vector<Output> run_split(const RawEvent& ev, ChangelogStore& store, const CoreOptions& options) {
  Normalization n = normalize_raw(ev, options, kNow);
  std::vector<Output> out;
  for (const NumberFragment& f : n.fragments) {
    const std::string text = encode_fragment(f);
    auto decoded = decode_fragment(text);
    fz::check(decoded && std::holds_alternative<NumberFragment>(*decoded), "decode_fragment refused a fragment",
              text);
    const auto& g = std::get<NumberFragment>(*decoded);
    fz::check(encode_fragment(g) == text, "fragment does not survive encode/decode", text);
    Applied a = apply_fragment(g, store, kNow);
    for (auto& o : a.outputs) out.push_back(std::move(o));
  }
  if (n.snapshot_end) {
    const std::string text = encode_snapshot_end(*n.snapshot_end);
    auto decoded = decode_fragment(text);
    fz::check(decoded && std::holds_alternative<SnapshotEnd>(*decoded), "decode_fragment refused a snapshot end",
              text);
    fz::check(encode_snapshot_end(std::get<SnapshotEnd>(*decoded)) == text,
              "snapshot end does not survive encode/decode", text);
    for (auto& o : apply_snapshot_end(std::get<SnapshotEnd>(*decoded), store, kNow)) out.push_back(std::move(o));
  }
  for (auto& o : n.outputs) out.push_back(std::move(o));
  return out;
}

bool same(const std::vector<Output>& a, const std::vector<Output>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].topic != b[i].topic || a[i].key != b[i].key || a[i].value != b[i].value ||
        a[i].error_code != b[i].error_code || a[i].error_detail != b[i].error_detail)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return -1;
  const std::uint8_t providers = data[0], flags = data[1];
  CoreOptions options;
  options.snapshot_webhooks_complete = (flags & 1) != 0;
  const std::string_view account = (flags & 2) ? "acct-fuzz" : "";
  const int deliveries = (flags & 4) ? 2 : 1;

  const auto bodies = fz::split(fz::as_view(data + 2, size - 2), "\n#NF#\n", 4);
  MemoryStateStore state;
  ChangelogStore changelog;
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    const std::string_view provider = kProviders[(providers >> (2 * i)) & 3];
    for (int d = 0; d < deliveries; ++d) {
      RawEvent ev{provider, account, bodies[i], kNow - 60000 + static_cast<std::int64_t>(i) * 1000,
                  SourcePosition{"webhooks.raw", 0, offset++}};
      const Result r = process(ev, state, options, kNow);
      check_records(r.outputs);
      const std::vector<Output> split = run_split(ev, changelog, options);
      if (!same(r.outputs, split))
        fz::fail("process() and the split pipeline disagree",
                 "process():\n" + describe(r.outputs) + "split:\n" + describe(split));
    }
  }
  return 0;
}
