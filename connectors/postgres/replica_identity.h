// Debezium's replica.identity.autoset.values for the PostgreSQL source: at each start, before it
// snapshots or streams, the connector sets the REPLICA IDENTITY of the captured tables that a
// rule names, so that UPDATE and DELETE carry the before image the user wants (FULL: every
// column). The value is a comma-separated list of `<table regex>:<identity>`, the regex matching
// the whole "schema.table" (RE2, core/user_regex.h), the identity one of DEFAULT, FULL, NOTHING
// or INDEX <index name> (any case); the first matching rule applies. A table whose identity is
// already the wanted DEFAULT, FULL or NOTHING is left alone; INDEX is set each start. It needs the
// table's owner (ALTER TABLE); a refusal fails the start naming the table and the statement.
//
// Thread-safety: the parsed rules are immutable; ApplyReplicaIdentities runs on the source
// thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/postgres/pg_connection.h"
#include "connectors/postgres/pg_schema.h"
#include "core/status.h"
#include "core/table_filter.h"
#include "core/user_regex.h"

namespace spdlog {
class logger;
}

namespace sluice::pg {

struct ReplicaIdentityRule {
  core::UserRegex table;
  char replident = 'd';   // pg_class.relreplident: d, f, n, or i (INDEX)
  std::string index;      // INDEX's index name
};

// kInvalidArgument naming replica.identity.autoset.values and the entry for a malformed one.
core::Result<std::vector<ReplicaIdentityRule>> ParseReplicaIdentityRules(std::string_view value);

// The ALTER TABLE statement the first rule matching `table` asks for, or nullopt when none
// matches or the table already has that identity. Pure.
std::optional<std::string> ReplicaIdentityStatement(const std::vector<ReplicaIdentityRule>& rules,
                                                    const TableEntry& table);

// Runs the statements for the tables `filter` captures.
core::Status ApplyReplicaIdentities(PgConnection& conn,
                                    const std::vector<ReplicaIdentityRule>& rules,
                                    const core::TableFilter& filter, spdlog::logger& logger);

}  // namespace sluice::pg
