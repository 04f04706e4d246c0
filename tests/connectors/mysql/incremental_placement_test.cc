// Placement of MariaDB incremental-snapshot chunks in the binlog stream
// (connectors/mysql/incremental_placement.h), without a server: the chunk consistent at P is
// handed over at the first transaction boundary at or after P, never inside a transaction, and
// is read again when the stream already handed over a transaction from P on.
#include "connectors/mysql/incremental_placement.h"

#include <gtest/gtest.h>

namespace sluice::mysql {
namespace {

BinlogPoint At(const char* file, uint64_t pos) { return {file, pos}; }

TEST(MysqlBinlogPoints, OrderByFileNumberThenOffset) {
  EXPECT_EQ(*CompareBinlogPoints(At("mysql-bin.000002", 900), At("mysql-bin.000010", 4)), -1);
  EXPECT_EQ(*CompareBinlogPoints(At("mysql-bin.000010", 4), At("mysql-bin.000002", 900)), 1);
  EXPECT_EQ(*CompareBinlogPoints(At("mysql-bin.000003", 500), At("mysql-bin.000003", 700)), -1);
  EXPECT_EQ(*CompareBinlogPoints(At("mysql-bin.000003", 700), At("mysql-bin.000003", 700)), 0);
  // Past 999999 the extension grows a digit; numeric order still holds.
  EXPECT_EQ(*CompareBinlogPoints(At("b.999999", 9), At("b.1000000", 4)), -1);
}

TEST(MysqlBinlogPoints, RefuseNamesThatCannotBeOrdered) {
  auto other_base = CompareBinlogPoints(At("mysql-bin.000002", 4), At("other.000002", 4));
  ASSERT_FALSE(other_base.ok());
  EXPECT_EQ(other_base.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(other_base.status().message().find("log_bin_basename"), std::string::npos);
  auto no_number = CompareBinlogPoints(At("mysql-bin", 4), At("mysql-bin.000002", 4));
  ASSERT_FALSE(no_number.ok());
  EXPECT_NE(no_number.status().message().find("numeric extension"), std::string::npos);
}

TEST(MysqlBinlogSnapshotStatus, MariadbStatusGivesThePosition) {
  // As MariaDB 10.11 prints them.
  auto p = ParseBinlogSnapshotStatus(
      {{"Binlog_snapshot_file", "mysql-bin.000004"}, {"Binlog_snapshot_position", "1234"}});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->file, "mysql-bin.000004");
  EXPECT_EQ(p->pos, 1234u);
}

TEST(MysqlBinlogSnapshotStatus, Mysql8IsRefusedNamingTheMissingFeature) {
  auto p = ParseBinlogSnapshotStatus({});  // MySQL 8 answers the SHOW STATUS with no rows
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("binlog_snapshot_file"), std::string::npos);
  EXPECT_NE(p.status().message().find("MariaDB"), std::string::npos);
}

TEST(MysqlBinlogSnapshotStatus, BinaryLoggingOffAndGarbageAreRefused) {
  auto off = ParseBinlogSnapshotStatus(
      {{"binlog_snapshot_file", ""}, {"binlog_snapshot_position", "0"}});
  ASSERT_FALSE(off.ok());
  EXPECT_NE(off.status().message().find("log_bin"), std::string::npos);
  auto garbage = ParseBinlogSnapshotStatus(
      {{"binlog_snapshot_file", "mysql-bin.000001"}, {"binlog_snapshot_position", "12x"}});
  EXPECT_FALSE(garbage.ok());
}

// The chunk reader keeps a table's schema while this stays equal: inserts that move the
// AUTO_INCREMENT table option do not change it, a column or key change does.
TEST(MysqlTableDefinition, IgnoresOnlyTheAutoIncrementCounter) {
  const std::string before =
      "CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `v` varchar(8) DEFAULT "
      "NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB AUTO_INCREMENT=17 DEFAULT CHARSET=latin1";
  std::string after = before;
  after.replace(after.find("=17"), 3, "=90210");
  EXPECT_EQ(TableDefinition(before), TableDefinition(after));
  EXPECT_EQ(TableDefinition(before).find("AUTO_INCREMENT=1"), std::string::npos);
  EXPECT_NE(TableDefinition(before).find("NOT NULL AUTO_INCREMENT,"), std::string::npos);
  std::string altered = before;
  altered.replace(altered.find("varchar(8)"), 10, "varchar(9)");
  EXPECT_NE(TableDefinition(before), TableDefinition(altered));
  std::string rekeyed = before;
  rekeyed.replace(rekeyed.find("(`id`)\n)"), 6, "(`v`)");
  EXPECT_NE(TableDefinition(before), TableDefinition(rekeyed));
}

TEST(MysqlChunkQuery, FirstChunkReadsFromTheStartInKeyOrder) {
  EXPECT_EQ(ChunkQuery("`id`, `name`", "`shop`.`orders`", {"`id`"}, "", {}, 1024),
            "SELECT `id`, `name`, `id` FROM `shop`.`orders` WHERE (1) ORDER BY `id` LIMIT 1024");
}

TEST(MysqlChunkQuery, NextChunkStartsAfterTheLastKeyWithAnIndexableCondition) {
  EXPECT_EQ(ChunkQuery("`a`, `b`, `v`", "`s`.`t`", {"`a`", "`b`"}, "`v` > 3", {"'7'", "'x'"}, 10),
            "SELECT `a`, `b`, `v`, `a`, `b` FROM `s`.`t` WHERE (`v` > 3) AND (`a` > '7' OR "
            "(`a` = '7' AND `b` > 'x')) ORDER BY `a`, `b` LIMIT 10");
  EXPECT_EQ(ChunkQuery("1", "`s`.`t`", {"`a`", "`b`", "`c`"}, "", {"1", "2", "3"}, 5),
            "SELECT 1, `a`, `b`, `c` FROM `s`.`t` WHERE (1) AND (`a` > 1 OR (`a` = 1 AND `b` > 2) "
            "OR (`a` = 1 AND `b` = 2 AND `c` > 3)) ORDER BY `a`, `b`, `c` LIMIT 5");
}

TEST(MysqlChunkPlacement, ChunkAheadOfTheStreamGoesBeforeTheFirstTransactionFromP) {
  ChunkPlacement p;
  EXPECT_FALSE(*p.HandOverBefore(At("b.000001", 100)));
  ASSERT_EQ(*p.ChunkRead(At("b.000001", 500)), ChunkPlacement::Verdict::kHold);
  // Transactions the snapshot saw (they start before P) stream first.
  EXPECT_FALSE(*p.HandOverBefore(At("b.000001", 300)));
  EXPECT_FALSE(*p.HandOverAtPollEnd(At("b.000001", 400), true));
  EXPECT_TRUE(p.holding());
  // The first transaction at P: the chunk goes right before it, exactly once.
  EXPECT_TRUE(*p.HandOverBefore(At("b.000001", 500)));
  EXPECT_FALSE(p.holding());
  EXPECT_FALSE(*p.HandOverBefore(At("b.000001", 800)));
}

TEST(MysqlChunkPlacement, IdleStreamThatReachedPTakesTheChunkAtThePollEnd) {
  ChunkPlacement p;
  EXPECT_FALSE(*p.HandOverBefore(At("b.000001", 100)));
  ASSERT_EQ(*p.ChunkRead(At("b.000001", 500)), ChunkPlacement::Verdict::kHold);
  EXPECT_FALSE(*p.HandOverAtPollEnd(At("b.000001", 499), true));
  // Inside a transaction the chunk never goes, even past P.
  EXPECT_FALSE(*p.HandOverAtPollEnd(At("b.000001", 500), false));
  EXPECT_TRUE(*p.HandOverAtPollEnd(At("b.000001", 500), true));
  EXPECT_FALSE(p.holding());
}

TEST(MysqlChunkPlacement, RotationBetweenTheStreamAndPIsOrderedByFile) {
  // P right after a rotation: the new file's first transaction starts after its header events.
  ChunkPlacement p;
  EXPECT_FALSE(*p.HandOverBefore(At("b.000001", 900)));
  ASSERT_EQ(*p.ChunkRead(At("b.000002", 385)), ChunkPlacement::Verdict::kHold);
  EXPECT_FALSE(*p.HandOverAtPollEnd(At("b.000001", 1200), true));
  EXPECT_TRUE(*p.HandOverBefore(At("b.000002", 385)));
}

TEST(MysqlChunkPlacement, ChunkBehindTheStreamIsStale) {
  ChunkPlacement p;
  EXPECT_FALSE(*p.HandOverBefore(At("b.000003", 500)));
  // The stream handed over a transaction starting at P: the chunk would undo it.
  EXPECT_EQ(*p.ChunkRead(At("b.000003", 500)), ChunkPlacement::Verdict::kStale);
  EXPECT_FALSE(p.holding());
  EXPECT_EQ(*p.ChunkRead(At("b.000002", 9000)), ChunkPlacement::Verdict::kStale);
  // Read again later, with a P the stream has not reached: held.
  EXPECT_EQ(*p.ChunkRead(At("b.000003", 700)), ChunkPlacement::Verdict::kHold);
}

TEST(MysqlChunkPlacement, ChunkReadMidTransactionFromBeforePIsHeld) {
  ChunkPlacement p;
  EXPECT_FALSE(*p.HandOverBefore(At("b.000001", 100)));  // still open
  ASSERT_EQ(*p.ChunkRead(At("b.000001", 400)), ChunkPlacement::Verdict::kHold);
  EXPECT_FALSE(*p.HandOverAtPollEnd(At("b.000001", 250), false));
  EXPECT_TRUE(*p.HandOverAtPollEnd(At("b.000001", 400), true));
}

TEST(MysqlChunkPlacement, ResetAndDropForgetTheChunk) {
  ChunkPlacement p;
  EXPECT_FALSE(*p.HandOverBefore(At("b.000001", 600)));
  p.Reset();  // reopened from a committed position before 600
  ASSERT_EQ(*p.ChunkRead(At("b.000001", 500)), ChunkPlacement::Verdict::kHold);
  p.Drop();
  EXPECT_FALSE(p.holding());
  EXPECT_FALSE(*p.HandOverBefore(At("b.000001", 500)));
}

}  // namespace
}  // namespace sluice::mysql
