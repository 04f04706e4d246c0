// The PostgreSQL sink through the core::Sink interface: exact values of every type, apply order
// for composite keys, key changes, interleaved tables and repeated keys, unchanged TOAST values,
// hostile identifiers, keyless tables, truncates and table renames. Fixture: pg_sink_fixture.h.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "integration/pg_sink/pg_sink_fixture.h"

namespace sluice::sinks::pg_sink_itest {
namespace {

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

// One target transaction over many small batches, as a catching-up stream writes them (a source
// poll is a few dozen events): a table's run of upserts stays open across the batches and is
// sent when it fills a statement or at the commit. Deletes and re-inserts of a key in one batch
// and across batches, key changes, a hot key, extreme values, and a keyless table interleaved
// must end as the source: checked against a model through psql.
TEST_F(PgSinkTest, RunsHeldAcrossTheBatchesOfOneTransactionEndInTheSourceState) {
  auto t = Schema("public", "acct", {Col("id", LogicalType::kInt64, "bigint", 0, 0, 0, false),
                                     Col("v", LogicalType::kString, "text"),
                                     Col("n", LogicalType::kInt64, "bigint")}, {0});
  auto log = Schema("public", "hist", {Col("id", LogicalType::kInt64, "bigint"),
                                       Col("v", LogicalType::kString, "text")}, {});
  const std::vector<std::string> extremes = {"", "it's \"q\" \\ \t\n", "ünïcødé ☃ 𝄞",
                                             std::string(3000, 'x')};
  const std::vector<std::string> numbers = {"-9223372036854775808", "9223372036854775807", "0"};
  std::map<long, std::pair<std::optional<std::string>, std::string>> model;  // id -> (v, n)
  long appended = 0;
  core::Sink& sink = OpenSink();
  int step = 0;
  for (int flush = 0; flush < 2; ++flush) {
    for (int batch_no = 0; batch_no < 40; ++batch_no) {
      core::EventBatch batch;
      for (int i = 0; i < 12; ++i, ++step) {
        const long cold = 1000 + step;  // a new key each step: the run fills 256 rows
        std::optional<std::string> v = step % 5 == 0 ? std::nullopt
                                                     : std::optional(extremes[step % 4]);
        const std::string& n = numbers[step % 3];
        Event(batch, Op::kCreate, t, {},
              {std::to_string(cold), v ? std::string_view(*v) : kNull, n});
        model[cold] = {v, n};
        // The hot key, updated twice in every step: coalesces across the batches, the last row
        // winning.
        Event(batch, Op::kUpdate, t, {}, {"7", "tmp", "-1"});
        Event(batch, Op::kUpdate, t, {}, {"7", "hot" + std::to_string(step), std::to_string(step)});
        model[7] = {"hot" + std::to_string(step), std::to_string(step)};
        Event(batch, Op::kCreate, log, {}, {std::to_string(step), "h"});
        ++appended;
        if (step % 9 == 4) {  // deleted and inserted again in the same batch
          Event(batch, Op::kDelete, t, {std::to_string(cold - 3), kNull, kNull}, {});
          Event(batch, Op::kCreate, t, {}, {std::to_string(cold - 3), "again", "1"});
          model[cold - 3] = {"again", "1"};
        }
        if (step % 11 == 6) {  // deleted here, inserted again in a later batch (step % 11 == 0)
          Event(batch, Op::kDelete, t, {std::to_string(cold - 5), kNull, kNull}, {});
          model.erase(cold - 5);
        }
        if (step % 11 == 0 && step >= 11) {
          Event(batch, Op::kCreate, t, {}, {std::to_string(cold - 10), "back", "2"});
          model[cold - 10] = {"back", "2"};
        }
        if (step % 13 == 12) {  // a key change: the old row takes the new key
          const long from = cold - 1, to = 500000 + step;
          if (model.count(from) > 0 && model.count(to) == 0) {
            Event(batch, Op::kUpdate, t, {std::to_string(from), "x", "0"},
                  {std::to_string(to), "moved", "3"});
            model.erase(from);
            model[to] = {"moved", "3"};
          }
        }
      }
      batch.set_checkpoint({"p" + std::to_string(step)});
      ASSERT_TRUE(sink.Write(batch).ok());
    }
    ASSERT_TRUE(sink.Flush().ok());
  }
  itest::SqlRows want;
  for (const auto& [id, row] : model) want.push_back({std::to_string(id), row.first, row.second});
  itest::ExpectTablesEqual(want, Query("SELECT id::text, v, n::text FROM acct"));
  EXPECT_EQ(Value("SELECT count(*) FROM hist"), std::to_string(appended));
  EXPECT_EQ(Value("SELECT count(DISTINCT id) FROM hist"), std::to_string(appended));
  EXPECT_EQ(Value("SELECT position FROM sluice_offsets"), "p" + std::to_string(step));
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

}  // namespace
}  // namespace sluice::sinks::pg_sink_itest
