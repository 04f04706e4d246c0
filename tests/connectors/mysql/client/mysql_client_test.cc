// Unit tests of the shared MySQL client layer: the one error number -> status map (what the
// source and the sink tell the pipeline), identifier quoting, and literal escaping that follows
// the session's NO_BACKSLASH_ESCAPES (an unconnected handle in either state; no server).
#include "connectors/mysql/client/mysql_client.h"

#include <gtest/gtest.h>
#include <mysql.h>

#include <string>

namespace sluice::mysql {
namespace {

using core::StatusCode;

struct Case {
  unsigned int error_number;
  MysqlErrorKind kind;
  StatusCode code;
};

TEST(ClassifyMysqlError, MapsEachErrorByWhatTheCallerShouldDo) {
  const Case cases[] = {
      // The link: retry with backoff.
      {0, MysqlErrorKind::kConnection, StatusCode::kUnavailable},
      {1040, MysqlErrorKind::kConnection, StatusCode::kUnavailable},  // too many connections
      {1053, MysqlErrorKind::kConnection, StatusCode::kUnavailable},  // server shutdown
      {1158, MysqlErrorKind::kConnection, StatusCode::kUnavailable},  // net read error
      {1317, MysqlErrorKind::kConnection, StatusCode::kUnavailable},  // query interrupted
      {1927, MysqlErrorKind::kConnection, StatusCode::kUnavailable},  // connection killed
      {2002, MysqlErrorKind::kConnection, StatusCode::kUnavailable},
      {2003, MysqlErrorKind::kConnection, StatusCode::kUnavailable},
      {2006, MysqlErrorKind::kConnection, StatusCode::kUnavailable},  // server gone
      {2013, MysqlErrorKind::kConnection, StatusCode::kUnavailable},  // lost during query
      {2055, MysqlErrorKind::kConnection, StatusCode::kUnavailable},
      {2026, MysqlErrorKind::kConnection, StatusCode::kUnavailable},  // SSL connection error
      {5013, MysqlErrorKind::kConnection, StatusCode::kUnavailable},  // binlog net read
      {5021, MysqlErrorKind::kConnection, StatusCode::kUnavailable},  // binlog packet corrupted
      // A lost transaction: roll back and replay.
      {1205, MysqlErrorKind::kConflict, StatusCode::kAborted},  // lock wait timeout
      {1213, MysqlErrorKind::kConflict, StatusCode::kAborted},  // deadlock
      // Credentials and privileges: stop and tell the operator.
      {1045, MysqlErrorKind::kAuthentication, StatusCode::kUnauthenticated},
      {1698, MysqlErrorKind::kAuthentication, StatusCode::kUnauthenticated},
      {1044, MysqlErrorKind::kPrivilege, StatusCode::kPermissionDenied},
      {1142, MysqlErrorKind::kPrivilege, StatusCode::kPermissionDenied},
      {1143, MysqlErrorKind::kPrivilege, StatusCode::kPermissionDenied},
      {1227, MysqlErrorKind::kPrivilege, StatusCode::kPermissionDenied},
      // A rejected value: the sink names the row.
      {1048, MysqlErrorKind::kData, StatusCode::kFailedPrecondition},
      {1062, MysqlErrorKind::kData, StatusCode::kFailedPrecondition},
      {1264, MysqlErrorKind::kData, StatusCode::kFailedPrecondition},
      {1366, MysqlErrorKind::kData, StatusCode::kFailedPrecondition},
      {1406, MysqlErrorKind::kData, StatusCode::kFailedPrecondition},
      {4025, MysqlErrorKind::kData, StatusCode::kFailedPrecondition},
      // The binlog cannot be read from here.
      {1236, MysqlErrorKind::kBinlog, StatusCode::kFailedPrecondition},
      {5020, MysqlErrorKind::kBinlog, StatusCode::kFailedPrecondition},
      {5018, MysqlErrorKind::kChecksum, StatusCode::kDataLoss},
      // Not transient: a packet over max_allowed_packet, a missing table, bad SQL.
      {1153, MysqlErrorKind::kUnknown, StatusCode::kFailedPrecondition},
      {1146, MysqlErrorKind::kUnknown, StatusCode::kFailedPrecondition},
      {1064, MysqlErrorKind::kUnknown, StatusCode::kFailedPrecondition},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ClassifyMysqlErrorKind(c.error_number), c.kind) << c.error_number;
    EXPECT_EQ(ClassifyMysqlError(c.error_number), c.code) << c.error_number;
  }
}

TEST(ClassifyMysqlError, RetriesTheLinkAndLostTransactionsOnly) {
  EXPECT_TRUE(StatusFromMysql(2013, "lost", "x").IsRetriable());
  EXPECT_TRUE(StatusFromMysql(1213, "deadlock", "x").IsRetriable());
  EXPECT_FALSE(StatusFromMysql(1264, "out of range", "x").IsRetriable());
  EXPECT_FALSE(StatusFromMysql(1045, "denied", "x").IsRetriable());
  EXPECT_FALSE(StatusFromMysql(1236, "purged", "x").IsRetriable());
}

TEST(StatusFromMysql, NamesTheContextTheMessageAndTheNumber) {
  core::Status s = StatusFromMysql(1406, "Data too long for column 'a' at row 2", "table `t`");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "table `t`: Data too long for column 'a' at row 2 (mysql error 1406)");
  core::Status gone = StatusFromMysql(static_cast<MYSQL*>(nullptr), "mysql query");
  EXPECT_EQ(gone.code(), StatusCode::kUnavailable);
  EXPECT_NE(gone.message().find("not connected"), std::string::npos) << gone.message();
}

TEST(QuoteIdentifier, DoublesBackticksAndNothingElse) {
  EXPECT_EQ(QuoteIdentifier("orders"), "`orders`");
  EXPECT_EQ(QuoteIdentifier("a`b"), "`a``b`");
  EXPECT_EQ(QuoteIdentifier("\"; DROP TABLE x; --"), "`\"; DROP TABLE x; --`");
  std::string out = "x.";
  AppendQuotedIdentifier(out, "``");
  EXPECT_EQ(out, "x.``````");
}

// An unconnected handle: the session state the escaper follows is the server_status flag that
// every OK packet carries.
MYSQL* Handle(bool no_backslash_escapes) {
  MYSQL* m = mysql_init(nullptr);
  if (no_backslash_escapes) m->server_status |= SERVER_STATUS_NO_BACKSLASH_ESCAPES;
  return m;
}

TEST(StringEscaper, FollowsTheSessionsNoBackslashEscapes) {
  MysqlPtr quotes(Handle(true));
  MysqlPtr backslashes(Handle(false));
  const std::string_view text("it's a \\ \"\n\0", 12);
  // NO_BACKSLASH_ESCAPES: a backslash is an ordinary character; only the quote is doubled.
  EXPECT_EQ(StringEscaper(quotes.get()).Quoted(text), std::string("'it''s a \\ \"\n\0'", 15));
  // Default mode: backslash escapes for the quote, backslash, double quote, newline and NUL.
  EXPECT_EQ(StringEscaper(backslashes.get()).Quoted(text), "'it\\'s a \\\\ \\\"\\n\\0'");
}

TEST(StringEscaper, AppendsInPlace) {
  MysqlPtr quotes(Handle(true));
  std::string out = "VALUES (";
  StringEscaper(quotes.get()).AppendQuoted(out, "");
  out += ",";
  StringEscaper(quotes.get()).AppendQuoted(out, "''");
  EXPECT_EQ(out, "VALUES ('',''''''");
}

}  // namespace
}  // namespace sluice::mysql
