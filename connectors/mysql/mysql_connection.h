// MysqlConnection: a thin RAII wrapper over one libmariadb MYSQL handle — the seam between the
// connector and the client library. Connecting, quoting and the error -> status map are the
// shared client layer's (connectors/mysql/client: access denied -> kUnauthenticated, missing
// privilege -> kPermissionDenied, lost connection -> kUnavailable, deadlock -> kAborted); this
// class adds the source's streamed reads, Cancel() and its operator hints.
//
// Lifecycle: Connect() once, then queries; the destructor closes. Thread-safety: one thread at a
// time, except Cancel(), which may be called from any thread to unblock a blocked read.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/mysql/client/mysql_client.h"
#include "core/status.h"

namespace sluice::mysql {

// Where to connect. The source's sessions keep the defaults of ConnectOptions: sql_mode '' (no
// mode that changes how its queries parse or what they read), autocommit on, utf8mb4, UTC.
using ConnectionParams = ConnectOptions;

// One row of a small result: NULL is nullopt.
using ResultRow = std::vector<std::optional<std::string>>;

class MysqlConnection {
 public:
  MysqlConnection();
  ~MysqlConnection();
  MysqlConnection(const MysqlConnection&) = delete;
  MysqlConnection& operator=(const MysqlConnection&) = delete;

  // Connects with the canonical session (ConnectMysql). kUnauthenticated for a wrong password,
  // kUnavailable when the server cannot be reached.
  core::Status Connect(const ConnectionParams& params);

  core::Status Execute(std::string_view sql);
  // Runs `sql` and returns every row (for small metadata queries).
  core::Result<std::vector<ResultRow>> Query(std::string_view sql);

  // Starts a streamed (unbuffered, mysql_use_result) query; fetch rows with NextRow until it
  // returns false. Only one stream may be open; others queries must wait until it is drained.
  core::Status StartStream(std::string_view sql);
  // Next row of the stream: `values[i]` is nullptr for NULL; `lengths[i]` its byte length.
  // Returns false at the end (check stream_status()).
  bool NextRow(char**& values, unsigned long*& lengths);
  const core::Status& stream_status() const { return stream_status_; }
  unsigned int stream_field_count() const { return stream_fields_; }
  void EndStream();

  // Quotes a string literal ('...') with the connection's escaping rules.
  std::string Quote(std::string_view value);

  // Unblocks a blocked network read from another thread (shuts the socket down).
  void Cancel();

  bool is_mariadb() const { return is_mariadb_; }
  st_mysql* raw() { return mysql_.get(); }

  // The Status for the handle's current error, with `context`.
  core::Status Error(std::string_view context);

 private:
  MysqlPtr mysql_;
  MysqlResultPtr stream_;
  unsigned int stream_fields_ = 0;
  core::Status stream_status_;
  bool is_mariadb_ = true;
};

}  // namespace sluice::mysql
