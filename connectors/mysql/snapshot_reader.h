// SnapshotReader: reads every captured table inside one consistent snapshot and knows the binlog
// position that snapshot corresponds to, so that streaming can start exactly there.
//
// MariaDB: START TRANSACTION WITH CONSISTENT SNAPSHOT, then SHOW STATUS LIKE 'binlog_snapshot_%'
// gives the snapshot's binlog file/position with no lock at all. MySQL (no such status): a short
// FLUSH TABLES WITH READ LOCK around START TRANSACTION and SHOW MASTER STATUS, released at once.
// Tables are streamed with mysql_use_result (never buffered whole) in the text protocol, whose
// text is already the canonical form for most types (fix-ups: TIMESTAMP gets "+00", zero dates
// become NULL, YEAR loses leading zeros, BIT(1) becomes t/f).
//
// A restarted snapshot (the process died during a previous one) cannot continue the old
// snapshot, so it re-reads every table from scratch in a new one, emitting a truncate event
// before each table: the target then converges to the new snapshot (rows deleted since the first
// attempt do not survive).
//
// Lifecycle: Open() then Next() until it returns true. Thread-safety: the source thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "connectors/mysql/mysql_connection.h"
#include "connectors/mysql/mysql_position.h"
#include "connectors/mysql/mysql_schema.h"
#include "core/progress.h"
#include "core/source.h"

namespace sluice::mysql {

class SnapshotReader {
 public:
  SnapshotReader(ConnectionParams params, const CaptureFilter* filter,
                 std::shared_ptr<spdlog::logger> logger, core::ProgressTracker* progress);

  // Connects, starts the consistent snapshot, records its binlog position and lists the tables.
  // `restarted`: emit a truncate event before each table.
  core::Status Open(bool restarted);
  const BinlogPosition& position() const { return position_; }

  // Appends snapshot reads to `batch` within `limits`; true once every table has been read
  // (the batch then carries the streaming checkpoint).
  core::Result<bool> Next(core::EventBatch& batch, const core::PollLimits& limits);

  void Cancel() { conn_.Cancel(); }

 private:
  enum class Fix : uint8_t { kNone, kZeroDate, kTimestampTz, kYear, kBitBool };
  core::Status StartTable();

  ConnectionParams params_;
  const CaptureFilter* filter_;
  std::shared_ptr<spdlog::logger> logger_;
  core::ProgressTracker* progress_;
  MysqlConnection conn_;
  BinlogPosition position_;
  bool restarted_ = false;
  int64_t started_ms_ = 0;
  std::vector<core::TableId> tables_;
  // Every table's schema, loaded at Open so that the first batch announces them all (empty
  // tables too) before any row.
  std::vector<LoadedTable> loaded_;
  bool announced_ = false;
  size_t next_table_ = 0;
  bool table_open_ = false;
  LoadedTable current_;
  std::vector<Fix> fixes_;
  uint64_t zero_dates_ = 0;
  std::string scratch_;
};

}  // namespace sluice::mysql
