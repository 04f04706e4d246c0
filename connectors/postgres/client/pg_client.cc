#include "connectors/postgres/client/pg_client.h"

namespace sluice::pg {
namespace {

std::string Trimmed(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string Quoted(std::string_view text, std::string_view open, bool double_backslash) {
  std::string out;
  out.reserve(text.size() + open.size() + 1);
  out += open;
  for (char c : text) {
    if (c == '\'' || (double_backslash && c == '\\')) out.push_back(c);
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace

std::string QuoteIdent(std::string_view ident) {
  std::string out;
  out.reserve(ident.size() + 2);
  out.push_back('"');
  for (char c : ident) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string QuoteLiteral(std::string_view text) {
  // Without a backslash '...' reads the same under either standard_conforming_strings setting.
  if (text.find('\\') == std::string_view::npos) return Quoted(text, "'", false);
  return Quoted(text, "E'", true);
}

std::string QuoteReplicationLiteral(std::string_view text) { return Quoted(text, "'", false); }

core::StatusCode ClassifySqlState(std::string_view sqlstate, bool connection_bad) {
  using core::StatusCode;
  if (connection_bad) return StatusCode::kUnavailable;
  if (sqlstate.size() != 5) return StatusCode::kUnavailable;  // no server answer: the link
  std::string_view cls = sqlstate.substr(0, 2);
  if (cls == "08") return StatusCode::kUnavailable;
  if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") {
    return StatusCode::kUnavailable;
  }
  if (sqlstate == "57014") return StatusCode::kCancelled;
  if (sqlstate == "40P01" || sqlstate == "40001" || sqlstate == "55P03") {
    return StatusCode::kAborted;
  }
  if (cls == "53") return StatusCode::kAborted;
  return StatusCode::kFailedPrecondition;
}

std::string ConnectionMessage(PGconn* conn) {
  return conn ? Trimmed(PQerrorMessage(conn)) : "not connected";
}

core::Status StatusFromPg(PGconn* conn, const PGresult* res, std::string_view context,
                          std::string* sqlstate) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string code = state ? state : "";
  std::string message = Trimmed(res ? PQresultErrorMessage(res) : nullptr);
  if (message.empty()) message = ConnectionMessage(conn);
  bool bad = conn == nullptr || PQstatus(conn) != CONNECTION_OK;
  std::string text = std::string(context) + ": " + message;
  if (!code.empty()) text += " (sqlstate " + code + ")";
  core::StatusCode status = ClassifySqlState(code, bad);
  if (sqlstate) *sqlstate = std::move(code);
  return core::Status(status, std::move(text));
}

core::Status FinishCopyIn(PGconn* conn, const std::function<std::string(const PGresult*)>& what,
                          std::string* sqlstate) {
  if (sqlstate) sqlstate->clear();
  if (conn == nullptr || PQputCopyEnd(conn, nullptr) != 1) {
    return core::UnavailableError(what(nullptr) + ": " + ConnectionMessage(conn));
  }
  core::Status result;
  bool have_error = false;
  while (PGresult* raw = PQgetResult(conn)) {
    PgResultPtr r(raw);
    if (PQresultStatus(raw) != PGRES_COMMAND_OK && !have_error) {
      result = StatusFromPg(conn, raw, what(raw), sqlstate);
      have_error = true;
    }
  }
  if (!have_error && PQstatus(conn) != CONNECTION_OK) {
    return core::UnavailableError(what(nullptr) + ": " + ConnectionMessage(conn));
  }
  return result;
}

}  // namespace sluice::pg
