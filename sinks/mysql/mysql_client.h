// MysqlClient: a thin RAII wrapper over one libmariadb (MariaDB Connector/C) connection, the
// seam between the MySQL sink and the client library. Connecting, escaping and the error ->
// status map are the shared client layer's (connectors/mysql/client, mysql::ClassifyMysqlError);
// this class adds transactions and remembers the last error for naming a rejected row. The C API, not
// mysql-connector-c++, because the sink needs the connection's own escaping
// (mysql_real_escape_string into the statement buffer), which cppconn 1.1 does not expose
// without a string allocation per value, and because statements go out without a copy.
//
// Lifecycle: Connect() -> Execute()/Query()/Commit()/Rollback()* -> Close() (or destruction).
// The session runs with autocommit off, sql_mode STRICT_ALL_TABLES + NO_BACKSLASH_ESCAPES,
// time_zone '+00:00' and utf8mb4.
// Thread-safety: one thread at a time (a streamed LOAD DATA runs on a thread of its own, but
// only between BeginLoad and EndLoad/AbortLoad, when the caller leaves the connection alone).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "connectors/mysql/client/mysql_client.h"
#include "sinks/mysql/mysql_types.h"
#include "sinks/mysql/streaming_load.h"

namespace sluice::sinks::mysql_sink {

// The parts of mysql://user:password@host:port/database[?socket=/path&connect_timeout=10].
struct MysqlUrl {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string user = "root";
  std::string password;
  std::string database;
  std::string socket;
  int connect_timeout_s = 10;
  // TLS: the parameters sslmode (disabled, preferred, required, verify_ca, verify_identity),
  // sslrootcert, sslcert and sslkey (PEM files), as the MySQL source's database.ssl* keys.
  std::string ssl_mode = "preferred";
  std::string ssl_ca;
  std::string ssl_cert;
  std::string ssl_key;
};

// Parses sink.url; kInvalidArgument naming what is wrong (the password never appears).
core::Result<MysqlUrl> ParseMysqlUrl(std::string_view url);

using MysqlRow = std::vector<std::optional<std::string>>;

// The narrow seam through which statements of the open transaction run (MysqlClient in
// production, a recording fake in unit tests of ChangeWriter). One call per statement, never per
// value.
class StatementRunner {
 public:
  virtual ~StatementRunner() = default;
  // Runs one statement; on failure last_error_code()/last_error_message() hold the server's.
  virtual core::Status Execute(const std::string& sql) = 0;
  // Escapes literals for the connection the statements run on.
  virtual StringEscaper escaper() const = 0;
  virtual int last_error_code() const = 0;
  virtual const std::string& last_error_message() const = 0;
  // LOAD DATA LOCAL INFILE from memory, streamed: BeginLoad(sql) starts `sql` (a LOAD DATA
  // LOCAL INFILE statement naming kLoadDataFile), AppendLoad hands over pieces of whole rows
  // (borrowed until EndLoad/AbortLoad returns) while the server loads the earlier ones,
  // EndLoad ends the file and returns the statement's status (*warnings: its warning count);
  // AbortLoad ends it early with an error. Nothing else may run on the connection in between.
  // Runners that cannot (unit-test fakes) return false from supports_load_data() and are never
  // asked.
  virtual bool supports_load_data() const { return false; }
  virtual core::Status BeginLoad(const std::string& sql) {
    (void)sql;
    return core::UnimplementedError("LOAD DATA is not supported by this runner");
  }
  virtual void AppendLoad(std::string_view piece) { (void)piece; }
  virtual core::Status EndLoad(unsigned int* warnings) {
    *warnings = 0;
    return core::UnimplementedError("LOAD DATA is not supported by this runner");
  }
  virtual void AbortLoad() {}
};


class MysqlClient final : public StatementRunner {
 public:
  MysqlClient();
  ~MysqlClient() override;
  MysqlClient(const MysqlClient&) = delete;
  MysqlClient& operator=(const MysqlClient&) = delete;

  // Connects (without selecting a database) and sets the session (mysql::ConnectMysql).
  // kUnavailable when the server cannot be reached (retry), kUnauthenticated on bad credentials.
  core::Status Connect(const MysqlUrl& url);
  bool connected() const { return conn_ != nullptr; }

  // Runs one statement (its result, if any, is discarded). On failure last_error_code() holds
  // the server/client error number.
  core::Status Execute(const std::string& sql) override;
  // Runs a query and returns every row as text (NULL -> nullopt).
  core::Result<std::vector<MysqlRow>> Query(const std::string& sql);

  bool supports_load_data() const override { return true; }
  core::Status BeginLoad(const std::string& sql) override;
  void AppendLoad(std::string_view piece) override;
  core::Status EndLoad(unsigned int* warnings) override;
  void AbortLoad() override;

  core::Status Commit();
  // Escapes string literals for this connection (its character set and sql_mode); valid until
  // Close() or the next Connect().
  StringEscaper escaper() const override;
  // Best effort: errors are ignored (the connection may be gone).
  void Rollback();

  // The server's connection id (for KILL in tests), 0 when unknown.
  uint64_t connection_id() const { return connection_id_; }
  // The server version text, e.g. "10.11.6-MariaDB-0+deb12u1".
  const std::string& server_version() const { return server_version_; }
  bool is_mariadb() const { return server_version_.find("MariaDB") != std::string::npos; }
  int last_error_code() const override { return last_error_code_; }
  const std::string& last_error_message() const override { return last_error_message_; }

  void Close();

 private:
  // Records the connection's error and maps it, prefixed by `context`.
  core::Status Fail(std::string_view context);
  static core::Status LoadOpenError();

  mysql::MysqlPtr conn_;
  // The connection's local-infile handler and the load in progress (its thread uses conn_).
  StreamingLoad load_;
  uint64_t connection_id_ = 0;
  std::string server_version_;
  int last_error_code_ = 0;
  std::string last_error_message_;
};

}  // namespace sluice::sinks::mysql_sink
