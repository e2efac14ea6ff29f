#pragma once
// Per-webhook metrics counted on the hot path without prometheus-cpp's costs, and moved into
// their prometheus series by flush() (numflow-ingest flushes every 200 ms, so a scrape sees what
// was counted up to 200 ms before it). prometheus-cpp's Histogram::Observe takes a mutex and its
// counters add to a double in a compare-and-swap loop; with finding a webhook's series that was
// ~0.4 µs of numflow-ingest's io thread per webhook (of ~8.3). Here an observation is a relaxed
// atomic add or two. Thread-safe.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/histogram.h>

namespace numflow::ingest {

class CounterTally {
 public:
  void add(std::uint64_t n = 1) { pending_.fetch_add(n, std::memory_order_relaxed); }
  // Adds what was counted since the last flush to `counter`.
  void flush(prometheus::Counter& counter) {
    if (const auto n = pending_.exchange(0, std::memory_order_relaxed)) counter.Increment(static_cast<double>(n));
  }

 private:
  std::atomic<std::uint64_t> pending_{0};
};

// Durations in seconds; the sum is kept in whole nanoseconds.
class SecondsHistogramTally {
 public:
  // `bounds`: the histogram's bucket boundaries, ascending, as it was created with.
  explicit SecondsHistogramTally(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}

  void observe(double seconds) {
    // The first boundary >= the value: prometheus-cpp's bucket ("le") for it; past the last, +Inf.
    const auto bucket = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), seconds) - bounds_.begin());
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_nanos_.fetch_add(seconds > 0 ? static_cast<std::uint64_t>(seconds * 1e9) : 0, std::memory_order_relaxed);
  }

  // Adds what was observed since the last flush to `histogram` (created with the same bounds).
  void flush(prometheus::Histogram& histogram) {
    std::vector<double> increments(counts_.size());
    bool any = false;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      increments[i] = static_cast<double>(counts_[i].exchange(0, std::memory_order_relaxed));
      any = any || increments[i] > 0;
    }
    const double sum = static_cast<double>(sum_nanos_.exchange(0, std::memory_order_relaxed)) / 1e9;
    if (any) histogram.ObserveMultiple(increments, sum);
  }

 private:
  const std::vector<double> bounds_;
  std::vector<std::atomic<std::uint64_t>> counts_;  // per bucket, the last one +Inf
  std::atomic<std::uint64_t> sum_nanos_{0};
};

}  // namespace numflow::ingest
