// The PostgreSQL sink's keys and schema changes: a key deferred until the snapshot is loaded
// (built on the last row, before a position without rows, again after a second announce), two
// source tables into one target, added and dropped columns, column type and key changes.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "integration/pg_sink/pg_sink_fixture.h"

namespace sluice::sinks::pg_sink_itest {
namespace {

TEST_F(PgSinkTest, AddedColumnsAreAddedAndDroppedOnesKeptOrDropped) {
  for (std::string mode : {"keep", "drop"}) {
    SCOPED_TRACE(mode);
    std::string table = "evolve_" + mode;
    auto v1 = Schema("public", table,
                     {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                      Col("old", LogicalType::kString, "text", 0, 0, 0, false)},
                     {0}, 1);
    auto v2 = Schema("public", table,
                     {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                      Col("old", LogicalType::kString, "text", 0, 0, 0, false),
                      Col("added", LogicalType::kDecimal, "numeric(5,1)")},
                     {0}, 2);
    auto v3 = Schema("public", table,
                     {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                      Col("added", LogicalType::kDecimal, "numeric(5,1)")},
                     {0}, 3);
    core::Sink& sink = OpenSink({{"sink.columns.drop", mode}});
    core::EventBatch b;
    Event(b, Op::kCreate, v1, {}, {"1", "a"});
    Event(b, Op::kCreate, v2, {}, {"2", "b", "2.5"});
    Event(b, Op::kUpdate, v3, {}, {"1", "9.5"});
    Event(b, Op::kCreate, v3, {}, {"3", "3.0"});
    WriteAndFlush(sink, b);
    if (mode == "keep") {
      itest::ExpectTablesEqual({{"1", "a", "9.5"}, {"2", "b", "2.5"}, {"3", std::nullopt, "3.0"}},
                               Query("SELECT id, old, added FROM " + table));
    } else {
      EXPECT_EQ(Value("SELECT count(*) FROM information_schema.columns WHERE table_name = '" +
                      table + "'"),
                "2");
      itest::ExpectTablesEqual({{"1", "9.5"}, {"2", "2.5"}, {"3", "3.0"}},
                               Query("SELECT id, added FROM " + table));
    }
  }
}

core::EventBatch Announce(const core::TableSchemaPtr& schema, std::string checkpoint) {
  core::EventBatch b;
  b.AnnounceTable(schema);
  b.set_checkpoint({std::move(checkpoint)});
  return b;
}

std::string PrimaryKeyOf(const itest::PgClient& sql, const std::string& table) {
  SqlRows rows = sql.Query("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '" +
                           table + "'::regclass AND contype = 'p'");
  return rows.empty() ? "" : rows[0][0].value_or("");
}

TEST_F(PgSinkTest, DeferredKeyIsBuiltWhenTheSnapshotsLastRowArrives) {
  auto schema = Items();
  core::Sink& sink = OpenSink();
  WriteAndFlush(sink, Announce(schema, "running"));
  WriteAndFlush(sink, NumberedRows(schema, Op::kRead, 0, 3000, "running"));
  EXPECT_EQ(PrimaryKeyOf(sql_, "items"), "");  // loading: no key yet
  core::EventBatch last = NumberedRows(schema, Op::kRead, 3000, 4000, "running");
  last.MarkLastSnapshotEvent();
  WriteAndFlush(sink, last);
  EXPECT_EQ(PrimaryKeyOf(sql_, "items"), "PRIMARY KEY (id)");
  sql_.Exec("CREATE TABLE ref AS SELECT i::bigint AS id, 'v' || i AS v FROM generate_series(0, 3999) i");
  itest::ExpectTablesEqual(Query("SELECT * FROM ref"), Query("SELECT * FROM items"));
}

// A snapshot of empty tables has no final row: the first position past it (a checkpoint-only
// batch) commits only with the keys built.
TEST_F(PgSinkTest, DeferredKeyIsBuiltBeforeAPositionWithoutRowsCommits) {
  auto schema = Items();
  core::Sink& sink = OpenSink();
  WriteAndFlush(sink, Announce(schema, "running"));
  EXPECT_EQ(PrimaryKeyOf(sql_, "items"), "");
  core::EventBatch past;
  past.set_checkpoint({"streaming"});
  WriteAndFlush(sink, past);
  EXPECT_EQ(PrimaryKeyOf(sql_, "items"), "PRIMARY KEY (id)");
  itest::ExpectTablesEqual({}, Query("SELECT * FROM items"));
}

// The pipeline restarts a failed source from the committed position without resetting the
// sink: the snapshot is announced again and its rows come again, some of them already in the
// open transaction. The second announcement builds the key over the first attempt's rows, so
// the repeated rows meet it (one replay through the staging upsert) instead of loading twice.
TEST_F(PgSinkTest, SnapshotAnnouncedAgainGetsItsKeyBeforeItsRowsComeAgain) {
  auto schema = Items();
  core::Sink& sink = OpenSink();
  WriteAndFlush(sink, Announce(schema, "running"));
  WriteAndFlush(sink, NumberedRows(schema, Op::kRead, 0, 1000, "running"));
  core::EventBatch uncommitted = NumberedRows(schema, Op::kRead, 1000, 2000, "running");
  core::EventBatch again = Announce(schema, "running");
  core::EventBatch rows1 = NumberedRows(schema, Op::kRead, 0, 1500, "running");
  core::EventBatch rows2 = NumberedRows(schema, Op::kRead, 1500, 2500, "running");
  rows2.MarkLastSnapshotEvent();
  int retries = 0;
  core::Status s =
      WriteAndFlushLikeThePipeline(sink, {&uncommitted, &again, &rows1, &rows2}, &retries);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(retries, 1);
  EXPECT_EQ(PrimaryKeyOf(sql_, "items"), "PRIMARY KEY (id)");
  sql_.Exec("CREATE TABLE ref AS SELECT i::bigint AS id, 'v' || i AS v FROM generate_series(0, 2499) i");
  itest::ExpectTablesEqual(Query("SELECT * FROM ref"), Query("SELECT * FROM items"));
}

// Two source tables mapped to one target table (sink.table.name.format without ${schema}) may
// share keys: that target gets its key at once, not after the load, and the rows converge.
TEST_F(PgSinkTest, TwoSourceTablesIntoOneTargetAreNotLoadedWithoutAKey) {
  auto a = Schema("a", "items", {Col("id", LogicalType::kInt64, "bigint", 0, 0, 0, false),
                                 Col("v", LogicalType::kString, "text")}, {0});
  auto b = Schema("b", "items", {Col("id", LogicalType::kInt64, "bigint", 0, 0, 0, false),
                                 Col("v", LogicalType::kString, "text")}, {0});
  core::Sink& sink = OpenSink({{"sink.table.name.format", "merged.${table}"}});
  core::EventBatch announce;
  announce.AnnounceTable(a);
  announce.AnnounceTable(b);
  announce.set_checkpoint({"running"});
  WriteAndFlush(sink, announce);
  EXPECT_EQ(PrimaryKeyOf(sql_, "merged.items"), "PRIMARY KEY (id)");
  core::EventBatch rows_a = NumberedRows(a, Op::kRead, 0, 100, "running");
  core::EventBatch rows_b = NumberedRows(b, Op::kRead, 50, 150, "running");
  rows_b.MarkLastSnapshotEvent();
  core::Status s = WriteAndFlushLikeThePipeline(sink, {&rows_a, &rows_b});
  ASSERT_TRUE(s.ok()) << s.ToString();
  sql_.Exec("CREATE TABLE ref AS SELECT i::bigint AS id, 'v' || i AS v FROM generate_series(0, 149) i");
  itest::ExpectTablesEqual(Query("SELECT * FROM ref"), Query("SELECT * FROM merged.items"));
}

// A new schema version with other column types and another key: the columns are altered in
// place and the key replaced, in the batch's transaction; the rows that need them land. A
// change the target refuses names the table, the column and what to do.
TEST_F(PgSinkTest, ColumnTypeAndPrimaryKeyChangesAreApplied) {
  auto v1 = Schema("public", "evolve",
                   {Col("a", LogicalType::kInt32, "integer", 0, 0, 0, false),
                    Col("b", LogicalType::kInt32, "integer", 0, 0, 0, false),
                    Col("n", LogicalType::kInt32, "integer"),
                    Col("note", LogicalType::kString, "character varying(4)")},
                   {0});
  core::Sink& sink = OpenSink();
  core::EventBatch first;
  Event(first, Op::kCreate, v1, {}, {"1", "1", "1", "abcd"});
  Event(first, Op::kCreate, v1, {}, {"2", "2", "2", "x"});
  first.set_checkpoint({"1"});
  WriteAndFlush(sink, first);
  auto v2 = Schema("public", "evolve",
                   {Col("a", LogicalType::kInt32, "integer", 0, 0, 0, false),
                    Col("b", LogicalType::kInt32, "integer", 0, 0, 0, false),
                    Col("n", LogicalType::kInt64, "bigint"),
                    Col("note", LogicalType::kString, "text")},
                   {0, 1}, 2);
  core::EventBatch second;
  Event(second, Op::kCreate, v2, {}, {"1", "7", "9000000001", "same a, new b"});
  Event(second, Op::kUpdate, v2, {}, {"2", "2", "9000000002", "a longer note than four"});
  second.set_checkpoint({"2"});
  WriteAndFlush(sink, second);
  EXPECT_EQ(Value("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                  "'evolve'::regclass AND attname = 'n'"), "bigint");
  EXPECT_EQ(PrimaryKeyOf(sql_, "evolve"), "PRIMARY KEY (a, b)");
  // text -> integer of a column holding text: refused, named.
  auto v3 = Schema("public", "evolve",
                   {Col("a", LogicalType::kInt32, "integer", 0, 0, 0, false),
                    Col("b", LogicalType::kInt32, "integer", 0, 0, 0, false),
                    Col("n", LogicalType::kInt64, "bigint"),
                    Col("note", LogicalType::kInt32, "integer")},
                   {0, 1}, 3);
  core::EventBatch third;
  Event(third, Op::kCreate, v3, {}, {"3", "3", "3", "3"});
  third.set_checkpoint({"3"});
  core::Status refused = sink.Write(third);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), core::StatusCode::kFailedPrecondition) << refused.ToString();
  EXPECT_NE(refused.message().find("\"public\".\"evolve\""), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("column note"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("by hand"), std::string::npos) << refused.message();
  ASSERT_TRUE(sink.Reset().ok());
  itest::ExpectTablesEqual({{"1", "1", "1", "abcd"},
                            {"1", "7", "9000000001", "same a, new b"},
                            {"2", "2", "9000000002", "a longer note than four"}},
                           Query("SELECT a, b, n, note FROM evolve ORDER BY a, b"));
}

}  // namespace
}  // namespace sluice::sinks::pg_sink_itest
