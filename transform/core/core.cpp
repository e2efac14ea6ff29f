#include "transform/core/core.h"

#include <rapidjson/document.h>

#include <algorithm>

#include "providers/exact_json.h"
#include "providers/provider_util.h"
#include "providers/registry.h"

namespace numflow::transform {
namespace {

// Details quote the body (an event name, a number): a hostile one must not make the dead letter's
// header or the log line huge. A 1 MB event name gave a 1 MB numflow-error-detail header, which
// with the raw bytes beside it no longer fits in one Kafka message: the transaction that cannot
// produce it is aborted and retried for ever.
constexpr std::size_t kMaxDetailBytes = 1024;
constexpr std::size_t kMaxQuotedBytes = 64;

std::string bounded(std::string detail) {
  if (detail.size() <= kMaxDetailBytes) return detail;
  const std::size_t total = detail.size();
  detail.resize(json::utf8_prefix(detail, kMaxDetailBytes).size());
  return detail + "... (" + std::to_string(total) + " bytes in all)";
}

std::string quoted(std::string_view value) {
  const auto shown = json::utf8_prefix(value, kMaxQuotedBytes);
  return "'" + std::string(shown) + (shown.size() < value.size() ? "...'" : "'");
}

Normalization dead_letter(std::string code, std::string detail) {
  Normalization n;
  n.outcome = Outcome::dead_lettered;
  n.detail = bounded(std::move(detail));
  n.outputs.push_back(Output{Topic::dead_letter, {}, std::nullopt, std::move(code), n.detail});
  return n;
}

// Names every number that failed, or the first few of 100,000 and how many more.
std::string invalid_numbers_detail(const std::vector<InvalidNumber>& invalid) {
  constexpr std::size_t kRoomForTheCount = 32;
  std::string d;
  std::size_t named = 0;
  for (const auto& n : invalid) {
    std::string one = n.pointer + ": " + quoted(n.value) + " is not a phone number in E.164 even after normalization";
    if (named && d.size() + one.size() + kRoomForTheCount > kMaxDetailBytes) break;
    d += (named++ ? "; " : "") + one;
  }
  if (named < invalid.size()) d += "; and " + std::to_string(invalid.size() - named) + " more";
  return bounded(std::move(d));
}

RecordContext record_context(const NumberFragment& f, std::int64_t now_ms) {
  return RecordContext{f.provider, f.account_id, f.event_type, now_ms, &f.source};
}

// A record, then for a deletion its tombstone; the store keeps the new state or the marker.
void publish(const std::string& number, Merged&& m, const RecordContext& ctx, std::string_view event_id,
             std::int64_t event_time_ms, StateStore& state, std::vector<Output>& out) {
  out.push_back(Output{Topic::number_changes, number, number_change_json(ctx, number, m, event_id, event_time_ms),
                       {}, {}});
  if (m.change == Change::deleted) {
    out.push_back(Output{Topic::number_changes, number, std::nullopt, {}, {}});
    state.put(number, deletion_marker(m.state, event_time_ms));
  } else {
    m.state.provider = std::string(ctx.provider);
    m.state.account_id = std::string(ctx.account_id);
    state.put(number, std::move(m.state));
  }
}

}  // namespace

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::published: return "published";
    case Outcome::skipped: return "skipped";
    case Outcome::dead_lettered: return "dead_lettered";
    default: return "unchanged";
  }
}

std::pair<std::string_view, std::string_view> split_raw_key(std::string_view key) {
  const auto colon = key.find(':');
  if (colon == std::string_view::npos) return {key, {}};
  return {key.substr(0, colon), key.substr(colon + 1)};
}

Normalization normalize_raw(const RawEvent& event, const CoreOptions& options, std::int64_t now_ms) {
  const Provider* provider = find_provider(event.provider);
  if (!provider) return dead_letter("unknown_provider", "no provider named '" + std::string(event.provider) + "'");

  // Iterative, UTF-8 validated, duplicate names refused, numbers' exact text kept (exact_json.h).
  // A body that is not well-formed UTF-8 JSON is invalid_json (contract §3).
  json::ExactDocument exact;
  if (auto error = exact.parse(event.body)) return dead_letter("invalid_json", std::move(*error));
  const rapidjson::Value& doc = exact.root();
  if (!doc.IsObject()) return dead_letter("schema_violation", "the body must be a JSON object, at /");

  const std::int64_t received = event.received_at_ms ? event.received_at_ms : now_ms;
  EventContext ctx{event.account, received, options.snapshot_webhooks_complete, event.origin, &exact};
  NormalizeResult normalized = provider->normalize(doc, ctx);
  if (auto* failure = std::get_if<Failure>(&normalized)) return dead_letter(failure->code, failure->detail);
  Normalized& n = std::get<Normalized>(normalized);

  Normalization out;
  out.provider_event_type = n.event_type;
  if (!n.skipped.empty()) {
    out.outcome = Outcome::skipped;
    out.detail = n.skipped;
    return out;
  }
  const std::string provider_name(provider->name());
  const std::string inventory = n.complete_snapshot ? provider_name + ":" + n.account_id : std::string();
  for (NumberUpdate& u : n.numbers) {
    out.fragments.push_back(NumberFragment{provider_name, n.account_id, n.event_type, std::move(u), event.source,
                                           inventory, n.complete_snapshot ? received : -1});
  }
  if (n.complete_snapshot)
    out.snapshot_end = SnapshotEnd{provider_name, n.account_id, n.event_type, inventory, received, event.source};
  const RecordContext rctx{provider->name(), n.account_id, n.event_type, now_ms, &event.source};
  for (const ExtensionUpdate& x : n.extensions) {
    std::string key = "ringcentral:" + n.account_id + ":" + x.extension_id;
    out.outputs.push_back(Output{Topic::extension_changes, key, extension_change_json(rctx, x), {}, {}});
    if (x.deleted) out.outputs.push_back(Output{Topic::extension_changes, std::move(key), std::nullopt, {}, {}});
  }
  out.outcome = (out.fragments.empty() && out.outputs.empty() && !out.snapshot_end) ? Outcome::unchanged
                                                                                    : Outcome::published;
  if (!n.invalid_numbers.empty()) {
    // The event's other numbers are published; the raw event goes to the dead-letter topic once,
    // naming every number that failed.
    out.detail = invalid_numbers_detail(n.invalid_numbers);
    out.outputs.push_back(Output{Topic::dead_letter, {}, std::nullopt, "invalid_number", out.detail});
    out.outcome = Outcome::dead_lettered;
  }
  return out;
}

Applied apply_fragment(const NumberFragment& f, StateStore& state, std::int64_t now_ms) {
  const NumberUpdate& u = f.update;
  Merged m = merge(state.find(u.number), u, f.inventory, f.snapshot_ms);
  Applied a;
  a.verdict = m.verdict;
  switch (m.verdict) {
    case Verdict::record:
      publish(u.number, std::move(m), record_context(f, now_ms), u.event_id, u.event_time_ms, state, a.outputs);
      a.state_changed = true;
      break;
    case Verdict::unchanged:
      state.put(u.number, std::move(m.state));  // event id and snapshot time move on
      a.state_changed = true;
      break;
    default:
      break;
  }
  return a;
}

std::vector<Output> apply_snapshot_end(const SnapshotEnd& end, StateStore& state, std::int64_t now_ms,
                                       std::vector<std::string>* deleted) {
  std::vector<std::string> missing;
  state.for_each([&](const std::string& number, const NumberState& s) {
    if (!s.deleted() && s.inventory == end.inventory && s.snapshot_ms < end.snapshot_ms) missing.push_back(number);
  });
  std::sort(missing.begin(), missing.end());  // deterministic output order
  std::vector<Output> out;
  const RecordContext ctx{end.provider, end.account_id, end.event_type, now_ms, &end.source};
  for (const auto& number : missing) {
    const std::string event_id =
        provider_util::event_hash({end.inventory, std::to_string(end.snapshot_ms), number, "missing"});
    publish(number, delete_missing(*state.find(number), event_id), ctx, event_id, end.snapshot_ms, state, out);
    if (deleted) deleted->push_back(number);
  }
  return out;
}

Result process(const RawEvent& event, StateStore& state, const CoreOptions& options, std::int64_t now_ms) {
  Normalization n = normalize_raw(event, options, now_ms);
  Result r;
  r.provider_event_type = n.provider_event_type;
  r.detail = n.detail;
  bool any_record = false;
  for (const auto& f : n.fragments) {
    Applied a = apply_fragment(f, state, now_ms);
    any_record |= !a.outputs.empty();
    for (auto& o : a.outputs) r.outputs.push_back(std::move(o));
  }
  if (n.snapshot_end)
    for (auto& o : apply_snapshot_end(*n.snapshot_end, state, now_ms)) {
      any_record = true;
      r.outputs.push_back(std::move(o));
    }
  for (auto& o : n.outputs) r.outputs.push_back(std::move(o));
  r.outcome = n.outcome;
  if (r.outcome == Outcome::published && !any_record && n.outputs.empty()) r.outcome = Outcome::unchanged;
  return r;
}

}  // namespace numflow::transform
