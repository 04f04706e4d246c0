// libFuzzer target: connector configuration (core/config.h, core/table_filter.h) as the REST API
// and `sluice run` take it: a JSON body parsed into a ConnectorConfig, checked against the common
// keys, redacted for display, its typed values read, and its table filters compiled and matched.
// Contract checked: every answer is a value or a Status, never a crash or an escaped exception;
// redacted output is valid JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/table_filter.h"
#include "fuzz_util.h"

namespace {

using namespace sluice;
using sluice::fuzz::Check;

const core::ConfigDef& CommonDef() {
  static const core::ConfigDef def = [] {
    core::ConfigDef d;
    d.AddAll(core::CommonConfigKeys());
    return d;
  }();
  return def;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = core::ParseConnectorConfig(text, "fuzz");
  if (!parsed.ok()) {
    Check(parsed.status().code() == core::StatusCode::kInvalidArgument, "config error is not kInvalidArgument",
          parsed.status().message());
    return 0;
  }
  const core::ConnectorConfig& config = *parsed;
  const core::ConfigDef& def = CommonDef();
  (void)def.Check(config);
  (void)def.Validate(config);
  (void)def.Warnings(config);
  std::string redacted = config.RedactedJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  Check(nlohmann::json::accept(redacted), "redacted config is not valid JSON", redacted);
  (void)config.ToJson();
  (void)config.connector_class();
  (void)config.WithPrefix("sink.");
  for (const auto& [key, value] : config.values()) {
    (void)config.GetInt(key, 0);
    (void)config.GetBool(key, false);
    (void)config.GetList(key);
    (void)core::RedactUrl(value);
    (void)core::CanonicalConnectorClass(value);
    (void)core::IsSecretKey(key);
    (void)core::IsIgnoredCompatKey(key);
  }
  auto filter = core::TableFilter::FromConfig(config);
  if (filter.ok()) {
    for (const core::TableId& id : {core::TableId{"public", "orders"}, core::TableId{"shop", "a.b"},
                                    core::TableId{"", ""}}) {
      if (filter->IncludesTable(id)) (void)filter->IncludesColumn(id, "id");
      for (size_t i = 0; i < filter->include_patterns().size(); ++i) (void)filter->PatternMatches(i, id);
    }
  }
  return 0;
}
