#include "connectors/mysql/mysql_connection.h"

#include <mysql.h>

namespace sluice::mysql {

MysqlConnection::MysqlConnection() = default;

MysqlConnection::~MysqlConnection() { EndStream(); }

namespace {

// The connector's own advice for the operator, after the server's message.
core::Status WithOperatorHint(core::Status s) {
  if (s.code() == core::StatusCode::kUnauthenticated) {
    // MariaDB says the same for a user created REQUIRE SSL or X509 that came without TLS or
    // without its client certificate.
    return {s.code(), s.message() + "; check database.user and database.password (and, for a "
                                    "user that requires TLS, database.sslmode, database.sslcert "
                                    "and database.sslkey)"};
  }
  if (s.code() == core::StatusCode::kPermissionDenied) {
    return {s.code(), s.message() + "; the connector's user needs SELECT, RELOAD, REPLICATION "
                                    "SLAVE, REPLICATION CLIENT (BINLOG MONITOR on MariaDB)"};
  }
  return s;
}

}  // namespace

core::Status MysqlConnection::Error(std::string_view context) {
  return WithOperatorHint(StatusFromMysql(mysql_.get(), context));
}

core::Status MysqlConnection::Connect(const ConnectionParams& p) {
  EndStream();
  mysql_.reset();
  const std::string where = "mysql connect to " + p.host + ":" + std::to_string(p.port);
  auto conn = ConnectMysql(p, where);
  if (!conn.ok()) return WithOperatorHint(conn.status());
  mysql_ = std::move(*conn);
  std::string version = mysql_get_server_info(mysql_.get());
  is_mariadb_ = version.find("MariaDB") != std::string::npos;
  return core::Status::Ok();
}

core::Status MysqlConnection::Execute(std::string_view sql) {
  if (!mysql_) return core::UnavailableError("mysql: not connected");
  if (mysql_real_query(mysql_.get(), sql.data(), sql.size()) != 0) {
    return Error("mysql query \"" + std::string(sql.substr(0, 120)) + "\"");
  }
  // Drain any result (e.g. SET returns none, SHOW returns one).
  do {
    MysqlResultPtr res(mysql_store_result(mysql_.get()));
  } while (mysql_next_result(mysql_.get()) == 0);
  return core::Status::Ok();
}

core::Result<std::vector<ResultRow>> MysqlConnection::Query(std::string_view sql) {
  if (!mysql_) return core::UnavailableError("mysql: not connected");
  if (mysql_real_query(mysql_.get(), sql.data(), sql.size()) != 0) {
    return Error("mysql query \"" + std::string(sql.substr(0, 120)) + "\"");
  }
  MysqlResultPtr res(mysql_store_result(mysql_.get()));
  std::vector<ResultRow> rows;
  if (!res) {
    if (mysql_field_count(mysql_.get()) != 0) return Error("mysql result");
    return rows;
  }
  unsigned int n = mysql_num_fields(res.get());
  while (MYSQL_ROW row = mysql_fetch_row(res.get())) {
    unsigned long* lengths = mysql_fetch_lengths(res.get());
    ResultRow r(n);
    for (unsigned int i = 0; i < n; ++i) {
      if (row[i] != nullptr) r[i] = std::string(row[i], lengths[i]);
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

core::Status MysqlConnection::StartStream(std::string_view sql) {
  EndStream();
  if (!mysql_) return core::UnavailableError("mysql: not connected");
  if (mysql_real_query(mysql_.get(), sql.data(), sql.size()) != 0) {
    return Error("mysql query \"" + std::string(sql.substr(0, 120)) + "\"");
  }
  stream_.reset(mysql_use_result(mysql_.get()));
  if (!stream_) return Error("mysql streamed result");
  stream_fields_ = mysql_num_fields(stream_.get());
  stream_status_ = core::Status::Ok();
  return core::Status::Ok();
}

bool MysqlConnection::NextRow(char**& values, unsigned long*& lengths) {
  if (!stream_) return false;
  MYSQL_ROW row = mysql_fetch_row(stream_.get());
  if (row == nullptr) {
    if (mysql_errno(mysql_.get()) != 0) stream_status_ = Error("mysql streamed read");
    return false;
  }
  values = row;
  lengths = mysql_fetch_lengths(stream_.get());
  return true;
}

void MysqlConnection::EndStream() { stream_.reset(); }  // reads and discards what is left

std::string MysqlConnection::Quote(std::string_view value) {
  if (!mysql_) return "''";  // not connected: nothing will run the statement
  return StringEscaper(mysql_.get()).Quoted(value);
}

void MysqlConnection::Cancel() {
  if (mysql_) mariadb_cancel(mysql_.get());
}

}  // namespace sluice::mysql
