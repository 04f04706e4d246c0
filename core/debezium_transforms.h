// Kafka Connect's `transforms` keys, for the one single message transform Sluice implements:
// Debezium's io.debezium.transforms.ExtractNewRecordState (the Kafka sink applies it; see
// sinks/kafka/kafka_envelope.h). Any other transform, a chain of more than one, or an option
// not listed here is refused naming the key.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::core {

class ConnectorConfig;
struct ConfigIssue;

inline constexpr std::string_view kExtractNewRecordState =
    "io.debezium.transforms.ExtractNewRecordState";

struct NewRecordStateOptions {
  enum class Deletes { kDrop, kRewrite, kNone };
  bool drop_tombstones = true;      // transforms.<alias>.drop.tombstones
  Deletes deletes = Deletes::kDrop;  // transforms.<alias>.delete.handling.mode
  // transforms.<alias>.add.fields as configured ("op", "table", "source.ts_ms"), and the record
  // field each becomes (prefix + the name with '.' as '_': "__op", "__source_ts_ms").
  std::vector<std::string> add_fields;
  std::vector<std::string> add_field_names;
};

// The transform the config asks for: nullopt without `transforms`; a ConfigIssue naming the
// first key that is refused (put into `issue`, and nullopt returned) otherwise.
std::optional<NewRecordStateOptions> NewRecordStateFromConfig(const ConnectorConfig& config,
                                                              std::optional<ConfigIssue>& issue);

}  // namespace sluice::core
