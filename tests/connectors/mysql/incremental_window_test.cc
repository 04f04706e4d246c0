// DBLog's window de-duplication of incremental-snapshot chunks (connectors/mysql/
// incremental_window.h), without a server: which chunk rows a streamed change removes (before and
// after images, deletes, truncates, key changes, other tables, snapshot reads ignored), the
// collation-aware key comparison, the recent keys that seed a window, the config value and the
// choice of method.
#include "connectors/mysql/incremental_window.h"

#include <gtest/gtest.h>

#include <memory>

#include "connectors/mysql/source_config.h"

namespace sluice::mysql {
namespace {

using Clock = std::chrono::steady_clock;

core::TableSchemaPtr Table(const std::string& name, size_t key_columns = 1) {
  auto t = std::make_shared<core::TableSchema>();
  t->id = {"shop", name};
  for (size_t i = 0; i < key_columns; ++i) t->columns.push_back({"k" + std::to_string(i)});
  t->columns.push_back({"v"});
  for (uint32_t i = 0; i < key_columns; ++i) t->key.push_back(i);
  return t;
}

uint32_t Row(core::EventBatch& b, const std::vector<std::string>& values) {
  uint32_t r = b.BeginRow();
  for (const auto& v : values) b.AppendValue(v);
  b.EndRow();
  return r;
}

// Chunk rows (key, v) in key order.
core::EventBatch Chunk(const std::vector<std::string>& keys) {
  core::EventBatch b;
  for (const auto& k : keys) Row(b, {k, "old"});
  return b;
}

class StreamBatch {
 public:
  StreamBatch() { txn_ = batch_.AddTxn({}); }
  StreamBatch& Insert(const core::TableSchemaPtr& t, const std::string& k) {
    batch_.AddEvent({core::Op::kCreate, core::kNoRow, Row(batch_, {k, "new"}), txn_, t});
    return *this;
  }
  StreamBatch& Update(const core::TableSchemaPtr& t, const std::string& from,
                      const std::string& to) {
    uint32_t before = Row(batch_, {from, "old"});
    batch_.AddEvent({core::Op::kUpdate, before, Row(batch_, {to, "new"}), txn_, t});
    return *this;
  }
  StreamBatch& Delete(const core::TableSchemaPtr& t, const std::string& k) {
    batch_.AddEvent({core::Op::kDelete, Row(batch_, {k, "old"}), core::kNoRow, txn_, t});
    return *this;
  }
  StreamBatch& Truncate(const core::TableSchemaPtr& t) {
    batch_.AddEvent({core::Op::kTruncate, core::kNoRow, core::kNoRow, txn_, t});
    return *this;
  }
  // Another chunk's rows handed over in the same batch: never a touch.
  StreamBatch& SnapshotRead(const core::TableSchemaPtr& t, const std::string& k) {
    core::TxnInfo info;
    info.snapshot = true;
    uint32_t txn = batch_.AddTxn(info);
    batch_.AddEvent({core::Op::kRead, core::kNoRow, Row(batch_, {k, "snap"}), txn, t});
    return *this;
  }
  std::vector<TouchedKey> Touched() const { return TouchedKeys(batch_, 0, batch_.size()); }
  const core::EventBatch& batch() const { return batch_; }

 private:
  core::EventBatch batch_;
  uint32_t txn_;
};

std::vector<uint32_t> Dropped(const ChunkWindow& w, uint32_t rows) {
  std::vector<uint32_t> out;
  for (uint32_t r = 0; r < rows; ++r) {
    if (w.dropped(r)) out.push_back(r);
  }
  return out;
}

TEST(MysqlChunkWindow, StreamedKeysDropChunkRowsAndDeletesWin) {
  auto t = Table("orders");
  auto other = Table("other");
  core::EventBatch chunk = Chunk({"1", "2", "3", "4", "5", "6"});
  ChunkWindow w(t->id, chunk, {0}, {KeyFold::kExact});
  StreamBatch s;
  s.Update(t, "2", "2")       // a plain update
      .Delete(t, "4")         // a delete in the window wins
      .Update(t, "5", "50")   // a key change touches the old key...
      .Update(t, "60", "6")   // ...and the new one
      .Insert(t, "7")         // a key the chunk does not have
      .Delete(other, "1")     // another table
      .SnapshotRead(t, "3");  // not a streamed change
  ASSERT_TRUE(w.Apply(s.Touched()));
  EXPECT_EQ(Dropped(w, 6), (std::vector<uint32_t>{1, 3, 4, 5}));
  EXPECT_EQ(w.dropped_count(), 4u);
  core::EventBatch kept = w.KeptRows(chunk);
  ASSERT_EQ(kept.row_count(), 2u);
  EXPECT_EQ(kept.row(0).text(0), "1");
  EXPECT_EQ(kept.row(1).text(0), "3");
  // The same keys again count once.
  ASSERT_TRUE(w.Apply(s.Touched()));
  EXPECT_EQ(w.dropped_count(), 4u);
}

TEST(MysqlChunkWindow, TruncateDropsTheWholeChunk) {
  auto t = Table("orders");
  core::EventBatch chunk = Chunk({"1", "2", "3"});
  ChunkWindow w(t->id, chunk, {0}, {KeyFold::kExact});
  StreamBatch s;
  s.Delete(t, "2").Truncate(t).Insert(t, "1");
  ASSERT_TRUE(w.Apply(s.Touched()));
  EXPECT_EQ(w.dropped_count(), 3u);
}

TEST(MysqlChunkWindow, CompositeKeysMatchWholeAndAKeyOfAnotherShapeAsksForAReread) {
  auto t = Table("lines", 2);
  core::EventBatch chunk;
  Row(chunk, {"a", "1", "x"});
  Row(chunk, {"a", "2", "x"});
  Row(chunk, {"b", "1", "x"});
  ChunkWindow w(t->id, chunk, {0, 1}, {KeyFold::kExact, KeyFold::kExact});
  core::EventBatch stream;
  uint32_t txn = stream.AddTxn({});
  stream.AddEvent({core::Op::kDelete, Row(stream, {"a", "2", "x"}), core::kNoRow, txn, t});
  // "a1" + "" is not "a" + "1": values are length-prefixed.
  stream.AddEvent({core::Op::kDelete, Row(stream, {"a1", "", "x"}), core::kNoRow, txn, t});
  ASSERT_TRUE(w.Apply(TouchedKeys(stream, 0, stream.size())));
  EXPECT_EQ(Dropped(w, 3), (std::vector<uint32_t>{1}));
  // The table's key lost a column by DDL in the window: the chunk cannot be matched.
  auto narrowed = Table("lines", 1);
  StreamBatch s;
  s.Delete(narrowed, "a");
  EXPECT_FALSE(w.Apply(s.Touched()));
}

TEST(MysqlChunkWindow, CaseInsensitiveCollationsMatchAsTheServerDoes) {
  auto t = Table("names");
  core::EventBatch chunk = Chunk({"a", "Bob", "c  ", "d", "é"});
  ChunkWindow padded(t->id, chunk, {0}, {KeyFold::kCaseAndPad});
  StreamBatch s;
  s.Update(t, "A", "A").Delete(t, "BOB").Insert(t, "c").Insert(t, "D ").Insert(t, "É");
  ASSERT_TRUE(padded.Apply(s.Touched()));
  // 'É' and 'é' are equal under utf8mb4_general_ci too, but only ASCII is folded: the stream's
  // image of an existing row carries its stored text, 'é' (the header comment).
  EXPECT_EQ(Dropped(padded, 5), (std::vector<uint32_t>{0, 1, 2, 3}));
  ChunkWindow no_pad(t->id, chunk, {0}, {KeyFold::kCase});
  ASSERT_TRUE(no_pad.Apply(s.Touched()));
  EXPECT_EQ(Dropped(no_pad, 5), (std::vector<uint32_t>{0, 1}));
  ChunkWindow exact(t->id, chunk, {0}, {KeyFold::kExact});
  ASSERT_TRUE(exact.Apply(s.Touched()));
  EXPECT_EQ(exact.dropped_count(), 0u);
}

TEST(MysqlChunkWindow, KeyFoldFollowsTheColumnsCollation) {
  EXPECT_EQ(KeyFoldFor("varchar", "utf8mb4_general_ci"), KeyFold::kCaseAndPad);
  EXPECT_EQ(KeyFoldFor("char", "latin1_swedish_ci"), KeyFold::kCaseAndPad);
  EXPECT_EQ(KeyFoldFor("varchar", "utf8mb4_unicode_520_ci"), KeyFold::kCaseAndPad);
  EXPECT_EQ(KeyFoldFor("varchar", "utf8mb4_nopad_general_ci"), KeyFold::kCase);  // MariaDB
  EXPECT_EQ(KeyFoldFor("varchar", "utf8mb4_0900_ai_ci"), KeyFold::kCase);        // MySQL 8
  EXPECT_EQ(KeyFoldFor("varchar", "utf8mb4_bin"), KeyFold::kExact);
  EXPECT_EQ(KeyFoldFor("varchar", "utf8mb4_0900_as_cs"), KeyFold::kExact);
  EXPECT_EQ(KeyFoldFor("varchar", "utf8mb4_turkish_ci"), KeyFold::kExact);  // I is not i
  EXPECT_EQ(KeyFoldFor("varbinary", ""), KeyFold::kExact);
  EXPECT_EQ(KeyFoldFor("binary", ""), KeyFold::kExact);
  EXPECT_EQ(KeyFoldFor("bigint", ""), KeyFold::kExact);
  EXPECT_EQ(KeyFoldFor("datetime", ""), KeyFold::kExact);
  EXPECT_EQ(KeyFoldFor("decimal", ""), KeyFold::kExact);
}

TEST(MysqlStreamTouches, KeepsTheOpenTransactionAndRecentKeysOnly) {
  auto t = Table("orders");
  StreamTouches touches;
  const Clock::time_point t0 = Clock::now();
  StreamBatch first;
  first.Delete(t, "1").Delete(t, "2");  // "2" opens a transaction still open at the Poll's end
  touches.Record(first.Touched(), 1, false, t0);
  StreamBatch second;
  second.Delete(t, "3");  // the same transaction goes on
  touches.Record(second.Touched(), 0, true, t0 + std::chrono::milliseconds(100));
  EXPECT_EQ(touches.recent().size(), 1u);
  EXPECT_EQ(touches.open().size(), 2u);
  // Long after, the committed keys are forgotten; the open transaction's are not.
  touches.Record({}, 0, true, t0 + kTouchLookback + std::chrono::seconds(1));
  EXPECT_EQ(touches.recent().size(), 0u);
  EXPECT_EQ(touches.open().size(), 2u);
  // It commits: its keys become recent ones, kept for the lookback from now.
  StreamBatch third;
  third.Delete(t, "4");
  const Clock::time_point t3 = t0 + kTouchLookback + std::chrono::seconds(2);
  touches.Record(third.Touched(), 1, false, t3);
  EXPECT_EQ(touches.recent().size(), 3u);
  EXPECT_TRUE(touches.open().empty());
  // A window seeded with them drops those keys.
  core::EventBatch chunk = Chunk({"1", "2", "3", "4", "5"});
  ChunkWindow w(t->id, chunk, {0}, {KeyFold::kExact});
  w.Apply(touches);
  EXPECT_EQ(Dropped(w, 5), (std::vector<uint32_t>{1, 2, 3}));
  touches.Clear();
  EXPECT_TRUE(touches.recent().empty());
  EXPECT_TRUE(touches.open().empty());
}

TEST(MysqlSnapshotConsistency, ValuesAndTheMethodChosen) {
  EXPECT_EQ(*ParseSnapshotConsistency("auto"), SnapshotConsistency::kAuto);
  EXPECT_EQ(*ParseSnapshotConsistency("exact"), SnapshotConsistency::kExact);
  EXPECT_EQ(*ParseSnapshotConsistency("window"), SnapshotConsistency::kWindow);
  auto bad = ParseSnapshotConsistency("dblog");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "incremental.snapshot.consistency: 'dblog' is not accepted; "
                                    "use auto, exact or window");
  EXPECT_TRUE(HasBinlogSnapshotStatus(
      {{"Binlog_snapshot_file", "mysql-bin.000004"}, {"Binlog_snapshot_position", "1234"}}));
  EXPECT_TRUE(HasBinlogSnapshotStatus(  // binary logging off: still MariaDB
      {{"Binlog_snapshot_file", ""}, {"Binlog_snapshot_position", "0"}}));
  EXPECT_FALSE(HasBinlogSnapshotStatus({}));  // MySQL 8
  EXPECT_FALSE(*UseWindow(SnapshotConsistency::kAuto, true));   // MariaDB
  EXPECT_TRUE(*UseWindow(SnapshotConsistency::kAuto, false));   // MySQL 8
  EXPECT_TRUE(*UseWindow(SnapshotConsistency::kWindow, true));
  EXPECT_FALSE(*UseWindow(SnapshotConsistency::kExact, true));
  auto refused = UseWindow(SnapshotConsistency::kExact, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("binlog_snapshot_file"), std::string::npos);
}

TEST(MysqlSnapshotConsistency, SourceConfigParsesAndRefusesTheKey) {
  auto parse = [](const std::string& value) {
    return ParseSourceConfig(core::ConnectorConfig(
        "c", {{"database.hostname", "h"}, {"database.user", "u"},
              {"incremental.snapshot.consistency", value}}));
  };
  ASSERT_TRUE(parse("window").ok()) << parse("window").status().message();
  EXPECT_EQ(parse("window")->incremental_consistency, SnapshotConsistency::kWindow);
  auto defaulted = ParseSourceConfig(
      core::ConnectorConfig("c", {{"database.hostname", "h"}, {"database.user", "u"}}));
  ASSERT_TRUE(defaulted.ok());
  EXPECT_EQ(defaulted->incremental_consistency, SnapshotConsistency::kAuto);
  auto bad = parse("Window");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'Window'"), std::string::npos);
}

TEST(MysqlBinlogEnd, FromShowMasterStatus) {
  std::vector<std::optional<std::string>> row = {"mysql-bin.000007", "4711", "", ""};
  auto end = ParseBinlogEnd(&row);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->file, "mysql-bin.000007");
  EXPECT_EQ(end->pos, 4711u);
  auto off = ParseBinlogEnd(nullptr);
  ASSERT_FALSE(off.ok());
  EXPECT_NE(off.status().message().find("log_bin"), std::string::npos);
}

}  // namespace
}  // namespace sluice::mysql
