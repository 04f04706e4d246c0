// SnapshotMode: the connector setting snapshot.mode, parsed once (core/config.cc's enum key
// accepts exactly these names) and compared as an enum by the sources and the api.
//   initial       snapshot when there is no stored position, then stream
//   initial_only  snapshot, then stop (one-shot: `sluice sync`, the sync API)
//   never/no_data stream only, from the slot's / server's current position
//   when_needed   like initial, and take a new snapshot when the stored position is gone
#pragma once

#include <string_view>

#include "core/status.h"

namespace sluice::core {

enum class SnapshotMode { kInitial, kInitialOnly, kNever, kNoData, kWhenNeeded };

// kInvalidArgument naming the accepted values for anything else.
Result<SnapshotMode> ParseSnapshotMode(std::string_view text);
std::string_view SnapshotModeName(SnapshotMode mode);

// never and no_data: no snapshot at all.
inline bool SkipsSnapshot(SnapshotMode mode) {
  return mode == SnapshotMode::kNever || mode == SnapshotMode::kNoData;
}

}  // namespace sluice::core
