// The MySQL source's start decisions (connectors/mysql/start_decision.h): every snapshot.mode
// against every kind of stored position and whether its binlog file is still on the server,
// without a server. One row per line of the header's decision table.
#include "connectors/mysql/start_decision.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace sluice::mysql {
namespace {

using core::SnapshotMode;

constexpr SnapshotMode kAllModes[] = {SnapshotMode::kInitial, SnapshotMode::kInitialOnly,
                                      SnapshotMode::kNever, SnapshotMode::kNoData,
                                      SnapshotMode::kWhenNeeded};

BinlogPosition Streaming() { return {"mysql-bin.000007", 1234, "0-1-42", false}; }
BinlogPosition SnapshotRunning() { return {"mysql-bin.000003", 4, "", true}; }

std::string Name(SnapshotMode mode) { return std::string(core::SnapshotModeName(mode)); }

TEST(MysqlStartDecision, UnfinishedSnapshotStartsAgainWithTruncatesWhateverTheMode) {
  for (SnapshotMode mode : kAllModes) {
    for (bool on_server : {true, false}) {
      auto d = DecideStart(SnapshotRunning(), on_server, mode);
      ASSERT_TRUE(d.ok()) << Name(mode);
      EXPECT_EQ(d->action, StartAction::kSnapshot) << Name(mode);
      EXPECT_TRUE(d->restarted) << Name(mode);
      EXPECT_NE(d->warning.find("did not finish"), std::string::npos) << d->warning;
    }
  }
}

TEST(MysqlStartDecision, StreamingPositionWithItsFileStreamsFromIt) {
  for (SnapshotMode mode : kAllModes) {
    auto d = DecideStart(Streaming(), true, mode);
    ASSERT_TRUE(d.ok()) << Name(mode);
    EXPECT_EQ(d->action, StartAction::kStream) << Name(mode);
    EXPECT_EQ(d->from.file, "mysql-bin.000007");
    EXPECT_EQ(d->from.pos, 1234u);
    EXPECT_EQ(d->from.gtid, "0-1-42");
    EXPECT_FALSE(d->restarted);
    EXPECT_TRUE(d->warning.empty());
  }
}

TEST(MysqlStartDecision, PurgedFileWithWhenNeededTakesANewSnapshotWithTruncates) {
  auto d = DecideStart(Streaming(), false, SnapshotMode::kWhenNeeded);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->action, StartAction::kSnapshot);
  EXPECT_TRUE(d->restarted);
  EXPECT_NE(d->warning.find("mysql-bin.000007:1234"), std::string::npos) << d->warning;
  EXPECT_NE(d->warning.find("taking a new snapshot"), std::string::npos) << d->warning;
}

TEST(MysqlStartDecision, PurgedFileOtherwiseIsFailedPreconditionNamingTheFileAndTheFix) {
  for (SnapshotMode mode : kAllModes) {
    if (mode == SnapshotMode::kWhenNeeded) continue;
    auto d = DecideStart(Streaming(), false, mode);
    ASSERT_FALSE(d.ok()) << Name(mode);
    EXPECT_EQ(d.status().code(), core::StatusCode::kFailedPrecondition);
    const std::string& m = d.status().message();
    EXPECT_NE(m.find("mysql binlog mysql-bin.000007 (resume position mysql-bin.000007:1234)"),
              std::string::npos) << m;
    EXPECT_NE(m.find("purged"), std::string::npos) << m;
    EXPECT_NE(m.find("snapshot.mode=when_needed"), std::string::npos) << m;
    EXPECT_NE(m.find("reset the connector's offsets"), std::string::npos) << m;
    // The same error StreamReader::Open gives when the file goes between look-up and dump.
    EXPECT_EQ(m, PurgedBinlogError(Streaming()).message());
  }
}

TEST(MysqlStartDecision, NoStoredPositionSnapshotsUnlessTheModeSkipsIt) {
  for (SnapshotMode mode : kAllModes) {
    for (bool on_server : {true, false}) {  // not looked up without a position
      auto d = DecideStart(std::nullopt, on_server, mode);
      ASSERT_TRUE(d.ok()) << Name(mode);
      EXPECT_EQ(d->action, core::SkipsSnapshot(mode) ? StartAction::kStreamFromServer
                                                     : StartAction::kSnapshot)
          << Name(mode);
      EXPECT_FALSE(d->restarted);
      EXPECT_TRUE(d->warning.empty());
    }
  }
}

TEST(MysqlStartDecision, AlwaysSnapshotsAgainWithTruncatesWhenAPositionIsStored) {
  for (bool on_server : {true, false}) {
    auto d = DecideStart(Streaming(), on_server, SnapshotMode::kAlways);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->action, StartAction::kSnapshot);
    EXPECT_TRUE(d->restarted);
    EXPECT_NE(d->warning.find("snapshot.mode=always"), std::string::npos) << d->warning;
  }
  auto first = DecideStart(std::nullopt, false, SnapshotMode::kAlways);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->action, StartAction::kSnapshot);
  EXPECT_FALSE(first->restarted);  // nothing to truncate on a first start
}

TEST(MysqlStartDecision, RecoveryStreamsFromTheStoredPositionAndNeedsOne) {
  auto d = DecideStart(Streaming(), true, SnapshotMode::kRecovery);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->action, StartAction::kStream);
  EXPECT_EQ(d->from.file, "mysql-bin.000007");
  auto purged = DecideStart(Streaming(), false, SnapshotMode::kRecovery);
  EXPECT_EQ(purged.status().code(), core::StatusCode::kFailedPrecondition);
  auto none = DecideStart(std::nullopt, false, SnapshotMode::kRecovery);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(none.status().message().find("no_data"), std::string::npos);
}

TEST(MysqlStartDecision, DebeziumsOldModeNamesAreAliases) {
  EXPECT_EQ(*core::ParseSnapshotMode("schema_only"), SnapshotMode::kNoData);
  EXPECT_EQ(*core::ParseSnapshotMode("schema_only_recovery"), SnapshotMode::kRecovery);
  EXPECT_EQ(core::SnapshotModeName(SnapshotMode::kNoData), "no_data");
  auto d = DecideStart(std::nullopt, false, *core::ParseSnapshotMode("schema_only"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->action, StartAction::kStreamFromServer);
}

}  // namespace
}  // namespace sluice::mysql
