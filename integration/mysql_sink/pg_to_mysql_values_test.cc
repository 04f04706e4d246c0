// PostgreSQL -> MariaDB value fidelity with the sluice binary: real (FLOAT) values as row keys
// and in keyless tables (MariaDB compares a FLOAT column as a DOUBLE: `f <=> 0.1` never matched,
// so updates and deletes were silently lost), real's extremes (FLT_MAX's shortest text is a
// double above FLT_MAX, which MariaDB refused), and -0 (MariaDB stores +0: documented).
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "integration/common/itest.h"
#include "integration/mysql_sink/pg_to_mysql_fixture.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

class PgToMysqlValuesTest : public PgToMysqlFixture {
 protected:
  PgToMysqlValuesTest() : PgToMysqlFixture("pg2myv") {}

  void WaitForMatch(const std::string& pg_sql, const std::string& my_sql) {
    WaitUntil(
        [&] {
          if (!sluice_->IsRunning()) throw HarnessError("sluice exited:\n" + sluice_->LogTail());
          SqlResult target = my_.TryQuery(my_sql);
          return target.ok && static_cast<bool>(TablesMatch(pg_.Query(pg_sql), target.rows));
        },
        60s, "target equals source: " + pg_sql, 200ms);
  }
};

// The exact double of a real/FLOAT on each side, printed alike: PostgreSQL's float8 text (+ 0
// turns -0 into 0, as MariaDB stores it), MariaDB's DOUBLE text with "e+" for positive exponents.
std::string PgExact(const std::string& c) { return "(" + c + "::float8 + 0)::text"; }
std::string MyExact(const std::string& c) {
  return "REPLACE(REPLACE(CAST(CAST(" + c + " AS DOUBLE) AS CHAR), 'e', 'e+'), 'e+-', 'e-')";
}

TEST_F(PgToMysqlValuesTest, RealKeysKeylessRowsAndExtremesArriveExact) {
  pg_.Exec(
      "CREATE TABLE fk (k real PRIMARY KEY, v text);"
      "CREATE TABLE nokey (f real, d double precision, t text);"
      "ALTER TABLE nokey REPLICA IDENTITY FULL;"
      "CREATE TABLE ext (id int PRIMARY KEY, f real, d double precision);"
      "INSERT INTO fk VALUES (0.1, 'a'), (3.4028235e38, 'max'), (1e-45, 'tiny'), (2.5, 'b');"
      "INSERT INTO nokey VALUES (0.1, 0.1, 'a'), (3.1415927, 1e308, 'b'), (-0.0::real, -0.0, 'z');"
      "INSERT INTO ext VALUES (1, 3.4028235e38, 1.7976931348623157e308),"
      " (2, -3.4028235e38, -1.7976931348623157e308), (3, 1.1754944e-38, 2.2250738585072014e-308),"
      " (4, 1e-45, 5e-324), (5, 16777216, 123456789012345678), (6, 3.1415927, 0.1),"
      " (7, '-0', '-0'), (8, 123456792, 1e-300)");
  const std::string fk_pg = "SELECT " + PgExact("k") + ", v FROM fk";
  const std::string fk_my = "SELECT " + MyExact("k") + ", v FROM fk";
  const std::string nokey_pg = "SELECT " + PgExact("f") + ", " + PgExact("d") + ", t FROM nokey";
  const std::string nokey_my = "SELECT " + MyExact("f") + ", " + MyExact("d") + ", t FROM nokey";
  const std::string ext_pg = "SELECT id::text, " + PgExact("f") + ", " + PgExact("d") + " FROM ext";
  const std::string ext_my = "SELECT id, " + MyExact("f") + ", " + MyExact("d") + " FROM ext";
  StartSluice();
  WaitForMatch(fk_pg, fk_my);
  WaitForMatch(nokey_pg, nokey_my);
  WaitForMatch(ext_pg, ext_my);
  // Streamed: each of these must find its row by the real value.
  pg_.Exec("UPDATE nokey SET t = 'changed' WHERE f = 0.1::real;"
           "UPDATE nokey SET t = 'pi' WHERE f = 3.1415927::real;"
           "DELETE FROM nokey WHERE t = 'z';"
           "DELETE FROM fk WHERE k = 0.1::real;"
           "UPDATE fk SET v = 'max changed' WHERE k = 3.4028235e38::real;"
           "UPDATE fk SET k = 7.7 WHERE k = 1e-45::real;"
           "INSERT INTO ext VALUES (11, 3.4028235e38, 1e308), (12, -1e-45, '-0');"
           "UPDATE ext SET d = 42 WHERE id = 1;");
  WaitForMatch(fk_pg, fk_my);
  WaitForMatch(nokey_pg, nokey_my);
  WaitForMatch(ext_pg, ext_my);
  ExpectTablesEqual({{"max changed"}, {"b"}, {"tiny"}},
                    my_.Query("SELECT v FROM fk ORDER BY k DESC"));
  ExpectTablesEqual({{"changed"}, {"pi"}}, my_.Query("SELECT t FROM nokey ORDER BY t"));
  // -0 is +0 in MariaDB (its ATAN2(x, -1) is +pi for the stored value): the documented mapping.
  ExpectTablesEqual({{"3.141592653589793", "3.141592653589793"}},
                    my_.Query("SELECT ATAN2(f, -1), ATAN2(d, -1) FROM ext WHERE id = 7"));
}

// Arrays into MariaDB JSON: box[] split on box's ';' delimiter (once on commas:
// ["(1","1)","(0","0);(3",…]), and explicit lower bounds kept as the documented object (once
// dropped, so that v[0] had no counterpart), through the snapshot and the stream.
TEST_F(PgToMysqlValuesTest, BoxArraysAndArrayBoundsArriveAsDocumented) {
  pg_.Exec("CREATE TABLE arr (id int PRIMARY KEY, a int[], bx box[]);"
           "INSERT INTO arr VALUES (1, '[0:2]={7,8,9}',"
           " ARRAY[box '(1,1),(0,0)', box '(3,3),(2,2)'])");
  StartSluice();
  const std::string my_sql = "SELECT id, a, bx FROM arr ORDER BY id";
  auto expected = [](const std::string& id) {
    return SqlRow{id, R"({"lower_bounds":[0],"values":[7,8,9]})",
                  R"x(["(1,1),(0,0)","(3,3),(2,2)"])x"};
  };
  WaitUntil(
      [&] {
        if (!sluice_->IsRunning()) throw HarnessError("sluice exited:\n" + sluice_->LogTail());
        SqlResult r = my_.TryQuery(my_sql);
        return r.ok && r.rows.size() == 1;
      },
      60s, "the snapshot row of arr", 100ms);
  pg_.Exec("INSERT INTO arr VALUES (2, '[0:2]={7,8,9}',"
           " ARRAY[box '(1,1),(0,0)', box '(3,3),(2,2)'])");
  WaitUntil(
      [&] {
        if (!sluice_->IsRunning()) throw HarnessError("sluice exited:\n" + sluice_->LogTail());
        SqlResult r = my_.TryQuery(my_sql);
        return r.ok && r.rows.size() == 2;
      },
      60s, "the streamed row of arr", 100ms);
  ExpectTablesEqual({expected("1"), expected("2")}, my_.Query(my_sql));
}

// MariaDB identifiers are utf8mb3: a table or column name with an emoji cannot exist there. The
// sync stops naming the table (once "Illegal mix of collations" while reading its columns) or
// the column, and table.exclude.list / column.exclude.list get past them.
TEST_F(PgToMysqlValuesTest, NamesMariadbCannotHoldAreRefusedByNameAndCanBeExcluded) {
  pg_.Exec("CREATE TABLE \"t\xF0\x9F\x98\x80\" (id int PRIMARY KEY);"
           "CREATE TABLE cols (id int PRIMARY KEY, \"c\xF0\x9F\x98\x80\" text, v text);"
           "CREATE TABLE plain (id int PRIMARY KEY, v text);"
           "INSERT INTO \"t\xF0\x9F\x98\x80\" VALUES (1);"
           "INSERT INTO cols VALUES (1, 'x', 'a'), (2, NULL, 'b');"
           "INSERT INTO plain VALUES (1, 'p')");
  nlohmann::json config = Config();
  // The column excluded: the table name stops the sync.
  config["column.exclude.list"] = "public\\.cols\\.c.*";
  CommandResult table = SluiceProcess::RunToCompletion("sync", config, 60s);
  ASSERT_FALSE(table.Success()) << table.out << table.err;
  EXPECT_NE((table.out + table.err)
                .find("target table name 't\xF0\x9F\x98\x80' for public.t\xF0\x9F\x98\x80 has "
                      "characters outside the Basic Multilingual Plane"),
            std::string::npos)
      << table.out << table.err;
  // The table excluded: the column name stops the sync.
  config.erase("column.exclude.list");
  config["table.exclude.list"] = "public\\.t.*";
  CommandResult column = SluiceProcess::RunToCompletion("sync", config, 60s);
  ASSERT_FALSE(column.Success()) << column.out << column.err;
  EXPECT_NE((column.out + column.err)
                .find("column 'c\xF0\x9F\x98\x80' of public.cols has characters outside the Basic "
                      "Multilingual Plane"),
            std::string::npos)
      << column.out << column.err;
  config["column.exclude.list"] = "public\\.cols\\.c.*";  // both: the rest is synced
  CommandResult synced = SluiceProcess::RunToCompletion("sync", config, 60s);
  ASSERT_TRUE(synced.Success()) << synced.out << synced.err;
  ExpectTablesEqual({{"1", "a"}, {"2", "b"}}, my_.Query("SELECT id, v FROM cols ORDER BY id"));
  ExpectTablesEqual({{"1", "p"}}, my_.Query("SELECT id, v FROM plain"));
}

}  // namespace
}  // namespace sluice::itest
