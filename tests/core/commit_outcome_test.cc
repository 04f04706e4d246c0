#include "core/commit_outcome.h"

#include <gtest/gtest.h>

namespace sluice::core {
namespace {

std::optional<SourcePosition> At(const std::string& value) { return SourcePosition{value}; }

TEST(CommitOutcomeTest, AFailedCommitWhosePositionIsStoredWentThrough) {
  CommitOutcome c;
  c.Committed(At("p1"));
  c.Failed(At("p2"));
  EXPECT_TRUE(c.unsure());
  EXPECT_TRUE(c.Resolve(std::string("p2")));
  EXPECT_FALSE(c.unsure());
  EXPECT_TRUE(c.replaying());
  c.Committed(At("p3"));  // the replayed batches' checkpoint, returned by the next Flush
  EXPECT_FALSE(c.replaying());
}

TEST(CommitOutcomeTest, AFailedCommitWhosePositionIsNotStoredDidNotHappen) {
  CommitOutcome c;
  c.Committed(At("p1"));
  c.Failed(At("p2"));
  EXPECT_FALSE(c.Resolve(std::string("p1")));
  EXPECT_FALSE(c.unsure());
  // Nothing stored yet (a fresh target) is no proof either.
  c.Failed(At("p2"));
  EXPECT_FALSE(c.Resolve(std::nullopt));
}

TEST(CommitOutcomeTest, APositionEqualToTheLastCommittedOneProvesNothing) {
  CommitOutcome c;
  c.Committed(At("p1"));
  c.Failed(At("p1"));
  EXPECT_FALSE(c.Resolve(std::string("p1")));
}

TEST(CommitOutcomeTest, ACommitWithoutCheckpointLeavesNoDoubtToResolve) {
  CommitOutcome c;
  c.Failed(std::nullopt);
  EXPECT_FALSE(c.unsure());
  c.Failed(At("p3"));
  c.Committed(std::nullopt);  // a later commit succeeded: the doubt is gone
  EXPECT_FALSE(c.unsure());
}

TEST(CommitOutcomeTest, SettleAfterReconnectReadsTheTargetOnlyWhenInDoubt) {
  CommitOutcome c;
  c.Committed(At("p1"));
  int loads = 0;
  auto load = [&](std::optional<std::string> stored) {
    return [&loads, stored]() -> Result<std::optional<std::string>> {
      ++loads;
      return stored;
    };
  };
  auto settled = c.SettleAfterReconnect(load(std::string("p2")));
  ASSERT_TRUE(settled.ok());
  EXPECT_EQ(*settled, std::nullopt);
  EXPECT_EQ(loads, 0) << "no commit in doubt: nothing to read";
  c.Failed(At("p2"));
  settled = c.SettleAfterReconnect(load(std::string("p2")));
  ASSERT_TRUE(settled.ok());
  EXPECT_EQ(*settled, "p2");
  EXPECT_TRUE(c.replaying());
  // The next reconnect, with no doubt left, ends a replay that did not reach its Flush.
  settled = c.SettleAfterReconnect(load(std::string("p2")));
  EXPECT_FALSE(c.replaying());
  c.Failed(At("p3"));
  auto failed = c.SettleAfterReconnect([]() -> Result<std::optional<std::string>> {
    return UnavailableError("target down");
  });
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(loads, 1) << "read once: only while a commit was in doubt";
}

}  // namespace
}  // namespace sluice::core
