#pragma once
// A budget of log lines per second, for events an attacker can trigger at will (refused
// deliveries): a flood of them must not become a flood of log lines. Counters keep every event;
// the next line logged says how many were left out before it.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <utility>

namespace numflow::log {

class LogBudget {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogBudget(int per_second) : per_second_(per_second) {}

  // -1: do not log this one; otherwise log it, with the number left out since the last line.
  // Thread-safe.
  std::int64_t admit(Clock::time_point now = Clock::now()) {
    std::lock_guard lock(m_);
    if (now - window_ >= std::chrono::seconds(1)) {
      window_ = now;
      used_ = 0;
    }
    if (used_ >= per_second_) {
      ++skipped_;
      return -1;
    }
    ++used_;
    return std::exchange(skipped_, 0);
  }

 private:
  const int per_second_;
  std::mutex m_;
  Clock::time_point window_{};
  int used_ = 0;
  std::int64_t skipped_ = 0;
};

}  // namespace numflow::log
