#include "connectors/mysql/binlog_stream.h"

#include <poll.h>

#include <algorithm>
#include <cstdint>
#include <string_view>

#include <mysql.h>
// ma_pvio.h declares the TLS layer (MARIADB_TLS, ma_tls.h) only with HAVE_TLS, and ma_tls.h
// uses `uchar` before ma_pvio.h defines it. The structure's layout does not depend on either.
typedef unsigned char uchar;
#define HAVE_TLS 1
#include <ma_pvio.h>
#include <mariadb_rpl.h>
#include <openssl/ssl.h>

namespace sluice::mysql {

MariadbBinlogStream::~MariadbBinlogStream() {
  if (event_ != nullptr) mariadb_free_rpl_event(event_);
  if (rpl_ != nullptr) mariadb_rpl_close(rpl_);
}

core::Status MariadbBinlogStream::Open(const BinlogDumpRequest& request) {
  ConnectionParams binlog_params = params_;
  binlog_params.read_timeout_s = request.read_timeout_s;
  binlog_params.initial_statements.clear();  // not on the binlog reader's connection (Debezium)
  SLUICE_RETURN_IF_ERROR(conn_.Connect(binlog_params));
  const char* tls_library = nullptr;
  mariadb_get_infov(conn_.raw(), MARIADB_TLS_LIBRARY, &tls_library);
  tls_is_openssl_ =
      tls_library != nullptr && std::string_view(tls_library).starts_with("OpenSSL");
  SLUICE_RETURN_IF_ERROR(conn_.Execute("SET @master_binlog_checksum = @@global.binlog_checksum"));
  SLUICE_RETURN_IF_ERROR(conn_.Execute("SET @mariadb_slave_capability = 4"));
  uint64_t heartbeat_ns = static_cast<uint64_t>(request.heartbeat_ms) * 1000000ULL;
  SLUICE_RETURN_IF_ERROR(conn_.Execute("SET @master_heartbeat_period = " + std::to_string(heartbeat_ns)));
  rpl_ = mariadb_rpl_init(conn_.raw());
  if (rpl_ == nullptr) return core::InternalError("mariadb_rpl_init failed");
  uint32_t server_id = request.server_id;
  unsigned long start_pos = static_cast<unsigned long>(request.pos);
  mariadb_rpl_optionsv(rpl_, MARIADB_RPL_SERVER_ID, server_id);
  mariadb_rpl_optionsv(rpl_, MARIADB_RPL_FILENAME, request.file.c_str(), request.file.size());
  mariadb_rpl_optionsv(rpl_, MARIADB_RPL_START, start_pos);
  // MariaDB leaves out ANNOTATE_ROWS events unless the dump asks for them; MySQL ignores the
  // flag and sends ROWS_QUERY events whenever they are logged.
  const unsigned int flags = request.annotate_rows ? MARIADB_RPL_BINLOG_SEND_ANNOTATE_ROWS : 0;
  mariadb_rpl_optionsv(rpl_, MARIADB_RPL_FLAGS, flags);
  if (mariadb_rpl_open(rpl_) != 0) {
    return conn_.Error("mysql binlog dump from " + request.file + ":" + std::to_string(request.pos));
  }
  return core::Status::Ok();
}

bool MariadbBinlogStream::Fetch(FetchedEvent& out) {
  // Fetch with a null event: passing the previous one would reuse (and clobber) it.
  if (event_ != nullptr) {
    mariadb_free_rpl_event(event_);
    event_ = nullptr;
  }
  event_ = mariadb_rpl_fetch(rpl_, nullptr);
  if (event_ == nullptr) return false;
  const unsigned char* data = event_->raw_data;
  size_t size = event_->raw_data_size;
  if (size == static_cast<size_t>(event_->event_length) + 1) {
    ++data;  // the OK-packet marker byte
    --size;
  }
  out.raw = std::string_view(reinterpret_cast<const char*>(data), size);
  out.type = static_cast<uint8_t>(event_->event_type);
  out.length = event_->event_length;
  out.next_pos = event_->next_event_pos;
  out.flags = event_->flags;
  return true;
}

bool MariadbBinlogStream::WaitReadable(std::chrono::milliseconds timeout) {
  MYSQL* mysql = conn_.raw();
  if (mysql == nullptr) return true;
  MARIADB_PVIO* pvio = mysql->net.pvio;
  if (pvio == nullptr || mysql->net.compress) return true;
  // libmariadb reads ahead into the pvio cache (above TLS: plain bytes): they are not in the
  // socket.
  if (pvio->cache != nullptr && pvio->cache_pos < pvio->cache + pvio->cache_size) return true;
  if (pvio->ctls != nullptr) {
    // OpenSSL holds what it has read of a record and not handed over yet (SSL_pending: a
    // decrypted record's rest; SSL_has_pending: also raw bytes read ahead). Anything else is
    // still in the socket. Another TLS library: its buffers are not visible, Fetch decides.
    if (!tls_is_openssl_) return true;
    SSL* ssl = static_cast<SSL*>(pvio->ctls->ssl);
    if (ssl == nullptr || SSL_pending(ssl) > 0 || SSL_has_pending(ssl) == 1) return true;
  }
  pollfd fd{};
  fd.fd = mysql_get_socket(mysql);
  if (fd.fd < 0) return true;
  fd.events = POLLIN;
  const int ms = static_cast<int>(std::max<int64_t>(0, timeout.count()));
  // Readable, hung up or an error: Fetch() meets it. EINTR reads as "nothing yet".
  return ::poll(&fd, 1, ms) > 0;
}

FetchFailure MariadbBinlogStream::Failure() {
  FetchFailure f;
  f.client_errno = mysql_errno(conn_.raw());
  f.client_error = mysql_error(conn_.raw());
  if (rpl_ != nullptr) {
    f.rpl_errno = mariadb_rpl_errno(rpl_);
    f.rpl_error = mariadb_rpl_error(rpl_);
  }
  return f;
}

core::Status MysqlBinlogCatalog::Connect(int read_timeout_s) {
  ConnectionParams p = params_;
  p.read_timeout_s = read_timeout_s;
  return conn_.Connect(p);
}

core::Result<std::vector<std::string>> MysqlBinlogCatalog::BinaryLogs() {
  SLUICE_ASSIGN_OR_RETURN(auto logs, conn_.Query("SHOW BINARY LOGS"));
  std::vector<std::string> out;
  for (const auto& r : logs) out.push_back(r[0].value_or(""));
  return out;
}

core::Result<bool> MysqlBinlogCatalog::ChecksumEnabled() {
  SLUICE_ASSIGN_OR_RETURN(auto cs, conn_.Query("SELECT @@global.binlog_checksum"));
  return !cs.empty() && cs[0][0].value_or("NONE") != "NONE";
}

core::Result<LoadedTable> MysqlBinlogCatalog::Load(const core::TableId& id, uint64_t version) {
  SchemaLoader loader(&conn_, filter_);
  return loader.Load(id, version);
}

}  // namespace sluice::mysql
