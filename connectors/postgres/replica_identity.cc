#include "connectors/postgres/replica_identity.h"
#include "core/text_codec.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace sluice::pg {

namespace {

constexpr std::string_view kKey = "replica.identity.autoset.values";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

core::Result<std::vector<ReplicaIdentityRule>> ParseReplicaIdentityRules(std::string_view value) {
  std::vector<ReplicaIdentityRule> rules;
  if (Trim(value).empty()) return rules;
  if (value.size() > core::kMaxRegexListBytes) {
    return core::InvalidArgumentError(std::string(kKey) + " is longer than " +
                                      std::to_string(core::kMaxRegexListBytes) + " bytes");
  }
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view entry = Trim(value.substr(start, comma - start));
    start = comma + 1;
    auto bad = [&](std::string_view why) {
      return core::InvalidArgumentError(std::string(kKey) + ": entry '" + std::string(entry) +
                                        "' " + std::string(why) +
                                        " (expected <schema.table regex>:DEFAULT|FULL|NOTHING|"
                                        "INDEX <index name>)");
    };
    if (entry.empty()) return bad("is empty");
    size_t colon = entry.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return bad("has no table regex");
    std::string_view identity = Trim(entry.substr(colon + 1));
    ReplicaIdentityRule rule;
    SLUICE_ASSIGN_OR_RETURN(rule.table, core::UserRegex::Compile(kKey, Trim(entry.substr(0, colon))));
    const std::string upper = core::AsciiUpper(identity);
    if (upper == "DEFAULT") {
      rule.replident = 'd';
    } else if (upper == "FULL") {
      rule.replident = 'f';
    } else if (upper == "NOTHING") {
      rule.replident = 'n';
    } else if (upper.rfind("INDEX", 0) == 0 && upper.size() > 5 &&
               std::isspace(static_cast<unsigned char>(upper[5]))) {
      rule.replident = 'i';
      rule.index = std::string(Trim(identity.substr(5)));
      if (rule.index.empty()) return bad("names no index");
    } else {
      return bad("has an unknown replica identity");
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

std::optional<std::string> ReplicaIdentityStatement(const std::vector<ReplicaIdentityRule>& rules,
                                                    const TableEntry& table) {
  const std::string name = table.id.schema + "." + table.id.table;
  for (const ReplicaIdentityRule& rule : rules) {
    if (!rule.table.FullMatch(name)) continue;
    if (rule.replident != 'i' && rule.replident == table.replident) return std::nullopt;
    std::string sql = "ALTER TABLE " + QuoteIdent(table.id.schema) + "." +
                      QuoteIdent(table.id.table) + " REPLICA IDENTITY ";
    switch (rule.replident) {
      case 'f': sql += "FULL"; break;
      case 'n': sql += "NOTHING"; break;
      case 'i': sql += "USING INDEX " + QuoteIdent(rule.index); break;
      default: sql += "DEFAULT"; break;
    }
    return sql;
  }
  return std::nullopt;
}

core::Status ApplyReplicaIdentities(PgConnection& conn,
                                    const std::vector<ReplicaIdentityRule>& rules,
                                    const core::TableFilter& filter, spdlog::logger& logger) {
  if (rules.empty()) return core::Status::Ok();
  SLUICE_ASSIGN_OR_RETURN(std::vector<TableEntry> tables, ListCapturedTables(conn, filter));
  for (const TableEntry& t : tables) {
    std::optional<std::string> sql = ReplicaIdentityStatement(rules, t);
    if (!sql) continue;
    SLUICE_RETURN_IF_ERROR(conn.Exec(*sql).WithContext(
        std::string(kKey) + ": setting the replica identity of " + t.id.ToString() + " (" +
        *sql + "; it needs the table's owner)"));
    logger.info("postgres: {} ({})", *sql, kKey);
  }
  return core::Status::Ok();
}

}  // namespace sluice::pg
