#include "core/snapshot_mode.h"

#include <gtest/gtest.h>

namespace sluice::core {
namespace {

TEST(SnapshotMode, EveryNameRoundTrips) {
  for (std::string_view name : {"initial", "initial_only", "never", "no_data", "when_needed",
                                "always", "recovery"}) {
    Result<SnapshotMode> mode = ParseSnapshotMode(name);
    ASSERT_TRUE(mode.ok()) << name;
    EXPECT_EQ(SnapshotModeName(*mode), name);
  }
}

TEST(SnapshotMode, DebeziumsOldNamesAreAliasesOfTheNewOnes) {
  EXPECT_EQ(*ParseSnapshotMode("schema_only"), SnapshotMode::kNoData);
  EXPECT_EQ(*ParseSnapshotMode("schema_only_recovery"), SnapshotMode::kRecovery);
  EXPECT_EQ(SnapshotModeName(SnapshotMode::kNoData), "no_data");
  EXPECT_EQ(SnapshotModeName(SnapshotMode::kRecovery), "recovery");
}

TEST(SnapshotMode, NeverAndNoDataSkipTheSnapshot) {
  EXPECT_TRUE(SkipsSnapshot(SnapshotMode::kNever));
  EXPECT_TRUE(SkipsSnapshot(SnapshotMode::kNoData));
  EXPECT_FALSE(SkipsSnapshot(SnapshotMode::kInitial));
  EXPECT_FALSE(SkipsSnapshot(SnapshotMode::kInitialOnly));
  EXPECT_FALSE(SkipsSnapshot(SnapshotMode::kWhenNeeded));
  EXPECT_FALSE(SkipsSnapshot(SnapshotMode::kAlways));
  EXPECT_FALSE(SkipsSnapshot(SnapshotMode::kRecovery));
}

TEST(SnapshotMode, UnknownNameIsInvalidArgumentListingTheChoices) {
  Result<SnapshotMode> mode = ParseSnapshotMode("custom");
  ASSERT_FALSE(mode.ok());
  EXPECT_EQ(mode.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mode.status().message().find("'custom'"), std::string::npos);
  EXPECT_NE(mode.status().message().find("when_needed"), std::string::npos);
}

}  // namespace
}  // namespace sluice::core
