#include "connectors/postgres/postgres_source.h"

namespace sluice::pg {

std::vector<core::ConfigKey> SourceConfigKeys() { return {}; }

core::Result<std::unique_ptr<core::Source>> MakePostgresSource(const core::ConnectorContext&) {
  return core::UnimplementedError("connectors/postgres is not implemented yet (issue 3)");
}

}  // namespace sluice::pg
