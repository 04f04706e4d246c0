// The PostgreSQL sink against a real PostgreSQL, driven directly through the core::Sink interface
// with hand-built EventBatches. Every result is read back with the independent `psql` client and
// each scenario ends with the comparator against rows the test wrote itself with psql.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/event.h"
#include "core/logging.h"
#include "integration/common/itest.h"
#include "sinks/postgres/postgres_sink.h"
#include "tests/common/schema_builders.h"

namespace sluice::sinks {
namespace {

using core::Column;
using core::LogicalType;
using core::Op;
using itest::SqlRows;

// A value in a hand-built row: nullptr is NULL, kU marks an unchanged (TOAST) value.
const char* const kU = "\x01unchanged";
using Values = std::vector<std::string_view>;
const std::string_view kNull{};  // data() == nullptr

using sluice::testing::Col;

core::TableSchemaPtr Schema(std::string schema, std::string table, std::vector<Column> columns,
                            std::vector<uint32_t> key, uint64_t version = 1) {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {std::move(schema), std::move(table)};
  s->database = "src";
  s->columns = std::move(columns);
  s->key = std::move(key);
  s->version = version;
  return s;
}

uint32_t AddRow(core::EventBatch& batch, const Values& values) {
  uint32_t row = batch.BeginRow();
  for (std::string_view v : values) {
    if (v.data() == nullptr) {
      batch.AppendNull();
    } else if (v.data() == kU) {
      batch.AppendUnchanged();
    } else {
      batch.AppendValue(v);
    }
  }
  batch.EndRow();
  return row;
}

void Event(core::EventBatch& batch, Op op, const core::TableSchemaPtr& schema,
           const Values& before, const Values& after) {
  if (batch.txns().empty()) batch.AddTxn(core::TxnInfo{});
  core::ChangeEvent e;
  e.op = op;
  e.table = schema;
  e.before = before.empty() ? core::kNoRow : AddRow(batch, before);
  e.after = after.empty() ? core::kNoRow : AddRow(batch, after);
  batch.AddEvent(e);
}

class PgSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = itest::CreateScratchPgDatabase("pg_sink");
    sql_ = itest::PgClient(db_);
  }
  void TearDown() override {
    sinks_.clear();
    itest::DropPgDatabase(db_);
  }

  core::Sink& OpenSink(std::map<std::string, std::string> extra = {},
                       std::string name = "itest") {
    std::map<std::string, std::string> values = {
        {"connector.class", "postgres"}, {"sink.type", "postgres"}, {"sink.url", sql_.Url()}};
    for (auto& [k, v] : extra) values[k] = v;
    core::ConnectorContext context;
    context.config = core::ConnectorConfig(name, values);
    context.logger = core::ConnectorLogger(name);
    auto sink = MakePostgresSink(context);
    if (!sink.ok()) throw itest::HarnessError(sink.status().ToString());
    core::Status s = (*sink)->Open();
    if (!s.ok()) throw itest::HarnessError(s.ToString());
    sinks_.push_back(std::move(*sink));
    return *sinks_.back();
  }

  static void WriteAndFlush(core::Sink& sink, const core::EventBatch& batch) {
    core::Status s = sink.Write(batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto flushed = sink.Flush();
    ASSERT_TRUE(flushed.ok()) << flushed.status().ToString();
  }

  // What the pipeline does: write the batches and flush; on a retriable error Reset() and write
  // every batch since the last flush again. Returns the final status.
  static core::Status WriteAndFlushLikeThePipeline(core::Sink& sink,
                                                   const std::vector<const core::EventBatch*>& batches,
                                                   int* retries = nullptr) {
    core::Status s;
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (attempt > 0) {
        if (retries) ++*retries;
        s = sink.Reset();
        if (!s.ok()) return s;
      }
      s = core::Status::Ok();
      for (const core::EventBatch* b : batches) {
        s = sink.Write(*b);
        if (!s.ok()) break;
      }
      if (s.ok()) s = sink.Flush().status();
      if (s.ok() || !s.IsRetriable()) return s;
    }
    return s;
  }

  SqlRows Query(const std::string& sql) const { return sql_.Query(sql); }
  std::string Value(const std::string& sql) const { return sql_.QueryValue(sql); }

  std::string db_;
  itest::PgClient sql_;
  std::vector<std::unique_ptr<core::Sink>> sinks_;
};

// ---------------------------------------------------------------------------------------------

TEST_F(PgSinkTest, TypeMatrixKeepsPostgresTypesExactly) {
  auto schema = Schema(
      "public", "types",
      {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false), Col("b", LogicalType::kBool, "boolean"),
       Col("s16", LogicalType::kInt16, "smallint"), Col("i64", LogicalType::kInt64, "bigint"),
       Col("f32", LogicalType::kFloat32, "real"), Col("f64", LogicalType::kFloat64, "double precision"),
       Col("dec", LogicalType::kDecimal, "numeric(12,2)"), Col("num", LogicalType::kDecimal, "numeric"),
       Col("txt", LogicalType::kString, "text"), Col("vc", LogicalType::kString, "character varying(10)"),
       Col("ch", LogicalType::kString, "character(3)"), Col("by", LogicalType::kBytes, "bytea"),
       Col("jb", LogicalType::kJson, "jsonb"), Col("js", LogicalType::kJson, "json"),
       Col("u", LogicalType::kUuid, "uuid"), Col("d", LogicalType::kDate, "date"),
       Col("t", LogicalType::kTime, "time without time zone"),
       Col("ts", LogicalType::kTimestamp, "timestamp(3) without time zone"),
       Col("tstz", LogicalType::kTimestampTz, "timestamp with time zone"),
       Col("iv", LogicalType::kInterval, "interval"), Col("e", LogicalType::kEnum, "mood"),
       Col("ia", LogicalType::kArray, "integer[]"), Col("ta", LogicalType::kArray, "text[]"),
       Col("ma", LogicalType::kArray, "integer[]"), Col("pt", LogicalType::kUnknown, "point")},
      {0});
  auto mood = const_cast<core::TableSchema*>(schema.get());
  mood->columns[20].enum_values = {"sad", "ok", "happy"};

  const std::string bytes("\x00\x01'\\\t\n\xff", 7);
  Values r1 = {"1", "t", "-32768", "9223372036854775807", "1.5", "3.141592653589793", "-12.34",
               "NaN", "tab\there\nnewline \\N back\\slash", "ten chars!", "ab ", bytes,
               R"({"k": [1, "x"]})", R"({"b":1,  "a":2})", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
               "2024-02-29", "23:59:59.999999", "1999-12-31 23:59:59.123",
               "2024-06-01 12:00:00.5+00", "P1Y2M3DT4H5M6.5S", "happy", "[1,null,3]",
               R"(["a,b","NULL","q\"uote","back\\slash",null,""])", "[[1,2],[3,4]]", "(1.5,2)"};
  Values r2 = {"2", "f", "0", "-1", "-Infinity", "1e-300", "0.00", "123456789012345678901234567890.5",
               "", "", "x", "", "[]", "null", "00000000-0000-0000-0000-000000000000",
               "0001-01-01 BC", "00:00:00", "infinity", "-infinity", "PT0S", "sad", "[]", "[]",
               "[]", "(0,0)"};
  Values r3(25, kNull);
  r3[0] = "3";
  core::EventBatch snap;
  Event(snap, Op::kRead, schema, {}, r1);
  Event(snap, Op::kRead, schema, {}, r3);
  core::EventBatch stream;
  Event(stream, Op::kCreate, schema, {}, r2);
  Event(stream, Op::kCreate, schema, {}, r3);  // upsert over the snapshot row
  core::Sink& sink = OpenSink();
  WriteAndFlush(sink, snap);
  WriteAndFlush(sink, stream);

  // The target columns carry the source's type text exactly.
  SqlRows types = Query(
      "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE "
      "a.attrelid = 'public.types'::regclass AND a.attnum > 0 ORDER BY a.attnum");
  ASSERT_EQ(types.size(), schema->columns.size());
  for (size_t i = 0; i < types.size(); ++i) {
    EXPECT_EQ(*types[i][1], schema->columns[i].source_type) << schema->columns[i].name;
  }
  // A reference table written by psql with the same values in SQL literal form.
  sql_.Exec(
      "CREATE TABLE ref (LIKE types); INSERT INTO ref VALUES "
      "(1, true, -32768, 9223372036854775807, 1.5, 3.141592653589793, -12.34, 'NaN', "
      "E'tab\\there\\nnewline \\\\N back\\\\slash', 'ten chars!', 'ab ', "
      "'\\x0001275c090aff', '{\"k\": [1, \"x\"]}', '{\"b\":1,  \"a\":2}', "
      "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-02-29', '23:59:59.999999', "
      "'1999-12-31 23:59:59.123', '2024-06-01 12:00:00.5+00', '1 year 2 mons 3 days 04:05:06.5', "
      "'happy', '{1,NULL,3}', ARRAY['a,b','NULL','q\"uote',E'back\\\\slash',NULL,''], "
      "'{{1,2},{3,4}}', '(1.5,2)'), "
      "(2, false, 0, -1, '-Infinity', 1e-300, 0.00, 123456789012345678901234567890.5, '', '', "
      "'x', '', '[]', 'null', '00000000-0000-0000-0000-000000000000', '0001-01-01 BC', "
      "'00:00:00', 'infinity', '-infinity', '0', 'sad', '{}', '{}', '{}', '(0,0)'), "
      "(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
      "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
  const std::string cols =
      "id, b, s16, i64, f32, f64, dec, num, txt, vc, ch, by, jb, js::text, u, d, t, ts, tstz, "
      "iv, e, ia, ta, ma, pt::text";
  itest::ExpectTablesEqual(Query("SELECT " + cols + " FROM ref"),
                           Query("SELECT " + cols + " FROM types"));
}

TEST_F(PgSinkTest, CompositeKeyUpsertsDeletesAndKeyChangesInOrder) {
  auto schema = Schema("shop", "lines",
                       {Col("order_id", LogicalType::kInt64, "bigint", 0, 0, 0, false),
                        Col("line", LogicalType::kInt32, "integer", 0, 0, 0, false),
                        Col("qty", LogicalType::kInt32, "integer")},
                       {0, 1});
  core::EventBatch b;
  Event(b, Op::kCreate, schema, {}, {"1", "1", "5"});
  Event(b, Op::kCreate, schema, {}, {"1", "2", "6"});
  Event(b, Op::kCreate, schema, {}, {"2", "1", "7"});
  Event(b, Op::kUpdate, schema, {}, {"1", "1", "50"});
  Event(b, Op::kUpdate, schema, {}, {"1", "1", "51"});        // same key twice: last wins
  Event(b, Op::kDelete, schema, {"1", "2", kNull}, {});
  Event(b, Op::kCreate, schema, {}, {"1", "2", "60"});        // re-insert after delete
  Event(b, Op::kUpdate, schema, {"2", "1", kNull}, {"2", "9", "70"});  // key change
  Event(b, Op::kDelete, schema, {"9", "9", kNull}, {});       // absent: no-op
  core::Sink& sink = OpenSink();
  WriteAndFlush(sink, b);
  sql_.Exec("CREATE TABLE ref (order_id bigint, line int, qty int); "
            "INSERT INTO ref VALUES (1,1,51),(1,2,60),(2,9,70)");
  EXPECT_EQ(Value("SELECT count(*) FROM pg_index WHERE indrelid = 'shop.lines'::regclass AND "
                  "indisprimary AND indnatts = 2"),
            "1");
  itest::ExpectTablesEqual(Query("SELECT * FROM ref"), Query("SELECT * FROM shop.lines"));
}

TEST_F(PgSinkTest, UnchangedToastValuesAreLeftAsTheyAre) {
  auto schema = Schema("public", "docs",
                       {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                        Col("body", LogicalType::kString, "text"),
                        Col("n", LogicalType::kInt32, "integer")},
                       {0});
  std::string big(100000, 'x');
  core::EventBatch b1;
  Event(b1, Op::kRead, schema, {}, {"1", big, "1"});
  Event(b1, Op::kCreate, schema, {}, {"2", big, "1"});
  core::EventBatch b2;
  Event(b2, Op::kUpdate, schema, {}, {"1", kU, "2"});
  Event(b2, Op::kUpdate, schema, {}, {"2", kU, "3"});
  Event(b2, Op::kUpdate, schema, {}, {"2", "small", kU});
  core::Sink& sink = OpenSink();
  WriteAndFlush(sink, b1);
  WriteAndFlush(sink, b2);
  sql_.Exec("CREATE TABLE ref (id int, body text, n int); INSERT INTO ref VALUES "
            "(1, repeat('x', 100000), 2), (2, 'small', 3)");
  itest::ExpectTablesEqual(Query("SELECT id, md5(body), n FROM ref"),
                           Query("SELECT id, md5(body), n FROM docs"));
}

TEST_F(PgSinkTest, HostileIdentifiersUnicodeAndNullsReplicate) {
  const std::string hostile = "\"; DROP TABLE x; --";
  auto schema = Schema(hostile, hostile,
                       {Col(hostile, LogicalType::kInt32, "integer", 0, 0, 0, false),
                        Col("Ünïcødé 名前", LogicalType::kString, "text"),
                        Col("it's", LogicalType::kString, "text")},
                       {0});
  core::EventBatch b;
  Event(b, Op::kRead, schema, {}, {"1", "naïve café 日本語 😀", kNull});
  Event(b, Op::kCreate, schema, {}, {"2", kNull, "'); DROP TABLE x; --"});
  Event(b, Op::kUpdate, schema, {}, {"1", "Ωmega", "\\x"});
  sql_.Exec("CREATE TABLE x (a int)");
  core::Sink& sink = OpenSink();
  WriteAndFlush(sink, b);
  EXPECT_EQ(Value("SELECT count(*) FROM x"), "0");  // still there
  sql_.Exec("CREATE TABLE ref (a int, b text, c text); INSERT INTO ref VALUES "
            "(1, 'Ωmega', E'\\\\x'), (2, NULL, E'''); DROP TABLE x; --')");
  itest::ExpectTablesEqual(Query("SELECT * FROM ref"),
                           Query("SELECT * FROM \"\"\"; DROP TABLE x; --\".\"\"\"; DROP TABLE x; --\""));
}

core::EventBatch NumberedRows(const core::TableSchemaPtr& schema, Op op, int from, int to,
                              std::string checkpoint) {
  core::EventBatch b;
  for (int i = from; i < to; ++i) {
    Event(b, op, schema, {}, {std::to_string(i), "v" + std::to_string(i)});
  }
  b.set_checkpoint({std::move(checkpoint)});
  return b;
}

core::TableSchemaPtr Items() {
  return Schema("public", "items",
                {Col("id", LogicalType::kInt64, "bigint", 0, 0, 0, false),
                 Col("v", LogicalType::kString, "text")},
                {0});
}

TEST_F(PgSinkTest, ReplayedSnapshotAndStreamChangeNothing) {
  auto schema = Items();
  core::Sink& sink = OpenSink();
  WriteAndFlush(sink, NumberedRows(schema, Op::kRead, 0, 5000, "s1"));
  core::EventBatch stream;
  Event(stream, Op::kUpdate, schema, {}, {"7", "changed"});
  Event(stream, Op::kDelete, schema, {"8", kNull}, {});
  stream.set_checkpoint({"l1"});
  WriteAndFlush(sink, stream);
  // A crash mid-snapshot restarts the snapshot: the same rows (and some new) come again, then
  // the stream from an older point. The COPY meets existing rows: one replay as upserts.
  core::EventBatch again1 = NumberedRows(schema, Op::kRead, 0, 4000, "s2");
  core::EventBatch again2 = NumberedRows(schema, Op::kRead, 4000, 6000, "s3");
  int retries = 0;
  core::Status s = WriteAndFlushLikeThePipeline(sink, {&again1, &again2}, &retries);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(retries, 1);
  WriteAndFlush(sink, stream);
  // New rows after the replayed range take the COPY path again.
  WriteAndFlush(sink, NumberedRows(schema, Op::kRead, 6000, 7000, "s4"));
  sql_.Exec("CREATE TABLE ref AS SELECT i::bigint AS id, 'v' || i AS v FROM generate_series(0, 6999) i; "
            "UPDATE ref SET v = 'changed' WHERE id = 7; DELETE FROM ref WHERE id = 8");
  itest::ExpectTablesEqual(Query("SELECT * FROM ref"), Query("SELECT * FROM items"));
}

TEST_F(PgSinkTest, OffsetCommitsWithTheRowsAndResetDiscardsBoth) {
  auto schema = Items();
  core::Sink& sink = OpenSink();
  auto none = sink.LoadCommittedPosition();
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->has_value());
  WriteAndFlush(sink, NumberedRows(schema, Op::kCreate, 0, 10, "{\"lsn\":\"0/10\"}"));
  // Written, not flushed: nothing of it is visible, and Reset throws it away.
  ASSERT_TRUE(sink.Write(NumberedRows(schema, Op::kCreate, 10, 20, "{\"lsn\":\"0/20\"}")).ok());
  EXPECT_EQ(Value("SELECT count(*) FROM items"), "10");
  EXPECT_EQ(Value("SELECT position FROM sluice_offsets WHERE connector = 'itest'"),
            "{\"lsn\":\"0/10\"}");
  ASSERT_TRUE(sink.Reset().ok());
  auto empty_flush = sink.Flush();
  ASSERT_TRUE(empty_flush.ok());
  EXPECT_FALSE(empty_flush->has_value());
  EXPECT_EQ(Value("SELECT count(*) FROM items"), "10");
  // A batch without a checkpoint leaves the stored position; the next one moves it.
  WriteAndFlush(sink, NumberedRows(schema, Op::kCreate, 10, 15, ""));
  EXPECT_EQ(Value("SELECT position FROM sluice_offsets WHERE connector = 'itest'"),
            "{\"lsn\":\"0/10\"}");
  ASSERT_TRUE(sink.Write(NumberedRows(schema, Op::kCreate, 15, 20, "{\"lsn\":\"0/20\"}")).ok());
  auto flushed = sink.Flush();
  ASSERT_TRUE(flushed.ok());
  ASSERT_TRUE(flushed->has_value());
  EXPECT_EQ((*flushed)->value, "{\"lsn\":\"0/20\"}");
  // A fresh sink (a restart) reads it back; another connector name has its own row.
  core::Sink& again = OpenSink();
  auto loaded = again.LoadCommittedPosition();
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ((*loaded)->value, "{\"lsn\":\"0/20\"}");
  core::Sink& other = OpenSink({{"sink.offsets.table", "meta.offsets"}}, "other");
  auto other_loaded = other.LoadCommittedPosition();
  ASSERT_TRUE(other_loaded.ok());
  EXPECT_FALSE(other_loaded->has_value());
  sql_.Exec("CREATE TABLE ref AS SELECT i::bigint AS id, 'v' || i AS v FROM generate_series(0, 19) i");
  itest::ExpectTablesEqual(Query("SELECT * FROM ref"), Query("SELECT * FROM items"));
}

TEST_F(PgSinkTest, RetriesAfterTheConnectionIsKilled) {
  auto schema = Items();
  core::Sink& sink = OpenSink();
  WriteAndFlush(sink, NumberedRows(schema, Op::kRead, 0, 100, "a"));
  core::EventBatch b1 = NumberedRows(schema, Op::kCreate, 100, 200, "b");
  core::EventBatch b2 = NumberedRows(schema, Op::kRead, 200, 300, "c");
  ASSERT_TRUE(sink.Write(b1).ok());
  sql_.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db_ +
            "' AND pid <> pg_backend_pid()");
  core::Status s = sink.Write(b2);
  if (s.ok()) s = sink.Flush().status();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.IsRetriable()) << s.ToString();
  // What the pipeline does: Reset, then write every batch since the last flush again.
  ASSERT_TRUE(sink.Reset().ok());
  s = WriteAndFlushLikeThePipeline(sink, {&b1, &b2});
  ASSERT_TRUE(s.ok()) << s.ToString();
  // Killed in the middle of a streaming COPY too.
  core::EventBatch b3 = NumberedRows(schema, Op::kRead, 300, 400, "d");
  ASSERT_TRUE(sink.Write(b3).ok());
  sql_.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db_ +
            "' AND pid <> pg_backend_pid()");
  core::EventBatch b4 = NumberedRows(schema, Op::kRead, 400, 500, "e");
  s = sink.Write(b4);
  if (s.ok()) s = sink.Flush().status();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.IsRetriable()) << s.ToString();
  ASSERT_TRUE(sink.Reset().ok());
  s = WriteAndFlushLikeThePipeline(sink, {&b3, &b4});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Value("SELECT position FROM sluice_offsets"), "e");
  sql_.Exec("CREATE TABLE ref AS SELECT i::bigint AS id, 'v' || i AS v FROM generate_series(0, 499) i");
  itest::ExpectTablesEqual(Query("SELECT * FROM ref"), Query("SELECT * FROM items"));
}

// A real deadlock between the sink's open transaction and an outside session: the sink holds
// row 1 (first batch), the outside session locks row 2 and waits for row 1, then the sink's
// second batch waits for row 2. The outside session waits with a 60 s deadlock_timeout, so the
// sink's backend runs the check first (after 1 s) and is the one aborted with 40P01. The sink
// reports a retriable error, the pipeline's replay writes both batches again, and the target
// ends with the sink's rows: nothing lost, nothing doubled.
TEST_F(PgSinkTest, DeadlockWithAnOutsideSessionIsRetried) {
  auto schema = Items();
  core::Sink& sink = OpenSink();
  WriteAndFlush(sink, NumberedRows(schema, Op::kCreate, 0, 10, "a"));
  core::EventBatch b1, b2;
  Event(b1, Op::kUpdate, schema, {}, {"1", "sink one"});
  Event(b1, Op::kCreate, schema, {}, {"10", "sink ten"});
  b1.set_checkpoint({"b1"});
  Event(b2, Op::kUpdate, schema, {}, {"2", "sink two"});
  b2.set_checkpoint({"b2"});
  ASSERT_TRUE(sink.Write(b1).ok());
  // The sink's transaction holds row 1 (its pipeline runs on the server while Write returns).
  itest::WaitUntil(
      [&] { return !sql_.TryQuery("SELECT 1 FROM items WHERE id = 1 FOR UPDATE NOWAIT").ok; },
      std::chrono::seconds(10), "the sink's transaction locks row 1", std::chrono::milliseconds(20));
  itest::SqlResult outside;
  std::thread other([&] {
    outside = sql_.TryQuery(
        "SET deadlock_timeout = '60s'; BEGIN; UPDATE items SET v = 'outside' WHERE id = 2; "
        "UPDATE items SET v = 'outside' WHERE id = 1; COMMIT;");
  });
  itest::WaitUntil(
      [&] {
        return Value("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
                     "query LIKE '%outside%' AND pid <> pg_backend_pid()") == "1";
      },
      std::chrono::seconds(10), "the outside session waits for row 1");
  core::Status s = sink.Write(b2);
  if (s.ok()) s = sink.Flush().status();
  other.join();
  ASSERT_FALSE(s.ok()) << "the sink's transaction must be the deadlock victim";
  EXPECT_TRUE(s.IsRetriable()) << s.ToString();
  EXPECT_NE(s.ToString().find("deadlock"), std::string::npos) << s.ToString();
  EXPECT_TRUE(outside.ok) << outside.error;
  // Rolled back: neither batch of the failed transaction is visible, the outside one is.
  EXPECT_EQ(Value("SELECT string_agg(v, ',' ORDER BY id) FROM items WHERE id IN (1, 2, 10)"),
            "outside,outside");
  int retries = 0;
  ASSERT_TRUE(sink.Reset().ok());
  s = WriteAndFlushLikeThePipeline(sink, {&b1, &b2}, &retries);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(retries, 0);
  EXPECT_EQ(Value("SELECT position FROM sluice_offsets"), "b2");
  sql_.Exec("CREATE TABLE ref AS SELECT i::bigint AS id, CASE i WHEN 1 THEN 'sink one' WHEN 2 "
            "THEN 'sink two' WHEN 10 THEN 'sink ten' ELSE 'v' || i END AS v FROM "
            "generate_series(0, 10) i");
  itest::ExpectTablesEqual(Query("SELECT * FROM ref"), Query("SELECT * FROM items"));
}

// Snapshot rows go out as binary COPY when every target column type has an encoder (chosen by
// the target's own column types: a binary COPY converts nothing); special floats, NULLs,
// control characters and multibyte text arrive exactly, and a value the target rejects is still
// named, by the replay that loads the rows as text.
TEST_F(PgSinkTest, BinarySnapshotCopyLoadsExactValues) {
  auto schema = Schema("public", "bin",
                       {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                        Col("b", LogicalType::kBool, "boolean"), Col("n", LogicalType::kInt16, "smallint"),
                        Col("r", LogicalType::kFloat32, "real"),
                        Col("d", LogicalType::kFloat64, "double precision"),
                        Col("s", LogicalType::kString, "character varying(12)"),
                        Col("c", LogicalType::kString, "character(4)")},
                       {0});
  core::EventBatch snap;
  snap.AnnounceTable(schema);
  Event(snap, Op::kRead, schema, {}, {"1", "t", "-32768", "1.5", "0.1", "tab\tnl\nbs\\", "ab"});
  Event(snap, Op::kRead, schema, {}, {"2", "f", "32767", "-Infinity", "NaN", "ünïcødé €", "abcd"});
  Event(snap, Op::kRead, schema, {}, {"3", kNull, kNull, kNull, kNull, kNull, kNull});
  Event(snap, Op::kRead, schema, {}, {"4", "t", "0", "3.4028235e+38", "-0", "", "    "});
  core::Sink& sink = OpenSink();
  WriteAndFlush(sink, snap);
  sql_.Exec(
      "CREATE TABLE ref (LIKE bin); INSERT INTO ref VALUES "
      "(1, true, -32768, 1.5, 0.1, E'tab\\tnl\\nbs\\\\', 'ab'), "
      "(2, false, 32767, '-Infinity', 'NaN', 'ünïcødé €', 'abcd'), "
      "(3, NULL, NULL, NULL, NULL, NULL, NULL), (4, true, 0, 3.4028235e+38, '-0', '', '    ')");
  itest::ExpectTablesEqual(Query("SELECT * FROM ref ORDER BY id"), Query("SELECT * FROM bin ORDER BY id"));

  core::EventBatch bad;
  Event(bad, Op::kRead, schema, {}, {"5", "t", "1", "1", "1", "thirteen char", "x"});
  core::Status st = WriteAndFlushLikeThePipeline(sink, {&bad});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), core::StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("id=5"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("too long"), std::string::npos) << st.message();
  ASSERT_TRUE(sink.Reset().ok());
  EXPECT_EQ(Value("SELECT count(*) FROM bin"), "4");
}

TEST_F(PgSinkTest, RejectedRowFailsNamingTableKeyAndReason) {
  auto schema = Schema("public", "small",
                       {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                        Col("code", LogicalType::kString, "character varying(3)")},
                       {0});
  core::Sink& sink = OpenSink();
  WriteAndFlush(sink, [&] {
    core::EventBatch b;
    Event(b, Op::kRead, schema, {}, {"1", "abc"});
    return b;
  }());
  core::EventBatch stream;
  Event(stream, Op::kCreate, schema, {}, {"2", "ok"});
  Event(stream, Op::kCreate, schema, {}, {"42", "too long"});
  Event(stream, Op::kCreate, schema, {}, {"43", "ok"});
  // Changes stay in flight until the commit, when their batch is gone: the first failure is
  // retriable and the pipeline's replay (one statement per row, read per batch) names the row.
  core::Status s = WriteAndFlushLikeThePipeline(sink, {&stream});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("public.small"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("id=42"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("too long"), std::string::npos) << s.message();
  // The same through COPY (snapshot rows).
  ASSERT_TRUE(sink.Reset().ok());
  core::EventBatch snap;
  Event(snap, Op::kRead, schema, {}, {"5", "ok"});
  Event(snap, Op::kRead, schema, {}, {"6", "waytoolong"});
  s = WriteAndFlushLikeThePipeline(sink, {&snap});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("id=6"), std::string::npos) << s.message();
  ASSERT_TRUE(sink.Reset().ok());
  itest::ExpectTablesEqual({{"1", "abc"}}, Query("SELECT * FROM small"));
}

TEST_F(PgSinkTest, RejectedRowInAMultiRowStatementIsNamedOnReplay) {
  auto schema = Schema("public", "small",
                       {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                        Col("code", LogicalType::kString, "character varying(3)")},
                       {0});
  core::Sink& sink = OpenSink();
  core::EventBatch stream;
  for (int i = 0; i < 40; ++i) {
    Event(stream, Op::kCreate, schema, {}, {std::to_string(i), i == 17 ? "too long" : "ok"});
  }
  core::Status s = sink.Write(stream);
  if (s.ok()) s = sink.Flush().status();
  ASSERT_FALSE(s.ok());
  // The multi-row statement cannot say which row: the pipeline's replay (Reset, write again)
  // runs one statement per row and fails naming it.
  ASSERT_TRUE(s.IsRetriable()) << s.ToString();
  ASSERT_TRUE(sink.Reset().ok());
  s = WriteAndFlushLikeThePipeline(sink, {&stream});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("id=17"), std::string::npos) << s.message();
  EXPECT_EQ(Value("SELECT count(*) FROM pg_tables WHERE tablename = 'small'"), "0");
}

TEST_F(PgSinkTest, InterleavedTablesAndRepeatedKeysEndInTheSourceState) {
  auto a = Schema("public", "a", {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                                  Col("n", LogicalType::kInt64, "bigint")}, {0});
  auto b = Schema("public", "b", {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                                  Col("n", LogicalType::kInt64, "bigint")}, {0});
  sql_.Exec("CREATE TABLE ref_a (id int, n bigint); CREATE TABLE ref_b (id int, n bigint)");
  // A pgbench-like stream: every transaction updates a hot row of b and a cold row of a,
  // with deletes and re-inserts of the same keys in between.
  std::map<int, long> ra, rb;
  core::Sink& sink = OpenSink();
  for (int batch_no = 0; batch_no < 3; ++batch_no) {
    core::EventBatch batch;
    for (int i = 0; i < 1500; ++i) {
      int step = batch_no * 1500 + i;
      int ka = step % 700, kb = step % 7;
      ra[ka] += step;
      rb[kb] += 1;
      Event(batch, ra[ka] == step ? Op::kCreate : Op::kUpdate, a, {},
            {std::to_string(ka), std::to_string(ra[ka])});
      Event(batch, Op::kUpdate, b, {}, {std::to_string(kb), std::to_string(rb[kb])});
      if (step % 97 == 0) {
        Event(batch, Op::kDelete, a, {std::to_string(ka), kNull}, {});
        ra.erase(ka);
      }
    }
    batch.set_checkpoint({"p" + std::to_string(batch_no)});
    WriteAndFlush(sink, batch);
  }
  std::string ins_a = "INSERT INTO ref_a VALUES (0, 0)";
  for (auto& [k, v] : ra) ins_a += ", (" + std::to_string(k) + ", " + std::to_string(v) + ")";
  std::string ins_b = "INSERT INTO ref_b VALUES (0, 0)";
  for (auto& [k, v] : rb) ins_b += ", (" + std::to_string(k) + ", " + std::to_string(v) + ")";
  sql_.Exec(ins_a + "; DELETE FROM ref_a WHERE (id, n) = (0, 0) AND ctid = (SELECT min(ctid) FROM ref_a); " + ins_b +
            "; DELETE FROM ref_b WHERE ctid = (SELECT min(ctid) FROM ref_b)");
  itest::ExpectTablesEqual(Query("SELECT * FROM ref_a"), Query("SELECT * FROM a"));
  itest::ExpectTablesEqual(Query("SELECT * FROM ref_b"), Query("SELECT * FROM b"));
}

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

TEST_F(PgSinkTest, KeylessTableAppendsAndChangesOneEqualRow) {
  auto schema = Schema("public", "log",
                       {Col("a", LogicalType::kInt32, "integer"),
                        Col("j", LogicalType::kJson, "json")},
                       {});
  core::EventBatch b;
  Event(b, Op::kRead, schema, {}, {"1", "{\"x\":1}"});
  Event(b, Op::kCreate, schema, {}, {"1", "{\"x\":1}"});
  Event(b, Op::kCreate, schema, {}, {"2", kNull});
  Event(b, Op::kUpdate, schema, {"1", "{\"x\":1}"}, {"1", "{\"x\":2}"});
  Event(b, Op::kDelete, schema, {"2", kNull}, {});
  core::Sink& sink = OpenSink();
  WriteAndFlush(sink, b);
  itest::ExpectTablesEqual({{"1", "{\"x\":1}"}, {"1", "{\"x\":2}"}},
                           Query("SELECT a, j::text FROM log"));
}

TEST_F(PgSinkTest, TruncateEmptiesTheTargetTableInOrder) {
  auto schema = Items();
  core::EventBatch b = NumberedRows(schema, Op::kCreate, 0, 10, "x");
  Event(b, Op::kTruncate, schema, {}, {});
  Event(b, Op::kCreate, schema, {}, {"100", "after"});
  core::Sink& sink = OpenSink();
  WriteAndFlush(sink, b);
  itest::ExpectTablesEqual({{"100", "after"}}, Query("SELECT * FROM items"));
}

TEST_F(PgSinkTest, TableNameFormatRenamesTargets) {
  auto schema = Items();
  core::Sink& sink = OpenSink({{"sink.table.name.format", "mirror.${schema}_${table}"}});
  WriteAndFlush(sink, NumberedRows(schema, Op::kRead, 0, 3, "x"));
  itest::ExpectTablesEqual({{"0", "v0"}, {"1", "v1"}, {"2", "v2"}},
                           Query("SELECT * FROM mirror.public_items"));
}

// Deferred primary keys: a table the sink creates for a snapshot is loaded without its key and
// gets it once the snapshot's rows are in (the batch marked last), before any change.
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
}  // namespace sluice::sinks
