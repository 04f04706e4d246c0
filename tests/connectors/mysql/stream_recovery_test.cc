// The binlog reader's decisions when the stream fails (what a NULL mariadb_rpl_fetch means and
// what the caller must do) and the start-up check of the server's binlog settings.
#include <gtest/gtest.h>

#include <string>

#include "connectors/mysql/mysql_source.h"
#include "connectors/mysql/stream_reader.h"

namespace sluice::mysql {
namespace {

const BinlogLocation kAt{"mysql-bin.000007", 1234};

TEST(FetchFailureStatus, EndOfStreamWithoutAnErrorIsUnavailableNeverIdle) {
  core::Status s = FetchFailureStatus(FetchFailure{}, kAt);
  EXPECT_EQ(s.code(), core::StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("mysql-bin.000007:1234"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("end-of-stream"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("last committed position"), std::string::npos) << s.message();
}

TEST(FetchFailureStatus, ReplicationErrorKeptOnlyInTheRplHandleIsReported) {
  FetchFailure f;
  f.rpl_errno = 5021;
  f.rpl_error = "Binary log error (File: mysql-bin.000007 start_pos=1234): Packet corrupted";
  core::Status s = FetchFailureStatus(f, kAt);
  EXPECT_EQ(s.code(), core::StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("Packet corrupted"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("error 5021"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("mysql-bin.000007:1234"), std::string::npos) << s.message();
}

TEST(FetchFailureStatus, ClientErrorTakesPrecedenceOverTheRplHandle) {
  FetchFailure f;
  f.client_errno = 2013;
  f.client_error = "Lost connection to server during query";
  f.rpl_errno = 5021;
  f.rpl_error = "stale";
  core::Status s = FetchFailureStatus(f, kAt);
  EXPECT_EQ(s.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("Lost connection"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("stale"), std::string::npos) << s.message();
}

TEST(FetchFailureStatus, ReadTimeoutNamesTheMissedHeartbeats) {
  FetchFailure f;
  f.client_errno = 2013;
  f.client_error = "Lost connection to server during query";
  f.heartbeat_ms = 500;
  f.read_timeout_s = 2;
  f.silent_ms = 2004;
  core::Status s = FetchFailureStatus(f, kAt);
  EXPECT_EQ(s.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("not even a heartbeat"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("heartbeat.interval.ms=500"), std::string::npos) << s.message();
  // The same error long before the timeout is a plain lost connection.
  f.silent_ms = 10;
  s = FetchFailureStatus(f, kAt);
  EXPECT_EQ(s.code(), core::StatusCode::kUnavailable);
  EXPECT_EQ(s.message().find("heartbeat"), std::string::npos) << s.message();
}

TEST(FetchFailureStatus, ServerCannotSendTheBinlogIsForTheOperator) {
  FetchFailure f;
  f.client_errno = 1236;
  f.client_error = "Could not find first log file name in binary log index file";
  core::Status s = FetchFailureStatus(f, kAt);
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("mysql-bin.000007:1234"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("snapshot.mode=when_needed"), std::string::npos) << s.message();
}

TEST(FetchFailureStatus, UnknownEventTypesAreForTheOperator) {
  FetchFailure f;
  f.client_errno = 5020;
  f.client_error = "Binary log error (File: mysql-bin.000007 start_pos=1234): Unknown event type "
                   "(40) with flag 'not_ignorable'.";
  core::Status s = FetchFailureStatus(f, kAt);
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("binlog_transaction_compression=OFF"), std::string::npos)
      << s.message();
  f.client_error = "Binary log error: Unknown event type (99) with flag 'not_ignorable'.";
  s = FetchFailureStatus(f, kAt);
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message().find("binlog_transaction_compression"), std::string::npos) << s.message();
}

TEST(FetchFailureStatus, ChecksumMismatchIsDataLossAndCancelIsCancelled) {
  FetchFailure f;
  f.rpl_errno = 5018;
  f.rpl_error = "Checksum verification failed";
  EXPECT_EQ(FetchFailureStatus(f, kAt).code(), core::StatusCode::kDataLoss);
  f.cancelled = true;
  EXPECT_EQ(FetchFailureStatus(f, kAt).code(), core::StatusCode::kCancelled);
}

TEST(FetchFailureStatus, UnknownServerErrorIsRetriedNotSkipped) {
  FetchFailure f;
  f.client_errno = 1595;
  f.client_error = "Relay log write failure";
  core::Status s = FetchFailureStatus(f, kAt);
  EXPECT_EQ(s.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("error 1595"), std::string::npos) << s.message();
}

TEST(BinlogReadTimeout, IsSeveralHeartbeatPeriodsAndNeverBelowTheMinimum) {
  EXPECT_EQ(BinlogReadTimeoutSeconds(100), kMinReadTimeoutS);
  EXPECT_EQ(BinlogReadTimeoutSeconds(1000), kMissedHeartbeats);
  EXPECT_EQ(BinlogReadTimeoutSeconds(2500), 10);  // 4 x 2.5 s
  EXPECT_EQ(BinlogReadTimeoutSeconds(1001), 5);   // rounded up
}

std::map<std::string, std::string> GoodMariadb() {
  return {{"log_bin", "ON"}, {"binlog_format", "ROW"}, {"binlog_row_image", "FULL"},
          {"log_bin_compress", "OFF"}};
}

TEST(CheckBinlogSettings, AcceptsRowFullOnMariadbAndMysql) {
  EXPECT_TRUE(CheckBinlogSettings(GoodMariadb()).ok());
  std::map<std::string, std::string> mysql8 = {
      {"log_bin", "ON"}, {"binlog_format", "ROW"}, {"binlog_row_image", "FULL"},
      {"binlog_transaction_compression", "OFF"}, {"binlog_row_value_options", ""}};
  EXPECT_TRUE(CheckBinlogSettings(mysql8).ok());
}

void ExpectRefused(const std::map<std::string, std::string>& v, const std::string& says,
                   const std::string& fix) {
  core::Status s = CheckBinlogSettings(v);
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find(says), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(fix), std::string::npos) << s.message();
}

TEST(CheckBinlogSettings, RefusesEachSettingWithTheFix) {
  auto v = GoodMariadb();
  v["log_bin"] = "OFF";
  ExpectRefused(v, "binary logging off", "--log-bin");
  v = GoodMariadb();
  v.erase("log_bin");
  ExpectRefused(v, "binary logging off", "--log-bin");
  v = GoodMariadb();
  v["binlog_format"] = "STATEMENT";
  ExpectRefused(v, "binlog_format=STATEMENT", "set binlog_format=ROW");
  v["binlog_format"] = "MIXED";
  ExpectRefused(v, "binlog_format=MIXED", "set binlog_format=ROW");
  v = GoodMariadb();
  v["binlog_row_image"] = "MINIMAL";
  ExpectRefused(v, "binlog_row_image=MINIMAL", "set binlog_row_image=FULL");
  v = GoodMariadb();
  v["log_bin_compress"] = "ON";
  ExpectRefused(v, "log_bin_compress=ON", "set log_bin_compress=OFF");
}

// include.query=true needs the statements logged: MariaDB's binlog_annotate_row_events, MySQL's
// binlog_rows_query_log_events; the refusal names the variable, its value and the fix.
TEST(CheckBinlogSettings, IncludeQueryNeedsTheServerToLogStatements) {
  auto v = GoodMariadb();
  v["binlog_annotate_row_events"] = "OFF";
  EXPECT_TRUE(CheckBinlogSettings(v).ok()) << "only checked with include.query=true";
  core::Status s = CheckBinlogSettings(v, true);
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("binlog_annotate_row_events=OFF"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("SET GLOBAL binlog_annotate_row_events=ON"), std::string::npos);
  EXPECT_NE(s.message().find("include.query=false"), std::string::npos);
  v["binlog_annotate_row_events"] = "ON";
  EXPECT_TRUE(CheckBinlogSettings(v, true).ok());

  std::map<std::string, std::string> mysql8 = {
      {"log_bin", "ON"}, {"binlog_format", "ROW"}, {"binlog_row_image", "FULL"},
      {"binlog_rows_query_log_events", "OFF"}};
  s = CheckBinlogSettings(mysql8, true);
  EXPECT_NE(s.message().find("binlog_rows_query_log_events=OFF"), std::string::npos) << s.message();
  mysql8["binlog_rows_query_log_events"] = "ON";
  EXPECT_TRUE(CheckBinlogSettings(mysql8, true).ok());

  s = CheckBinlogSettings(GoodMariadb(), true);  // a server with neither variable
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("binlog_rows_query_log_events"), std::string::npos) << s.message();
}

TEST(CheckBinlogSettings, RefusesMysqlTransactionCompressionOnlyWhenOn) {
  auto v = GoodMariadb();  // MariaDB: the variable does not exist
  EXPECT_TRUE(CheckBinlogSettings(v).ok());
  v["binlog_transaction_compression"] = "OFF";
  EXPECT_TRUE(CheckBinlogSettings(v).ok());
  v["binlog_transaction_compression"] = "ON";
  ExpectRefused(v, "binlog_transaction_compression=ON", "set binlog_transaction_compression=OFF");
  v["binlog_transaction_compression"] = "OFF";
  v["binlog_row_value_options"] = "PARTIAL_JSON";
  ExpectRefused(v, "binlog_row_value_options=PARTIAL_JSON", "binlog_row_value_options=''");
}

}  // namespace
}  // namespace sluice::mysql
