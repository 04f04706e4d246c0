// Placeholder factory for the sink in sinks/mysql/ (issue 4); replaced by the real connector.
#pragma once

#include <memory>
#include <vector>

#include "core/config.h"
#include "core/sink.h"

namespace sluice::sinks {

std::vector<core::ConfigKey> MysqlSinkConfigKeys();
core::Result<std::unique_ptr<core::Sink>> MakeMysqlSink(const core::ConnectorContext& context);

}  // namespace sluice::sinks
