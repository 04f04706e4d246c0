#include "connectors/mysql/mysql_position.h"

#include <nlohmann/json.hpp>

namespace sluice::mysql {

std::string BinlogPosition::ToJson() const {
  nlohmann::json j = {{"file", file}, {"pos", pos}, {"gtid", gtid}};
  if (snapshot_running) j["snapshot"] = "running";
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
    if (p.file.empty() || p.pos < 4) throw std::runtime_error("empty file or position < 4");
    return p;
  } catch (const std::exception& e) {
    return core::InvalidArgumentError("mysql source position \"" + text.substr(0, 200) +
                                      "\" is not valid: " + e.what() +
                                      "; reset the connector's offsets");
  }
}

}  // namespace sluice::mysql
