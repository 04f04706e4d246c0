#include "sinks/postgres/pg_connection.h"

#include <cstring>

#include "core/redact.h"

namespace sluice::sinks::pgsink {

using core::Status;
using core::StatusCode;

Status PgConnection::Connect(const std::string& url) {
  Close();
  conn_ = PQconnectdb(url.c_str());
  if (conn_ == nullptr) return core::ResourceExhaustedError("libpq could not allocate a connection");
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn_);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    Close();
    // libpq quotes the whole token with a bad percent-escape, which is often the password.
    if (message.find("invalid percent-encoded token") != std::string::npos) {
      return core::InvalidArgumentError(
          "postgres sink: bad sink.url: a percent-escape in it is malformed; write a literal '%' "
          "as %25 (the URL is not shown: the bad escape may be in its password)");
    }
    // Other libpq errors may quote pieces of the URL, its password included.
    message = core::RedactSecrets(message, core::ConnectionStringSecrets(url));
    if (message.find("password authentication failed") != std::string::npos ||
        message.find("no password supplied") != std::string::npos) {
      return core::UnauthenticatedError("postgres sink: " + message);
    }
    if (message.find("invalid URI") != std::string::npos ||
        message.find("invalid connection option") != std::string::npos ||
        message.find("missing \"=\"") != std::string::npos) {
      return core::InvalidArgumentError("postgres sink: bad sink.url: " + message);
    }
    return core::UnavailableError("postgres sink: cannot connect: " + message);
  }
  // Canonical value texts are UTC and ISO; make the session agree whatever the server default.
  auto r = Exec(
      "SET client_encoding = 'UTF8'; SET datestyle = 'ISO, YMD'; SET intervalstyle = "
      "'iso_8601'; SET timezone = 'UTC'; SET extra_float_digits = 3; "
      "SET client_min_messages = warning");
  if (!r.ok()) return r.status();
  return Status::Ok();
}

void PgConnection::Close() {
  if (conn_ != nullptr) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
}

Status PgConnection::ErrorFrom(const PGresult* result, std::string_view what) {
  return pg::StatusFromPg(conn_, result, what, &last_sqlstate_);
}

Status PgConnection::ConnectionError(std::string_view what) {
  last_sqlstate_.clear();
  return core::UnavailableError(std::string(what) + ": " + pg::ConnectionMessage(conn_));
}

core::Result<PgResult> PgConnection::Exec(const std::string& sql) {
  if (conn_ == nullptr) return core::UnavailableError("postgres sink: not connected");
  PgResult r(PQexec(conn_, sql.c_str()));
  if (!r) return ConnectionError("postgres sink");
  auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return ErrorFrom(r.get(), "postgres sink");
  return r;
}

core::Result<PgResult> PgConnection::ExecParams(const std::string& sql,
                                                const std::vector<const char*>& params) {
  if (conn_ == nullptr) return core::UnavailableError("postgres sink: not connected");
  PgResult r(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                          params.data(), nullptr, nullptr, 0));
  if (!r) return ConnectionError("postgres sink");
  auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return ErrorFrom(r.get(), "postgres sink");
  return r;
}

Status PgConnection::BeginCopy(const std::string& copy_sql) {
  if (conn_ == nullptr) return core::UnavailableError("postgres sink: not connected");
  PgResult r(PQexec(conn_, copy_sql.c_str()));
  if (!r) return ConnectionError("postgres sink copy");
  if (PQresultStatus(r.get()) != PGRES_COPY_IN) return ErrorFrom(r.get(), "postgres sink copy");
  return Status::Ok();
}

Status PgConnection::PutCopy(std::string_view data) {
  if (data.empty()) return Status::Ok();
  if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1) {
    return ConnectionError("postgres sink copy");
  }
  return Status::Ok();
}

Status PgConnection::EndCopy(const std::function<std::string(const PGresult*)>& what) {
  return pg::FinishCopyIn(conn_, what, &last_sqlstate_);
}

}  // namespace sluice::sinks::pgsink
