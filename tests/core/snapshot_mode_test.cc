#include "core/snapshot_mode.h"

#include <gtest/gtest.h>

namespace sluice::core {
namespace {

TEST(SnapshotMode, EveryNameRoundTrips) {
  for (std::string_view name : {"initial", "initial_only", "never", "no_data", "when_needed"}) {
    Result<SnapshotMode> mode = ParseSnapshotMode(name);
    ASSERT_TRUE(mode.ok()) << name;
    EXPECT_EQ(SnapshotModeName(*mode), name);
  }
}

TEST(SnapshotMode, NeverAndNoDataSkipTheSnapshot) {
  EXPECT_TRUE(SkipsSnapshot(SnapshotMode::kNever));
  EXPECT_TRUE(SkipsSnapshot(SnapshotMode::kNoData));
  EXPECT_FALSE(SkipsSnapshot(SnapshotMode::kInitial));
  EXPECT_FALSE(SkipsSnapshot(SnapshotMode::kInitialOnly));
  EXPECT_FALSE(SkipsSnapshot(SnapshotMode::kWhenNeeded));
}

TEST(SnapshotMode, UnknownNameIsInvalidArgumentListingTheChoices) {
  Result<SnapshotMode> mode = ParseSnapshotMode("always");
  ASSERT_FALSE(mode.ok());
  EXPECT_EQ(mode.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mode.status().message().find("'always'"), std::string::npos);
  EXPECT_NE(mode.status().message().find("when_needed"), std::string::npos);
}

}  // namespace
}  // namespace sluice::core
