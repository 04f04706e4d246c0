#include "sinks/mysql/mysql_sink.h"

namespace sluice::sinks {

std::vector<core::ConfigKey> MysqlSinkConfigKeys() { return {}; }

core::Result<std::unique_ptr<core::Sink>> MakeMysqlSink(const core::ConnectorContext&) {
  return core::UnimplementedError("sinks/mysql is not implemented yet (issue 4)");
}

}  // namespace sluice::sinks
