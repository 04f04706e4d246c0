// PgConnection: a thin RAII wrapper over one libpq connection to the target database, with the
// few operations the PostgreSQL sink needs (simple and parameterized statements, COPY FROM
// STDIN, pipeline mode) and the mapping of libpq/SQLSTATE failures to Sluice status codes.
//
// Lifecycle: Connect() -> calls -> destructor (or Close()). After a failure with
// kUnavailable the connection may be dead: the owner calls Close() and Connect() again.
// Thread-safety: none; one thread at a time (the sink thread).
#pragma once

#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/postgres/client/pg_client.h"
#include "core/status.h"

namespace sluice::sinks::pgsink {

// libpq handles, quoting and the SQLSTATE -> status code map are the shared client layer's
// (connectors/postgres/client/pg_client.h).
using PgResult = pg::PgResultPtr;

class PgConnection {
 public:
  PgConnection() = default;
  ~PgConnection() { Close(); }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Connects to `url` (a libpq URI or key=value string). kUnavailable when the server cannot be
  // reached, kUnauthenticated on a bad password, kInvalidArgument on a malformed URL.
  core::Status Connect(const std::string& url);
  void Close();
  bool connected() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }
  PGconn* raw() const { return conn_; }

  // Runs one or more statements without parameters; the result of the last.
  core::Result<PgResult> Exec(const std::string& sql);
  // One statement with text parameters (nullptr = NULL); the result.
  core::Result<PgResult> ExecParams(const std::string& sql,
                                    const std::vector<const char*>& params);

  // COPY FROM STDIN: starts `copy_sql`, then PutCopy() data, then EndCopy() which returns the
  // COPY's outcome (the server's error, e.g. a unique violation, with its SQLSTATE kept), named
  // by `what` (called with the failed result, e.g. to name the rejected row).
  core::Status BeginCopy(const std::string& copy_sql);
  core::Status PutCopy(std::string_view data);
  core::Status EndCopy(const std::function<std::string(const PGresult*)>& what);

  // The status for a failed result, "<what>: <server message>"; keeps the SQLSTATE in
  // last_sqlstate().
  core::Status ErrorFrom(const PGresult* result, std::string_view what);
  // The status for a failure without a result (the connection).
  core::Status ConnectionError(std::string_view what);
  const std::string& last_sqlstate() const { return last_sqlstate_; }

 private:
  PGconn* conn_ = nullptr;
  std::string last_sqlstate_;
};

}  // namespace sluice::sinks::pgsink
