// SnapshotMode: the connector setting snapshot.mode, parsed once (core/config.cc's enum key
// accepts exactly these names) and compared as an enum by the sources and the api.
//   initial       snapshot when there is no stored position, then stream
//   initial_only  snapshot, then stop (one-shot: `sluice sync`, the sync API)
//   never/no_data stream only, from the slot's / server's current position
//   when_needed   like initial, and take a new snapshot when the stored position is gone
//   always        a snapshot at every start (each table truncated first when there was a
//                 stored position), then stream
//   recovery      MySQL: Debezium rebuilds its lost schema history and streams from the stored
//                 position; sluice keeps no history, so it streams (a stored position is needed)
// Debezium's old names are aliases: schema_only = no_data, schema_only_recovery = recovery.
#pragma once

#include <string_view>

#include "core/status.h"

namespace sluice::core {

enum class SnapshotMode {
  kInitial,
  kInitialOnly,
  kNever,
  kNoData,
  kWhenNeeded,
  kAlways,
  kRecovery,
};

// Every accepted name, aliases included (the config key's allowed values).
inline constexpr std::string_view kSnapshotModeNames =
    "initial,initial_only,never,no_data,schema_only,when_needed,always,recovery,"
    "schema_only_recovery";

// kInvalidArgument naming the accepted values for anything else.
Result<SnapshotMode> ParseSnapshotMode(std::string_view text);
std::string_view SnapshotModeName(SnapshotMode mode);

// never and no_data: no snapshot at all (recovery decides by the stored position).
inline bool SkipsSnapshot(SnapshotMode mode) {
  return mode == SnapshotMode::kNever || mode == SnapshotMode::kNoData;
}

}  // namespace sluice::core
