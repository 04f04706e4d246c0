// Where an incremental-snapshot chunk of a MariaDB source belongs in the binlog stream (issue
// #17), as pure logic without a server: the connector-side part of the method that needs no
// writes to the source.
//
// A chunk is read on a connection of its own inside START TRANSACTION WITH CONSISTENT SNAPSHOT;
// in the same transaction SHOW STATUS LIKE 'binlog_snapshot_%' gives binlog_snapshot_file and
// binlog_snapshot_position, P. MariaDB takes the InnoDB read view and that binlog position
// under one lock of the binlog group commit, so the chunk holds the effects of exactly the
// transactions written to the binlog before P, and of none written at or after it. P is
// therefore a transaction boundary of the binlog, and the chunk is the table's state there.
//
// Placement: the chunk's rows (op "r") are handed over just before the first streamed
// transaction that starts at or after P, or, when the stream is between transactions and has
// read up to P or beyond, at the end of that Poll. Either point is a transaction boundary, and
// every transaction the stream handed over before it was in the chunk's snapshot, every one
// after it was not. So the chunk sits exactly at P: a row that a later transaction changes
// arrives from the stream after the chunk and overwrites it, and no row changed before P is
// undone. No de-duplication (DBLog's window) is needed, because there is no window: the chunk
// is placed at the one point where it is consistent.
//
// Stale chunks: when the chunk is ready, the stream may already have handed over a transaction
// that starts at or after P (the stream runs ahead of the chunk query). Handing the chunk over
// then would overwrite that newer change; the chunk is thrown away and read again (as the
// PostgreSQL source does, connectors/postgres/incremental_snapshot.h), with a new P.
//
// `table` and `key_columns` are quoted identifiers.
//
// Thread-safety: value types; the functions are pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice::mysql {

// A binlog coordinate of one server: file name (basename.NNNNNN) and byte offset.
struct BinlogPoint {
  std::string file;
  uint64_t pos = 0;
};

// Orders two coordinates of one server's binlog: by the file's numeric extension, then by
// offset. -1, 0 or 1. kInvalidArgument when a file name has no numeric extension or the two
// names have different base names (binlogs of another server, or renamed).
core::Result<int> CompareBinlogPoints(const BinlogPoint& a, const BinlogPoint& b);

// The chunk's binlog position from SHOW STATUS LIKE 'binlog_snapshot_%' (status name, in any
// case -> value), read inside the chunk's consistent-snapshot transaction. kFailedPrecondition naming
// the missing server feature when the server has no binlog_snapshot_file/_position (MySQL 8:
// incremental snapshots of such a source are refused, see README.md), or binary logging is off.
core::Result<BinlogPoint> ParseBinlogSnapshotStatus(const std::map<std::string, std::string>& status);

// The query of one chunk (pure): the rows of `table` that satisfy `filter` (empty: all) and
// come after the key `last_key` (one SQL literal per key column, already quoted; empty: from
// the start), in key order, at most `limit`; `select_list` (SnapshotRowCodec::SelectList) is
// followed by the key columns themselves, whose text is the next chunk's `last_key`. The key
// condition is spelled as a disjunction (a > x OR (a = x AND b > y)) rather than a row
// comparison, which MariaDB does not turn into an index range.
std::string ChunkQuery(const std::string& select_list, const std::string& table,
                       const std::vector<std::string>& key_columns, const std::string& filter,
                       const std::vector<std::string>& last_key, size_t limit);

// SHOW CREATE TABLE's text without the table option AUTO_INCREMENT=N, which every insert may
// move: what stays equal while the table's definition does (the chunk reader keeps a table's
// loaded schema while it does).
std::string TableDefinition(std::string_view create);

// The stream side of the placement, fed by the stream reader. One per stream; Reset() when the
// stream is reopened.
class ChunkPlacement {
 public:
  enum class Verdict {
    kHold,   // hold the chunk; hand it over when HandOverBefore/HandOverAtPollEnd say so
    kStale,  // the stream is past P already: read the chunk again
  };

  // A chunk consistent at `at` is ready. kInvalidArgument when `at` cannot be compared with
  // the stream's coordinates (another server's binlog).
  core::Result<Verdict> ChunkRead(const BinlogPoint& at);
  // The stream begins a transaction whose first event is at `start`. True when a held chunk
  // must be handed over now, before any of the transaction's changes; the chunk is then no
  // longer held. An error (names not comparable) leaves the chunk held.
  core::Result<bool> HandOverBefore(const BinlogPoint& start);
  // A Poll ended with the stream at `read_to` (the end of the last event it read), between
  // transactions or not. True when a held chunk must be handed over at the batch's end; the
  // chunk is then no longer held.
  core::Result<bool> HandOverAtPollEnd(const BinlogPoint& read_to, bool between_transactions);
  // The held chunk is dropped (cancelled, or the Poll that carried it failed).
  void Drop() { held_.reset(); }
  // The stream was reopened from a committed position: nothing was handed over after it yet.
  void Reset() {
    held_.reset();
    last_txn_start_.reset();
  }
  bool holding() const { return held_.has_value(); }

 private:
  std::optional<BinlogPoint> held_;             // P of the held chunk
  std::optional<BinlogPoint> last_txn_start_;   // start of the newest transaction streamed
};

}  // namespace sluice::mysql
