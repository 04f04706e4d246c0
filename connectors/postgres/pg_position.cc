#include "connectors/postgres/pg_position.h"

#include <nlohmann/json.hpp>

#include "connectors/postgres/pgoutput_decoder.h"

namespace sluice::pg {

core::SourcePosition PgPosition::ToSource() const {
  nlohmann::json j = {{"lsn", LsnToString(lsn)}, {"slot", slot}};
  if (snapshot_running) j["snapshot"] = "running";
  if (txid != 0) j["txid"] = txid;
  if (ts_usec != 0) j["ts_usec"] = ts_usec;
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
    if (j.contains("txid") && j["txid"].is_number_unsigned()) p.txid = j["txid"].get<uint32_t>();
    if (j.contains("ts_usec") && j["ts_usec"].is_number_integer()) {
      p.ts_usec = j["ts_usec"].get<int64_t>();
    }
  } catch (const std::exception& e) {
    return core::InvalidArgumentError("postgres position '" + std::string(text) +
                                      "' is not valid JSON: " + e.what());
  }
  return p;
}

nlohmann::json PgPosition::ToDebeziumOffset() const {
  nlohmann::json j = {{"lsn", lsn}};
  if (snapshot_running) {
    j["snapshot"] = true;
    j["last_snapshot_record"] = false;
    return j;
  }
  j["lsn_commit"] = lsn;
  j["lsn_proc"] = lsn;
  if (txid != 0) j["txId"] = txid;
  if (ts_usec != 0) j["ts_usec"] = ts_usec;
  return j;
}

namespace {

constexpr const char* kDebeziumPgShape =
    "a Debezium postgres offset is {\"lsn\": N, \"lsn_commit\": N, \"lsn_proc\": N, \"txId\": N, "
    "\"ts_usec\": N} with LSNs as numbers, as GET /connectors/{name}/offsets shows it";

core::Result<uint64_t> OffsetLsn(const nlohmann::json& offset, const char* key) {
  const nlohmann::json& v = offset[key];
  if (!v.is_number_unsigned()) {
    return core::InvalidArgumentError(std::string("the offset's '") + key + "' must be an LSN as " +
                                      "a non-negative integer, not " + v.dump() + "; " +
                                      kDebeziumPgShape);
  }
  return v.get<uint64_t>();
}

bool OffsetFlag(const nlohmann::json& offset, const char* key) {
  return offset.contains(key) && offset[key].is_boolean() && offset[key].get<bool>();
}

}  // namespace

core::Result<PgPosition> PgPosition::FromDebeziumOffset(const nlohmann::json& offset,
                                                        const std::string& slot) {
  if (!offset.is_object()) {
    return core::InvalidArgumentError("the offset is not an object; " +
                                      std::string(kDebeziumPgShape));
  }
  for (const auto& [key, value] : offset.items()) {
    if (key.rfind("incremental_snapshot", 0) == 0) {
      return core::InvalidArgumentError(
          "the offset carries a Debezium incremental snapshot in progress ('" + key +
          "'); let it finish or stop it in Debezium first, or remove those keys to abandon it");
    }
    const bool known = key == "lsn" || key == "lsn_commit" || key == "lsn_proc" ||
                       key == "txId" || key == "ts_usec" || key == "xmin" || key == "snapshot" ||
                       key == "last_snapshot_record" || key == "snapshot_completed" ||
                       key.rfind("transaction_", 0) == 0;
    if (!known) {
      return core::InvalidArgumentError("the offset has a key '" + key +
                                        "' that a Debezium postgres offset does not have; " +
                                        kDebeziumPgShape);
    }
    if ((key == "snapshot" || key == "last_snapshot_record" || key == "snapshot_completed") &&
        !value.is_boolean()) {
      return core::InvalidArgumentError("the offset's '" + key + "' must be true or false");
    }
  }
  if (!offset.contains("lsn")) {
    return core::InvalidArgumentError("the offset has no 'lsn'; " + std::string(kDebeziumPgShape));
  }
  if (OffsetFlag(offset, "snapshot") && !OffsetFlag(offset, "last_snapshot_record") &&
      !OffsetFlag(offset, "snapshot_completed")) {
    return core::InvalidArgumentError(
        "the offset is inside a snapshot that did not finish (\"snapshot\": true without "
        "\"last_snapshot_record\": true); reset the offsets to take a new snapshot");
  }
  PgPosition p;
  p.slot = slot;
  SLUICE_ASSIGN_OR_RETURN(p.lsn, OffsetLsn(offset, "lsn"));
  // Debezium confirms lsn_commit to the slot and resumes after it; `lsn` alone is what offsets
  // of Debezium before 1.x's lsn_commit hold.
  if (offset.contains("lsn_commit")) {
    SLUICE_ASSIGN_OR_RETURN(p.lsn, OffsetLsn(offset, "lsn_commit"));
  }
  if (offset.contains("lsn_proc")) SLUICE_RETURN_IF_ERROR(OffsetLsn(offset, "lsn_proc").status());
  if (offset.contains("txId")) {
    if (!offset["txId"].is_number_unsigned() || offset["txId"].get<uint64_t>() > UINT32_MAX) {
      return core::InvalidArgumentError("the offset's 'txId' must be a transaction id (0 to " +
                                        std::to_string(UINT32_MAX) + ")");
    }
    p.txid = offset["txId"].get<uint32_t>();
  }
  if (offset.contains("ts_usec")) {
    if (!offset["ts_usec"].is_number_integer()) {
      return core::InvalidArgumentError("the offset's 'ts_usec' must be an integer");
    }
    p.ts_usec = offset["ts_usec"].get<int64_t>();
  }
  return p;
}

}  // namespace sluice::pg
