#include "core/snapshot_mode.h"

#include <array>
#include <string>
#include <utility>

namespace sluice::core {
namespace {

// Canonical names first: SnapshotModeName returns the first name of a mode.
constexpr std::array<std::pair<SnapshotMode, std::string_view>, 9> kNames = {{
    {SnapshotMode::kInitial, "initial"},
    {SnapshotMode::kInitialOnly, "initial_only"},
    {SnapshotMode::kNever, "never"},
    {SnapshotMode::kNoData, "no_data"},
    {SnapshotMode::kWhenNeeded, "when_needed"},
    {SnapshotMode::kAlways, "always"},
    {SnapshotMode::kRecovery, "recovery"},
    {SnapshotMode::kNoData, "schema_only"},
    {SnapshotMode::kRecovery, "schema_only_recovery"},
}};

}  // namespace

Result<SnapshotMode> ParseSnapshotMode(std::string_view text) {
  for (const auto& [mode, name] : kNames) {
    if (name == text) return mode;
  }
  return InvalidArgumentError("snapshot.mode: '" + std::string(text) + "' is not one of " +
                              std::string(kSnapshotModeNames));
}

std::string_view SnapshotModeName(SnapshotMode mode) {
  for (const auto& [m, name] : kNames) {
    if (m == mode) return name;
  }
  return "initial";
}

}  // namespace sluice::core
