// MariaDB -> file sink with the sluice binary: the JSON-lines (Debezium envelopes) are replayed
// by key and compared with the source through the one comparator; and start-up errors that the
// operator must fix are reported clearly.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <string>

#include "integration/common/itest.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

// Base64 (as the envelope carries bytes) -> upper-case hex (as MySQL's HEX() prints them).
std::string Base64ToHex(const std::string& b64) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static const char kHex[] = "0123456789ABCDEF";
  std::string hex;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : b64) {
    if (c == '=') break;
    size_t v = kAlphabet.find(c);
    if (v == std::string::npos) throw HarnessError("not base64: " + b64);
    acc = acc << 6 | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      unsigned byte = (acc >> bits) & 0xFF;
      hex += kHex[byte >> 4];
      hex += kHex[byte & 15];
    }
  }
  return hex;
}

// "YYYY-MM-DD" of days since 1970-01-01 (Howard Hinnant's civil_from_days).
std::string CivilDate(int64_t days) {
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[72];  // room for any int64 year, so the compiler sees no truncation
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d));
  return buf;
}

// [-]HH:MM:SS[.f] with `fsp` fraction digits, as MySQL's CAST(time AS CHAR) prints a duration.
std::string Duration(int64_t micros, int fsp) {
  std::string sign = micros < 0 ? "-" : "";
  uint64_t u = static_cast<uint64_t>(micros < 0 ? -micros : micros);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%02llu:%02llu:%02llu", sign.c_str(),
                static_cast<unsigned long long>(u / 3600000000ULL),
                static_cast<unsigned long long>(u / 60000000ULL % 60),
                static_cast<unsigned long long>(u / 1000000ULL % 60));
  std::string out = buf;
  if (fsp > 0) {
    std::snprintf(buf, sizeof buf, "%06llu", static_cast<unsigned long long>(u % 1000000ULL));
    out += "." + std::string(buf, static_cast<size_t>(fsp));
  }
  return out;
}

class MariadbToFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = CreateScratchMysqlDatabase("my2file");
    my_ = MysqlClient(db_);
    std::random_device rd;
    server_id_ = 100000 + rd() % 1000000;
  }
  void TearDown() override {
    if (sluice_) sluice_->Kill();
    sluice_.reset();
    DropMysqlDatabase(db_);
  }

  nlohmann::json Config(const std::string& out_dir) const {
    return {{"name", "my2file_" + db_},
            {"connector.class", "io.debezium.connector.mysql.MySqlConnector"},
            {"database.hostname", TestEnv::MysqlHost()},
            {"database.port", std::to_string(TestEnv::MysqlPort())},
            {"database.user", kPasswordUser},
            {"database.password", kTestPassword},
            {"database.server.id", std::to_string(server_id_)},
            {"database.include.list", db_},
            {"heartbeat.interval.ms", "200"},
            {"sink.type", "file"},
            {"sink.url", out_dir},
            // Replaying the file needs the truncates (Debezium's default, t, drops them).
            {"skipped.operations", "none"},
            {"sink.batch.ms", "100"}};
  }

  // How one envelope value is printed as the source SQL prints it.
  using Render = std::function<SqlValue(const nlohmann::json&)>;

  // Replays <dir>/<db>.items.jsonl by key: r/c/u set the row, d erases it, t clears the table.
  // Values are printed as the source SQL prints them (envelope encodings: decimal as a string,
  // date as epoch days, bytes as base64).
  SqlRows Replay(const std::filesystem::path& dir) const {
    return ReplayTable(dir, "items", {{"id", Text}, {"name", Text}, {"amt", Text}, {"d", Text},
                                      {"b", Text}});
  }

  static SqlValue Text(const nlohmann::json& v) {
    if (v.is_null()) return std::nullopt;
    if (v.is_string()) return v.get<std::string>();
    return v.dump();
  }

  // Replays <dir>/<db>.<table>.jsonl by the integer key "id" into rows of `columns`.
  SqlRows ReplayTable(const std::filesystem::path& dir, const std::string& table,
                      const std::vector<std::pair<std::string, Render>>& columns) const {
    std::ifstream in(dir / (db_ + "." + table + ".jsonl"));
    std::map<int64_t, SqlRow> rows;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto e = nlohmann::json::parse(line);
      if (e.is_null()) continue;  // tombstone
      std::string op = e.value("op", "");
      if (op == "t") {
        rows.clear();
      } else if (op == "d") {
        rows.erase(e["before"]["id"].get<int64_t>());
      } else {
        const auto& a = e["after"];
        SqlRow row;
        for (const auto& [name, render] : columns) {
          row.push_back(a.contains(name) ? render(a[name]) : SqlValue("<missing " + name + ">"));
        }
        rows[a["id"].get<int64_t>()] = std::move(row);
      }
    }
    SqlRows out;
    for (auto& [k, r] : rows) out.push_back(r);
    return out;
  }

  static constexpr const char* kSourceSql =
      "SELECT id, name, CAST(amt AS CHAR), DATEDIFF(d, '1970-01-01'), TO_BASE64(b) FROM items";

  std::string db_;
  MysqlClient my_;
  uint32_t server_id_ = 0;
  std::optional<SluiceProcess> sluice_;
};

TEST_F(MariadbToFileTest, JsonLinesReplayEqualsSourceAfterSnapshotStreamAndTruncate) {
  my_.Exec("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20) CHARACTER SET utf8mb4,"
           " amt DECIMAL(10,2), d DATE, b VARBINARY(8));"
           "INSERT INTO items VALUES (1, 'a', 1.50, '2024-02-03', X'00FF'), (2, 'b', NULL, NULL, NULL),"
           " (3, 'caf\xC3\xA9', -3.25, '1969-12-31', X'');");
  TempDir out;
  sluice_.emplace(SluiceProcess::Run(Config(out.path().string())));
  my_.Exec("INSERT INTO items VALUES (4, 'd', 4, '2000-01-01', X'01');"
           "UPDATE items SET name = 'bb', amt = 2.00 WHERE id = 2; DELETE FROM items WHERE id = 1;");
  WaitUntil([&] { return TablesMatch(my_.Query(kSourceSql), Replay(out.path())); }, 60s,
            "replayed JSON lines equal the source", 200ms);
  my_.Exec("TRUNCATE TABLE items; INSERT INTO items VALUES (9, 'z', 9.99, '2030-06-30', X'AB');");
  WaitUntil([&] { return TablesMatch(my_.Query(kSourceSql), Replay(out.path())); }, 60s,
            "replayed JSON lines equal the source after TRUNCATE", 200ms);
  ExpectTablesEqual(my_.Query(kSourceSql), Replay(out.path()));
}

// MariaDB INET6, INET4 and UUID in the envelope: exactly the text the server prints, through
// the snapshot (the server's text) and the binlog (16 raw bytes, decoded the server's way,
// including its single-group "::" and the ::ffff:a.b.c.d form), which PostgreSQL's inet would
// normalise away; and FLOAT values needing nine digits.
TEST_F(MariadbToFileTest, Inet6AndUuidAreTheServersTextInSnapshotAndBinlog) {
  const std::string values =
      " VALUES (%1, '1::2:3:4:5:6:7', '10.0.0.1', '6ccd780c-baba-1026-9564-5b8c656024db', 16777216),"
      " (%2, '::ffff:1.2.3.4', NULL, 'ff80c328-9fc3-28ff-80c3-28ff80c328ff', 3.1415927),"
      " (%3, '4141:4141:4141:4141:4141:4141:4141:4141', '0.0.0.0', NULL, 123456792),"
      " (%4, '1:0:0:2::3', NULL, NULL, NULL), (%5, '::1.2.3.4', NULL, NULL, NULL)";
  auto rows = [&](int base) {
    std::string v = values;
    for (int i = 1; i <= 5; ++i) {
      v.replace(v.find("%" + std::to_string(i)), 2, std::to_string(base + i));
    }
    return "INSERT INTO addr" + v;
  };
  my_.Exec("CREATE TABLE addr (id INT PRIMARY KEY, i6 INET6, i4 INET4, u UUID, f FLOAT);" + rows(0));
  const std::string source_sql =
      "SELECT id, CAST(i6 AS CHAR), CAST(i4 AS CHAR), CAST(u AS CHAR),"
      " CAST(ROUND(f) AS CHAR) FROM addr";
  auto replay = [&](const std::filesystem::path& dir) {
    return ReplayTable(dir, "addr", {{"id", Text}, {"i6", Text}, {"i4", Text}, {"u", Text},
                                     {"f", [](const nlohmann::json& v) -> SqlValue {
                                        if (v.is_null()) return std::nullopt;
                                        // The float32's shortest text, as a JSON number.
                                        return std::to_string(std::llround(v.get<double>()));
                                      }}});
  };
  TempDir out;
  sluice_.emplace(SluiceProcess::Run(Config(out.path().string())));
  WaitUntil([&] { return TablesMatch(my_.Query(source_sql), replay(out.path())); }, 60s,
            "the snapshot's rows in the file", 200ms);
  my_.Exec(rows(100));
  WaitUntil([&] { return TablesMatch(my_.Query(source_sql), replay(out.path())); }, 60s,
            "the binlog's rows in the file", 200ms);
  SqlRows replayed = replay(out.path());
  ASSERT_EQ(replayed.size(), 10u);
  // Snapshot row 1 and binlog row 101, the same values: the same text, the server's.
  EXPECT_EQ(replayed[0][1], SqlValue("1::2:3:4:5:6:7"));
  EXPECT_EQ(replayed[5][1], SqlValue("1::2:3:4:5:6:7"));
  EXPECT_EQ(replayed[6][1], SqlValue("::ffff:1.2.3.4"));
  EXPECT_EQ(replayed[6][3], SqlValue("ff80c328-9fc3-28ff-80c3-28ff80c328ff"));
  // FLOAT: the exact float, not the text protocol's six digits (123457000).
  std::ifstream in(out.path() / (db_ + ".addr.jsonl"));
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all.find("123457000"), std::string::npos) << all;
  EXPECT_EQ(all.find("16777200"), std::string::npos) << all;
}

// The type matrix's edge values through the snapshot and then the binlog, as Debezium-style
// JSON: bytes (GEOMETRY, BIT(10), BINARY(4) right-padded, LONGBLOB) as base64, MEDIUMINT as
// numbers, MariaDB JSON and DECIMAL(65,30) and BIGINT UNSIGNED max as strings, TIME as
// microseconds (MicroTime), DATETIME as epoch microseconds, TIMESTAMP as ISO-8601 UTC, DATE as
// epoch days, zero dates as null (zero.date.handling.mode=null). Each is printed back as the
// source prints it.
TEST_F(MariadbToFileTest, TypeMatrixEdgeValuesReplayEqualsSourceAfterSnapshotAndStream) {
  const std::string session =
      "SET time_zone = '+00:00';"
      "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';";
  my_.Exec(session +
           "CREATE TABLE edge (id INT PRIMARY KEY, j JSON, g GEOMETRY, b10 BIT(10), mi MEDIUMINT,"
           " miu MEDIUMINT UNSIGNED, bn BINARY(4), tt TINYTEXT, mt MEDIUMTEXT, lb LONGBLOB,"
           " t3 TIME(3), tneg TIME, tbig TIME(1), c100 CHAR(100), dt3 DATETIME(3), dt6 DATETIME(6),"
           " ts1 TIMESTAMP(1) NULL, ts6 TIMESTAMP(6) NULL, dec65 DECIMAL(65,30), biu BIGINT UNSIGNED,"
           " dz DATE, dtz DATETIME) CHARACTER SET utf8mb4");
  auto rows = [](int base) {
    std::string a = std::to_string(base + 1), b = std::to_string(base + 2),
                c = std::to_string(base + 3);
    return "(" + a + ", '{\"k\": [1, \"\xC3\xA9\"]}', ST_GeomFromText('POINT(1 2)', 4326),"
           " b'1010101010', -8388608, 16777215, X'AB00', 'tiny \xC3\xA9', REPEAT('m\xC3\xA9', 40000),"
           " X'DEADBEEF00', '12:34:56.789', '-838:59:58', '100:00:00.5',"
           " CONCAT(REPEAT('\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80', 33), 'x'),"
           " '2024-01-02 03:04:05.123', '1969-12-31 23:59:59.999999', '2024-01-02 03:04:05.1',"
           " '2038-01-19 03:14:07.999999',"
           " -12345678901234567890123456789012345.123456789012345678901234567890,"
           " 18446744073709551615, '0000-00-00', '0000-00-00 00:00:00'),"
           "(" + b + ", '[]', ST_GeomFromText('LINESTRING(0 0, 1 1)'), b'0000000001', 8388607, 0,"
           " X'', '', '', X'', '00:00:00', '-00:00:00.000001', '24:00:00', 'a',"
           " '1000-01-01 00:00:00', '9999-12-31 23:59:59.999999', '1970-01-01 00:00:01',"
           " '2000-02-29 12:00:00.000001', 0.000000000000000000000000000001, 0, '2024-02-29',"
           " '2024-00-15 00:00:00'),"
           "(" + c + ", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
           " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)";
  };
  my_.Exec(session + "INSERT INTO edge VALUES " + rows(0));
  auto hex = [](const nlohmann::json& v) -> SqlValue {
    if (v.is_null()) return std::nullopt;
    return Base64ToHex(v.get<std::string>());
  };
  // MicroTime, negative and beyond 24 h included (as Debezium sends MySQL TIME): a string here
  // is a failure.
  auto time = [](int fsp) {
    return [fsp](const nlohmann::json& v) -> SqlValue {
      if (v.is_null()) return std::nullopt;
      if (!v.is_number_integer()) return "not MicroTime: " + v.dump();
      return Duration(v.get<int64_t>(), fsp);
    };
  };
  auto datetime = [](int fsp) {
    return [fsp](const nlohmann::json& v) -> SqlValue {
      if (v.is_null()) return std::nullopt;
      int64_t micros = v.get<int64_t>();
      int64_t day_micros = 86400000000LL;
      int64_t days = micros >= 0 ? micros / day_micros : -((-micros + day_micros - 1) / day_micros);
      return CivilDate(days) + " " + Duration(micros - days * day_micros, fsp);
    };
  };
  // ISO-8601 UTC ("2024-01-02T03:04:05.1Z", trailing fraction zeros dropped) -> the source's
  // "2024-01-02 03:04:05.1" with exactly `fsp` digits.
  auto iso_utc = [](int fsp) {
    return [fsp](const nlohmann::json& v) -> SqlValue {
      if (v.is_null()) return std::nullopt;
      std::string t = v.get<std::string>();
      if (t.size() < 20 || t[10] != 'T' || t.back() != 'Z') return "<not ISO UTC: " + t + ">";
      t[10] = ' ';
      t.pop_back();
      std::string frac = t.size() > 19 ? t.substr(20) : "";
      t.resize(19);
      if (fsp > 0) t += "." + (frac + std::string(6, '0')).substr(0, static_cast<size_t>(fsp));
      return t;
    };
  };
  auto date = [](const nlohmann::json& v) -> SqlValue {
    if (v.is_null()) return std::nullopt;
    return CivilDate(v.get<int64_t>());
  };
  const std::vector<std::pair<std::string, Render>> columns = {
      {"id", Text}, {"j", Text}, {"g", hex}, {"b10", hex}, {"mi", Text}, {"miu", Text},
      {"bn", hex}, {"tt", Text}, {"mt", Text}, {"lb", hex}, {"t3", time(3)}, {"tneg", time(0)},
      {"tbig", time(1)}, {"c100", Text}, {"dt3", datetime(3)}, {"dt6", datetime(6)},
      {"ts1", iso_utc(1)}, {"ts6", iso_utc(6)}, {"dec65", Text}, {"biu", Text}, {"dz", date},
      {"dtz", datetime(0)}};
  // The source's own text; zero dates and dates with a zero month or day arrive as null.
  const std::string source_sql =
      "SET time_zone = '+00:00';"
      "SELECT id, j, HEX(g), LPAD(HEX(b10 + 0), 4, '0'), mi, miu, HEX(bn), tt, mt, HEX(lb),"
      " CAST(t3 AS CHAR), CAST(tneg AS CHAR), CAST(tbig AS CHAR), c100, CAST(dt3 AS CHAR),"
      " CAST(dt6 AS CHAR), CAST(ts1 AS CHAR), CAST(ts6 AS CHAR), CAST(dec65 AS CHAR), biu,"
      " IF(CAST(dz AS CHAR) LIKE '%-00%', NULL, CAST(dz AS CHAR)),"
      " IF(LEFT(CAST(dtz AS CHAR), 10) LIKE '%-00%', NULL, CAST(dtz AS CHAR)) FROM edge";
  TempDir out;
  auto config = Config(out.path().string());
  config["zero.date.handling.mode"] = "null";
  sluice_.emplace(SluiceProcess::Run(config));
  WaitUntil([&] { return TablesMatch(my_.Query(source_sql), ReplayTable(out.path(), "edge", columns)); },
            60s, "replayed snapshot equals the source", 200ms);
  // Written only after the snapshot is in the file: these come through the binlog.
  my_.Exec(session + "INSERT INTO edge VALUES " + rows(10) +
           "; UPDATE edge SET tneg = '-01:02:03', bn = X'01', c100 = '\xC3\xBC', dec65 = -dec65,"
           " dz = '0000-00-00', ts6 = '2001-02-03 04:05:06.000007' WHERE id = 2");
  WaitUntil([&] { return TablesMatch(my_.Query(source_sql), ReplayTable(out.path(), "edge", columns)); },
            60s, "replayed snapshot and binlog equal the source", 200ms);
  ExpectTablesEqual(my_.Query(source_sql), ReplayTable(out.path(), "edge", columns));
}

TEST_F(MariadbToFileTest, WrongPasswordStopsWithAClearMessage) {
  TempDir out;
  auto config = Config(out.path().string());
  config["database.password"] = "wrong";
  CommandResult r = SluiceProcess::RunToCompletion("run", config, 60s);
  EXPECT_FALSE(r.Success());
  EXPECT_NE((r.err + r.out).find("database.password"), std::string::npos) << r.err << r.out;
}

// heartbeat.action.query: run on the source every heartbeat.interval.ms while streaming (an
// insert into a table the connector does not capture); a query that fails stops the connector
// with the query and the server's error.
TEST_F(MariadbToFileTest, HeartbeatActionQueryRunsWhileStreamingAndItsFailureStopsTheConnector) {
  my_.Exec("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), amt DECIMAL(10,2), d DATE,"
           " b VARBINARY(8)); INSERT INTO items VALUES (1, 'a', 1.50, '2024-02-03', X'00');"
           "CREATE TABLE heartbeat (ts DATETIME(6) NOT NULL)");
  TempDir out;
  auto config = Config(out.path().string());
  config["database.user"] = TestEnv::MysqlUser();  // the CDC user may not insert
  config.erase("database.password");
  config["table.include.list"] = db_ + ".items";
  config["heartbeat.action.query"] = "INSERT INTO " + db_ + ".heartbeat VALUES (NOW(6))";
  sluice_.emplace(SluiceProcess::Run(config));
  WaitUntil([&] { return TablesMatch(my_.Query(kSourceSql), Replay(out.path())); }, 60s,
            "the snapshot arrives", 200ms);
  WaitUntil([&] { return std::stoi(my_.QueryValue("SELECT count(*) FROM heartbeat")) >= 5; }, 30s,
            "the heartbeat query runs every 200 ms; sluice log:\n" + sluice_->LogTail());
  my_.Exec("INSERT INTO items VALUES (2, 'b', 2.00, NULL, NULL)");
  WaitUntil([&] { return TablesMatch(my_.Query(kSourceSql), Replay(out.path())); }, 60s,
            "the stream goes on", 200ms);
  EXPECT_FALSE(std::filesystem::exists(out.path() / (db_ + ".heartbeat.jsonl")));

  my_.Exec("DROP TABLE heartbeat");
  auto exited = sluice_->WaitFor(60s);
  ASSERT_TRUE(exited.has_value()) << "a failing heartbeat query stops the connector";
  EXPECT_FALSE(exited->Success());
  const std::string log = sluice_->Stdout() + sluice_->Stderr();
  EXPECT_NE(log.find("heartbeat.action.query 'INSERT INTO " + db_ + ".heartbeat"),
            std::string::npos) << sluice_->LogTail();
  EXPECT_NE(log.find("doesn't exist"), std::string::npos) << sluice_->LogTail();
}

// snapshot.include.collection.list: the initial snapshot reads only the tables it names; the
// other captured tables are streamed from the snapshot's position on.
TEST_F(MariadbToFileTest, SnapshotIncludeCollectionListSnapshotsOnlyTheTablesItNames) {
  my_.Exec("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), amt DECIMAL(10,2), d DATE,"
           " b VARBINARY(8)); INSERT INTO items VALUES (1, 'a', 1.50, NULL, NULL);"
           "CREATE TABLE other (id INT PRIMARY KEY, name VARCHAR(20));"
           "INSERT INTO other VALUES (1, 'old1'), (2, 'old2'), (3, 'old3')");
  TempDir out;
  auto config = Config(out.path().string());
  config["snapshot.include.collection.list"] = db_ + "\\.items";
  sluice_.emplace(SluiceProcess::Run(config));
  WaitUntil([&] { return TablesMatch(my_.Query(kSourceSql), Replay(out.path())); }, 60s,
            "the snapshot of items arrives", 200ms);
  my_.Exec("INSERT INTO other VALUES (100, 'new'); UPDATE other SET name = 'changed' WHERE id = 1");
  auto other = [&] { return ReplayTable(out.path(), "other", {{"id", Text}, {"name", Text}}); };
  WaitUntil([&] { return other().size() == 2; }, 60s,
            "the streamed changes of the table outside the snapshot list arrive", 200ms);
  ExpectTablesEqual(my_.Query("SELECT id, name FROM other WHERE id IN (1, 100)"), other());
}

}  // namespace
}  // namespace sluice::itest
