// PgPosition: the resume position the PostgreSQL source stores (opaque to sinks), serialized
// as JSON text:
//   {"lsn":"0/16B3748","slot":"sluice_x"}                      streaming: resume after this LSN
//   {"lsn":"0/16B3748","slot":"sluice_x","snapshot":"running"}  a snapshot was in progress
// `lsn` is the end LSN of the last transaction made durable (or a keepalive's WAL end when
// nothing was in flight), which is also the confirmed flush LSN reported to the slot. After a
// commit the position also keeps that transaction's id and commit time ("txid", "ts_usec"), for
// Debezium's offset shape. While a
// snapshot runs, `lsn` is the slot's consistent point (0/0 when announced before the slot
// exists, see postgres_source.cc). Positions order by (snapshot first, lsn).
//
// Thread-safety: a value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/event.h"
#include "core/status.h"

namespace sluice::pg {

struct PgPosition {
  uint64_t lsn = 0;
  std::string slot;
  bool snapshot_running = false;
  uint32_t txid = 0;    // 0: unknown (a snapshot, a keepalive)
  int64_t ts_usec = 0;  // commit time, Unix microseconds; 0: unknown

  core::SourcePosition ToSource() const;
  // kInvalidArgument when the text is not a position of this connector.
  static core::Result<PgPosition> Parse(std::string_view text);

  // Debezium's PostgreSQL offset (PostgresOffsetContext): {"lsn", "lsn_commit", "lsn_proc"
  // (numbers), "txId", "ts_usec"} when streaming; {"lsn", "snapshot": true,
  // "last_snapshot_record": false} while a snapshot runs. A Sluice position is always at a
  // transaction boundary, so lsn, lsn_commit and lsn_proc are the same LSN.
  nlohmann::json ToDebeziumOffset() const;
  // The reverse, for slot `slot` (Debezium's offsets do not name the slot). Resumes after the
  // last transaction Debezium committed (`lsn_commit`, else `lsn`): when `lsn_proc` is past it,
  // Debezium had sent part of the next transaction, and Sluice sends that transaction again in
  // full (at-least-once). kInvalidArgument for an unfinished snapshot, an incremental snapshot in
  // progress, a missing or malformed lsn, or a key Debezium does not write.
  static core::Result<PgPosition> FromDebeziumOffset(const nlohmann::json& offset,
                                                     const std::string& slot);
};

}  // namespace sluice::pg
