#include "connectors/postgres/pg_position.h"

#include <nlohmann/json.hpp>

#include "connectors/postgres/pgoutput_decoder.h"

namespace sluice::pg {

core::SourcePosition PgPosition::ToSource() const {
  nlohmann::json j = {{"lsn", LsnToString(lsn)}, {"slot", slot}};
  if (snapshot_running) j["snapshot"] = "running";
  if (!incremental.empty()) j["incremental"] = nlohmann::json::parse(incremental, nullptr, false);
  return core::SourcePosition{j.dump()};
}

core::Result<PgPosition> PgPosition::Parse(std::string_view text) {
  PgPosition p;
  try {
    auto j = nlohmann::json::parse(text);
    if (!j.is_object() || !j.contains("lsn") || !j["lsn"].is_string()) {
      return core::InvalidArgumentError("postgres position '" + std::string(text) +
                                        "' has no lsn: it was not written by this connector");
    }
    if (!ParseLsn(j["lsn"].get<std::string>(), p.lsn)) {
      return core::InvalidArgumentError("postgres position '" + std::string(text) +
                                        "' has a malformed lsn");
    }
    if (j.contains("slot") && j["slot"].is_string()) p.slot = j["slot"].get<std::string>();
    p.snapshot_running = j.contains("snapshot") && j["snapshot"] == "running";
    if (j.contains("incremental") && j["incremental"].is_object()) {
      p.incremental = j["incremental"].dump();
    }
  } catch (const std::exception& e) {
    return core::InvalidArgumentError("postgres position '" + std::string(text) +
                                      "' is not valid JSON: " + e.what());
  }
  return p;
}

}  // namespace sluice::pg
