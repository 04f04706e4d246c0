#include "connectors/mysql/mysql_connection.h"

#include <mysql.h>

namespace sluice::mysql {

core::StatusCode CodeForMysqlError(unsigned int e) {
  switch (e) {
    case 1045:  // ER_ACCESS_DENIED_ERROR
    case 1698:  // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
      return core::StatusCode::kUnauthenticated;
    case 1044:  // ER_DBACCESS_DENIED_ERROR
    case 1142:  // ER_TABLEACCESS_DENIED_ERROR
    case 1143:  // ER_COLUMNACCESS_DENIED_ERROR
    case 1227:  // ER_SPECIFIC_ACCESS_DENIED_ERROR
      return core::StatusCode::kFailedPrecondition;
    case 1236:  // ER_MASTER_FATAL_ERROR_READING_BINLOG (purged or unknown binlog)
      return core::StatusCode::kFailedPrecondition;
    // libmariadb's binlog errors (errmsg.h, CER_MIN_ERROR 5000 and up).
    case 5017:  // CR_ERR_BINLOG_UNCOMPRESS: a compressed event we cannot read
    case 5019:  // CR_ERR_UNSUPPORTED_BINLOG_FORMAT
    case 5020:  // CR_UNKNOWN_BINLOG_EVENT: an event type the client does not know, not ignorable
    case 5022:  // CR_BINLOG_INVALID_FILE
      return core::StatusCode::kFailedPrecondition;
    case 5018:  // CR_ERR_CHECKSUM_VERIFICATION_ERROR
      return core::StatusCode::kDataLoss;
    case 5013:  // CR_ERR_NET_READ
    case 5021:  // CR_BINLOG_ERROR ("packet corrupted"): read it again after reconnecting
      return core::StatusCode::kUnavailable;
    case 1205:  // lock wait timeout
    case 1213:  // deadlock
    case 1040:  // too many connections
    case 1053:  // server shutdown
    case 2002:  // CR_CONNECTION_ERROR
    case 2003:  // CR_CONN_HOST_ERROR
    case 2005:  // CR_UNKNOWN_HOST
    case 2006:  // CR_SERVER_GONE_ERROR
    case 2013:  // CR_SERVER_LOST
    case 2055:  // CR_SERVER_LOST_EXTENDED
    case 1927:  // ER_CONNECTION_KILLED
      return core::StatusCode::kUnavailable;
    default:
      return e >= 2000 && e < 3000 ? core::StatusCode::kUnavailable : core::StatusCode::kInternal;
  }
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out.push_back('`');
    out.push_back(c);
  }
  out.push_back('`');
  return out;
}

MysqlConnection::MysqlConnection() = default;

MysqlConnection::~MysqlConnection() {
  EndStream();
  if (mysql_ != nullptr) mysql_close(mysql_);
}

core::Status MysqlConnection::Error(std::string_view context) {
  unsigned int e = mysql_ != nullptr ? mysql_errno(mysql_) : 2006;
  std::string msg = mysql_ != nullptr ? mysql_error(mysql_) : "no connection";
  std::string hint;
  if (e == 1045) hint = "; check database.user and database.password";
  if (e == 1227 || e == 1142 || e == 1044) {
    hint = "; the connector's user needs SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT "
           "(BINLOG MONITOR on MariaDB)";
  }
  return {CodeForMysqlError(e), std::string(context) + ": " + msg + " (error " +
                                    std::to_string(e) + ")" + hint};
}

core::Status MysqlConnection::Connect(const ConnectionParams& p) {
  if (mysql_ != nullptr) mysql_close(mysql_);
  mysql_ = mysql_init(nullptr);
  if (mysql_ == nullptr) return core::ResourceExhaustedError("mysql_init failed");
  unsigned int timeout = static_cast<unsigned int>(p.connect_timeout_s);
  mysql_optionsv(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  if (p.read_timeout_s > 0) {
    unsigned int read_timeout = static_cast<unsigned int>(p.read_timeout_s);
    mysql_optionsv(mysql_, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
  }
  mysql_optionsv(mysql_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (p.ssl_mode == "disabled") {
    my_bool off = 0;
    mysql_optionsv(mysql_, MYSQL_OPT_SSL_ENFORCE, &off);
  } else if (p.ssl_mode != "preferred") {
    my_bool on = 1;
    mysql_optionsv(mysql_, MYSQL_OPT_SSL_ENFORCE, &on);
    if (p.ssl_mode == "verify_ca" || p.ssl_mode == "verify_identity") {
      mysql_optionsv(mysql_, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
    }
  }
  if (mysql_real_connect(mysql_, p.host.c_str(), p.user.c_str(), p.password.c_str(), nullptr,
                         static_cast<unsigned int>(p.port), nullptr, 0) == nullptr) {
    return Error("mysql connect to " + p.host + ":" + std::to_string(p.port));
  }
  std::string version = mysql_get_server_info(mysql_);
  is_mariadb_ = version.find("MariaDB") != std::string::npos;
  return Execute("SET time_zone = '+00:00'");
}

core::Status MysqlConnection::Execute(std::string_view sql) {
  if (mysql_ == nullptr) return core::UnavailableError("mysql: not connected");
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
    return Error("mysql query \"" + std::string(sql.substr(0, 120)) + "\"");
  }
  // Drain any result (e.g. SET returns none, SHOW returns one).
  do {
    MYSQL_RES* res = mysql_store_result(mysql_);
    if (res != nullptr) mysql_free_result(res);
  } while (mysql_next_result(mysql_) == 0);
  return core::Status::Ok();
}

core::Result<std::vector<ResultRow>> MysqlConnection::Query(std::string_view sql) {
  if (mysql_ == nullptr) return core::UnavailableError("mysql: not connected");
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
    return Error("mysql query \"" + std::string(sql.substr(0, 120)) + "\"");
  }
  MYSQL_RES* res = mysql_store_result(mysql_);
  std::vector<ResultRow> rows;
  if (res == nullptr) {
    if (mysql_field_count(mysql_) != 0) return Error("mysql result");
    return rows;
  }
  unsigned int n = mysql_num_fields(res);
  while (MYSQL_ROW row = mysql_fetch_row(res)) {
    unsigned long* lengths = mysql_fetch_lengths(res);
    ResultRow r(n);
    for (unsigned int i = 0; i < n; ++i) {
      if (row[i] != nullptr) r[i] = std::string(row[i], lengths[i]);
    }
    rows.push_back(std::move(r));
  }
  mysql_free_result(res);
  return rows;
}

core::Status MysqlConnection::StartStream(std::string_view sql) {
  EndStream();
  if (mysql_ == nullptr) return core::UnavailableError("mysql: not connected");
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
    return Error("mysql query \"" + std::string(sql.substr(0, 120)) + "\"");
  }
  stream_ = mysql_use_result(mysql_);
  if (stream_ == nullptr) return Error("mysql streamed result");
  stream_fields_ = mysql_num_fields(stream_);
  stream_status_ = core::Status::Ok();
  return core::Status::Ok();
}

bool MysqlConnection::NextRow(char**& values, unsigned long*& lengths) {
  if (stream_ == nullptr) return false;
  MYSQL_ROW row = mysql_fetch_row(stream_);
  if (row == nullptr) {
    if (mysql_errno(mysql_) != 0) stream_status_ = Error("mysql streamed read");
    return false;
  }
  values = row;
  lengths = mysql_fetch_lengths(stream_);
  return true;
}

void MysqlConnection::EndStream() {
  if (stream_ != nullptr) {
    mysql_free_result(stream_);  // reads and discards what is left
    stream_ = nullptr;
  }
}

std::string MysqlConnection::Quote(std::string_view value) {
  std::string out(value.size() * 2 + 3, '\0');
  out[0] = '\'';
  unsigned long n = mysql_ != nullptr
                        ? mysql_real_escape_string(mysql_, out.data() + 1, value.data(), value.size())
                        : 0;
  out.resize(n + 1);
  out.push_back('\'');
  return out;
}

void MysqlConnection::Cancel() {
  if (mysql_ != nullptr) mariadb_cancel(mysql_);
}

}  // namespace sluice::mysql
