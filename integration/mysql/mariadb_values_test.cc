// MariaDB -> PostgreSQL value fidelity with the sluice binary, each value through the snapshot
// and then through the binlog: FLOAT values that need nine significant digits (the text
// protocol prints six), FLT_MAX, FLT_MIN and denormals; INET4, INET6 and UUID (16 raw bytes
// in the binlog, once stored as those bytes: 'AAAA…', or refused by the target when they were
// no UTF-8), which must arrive as the addresses and UUIDs the server prints, in inet and uuid
// columns; and -0 (MariaDB stores +0: documented).
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

#include "integration/common/itest.h"
#include "integration/mysql/mariadb_to_pg_fixture.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

class MariadbValuesTest : public MariadbToPgFixture {
 protected:
  MariadbValuesTest() : MariadbToPgFixture("myvals") {}
};

// The double each FLOAT holds, as text both servers print alike (MariaDB writes "e38",
// PostgreSQL "e+38").
const char* kMyFloatAsDouble =
    "REPLACE(REPLACE(CAST(CAST(f AS DOUBLE) AS CHAR), 'e', 'e+'), 'e+-', 'e-')";

TEST_F(MariadbValuesTest, FloatInet6AndUuidArriveExactThroughSnapshotAndBinlog) {
  my_.Exec(
      "CREATE TABLE v (id INT PRIMARY KEY, f FLOAT, i6 INET6, i4 INET4, u UUID);"
      "CREATE TABLE z (id INT PRIMARY KEY, f FLOAT, d DOUBLE)");
  // Row n and n + 100 (the same values, the second set written only after the snapshot).
  auto rows = [](int base) {
    auto id = [&](int n) { return std::to_string(base + n); };
    return "(" + id(1) + ", 16777216, '4141:4141:4141:4141:4141:4141:4141:4141', '1.2.3.4',"
           " '123e4567-e89b-12d3-a456-426655440000'),"
           "(" + id(2) + ", 3.1415927, '::ffff:1.2.3.4', '255.255.255.255',"
           " '6ccd780c-baba-1026-9564-5b8c656024db'),"  // a version-1 UUID (stored swapped)
           "(" + id(3) + ", 123456792, '1::2:3:4:5:6:7', '0.0.0.0',"
           " 'ff80c328-9fc3-28ff-80c3-28ff80c328ff'),"  // bytes that are no UTF-8
           "(" + id(4) + ", 3.4028234663852886e38, 'ff80:c328:9fff:fe00::c3', NULL,"
           " '00000000-0000-0000-0000-000000000000'),"
           "(" + id(5) + ", -3.4028234663852886e38, '::', NULL, 'ffffffff-ffff-ffff-ffff-ffffffffffff'),"
           "(" + id(6) + ", 1.1754943508222875e-38, '::1.2.3.4', NULL, NULL),"
           "(" + id(7) + ", 1.401298464324817e-45, 'fe80::1', NULL, NULL),"
           "(" + id(8) + ", 0.1, NULL, NULL, NULL),"
           "(" + id(9) + ", -1.5, '::ffff:0.0.0.0', NULL, NULL)";
  };
  my_.Exec("INSERT INTO v VALUES " + rows(0) + "; INSERT INTO z VALUES (1, -0e0, -0e0)");
  StartSluice();
  WaitForRows("v", 9);
  my_.Exec("INSERT INTO v VALUES " + rows(100) + "; INSERT INTO z VALUES (2, -0e0, -0e0)");
  WaitForRows("v", 18);
  WaitForRows("z", 2);
  // FLOAT: the same double in both; and PostgreSQL's real prints the shortest float text.
  ExpectTablesEqual(
      my_.Query(std::string("SELECT id, ") + kMyFloatAsDouble + " FROM v ORDER BY id"),
      pg_.Query("SELECT id::text, f::float8::text FROM " + Target("v") + " ORDER BY id"));
  ExpectTablesEqual({{"1.6777216e+07"}, {"3.1415927"}, {"1.2345679e+08"}, {"1.1754944e-38"},
                     {"1e-45"}},
                    pg_.Query("SELECT f::text FROM " + Target("v") +
                              " WHERE id IN (101, 102, 103, 106, 107) ORDER BY id"));
  // UUID: the canonical text both print. INET4/INET6: the address the server printed, read by
  // PostgreSQL's inet (which prints 1::2:3:4:5:6:7 as 1:0:2:3:4:5:6:7).
  SqlRows my_rows = my_.Query("SELECT id, CAST(i6 AS CHAR), CAST(i4 AS CHAR), CAST(u AS CHAR)"
                              " FROM v ORDER BY id");
  std::string expected = "SELECT id::text, i6::inet::text, i4::inet::text, u FROM (VALUES ";
  for (size_t r = 0; r < my_rows.size(); ++r) {
    if (r > 0) expected += ", ";
    expected += "(" + *my_rows[r][0];
    for (size_t c = 1; c < 4; ++c) {
      expected += my_rows[r][c] ? ", '" + *my_rows[r][c] + "'" : std::string(", NULL");
    }
    expected += ")";
  }
  expected += ") v(id, i6, i4, u) ORDER BY id";
  ExpectTablesEqual(pg_.Query(expected),
                    pg_.Query("SELECT id::text, i6::text, i4::text, u::text FROM " + Target("v") +
                              " ORDER BY id"));
  ExpectTablesEqual({{"f", "real"}, {"i4", "inet"}, {"i6", "inet"}, {"u", "uuid"}},
                    pg_.Query("SELECT column_name, data_type FROM information_schema.columns"
                              " WHERE table_schema = '" + my_db_ + "' AND table_name = 'v'"
                              " AND column_name <> 'id' ORDER BY column_name"));
  // -0: MariaDB stores FLOAT and DOUBLE -0 as +0 (its own ATAN2(f, -1) gives +pi), so +0 is
  // what there is to copy.
  ExpectTablesEqual({{"3.141592653589793", "3.141592653589793"},
                     {"3.141592653589793", "3.141592653589793"}},
                    my_.Query("SELECT ATAN2(f, -1), ATAN2(d, -1) FROM z ORDER BY id"));
  ExpectTablesEqual({{"0", "0"}, {"0", "0"}},
                    pg_.Query("SELECT f::text, d::text FROM " + Target("z") + " ORDER BY id"));
}

}  // namespace
}  // namespace sluice::itest
