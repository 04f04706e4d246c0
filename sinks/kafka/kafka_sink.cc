#include "sinks/kafka/kafka_sink.h"

namespace sluice::sinks {

std::vector<core::ConfigKey> KafkaSinkConfigKeys() { return {}; }

core::Result<std::unique_ptr<core::Sink>> MakeKafkaSink(const core::ConnectorContext&) {
  return core::UnimplementedError("sinks/kafka is not implemented yet (issue 6)");
}

}  // namespace sluice::sinks
