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

}  // namespace
}  // namespace sluice::core
