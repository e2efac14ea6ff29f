#include "ingest/waiting_list.h"

#include <vector>

#include <gtest/gtest.h>

namespace numflow::ingest {
namespace {

using Clock = WaitingList::Clock;
using std::chrono::milliseconds;

const Clock::time_point t0 = Clock::now();

struct Entry : Waiting {
  Entry(int ms_submitted, int ms_deadline) {
    submitted = t0 + milliseconds(ms_submitted);
    deadline = t0 + milliseconds(ms_deadline);
  }
};

std::vector<Waiting*> take_due(WaitingList& l, int ms) {
  std::vector<Waiting*> out;
  l.take_due(t0 + milliseconds(ms), [&](Waiting& w) { out.push_back(&w); });
  return out;
}

TEST(WaitingList, EmptyHasNoOldestAndNoDeadline) {
  WaitingList l;
  EXPECT_TRUE(l.empty());
  EXPECT_FALSE(l.oldest_submission());
  EXPECT_FALSE(l.next_deadline());
}

TEST(WaitingList, AddSaysWhenTheDeadlineIsTheEarliest) {
  WaitingList l;
  Entry a(0, 2500), b(1, 2501), slow(2, 900);  // slow: its body took 1.6 s to arrive
  EXPECT_TRUE(l.add(a));
  EXPECT_FALSE(l.add(b));
  EXPECT_TRUE(l.add(slow));
  EXPECT_EQ(*l.oldest_submission(), a.submitted);  // submission order is kept apart
  EXPECT_EQ(*l.next_deadline(), slow.deadline);
  l.clear();
}

TEST(WaitingList, TakesDueEntriesInDeadlineOrderOnly) {
  WaitingList l;
  Entry a(0, 2500), b(1, 2400), c(2, 2600), d(3, 2450);
  for (Entry* e : {&a, &b, &c, &d}) l.add(*e);
  EXPECT_EQ(take_due(l, 2000), std::vector<Waiting*>{});
  EXPECT_EQ(take_due(l, 2500), (std::vector<Waiting*>{&b, &d, &a}));
  EXPECT_EQ(*l.next_deadline(), c.deadline);
  EXPECT_EQ(take_due(l, 9999), std::vector<Waiting*>{&c});
  EXPECT_FALSE(l.next_deadline());
  l.clear();
}

// A body answered 503 at its deadline is still in the producer's queue, ahead of what comes next:
// it stays the backlog's oldest until Kafka reports on it.
TEST(WaitingList, AnsweredEntriesStayBacklogUntilReported) {
  WaitingList l;
  Entry a(0, 2500), b(1, 2501);
  l.add(a);
  l.add(b);
  EXPECT_EQ(take_due(l, 2500), std::vector<Waiting*>{&a});
  EXPECT_EQ(*l.oldest_submission(), a.submitted);
  EXPECT_EQ(*l.next_deadline(), b.deadline);
  l.answered(b);  // its report came first: answered, then reported
  EXPECT_FALSE(l.next_deadline());
  EXPECT_EQ(*l.oldest_submission(), a.submitted);
  l.reported(b);
  EXPECT_EQ(*l.oldest_submission(), a.submitted);
  l.reported(a);  // the late report
  EXPECT_TRUE(l.empty());
  EXPECT_FALSE(l.oldest_submission());
}

TEST(WaitingList, ReportedEntriesLeaveBothOrdersAndTwiceIsHarmless) {
  WaitingList l;
  Entry a(0, 2500), b(1, 2501), c(2, 2502);
  for (Entry* e : {&a, &b, &c}) l.add(*e);
  l.reported(a);
  EXPECT_EQ(*l.oldest_submission(), b.submitted);
  EXPECT_EQ(*l.next_deadline(), b.deadline);
  l.reported(b);
  l.reported(b);  // the report, then the entry's own destruction
  l.answered(b);  // the deadline thread racing the report
  EXPECT_EQ(*l.oldest_submission(), c.submitted);
  std::vector<Waiting*> all;
  l.take_all([&](Waiting& w) { all.push_back(&w); });
  EXPECT_EQ(all, std::vector<Waiting*>{&c});
  EXPECT_FALSE(l.empty()) << "taken for answering, not reported yet";
  l.reported(c);
  EXPECT_TRUE(l.empty());
}

TEST(WaitingList, EqualDeadlinesKeepSubmissionOrder) {
  WaitingList l;
  Entry a(0, 100), b(1, 100), c(2, 100);
  for (Entry* e : {&a, &b, &c}) l.add(*e);
  EXPECT_EQ(take_due(l, 100), (std::vector<Waiting*>{&a, &b, &c}));
}

}  // namespace
}  // namespace numflow::ingest
