#include "sinks/mysql/mysql_client.h"

#include <mysql.h>

#include <algorithm>
#include <charconv>

#include "core/redact.h"
#include "core/text_codec.h"

namespace sluice::sinks::mysql_sink {

namespace {

bool ParseInt(std::string_view s, int& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

core::Result<MysqlUrl> ParseMysqlUrlUnredacted(std::string_view url);

// The connection's TLS settings, named as sink.url names them.
mysql::ConnectOptions TlsOptions(const MysqlUrl& url) {
  mysql::ConnectOptions options;
  options.ssl_mode = url.ssl_mode;
  options.ssl_ca = url.ssl_ca;
  options.ssl_cert = url.ssl_cert;
  options.ssl_key = url.ssl_key;
  options.tls_names = {.mode = "sink.url's sslmode",
                       .ca = "sink.url's sslrootcert",
                       .cert = "sink.url's sslcert",
                       .key = "sink.url's sslkey"};
  return options;
}

// The sink's advice for the operator, after the server's message.
core::Status WithUserHint(core::Status s) {
  if (s.code() == core::StatusCode::kUnauthenticated ||
      s.code() == core::StatusCode::kPermissionDenied) {
    return {s.code(), s.message() + "; check the user and its privileges"};
  }
  return s;
}

}  // namespace

core::Result<MysqlUrl> ParseMysqlUrl(std::string_view url) {
  auto parsed = ParseMysqlUrlUnredacted(url);
  if (parsed.ok()) return parsed;
  // A password with an unencoded '/', '?' or '@' ends the userinfo early, and a piece of it is
  // then quoted as a port or host: hide every piece of the URL's password.
  return core::Status(parsed.status().code(),
                      core::RedactSecrets(parsed.status().message(), core::ConnectionStringSecrets(url)));
}

namespace {

core::Result<MysqlUrl> ParseMysqlUrlUnredacted(std::string_view url) {
  constexpr std::string_view kScheme = "mysql://";
  constexpr std::string_view kScheme2 = "mariadb://";
  MysqlUrl out;
  if (url.substr(0, kScheme.size()) == kScheme) {
    url.remove_prefix(kScheme.size());
  } else if (url.substr(0, kScheme2.size()) == kScheme2) {
    url.remove_prefix(kScheme2.size());
  } else {
    return core::InvalidArgumentError(
        "sink.url must look like mysql://user:password@host:port/database");
  }
  std::string_view query;
  if (size_t q = url.find('?'); q != std::string_view::npos) {
    query = url.substr(q + 1);
    url = url.substr(0, q);
  }
  std::string_view path;
  if (size_t slash = url.find('/'); slash != std::string_view::npos) {
    path = url.substr(slash + 1);
    url = url.substr(0, slash);
  }
  if (size_t at = url.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = url.substr(0, at);
    url = url.substr(at + 1);
    std::string_view user = userinfo, pw;
    if (size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
      user = userinfo.substr(0, colon);
      pw = userinfo.substr(colon + 1);
    }
    auto u = core::PercentDecode(user);
    auto p = core::PercentDecode(pw);
    if (!u || !p) return core::InvalidArgumentError("sink.url: bad percent-encoding in the user or password");
    out.user = *u;
    out.password = *p;
  }
  if (!url.empty()) {
    std::string_view host = url;
    if (url.front() == '[') {  // [ipv6]:port
      size_t close = url.find(']');
      if (close == std::string_view::npos) return core::InvalidArgumentError("sink.url: unclosed '[' in host");
      host = url.substr(1, close - 1);
      url = url.substr(close + 1);
      if (!url.empty() && url.front() == ':') {
        if (!ParseInt(url.substr(1), out.port)) return core::InvalidArgumentError("sink.url: bad port");
      }
    } else if (size_t colon = url.rfind(':'); colon != std::string_view::npos) {
      host = url.substr(0, colon);
      if (!ParseInt(url.substr(colon + 1), out.port) || out.port <= 0 || out.port > 65535) {
        return core::InvalidArgumentError("sink.url: bad port '" + std::string(url.substr(colon + 1)) + "'");
      }
    }
    if (!host.empty()) out.host = std::string(host);
  }
  auto db = core::PercentDecode(path);
  if (!db || db->empty()) {
    return core::InvalidArgumentError(
        "sink.url must name the target database: mysql://user:password@host:port/database");
  }
  out.database = *db;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    auto value = core::PercentDecode(eq == std::string_view::npos ? "" : item.substr(eq + 1));
    if (!value) return core::InvalidArgumentError("sink.url: bad percent-encoding in '" + std::string(key) + "'");
    if (key == "socket") {
      out.socket = *value;
    } else if (key == "connect_timeout") {
      if (!ParseInt(*value, out.connect_timeout_s) || out.connect_timeout_s <= 0) {
        return core::InvalidArgumentError("sink.url: connect_timeout must be a positive number of seconds");
      }
    } else if (key == "sslmode") {
      if (std::find(mysql::kSslModes.begin(), mysql::kSslModes.end(), *value) ==
          mysql::kSslModes.end()) {
        return core::InvalidArgumentError("sink.url: sslmode '" + *value +
                                          "' is not one of disabled, preferred, required, "
                                          "verify_ca, verify_identity");
      }
      out.ssl_mode = *value;
    } else if (key == "sslrootcert") {
      out.ssl_ca = *value;
    } else if (key == "sslcert") {
      out.ssl_cert = *value;
    } else if (key == "sslkey") {
      out.ssl_key = *value;
    } else {
      return core::InvalidArgumentError(
          "sink.url: unknown parameter '" + std::string(key) +
          "' (known: socket, connect_timeout, sslmode, sslrootcert, sslcert, sslkey)");
    }
  }
  SLUICE_RETURN_IF_ERROR(mysql::CheckTlsSettings(TlsOptions(out)));
  return out;
}

}  // namespace

MysqlClient::MysqlClient() = default;
MysqlClient::~MysqlClient() { Close(); }

core::Status MysqlClient::Fail(std::string_view context) {
  last_error_code_ = static_cast<int>(mysql_errno(conn_.get()));
  last_error_message_ = mysql_error(conn_.get());
  return WithUserHint(mysql::StatusFromMysql(static_cast<unsigned int>(last_error_code_),
                                             last_error_message_, context));
}

core::Status MysqlClient::Connect(const MysqlUrl& url) {
  Close();
  std::string where = "mysql sink: connecting to " + url.user + "@" +
                      (url.socket.empty() ? url.host + ":" + std::to_string(url.port) : url.socket);
  mysql::ConnectOptions options = TlsOptions(url);
  options.host = url.host;
  options.port = url.port;
  options.socket = url.socket;
  options.user = url.user;
  options.password = url.password;
  options.connect_timeout_s = url.connect_timeout_s;
  options.read_timeout_s = 3600;
  options.write_timeout_s = 3600;
  options.sql_mode = "STRICT_ALL_TABLES,NO_BACKSLASH_ESCAPES,NO_ENGINE_SUBSTITUTION";
  options.autocommit = false;
  options.local_infile = true;  // served by the handler set below, from memory only
  auto conn = mysql::ConnectMysql(options, where);
  if (!conn.ok()) return WithUserHint(conn.status());
  conn_ = std::move(*conn);
  load_.Attach(conn_.get());
  auto rows = Query("SELECT CONNECTION_ID(), VERSION()");
  if (!rows.ok()) {
    conn_.reset();
    return rows.status().WithContext(where);
  }
  if (!rows->empty() && (*rows)[0].size() == 2 && (*rows)[0][0] && (*rows)[0][1]) {
    std::from_chars((*rows)[0][0]->data(), (*rows)[0][0]->data() + (*rows)[0][0]->size(),
                    connection_id_);
    server_version_ = *(*rows)[0][1];
  }
  return core::Status::Ok();
}

core::Status MysqlClient::Execute(const std::string& sql) {
  last_error_code_ = 0;
  if (!conn_) return core::UnavailableError("mysql sink: not connected");
  if (load_.open()) return LoadOpenError();
  MYSQL* m = conn_.get();
  if (mysql_real_query(m, sql.data(), sql.size()) != 0) return Fail("mysql sink");
  // Drain any result set so the connection is ready for the next statement.
  if (MYSQL_RES* res = mysql_store_result(m)) {
    mysql_free_result(res);
  } else if (mysql_errno(m) != 0) {
    return Fail("mysql sink");
  }
  return core::Status::Ok();
}

// A statement while a streamed load runs on the connection: a bug of the caller, refused
// rather than racing the load's thread for the connection.
core::Status MysqlClient::LoadOpenError() {
  return core::InternalError("mysql sink: a statement was sent while a LOAD DATA is streaming");
}

core::Status MysqlClient::BeginLoad(const std::string& sql) {
  last_error_code_ = 0;
  if (!conn_) return core::UnavailableError("mysql sink: not connected");
  load_.Start(conn_.get(), sql);
  return core::Status::Ok();
}

void MysqlClient::AppendLoad(std::string_view piece) { load_.Append(piece); }

core::Status MysqlClient::EndLoad(unsigned int* warnings) {
  *warnings = 0;
  if (!load_.open()) return core::FailedPreconditionError("mysql sink: no LOAD DATA is open");
  StreamingLoad::Outcome out = load_.Finish();
  if (!out.exception.empty()) {
    return core::InternalError("mysql sink: LOAD DATA LOCAL INFILE: " + out.exception);
  }
  if (out.failed) return Fail("mysql sink");
  *warnings = out.warnings;
  return core::Status::Ok();
}

void MysqlClient::AbortLoad() { load_.Abort(); }

core::Result<std::vector<MysqlRow>> MysqlClient::Query(const std::string& sql) {
  last_error_code_ = 0;
  if (!conn_) return core::UnavailableError("mysql sink: not connected");
  if (load_.open()) return LoadOpenError();
  MYSQL* m = conn_.get();
  if (mysql_real_query(m, sql.data(), sql.size()) != 0) return Fail("mysql sink");
  std::unique_ptr<MYSQL_RES, decltype(&mysql_free_result)> res(mysql_store_result(m),
                                                               &mysql_free_result);
  std::vector<MysqlRow> rows;
  if (!res) {
    if (mysql_errno(m) != 0) return Fail("mysql sink");
    return rows;  // a statement without a result set
  }
  const unsigned int columns = mysql_num_fields(res.get());
  while (MYSQL_ROW r = mysql_fetch_row(res.get())) {
    const unsigned long* lengths = mysql_fetch_lengths(res.get());
    MysqlRow row;
    row.reserve(columns);
    for (unsigned int i = 0; i < columns; ++i) {
      if (r[i] == nullptr) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(r[i], lengths[i]));
      }
    }
    rows.push_back(std::move(row));
  }
  if (mysql_errno(m) != 0) return Fail("mysql sink");
  return rows;
}

core::Status MysqlClient::Commit() {
  if (!conn_) return core::UnavailableError("mysql sink: not connected");
  if (load_.open()) return LoadOpenError();
  if (mysql_commit(conn_.get()) != 0) return Fail("mysql sink: commit");
  return core::Status::Ok();
}

void MysqlClient::Rollback() {
  load_.Abort();
  if (conn_) mysql_rollback(conn_.get());  // best effort: the connection may be gone
}

StringEscaper MysqlClient::escaper() const { return StringEscaper(conn_.get()); }

void MysqlClient::Close() {
  load_.Abort();  // the load's thread uses the connection
  conn_.reset();
  connection_id_ = 0;
}

}  // namespace sluice::sinks::mysql_sink
