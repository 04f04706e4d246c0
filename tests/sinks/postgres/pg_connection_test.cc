#include "sinks/postgres/pg_connection.h"

#include <gtest/gtest.h>

namespace sluice::sinks::pgsink {
namespace {

// libpq rejects these URLs while parsing them, before any network traffic, and quotes the token
// it chokes on: the password, or a piece of it. The sink's error must carry neither.
TEST(PgConnectionTest, BadPercentEscapeInThePasswordIsNotEchoed) {
  PgConnection conn;
  core::Status s = conn.Connect("postgresql://app:p%zzword@127.0.0.1:1/shop");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), core::StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_EQ(s.message().find("zzword"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("percent-escape"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("%25"), std::string::npos) << s.message();
}

TEST(PgConnectionTest, LibpqErrorQuotingAPieceOfThePasswordIsRedacted) {
  PgConnection conn;
  // An unencoded '/' ends libpq's userinfo early: it reads "pa" as the port and quotes it.
  core::Status s = conn.Connect("postgresql://app:pa/ss@127.0.0.1:1/shop");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().find("\"pa\""), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("pa/ss"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace sluice::sinks::pgsink
