// PgConnection: a thin RAII wrapper over one libpq connection (PGconn), the seam between the
// PostgreSQL source and libpq. Regular connections run catalog queries and COPY; replication
// connections (replication=database) run CREATE_REPLICATION_SLOT / START_REPLICATION and the
// CopyBoth stream.
//
// Every connection is opened with canonical session settings (DateStyle=ISO, TimeZone=UTC,
// IntervalStyle=iso_8601, extra_float_digits=3, bytea_output=hex, client_encoding=UTF8) passed
// as `options=-c …` in the conninfo, so a walsender's pgoutput text values come out in the same
// form as a snapshot's COPY text. A regular connection then runs the user's
// database.initial.statements and sets those settings again, so that a statement cannot change
// the text of the values read; a failing statement fails Connect (kFailedPrecondition naming it).
//
// Lifecycle: Connect() once, then queries; the destructor closes. Cancel() may be called from
// another thread (it uses a PGcancel object prepared at connect time) to interrupt a blocking
// call; everything else is single-threaded.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/postgres/client/pg_client.h"
#include "core/status.h"

namespace sluice::pg {

struct ConnectionParams {
  std::string host = "127.0.0.1";
  int port = 5432;
  std::string user;
  std::string password;
  std::string dbname;
  std::string sslmode;  // empty: libpq default
  // Files for TLS (database.sslrootcert, database.sslcert, database.sslkey) and the client
  // key's passphrase (database.sslpassword); empty: libpq's defaults (~/.postgresql/…).
  std::string sslrootcert;
  std::string sslcert;
  std::string sslkey;
  std::string sslpassword;
  int connect_timeout_s = 30;
  std::string application_name = "sluice";
  // database.initial.statements: run in order on every regular (not replication) connection
  // right after it opens; the pinned session settings are set again after them.
  std::vector<std::string> initial_statements;
};

// A query result: rows of optional text values (nullopt = NULL).
using PgRow = std::vector<std::optional<std::string>>;
using PgRows = std::vector<PgRow>;

// PgResultPtr, QuoteIdent, QuoteLiteral and StatusFromPg come from the shared client layer
// (client/pg_client.h).

class PgConnection {
 public:
  PgConnection() = default;
  ~PgConnection() { Close(); }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Connects; `replication` opens a logical replication connection. Errors:
  // kUnauthenticated (password), kPermissionDenied (no REPLICATION privilege / pg_hba),
  // kUnavailable (server unreachable), kFailedPrecondition (database missing).
  core::Status Connect(const ConnectionParams& params, bool replication);
  void Close();
  bool connected() const { return conn_ != nullptr; }
  PGconn* raw() { return conn_; }

  // Runs a statement (simple query protocol); a failure is coded by ClassifySqlState
  // (client/pg_client.h): kUnavailable when the connection broke, kAborted on a deadlock or
  // serialization failure, else kFailedPrecondition with the server's message.
  core::Status Exec(std::string_view sql);
  core::Result<PgRows> Query(std::string_view sql);
  // Runs `sql` and returns the raw result (for commands such as CREATE_REPLICATION_SLOT).
  core::Result<PgResultPtr> QueryRaw(std::string_view sql);

  // Interrupts a running query from any thread; harmless when idle.
  void Cancel();

  // The server's message for the last failure on this connection.
  std::string LastError() const;

 private:
  core::Status ResultStatus(PGresult* res, std::string_view sql);
  // database.initial.statements, then the pinned settings again.
  core::Status RunInitialStatements(const ConnectionParams& params);

  PGconn* conn_ = nullptr;
  std::mutex cancel_mu_;
  PGcancel* cancel_ = nullptr;
};

}  // namespace sluice::pg
