// The MySQL source's resume position, serialized as JSON text in SourcePosition:
//   {"file":"bin.000003","pos":1234,"gtid":"0-1-42"}                 streaming: resume here
//   {"file":"bin.000003","pos":1234,"gtid":"","snapshot":"running"}  a snapshot was in progress
// `file`/`pos` is the end of the last committed transaction (after its XID/COMMIT event);
// `gtid` is the MariaDB GTID state (domain-server-sequence per domain) at that point, kept for
// operators and GTID-aware tooling; resuming uses file/pos (see README).
//
// Thread-safety: a value.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace sluice::mysql {

struct BinlogPosition {
  std::string file;
  uint64_t pos = 0;
  std::string gtid;
  bool snapshot_running = false;

  std::string ToJson() const;
  // kInvalidArgument when `text` is not a position this connector wrote.
  static core::Result<BinlogPosition> Parse(const std::string& text);
};

}  // namespace sluice::mysql
