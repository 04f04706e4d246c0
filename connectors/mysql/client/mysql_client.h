// The MySQL/MariaDB client layer shared by the source (connectors/mysql) and the sink
// (sinks/mysql): RAII handles for libmariadb objects, the one connect routine with the canonical
// session settings, identifier quoting, literal escaping that follows the live session, and the
// one error number -> status code map. It depends on core and libmariadb only; the sink links it
// without linking the source (arrows: sinks/mysql -> connectors/mysql/client -> core).
//
// Thread-safety: the functions are pure or touch only the handle they are given; a handle is
// used by one thread at a time (mariadb_cancel from another thread is the callers' business).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

struct st_mysql;      // MYSQL of libmariadb (mysql.h)
struct st_mysql_res;  // MYSQL_RES

namespace sluice::mysql {

struct MysqlDeleter {
  void operator()(st_mysql* mysql) const;  // mysql_close
};
using MysqlPtr = std::unique_ptr<st_mysql, MysqlDeleter>;

struct MysqlResultDeleter {
  void operator()(st_mysql_res* res) const;  // mysql_free_result (drains an unbuffered result)
};
using MysqlResultPtr = std::unique_ptr<st_mysql_res, MysqlResultDeleter>;

// What a server or client error number means, by what the caller should do.
enum class MysqlErrorKind {
  kConnection,      // unreachable, lost, shutting down, too many connections, interrupted: retry
  kConflict,        // deadlock (1213), lock wait timeout (1205): roll back and replay
  kAuthentication,  // wrong user or password (1045, 1698)
  kPrivilege,       // the user lacks a privilege (1044, 1142, 1143, 1227)
  kData,            // the server rejects a value (range, length, NULL, charset, key, CHECK)
  kBinlog,          // the binlog cannot be read from here (purged file, unknown event, format)
  kChecksum,        // a binlog event failed its checksum
  kUnknown,         // any other server error (a missing table, a bad statement, ...)
};
MysqlErrorKind ClassifyMysqlErrorKind(unsigned int error_number);

// The one error number -> status code map (the counterpart of pg::ClassifySqlState):
//   kConnection -> kUnavailable      kConflict       -> kAborted
//   kAuthentication -> kUnauthenticated   kPrivilege -> kPermissionDenied
//   kChecksum -> kDataLoss           kData, kBinlog, kUnknown -> kFailedPrecondition
// The pipeline retries kUnavailable and kAborted alike (Status::IsRetriable) on both the source
// and the sink side; everything else stops the pipeline with the server's message.
core::StatusCode ClassifyMysqlError(unsigned int error_number);

// "<context>: <message> (mysql error N)", coded by ClassifyMysqlError.
core::Status StatusFromMysql(unsigned int error_number, std::string_view message,
                             std::string_view context);
// The same for the handle's current error (a null handle is a lost connection, 2006).
core::Status StatusFromMysql(st_mysql* mysql, std::string_view context);

// Backtick-quotes an identifier: `a``b`. Backticks quote in every sql_mode (ANSI_QUOTES only adds
// "..." as a second form), so no server round trip is needed.
std::string QuoteIdentifier(std::string_view name);
// The same, appended to `out` (statement building without a temporary).
void AppendQuotedIdentifier(std::string& out, std::string_view name);

// Writes quoted string literals ('...') with the client library's escaping for one live
// connection: mysql_real_escape_string knows the connection's character set and whether the
// session reports NO_BACKSLASH_ESCAPES (then it doubles quotes only), so the literal reads the
// same whatever the session's sql_mode. Literals are always single-quoted, so ANSI_QUOTES does
// not matter. A view of the connection: cheap to copy, valid while the connection is; one thread.
class StringEscaper {
 public:
  explicit StringEscaper(st_mysql* mysql) : mysql_(mysql) {}
  // Appends 'text' quoted and escaped straight into `out` (no allocation beyond its growth).
  void AppendQuoted(std::string& out, std::string_view text) const;
  std::string Quoted(std::string_view text) const {
    std::string out;
    AppendQuoted(out, text);
    return out;
  }

 private:
  st_mysql* mysql_;
};

// The TLS modes (database.sslmode, Debezium's database.ssl.mode, sink.url's sslmode).
inline constexpr std::array<std::string_view, 5> kSslModes = {
    "disabled", "preferred", "required", "verify_ca", "verify_identity"};

// What each TLS setting of ConnectOptions is called where the user set it (config keys or URL
// parameters), for the errors that name them.
struct TlsSettingNames {
  std::string_view mode = "database.sslmode";
  std::string_view ca = "database.sslrootcert";
  std::string_view cert = "database.sslcert";
  std::string_view key = "database.sslkey";
};

// Where and how to connect, and the session to set up.
struct ConnectOptions {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string socket;  // a Unix socket path; when set, host and port are not used
  std::string user;
  std::string password;
  std::string ssl_mode = "preferred";  // disabled, preferred, required, verify_ca, verify_identity
  // PEM files for TLS (database.sslrootcert, database.sslcert, database.sslkey): the certificate
  // authorities that verify_ca and verify_identity trust (empty: the system's), and a client
  // certificate with its key for servers that ask for one (REQUIRE X509). Empty: not used.
  std::string ssl_ca;
  std::string ssl_cert;
  std::string ssl_key;
  TlsSettingNames tls_names;  // how the user named ssl_mode and the files
  int connect_timeout_s = 30;
  // Longest wait for one network read/write before the connection counts as lost
  // (CR_SERVER_LOST, kUnavailable); 0 keeps the library's default (no limit).
  int read_timeout_s = 0;
  int write_timeout_s = 0;
  // The session's sql_mode, always set so that the server's global mode (ANSI_QUOTES,
  // PAD_CHAR_TO_FULL_LENGTH, ORACLE, ...) never changes how our statements parse or what they
  // read. NO_BACKSLASH_ESCAPES in it is checked to be reported back (the escaper relies on it).
  std::string sql_mode;
  bool autocommit = true;
  // LOAD DATA LOCAL INFILE: off unless the caller installs a local-infile handler that serves
  // only its own data (MysqlSink). With the library's default handler a hostile or compromised
  // server could answer any statement with a request for any file this process can read.
  bool local_infile = false;
  // Debezium's database.initial.statements: run in order right after connecting, before the
  // canonical session is set (so that time_zone, NAMES, sql_mode and autocommit stay Sluice's);
  // a failing one fails the connect (kFailedPrecondition naming it). Empty for the binlog
  // connection, as in Debezium.
  std::vector<std::string> initial_statements;
};

// Connects and sets the canonical session: utf8mb4 (client character set and SET NAMES),
// time_zone '+00:00', the given sql_mode and autocommit; no automatic reconnect (it would lose
// the session and a transaction silently). Errors name `where`: kUnauthenticated for a wrong
// password, kPermissionDenied for a missing privilege, kUnavailable for anything else at connect
// time (unreachable, starting, too many connections: worth retrying).
core::Result<MysqlPtr> ConnectMysql(const ConnectOptions& options, std::string_view where);

// kInvalidArgument naming the setting (options.tls_names) for TLS files that would go unused or
// cannot work: a file that cannot be read, a certificate without its key (or the reverse), files
// with TLS disabled, certificate authorities with a mode that does not verify the server.
core::Status CheckTlsSettings(const ConnectOptions& options);

}  // namespace sluice::mysql
