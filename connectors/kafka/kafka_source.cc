#include "connectors/kafka/kafka_source.h"

namespace sluice::kafka {

std::vector<core::ConfigKey> SourceConfigKeys() { return {}; }

core::Result<std::unique_ptr<core::Source>> MakeKafkaSource(const core::ConnectorContext&) {
  return core::UnimplementedError("connectors/kafka is not implemented yet (issue 6)");
}

}  // namespace sluice::kafka
