#include "core/redact.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "core/config.h"
#include "core/logging.h"

namespace sluice::core {
namespace {

// Each case: a text holding a password, the password's pieces that must be gone, and a piece of
// the text that must stay.
struct Case {
  std::string text;
  std::vector<std::string> secret_pieces;
  std::string kept;
};

std::vector<Case> ConnectionStringCases() {
  return {
      {"host=h password = pwA dbname=d", {"pwA"}, "dbname=d"},
      {"host=h password=pwB", {"pwB"}, "host=h"},
      {"host=h password='p B' user=u", {"p B", "B'"}, "user=u"},
      {"host=h password=p\\'q user=u", {"p\\'q", "'q"}, "user=u"},
      {"host=h password='it\\'s a secret' port=5432", {"it\\'s", "a secret"}, "port=5432"},
      {"host=h sslpassword=keypw", {"keypw"}, "host=h"},
      {"PASSWORD=Upper host=h", {"Upper"}, "host=h"},
      {"postgresql://u:pw1@h:5432/db", {"pw1"}, "postgresql://u:****@h:5432/db"},
      {"postgres://u:pw2@h/db?sslmode=require", {"pw2"}, "sslmode=require"},
      {"mysql://root:pw3@h:3306/shop", {"pw3"}, "mysql://root:****@h:3306/shop"},
      {"postgresql://u:p%zzword@h/db", {"p%zzword", "zzword"}, "@h/db"},
      {"postgresql://u:p%4"  "0ss@h/db", {"p%40ss"}, "@h/db"},
      {"postgresql://u:pa/ss@h/db", {"pa/ss"}, "@h/db"},
      {"postgresql://u:p@ss@h/db", {"p@ss"}, "@h/db"},
      {"postgresql://h/db?user=u&password=qpw&sslmode=require", {"qpw"}, "sslmode=require"},
      {"postgresql://h/db?password=a%26b&x=1", {"a%26b"}, "x=1"},
      // Free text: an error that quotes a conninfo.
      {"cannot connect to \"host=db port=5432 password=s3cr3t\": timeout", {"s3cr3t"}, "timeout"},
      {"sink failed (url postgresql://app:hunter22@db/x): connection refused",
       {"hunter22"}, "connection refused"},
  };
}

TEST(RedactTest, ConnectionStringPasswordsAreHiddenInEveryForm) {
  for (const Case& c : ConnectionStringCases()) {
    std::string out = RedactConnectionStrings(c.text);
    for (const auto& piece : c.secret_pieces) {
      EXPECT_EQ(out.find(piece), std::string::npos) << c.text << " -> " << out;
    }
    EXPECT_NE(out.find(c.kept), std::string::npos) << c.text << " -> " << out;
    EXPECT_NE(out.find(kRedactedText), std::string::npos) << c.text << " -> " << out;
    EXPECT_EQ(RedactConnectionStrings(out), out) << "redaction is idempotent: " << out;
  }
}

TEST(RedactTest, TextWithoutPasswordsIsUnchanged) {
  for (std::string text : {"mysql://root@h/db", "postgresql://h:5432/db", "host=h user=u",
                           "password authentication failed for user \"u\"", "/var/lib/sluice",
                           "no password supplied", ""}) {
    EXPECT_EQ(RedactConnectionStrings(text), text);
  }
  // RedactUrl (config.h) is the same function.
  EXPECT_EQ(RedactUrl("postgresql://u:x@h"), "postgresql://u:****@h");
}

// Log lines can carry hostile text: redaction stays linear (this takes milliseconds, not
// minutes) and still finds the password at the end.
TEST(RedactTest, HostileTextIsRedactedInLinearTime) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "password";
  text += "=tail-secret ";
  for (int i = 0; i < 20000; ++i) text += "x://";
  text += " postgresql://u:end-secret@h";
  std::string out = RedactConnectionStrings(text);
  EXPECT_EQ(out.find("tail-secret"), std::string::npos);
  EXPECT_EQ(out.find("end-secret"), std::string::npos);
}

// A reference says where the secret is, not what it is: shown as written, in a URL, a keyword
// value or under a secret key; a value that mixes a reference with literal text stays hidden.
TEST(RedactTest, ReferencesAreShownAsWritten) {
  for (std::string text : {"postgresql://app:${env:PG_PW}@h/db", "host=h password=${file:/run/s.properties:pw}",
                           "password='${env:A}${env:B}' host=h"}) {
    EXPECT_EQ(RedactConnectionStrings(text), text);
  }
  EXPECT_EQ(RedactConnectionStrings("postgresql://app:x${env:PG_PW}@h/db"), "postgresql://app:****@h/db");
  ConnectorConfig c("c", {{"database.password", "${env:PG_PW}"}, {"sink.password", "pre-${env:PG_PW}"}});
  nlohmann::json j = c.RedactedJson();
  EXPECT_EQ(j["database.password"], "${env:PG_PW}");
  EXPECT_EQ(j["sink.password"], "********");
}

TEST(RedactTest, UnterminatedQuoteHidesTheRest) {
  std::string out = RedactConnectionStrings("host=h password='p B port=1");
  EXPECT_EQ(out.find("p B"), std::string::npos) << out;
  EXPECT_EQ(out.find("port=1"), std::string::npos) << out;
}

TEST(RedactTest, SecretsOfAUrlIncludeDecodedAndUnescapedForms) {
  auto url = ConnectionStringSecrets("postgresql://u:p%40ss@h/db");
  EXPECT_NE(std::find(url.begin(), url.end(), "p%40ss"), url.end());
  EXPECT_NE(std::find(url.begin(), url.end(), "p@ss"), url.end());
  auto kw = ConnectionStringSecrets("host=h password='it\\'s'");
  EXPECT_NE(std::find(kw.begin(), kw.end(), "it's"), kw.end());
  EXPECT_TRUE(ConnectionStringSecrets("mysql://root@h/db").empty());
}

// libpq echoes the conninfo token it cannot parse; the error text must not carry the password.
TEST(RedactTest, LibpqErrorsThatEchoTheConninfoAreRedacted) {
  const std::string url = "postgresql://app:p%zzword@db:5432/shop";
  std::string libpq = "invalid percent-encoded token: \"p%zzword\"";
  std::string out = RedactSecrets(libpq, ConnectionStringSecrets(url));
  EXPECT_EQ(out.find("zzword"), std::string::npos) << out;
  EXPECT_NE(out.find("invalid percent-encoded token"), std::string::npos) << out;

  // A fragment shorter than the secret, quoted by libpq ("pa" of "pa/ss").
  std::string fragment = "invalid integer value \"pa\" for connection option \"port\"";
  out = RedactSecrets(fragment, ConnectionStringSecrets("postgresql://u:pa/ss@h/db"));
  EXPECT_EQ(out.find("\"pa\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"port\""), std::string::npos) << out;

  std::string keyword = "missing \"=\" after \"host=h password='p B\" in connection info string";
  out = RedactSecrets(keyword, std::vector<std::string>{});
  EXPECT_EQ(out.find("p B"), std::string::npos) << out;
}

TEST(RedactTest, RedactSecretsUsesEverySecretOfTheConfig) {
  ConnectorConfig c("c", {{"database.password", "hunter2"},
                          {"sink.url", "postgresql://u:s1nkpw@h/db"},
                          {"sink.kafka.sasl.password", "kafkapw"},
                          {"database.user", "ab"}});
  std::string trace =
      "UNAVAILABLE: login failed for hunter2 at s1nkpw, sasl kafkapw; user ab; id 1ab2";
  std::string out = RedactSecrets(trace, c);
  for (const char* s : {"hunter2", "s1nkpw", "kafkapw"}) {
    EXPECT_EQ(out.find(s), std::string::npos) << out;
  }
  // Non-secret values stay readable.
  EXPECT_NE(out.find("user ab; id 1ab2"), std::string::npos) << out;
}

TEST(RedactTest, SecretsBehindReferencesAreRedactedByTheirResolvedValue) {
  ::setenv("SLUICE_REDACT_TEST_PW", "fromenv-pw", 1);
  ConnectorConfig c("c", {{"database.password", "${env:SLUICE_REDACT_TEST_PW}"},
                          {"sink.url", "postgresql://u:${env:SLUICE_REDACT_TEST_PW}@h/db"}});
  std::string out = RedactSecrets("auth failed with fromenv-pw", c);
  EXPECT_EQ(out.find("fromenv-pw"), std::string::npos) << out;
  // The reference itself is not a secret: an error that names it stays readable.
  const std::string unresolved =
      "config key 'database.password': ${env:SLUICE_REDACT_TEST_PW}: not set";
  EXPECT_EQ(RedactSecrets(unresolved, c), unresolved);
  ::unsetenv("SLUICE_REDACT_TEST_PW");
}

TEST(RedactTest, RedactedJsonHidesKeywordAndUrlPasswordsInEveryValue) {
  ConnectorConfig c("c", {{"sink.url", "host=h password = pwA dbname=d"},
                          {"other.url", "mysql://u:pwB@h/db"},
                          {"sink.conn", "password='p C' host=x"},
                          {"escaped", "password=p\\'q host=y"},
                          {"database.password", "pwD"},
                          {"database.hostname", "db.example"}});
  nlohmann::json j = c.RedactedJson();
  std::string dumped = j.dump();
  for (const char* s : {"pwA", "pwB", "p C", "p\\\\'q", "'q", "pwD"}) {
    EXPECT_EQ(dumped.find(s), std::string::npos) << s << " in " << dumped;
  }
  EXPECT_EQ(j["database.hostname"], "db.example");
  EXPECT_EQ(j["other.url"], "mysql://u:****@h/db");
  EXPECT_EQ(j["database.password"], "********");
}

// Whatever code logs a connection string, the line that reaches the log has no password.
TEST(RedactTest, LogLinesPassThroughRedaction) {
  std::ostringstream written;
  auto inner = std::make_shared<spdlog::sinks::ostream_sink_mt>(written);
  spdlog::logger logger("redact-test", RedactingLogSink(inner));
  logger.set_pattern("[%n] %v");
  logger.error("cannot connect to {}: {}", "postgresql://app:logpw1@db/x",
               "bad conninfo \"host=db password = 'log pw2'\"");
  logger.flush();
  std::string line = written.str();
  EXPECT_EQ(line.find("logpw1"), std::string::npos) << line;
  EXPECT_EQ(line.find("log pw2"), std::string::npos) << line;
  EXPECT_NE(line.find("[redact-test] cannot connect to postgresql://app:****@db/x"),
            std::string::npos)
      << line;
}

}  // namespace
}  // namespace sluice::core
