// The internal records in binary: a tag, then fields in a fixed order, integers as (zigzag)
// varints, strings length-prefixed. JSON here cost ~12 µs per event (a fragment encoded and
// decoded, a state encoded) of the transform's ~80: slot values, already canonical JSON text,
// were quoted, parsed into a DOM and printed again on every hop. Now they are copied.
#include "transform/core/codec.h"

#include <rapidjson/reader.h>

#include "providers/exact_json.h"
#include "providers/json_util.h"
#include "transform/core/codec_json_v1.h"

namespace numflow::transform {
namespace {

// First bytes: never '{' nor whitespace, so the JSON of codec_json_v1 is told apart.
constexpr char kUpdate[] = "\x02U", kSnapshotEnd[] = "\x02" "E", kState[] = "\x02S";

class Writer {
 public:
  explicit Writer(std::string_view tag, std::size_t reserve = 256) {
    out_.reserve(reserve);
    out_.append(tag);
  }
  void u64(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void i64(std::int64_t v) { u64((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63)); }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }
  // Which event a record comes from: the first fields of every fragment.
  void event(std::string_view provider, std::string_view account, std::string_view event_type) {
    str(provider);
    str(account);
    str(event_type);
  }
  // Set slots, counted first: (name, then what `value` writes) each.
  template <typename Slots, typename WriteValue>
  void slots(const Slots& slots, WriteValue value) {
    std::size_t n = 0;
    for (const auto& v : slots) n += v.has_value();
    u64(n);
    for (std::size_t i = 0; i < kSlotCount; ++i) {
      if (!slots[i]) continue;
      str(kSlotNames[i]);
      value(*slots[i]);
    }
  }
  void source(const std::optional<SourcePosition>& s) {
    out_.push_back(s ? 1 : 0);
    if (!s) return;
    str(s->topic);
    i64(s->partition);
    i64(s->offset);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Slot values as numflow writes them are mostly strings without escapes, true, false or null: those
// are told valid JSON by a look at their bytes. Anything else (numbers, objects, escapes, UTF-8) is
// read by RapidJSON.
bool plainly_json(std::string_view t) {
  if (t == "true" || t == "false" || t == "null") return true;
  if (t.size() < 2 || t.front() != '"' || t.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < t.size(); ++i) {
    const auto c = static_cast<unsigned char>(t[i]);
    if (json::needs_escape(c) || c >= 0x80) return false;  // escapes, and UTF-8 to validate
  }
  return true;
}

// Reads what Writer wrote; any read past the end or out of range turns ok() false for good.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == in_.size(); }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return fail();
      const auto b = static_cast<unsigned char>(in_[pos_++]);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return fail();
  }
  std::int64_t i64() {
    const std::uint64_t z = u64();
    return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  std::string_view view() {
    const std::uint64_t n = u64();
    if (!ok_ || n > in_.size() - pos_) return fail(), std::string_view();
    const std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string str() { return std::string(view()); }
  void event(std::string& provider, std::string& account, std::string& event_type) {
    provider = str();
    account = str();
    event_type = str();
  }
  std::uint8_t byte() {
    if (pos_ >= in_.size()) return static_cast<std::uint8_t>(fail());
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  std::optional<SourcePosition> source() {
    if (byte() != 1) return std::nullopt;
    SourcePosition s;
    s.topic = str();
    const std::int64_t p = i64();
    if (p < INT32_MIN || p > INT32_MAX) return fail(), std::nullopt;
    s.partition = static_cast<std::int32_t>(p);
    s.offset = i64();
    return s;
  }
  // A slot: its name (numflow's own, so a renumbering of slots cannot misplace values) and its
  // JSON text. The text is checked to be one JSON value: whatever is on the topic ends up
  // verbatim in the records analytics read.
  std::optional<std::size_t> slot_index() {
    const std::string_view name = view();
    for (std::size_t s = 0; s < kSlotCount; ++s)
      if (kSlotNames[s] == name) return s;
    return std::nullopt;
  }
  std::string json_value() {
    const std::string_view text = view();
    if (!ok_) return {};
    if (plainly_json(text)) return std::string(text);
    rapidjson::MemoryStream ms(text.data(), text.size());
    rapidjson::BaseReaderHandler<> any;
    thread_local rapidjson::Reader reader;  // keeps its stack: one allocation per thread, not per slot
    if (json::parse_utf8<rapidjson::kParseIterativeFlag>(reader, ms, any, text).IsError()) return fail(), std::string();
    return std::string(text);
  }

 private:
  std::uint64_t fail() {
    ok_ = false;
    pos_ = in_.size();
    return 0;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

bool starts_with(std::string_view bytes, std::string_view tag) { return bytes.substr(0, tag.size()) == tag; }

std::string_view body(std::string_view bytes) { return bytes.size() < 2 ? std::string_view() : bytes.substr(2); }

}  // namespace

std::string encode_fragment(const NumberFragment& f) {
  Writer w(kUpdate);
  w.event(f.provider, f.account_id, f.event_type);
  const NumberUpdate& u = f.update;
  w.str(u.number);
  w.u64(static_cast<std::uint64_t>(u.hint));
  w.str(u.event_id);
  w.i64(u.event_time_ms);
  w.str(f.inventory);
  w.i64(f.snapshot_ms);
  w.source(f.source);
  w.slots(u.slots.values, [&](const std::string& json) { w.str(json); });
  return w.take();
}

std::string encode_snapshot_end(const SnapshotEnd& e) {
  Writer w(kSnapshotEnd, 96);
  w.event(e.provider, e.account_id, e.event_type);
  w.str(e.inventory);
  w.i64(e.snapshot_ms);
  w.source(e.source);
  return w.take();
}

std::optional<std::variant<NumberFragment, SnapshotEnd>> decode_fragment(std::string_view bytes) {
  Reader r(body(bytes));
  if (starts_with(bytes, kSnapshotEnd)) {
    SnapshotEnd e;
    r.event(e.provider, e.account_id, e.event_type);
    e.inventory = r.str();
    e.snapshot_ms = r.i64();
    e.source = r.source();
    if (!r.done()) return std::nullopt;
    return e;
  }
  if (!starts_with(bytes, kUpdate)) return decode_fragment_json_v1(bytes);
  NumberFragment f;
  r.event(f.provider, f.account_id, f.event_type);
  NumberUpdate& u = f.update;
  u.number = r.str();
  const std::uint64_t hint = r.u64();
  if (hint > static_cast<std::uint64_t>(ChangeHint::listed_in_snapshot)) return std::nullopt;
  u.hint = static_cast<ChangeHint>(hint);
  u.event_id = r.str();
  u.event_time_ms = r.i64();
  f.inventory = r.str();
  f.snapshot_ms = r.i64();
  f.source = r.source();
  const std::uint64_t n = r.u64();
  if (n > kSlotCount) return std::nullopt;
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    const auto s = r.slot_index();
    std::string value = r.json_value();
    if (!s || u.slots.values[*s]) return std::nullopt;  // unknown or repeated: not numflow's writing
    u.slots.values[*s] = std::move(value);
  }
  if (!r.done() || u.number.empty()) return std::nullopt;
  return f;
}

std::string encode_state(const NumberState& s) {
  Writer w(kState, 384);
  w.str(s.provider);
  w.str(s.account_id);
  w.str(s.inventory);
  w.i64(s.snapshot_ms);
  w.i64(s.deleted_at_ms);
  w.u64(s.recent_event_ids.size());
  for (const auto& id : s.recent_event_ids) w.str(id);
  w.slots(s.slots, [&](const SlotValue& v) {
    w.i64(v.event_time_ms);
    w.str(v.json);
  });
  return w.take();
}

std::optional<NumberState> decode_state(std::string_view bytes) {
  if (!starts_with(bytes, kState)) return decode_state_json_v1(bytes);
  Reader r(body(bytes));
  NumberState s;
  s.provider = r.str();
  s.account_id = r.str();
  s.inventory = r.str();
  s.snapshot_ms = r.i64();
  s.deleted_at_ms = r.i64();
  const std::uint64_t ids = r.u64();
  if (ids > NumberState::kRecentEventIds) return std::nullopt;
  for (std::uint64_t i = 0; i < ids && r.ok(); ++i) s.recent_event_ids.push_back(r.str());
  const std::uint64_t n = r.u64();
  if (n > kSlotCount) return std::nullopt;
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    const auto slot = r.slot_index();
    const std::int64_t t = r.i64();
    std::string value = r.json_value();
    if (!slot || s.slots[*slot]) return std::nullopt;
    s.slots[*slot] = SlotValue{std::move(value), t};
  }
  if (!r.done()) return std::nullopt;
  return s;
}

}  // namespace numflow::transform
