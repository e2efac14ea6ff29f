#pragma once
// How long a stage's next transaction may collect input (group commit that adapts to backlog).
//
// A commit costs the same few tens of milliseconds however many messages the transaction holds,
// so short windows keep end-to-end latency low and long windows keep throughput high. Which one
// pays depends on whether the stage is keeping up:
//   - keeping up (the input idled, or hardly anything waits when a window ends): a record's
//     latency is the window plus the commit, so the window stays at `base`;
//   - behind (a backlog already waits in the consumer when a window ends, more than the stage
//     gets through in half a base window at the pace it just kept): the waiting records'
//     latency is the backlog, not the window, and a longer transaction drains the backlog faster
//     (fewer commits per event). The window doubles, up to `behind`.
// The backlog is judged by the time it will take, not by its count: a stage downstream of
// another exactly-once stage sees input arrive a whole upstream transaction at a time (hundreds
// of records the moment the upstream commits), which it gets through in a few milliseconds. Counted,
// such a burst looked like a backlog: at 5,000 webhooks/s the merge stage ran one transaction in
// five on a doubled window, and the records in it waited up to 50 ms longer (docs/PERFORMANCE.md,
// "Commits that waited for nothing").
// Once the backlog is gone the first batch that idles or ends with little waiting brings the
// window back to `base` at once.
#include <algorithm>
#include <chrono>
#include <cstddef>

namespace numflow::transform {

class BatchWindow {
 public:
  using Duration = std::chrono::steady_clock::duration;

  // Fewer waiting messages than this never count as a backlog: a few records that arrived while
  // the batch ended are what a stage keeping up always sees.
  static constexpr std::size_t kMinBacklog = 64;

  // `behind_ms` < `base_ms` (e.g. 0) means fixed windows of `base_ms`.
  BatchWindow(int base_ms, int behind_ms) : base_(base_ms), behind_(std::max(base_ms, behind_ms)), current_(base_ms) {}

  std::chrono::milliseconds current() const { return std::chrono::milliseconds(current_); }

  // A batch of `messages` ended, `idled` if because its input idled; `waiting` messages were
  // already fetched and queued in the consumer at that moment; `busy`: the time the batch's
  // messages took to process (not the time spent waiting for them).
  void ended(std::size_t messages, std::size_t waiting, bool idled, Duration busy) {
    if (behind(messages, waiting, idled, busy))
      current_ = std::min(behind_, current_ * 2);
    else
      current_ = base_;
  }

  // Whether what waits would take at least half a base window at the batch's pace.
  bool behind(std::size_t messages, std::size_t waiting, bool idled, Duration busy) const {
    if (idled || waiting < kMinBacklog || messages == 0) return false;
    const double per_message = std::chrono::duration<double>(busy).count() / static_cast<double>(messages);
    return static_cast<double>(waiting) * per_message >= base_ / 2.0 / 1000.0;
  }

 private:
  int base_, behind_, current_;
};

}  // namespace numflow::transform
