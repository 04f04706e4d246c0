// PostgreSQL -> PostgreSQL value fidelity with the sluice binary, through the snapshot and the
// stream: arrays with explicit lower bounds (once dropped: v[0] was NULL at the target), box[]
// (printed with ';' between elements: once split on commas and refused as a malformed array
// literal), enum[] and domain[] columns whose element type only the array names (once
// `type "mood[]" does not exist`), and keyless tables with point, xml, box and point[] columns
// (no equality operator: once `operator does not exist: point = unknown` on the first UPDATE).
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "integration/common/itest.h"
#include "integration/pg_sink/pg_to_pg_fixture.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

class PgToPgValuesTest : public PgToPgFixture {
 protected:
  PgToPgValuesTest() : PgToPgFixture("p2pv") {}

  void WaitForMatch(const std::string& sql) {
    WaitUntil(
        [&] {
          if (!sluice_->IsRunning()) throw HarnessError("sluice exited:\n" + sluice_->LogTail());
          SqlResult target = dst_.TryQuery(sql);
          return target.ok && static_cast<bool>(TablesMatch(src_.Query(sql), target.rows));
        },
        60s, "target equals source: " + sql, 200ms);
  }
};

TEST_F(PgToPgValuesTest, ArrayBoundsBoxArraysEnumAndDomainArrays) {
  src_.Exec(
      "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');"
      "CREATE DOMAIN posint AS int CHECK (VALUE > 0);"
      "CREATE TABLE arr (id int PRIMARY KEY, a int[], m int[], bx box[], moods mood[],"
      " d posint[], t text[], big text);"
      "ALTER TABLE arr ALTER COLUMN big SET STORAGE EXTERNAL;"
      "INSERT INTO arr VALUES (1, '[0:2]={7,8,9}', '[0:1][-1:0]={{1,2},{3,4}}',"
      " ARRAY[box '(1,1),(0,0)', box '(3,3),(2,2)', NULL], '{sad,happy}', '{1,2}',"
      " '[2:3]={\"a,b\",NULL}', repeat(md5('x'), 400)),"
      " (2, '{1}', '{{1},{2}}', '{}', '{}', NULL, '{\"NULL\"}', NULL)");
  // The array's text carries its bounds; array_lower checks them by value.
  const std::string sql =
      "SELECT id, a::text, m::text, bx::text, moods::text, d::text, t::text, md5(big),"
      " array_lower(a, 1), array_lower(m, 2), a[0] FROM public.arr";
  StartSluice();
  WaitForMatch(sql);
  // Streamed: new rows, a whole-row update, and a single-column update next to a TOASTed value.
  src_.Exec(
      "INSERT INTO arr VALUES (3, '[-5:-4]={1,2}', '[1:1][3:4]={{5,6}}',"
      " ARRAY[box '(0,0),(-1,-1)'], '{ok}', '[0:0]={9}', '[0:0]={x}', NULL);"
      "UPDATE arr SET a = '[5:5]={1}', bx = ARRAY[box '(9,9),(8,8)'] WHERE id = 1;"
      "UPDATE arr SET moods = '{happy,sad,ok}', d = '[3:4]={3,4}' WHERE id = 2;");
  WaitForMatch(sql);
  ExpectTablesEqual({{"box[]"}, {"integer[]"}, {"mood[]"}},
                    dst_.Query("SELECT DISTINCT format_type(atttypid, atttypmod) FROM pg_attribute"
                               " WHERE attrelid = 'public.arr'::regclass AND attname IN"
                               " ('bx', 'd', 'moods') ORDER BY 1"));
}

TEST_F(PgToPgValuesTest, KeylessTablesWithTypesWithoutEqualityApplyUpdatesAndDeletes) {
  src_.Exec(
      "CREATE TABLE geo (p point, x xml, j json, b box, ps point[], n int);"
      "ALTER TABLE geo REPLICA IDENTITY FULL;"
      "INSERT INTO geo VALUES ('(1,2)', '<a>1</a>', '{\"k\": 1}', '(1,1),(0,0)',"
      " '{\"(1,2)\",\"(3.5,4)\"}', 1), ('(0.1,-2.5)', '<b/>', '[]', '(2,2),(1,1)', NULL, 2),"
      " ('(1,2)', '<a>1</a>', '{\"k\": 1}', '(1,1),(0,0)', '{\"(1,2)\",\"(3.5,4)\"}', 3)");
  const std::string sql = "SELECT p::text, x::text, j::text, b::text, ps::text, n FROM geo";
  StartSluice();
  WaitForMatch(sql);
  src_.Exec("UPDATE geo SET n = 10 WHERE n = 1;"
            "UPDATE geo SET p = '(7,7)' WHERE n = 2;"
            "DELETE FROM geo WHERE n = 3;");
  WaitForMatch(sql);
  EXPECT_EQ(dst_.QueryValue("SELECT count(*) FROM public.geo"), "2");
}

// Stored generated columns are not in pgoutput's rows: the target recreates them with the
// source's expression (once they were missing from the target without a word), through the
// snapshot and the stream, and the log says that other targets do not get them.
TEST_F(PgToPgValuesTest, GeneratedColumnsAreRecreatedAtThePostgresTarget) {
  src_.Exec(
      "CREATE TABLE gen (id int PRIMARY KEY, a int, b text,"
      " doubled int GENERATED ALWAYS AS (a * 2) STORED,"
      " label text GENERATED ALWAYS AS (upper(b) || ':' || a) STORED);"
      "INSERT INTO gen (id, a, b) VALUES (1, 21, 'x'), (2, NULL, 'y')");
  const std::string sql = "SELECT id, a, b, doubled, label FROM public.gen";
  StartSluice();
  WaitForMatch(sql);
  src_.Exec("INSERT INTO gen (id, a, b) VALUES (3, 5, 'z'); UPDATE gen SET a = 100 WHERE id = 1");
  WaitForMatch(sql);
  ExpectTablesEqual({{"doubled", "(a * 2)"}, {"label", "((upper(b) || ':'::text) || a)"}},
                    dst_.Query("SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute"
                               " a JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
                               " WHERE a.attrelid = 'public.gen'::regclass AND a.attgenerated = 's'"
                               " ORDER BY 1"));
  EXPECT_NE(sluice_->LogTail(200).find("public.gen: generated columns (doubled, label) are not in "
                                       "the change events"),
            std::string::npos)
      << sluice_->LogTail(200);
}

// A column whose type the target lacks (here a composite type) stops the sync naming the table,
// the column and the ways past it, without the "current transaction is aborted" warning that
// once followed; column.exclude.list then gets past it.
TEST_F(PgToPgValuesTest, ColumnOfATypeTheTargetLacksIsNamedAndCanBeExcluded) {
  src_.Exec(
      "CREATE TYPE pair AS (a int, b text);"
      "CREATE TABLE t1 (id int PRIMARY KEY, p pair, v text);"
      // Created (with its key deferred past the snapshot load) before t1 fails.
      "CREATE TABLE a0 (id int PRIMARY KEY, v text);"
      "INSERT INTO a0 VALUES (1, 'z');"
      "CREATE TABLE t2 (id int PRIMARY KEY, v text);"
      "INSERT INTO t1 VALUES (1, ROW(1, 'x'), 'a'), (2, NULL, 'b');"
      "INSERT INTO t2 VALUES (1, 'c')");
  nlohmann::json config = {{"name", "p2pv_sync"},
                           {"connector.class", "postgres"},
                           {"database.hostname", src_.host()},
                           {"database.port", std::to_string(src_.port())},
                           {"database.user", src_.user()},
                           {"database.dbname", src_db_},
                           {"slot.name", "p2pv_" + src_db_},
                           {"publication.name", "p2pv_" + src_db_},
                           {"sink.type", "postgres"},
                           {"sink.url", dst_.Url()}};
  CommandResult failed = SluiceProcess::RunToCompletion("sync", config, 60s);
  ASSERT_FALSE(failed.Success()) << failed.out << failed.err;
  const std::string output = failed.out + failed.err;
  EXPECT_NE(output.find("\"public\".\"t1\": column p has type pair, which the target database "
                        "does not have"),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("column.exclude.list (public.t1.p)"), std::string::npos) << output;
  EXPECT_EQ(output.find("current transaction is aborted"), std::string::npos) << output;
  config["column.exclude.list"] = "public\\.t1\\.p";
  CommandResult synced = SluiceProcess::RunToCompletion("sync", config, 60s);
  ASSERT_TRUE(synced.Success()) << synced.out << synced.err;
  ExpectTablesEqual(src_.Query("SELECT id, v FROM public.t1"),
                    dst_.Query("SELECT id, v FROM public.t1"));
  for (const char* table : {"public.t2", "public.a0"}) {
    ExpectTablesEqual(src_.Query(std::string("SELECT id, v FROM ") + table),
                      dst_.Query(std::string("SELECT id, v FROM ") + table));
  }
  EXPECT_EQ(dst_.QueryValue("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                            "'t1' AND column_name = 'p'"),
            "0");
}

}  // namespace
}  // namespace sluice::itest
