// The binlog retention guardrails' pure parts: retained bytes from the needed file on, the
// time-left estimate from the file's last write and the server's expiry, levels and warning
// texts, a purged needed file, the status object's shape, the expiry variables, SHOW BINARY LOGS
// parsing, and BinlogRetention's bookkeeping of what the stream saw.
#include "connectors/mysql/binlog_health.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sluice::mysql {
namespace {

constexpr int64_t kMiB = 1024 * 1024;
constexpr int64_t kGiB = 1024 * kMiB;

BinlogSample Sample(std::vector<BinlogFileInfo> files, int64_t expire_s, int64_t server_unix_s,
                    double at_s = 100) {
  BinlogSample s;
  s.files = std::move(files);
  s.expire_s = expire_s;
  s.server_unix_s = server_unix_s;
  s.at_s = at_s;
  return s;
}

BinlogNeed Need(const std::string& file, uint64_t pos, std::optional<int64_t> last_write = {}) {
  BinlogNeed n;
  n.file = file;
  n.pos = pos;
  n.last_write_unix_s = last_write;
  n.closed = last_write.has_value();
  return n;
}

const std::vector<BinlogFileInfo> kFiles = {
    {"mysql-bin.000007", 100 * kMiB},
    {"mysql-bin.000008", 300 * kMiB},
    {"mysql-bin.000009", 5 * kMiB}};

TEST(BinlogHealth, RetainedBytesAreTheNeededFileAndEveryLaterOne) {
  BinlogSample s = Sample(kFiles, 0, 1'000'000);
  BinlogHealth h = AssessBinlog(s, s, Need("mysql-bin.000008", 4), kGiB);
  EXPECT_EQ(h.retained_bytes, 305 * kMiB - 4) << "written after the committed position";
  EXPECT_EQ(h.kept_bytes, 305 * kMiB) << "the server keeps the needed file whole";
  EXPECT_EQ(h.total_bytes, 405 * kMiB);
  EXPECT_FALSE(h.needed_purged);
  EXPECT_EQ(h.level, BinlogHealthLevel::kOk);
  EXPECT_TRUE(h.warning.empty());
  EXPECT_EQ(h.time_left_s, -1) << "no expiry: files never expire by age";
  EXPECT_EQ(h.growth_bytes_per_s, 0) << "one sample gives no rate";

  h = AssessBinlog(s, s, Need("mysql-bin.000009", 5 * kMiB), 4 * kMiB);
  EXPECT_EQ(h.retained_bytes, 0) << "a caught-up connector is behind by nothing";
  EXPECT_EQ(h.kept_bytes, 5 * kMiB) << "and needs only the newest file";
  EXPECT_EQ(h.level, BinlogHealthLevel::kOk) << "however large the file it reads";
  h = AssessBinlog(s, s, BinlogNeed{}, kGiB);
  EXPECT_EQ(h.retained_bytes, -1) << "nothing needed yet: unknown";
  EXPECT_EQ(h.level, BinlogHealthLevel::kOk);
}

TEST(BinlogHealth, RetainedBytesPastTheThresholdWarnNamingTheFileAndKey) {
  BinlogSample s = Sample(kFiles, 0, 1'000'000);
  BinlogHealth h = AssessBinlog(s, s, Need("mysql-bin.000007", 4), 256 * kMiB);
  EXPECT_EQ(h.level, BinlogHealthLevel::kWarning);
  EXPECT_NE(h.warning.find("mysql-bin.000007"), std::string::npos) << h.warning;
  EXPECT_NE(h.warning.find("binlog.retained.warn.bytes"), std::string::npos) << h.warning;
  EXPECT_NE(h.warning.find("405.0 MiB"), std::string::npos) << h.warning;
  EXPECT_NE(h.warning.find("mysql-bin.000007:4"), std::string::npos) << h.warning;
  EXPECT_EQ(AssessBinlog(s, s, Need("mysql-bin.000007", 4), 0).level, BinlogHealthLevel::kOk)
      << "0 turns the byte warning off";
}

TEST(BinlogHealth, TimeLeftIsTheExpiryPastTheNeededFilesLastWrite) {
  const int64_t now = 1'700'000'000;
  // Closed 20 h ago, expiry 1 day: 4 h left, a warning.
  BinlogSample s = Sample(kFiles, 86400, now);
  BinlogHealth h = AssessBinlog(s, s, Need("mysql-bin.000008", 4, now - 20 * 3600), 0);
  EXPECT_DOUBLE_EQ(h.time_left_s, 4 * 3600);
  EXPECT_EQ(h.level, BinlogHealthLevel::kWarning);
  EXPECT_NE(h.warning.find("may purge binlog mysql-bin.000008"), std::string::npos) << h.warning;
  EXPECT_NE(h.warning.find("4h00m"), std::string::npos) << h.warning;
  EXPECT_NE(h.warning.find("binlog_expire_logs_seconds"), std::string::npos) << h.warning;

  // 10 minutes left: critical; past the expiry: 0, critical.
  h = AssessBinlog(s, s, Need("mysql-bin.000008", 4, now - 86400 + 600), 0);
  EXPECT_DOUBLE_EQ(h.time_left_s, 600);
  EXPECT_EQ(h.level, BinlogHealthLevel::kCritical);
  h = AssessBinlog(s, s, Need("mysql-bin.000008", 4, now - 2 * 86400), 0);
  EXPECT_DOUBLE_EQ(h.time_left_s, 0);
  EXPECT_EQ(h.level, BinlogHealthLevel::kCritical);

  // Closed an hour ago with a 30-day expiry: fine.
  BinlogSample month = Sample(kFiles, 30 * 86400, now);
  EXPECT_EQ(AssessBinlog(month, month, Need("mysql-bin.000008", 4, now - 3600), 0).level,
            BinlogHealthLevel::kOk);
}

TEST(BinlogHealth, TheFileTheServerStillWritesHasAtLeastTheWholeExpiry) {
  BinlogSample s = Sample(kFiles, 3 * 86400, 1'700'000'000);
  BinlogHealth h = AssessBinlog(s, s, Need("mysql-bin.000009", 4), 0);
  EXPECT_DOUBLE_EQ(h.time_left_s, 3 * 86400);
  EXPECT_EQ(h.level, BinlogHealthLevel::kOk);
  // However short the expiry, the file the server still writes is never purged: no warning.
  BinlogSample hour = Sample(kFiles, 1800, 1'700'000'000);
  h = AssessBinlog(hour, hour, Need("mysql-bin.000009", 4), 0);
  EXPECT_DOUBLE_EQ(h.time_left_s, 1800);
  EXPECT_EQ(h.level, BinlogHealthLevel::kOk) << h.warning;
  // A closed file whose last write the stream never saw: unknown, never a guess.
  h = AssessBinlog(s, s, Need("mysql-bin.000008", 4), 0);
  EXPECT_EQ(h.time_left_s, -1);
}

TEST(BinlogHealth, APurgedNeededFileIsCriticalNamingTheFileAndTheFix) {
  BinlogSample s = Sample({{"mysql-bin.000009", 5 * kMiB}}, 0, 1'000'000);
  BinlogHealth h = AssessBinlog(s, s, Need("mysql-bin.000007", 1234), kGiB);
  EXPECT_TRUE(h.needed_purged);
  EXPECT_EQ(h.level, BinlogHealthLevel::kCritical);
  EXPECT_EQ(h.retained_bytes, -1);
  EXPECT_NE(h.warning.find("binlog mysql-bin.000007"), std::string::npos) << h.warning;
  EXPECT_NE(h.warning.find("mysql-bin.000007:1234"), std::string::npos) << h.warning;
  EXPECT_NE(h.warning.find("oldest kept: mysql-bin.000009"), std::string::npos) << h.warning;
  EXPECT_NE(h.warning.find("snapshot.mode=when_needed"), std::string::npos) << h.warning;
}

TEST(BinlogHealth, GrowthIsMeasuredOverTheWindow) {
  BinlogSample old = Sample({{"b.000001", 10 * kMiB}}, 0, 1000, 1000);
  BinlogSample now = Sample({{"b.000001", 60 * kMiB}, {"b.000002", 50 * kMiB}}, 0, 1100, 1100);
  BinlogHealth h = AssessBinlog(now, old, Need("b.000001", 4), 0);
  EXPECT_DOUBLE_EQ(h.growth_bytes_per_s, static_cast<double>(kMiB));
  // The needed file was not there in the older sample (the connector moved on): no rate.
  h = AssessBinlog(now, old, Need("b.000002", 4), 0);
  EXPECT_EQ(h.growth_bytes_per_s, 0);
}

TEST(BinlogHealth, StatusObjectHasEveryField) {
  BinlogSample s = Sample(kFiles, 7200, 1'700'000'000);
  BinlogNeed need = Need("mysql-bin.000008", 42, 1'700'000'000 - 600);
  BinlogHealth h = AssessBinlog(s, s, need, kGiB);
  auto j = nlohmann::json::parse(BinlogHealthJson(s, need, h, 123));
  EXPECT_EQ(j["needed_file"], "mysql-bin.000008");
  EXPECT_EQ(j["needed_pos"], 42);
  EXPECT_EQ(j["needed_on_server"], true);
  EXPECT_EQ(j["oldest_file"], "mysql-bin.000007");
  EXPECT_EQ(j["newest_file"], "mysql-bin.000009");
  EXPECT_EQ(j["files"], 3);
  EXPECT_EQ(j["retained_bytes"], 305 * kMiB - 42);
  EXPECT_EQ(j["needed_files_bytes"], 305 * kMiB);
  EXPECT_EQ(j["total_bytes"], 405 * kMiB);
  EXPECT_EQ(j["expire_logs_seconds"], 7200);
  EXPECT_EQ(j["needed_last_write_unix_s"], 1'700'000'000 - 600);
  EXPECT_EQ(j["time_left_s"], 6600);
  EXPECT_EQ(j["level"], "warning") << "under a day left";
  EXPECT_TRUE(j["warning"].is_string());
  EXPECT_EQ(j["sampled_unix_ms"], 123);
  EXPECT_TRUE(j.contains("growth_bytes_per_s"));

  BinlogSample never = Sample(kFiles, 0, 1);
  BinlogHealth ok = AssessBinlog(never, never, BinlogNeed{}, kGiB);
  j = nlohmann::json::parse(BinlogHealthJson(never, BinlogNeed{}, ok, 1));
  EXPECT_TRUE(j["needed_file"].is_null());
  EXPECT_TRUE(j["retained_bytes"].is_null());
  EXPECT_TRUE(j["expire_logs_seconds"].is_null()) << "null: never";
  EXPECT_TRUE(j["time_left_s"].is_null());
  EXPECT_TRUE(j["needed_last_write_unix_s"].is_null());
  EXPECT_EQ(j["level"], "ok");
  EXPECT_TRUE(j["warning"].is_null());
}

TEST(BinlogHealth, ExpirySecondsWinOverDays) {
  EXPECT_EQ(ExpireSeconds({{"binlog_expire_logs_seconds", "3600"}, {"expire_logs_days", "2"}}),
            3600);
  EXPECT_EQ(ExpireSeconds({{"binlog_expire_logs_seconds", "0"}, {"expire_logs_days", "2"}}),
            172800);
  EXPECT_EQ(ExpireSeconds({{"expire_logs_days", "0.500000"}}), 43200) << "MariaDB prints a fraction";
  EXPECT_EQ(ExpireSeconds({{"binlog_expire_logs_seconds", "0"}, {"expire_logs_days", "0"}}), 0);
  EXPECT_EQ(ExpireSeconds({}), 0);
  EXPECT_EQ(ExpireSeconds({{"binlog_expire_logs_seconds", "junk"}}), 0);
}

TEST(BinlogHealth, ParsesShowBinaryLogs) {
  std::vector<ResultRow> rows = {{"mysql-bin.000001", "1234"}, {"mysql-bin.000002", "328", "No"}};
  auto files = ParseBinaryLogs(rows);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].name, "mysql-bin.000001");
  EXPECT_EQ((*files)[0].size_bytes, 1234);
  EXPECT_EQ((*files)[1].size_bytes, 328);
  EXPECT_FALSE(ParseBinaryLogs({{"mysql-bin.000001"}}).ok());
  EXPECT_FALSE(ParseBinaryLogs({{"mysql-bin.000001", std::nullopt}}).ok());
  EXPECT_FALSE(ParseBinaryLogs({{"mysql-bin.000001", "x"}}).ok());
}

TEST(BinlogRetention, KnowsTheNeededFilesLastWriteFromTheStream) {
  BinlogRetention r;
  EXPECT_TRUE(r.Need().file.empty());
  r.SetNeeded("b.000003", 400);
  r.FileRead("b.000003", 1000);
  BinlogNeed n = r.Need();
  EXPECT_EQ(n.file, "b.000003");
  EXPECT_EQ(n.pos, 400u);
  ASSERT_TRUE(n.last_write_unix_s.has_value());
  EXPECT_EQ(*n.last_write_unix_s, 1000) << "still being read: the newest event, a lower bound";
  EXPECT_FALSE(n.closed);
  r.FileClosed("b.000003", 1010);
  r.FileRead("b.000004", 1020);
  n = r.Need();
  EXPECT_EQ(*n.last_write_unix_s, 1010) << "the ROTATE that closed it";
  EXPECT_TRUE(n.closed);
  // Moving on forgets older files; a file the stream never saw is unknown.
  r.SetNeeded("b.000004", 4);
  EXPECT_EQ(*r.Need().last_write_unix_s, 1020);
  r.SetNeeded("b.000003", 4);
  EXPECT_FALSE(r.Need().last_write_unix_s.has_value()) << "dropped once the connector moved past";
  r.SetNeeded("b.000002", 4);
  EXPECT_FALSE(r.Need().last_write_unix_s.has_value());
}

}  // namespace
}  // namespace sluice::mysql
