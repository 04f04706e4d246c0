// SQL against the test servers through the psql and mariadb command-line clients, run as
// subprocesses: an independent check that shares no code (and no driver) with Sluice.
#ifndef SLUICE_INTEGRATION_COMMON_SQL_CLIENT_H_
#define SLUICE_INTEGRATION_COMMON_SQL_CLIENT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::itest {

using SqlValue = std::optional<std::string>;  // nullopt is SQL NULL; values are the client's text
using SqlRow = std::vector<SqlValue>;
using SqlRows = std::vector<SqlRow>;

// Outcome of a statement that is allowed to fail.
struct SqlResult {
  bool ok = false;
  SqlRows rows;       // rows of every result set, in order
  std::string error;  // the client's stderr when !ok (e.g. "ERROR:  permission denied ...")
};

// Runs SQL on the test PostgreSQL with psql (-X, ON_ERROR_STOP, one session per call, the
// statements of one call in psql's default autocommit mode unless they say BEGIN/COMMIT).
// Values come back as PostgreSQL's text output, so tests normalise types in their SELECT.
// Cheap to copy; thread-safe (every call is its own process).
class PgClient {
 public:
  // The test superuser (SLUICE_TEST_PG_USER, trusted) on `dbname`.
  explicit PgClient(std::string dbname = "postgres");
  // Another user, e.g. kPasswordUser / kTestPassword.
  PgClient(std::string dbname, std::string user, std::string password);
  // Another server (a test's scratch server): `user` trusted when `password` is empty.
  PgClient(std::string host, int port, std::string dbname, std::string user,
           std::string password = "");

  // Rows of all result sets; throws HarnessError with psql's stderr on any error.
  SqlRows Query(std::string_view sql) const;
  void Exec(std::string_view sql) const { Query(sql); }
  // The single value of a one-row, one-column result (NULL is an error).
  std::string QueryValue(std::string_view sql) const;
  // Like Query, but an SQL or connection error is returned instead of thrown.
  SqlResult TryQuery(std::string_view sql) const;

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  const std::string& dbname() const { return dbname_; }
  // postgresql://user[:password]@host:port/dbname
  std::string Url() const;

 private:
  std::string host_;
  int port_;
  std::string user_;
  std::string password_;
  std::string dbname_;
};

// Runs SQL on the test MariaDB with the mariadb client (--no-defaults, TCP, utf8mb4, --xml
// output so that NULL, tabs and newlines survive). Stops at the first failing statement.
// Cheap to copy; thread-safe.
class MysqlClient {
 public:
  // The test superuser (SLUICE_TEST_MYSQL_USER, empty password); empty dbname = no default.
  explicit MysqlClient(std::string dbname = "");
  MysqlClient(std::string dbname, std::string user, std::string password);
  // Another server (a test's scratch server).
  MysqlClient(std::string host, int port, std::string dbname, std::string user,
              std::string password = "");

  SqlRows Query(std::string_view sql) const;
  void Exec(std::string_view sql) const { Query(sql); }
  std::string QueryValue(std::string_view sql) const;
  SqlResult TryQuery(std::string_view sql) const;

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  const std::string& dbname() const { return dbname_; }
  // mysql://user[:password]@host:port/dbname
  std::string Url() const;

 private:
  std::string host_;
  int port_;
  std::string user_;
  std::string password_;
  std::string dbname_;
};

// Creates an empty database named UniqueName(name) on the test PostgreSQL and returns its name.
std::string CreateScratchPgDatabase(std::string_view name);
// Creates an empty database (utf8mb4) named UniqueName(name) on the test MariaDB.
std::string CreateScratchMysqlDatabase(std::string_view name);

// Parses psql -A -t -z output (unit-separator fields, NUL-terminated records); exposed for tests.
SqlRows ParsePsqlOutput(std::string_view output);
// Parses `mariadb --xml` output; exposed for tests.
SqlRows ParseMysqlXml(std::string_view output);

}  // namespace sluice::itest

#endif  // SLUICE_INTEGRATION_COMMON_SQL_CLIENT_H_
