// The PostgreSQL sink recovering: the offset commits with the rows and a reset discards both; a
// killed connection and a deadlock with an outside session are retried; a rejected row fails
// naming table, key and reason, also when it sits in a multi-row statement.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "integration/pg_sink/pg_sink_fixture.h"

namespace sluice::sinks::pg_sink_itest {
namespace {

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
  // Row 1 deleted and inserted again: the insert after the delete sends the delete at once
  // (a run of changes is otherwise held until it fills a statement or the commit).
  Event(b1, Op::kDelete, schema, {"1", "a1"}, {});
  Event(b1, Op::kCreate, schema, {}, {"1", "sink one"});
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

}  // namespace
}  // namespace sluice::sinks::pg_sink_itest
