// StreamReader: tails the binlog through libmariadb's replication API (mariadb_rpl_*) and turns
// ROWS events into change events with our own BinlogDecoder (mariadb_rpl_extract_rows is not
// used: see ENVIRONMENT.md).
//
// The connection is registered as a replica with its own server id (database.server.id), with
// @master_binlog_checksum and @mariadb_slave_capability=4 set first, and a heartbeat period so
// that an idle server still answers within PollLimits::max_wait. Transactions: GTID (MariaDB) or
// BEGIN opens one, XID or COMMIT closes it; the batch checkpoint is the position after the last
// closing event, never inside a transaction. ROTATE events switch files. DDL on captured tables
// (QUERY events) invalidates the cached schema, which is re-read from information_schema at the
// next TABLE_MAP (or rebuilt from the TABLE_MAP's own metadata when the server's current schema
// no longer matches an old event); TRUNCATE emits a truncate event.
//
// Lifecycle: Open() then Poll()*; Cancel() from any thread unblocks a blocked fetch.
// Thread-safety: the source thread only, except Cancel().
#pragma once

#include <map>
#include <memory>
#include <string>

#include "connectors/mysql/binlog_decoder.h"
#include "connectors/mysql/mysql_connection.h"
#include "connectors/mysql/mysql_position.h"
#include "connectors/mysql/mysql_schema.h"
#include "core/source.h"

struct st_mariadb_rpl;
struct st_mariadb_rpl_event;

namespace sluice::mysql {

struct StreamOptions {
  uint32_t server_id = 5400;
  int heartbeat_ms = 1000;
};

class StreamReader {
 public:
  StreamReader(ConnectionParams params, const CaptureFilter* filter, StreamOptions options,
               std::shared_ptr<spdlog::logger> logger);
  ~StreamReader();

  // Starts reading at `from` (the end of a committed transaction). kFailedPrecondition when the
  // binlog file is gone (purged) or replication privileges are missing.
  core::Status Open(const BinlogPosition& from);
  core::Result<core::PollStatus> Poll(core::EventBatch& batch, const core::PollLimits& limits);
  void Cancel();
  uint64_t events_decoded() const { return events_decoded_; }

 private:
  struct TableState {
    TableMap map;
    std::shared_ptr<const RowsPlan> plan;  // null: table not captured
  };
  core::Status HandleTableMap(std::string_view body, const BinlogLocation& at);
  core::Status HandleQuery(const EventHeader& h, std::string_view body, const BinlogLocation& at,
                           core::EventBatch& batch);
  uint32_t CurrentTxn(core::EventBatch& batch, const EventHeader& h, uint64_t event_pos);
  void Commit(core::EventBatch& batch, uint64_t next_pos);
  core::Result<std::shared_ptr<const LoadedTable>> Schema(const core::TableId& id);

  ConnectionParams params_;
  const CaptureFilter* filter_;
  StreamOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  MysqlConnection conn_;     // the replication connection
  MysqlConnection schema_conn_;  // information_schema lookups
  st_mariadb_rpl* rpl_ = nullptr;
  st_mariadb_rpl_event* event_ = nullptr;
  bool checksum_ = true;

  std::string file_;
  uint64_t pos_ = 0;
  std::map<uint32_t, std::pair<uint32_t, uint64_t>> gtid_state_;  // domain -> (server, seq)
  std::string gtid_;        // GTID of the open transaction
  bool in_txn_ = false;
  uint64_t txn_pos_ = 0;
  int64_t txn_ts_ms_ = 0;
  uint32_t txn_index_ = UINT32_MAX;  // index in the current batch, or UINT32_MAX
  std::map<uint64_t, TableState> tables_;  // by table_id
  std::map<core::TableId, std::shared_ptr<const LoadedTable>> schemas_;
  uint64_t schema_version_ = 1;
  DecodeStats stats_;
  uint64_t zero_dates_warned_ = 0;
  uint64_t events_decoded_ = 0;
};

}  // namespace sluice::mysql
