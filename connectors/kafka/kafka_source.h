// Placeholder factory for the source in connectors/kafka/ (issue 6); replaced by the real connector.
#pragma once

#include <memory>
#include <vector>

#include "core/config.h"
#include "core/source.h"

namespace sluice::kafka {

std::vector<core::ConfigKey> SourceConfigKeys();
core::Result<std::unique_ptr<core::Source>> MakeKafkaSource(const core::ConnectorContext& context);

}  // namespace sluice::kafka
