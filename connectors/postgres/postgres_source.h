// Placeholder factory for the source in connectors/postgres/ (issue 3); replaced by the real connector.
#pragma once

#include <memory>
#include <vector>

#include "core/config.h"
#include "core/source.h"

namespace sluice::pg {

std::vector<core::ConfigKey> SourceConfigKeys();
core::Result<std::unique_ptr<core::Source>> MakePostgresSource(const core::ConnectorContext& context);

}  // namespace sluice::pg
