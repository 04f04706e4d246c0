// MysqlConnection: a thin RAII wrapper over one libmariadb MYSQL handle — the seam between the
// connector and the client library. Maps client errors to Status codes by what the caller should
// do (access denied -> kUnauthenticated, missing privilege -> kFailedPrecondition, lost
// connection -> kUnavailable).
//
// Lifecycle: Connect() once, then queries; the destructor closes. Thread-safety: one thread at a
// time, except Cancel(), which may be called from any thread to unblock a blocked read.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

struct st_mysql;
struct st_mysql_res;

namespace sluice::mysql {

struct ConnectionParams {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string user;
  std::string password;
  std::string ssl_mode = "preferred";  // disabled, preferred, required, verify_ca, verify_identity
  int connect_timeout_s = 30;
  // Longest wait for one network read before the connection counts as lost (CR_SERVER_LOST,
  // kUnavailable); 0 waits forever. The binlog connection sets it to a few heartbeat periods,
  // so that a half-open connection (no event, no heartbeat) is noticed.
  int read_timeout_s = 0;
};

// One row of a small result: NULL is nullopt.
using ResultRow = std::vector<std::optional<std::string>>;

class MysqlConnection {
 public:
  MysqlConnection();
  ~MysqlConnection();
  MysqlConnection(const MysqlConnection&) = delete;
  MysqlConnection& operator=(const MysqlConnection&) = delete;

  // Connects with utf8mb4 and session time zone UTC. kUnauthenticated for a wrong password,
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
  st_mysql* raw() { return mysql_; }

  // The Status for the handle's current error, with `context`.
  core::Status Error(std::string_view context);

 private:
  st_mysql* mysql_ = nullptr;
  st_mysql_res* stream_ = nullptr;
  unsigned int stream_fields_ = 0;
  core::Status stream_status_;
  bool is_mariadb_ = true;
};

// Maps a server/client error number to a status code.
core::StatusCode CodeForMysqlError(unsigned int error_number);

// Backtick-quotes an identifier: `a``b`.
std::string QuoteIdentifier(std::string_view name);

}  // namespace sluice::mysql
