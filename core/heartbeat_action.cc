#include "core/heartbeat_action.h"

namespace sluice::core {

Result<HeartbeatActionSettings> HeartbeatActionFromConfig(const ConnectorConfig& config) {
  HeartbeatActionSettings out;
  SLUICE_ASSIGN_OR_RETURN(out.interval_ms, config.GetInt("heartbeat.interval.ms", 0));
  out.query = config.Get("heartbeat.action.query");
  if (!out.query.empty() && out.interval_ms <= 0) {
    return InvalidArgumentError(
        "heartbeat.action.query runs at each heartbeat: set heartbeat.interval.ms above 0 too");
  }
  return out;
}

std::vector<ConfigKey> HeartbeatConfigKeys(std::string interval_doc) {
  ConfigKey interval = MakeConfigKey("heartbeat.interval.ms", ConfigType::kInt, "",
                                     std::move(interval_doc));
  interval.min = 0;
  interval.max = 3600000;
  return {interval,
          MakeConfigKey("heartbeat.action.query", ConfigType::kString, "",
                        "Debezium's key: a statement run on the source every "
                        "heartbeat.interval.ms while streaming, on a connection of its own (e.g. "
                        "an upsert into a heartbeat table, so that an idle captured database still "
                        "produces changes); a failure fails the connector (a broken connection is "
                        "retried)")};
}

}  // namespace sluice::core
