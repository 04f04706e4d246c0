#include "connectors/postgres/pg_connection.h"

#include <cstring>
#include <utility>

namespace sluice::pg {
namespace {

// conninfo values are single-quoted with backslash escapes (libpq "Connection Strings").
std::string ConnValue(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

bool Contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

std::string Trimmed(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The session settings every connection pins: the canonical text of every value.
constexpr std::pair<std::string_view, std::string_view> kPinnedSettings[] = {
    {"DateStyle", "ISO"},       {"TimeZone", "UTC"},    {"IntervalStyle", "iso_8601"},
    {"extra_float_digits", "3"}, {"bytea_output", "hex"}, {"client_encoding", "UTF8"}};

std::string PinnedOptions() {
  std::string out;
  for (const auto& [name, value] : kPinnedSettings) {
    if (!out.empty()) out += ' ';
    out += "-c " + std::string(name) + "=" + std::string(value);
  }
  return out;
}

std::string PinnedSetStatements() {
  std::string out;
  for (const auto& [name, value] : kPinnedSettings) {
    out += "SET " + std::string(name) + " TO '" + std::string(value) + "';";
  }
  return out;
}

}  // namespace

core::Status PgConnection::RunInitialStatements(const ConnectionParams& p) {
  for (const std::string& statement : p.initial_statements) {
    PgResultPtr res(PQexec(conn_, statement.c_str()));
    ExecStatusType st = PQresultStatus(res.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string msg = Trimmed(PQresultErrorMessage(res.get()));
      if (msg.empty()) msg = LastError();
      return core::FailedPreconditionError(
          "database.initial.statements: the statement '" + statement.substr(0, 200) +
          "' failed on the postgres connection to " + p.host + ":" + std::to_string(p.port) + "/" +
          p.dbname + ": " + msg + "; fix or remove it");
    }
  }
  // Session settings only: a transaction left open would hold the snapshot's BEGIN.
  if (PQtransactionStatus(conn_) != PQTRANS_IDLE) {
    return core::FailedPreconditionError(
        "database.initial.statements: the statements leave a transaction open on the postgres "
        "connection to " + p.host + ":" + std::to_string(p.port) + "/" + p.dbname +
        "; they are for session settings: end it or remove the BEGIN");
  }
  // The statements may have changed what Sluice pins: set it again.
  return Exec(PinnedSetStatements());
}

core::Status PgConnection::Connect(const ConnectionParams& p, bool replication) {
  Close();
  std::string ci = "host=" + ConnValue(p.host) + " port=" + std::to_string(p.port) +
                   " dbname=" + ConnValue(p.dbname) +
                   " connect_timeout=" + std::to_string(p.connect_timeout_s) +
                   " application_name=" + ConnValue(p.application_name) +
                   // Canonical text for every value, snapshot and walsender alike.
                   " options=" + ConnValue(PinnedOptions()) +
                   " client_encoding=UTF8";
  if (!p.user.empty()) ci += " user=" + ConnValue(p.user);
  if (!p.password.empty()) ci += " password=" + ConnValue(p.password);
  if (!p.sslmode.empty()) ci += " sslmode=" + ConnValue(p.sslmode);
  if (!p.sslrootcert.empty()) ci += " sslrootcert=" + ConnValue(p.sslrootcert);
  if (!p.sslcert.empty()) ci += " sslcert=" + ConnValue(p.sslcert);
  if (!p.sslkey.empty()) ci += " sslkey=" + ConnValue(p.sslkey);
  if (!p.sslpassword.empty()) ci += " sslpassword=" + ConnValue(p.sslpassword);
  if (replication) ci += " replication=database";
  PGconn* conn = PQconnectdb(ci.c_str());
  if (conn == nullptr) return core::ResourceExhaustedError("postgres: out of memory connecting");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = Trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    std::string where = "postgres connection to " + p.host + ":" + std::to_string(p.port) + "/" +
                        p.dbname + " as '" + p.user + "'";
    if (Contains(msg, "password authentication failed") || Contains(msg, "no password supplied") ||
        Contains(msg, "authentication failed")) {
      return core::UnauthenticatedError(where + ": " + msg +
                                        "; check database.user and database.password");
    }
    if (Contains(msg, "replication role") || Contains(msg, "permission denied to start WAL") ||
        Contains(msg, "REPLICATION")) {
      return core::FailedPreconditionError(
          where + ": " + msg + "; grant it with ALTER ROLE " + QuoteIdent(p.user) +
          " REPLICATION (or use a superuser)");
    }
    // TLS set-up: a certificate or key that cannot be read or does not verify, a server without
    // TLS where it is required. Retrying would not help.
    if (Contains(msg, "certificate") || Contains(msg, "private key") ||
        Contains(msg, "does not support SSL") || Contains(msg, "sslpassword")) {
      return core::FailedPreconditionError(
          where + ": " + msg +
          "; check database.sslmode, database.sslrootcert, database.sslcert, database.sslkey and "
          "database.sslpassword");
    }
    if (Contains(msg, "pg_hba.conf")) {
      return core::FailedPreconditionError(where + ": " + msg +
                                           "; allow the connection in pg_hba.conf");
    }
    if (Contains(msg, "does not exist")) {
      return core::FailedPreconditionError(where + ": " + msg + "; check database.dbname/user");
    }
    return core::UnavailableError(where + ": " + msg);
  }
  conn_ = conn;
  {
    std::lock_guard lock(cancel_mu_);
    cancel_ = PQgetCancel(conn_);
  }
  // Debezium runs them on its JDBC connections, never on the one reading the log.
  if (!replication && !p.initial_statements.empty()) {
    core::Status s = RunInitialStatements(p);
    if (!s.ok()) {
      Close();
      return s;
    }
  }
  return core::Status::Ok();
}

void PgConnection::Close() {
  {
    std::lock_guard lock(cancel_mu_);
    if (cancel_) PQfreeCancel(cancel_);
    cancel_ = nullptr;
  }
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
}

void PgConnection::Cancel() {
  std::lock_guard lock(cancel_mu_);
  if (cancel_) {
    char err[256];
    PQcancel(cancel_, err, sizeof(err));
  }
}

std::string PgConnection::LastError() const { return conn_ ? Trimmed(PQerrorMessage(conn_)) : ""; }

core::Status PgConnection::ResultStatus(PGresult* res, std::string_view sql) {
  ExecStatusType st = PQresultStatus(res);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_OUT ||
      st == PGRES_COPY_BOTH) {
    return core::Status::Ok();
  }
  std::string ctx = "postgres query '" + std::string(sql.substr(0, 120)) + "'";
  return StatusFromPg(conn_, res, ctx);
}

core::Result<PgResultPtr> PgConnection::QueryRaw(std::string_view sql) {
  if (!conn_) return core::UnavailableError("postgres: not connected");
  std::string q(sql);
  PgResultPtr res(PQexec(conn_, q.c_str()));
  SLUICE_RETURN_IF_ERROR(ResultStatus(res.get(), sql));
  return res;
}

core::Status PgConnection::Exec(std::string_view sql) {
  SLUICE_ASSIGN_OR_RETURN(PgResultPtr res, QueryRaw(sql));
  return core::Status::Ok();
}

core::Result<PgRows> PgConnection::Query(std::string_view sql) {
  SLUICE_ASSIGN_OR_RETURN(PgResultPtr res, QueryRaw(sql));
  PgRows rows;
  int n = PQntuples(res.get());
  int f = PQnfields(res.get());
  rows.reserve(n);
  for (int i = 0; i < n; ++i) {
    PgRow row;
    row.reserve(f);
    for (int j = 0; j < f; ++j) {
      if (PQgetisnull(res.get(), i, j)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(res.get(), i, j), PQgetlength(res.get(), i, j)));
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace sluice::pg
