// core::Periodic and core::HeartbeatAction: when a heartbeat.action.query runs, and how its
// failure reads.
#include "core/heartbeat_action.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace sluice::core {
namespace {

using std::chrono::milliseconds;

TEST(PeriodicTest, FirstAskIsDueThenOncePerInterval) {
  Periodic every(milliseconds(200));
  const auto t0 = Clock::TimePoint{} + std::chrono::hours(1);
  EXPECT_TRUE(every.Due(t0));
  EXPECT_FALSE(every.Due(t0));
  EXPECT_FALSE(every.Due(t0 + milliseconds(199)));
  EXPECT_TRUE(every.Due(t0 + milliseconds(200)));
  // A late ask starts the next interval from itself, so asks never bunch up after a stall.
  EXPECT_TRUE(every.Due(t0 + milliseconds(1000)));
  EXPECT_FALSE(every.Due(t0 + milliseconds(1100)));
  EXPECT_TRUE(every.Due(t0 + milliseconds(1200)));
}

TEST(HeartbeatActionTest, RunsTheQueryOncePerIntervalAndNamesItWhenItFails) {
  std::vector<std::string> ran;
  Status next = Status::Ok();
  HeartbeatAction action("UPDATE hb SET ts = now()", milliseconds(500),
                         [&](const std::string& query) {
                           ran.push_back(query);
                           return next;
                         });
  const auto t0 = Clock::TimePoint{} + std::chrono::hours(1);
  EXPECT_TRUE(action.MaybeRun(t0).ok());
  EXPECT_TRUE(action.MaybeRun(t0 + milliseconds(100)).ok());
  ASSERT_EQ(ran, std::vector<std::string>{"UPDATE hb SET ts = now()"});

  next = FailedPreconditionError("relation \"hb\" does not exist");
  Status failed = action.MaybeRun(t0 + milliseconds(500));
  EXPECT_EQ(failed.code(), StatusCode::kFailedPrecondition) << "the code decides retry or stop";
  EXPECT_EQ(failed.message(),
            "heartbeat.action.query 'UPDATE hb SET ts = now()' failed: relation \"hb\" does not "
            "exist");
  next = UnavailableError("server closed the connection");
  EXPECT_EQ(action.MaybeRun(t0 + milliseconds(1000)).code(), StatusCode::kUnavailable);
  EXPECT_EQ(ran.size(), 3u);
}

}  // namespace
}  // namespace sluice::core
