// PgPosition: the resume position the PostgreSQL source stores (opaque to sinks), serialized
// as JSON text:
//   {"lsn":"0/16B3748","slot":"sluice_x"}                      streaming: resume after this LSN
//   {"lsn":"0/16B3748","slot":"sluice_x","snapshot":"running"}  a snapshot was in progress
// `lsn` is the end LSN of the last transaction made durable (or a keepalive's WAL end when
// nothing was in flight), which is also the confirmed flush LSN reported to the slot. While a
// snapshot runs, `lsn` is the slot's consistent point (0/0 when announced before the slot
// exists, see postgres_source.cc). Positions order by (snapshot first, lsn). A streaming
// position may also carry "incremental": the progress of incremental snapshots, durable with
// the chunks it counts (connectors/postgres/incremental_snapshot.h).
//
// Thread-safety: a value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.h"
#include "core/status.h"

namespace sluice::pg {

struct PgPosition {
  uint64_t lsn = 0;
  std::string slot;
  bool snapshot_running = false;
  // "incremental" in the JSON, a JSON object: the incremental snapshots in progress and the
  // table filter (PgIncrementalSnapshot::PositionField); empty when none.
  std::string incremental;

  core::SourcePosition ToSource() const;
  // kInvalidArgument when the text is not a position of this connector.
  static core::Result<PgPosition> Parse(std::string_view text);
};

}  // namespace sluice::pg
