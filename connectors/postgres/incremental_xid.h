// PgSnapshotXids: the transaction visibility of a PostgreSQL snapshot, as pg_current_snapshot()
// reports it ("xmin:xmax:xip,…", 64-bit xids with the epoch), and the question an incremental
// snapshot asks of every transaction the stream delivers: did the chunk's snapshot see it?
//
// pgoutput (proto_version 1) reports a transaction's xid as 32 bits without the epoch. A
// streamed transaction is always recent (it committed after the slot's restart point, which
// holds back the xid horizon), so its full xid is the 64-bit xid nearest to the snapshot's xmax
// with those low 32 bits — unambiguous as long as fewer than 2^31 xids separate them, which
// PostgreSQL's own wraparound protection guarantees for any transaction still decodable.
//
// Thread-safety: a value type; the functions are pure.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice::pg {

struct PgSnapshotXids {
  uint64_t xmin = 0;
  uint64_t xmax = 0;
  std::vector<uint64_t> xip;  // sorted

  // Parses pg_current_snapshot()'s text. kDataLoss when malformed.
  static core::Result<PgSnapshotXids> Parse(std::string_view text);
  // The 64-bit xid, near xmax, whose low 32 bits are `xid32`.
  uint64_t Widen(uint32_t xid32) const;
  // True when a committed transaction `xid32` (top-level) was visible to the snapshot: it
  // committed before the snapshot was taken.
  bool Sees(uint32_t xid32) const;
};

}  // namespace sluice::pg
