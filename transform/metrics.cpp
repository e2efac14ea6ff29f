#include "transform/metrics.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

namespace numflow::transform {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

namespace {

std::string bounded(std::string_view v) {
  static constexpr std::string_view kKnown[] = {"8x8", "zoom", "ringcentral"};
  for (auto k : kKnown)
    if (k == v) return std::string(v);
  return "other";
}

// Event kinds numflow knows; anything else (an unknown event's name is the sender's choice) is
// "other", so a label never takes an unbounded value.
std::string kind_label(std::string_view kind) {
  static constexpr std::string_view kKinds[] = {
      "VIRTUAL_NUMBER_UPDATE", "NUMBERS_API_SNAPSHOT", "number_management.peering_number_cnam_updated",
      "number_management.peering_number_emergency_address_updated", "phone.peering_number_cnam_updated",
      "phone.peering_number_emergency_address_updated", "endpoint.url_validation", "Created", "Updated", "Deleted",
      "Update", "Delete", "SubscriptionRenewalReminder"};
  for (auto k : kKinds)
    if (k == kind) return std::string(kind);
  return kind.empty() ? "unknown" : "other";
}

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::record: return "published";
    case Verdict::duplicate: return "duplicate";
    case Verdict::stale: return "stale";
    default: return "unchanged";
  }
}

}  // namespace

Metrics::Metrics(prometheus::Registry& r)
    : events_(BuildCounter()
                  .Name("numflow_transform_events_total")
                  .Help("Raw events normalized, by provider, event kind, outcome and dead-letter code")
                  .Register(r)),
      lag_(BuildGauge()
               .Name("numflow_transform_consumer_lag")
               .Help("Messages behind the end of each input partition (librdkafka statistics)")
               .Register(r)),
      merges_(BuildCounter()
                  .Name("numflow_transform_number_updates_total")
                  .Help("Per-number updates merged into state, by provider, kind and result (published, unchanged, "
                        "duplicate, stale)")
                  .Register(r)),
      records_(BuildCounter().Name("numflow_transform_records_total").Help("Records published, by topic").Register(r)),
      transactions_(BuildCounter()
                        .Name("numflow_transform_transactions_total")
                        .Help("Kafka transactions, by stage and result (committed, aborted)")
                        .Register(r)),
      transaction_seconds_(BuildHistogram()
                               .Name("numflow_transform_transaction_seconds")
                               .Help("Time from a batch's first message to its transaction's commit, by stage")
                               .Register(r)),
      commit_seconds_(BuildHistogram()
                          .Name("numflow_transform_commit_seconds")
                          .Help("Time spent committing a batch (send_offsets_to_transaction + commit_transaction), by stage")
                          .Register(r)) {
  processing_ = &BuildHistogram()
                     .Name("numflow_transform_processing_seconds")
                     .Help("Time to normalize one raw event")
                     .Register(r)
                     .Add({}, prometheus::Histogram::BucketBoundaries{1e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4,
                                                                      1e-3, 1e-2, 0.1});
  event_lag_ = &BuildHistogram()
                    .Name("numflow_transform_event_lag_seconds")
                    .Help("Now minus the provider's event_time of each published number-change record")
                    .Register(r)
                    .Add({}, prometheus::Histogram::BucketBoundaries{0.1, 0.5, 1, 5, 30, 60, 300, 3600, 86400});
  numbers_ = &BuildGauge().Name("numflow_transform_numbers_in_state").Help("Numbers held in state").Register(r).Add({});
  restore_ = &BuildGauge()
                  .Name("numflow_transform_restore_seconds")
                  .Help("Duration of the last state restore after a partition assignment")
                  .Register(r)
                  .Add({});
}

prometheus::Counter& Metrics::counter(prometheus::Family<prometheus::Counter>& family,
                                      std::initializer_list<std::pair<std::string_view, std::string_view>> labels) {
  std::string key(reinterpret_cast<const char*>(&family), sizeof &family);
  for (const auto& [name, value] : labels) {
    key += value;
    key += '\x1f';  // cannot occur in a label value here (all bounded above)
  }
  std::lock_guard lock(counters_mu_);
  if (const auto it = counters_.find(key); it != counters_.end()) return *it->second;
  std::map<std::string, std::string> map;
  for (const auto& [name, value] : labels) map.emplace(name, value);
  prometheus::Counter& c = family.Add(map);
  counters_.emplace(std::move(key), &c);
  return c;
}

prometheus::Counter& Metrics::event(std::string_view provider, std::string_view kind, Outcome outcome,
                                    std::string_view error_code) {
  return counter(events_, {{"provider", bounded(provider)},
                           {"kind", kind_label(kind)},
                           {"outcome", to_string(outcome)},
                           {"code", error_code}});
}

void Metrics::consumer_stats(std::string_view json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsObject()) return;
  if (d.HasMember("topics") && !d["topics"].IsObject()) return;  // not librdkafka's statistics: no change
  // The client this snapshot describes ("rdkafka#consumer-1"): its partitions, and only those,
  // are the ones to add, refresh or drop.
  const std::string client = d.HasMember("name") && d["name"].IsString() ? d["name"].GetString() : "";
  std::map<std::pair<std::string, std::string>, std::int64_t> fetched;  // -> lag, -1 if unknown
  std::set<std::string> topics;
  if (d.HasMember("topics")) {
    for (const auto& t : d["topics"].GetObject()) {
      const std::string topic = t.name.GetString();
      topics.insert(topic);
      if (!t.value.IsObject() || !t.value.HasMember("partitions") || !t.value["partitions"].IsObject()) continue;
      for (const auto& p : t.value["partitions"].GetObject()) {
        const std::string partition = p.name.GetString();
        if (partition == "-1" || !p.value.IsObject()) continue;
        const auto& v = p.value;
        // Not fetched here: never assigned (none), or revoked (stopping, then stopped).
        if (v.HasMember("fetch_state") && v["fetch_state"].IsString()) {
          const std::string_view state = v["fetch_state"].GetString();
          if (state == "none" || state == "stopping" || state == "stopped") continue;
        }
        // Transactional offset commits do not update librdkafka's committed_offset, so its
        // consumer_lag stays -1: measure from the last consumed position to the last stable offset
        // (what a read_committed consumer can reach) instead.
        auto field = [&v](const char* name) {
          return v.HasMember(name) && v[name].IsInt64() ? v[name].GetInt64() : std::int64_t{-1};
        };
        std::int64_t lag = -1;
        if (field("app_offset") >= 0 && field("ls_offset") >= 0)
          lag = std::max<std::int64_t>(0, field("ls_offset") - field("app_offset"));
        else if (field("consumer_lag") >= 0)
          lag = field("consumer_lag");
        fetched.emplace(std::make_pair(topic, partition), lag);
      }
    }
  }
  std::lock_guard lock(lag_mu_);
  // Drop what this client reported before but fetches no more, and any partition of a topic it
  // now reads that it does not fetch (the previous owner was this stage's earlier consumer, which
  // a fatal error replaced: it reports nothing again).
  for (auto it = lag_series_.begin(); it != lag_series_.end();) {
    const bool ours = it->second.client == client || topics.contains(it->first.first);
    if (ours && !fetched.contains(it->first)) {
      lag_.Remove(it->second.gauge);
      it = lag_series_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [key, lag] : fetched) {
    auto it = lag_series_.find(key);
    if (it != lag_series_.end()) it->second.client = client;
    if (lag < 0) continue;  // still ours, lag not known yet: keep the last value, if any
    if (it == lag_series_.end())
      it = lag_series_.emplace(key, LagSeries{client, &lag_.Add({{"topic", key.first}, {"partition", key.second}})})
               .first;
    it->second.gauge->Set(static_cast<double>(lag));
  }
}

prometheus::Counter& Metrics::merge(Verdict verdict, std::string_view provider, std::string_view kind) {
  return counter(merges_, {{"provider", bounded(provider)}, {"kind", kind_label(kind)}, {"result", verdict_name(verdict)}});
}

prometheus::Counter& Metrics::record(std::string_view topic) { return counter(records_, {{"topic", topic}}); }

void Metrics::event_lag(std::int64_t ms) { event_lag_->Observe(static_cast<double>(ms) / 1000.0); }

void Metrics::transaction(std::string_view stage, bool committed, double seconds, double commit_seconds) {
  transactions_.Add({{"stage", std::string(stage)}, {"result", committed ? "committed" : "aborted"}}).Increment();
  if (!committed) return;
  const prometheus::Histogram::BucketBoundaries buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                        0.1,   0.25,   0.5,   1,    2.5,   5, 10};
  transaction_seconds_.Add({{"stage", std::string(stage)}}, buckets).Observe(seconds);
  commit_seconds_.Add({{"stage", std::string(stage)}}, buckets).Observe(commit_seconds);
}

void Metrics::restored(double seconds, std::size_t numbers) {
  restore_->Set(seconds);
  numbers_->Set(static_cast<double>(numbers));
}

void Metrics::numbers_in_state(std::size_t numbers) { numbers_->Set(static_cast<double>(numbers)); }

}  // namespace numflow::transform
