#include "connectors/postgres/client/pg_client.h"

#include <gtest/gtest.h>

namespace sluice::pg {
namespace {

using core::StatusCode;

TEST(ClassifySqlState, ConnectionFailuresAreUnavailable) {
  EXPECT_EQ(ClassifySqlState("08006", false), StatusCode::kUnavailable);
  EXPECT_EQ(ClassifySqlState("08001", false), StatusCode::kUnavailable);
  EXPECT_EQ(ClassifySqlState("57P01", false), StatusCode::kUnavailable);
  EXPECT_EQ(ClassifySqlState("57P02", false), StatusCode::kUnavailable);
  EXPECT_EQ(ClassifySqlState("57P03", false), StatusCode::kUnavailable);
  EXPECT_EQ(ClassifySqlState("", false), StatusCode::kUnavailable);  // no server answer
  // A dead connection wins over whatever the result says.
  EXPECT_EQ(ClassifySqlState("23505", true), StatusCode::kUnavailable);
}

TEST(ClassifySqlState, ConcurrencyAndResourceFailuresAreAbortedAndRetriable) {
  for (const char* s : {"40001", "40P01", "55P03", "53100", "53200", "53300"}) {
    EXPECT_EQ(ClassifySqlState(s, false), StatusCode::kAborted) << s;
    EXPECT_TRUE(core::Status(ClassifySqlState(s, false), "x").IsRetriable()) << s;
  }
}

TEST(ClassifySqlState, CancelIsCancelled) {
  EXPECT_EQ(ClassifySqlState("57014", false), StatusCode::kCancelled);
}

TEST(ClassifySqlState, RejectedStatementsStopThePipeline) {
  for (const char* s : {"22003", "23502", "23505", "42501", "42P01", "42703", "57P04", "XX000"}) {
    EXPECT_EQ(ClassifySqlState(s, false), StatusCode::kFailedPrecondition) << s;
    EXPECT_FALSE(core::Status(ClassifySqlState(s, false), "x").IsRetriable()) << s;
  }
}

TEST(StatusFromPg, NoConnectionIsUnavailableWithContext) {
  std::string sqlstate = "stale";
  core::Status s = StatusFromPg(nullptr, nullptr, "postgres query", &sqlstate);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("postgres query"), std::string::npos) << s.message();
  EXPECT_TRUE(sqlstate.empty());
}

TEST(Quoting, IdentifiersDoubleTheirQuotes) {
  EXPECT_EQ(QuoteIdent("orders"), "\"orders\"");
  EXPECT_EQ(QuoteIdent("\"; DROP TABLE x; --"), "\"\"\"; DROP TABLE x; --\"");
}

TEST(Quoting, SqlLiteralsReadTheSameUnderEitherStandardConformingStrings) {
  // E'' treats backslashes as escapes whatever standard_conforming_strings says: doubled.
  EXPECT_EQ(QuoteLiteral("it's \\ ok"), "E'it''s \\\\ ok'");
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");  // no backslash: the plain form means the same
  EXPECT_EQ(QuoteLiteral(""), "''");
}

TEST(Quoting, ReplicationLiteralsHaveNoEscapes) {
  // The walsender grammar knows only '...' with '' for a quote; backslashes are literal.
  EXPECT_EQ(QuoteReplicationLiteral("\"pub\"'s \\"), "'\"pub\"''s \\'");
}

}  // namespace
}  // namespace sluice::pg
