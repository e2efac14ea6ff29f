#pragma once
// The webhooks handed to Kafka, kept in two orders at once:
//   by submission: every body Kafka has not reported on yet, answered or not; the front is the
//                  one Kafka has kept waiting longest (load shedding). A body answered 503 at its
//                  deadline stays here until its report: it still sits in the producer's queue,
//                  ahead of whatever is submitted next, so it still counts as backlog;
//   by deadline:   the unanswered ones; the front is the next to answer 503 if its report does
//                  not come.
// An entry leaves the deadline order when answered and the submission order when reported, so
// the list holds what is in flight (about connections x latency entries) rather than everything
// of the last response deadline: a heap cannot drop an answered entry early, and at 30,000
// webhooks/s it held ~75,000 of them, each one woken for and popped by the deadline thread 2.5 s
// later.
//
// Not thread-safe: the owner locks. Entries are intrusive (no allocation per webhook); the
// owner keeps each alive while it is linked.
#include <chrono>
#include <optional>

#include <boost/intrusive/list.hpp>

namespace numflow::ingest {

struct BySubmission;
struct ByDeadline;

struct Waiting : boost::intrusive::list_base_hook<boost::intrusive::tag<BySubmission>>,
                 boost::intrusive::list_base_hook<boost::intrusive::tag<ByDeadline>> {
  using Clock = std::chrono::steady_clock;
  Clock::time_point submitted{};
  Clock::time_point deadline{};  // from the request's first byte: not in submission order
};

class WaitingList {
 public:
  using Clock = Waiting::Clock;

  WaitingList() = default;
  WaitingList(const WaitingList&) = delete;
  WaitingList& operator=(const WaitingList&) = delete;
  ~WaitingList() { clear(); }

  // Links `w` (submitted now, the latest) into both orders; true when its deadline is now the
  // earliest. Deadlines arrive almost sorted (first byte and submission are a body's read time
  // apart), so the walk back from the tail is usually no step at all.
  bool add(Waiting& w) {
    by_submission_.push_back(w);
    auto it = by_deadline_.end();
    while (it != by_deadline_.begin() && std::prev(it)->deadline > w.deadline) --it;
    by_deadline_.insert(it, w);
    return &by_deadline_.front() == &w;
  }

  // Answered: `w` leaves the deadline order (if still there: answering may race with the
  // deadline thread taking it) and stays backlog until reported.
  void answered(Waiting& w) {
    if (static_cast<DeadlineHook&>(w).is_linked()) by_deadline_.erase(by_deadline_.iterator_to(w));
  }

  // Reported on by Kafka (or dropped): `w` leaves both orders, wherever it still is.
  void reported(Waiting& w) {
    answered(w);
    if (static_cast<SubmissionHook&>(w).is_linked()) by_submission_.erase(by_submission_.iterator_to(w));
  }

  bool empty() const { return by_submission_.empty(); }
  // The oldest body Kafka has not reported on, answered or not.
  std::optional<Clock::time_point> oldest_submission() const {
    if (by_submission_.empty()) return std::nullopt;
    return by_submission_.front().submitted;
  }
  std::optional<Clock::time_point> next_deadline() const {
    if (by_deadline_.empty()) return std::nullopt;
    return by_deadline_.front().deadline;
  }

  // Takes each unanswered entry whose deadline is at or before `due` out of the deadline order
  // (as answered) and passes it to f, earliest first.
  template <class F>
  void take_due(Clock::time_point due, F&& f) {
    while (!by_deadline_.empty() && by_deadline_.front().deadline <= due) {
      Waiting& w = by_deadline_.front();
      answered(w);
      f(w);
    }
  }

  // Takes every unanswered entry, passing each to f (shutdown).
  template <class F>
  void take_all(F&& f) {
    take_due(Clock::time_point::max(), std::forward<F>(f));
  }

  void clear() {
    by_submission_.clear();
    by_deadline_.clear();
  }

 private:
  using SubmissionHook = boost::intrusive::list_base_hook<boost::intrusive::tag<BySubmission>>;
  using DeadlineHook = boost::intrusive::list_base_hook<boost::intrusive::tag<ByDeadline>>;
  boost::intrusive::list<Waiting, boost::intrusive::base_hook<SubmissionHook>> by_submission_;
  boost::intrusive::list<Waiting, boost::intrusive::base_hook<DeadlineHook>> by_deadline_;
};

}  // namespace numflow::ingest
