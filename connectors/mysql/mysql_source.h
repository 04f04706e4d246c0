// Placeholder factory for the source in connectors/mysql/ (issue 5); replaced by the real connector.
#pragma once

#include <memory>
#include <vector>

#include "core/config.h"
#include "core/source.h"

namespace sluice::mysql {

std::vector<core::ConfigKey> SourceConfigKeys();
core::Result<std::unique_ptr<core::Source>> MakeMysqlSource(const core::ConnectorContext& context);

}  // namespace sluice::mysql
