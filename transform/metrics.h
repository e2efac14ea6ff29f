#pragma once
// The transform's Prometheus metrics. Labels are bounded sets (providers, outcomes, error codes,
// topics): never a phone number, never a value taken from a body.
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string_view>

#include "transform/core/core.h"

namespace numflow::transform {

class Metrics {
 public:
  explicit Metrics(prometheus::Registry& registry);
  void event(std::string_view provider, Outcome outcome, std::string_view error_code);
  void record(std::string_view topic);
  void batch(double seconds, bool committed);
  prometheus::Histogram& processing_seconds() { return *processing_; }

 private:
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Family<prometheus::Counter>& records_;
  prometheus::Family<prometheus::Counter>& batches_;
  prometheus::Histogram* processing_;
  prometheus::Histogram* batch_seconds_;
};

}  // namespace numflow::transform
