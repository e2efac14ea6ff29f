#include "transform/metrics.h"

#include <string>

namespace numflow::transform {

using prometheus::BuildCounter;
using prometheus::BuildHistogram;

namespace {
std::string bounded(std::string_view v) {
  static constexpr std::string_view kKnown[] = {"8x8", "zoom", "ringcentral"};
  for (auto k : kKnown)
    if (k == v) return std::string(v);
  return "other";
}
}  // namespace

Metrics::Metrics(prometheus::Registry& registry)
    : events_(BuildCounter()
                  .Name("numflow_transform_events_total")
                  .Help("Raw events processed, by provider, outcome and dead-letter code")
                  .Register(registry)),
      records_(BuildCounter()
                   .Name("numflow_transform_records_total")
                   .Help("Records published, by topic")
                   .Register(registry)),
      batches_(BuildCounter()
                   .Name("numflow_transform_batches_total")
                   .Help("Batches finished, by result (committed, retried)")
                   .Register(registry)) {
  processing_ = &BuildHistogram()
                     .Name("numflow_transform_processing_seconds")
                     .Help("Time to run one raw event through the core")
                     .Register(registry)
                     .Add({}, prometheus::Histogram::BucketBoundaries{1e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4,
                                                                      1e-3, 1e-2, 0.1});
  batch_seconds_ = &BuildHistogram()
                        .Name("numflow_transform_batch_seconds")
                        .Help("Time from a batch's first message to its commit")
                        .Register(registry)
                        .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                                         2.5, 5, 10});
}

void Metrics::event(std::string_view provider, Outcome outcome, std::string_view error_code) {
  events_.Add({{"provider", bounded(provider)}, {"outcome", std::string(to_string(outcome))},
               {"code", std::string(error_code)}})
      .Increment();
}

void Metrics::record(std::string_view topic) { records_.Add({{"topic", std::string(topic)}}).Increment(); }

void Metrics::batch(double seconds, bool committed) {
  batches_.Add({{"result", committed ? "committed" : "retried"}}).Increment();
  if (committed) batch_seconds_->Observe(seconds);
}

}  // namespace numflow::transform
