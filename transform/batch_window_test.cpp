#include "transform/batch_window.h"

#include <gtest/gtest.h>

namespace numflow::transform {
namespace {

using std::chrono::milliseconds;

TEST(BatchWindow, StaysAtTheBaseWhileTheStageKeepsUp) {
  BatchWindow w(100, 1000);
  EXPECT_EQ(w.current(), milliseconds(100));
  w.ended(5000, 3, false);  // a full window, a few records arrived meanwhile
  EXPECT_EQ(w.current(), milliseconds(100));
  w.ended(20, 0, true);  // the input idled
  EXPECT_EQ(w.current(), milliseconds(100));
}

TEST(BatchWindow, DoublesUpToTheCeilingWhileABacklogWaits) {
  BatchWindow w(100, 1000);
  for (int expected : {200, 400, 800, 1000, 1000}) {
    w.ended(2000, 50000, false);
    EXPECT_EQ(w.current(), milliseconds(expected));
  }
}

TEST(BatchWindow, ComesBackToTheBaseAtOnceWhenTheBacklogIsGone) {
  BatchWindow w(100, 1000);
  w.ended(2000, 50000, false);
  w.ended(4000, 50000, false);
  ASSERT_EQ(w.current(), milliseconds(400));
  w.ended(3000, 10, false);
  EXPECT_EQ(w.current(), milliseconds(100));
  w.ended(2000, 50000, false);
  w.ended(3000, 40000, true);  // idled: whatever the queue says, nothing was waiting then
  EXPECT_EQ(w.current(), milliseconds(100));
}

TEST(BatchWindow, ABacklogIsAtLeastHalfABatchAndNeverAFewRecords) {
  EXPECT_FALSE(BatchWindow::behind(10, BatchWindow::kMinBacklog - 1, false));
  EXPECT_TRUE(BatchWindow::behind(10, BatchWindow::kMinBacklog, false));
  EXPECT_FALSE(BatchWindow::behind(10000, 4999, false));
  EXPECT_TRUE(BatchWindow::behind(10000, 5000, false));
}

TEST(BatchWindow, ACeilingBelowTheBaseMeansFixedWindows) {
  BatchWindow w(100, 0);
  w.ended(2000, 50000, false);
  EXPECT_EQ(w.current(), milliseconds(100));
}

}  // namespace
}  // namespace numflow::transform
