// Zero dates (issue #22): '0000-00-00', a zero TIMESTAMP and dates with a zero month or day
// ('2024-00-15', stored when sql_mode lacks NO_ZERO_DATE / NO_ZERO_IN_DATE) have no exact image
// in any target. Under the default zero.date.handling.mode=fail the snapshot and the stream stop
// naming the table, the row (its key; the stream also the binlog position), the column, the
// value and the fix, and nothing of the refused row reaches the target; under `null` they arrive
// as NULL (Debezium's behaviour) and are logged; any other value is refused by validate.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "integration/common/itest.h"
#include "integration/mysql/mariadb_to_pg_fixture.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

// The session lets the server store zero dates (the default sql_mode refuses them).
constexpr const char* kLaxSession =
    "SET time_zone = '+00:00';"
    "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';";

class MariadbZeroDatesTest : public MariadbToPgFixture {
 protected:
  MariadbZeroDatesTest() : MariadbToPgFixture("zd") {}

  void CreateTable() {
    my_.Exec(std::string(kLaxSession) +
             "CREATE TABLE zd (id INT PRIMARY KEY, d DATE, dt DATETIME(3), ts TIMESTAMP NULL)");
  }

  // Waits until sluice has stopped and returns what it printed.
  std::string WaitForExit() {
    auto status = sluice_->WaitFor(60s);
    EXPECT_TRUE(status.has_value()) << "sluice kept running after the refusal\n"
                                    << sluice_->LogTail();
    return sluice_->Stderr() + sluice_->Stdout();
  }

  static void ExpectNamesTheFix(const std::string& text) {
    EXPECT_NE(text.find("set zero.date.handling.mode=null"), std::string::npos) << text;
    EXPECT_NE(text.find("column.exclude.list"), std::string::npos) << text;
  }

  std::string TargetIds() {
    SqlResult r = pg_.TryQuery("SELECT string_agg(id::text, ',' ORDER BY id) FROM " + Target("zd"));
    if (!r.ok || r.rows.empty() || !r.rows[0][0]) return "";
    return *r.rows[0][0];
  }
};

TEST_F(MariadbZeroDatesTest, SnapshotStopsNamingTableKeyColumnAndValueByDefault) {
  CreateTable();
  my_.Exec(std::string(kLaxSession) +
           "INSERT INTO zd VALUES (1, '2024-02-29', '2024-02-29 10:00:00.5',"
           " '2000-01-01 00:00:00'), (7, '2024-00-15', NULL, NULL)");
  CommandResult r = SluiceProcess::RunToCompletion("run", Config(), 90s);
  EXPECT_FALSE(r.Success()) << "the snapshot emitted a zero date:\n" << r.err << r.out;
  const std::string text = r.err + r.out;
  EXPECT_NE(text.find(my_db_ + ".zd"), std::string::npos) << text;
  EXPECT_NE(text.find("column d of the row with id=7"), std::string::npos) << text;
  EXPECT_NE(text.find("holds the date '2024-00-15'"), std::string::npos) << text;
  ExpectNamesTheFix(text);
  SqlResult rows = pg_.TryQuery("SELECT count(*) FROM " + Target("zd") + " WHERE id = 7");
  if (rows.ok) {
    EXPECT_EQ(rows.rows[0][0].value_or(""), "0") << "the refused row reached the target";
  }
  // Excluding the column is one of the fixes the message names: the same data then flows.
  auto config = Config();
  config["column.exclude.list"] = my_db_ + "\\.zd\\.d";
  sluice_.emplace(SluiceProcess::Run(config));
  WaitForMatch("SELECT id, CAST(dt AS CHAR) FROM zd",
               "SELECT id::text, to_char(dt, 'YYYY-MM-DD HH24:MI:SS.MS') FROM " + Target("zd"));
}

TEST_F(MariadbZeroDatesTest, StreamStopsNamingTableKeyPositionColumnAndValueByDefault) {
  CreateTable();
  my_.Exec(std::string(kLaxSession) + "INSERT INTO zd VALUES (1, '2024-02-29', NULL, NULL)");
  StartSluice();
  WaitForRows("zd", 1);
  // A valid streamed row first, then the zero TIMESTAMP.
  my_.Exec(std::string(kLaxSession) + "INSERT INTO zd VALUES (2, '2024-03-01', NULL, NULL)");
  WaitForRows("zd", 2);
  my_.Exec(std::string(kLaxSession) +
           "INSERT INTO zd VALUES (3, '2024-03-02', NULL, '0000-00-00 00:00:00')");
  const std::string text = WaitForExit();
  EXPECT_NE(text.find("row of " + my_db_ + ".zd with id=3 column ts at binlog "), std::string::npos)
      << text;
  EXPECT_NE(text.find("holds the date '0000-00-00 00:00:00'"), std::string::npos) << text;
  ExpectNamesTheFix(text);
  EXPECT_EQ(TargetIds(), "1,2") << "row 3 must not reach the target, row 2 must";
  // A restart meets the same row again and stops again: never skipped.
  sluice_->Restart();
  const std::string again = WaitForExit();
  EXPECT_NE(again.find("holds the date '0000-00-00 00:00:00'"), std::string::npos) << again;
  EXPECT_EQ(TargetIds(), "1,2");
}

TEST_F(MariadbZeroDatesTest, NullModeEmitsNullInSnapshotAndStreamAndLogsIt) {
  CreateTable();
  my_.Exec(std::string(kLaxSession) +
           "INSERT INTO zd VALUES (1, '0000-00-00', '2024-00-15 01:02:03', '0000-00-00 00:00:00'),"
           " (2, '2024-02-29', '2024-02-29 10:00:00.5', '2000-01-01 00:00:00')");
  auto config = Config();
  config["zero.date.handling.mode"] = "null";
  sluice_.emplace(SluiceProcess::Run(config));
  // A zero date's source text starts "0000" or has "-00" as month or day: NULL in the target.
  const std::string my_sql =
      "SET time_zone = '+00:00';"
      "SELECT id, IF(CAST(d AS CHAR) LIKE '%-00%', NULL, CAST(d AS CHAR)),"
      " IF(LEFT(CAST(dt AS CHAR), 10) LIKE '%-00%', NULL, CAST(dt AS CHAR)),"
      " IF(LEFT(CAST(ts AS CHAR), 10) LIKE '%-00%', NULL, CAST(ts AS CHAR)) FROM zd";
  const std::string pg_sql =
      "SELECT id::text, d::text, to_char(dt, 'YYYY-MM-DD HH24:MI:SS.MS'),"
      " to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM " + Target("zd");
  WaitForMatch(my_sql, pg_sql);
  my_.Exec(std::string(kLaxSession) +
           "INSERT INTO zd VALUES (3, '2024-03-00', '0000-00-00 00:00:00', NULL);"
           "UPDATE zd SET d = '0000-00-00' WHERE id = 2");
  WaitForMatch(my_sql, pg_sql);
  SqlRows nulls = pg_.Query("SELECT count(*) FROM " + Target("zd") +
                            " WHERE d IS NULL AND dt IS NULL");
  EXPECT_EQ(nulls[0][0].value_or(""), "2");  // rows 1 and 3 (both columns zero)
  EXPECT_NE(sluice_->LogTail(400).find("zero.date.handling.mode=null"), std::string::npos)
      << "zero dates made NULL must be logged\n" << sluice_->LogTail(400);
}

TEST_F(MariadbZeroDatesTest, UnknownModeIsRefusedByValidateNamingTheAcceptedValues) {
  auto config = Config();
  config["zero.date.handling.mode"] = "skip";
  CommandResult r = SluiceProcess::RunToCompletion("validate", config, 60s);
  EXPECT_FALSE(r.Success());
  const std::string text = r.err + r.out;
  EXPECT_NE(text.find("zero.date.handling.mode must be one of fail, null"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace sluice::itest
