#include "sinks/postgres/postgres_sink.h"

namespace sluice::sinks {

std::vector<core::ConfigKey> PostgresSinkConfigKeys() { return {}; }

core::Result<std::unique_ptr<core::Sink>> MakePostgresSink(const core::ConnectorContext&) {
  return core::UnimplementedError("sinks/postgres is not implemented yet (issue 4)");
}

}  // namespace sluice::sinks
