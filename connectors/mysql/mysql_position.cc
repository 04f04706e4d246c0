#include "connectors/mysql/mysql_position.h"

#include <nlohmann/json.hpp>

namespace sluice::mysql {

std::string BinlogPosition::ToJson() const {
  nlohmann::json j = {{"file", file}, {"pos", pos}, {"gtid", gtid}};
  if (snapshot_running) j["snapshot"] = "running";
  if (!incremental.empty()) {
    nlohmann::json field = nlohmann::json::parse(incremental, nullptr, false);
    if (field.is_object()) j["incremental"] = std::move(field);
  }
  return j.dump();
}

core::Result<BinlogPosition> BinlogPosition::Parse(const std::string& text) {
  try {
    auto j = nlohmann::json::parse(text);
    BinlogPosition p;
    p.file = j.at("file").get<std::string>();
    p.pos = j.at("pos").get<uint64_t>();
    p.gtid = j.value("gtid", "");
    p.snapshot_running = j.value("snapshot", "") == "running";
    if (j.contains("incremental")) {
      if (!j["incremental"].is_object()) throw std::runtime_error("\"incremental\" is not an object");
      p.incremental = j["incremental"].dump();
    }
    if (p.file.empty() || p.pos < 4) throw std::runtime_error("empty file or position < 4");
    return p;
  } catch (const std::exception& e) {
    return core::InvalidArgumentError("mysql source position \"" + text.substr(0, 200) +
                                      "\" is not valid: " + e.what() +
                                      "; reset the connector's offsets");
  }
}

nlohmann::json BinlogPosition::ToDebeziumOffset() const {
  nlohmann::json j = {{"file", file}, {"pos", pos}};
  if (!gtid.empty()) j["gtids"] = gtid;
  if (snapshot_running) j["snapshot"] = true;
  return j;
}

namespace {

constexpr const char* kDebeziumMysqlShape =
    "a Debezium mysql offset is {\"file\": \"binlog.000001\", \"pos\": N, \"gtids\": \"…\", "
    "\"event\": N, \"row\": N, \"ts_sec\": N, \"server_id\": N}, as GET "
    "/connectors/{name}/offsets shows it";

bool IsTrue(const nlohmann::json& offset, const char* key) {
  return offset.contains(key) && offset[key].is_boolean() && offset[key].get<bool>();
}

}  // namespace

core::Result<BinlogPosition> BinlogPosition::FromDebeziumOffset(const nlohmann::json& offset) {
  const std::string shape = kDebeziumMysqlShape;
  if (!offset.is_object()) return core::InvalidArgumentError("the offset is not an object; " + shape);
  for (const auto& [key, value] : offset.items()) {
    if (key.rfind("incremental_snapshot", 0) == 0) {
      return core::InvalidArgumentError(
          "the offset carries a Debezium incremental snapshot in progress ('" + key +
          "'); let it finish or stop it in Debezium first, or remove those keys to abandon it");
    }
    if (key == "file" || key == "gtids") {
      if (!value.is_string()) {
        return core::InvalidArgumentError("the offset's '" + key + "' must be a string; " + shape);
      }
    } else if (key == "pos" || key == "event" || key == "row" || key == "ts_sec" ||
               key == "server_id") {
      if (!value.is_number_unsigned()) {
        return core::InvalidArgumentError("the offset's '" + key +
                                          "' must be a non-negative integer; " + shape);
      }
    } else if (key == "snapshot" || key == "snapshot_completed") {
      if (!value.is_boolean()) {
        return core::InvalidArgumentError("the offset's '" + key + "' must be true or false");
      }
    } else if (key.rfind("transaction_", 0) != 0) {
      return core::InvalidArgumentError("the offset has a key '" + key +
                                        "' that a Debezium mysql offset does not have; " + shape);
    }
  }
  if (!offset.contains("file") || !offset.contains("pos")) {
    return core::InvalidArgumentError("the offset needs 'file' and 'pos'; " + shape);
  }
  if (IsTrue(offset, "snapshot") && !IsTrue(offset, "snapshot_completed")) {
    return core::InvalidArgumentError(
        "the offset is inside a snapshot that did not finish (\"snapshot\": true); reset the "
        "offsets to take a new snapshot");
  }
  BinlogPosition p;
  p.file = offset["file"].get<std::string>();
  p.pos = offset["pos"].get<uint64_t>();
  if (offset.contains("gtids")) p.gtid = offset["gtids"].get<std::string>();
  if (p.file.empty() || p.pos < 4) {
    return core::InvalidArgumentError("the offset's file is empty or its pos is below 4; " + shape);
  }
  return p;
}

}  // namespace sluice::mysql
