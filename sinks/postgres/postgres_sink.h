// Placeholder factory for the sink in sinks/postgres/ (issue 4); replaced by the real connector.
#pragma once

#include <memory>
#include <vector>

#include "core/config.h"
#include "core/sink.h"

namespace sluice::sinks {

std::vector<core::ConfigKey> PostgresSinkConfigKeys();
core::Result<std::unique_ptr<core::Sink>> MakePostgresSink(const core::ConnectorContext& context);

}  // namespace sluice::sinks
