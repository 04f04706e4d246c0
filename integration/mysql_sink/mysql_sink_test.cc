// The MySQL/MariaDB sink against a real MariaDB, driven directly through the core::Sink interface
// with hand-built EventBatches; every result is checked with the independent `mariadb` client.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/event.h"
#include "integration/common/sql_client.h"
#include "integration/common/table_compare.h"
#include "integration/common/temp_dir.h"
#include "integration/common/wait.h"
#include "integration/common/teardown.h"
#include "sinks/mysql/mysql_sink.h"
#include "tests/common/schema_builders.h"

namespace sluice::sinks::mysql_sink {
namespace {

using core::Column;
using core::LogicalType;
using core::Op;
using itest::SqlRows;

// A value in a hand-built row: nullptr is NULL, kU is an unchanged (TOAST) value.
const char* const kU = "\x01unchanged";
using Values = std::vector<const char*>;

using sluice::testing::Col;

core::TableSchemaPtr Schema(std::string table, std::vector<Column> columns,
                            std::vector<uint32_t> key, uint64_t version = 1) {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {"public", std::move(table)};
  s->database = "src";
  s->columns = std::move(columns);
  s->key = std::move(key);
  s->version = version;
  return s;
}

uint32_t AddRow(core::EventBatch& batch, const Values& values) {
  uint32_t row = batch.BeginRow();
  for (const char* v : values) {
    if (v == nullptr) {
      batch.AppendNull();
    } else if (v == kU) {
      batch.AppendUnchanged();
    } else {
      batch.AppendValue(v);
    }
  }
  batch.EndRow();
  return row;
}

// Appends one event; `before`/`after` empty when absent.
void Event(core::EventBatch& batch, Op op, const core::TableSchemaPtr& schema, const Values& before,
           const Values& after) {
  if (batch.txns().empty()) batch.AddTxn(core::TxnInfo{});
  core::ChangeEvent e;
  e.op = op;
  e.table = schema;
  e.before = before.empty() ? core::kNoRow : AddRow(batch, before);
  e.after = after.empty() ? core::kNoRow : AddRow(batch, after);
  batch.AddEvent(e);
}

// A bytes value with embedded NUL, quote and backslash.
const std::string kBytes("\x00\x01'\\\xff", 5);

class MysqlSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = itest::UniqueName("mysql_sink");
    sql_ = itest::MysqlClient(db_);
  }
  void TearDown() override { itest::DropMysqlDatabase(db_); }

  std::string Url() const { return itest::MysqlClient(db_).Url(); }

  std::unique_ptr<MysqlSink> OpenSink(std::map<std::string, std::string> extra = {}) {
    std::map<std::string, std::string> values = {{"connector.class", "postgres"},
                                                 {"sink.type", "mysql"},
                                                 {"sink.url", Url()}};
    for (auto& [k, v] : extra) values[k] = v;
    core::ConnectorConfig config("itest", values);
    auto options = MysqlSinkOptionsFromConfig(config);
    EXPECT_TRUE(options.ok()) << options.status().ToString();
    auto sink = std::make_unique<MysqlSink>(*options);
    core::Status s = sink->Open();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return sink;
  }

  static void WriteAndFlush(MysqlSink& sink, const core::EventBatch& batch) {
    core::Status s = sink.Write(batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto flushed = sink.Flush();
    ASSERT_TRUE(flushed.ok()) << flushed.status().ToString();
  }

  // What the pipeline does after a retriable error: reset, write every batch since the last
  // flush again, flush; the flushed position must be `position`.
  static void ReplayAndFlush(MysqlSink& sink, std::initializer_list<const core::EventBatch*> batches,
                             const std::string& position) {
    ASSERT_TRUE(sink.Reset().ok());
    for (const core::EventBatch* b : batches) ASSERT_TRUE(sink.Write(*b).ok());
    auto flushed = sink.Flush();
    ASSERT_TRUE(flushed.ok()) << flushed.status().ToString();
    ASSERT_TRUE(flushed->has_value());
    EXPECT_EQ((*flushed)->value, position);
  }

  SqlRows Query(const std::string& sql) const { return sql_.Query(sql); }
  std::string Value(const std::string& sql) const { return sql_.QueryValue(sql); }
  std::string Checksum() const {
    return Value("SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS('|', id, qty))), 0)) FROM items");
  }

  std::string db_;
  itest::MysqlClient sql_;
};

TEST_F(MysqlSinkTest, TypeMatrixRoundTripsThroughClosestLosslessTypes) {
  auto schema = Schema(
      "types",
      {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false), Col("b", LogicalType::kBool, "boolean"),
       Col("s16", LogicalType::kInt16, "smallint"), Col("i64", LogicalType::kInt64, "bigint"),
       Col("f32", LogicalType::kFloat32, "real"), Col("f64", LogicalType::kFloat64, "double precision"),
       Col("dec", LogicalType::kDecimal, "numeric(12,2)", 0, 12, 2),
       Col("num", LogicalType::kDecimal, "numeric"), Col("txt", LogicalType::kString, "text"),
       Col("vc", LogicalType::kString, "character varying(10)", 10),
       Col("by", LogicalType::kBytes, "bytea"), Col("js", LogicalType::kJson, "jsonb"),
       Col("u", LogicalType::kUuid, "uuid"), Col("d", LogicalType::kDate, "date"),
       Col("t", LogicalType::kTime, "time without time zone"),
       Col("ts", LogicalType::kTimestamp, "timestamp without time zone"),
       Col("tstz", LogicalType::kTimestampTz, "timestamp with time zone"),
       Col("iv", LogicalType::kInterval, "interval"), Col("e", LogicalType::kEnum, "mood"),
       Col("arr", LogicalType::kArray, "integer[]"), Col("unk", LogicalType::kUnknown, "point")},
      {0});
  core::EventBatch batch;
  Values full = {"1", "t", "-32768", "9223372036854775807", "1.5", "3.141592653589793", "-12.34",
                 "123456789012345678901234567890.123456789", "h\xC3\xA9llo \xF0\x9F\x98\x80 'q' \\n",
                 "abc  ", kBytes.c_str(), "{\"a\": [1, 2]}", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                 "2024-02-29", "23:59:59.999999", "2024-01-02 03:04:05.123456",
                 "2024-01-02 03:04:05.5+00", "P1Y2M3DT4H5M6.5S", "happy", "[1,2,3]", "(1,2)"};
  Event(batch, Op::kRead, schema, {}, full);
  Values nulls(full.size(), nullptr);
  nulls[0] = "2";
  Event(batch, Op::kRead, schema, {}, nulls);
  // The bytes value holds a NUL: AppendValue takes a string_view, so write it explicitly.
  core::EventBatch fixed;
  fixed.AddTxn(core::TxnInfo{});
  for (const core::ChangeEvent& e : batch.events()) {
    core::RowView r = batch.row(e.after);
    uint32_t row = fixed.BeginRow();
    for (uint32_t i = 0; i < r.size(); ++i) {
      if (r.is_null(i)) {
        fixed.AppendNull();
      } else if (i == 10) {
        fixed.AppendValue(kBytes);
      } else {
        fixed.AppendValue(r.text(i));
      }
    }
    fixed.EndRow();
    fixed.AddEvent({Op::kRead, core::kNoRow, row, 0, schema});
  }
  auto sink = OpenSink();
  WriteAndFlush(*sink, fixed);

  SqlRows types = Query(
      "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='" + db_ +
      "' AND TABLE_NAME='types' ORDER BY ORDINAL_POSITION");
  std::vector<std::string> expected_types = {
      "int(11)", "tinyint(1)", "smallint(6)", "bigint(20)", "float", "double", "decimal(12,2)",
      "decimal(65,30)", "longtext", "varchar(10)", "longblob", "longtext", "char(36)", "date",
      "time(6)", "datetime(6)", "datetime(6)", "varchar(255)", "varchar(255)", "longtext", "longtext"};
  ASSERT_EQ(types.size(), expected_types.size());
  for (size_t i = 0; i < types.size(); ++i) {
    EXPECT_EQ(types[i][1].value_or("NULL"), expected_types[i]) << *types[i][0];
  }
  SqlRows rows = Query(
      "SELECT id, b, s16, i64, f32, f64, `dec`, num, txt, CONCAT('[', vc, ']'), HEX(`by`), js, u, d,"
      " t, ts, tstz, iv, e, arr, unk FROM types ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  std::vector<std::string> expected = {
      "1", "1", "-32768", "9223372036854775807", "1.5", "3.141592653589793", "-12.34",
      "123456789012345678901234567890.123456789000000000000000000000",
      "h\xC3\xA9llo \xF0\x9F\x98\x80 'q' \\n", "[abc  ]", "0001275CFF", "{\"a\": [1, 2]}",
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "2024-02-29", "23:59:59.999999",
      "2024-01-02 03:04:05.123456", "2024-01-02 03:04:05.500000", "P1Y2M3DT4H5M6.5S", "happy",
      "[1,2,3]", "(1,2)"};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(rows[0][i].value_or("NULL"), expected[i]) << "column " << i;
  }
  for (size_t i = 1; i < rows[1].size(); ++i) {
    if (i == 9) continue;  // CONCAT with NULL
    EXPECT_FALSE(rows[1][i].has_value()) << "column " << i;
  }
}

TEST_F(MysqlSinkTest, CompositeKeyUpsertsKeyChangesAndDeletesInOrder) {
  auto schema = Schema("pairs",
                       {Col("k", LogicalType::kString, "text", 0, 0, 0, false),
                        Col("n", LogicalType::kInt32, "integer", 0, 0, 0, false),
                        Col("v", LogicalType::kString, "text")},
                       {0, 1});
  auto sink = OpenSink();
  core::EventBatch batch;
  // Keys that a case-insensitive or PAD SPACE collation would merge stay distinct.
  Event(batch, Op::kCreate, schema, {}, {"a", "1", "lower"});
  Event(batch, Op::kCreate, schema, {}, {"A", "1", "upper"});
  Event(batch, Op::kCreate, schema, {}, {"a ", "1", "space"});
  Event(batch, Op::kCreate, schema, {}, {"b", "2", "first"});
  Event(batch, Op::kUpdate, schema, {}, {"b", "2", "second"});
  Event(batch, Op::kDelete, schema, {"b", "2", nullptr}, {});
  Event(batch, Op::kCreate, schema, {}, {"b", "2", "third"});
  Event(batch, Op::kCreate, schema, {}, {"c", "3", "moved"});
  Event(batch, Op::kUpdate, schema, {"c", "3", nullptr}, {"c", "4", "moved"});
  Event(batch, Op::kDelete, schema, {"a", "1", nullptr}, {});
  WriteAndFlush(*sink, batch);
  SqlRows rows = Query("SELECT CONCAT('[', k, ']'), n, v FROM pairs ORDER BY k, n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(*rows[0][0], "[A]");
  EXPECT_EQ(*rows[0][2], "upper");
  EXPECT_EQ(*rows[1][0], "[a ]");
  EXPECT_EQ(*rows[2][0], "[b]");
  EXPECT_EQ(*rows[2][2], "third");
  EXPECT_EQ(*rows[3][0], "[c]");
  EXPECT_EQ(*rows[3][1], "4");
}

TEST_F(MysqlSinkTest, InterleavedTablesKeepPerKeyOrder) {
  auto a = Schema("ta", {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                         Col("v", LogicalType::kString, "text")}, {0});
  auto b = Schema("tb", {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                         Col("v", LogicalType::kString, "text")}, {0});
  auto sink = OpenSink();
  core::EventBatch batch;
  for (int round = 0; round < 50; ++round) {
    std::string r = std::to_string(round);
    Event(batch, Op::kCreate, a, {}, {"1", r.c_str()});
    Event(batch, Op::kUpdate, b, {}, {"1", r.c_str()});
    Event(batch, Op::kDelete, a, {"1", nullptr}, {});
    Event(batch, Op::kCreate, b, {}, {r.c_str(), "x"});
    Event(batch, Op::kCreate, a, {}, {"1", ("after " + r).c_str()});
  }
  Event(batch, Op::kDelete, b, {"0", nullptr}, {});
  WriteAndFlush(*sink, batch);
  EXPECT_EQ(Value("SELECT GROUP_CONCAT(CONCAT(id, '=', v)) FROM ta"), "1=after 49");
  EXPECT_EQ(Value("SELECT CONCAT(COUNT(*), ':', MIN(id), ':', MAX(id)) FROM tb"), "49:1:49");
  EXPECT_EQ(Value("SELECT v FROM tb WHERE id = 1"), "49");  // the update of round 49 came last
}

TEST_F(MysqlSinkTest, HostileIdentifiersReplicate) {
  const std::string hostile = "\"; DROP TABLE x; --";
  itest::MysqlClient().Exec("CREATE DATABASE IF NOT EXISTS `" + db_ + "`");
  sql_.Exec("CREATE TABLE x (id INT PRIMARY KEY)");
  auto schema = Schema(hostile,
                       {Col("id`", LogicalType::kInt32, "integer", 0, 0, 0, false),
                        Col(hostile, LogicalType::kString, "text"),
                        Col("it's", LogicalType::kString, "text")},
                       {0});
  auto sink = OpenSink();
  core::EventBatch batch;
  Event(batch, Op::kCreate, schema, {}, {"1", "'); DROP TABLE x; --", "a`b"});
  Event(batch, Op::kCreate, schema, {}, {"2", "\\'", "\""});
  Event(batch, Op::kUpdate, schema, {}, {"2", "\\", kU});
  Event(batch, Op::kDelete, schema, {"1", nullptr, nullptr}, {});
  Event(batch, Op::kCreate, schema, {}, {"1", "back", "again"});
  WriteAndFlush(*sink, batch);
  EXPECT_EQ(Value("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='" + db_ +
                  "' AND TABLE_NAME='x'"),
            "1");
  SqlRows rows = Query("SELECT `id```, `\"; DROP TABLE x; --`, `it's` FROM `\"; DROP TABLE x; --` ORDER BY 1");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(*rows[0][1], "back");
  EXPECT_EQ(*rows[1][1], "\\");
  EXPECT_EQ(*rows[1][2], "\"");
}

TEST_F(MysqlSinkTest, UnchangedColumnsAreLeftAsTheyAre) {
  auto schema = Schema("toasty",
                       {Col("id", LogicalType::kInt64, "bigint", 0, 0, 0, false),
                        Col("big", LogicalType::kString, "text", 0, 0, 0, false),
                        Col("n", LogicalType::kInt32, "integer")},
                       {0});
  std::string big(100000, 'x');
  auto sink = OpenSink();
  core::EventBatch batch;
  Event(batch, Op::kCreate, schema, {}, {"1", big.c_str(), "1"});
  Event(batch, Op::kUpdate, schema, {}, {"1", kU, "2"});
  Event(batch, Op::kUpdate, schema, {}, {"1", kU, "3"});
  // A key change while the TOASTed column is unchanged moves the row with its value.
  Event(batch, Op::kUpdate, schema, {"1", nullptr, nullptr}, {"5", kU, "4"});
  WriteAndFlush(*sink, batch);
  SqlRows rows = Query("SELECT id, LENGTH(big), n FROM toasty");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(*rows[0][0], "5");
  EXPECT_EQ(*rows[0][1], "100000");
  EXPECT_EQ(*rows[0][2], "4");
}

TEST_F(MysqlSinkTest, ExactlyOnceOffsetsAndReplayChangesNothing) {
  auto schema = Schema("items",
                       {Col("id", LogicalType::kInt64, "bigint", 0, 0, 0, false),
                        Col("qty", LogicalType::kInt32, "integer")},
                       {0});
  core::EventBatch b1, b2;
  for (int i = 0; i < 1000; ++i) {
    std::string id = std::to_string(i);
    Event(b1, Op::kRead, schema, {}, {id.c_str(), "1"});
  }
  b1.set_checkpoint({"{\"lsn\":\"0/100\"}"});
  for (int i = 0; i < 1000; i += 2) {
    std::string id = std::to_string(i);
    Event(b2, Op::kUpdate, schema, {}, {id.c_str(), "2"});
  }
  Event(b2, Op::kDelete, schema, {"999", nullptr}, {});
  auto other = Schema("other", {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false)}, {0});
  Event(b1, Op::kCreate, other, {}, {"1"});
  // (Creating a table commits implicitly in MySQL, so b2 touches only tables b1 created.)
  Event(b2, Op::kTruncate, other, {}, {});
  b2.set_checkpoint({"{\"lsn\":\"0/200\"}"});
  {
    auto sink = OpenSink();
    auto none = sink->LoadCommittedPosition();
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
    WriteAndFlush(*sink, b1);
    // b2 written but never flushed: a crash loses it entirely, rows and position together.
    ASSERT_TRUE(sink->Write(b2).ok());
  }
  EXPECT_EQ(Value("SELECT COUNT(*) FROM items WHERE qty = 1"), "1000");
  std::string checksum_after_b1 = Checksum();
  auto sink = OpenSink();
  auto pos = sink->LoadCommittedPosition();
  ASSERT_TRUE(pos.ok());
  ASSERT_TRUE(pos->has_value());
  EXPECT_EQ((*pos)->value, "{\"lsn\":\"0/100\"}");
  // The pipeline replays from the committed position; replaying more (b1 again) is harmless too.
  WriteAndFlush(*sink, b1);
  EXPECT_EQ(Checksum(), checksum_after_b1);
  WriteAndFlush(*sink, b2);
  std::string final_checksum = Checksum();
  EXPECT_EQ(Value("SELECT COUNT(*) FROM items"), "999");
  EXPECT_EQ(Value("SELECT SUM(qty) FROM items"), std::to_string(500 * 2 + 499 * 1));
  WriteAndFlush(*sink, b2);
  EXPECT_EQ(Checksum(), final_checksum);
  auto pos2 = sink->LoadCommittedPosition();
  ASSERT_TRUE(pos2.ok() && pos2->has_value());
  EXPECT_EQ((*pos2)->value, "{\"lsn\":\"0/200\"}");
  EXPECT_EQ(Value("SELECT position FROM sluice_offsets WHERE connector='itest'"), "{\"lsn\":\"0/200\"}");
}

TEST_F(MysqlSinkTest, RetriesAfterTheConnectionIsKilled) {
  auto schema = Schema("killed",
                       {Col("id", LogicalType::kInt64, "bigint", 0, 0, 0, false),
                        Col("v", LogicalType::kString, "text")},
                       {0});
  core::EventBatch b1, b2;
  for (int i = 0; i < 200; ++i) {
    std::string id = std::to_string(i);
    Event(i < 100 ? b1 : b2, Op::kCreate, schema, {}, {id.c_str(), "v"});
  }
  b1.set_checkpoint({"p1"});
  b2.set_checkpoint({"p2"});
  auto sink = OpenSink();
  ASSERT_TRUE(sink->Write(b1).ok());
  ASSERT_NE(sink->connection_id(), 0u);
  itest::MysqlClient().Exec("KILL " + std::to_string(sink->connection_id()));
  core::Status s = sink->Write(b2);
  if (s.ok()) s = sink->Flush().status();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.IsRetriable()) << s.ToString();
  ReplayAndFlush(*sink, {&b1, &b2}, "p2");
  EXPECT_EQ(Value("SELECT COUNT(*) FROM killed"), "200");
}

// Snapshot rows go in as one LOAD DATA streamed across batches (pieces handed to the server
// while later batches are written): the whole load arrives; a second load of the same keys with
// new values comes back with warnings (duplicate keys) and is rewritten as upserts from its
// pieces; a load whose connection is killed while it streams is retried without loss; a load
// discarded by a reset leaves nothing behind.
TEST_F(MysqlSinkTest, StreamedSnapshotLoadsArriveWholeAndFailSafely) {
  auto schema = Schema("loaded",
                       {Col("id", LogicalType::kInt64, "bigint", 0, 0, 0, false),
                        Col("v", LogicalType::kString, "text")},
                       {0});
  const std::string pad(300, 'p');
  // Six batches of 2,000 rows (~0.6 MB each, so several pieces), keys from `first`.
  auto snapshot = [&](int first, const std::string& tag) {
    std::vector<core::EventBatch> batches(6);
    std::vector<std::string> values;
    for (int b = 0; b < 6; ++b) {
      for (int i = 0; i < 2000; ++i) {
        std::string id = std::to_string(first + b * 2000 + i);
        std::string v = tag + id + pad;
        Event(batches[b], Op::kRead, schema, {}, {id.c_str(), v.c_str()});
      }
    }
    batches.back().set_checkpoint({tag});
    return batches;
  };
  auto write_all = [](MysqlSink& sink, const std::vector<core::EventBatch>& batches) {
    for (const core::EventBatch& b : batches) {
      core::Status s = sink.Write(b);
      if (!s.ok()) return s;
    }
    return sink.Flush().status();
  };
  auto sums = [&] {
    return Value("SELECT CONCAT(COUNT(*), ':', SUM(id), ':', SUM(CRC32(v))) FROM loaded");
  };
  auto expected = [&](int first, int count, const std::string& tag) {
    return Value("SELECT CONCAT(COUNT(*), ':', SUM(seq), ':', SUM(CRC32(CONCAT('" + tag +
                 "', seq, REPEAT('p', 300))))) FROM seq_" + std::to_string(first) + "_to_" +
                 std::to_string(first + count - 1));
  };
  auto sink = OpenSink();
  core::Status s = write_all(*sink, snapshot(0, "a"));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sums(), expected(0, 12000, "a"));

  // The same keys again with new values: LOAD DATA would skip them (warnings); the sink undoes
  // the load and upserts the rows read back from every piece.
  s = write_all(*sink, snapshot(0, "b"));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sums(), expected(0, 12000, "b"));

  // The connection is killed while a load streams (started by the first batches): the next
  // write or the flush fails as retriable, and the replay loads everything.
  auto more = snapshot(12000, "c");
  auto fresh = OpenSink();  // a table the second sink has not loaded yet: LOAD DATA again
  ASSERT_TRUE(fresh->LoadCommittedPosition().ok());
  ASSERT_TRUE(fresh->Write(more[0]).ok());
  ASSERT_TRUE(fresh->Write(more[1]).ok());
  itest::MysqlClient().Exec("KILL " + std::to_string(fresh->connection_id()));
  s = core::Status::Ok();
  for (size_t b = 2; b < more.size() && s.ok(); ++b) s = fresh->Write(more[b]);
  if (s.ok()) s = fresh->Flush().status();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.IsRetriable()) << s.ToString();
  ASSERT_TRUE(fresh->Reset().ok());
  s = write_all(*fresh, more);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Value("SELECT COUNT(*) FROM loaded WHERE id >= 12000"), "12000");
  EXPECT_EQ(Value("SELECT position FROM sluice_offsets WHERE connector='itest'"), "c");

  // A load in progress when the pipeline resets the sink: nothing of it stays.
  auto dropped = snapshot(24000, "d");
  auto third = OpenSink();
  ASSERT_TRUE(third->Write(dropped[0]).ok());
  ASSERT_TRUE(third->Write(dropped[1]).ok());
  ASSERT_TRUE(third->Reset().ok());
  ASSERT_TRUE(third->Flush().ok());
  EXPECT_EQ(Value("SELECT COUNT(*) FROM loaded WHERE id >= 24000"), "0");
  EXPECT_EQ(Value("SELECT COUNT(*) FROM loaded"), "24000");
}

// A real deadlock between the sink's open transaction and an outside session: the sink holds
// row 1 (first batch), the outside session locks row 2 and waits for row 1, then the sink's
// second batch asks for row 2. InnoDB rolls back the lighter transaction: the outside session
// has changed 2,000 rows of another table first, so the victim is the sink (error 1213). The
// sink reports a retriable error, the replay writes both batches again, nothing lost or doubled.
TEST_F(MysqlSinkTest, DeadlockWithAnOutsideSessionIsRetried) {
  auto schema = Schema("dl",
                       {Col("id", LogicalType::kInt64, "bigint", 0, 0, 0, false),
                        Col("v", LogicalType::kString, "text")},
                       {0});
  core::EventBatch b0, b1, b2;
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(std::to_string(i));
  for (const std::string& id : ids) Event(b0, Op::kCreate, schema, {}, {id.c_str(), "v"});
  b0.set_checkpoint({"b0"});
  Event(b1, Op::kUpdate, schema, {}, {"1", "sink one"});
  Event(b1, Op::kCreate, schema, {}, {"10", "sink ten"});
  b1.set_checkpoint({"b1"});
  Event(b2, Op::kUpdate, schema, {}, {"2", "sink two"});
  b2.set_checkpoint({"b2"});
  auto sink = OpenSink();
  WriteAndFlush(*sink, b0);
  sql_.Exec("CREATE TABLE heavy (id INT PRIMARY KEY, n INT) ENGINE=InnoDB;"
            "INSERT INTO heavy SELECT seq, 0 FROM seq_1_to_2000");
  ASSERT_TRUE(sink->Write(b1).ok());  // holds row 1 until the flush
  itest::SqlResult outside;
  std::thread other([&] {
    outside = itest::MysqlClient(db_).TryQuery(
        "START TRANSACTION; UPDATE heavy SET n = n + 1; UPDATE dl SET v = 'outside' WHERE id = 2;"
        " UPDATE dl SET v = 'outside' WHERE id = 1; COMMIT;");
  });
  itest::WaitUntil(
      [&] {
        return Value("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = "
                     "'LOCK WAIT' AND trx_query LIKE '%outside%'") == "1";
      },
      std::chrono::seconds(20), "the outside session waits for row 1");
  core::Status s = sink->Write(b2);
  if (s.ok()) s = sink->Flush().status();
  other.join();
  ASSERT_FALSE(s.ok()) << "the sink's transaction must be the deadlock victim";
  EXPECT_TRUE(s.IsRetriable()) << s.ToString();
  EXPECT_NE(s.ToString().find("1213"), std::string::npos) << s.ToString();
  EXPECT_TRUE(outside.ok) << outside.error;
  EXPECT_EQ(Value("SELECT GROUP_CONCAT(v ORDER BY id) FROM dl WHERE id IN (1, 2, 10)"),
            "outside,outside");
  ReplayAndFlush(*sink, {&b1, &b2}, "b2");
  EXPECT_EQ(Value("SELECT position FROM sluice_offsets"), "b2");
  itest::ExpectTablesEqual(
      Query("SELECT seq, CASE seq WHEN 1 THEN 'sink one' WHEN 2 THEN 'sink two' WHEN 10 THEN "
            "'sink ten' ELSE 'v' END FROM seq_0_to_10"),
      Query("SELECT id, v FROM dl"));
}

TEST_F(MysqlSinkTest, OutOfRangeValueFailsNamingTableKeyAndReason) {
  itest::MysqlClient().Exec("CREATE DATABASE IF NOT EXISTS `" + db_ + "`");
  sql_.Exec("CREATE TABLE narrow (id INT PRIMARY KEY, v SMALLINT)");
  // (The target's types are the source's: a differing target column would be modified to the
  // source's type at start-up.)
  auto schema = Schema("narrow",
                       {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                        Col("v", LogicalType::kInt16, "smallint")},
                       {0});
  auto sink = OpenSink();
  core::EventBatch batch;
  Event(batch, Op::kCreate, schema, {}, {"41", "1"});
  Event(batch, Op::kCreate, schema, {}, {"42", "70000"});
  core::Status s = sink->Write(batch);
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.IsRetriable());
  EXPECT_NE(s.message().find("narrow"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("id='42'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("Out of range"), std::string::npos) << s.message();

  // A rejection without a row number (the JSON CHECK constraint) still names the row.
  auto docs = Schema("docs",
                     {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                      Col("doc", LogicalType::kJson, "jsonb")},
                     {0});
  ASSERT_TRUE(sink->Reset().ok());
  core::EventBatch json;
  Event(json, Op::kCreate, docs, {}, {"1", "{}"});
  Event(json, Op::kCreate, docs, {}, {"2", "{not json"});
  Event(json, Op::kCreate, docs, {}, {"3", "[]"});
  s = sink->Write(json);
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.IsRetriable());
  EXPECT_NE(s.message().find("id='2'"), std::string::npos) << s.message();

  // A value MySQL has no equivalent for is refused before it is sent.
  auto floats = Schema("floats",
                       {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                        Col("f", LogicalType::kFloat64, "double precision")},
                       {0});
  ASSERT_TRUE(sink->Reset().ok());
  core::EventBatch nan;
  Event(nan, Op::kCreate, floats, {}, {"7", "NaN"});
  s = sink->Write(nan);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("id='7'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("NaN"), std::string::npos) << s.message();
}

TEST_F(MysqlSinkTest, SchemaChangesAddColumnsAndKeepOrDropRemovedOnes) {
  auto v1 = Schema("evolve",
                   {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                    Col("a", LogicalType::kString, "text", 0, 0, 0, false)},
                   {0}, 1);
  auto v2 = Schema("evolve",
                   {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                    Col("a", LogicalType::kString, "text", 0, 0, 0, false),
                    Col("c", LogicalType::kInt64, "bigint")},
                   {0}, 2);
  auto v3 = Schema("evolve",
                   {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                    Col("c", LogicalType::kInt64, "bigint")},
                   {0}, 3);
  {
    auto sink = OpenSink();
    core::EventBatch batch;
    Event(batch, Op::kCreate, v1, {}, {"1", "x"});
    Event(batch, Op::kCreate, v2, {}, {"2", "y", "20"});
    Event(batch, Op::kCreate, v3, {}, {"3", "30"});
    WriteAndFlush(*sink, batch);
  }
  SqlRows rows = Query("SELECT id, a, c FROM evolve ORDER BY id");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][1].value_or("NULL"), "x");
  EXPECT_FALSE(rows[0][2].has_value());
  EXPECT_EQ(rows[1][2].value_or("NULL"), "20");
  EXPECT_FALSE(rows[2][1].has_value());  // kept, now nullable
  EXPECT_EQ(rows[2][2].value_or("NULL"), "30");

  auto sink = OpenSink({{"sink.columns.drop", "drop"}});
  core::EventBatch batch;
  Event(batch, Op::kCreate, v2, {}, {"4", "z", "40"});
  Event(batch, Op::kCreate, v3, {}, {"5", "50"});
  WriteAndFlush(*sink, batch);
  EXPECT_EQ(Value("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='" + db_ +
                  "' AND TABLE_NAME='evolve' AND COLUMN_NAME='a'"),
            "0");
  EXPECT_EQ(Value("SELECT COUNT(*) FROM evolve"), "5");
}

TEST_F(MysqlSinkTest, TruncateAndKeylessTables) {
  auto keyed = Schema("keyed", {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false)}, {0});
  auto keyless = Schema("keyless",
                        {Col("a", LogicalType::kInt32, "integer"), Col("b", LogicalType::kString, "text")},
                        {});
  auto sink = OpenSink();
  core::EventBatch batch;
  Event(batch, Op::kCreate, keyed, {}, {"1"});
  Event(batch, Op::kCreate, keyed, {}, {"2"});
  Event(batch, Op::kTruncate, keyed, {}, {});
  Event(batch, Op::kCreate, keyed, {}, {"3"});
  Event(batch, Op::kCreate, keyless, {}, {"1", "x"});
  Event(batch, Op::kCreate, keyless, {}, {"1", "x"});
  Event(batch, Op::kCreate, keyless, {}, {"2", nullptr});
  Event(batch, Op::kUpdate, keyless, {"2", nullptr}, {"2", "y"});
  Event(batch, Op::kDelete, keyless, {"1", "x"}, {});
  WriteAndFlush(*sink, batch);
  EXPECT_EQ(Value("SELECT GROUP_CONCAT(id) FROM keyed"), "3");
  EXPECT_EQ(Value("SELECT GROUP_CONCAT(CONCAT(a, b) ORDER BY a) FROM keyless"), "1x,2y");
}

TEST_F(MysqlSinkTest, LargeRowsAreSplitAcrossStatements) {
  auto schema = Schema("large",
                       {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                        Col("body", LogicalType::kString, "text")},
                       {0});
  std::string a(50000, 'a'), b(300000, '\''), c(1000, 'c');
  auto sink = OpenSink({{"sink.mysql.statement.bytes", "65536"}});
  core::EventBatch batch;
  Event(batch, Op::kCreate, schema, {}, {"1", a.c_str()});
  Event(batch, Op::kCreate, schema, {}, {"2", b.c_str()});
  Event(batch, Op::kCreate, schema, {}, {"3", c.c_str()});
  for (int i = 4; i < 400; ++i) {
    std::string id = std::to_string(i);
    Event(batch, Op::kCreate, schema, {}, {id.c_str(), c.c_str()});
  }
  WriteAndFlush(*sink, batch);
  EXPECT_EQ(Value("SELECT CONCAT(COUNT(*), ':', SUM(LENGTH(body))) FROM large"),
            "399:" + std::to_string(50000 + 300000 + 397 * 1000));
  EXPECT_EQ(Value("SELECT COUNT(*) FROM large WHERE id = 2 AND body = REPEAT('''', 300000)"), "1");
}

}  // namespace
}  // namespace sluice::sinks::mysql_sink
