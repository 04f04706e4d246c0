// The MySQL source's resume position, serialized as JSON text in SourcePosition:
//   {"file":"bin.000003","pos":1234,"gtid":"0-1-42"}                 streaming: resume here
//   {"file":"bin.000003","pos":1234,"gtid":"","snapshot":"running"}  a snapshot was in progress
// A streaming position may also carry "incremental" (an object): incremental-snapshot progress.
// `file`/`pos` is the end of the last committed transaction (after its XID/COMMIT event);
// `gtid` is the MariaDB GTID state (domain-server-sequence per domain) at that point, kept for
// operators and GTID-aware tooling; resuming uses file/pos (see README).
//
// Thread-safety: a value.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"

namespace sluice::mysql {

struct BinlogPosition {
  std::string file;
  uint64_t pos = 0;
  std::string gtid;
  bool snapshot_running = false;
  // "incremental" in the JSON, a JSON object: the progress of incremental snapshots, durable with
  // the chunks it counts (as the PostgreSQL source's, pg_position.h); empty when none.
  std::string incremental;

  std::string ToJson() const;
  // kInvalidArgument when `text` is not a position this connector wrote.
  static core::Result<BinlogPosition> Parse(const std::string& text);

  // Debezium's MySQL offset (MySqlOffsetContext): {"file", "pos", "gtids"} at a transaction
  // boundary ("event" and "row", the events and rows to skip inside a transaction, are 0 and so
  // left out, as Debezium does), with "snapshot": true while a snapshot runs.
  nlohmann::json ToDebeziumOffset() const;
  // The reverse. Resumes at file/pos. When "event" or "row" is non-zero Debezium stopped inside
  // the transaction that starts at file/pos, and Sluice sends that transaction again in full
  // (at-least-once). "ts_sec" and "server_id" are informational and dropped. kInvalidArgument
  // for an unfinished snapshot, an incremental snapshot in progress, a missing file or pos, or a
  // key Debezium does not write.
  static core::Result<BinlogPosition> FromDebeziumOffset(const nlohmann::json& offset);
};

}  // namespace sluice::mysql
