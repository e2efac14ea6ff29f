#include "ingest/metric_tally.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include <prometheus/registry.h>

namespace numflow::ingest {
namespace {

// The one series of the one family registered.
prometheus::ClientMetric only(prometheus::Registry& r) { return r.Collect().at(0).metric.at(0); }

TEST(MetricTally, HistogramBucketsAsPrometheusPlacesThemOnlyAfterFlush) {
  prometheus::Registry registry;
  const std::vector<double> bounds{0.001, 0.01};
  auto& h = prometheus::BuildHistogram().Name("t_seconds").Help("t").Register(registry).Add({}, bounds);
  SecondsHistogramTally tally(bounds);
  for (double v : {0.0005, 0.001, 0.005, 5.0}) tally.observe(v);
  EXPECT_EQ(only(registry).histogram.sample_count, 0u) << "nothing before the flush";

  tally.flush(h);
  auto m = only(registry).histogram;
  EXPECT_EQ(m.sample_count, 4u);
  EXPECT_NEAR(m.sample_sum, 5.0065, 1e-9);
  ASSERT_EQ(m.bucket.size(), 3u);
  EXPECT_EQ(m.bucket[0].cumulative_count, 2u) << "0.001 itself is in the le=0.001 bucket";
  EXPECT_EQ(m.bucket[1].cumulative_count, 3u);
  EXPECT_EQ(m.bucket[2].cumulative_count, 4u);

  // The reference: prometheus-cpp's own Observe gives the same buckets.
  prometheus::Registry reference;
  auto& r = prometheus::BuildHistogram().Name("t_seconds").Help("t").Register(reference).Add({}, bounds);
  for (double v : {0.0005, 0.001, 0.005, 5.0}) r.Observe(v);
  const auto want = only(reference).histogram;
  for (std::size_t i = 0; i < want.bucket.size(); ++i)
    EXPECT_EQ(m.bucket[i].cumulative_count, want.bucket[i].cumulative_count) << i;

  tally.flush(h);  // nothing new: nothing added
  EXPECT_EQ(only(registry).histogram.sample_count, 4u);
}

TEST(MetricTally, ConcurrentCountsAreAllFlushed) {
  prometheus::Registry registry;
  auto& c = prometheus::BuildCounter().Name("t_total").Help("t").Register(registry).Add({});
  CounterTally tally;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) tally.add(i % 2 ? 1 : 2);
    });
  for (int i = 0; i < 20; ++i) tally.flush(c);  // flushes while counting: nothing lost or doubled
  for (auto& t : threads) t.join();
  tally.flush(c);
  EXPECT_EQ(c.Value(), 4 * 15000.0);
}

}  // namespace
}  // namespace numflow::ingest
