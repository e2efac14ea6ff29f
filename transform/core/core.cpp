#include "transform/core/core.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "providers/registry.h"

namespace numflow::transform {
namespace {

Result dead_letter(std::string code, std::string detail) {
  Result r;
  r.outcome = Outcome::dead_lettered;
  r.detail = detail;
  r.outputs.push_back(Output{Topic::dead_letter, {}, std::nullopt, std::move(code), std::move(detail)});
  return r;
}

std::string invalid_numbers_detail(const std::vector<InvalidNumber>& invalid) {
  std::string d;
  for (const auto& n : invalid) {
    if (!d.empty()) d += "; ";
    d += n.pointer + ": '" + n.value + "' is not a phone number in E.164 even after normalization";
  }
  return d;
}

void publish_numbers(const Normalized& n, const RecordContext& ctx, StateStore& state, Result& r) {
  for (const NumberUpdate& u : n.numbers) {
    auto merged = merge(state.find(u.number), u);
    if (!merged) continue;
    r.outputs.push_back(
        Output{Topic::number_changes, u.number, number_change_json(ctx, u.number, *merged, u.event_id, u.event_time_ms),
               {}, {}});
    if (merged->change == Change::deleted) {
      r.outputs.push_back(Output{Topic::number_changes, u.number, std::nullopt, {}, {}});
      state.erase(u.number);
    } else {
      merged->state.provider = std::string(ctx.provider);
      merged->state.account_id = std::string(ctx.account_id);
      state.put(u.number, std::move(merged->state));
    }
  }
}

void publish_extensions(const Normalized& n, const RecordContext& ctx, Result& r) {
  for (const ExtensionUpdate& x : n.extensions) {
    std::string key = "ringcentral:" + n.account_id + ":" + x.extension_id;
    r.outputs.push_back(Output{Topic::extension_changes, key, extension_change_json(ctx, x), {}, {}});
    if (x.deleted) r.outputs.push_back(Output{Topic::extension_changes, std::move(key), std::nullopt, {}, {}});
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

Result process(const RawEvent& event, StateStore& state, const CoreOptions& options, std::int64_t now_ms) {
  const Provider* provider = find_provider(event.provider);
  if (!provider) return dead_letter("unknown_provider", "no provider named '" + std::string(event.provider) + "'");

  rapidjson::Document doc;
  // Iterative parsing: nesting depth cannot overflow the stack. UTF-8 is validated: a body that is
  // not well-formed UTF-8 JSON is invalid_json (contract §3).
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(event.body.data(),
                                                                                    event.body.size());
  if (doc.HasParseError())
    return dead_letter("invalid_json", std::string("not well-formed UTF-8 JSON: ") +
                                           rapidjson::GetParseError_En(doc.GetParseError()) + " at byte " +
                                           std::to_string(doc.GetErrorOffset()));
  if (!doc.IsObject()) return dead_letter("schema_violation", "the body must be a JSON object, at /");

  EventContext ctx{event.account, event.received_at_ms ? event.received_at_ms : now_ms,
                   options.snapshot_webhooks_complete};
  NormalizeResult normalized = provider->normalize(doc, ctx);
  if (auto* failure = std::get_if<Failure>(&normalized)) return dead_letter(failure->code, failure->detail);
  const Normalized& n = std::get<Normalized>(normalized);

  Result r;
  r.provider_event_type = n.event_type;
  if (!n.skipped.empty()) {
    r.outcome = Outcome::skipped;
    r.detail = n.skipped;
    return r;
  }
  const RecordContext rctx{provider->name(), n.account_id, n.event_type, now_ms, &event.source};
  publish_numbers(n, rctx, state, r);
  publish_extensions(n, rctx, r);
  r.outcome = r.outputs.empty() ? Outcome::unchanged : Outcome::published;
  if (!n.invalid_numbers.empty()) {
    // The event's other numbers are published; the raw event goes to the dead-letter topic once,
    // naming every number that failed.
    r.detail = invalid_numbers_detail(n.invalid_numbers);
    r.outputs.push_back(Output{Topic::dead_letter, {}, std::nullopt, "invalid_number", r.detail});
    r.outcome = Outcome::dead_lettered;
  }
  return r;
}

}  // namespace numflow::transform
