#pragma once
// The transform's Prometheus metrics. Labels are bounded sets (providers, outcomes, error codes,
// topics, stages): never a phone number, never a value taken from a body.
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "transform/core/core.h"

namespace numflow::transform {

class Metrics {
 public:
  explicit Metrics(prometheus::Registry& registry);
  // The counters of one event's outcome, one merge verdict, one record: handed to a BatchCounts,
  // which increments them only when the transaction that did the work commits.
  prometheus::Counter& event(std::string_view provider, std::string_view kind, Outcome outcome,
                             std::string_view error_code);
  // Consumer lag per partition from one consumer's librdkafka statistics JSON. A partition that
  // consumer no longer fetches (revoked: fetch_state none/stopping/stopped, or absent from its
  // statistics) loses its series, so after a rebalance only the new owner reports its lag.
  // Several consumers (one per stage) may feed this, each with its own topic.
  void consumer_stats(std::string_view json);
  // Duplicate and stale are decided per number, at the merge: counted here with the event's
  // provider and kind (events_total counts each event once, when it is normalized).
  prometheus::Counter& merge(Verdict verdict, std::string_view provider, std::string_view kind);
  prometheus::Counter& record(std::string_view topic);
  void event_lag(std::int64_t ms);
  void transaction(std::string_view stage, bool committed, double seconds, double commit_seconds);
  void restored(double seconds, std::size_t numbers);
  void numbers_in_state(std::size_t numbers);
  prometheus::Histogram& processing_seconds() { return *processing_; }

 private:
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Counter>& merges_;
  prometheus::Family<prometheus::Counter>& records_;
  prometheus::Family<prometheus::Counter>& transactions_;
  prometheus::Family<prometheus::Histogram>& transaction_seconds_;
  prometheus::Family<prometheus::Histogram>& commit_seconds_;
  prometheus::Histogram* processing_;
  prometheus::Histogram* event_lag_;
  prometheus::Gauge* numbers_;
  prometheus::Gauge* restore_;
  // The consumer-lag series exported now, by (topic, partition): its gauge, and the librdkafka
  // client (statistics "name") that last reported the partition as fetched.
  struct LagSeries {
    std::string client;
    prometheus::Gauge* gauge = nullptr;
  };
  std::mutex lag_mu_;
  std::map<std::pair<std::string, std::string>, LagSeries> lag_series_;
  // Counters already added, by family and label values. Family::Add builds a label map, hashes
  // it and locks the family on every call (~4% of the transform's CPU, measured); a counter's
  // address never changes once added. Per instance, not per thread: a thread-local cache could
  // outlive this registry and hand out a destroyed family's counter.
  std::mutex counters_mu_;
  std::unordered_map<std::string, prometheus::Counter*> counters_;
  prometheus::Counter& counter(prometheus::Family<prometheus::Counter>& family,
                               std::initializer_list<std::pair<std::string_view, std::string_view>> labels);
};

// Counter increments of one transaction, applied when it commits and dropped when it aborts: an
// aborted batch is redone from the committed offsets, and counting it twice would make
// events_total and records_total disagree with the topics. (Histograms, e.g. processing time,
// observe the work as it is done, redone work included.) One per stage thread.
class BatchCounts {
 public:
  void add(prometheus::Counter& c) {
    for (auto& [counter, n] : pending_)
      if (counter == &c) {
        ++n;
        return;
      }
    pending_.emplace_back(&c, 1.0);
  }
  void commit() {
    for (auto& [counter, n] : pending_) counter->Increment(n);
    pending_.clear();
  }
  void abort() { pending_.clear(); }

 private:
  // A batch touches a handful of distinct counters (topics, outcomes): a flat list beats a map.
  std::vector<std::pair<prometheus::Counter*, double>> pending_;
};

}  // namespace numflow::transform
