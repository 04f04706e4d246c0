// The seams between StreamReader and the server — the calls the reader makes per binlog event
// or per table, never per value:
//   BinlogStream   the replication connection: open a binlog dump at file:pos, fetch the next
//                  event with its bytes (heartbeats included), say why a fetch returned none,
//                  cancel a blocked fetch. MariadbBinlogStream wraps libmariadb's mariadb_rpl_*.
//   BinlogCatalog  the metadata connection: the binlog files the server still has, whether it
//                  writes checksums, and a table's schema from information_schema.
//                  MysqlBinlogCatalog runs the queries over a MysqlConnection.
// Unit tests replay captured binlog files through fakes (tests/connectors/mysql/
// fake_binlog_stream.h).
//
// Lifecycle: Open()/Connect() once, then Fetch()/queries from the reader's thread; Cancel()
// from any thread. The destructor closes the connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/mysql/mysql_connection.h"
#include "connectors/mysql/mysql_schema.h"
#include "core/status.h"

struct st_mariadb_rpl;
struct st_mariadb_rpl_event;

namespace sluice::mysql {

// What a fetch that returned no event leaves behind (see FetchFailureStatus in stream_reader.h).
struct FetchFailure {
  unsigned int client_errno = 0;  // mysql_errno() of the replication connection
  std::string client_error;       // mysql_error()
  unsigned int rpl_errno = 0;     // mariadb_rpl_errno(): errors libmariadb keeps in the handle
  std::string rpl_error;          // mariadb_rpl_error()
  bool cancelled = false;         // StreamReader::Cancel() was called
  int64_t silent_ms = 0;          // since the last event or heartbeat arrived
  int heartbeat_ms = 0;
  int read_timeout_s = 0;
};

// One fetched event, valid until the next Fetch(). `raw` is the event as written in the binlog
// (19-byte header, body, checksum when the server writes one); the other fields are the
// header's, as the client library reports them.
struct FetchedEvent {
  std::string_view raw;
  uint8_t type = 0;
  uint32_t length = 0;    // event_length
  uint64_t next_pos = 0;  // next_event_pos: 0 for artificial events
  uint16_t flags = 0;
};

struct BinlogDumpRequest {
  std::string file;
  uint64_t pos = 0;
  uint32_t server_id = 0;
  int heartbeat_ms = 1000;
  int read_timeout_s = 0;  // of the replication connection
  bool annotate_rows = false;  // ask MariaDB for ANNOTATE_ROWS events (BINLOG_SEND_ANNOTATE_ROWS)
};

class BinlogStream {
 public:
  virtual ~BinlogStream() = default;
  // Connects and starts the dump (COM_BINLOG_DUMP) at request.file:pos.
  virtual core::Status Open(const BinlogDumpRequest& request) = 0;
  // The next event, blocking until one arrives: false when none came (the connection broke,
  // the server ended the stream, a read timed out, Cancel()); then Failure() says why.
  virtual bool Fetch(FetchedEvent& event) = 0;
  // The client and replication-handle errors of the last failed Fetch() (errno and text only).
  virtual FetchFailure Failure() = 0;
  // Unblocks a blocked Fetch(). Any thread.
  virtual void Cancel() = 0;
  // Waits up to `timeout` for an event to fetch: true when one can be fetched without waiting
  // (bytes already read by the client library, or the connection turned readable or closed in
  // time), false when nothing arrived. A stream that cannot tell says true, and Fetch() blocks.
  virtual bool WaitReadable(std::chrono::milliseconds timeout) {
    (void)timeout;
    return true;
  }
};

class BinlogCatalog {
 public:
  virtual ~BinlogCatalog() = default;
  // Connects with this read timeout (seconds) for every query.
  virtual core::Status Connect(int read_timeout_s) = 0;
  // SHOW BINARY LOGS: the file names the server still has.
  virtual core::Result<std::vector<std::string>> BinaryLogs() = 0;
  // Whether the server writes binlog checksums (@@global.binlog_checksum is not NONE).
  virtual core::Result<bool> ChecksumEnabled() = 0;
  // The table's schema (SchemaLoader::Load): kNotFound when it does not exist (any more).
  virtual core::Result<LoadedTable> Load(const core::TableId& id, uint64_t version) = 0;
};

// libmariadb: SET @master_binlog_checksum, @mariadb_slave_capability=4 and
// @master_heartbeat_period, then mariadb_rpl_open; events fetched with a null event (a
// TABLE_MAP must survive the next fetch).
class MariadbBinlogStream final : public BinlogStream {
 public:
  explicit MariadbBinlogStream(ConnectionParams params) : params_(std::move(params)) {}
  ~MariadbBinlogStream() override;
  core::Status Open(const BinlogDumpRequest& request) override;
  bool Fetch(FetchedEvent& event) override;
  FetchFailure Failure() override;
  void Cancel() override { conn_.Cancel(); }
  // poll(2) on the connection's socket, after libmariadb's read-ahead cache and, over TLS with
  // OpenSSL (Debian's libmariadb), after OpenSSL's buffered record; with compression or another
  // TLS library (buffers of their own, not visible here) always true.
  bool WaitReadable(std::chrono::milliseconds timeout) override;

 private:
  ConnectionParams params_;
  MysqlConnection conn_;
  bool tls_is_openssl_ = false;  // libmariadb's TLS library (MARIADB_TLS_LIBRARY) is OpenSSL
  st_mariadb_rpl* rpl_ = nullptr;
  st_mariadb_rpl_event* event_ = nullptr;
};

class MysqlBinlogCatalog final : public BinlogCatalog {
 public:
  MysqlBinlogCatalog(ConnectionParams params, const CaptureFilter* filter)
      : params_(std::move(params)), filter_(filter) {}
  core::Status Connect(int read_timeout_s) override;
  core::Result<std::vector<std::string>> BinaryLogs() override;
  core::Result<bool> ChecksumEnabled() override;
  core::Result<LoadedTable> Load(const core::TableId& id, uint64_t version) override;

 private:
  ConnectionParams params_;
  const CaptureFilter* filter_;
  MysqlConnection conn_;
};

}  // namespace sluice::mysql
