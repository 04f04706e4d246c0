#include "connectors/mysql/mysql_source.h"

namespace sluice::mysql {

std::vector<core::ConfigKey> SourceConfigKeys() { return {}; }

core::Result<std::unique_ptr<core::Source>> MakeMysqlSource(const core::ConnectorContext&) {
  return core::UnimplementedError("connectors/mysql is not implemented yet (issue 5)");
}

}  // namespace sluice::mysql
