#include "transform/batch_window.h"

#include <gtest/gtest.h>

namespace numflow::transform {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// A stage's pace in these tests: 10 µs per message, as numflow's stages at 5,000 webhooks/s.
constexpr microseconds busy_for(std::size_t messages) { return microseconds(10 * messages); }

TEST(BatchWindow, StaysAtTheBaseWhileTheStageKeepsUp) {
  BatchWindow w(100, 1000);
  EXPECT_EQ(w.current(), milliseconds(100));
  w.ended(5000, 3, false, busy_for(5000));  // a full window, a few records arrived meanwhile
  EXPECT_EQ(w.current(), milliseconds(100));
  w.ended(20, 0, true, busy_for(20));  // the input idled
  EXPECT_EQ(w.current(), milliseconds(100));
}

TEST(BatchWindow, DoublesUpToTheCeilingWhileABacklogWaits) {
  BatchWindow w(100, 1000);
  for (int expected : {200, 400, 800, 1000, 1000}) {
    w.ended(2000, 50000, false, busy_for(2000));
    EXPECT_EQ(w.current(), milliseconds(expected));
  }
}

TEST(BatchWindow, ComesBackToTheBaseAtOnceWhenTheBacklogIsGone) {
  BatchWindow w(100, 1000);
  w.ended(2000, 50000, false, busy_for(2000));
  w.ended(4000, 50000, false, busy_for(4000));
  ASSERT_EQ(w.current(), milliseconds(400));
  w.ended(3000, 10, false, busy_for(3000));
  EXPECT_EQ(w.current(), milliseconds(100));
  w.ended(2000, 50000, false, busy_for(2000));
  w.ended(3000, 40000, true, busy_for(3000));  // idled: whatever the queue says, nothing was waiting then
  EXPECT_EQ(w.current(), milliseconds(100));
}

TEST(BatchWindow, ABacklogIsWhatTakesHalfAWindowAndNeverAFewRecords) {
  const BatchWindow w(100, 1000);  // half a window: 50 ms, 5,000 messages at 10 µs
  EXPECT_FALSE(w.behind(10, BatchWindow::kMinBacklog - 1, false, milliseconds(100)));  // slow, but a few
  EXPECT_TRUE(w.behind(10, BatchWindow::kMinBacklog, false, milliseconds(100)));
  EXPECT_FALSE(w.behind(10000, 4999, false, busy_for(10000)));
  EXPECT_TRUE(w.behind(10000, 5000, false, busy_for(10000)));
}

// Downstream of another exactly-once stage input comes a whole upstream transaction at a time:
// hundreds of records at once, done in a few milliseconds. That is not a backlog.
TEST(BatchWindow, AnUpstreamTransactionArrivingAtOnceIsNotABacklog) {
  BatchWindow w(50, 1000);
  w.ended(1, 292, false, busy_for(1));  // the window ended just as an upstream commit landed
  EXPECT_EQ(w.current(), milliseconds(50));
  w.ended(300, 1200, false, busy_for(300));  // four of them: 12 ms of work, still under 25
  EXPECT_EQ(w.current(), milliseconds(50));
  w.ended(300, 2600, false, busy_for(300));  // 26 ms of work: behind
  EXPECT_EQ(w.current(), milliseconds(100));
}

TEST(BatchWindow, ACeilingBelowTheBaseMeansFixedWindows) {
  BatchWindow w(100, 0);
  w.ended(2000, 50000, false, busy_for(2000));
  EXPECT_EQ(w.current(), milliseconds(100));
}

}  // namespace
}  // namespace numflow::transform
