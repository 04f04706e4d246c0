// Placeholder factory for the sink in sinks/kafka/ (issue 6); replaced by the real connector.
#pragma once

#include <memory>
#include <vector>

#include "core/config.h"
#include "core/sink.h"

namespace sluice::sinks {

std::vector<core::ConfigKey> KafkaSinkConfigKeys();
core::Result<std::unique_ptr<core::Sink>> MakeKafkaSink(const core::ConnectorContext& context);

}  // namespace sluice::sinks
