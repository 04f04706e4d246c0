#include "connectors/mysql/client/mysql_client.h"

#include <errmsg.h>
#include <mysql.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <utility>

namespace sluice::mysql {

void MysqlDeleter::operator()(MYSQL* mysql) const { mysql_close(mysql); }
void MysqlResultDeleter::operator()(MYSQL_RES* res) const { mysql_free_result(res); }

MysqlErrorKind ClassifyMysqlErrorKind(unsigned int e) {
  switch (e) {
    case 0:     // a client-side failure without a number: the connection is unusable
    case 1040:  // ER_CON_COUNT_ERROR: too many connections
    case 1053:  // ER_SERVER_SHUTDOWN
    case 1152:  // ER_ABORTING_CONNECTION (1153, a packet over max_allowed_packet, is not transient)
    case 1154: case 1155: case 1156: case 1157: case 1158: case 1159: case 1160: case 1161:
      // ER_NET_READ_ERROR_FROM_PIPE .. ER_NET_WRITE_INTERRUPTED
    case 1317:  // ER_QUERY_INTERRUPTED (KILL QUERY, shutdown)
    case 1927:  // ER_CONNECTION_KILLED (MariaDB)
    case 5013:  // CR_ERR_NET_READ (libmariadb's binlog reader)
    case 5021:  // CR_BINLOG_ERROR ("packet corrupted"): read it again after reconnecting
      return MysqlErrorKind::kConnection;
    case 1205:  // ER_LOCK_WAIT_TIMEOUT
    case 1213:  // ER_LOCK_DEADLOCK
      return MysqlErrorKind::kConflict;
    case 1045:  // ER_ACCESS_DENIED_ERROR
    case 1698:  // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
      return MysqlErrorKind::kAuthentication;
    case 1044:  // ER_DBACCESS_DENIED_ERROR
    case 1142:  // ER_TABLEACCESS_DENIED_ERROR
    case 1143:  // ER_COLUMNACCESS_DENIED_ERROR
    case 1227:  // ER_SPECIFIC_ACCESS_DENIED_ERROR
      return MysqlErrorKind::kPrivilege;
    case 1048:  // ER_BAD_NULL_ERROR
    case 1062:  // ER_DUP_ENTRY (a unique index other than the primary key)
    case 1101:  // ER_BLOB_CANT_HAVE_DEFAULT
    case 1138:  // ER_INVALID_USE_OF_NULL
    case 1264:  // ER_WARN_DATA_OUT_OF_RANGE
    case 1265:  // WARN_DATA_TRUNCATED
    case 1292:  // ER_TRUNCATED_WRONG_VALUE (dates)
    case 1300:  // ER_INVALID_CHARACTER_STRING
    case 1366:  // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
    case 1367:  // ER_ILLEGAL_VALUE_FOR_TYPE
    case 1406:  // ER_DATA_TOO_LONG
    case 1411:  // ER_WRONG_VALUE_FOR_TYPE
    case 1451: case 1452:  // foreign key
    case 1690:  // ER_DATA_OUT_OF_RANGE
    case 3140:  // MySQL: ER_INVALID_JSON_TEXT
    case 4025:  // MariaDB: ER_CONSTRAINT_FAILED (CHECK, JSON_VALID)
      return MysqlErrorKind::kData;
    case 1236:  // ER_MASTER_FATAL_ERROR_READING_BINLOG (purged or unknown binlog)
    // libmariadb's binlog errors (errmsg.h, CER_MIN_ERROR 5000 and up).
    case 5017:  // CR_ERR_BINLOG_UNCOMPRESS: a compressed event we cannot read
    case 5019:  // CR_ERR_UNSUPPORTED_BINLOG_FORMAT
    case 5020:  // CR_UNKNOWN_BINLOG_EVENT: an event type the client does not know, not ignorable
    case 5022:  // CR_BINLOG_INVALID_FILE
      return MysqlErrorKind::kBinlog;
    case 5018:  // CR_ERR_CHECKSUM_VERIFICATION_ERROR
      return MysqlErrorKind::kChecksum;
    default:
      // 2000-2999 are the client library's own errors (CR_*): the link, not the statement.
      return e >= 2000 && e < 3000 ? MysqlErrorKind::kConnection : MysqlErrorKind::kUnknown;
  }
}

core::StatusCode ClassifyMysqlError(unsigned int e) {
  using core::StatusCode;
  switch (ClassifyMysqlErrorKind(e)) {
    case MysqlErrorKind::kConnection: return StatusCode::kUnavailable;
    case MysqlErrorKind::kConflict: return StatusCode::kAborted;
    case MysqlErrorKind::kAuthentication: return StatusCode::kUnauthenticated;
    case MysqlErrorKind::kPrivilege: return StatusCode::kPermissionDenied;
    case MysqlErrorKind::kChecksum: return StatusCode::kDataLoss;
    case MysqlErrorKind::kData:
    case MysqlErrorKind::kBinlog:
    case MysqlErrorKind::kUnknown: break;
  }
  return StatusCode::kFailedPrecondition;
}

core::Status StatusFromMysql(unsigned int e, std::string_view message, std::string_view context) {
  std::string text;
  text.reserve(context.size() + message.size() + 24);
  text.append(context).append(": ").append(message);
  text += " (mysql error " + std::to_string(e) + ")";
  return {ClassifyMysqlError(e), std::move(text)};
}

core::Status StatusFromMysql(MYSQL* mysql, std::string_view context) {
  if (mysql == nullptr) return StatusFromMysql(2006, "not connected", context);
  return StatusFromMysql(mysql_errno(mysql), mysql_error(mysql), context);
}

void AppendQuotedIdentifier(std::string& out, std::string_view name) {
  out.push_back('`');
  for (char c : name) {
    if (c == '`') out.push_back('`');
    out.push_back(c);
  }
  out.push_back('`');
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  AppendQuotedIdentifier(out, name);
  return out;
}

void StringEscaper::AppendQuoted(std::string& out, std::string_view text) const {
  // mysql_real_escape_string writes at most 2 * length + 1 bytes; the statement buffer grows
  // geometrically, so this allocates only when the statement outgrows its capacity.
  const size_t at = out.size();
  out.resize(at + 2 * text.size() + 3);
  out[at] = '\'';
  unsigned long n =
      mysql_real_escape_string(mysql_, out.data() + at + 1, text.data(), text.size());
  out[at + 1 + n] = '\'';
  out.resize(at + n + 2);
}

core::Result<MysqlPtr> ConnectMysql(const ConnectOptions& o, std::string_view where) {
  MysqlPtr conn;
  {
    // mysql_init() initialises the library on first use, which is not thread-safe.
    static std::mutex init_mu;
    std::lock_guard<std::mutex> lock(init_mu);
    conn.reset(mysql_init(nullptr));
  }
  if (!conn) {
    return core::ResourceExhaustedError(std::string(where) + ": mysql_init failed (out of memory)");
  }
  MYSQL* m = conn.get();
  unsigned int connect_timeout = static_cast<unsigned int>(o.connect_timeout_s);
  mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
  if (o.read_timeout_s > 0) {
    unsigned int t = static_cast<unsigned int>(o.read_timeout_s);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &t);
  }
  if (o.write_timeout_s > 0) {
    unsigned int t = static_cast<unsigned int>(o.write_timeout_s);
    mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &t);
  }
  my_bool no = 0;
  mysql_optionsv(m, MYSQL_OPT_RECONNECT, &no);
  unsigned int local_infile = o.local_infile ? 1 : 0;
  mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &local_infile);
  mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (o.ssl_mode == "disabled") {
    mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &no);
  } else if (o.ssl_mode != "preferred") {
    my_bool on = 1;
    mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &on);
    if (o.ssl_mode == "verify_ca" || o.ssl_mode == "verify_identity") {
      mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
    }
  }
  if (o.ssl_mode != "disabled") {
    if (!o.ssl_ca.empty()) mysql_optionsv(m, MYSQL_OPT_SSL_CA, o.ssl_ca.c_str());
    if (!o.ssl_cert.empty()) mysql_optionsv(m, MYSQL_OPT_SSL_CERT, o.ssl_cert.c_str());
    if (!o.ssl_key.empty()) mysql_optionsv(m, MYSQL_OPT_SSL_KEY, o.ssl_key.c_str());
  }
  if (!o.socket.empty()) {
    unsigned int protocol = MYSQL_PROTOCOL_SOCKET;
    mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &protocol);
  }
  if (mysql_real_connect(m, o.socket.empty() ? o.host.c_str() : nullptr, o.user.c_str(),
                         o.password.c_str(), nullptr, static_cast<unsigned int>(o.port),
                         o.socket.empty() ? nullptr : o.socket.c_str(), 0) == nullptr) {
    core::Status s = StatusFromMysql(m, where);
    // TLS set-up: a certificate or key that cannot be read or does not verify, a server without
    // TLS where it is required. Retrying would not help.
    if (mysql_errno(m) == CR_SSL_CONNECTION_ERROR) {
      const TlsSettingNames& n = o.tls_names;
      return core::FailedPreconditionError(s.message() + "; check " + std::string(n.mode) + ", " +
                                           std::string(n.ca) + ", " + std::string(n.cert) +
                                           " and " + std::string(n.key));
    }
    // A connect failure that is not about credentials or privileges is worth retrying (the
    // server is starting, unreachable for now, or out of connections).
    if (s.code() == core::StatusCode::kUnauthenticated ||
        s.code() == core::StatusCode::kPermissionDenied) {
      return s;
    }
    return core::UnavailableError(s.message());
  }
  for (const std::string& statement : o.initial_statements) {
    if (mysql_real_query(m, statement.data(), statement.size()) != 0) {
      core::Status s = StatusFromMysql(m, std::string(where) +
                                              ": database.initial.statements: the statement '" +
                                              statement.substr(0, 200) + "' failed");
      return core::FailedPreconditionError(s.message() + "; fix or remove it");
    }
    do {  // drain its results, if any (SELECT, SHOW)
      MysqlResultPtr res(mysql_store_result(m));
    } while (mysql_next_result(m) == 0);
  }
  // Session settings only: a transaction left open would swallow the snapshot's own.
  if (!o.initial_statements.empty() && (m->server_status & SERVER_STATUS_IN_TRANS) != 0) {
    return core::FailedPreconditionError(
        std::string(where) + ": database.initial.statements leave a transaction open; they are "
        "for session settings: end it or remove the START TRANSACTION");
  }
  std::string session = "SET SESSION time_zone='+00:00', NAMES utf8mb4, sql_mode=" +
                        StringEscaper(m).Quoted(o.sql_mode) +
                        ", autocommit=" + (o.autocommit ? "1" : "0");
  if (mysql_real_query(m, session.data(), session.size()) != 0) {
    return StatusFromMysql(m, std::string(where) + ": setting the session");
  }
  // The library's escaping follows the session: it must know the mode it escapes for.
  if (o.sql_mode.find("NO_BACKSLASH_ESCAPES") != std::string::npos &&
      (m->server_status & SERVER_STATUS_NO_BACKSLASH_ESCAPES) == 0) {
    return core::FailedPreconditionError(
        std::string(where) + ": the server did not report NO_BACKSLASH_ESCAPES after setting it; "
        "the client library could not escape values for this session");
  }
  return conn;
}

core::Status CheckTlsSettings(const ConnectOptions& o) {
  const TlsSettingNames& names = o.tls_names;
  using Setting = std::pair<std::string_view, const std::string&>;
  for (const auto& [name, path] :
       {Setting{names.ca, o.ssl_ca}, Setting{names.cert, o.ssl_cert}, Setting{names.key, o.ssl_key}}) {
    if (path.empty()) continue;
    if (o.ssl_mode == "disabled") {
      return core::InvalidArgumentError(std::string(name) + " is set but " +
                                        std::string(names.mode) +
                                        " is 'disabled': remove it or enable TLS");
    }
    std::ifstream file(path);
    if (!file) {
      return core::InvalidArgumentError(std::string(name) + ": cannot read '" + path + "': " +
                                        std::strerror(errno));
    }
  }
  if (o.ssl_cert.empty() != o.ssl_key.empty()) {
    return core::InvalidArgumentError(
        std::string(names.cert) + " and " + std::string(names.key) +
        " go together (a client certificate and its private key): set both or neither");
  }
  if (!o.ssl_ca.empty() && o.ssl_mode != "verify_ca" && o.ssl_mode != "verify_identity") {
    return core::InvalidArgumentError(
        std::string(names.ca) + " is only used to verify the server, and " +
        std::string(names.mode) + " '" + o.ssl_mode + "' does not: set " +
        std::string(names.mode) + " to verify_identity (or verify_ca)");
  }
  return core::Status::Ok();
}

}  // namespace sluice::mysql
