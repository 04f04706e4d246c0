// ApplySyncDefaults (sync_defaults.h).
#include "api/sync_defaults.h"

namespace sluice::api {

std::vector<std::string> ApplySyncDefaults(core::ConnectorConfig& config) {
  std::vector<std::string> set;
  // Measured on 2 cores, 2 M rows (integration/bench/RESULTS.md, 2026-12-08): 1.75-2.11 s
  // against 1.93-2.24 s with two readers, faster in 9 of 9 rounds.
  const bool pg_to_pg =
      core::CanonicalConnectorClass(config.Get("connector.class")) == "postgres" &&
      config.Get("sink.type") == "postgres";
  if (pg_to_pg && !config.Has("snapshot.max.threads")) {
    config.mutable_values()["snapshot.max.threads"] = "1";
    set.emplace_back("snapshot.max.threads=1");
  }
  return set;
}

}  // namespace sluice::api
