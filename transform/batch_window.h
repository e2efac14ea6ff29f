#pragma once
// How long a stage's next transaction may collect input (group commit that adapts to backlog).
//
// A commit costs the same few tens of milliseconds however many messages the transaction holds,
// so short windows keep end-to-end latency low and long windows keep throughput high. Which one
// pays depends on whether the stage is keeping up:
//   - keeping up (the input idled, or hardly anything waits when a window ends): a record's
//     latency is the window plus the commit, so the window stays at `base`;
//   - behind (a backlog already waits in the consumer when a window ends): the waiting records'
//     latency is the backlog, not the window, and a longer transaction drains the backlog faster
//     (fewer commits per event). The window doubles, up to `behind`.
// Once the backlog is gone the first batch that idles or ends with little waiting brings the
// window back to `base` at once.
#include <algorithm>
#include <chrono>
#include <cstddef>

namespace numflow::transform {

class BatchWindow {
 public:
  // Fewer waiting messages than this never count as a backlog: a few records that arrived while
  // the batch ended are what a stage keeping up always sees.
  static constexpr std::size_t kMinBacklog = 64;

  // `behind_ms` < `base_ms` (e.g. 0) means fixed windows of `base_ms`.
  BatchWindow(int base_ms, int behind_ms) : base_(base_ms), behind_(std::max(base_ms, behind_ms)), current_(base_ms) {}

  std::chrono::milliseconds current() const { return std::chrono::milliseconds(current_); }

  // A batch of `messages` ended, `idled` if because its input idled; `waiting` messages were
  // already fetched and queued in the consumer at that moment.
  void ended(std::size_t messages, std::size_t waiting, bool idled) {
    if (behind(messages, waiting, idled))
      current_ = std::min(behind_, current_ * 2);
    else
      current_ = base_;
  }

  static bool behind(std::size_t messages, std::size_t waiting, bool idled) {
    return !idled && waiting >= std::max(kMinBacklog, messages / 2);
  }

 private:
  int base_, behind_, current_;
};

}  // namespace numflow::transform
