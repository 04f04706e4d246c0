// The default offset shape of core::Source (see source.h): Sluice's own position text.
#include "core/source.h"

#include <nlohmann/json.hpp>

namespace sluice::core {

nlohmann::json Source::OffsetPartition(const std::string& connector) const {
  return {{"server", connector}};
}

Result<nlohmann::json> Source::ExportOffset(const SourcePosition& position) const {
  return nlohmann::json{{"position", position.value}};
}

Result<SourcePosition> Source::ImportOffset(const nlohmann::json& offset) const {
  if (!offset.is_object() || offset.size() != 1 || !offset.contains("position") ||
      !offset["position"].is_string() || offset["position"].get<std::string>().empty()) {
    return InvalidArgumentError("the offset must be {\"position\": \"…\"} or null");
  }
  return SourcePosition{offset["position"].get<std::string>()};
}

}  // namespace sluice::core
