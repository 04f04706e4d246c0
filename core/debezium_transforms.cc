#include "core/debezium_transforms.h"

#include <algorithm>
#include <array>
#include <map>

#include "core/config.h"

namespace sluice::core {

namespace {

// Envelope fields add.fields may name bare (Debezium looks these up in the envelope and any
// other bare name in the source block).
constexpr std::array<std::string_view, 4> kEnvelopeFields = {"op", "ts_ms", "ts_us", "ts_ns"};
constexpr std::array<std::string_view, 9> kCommonSourceFields = {
    "version", "connector", "name", "ts_ms", "snapshot", "db", "sequence", "ts_us", "ts_ns"};
constexpr std::array<std::string_view, 5> kPostgresSourceFields = {"schema", "table", "txId",
                                                                   "lsn", "xmin"};
constexpr std::array<std::string_view, 8> kMysqlSourceFields = {
    "table", "server_id", "gtid", "file", "pos", "row", "thread", "query"};

bool IsSourceField(std::string_view name, bool mysql) {
  auto in = [&](const auto& list) { return std::find(list.begin(), list.end(), name) != list.end(); };
  return in(kCommonSourceFields) || (mysql ? in(kMysqlSourceFields) : in(kPostgresSourceFields));
}

}  // namespace

std::optional<NewRecordStateOptions> NewRecordStateFromConfig(const ConnectorConfig& config,
                                                              std::optional<ConfigIssue>& issue) {
  issue.reset();
  auto refuse = [&](std::string key, std::string why) {
    issue = ConfigIssue{key, std::move(why)};
    return std::nullopt;
  };
  std::vector<std::string> aliases = config.GetList("transforms");
  std::map<std::string, std::string> options = config.WithPrefix("transforms.");
  if (aliases.empty()) {
    if (!options.empty()) {
      return refuse("transforms." + options.begin()->first,
                    "transforms." + options.begin()->first +
                        " configures a transform that 'transforms' does not list");
    }
    return std::nullopt;
  }
  if (aliases.size() != 1) {
    return refuse("transforms", "transforms='" + config.Get("transforms") +
                                    "': sluice implements a chain of exactly one transform, " +
                                    std::string(kExtractNewRecordState));
  }
  const std::string& alias = aliases.front();
  std::string prefix = alias + ".";
  NewRecordStateOptions out;
  std::string fields_prefix = "__";
  bool mysql = config.connector_class() == "mysql";
  if (options.find(prefix + "type") == options.end()) {
    return refuse("transforms." + alias + ".type",
                  "transforms." + alias + ".type is required (" +
                      std::string(kExtractNewRecordState) + ")");
  }
  for (const auto& [sub, value] : options) {
    std::string key = "transforms." + sub;
    if (!sub.starts_with(prefix)) {
      return refuse(key, key + " configures a transform that 'transforms' does not list (" +
                             alias + ")");
    }
    std::string option = sub.substr(prefix.size());
    if (option == "type") {
      if (value != kExtractNewRecordState) {
        return refuse(key, key + "='" + value + "' is refused: the only transform sluice "
                               "implements is " + std::string(kExtractNewRecordState));
      }
    } else if (option == "drop.tombstones") {
      if (value != "true" && value != "false") {
        return refuse(key, key + " must be true or false, got '" + value + "'");
      }
      out.drop_tombstones = value == "true";
    } else if (option == "delete.handling.mode") {
      if (value == "drop") {
        out.deletes = NewRecordStateOptions::Deletes::kDrop;
      } else if (value == "rewrite") {
        out.deletes = NewRecordStateOptions::Deletes::kRewrite;
      } else if (value == "none") {
        out.deletes = NewRecordStateOptions::Deletes::kNone;
      } else {
        return refuse(key, key + " must be drop, rewrite or none, got '" + value + "'");
      }
    } else if (option == "add.fields.prefix") {
      fields_prefix = value;
    } else if (option == "add.fields") {
      for (const std::string& field : SplitConfigList(value)) {
        std::string_view name = field;
        bool ok = std::find(kEnvelopeFields.begin(), kEnvelopeFields.end(), name) !=
                      kEnvelopeFields.end() ||
                  IsSourceField(name, mysql) ||
                  (name.starts_with("source.") && IsSourceField(name.substr(7), mysql));
        if (!ok) {
          return refuse(key, key + ": '" + field + "' is not a field sluice writes in the " +
                                 "change event; use op, ts_ms, ts_us, ts_ns or a source field "
                                 "(table, db, lsn, source.ts_ms, ...)");
        }
        out.add_fields.push_back(field);
      }
    } else {
      return refuse(key, "Debezium key '" + key + "' is refused: ExtractNewRecordState option '" +
                             option + "' is not implemented (sluice implements type, "
                             "drop.tombstones, delete.handling.mode, add.fields, "
                             "add.fields.prefix)");
    }
  }
  for (const std::string& field : out.add_fields) {
    std::string name = fields_prefix + field;
    std::replace(name.begin() + fields_prefix.size(), name.end(), '.', '_');
    out.add_field_names.push_back(std::move(name));
  }
  return out;
}

}  // namespace sluice::core
