#include "core/snapshot_mode.h"

#include <array>
#include <string>
#include <utility>

namespace sluice::core {
namespace {

constexpr std::array<std::pair<SnapshotMode, std::string_view>, 5> kNames = {{
    {SnapshotMode::kInitial, "initial"},
    {SnapshotMode::kInitialOnly, "initial_only"},
    {SnapshotMode::kNever, "never"},
    {SnapshotMode::kNoData, "no_data"},
    {SnapshotMode::kWhenNeeded, "when_needed"},
}};

}  // namespace

Result<SnapshotMode> ParseSnapshotMode(std::string_view text) {
  for (const auto& [mode, name] : kNames) {
    if (name == text) return mode;
  }
  return InvalidArgumentError("snapshot.mode: '" + std::string(text) +
                              "' is not one of initial, initial_only, never, no_data, when_needed");
}

std::string_view SnapshotModeName(SnapshotMode mode) {
  for (const auto& [m, name] : kNames) {
    if (m == mode) return name;
  }
  return "initial";
}

}  // namespace sluice::core
