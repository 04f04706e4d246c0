// snapshot.select.statement.overrides, as in Debezium: the key lists fully-qualified tables
// ("schema.table"; MySQL "database.table"), and for each one
// `snapshot.select.statement.overrides.<schema.table>` holds the SELECT that the snapshot reads
// that table with (typically the table with a WHERE clause). Streamed changes are not filtered.
//
// Sluice reads every captured column of the table from the statement's result by name
// (`SELECT <columns> FROM (<statement>) AS sluice_override`), so the statement must return each
// captured column under its own name (extra columns are ignored; a missing one fails the snapshot
// naming the table); PostgreSQL casts each to the column's type. An overridden table is read in
// one piece (no parallel chunks).
//
// Thread-safety: pure functions over immutable data.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/event.h"
#include "core/status.h"

namespace sluice::core {

using SelectOverrides = std::map<TableId, std::string>;

// The ConfigDef keys: the list key and the per-table prefix.
std::vector<ConfigKey> SelectOverrideConfigKeys();

// A listed table without its statement, a statement for an unlisted table, an empty statement,
// or a name that is not schema.table: one issue each, naming the key.
std::vector<ConfigIssue> SelectOverrideIssues(const ConnectorConfig& config);

// The overrides by table; kInvalidArgument with the first issue.
Result<SelectOverrides> SelectOverridesFromConfig(const ConnectorConfig& config);

// The statement the snapshot runs for `id`: `SELECT <select_list> FROM (<override>) AS
// sluice_override`, or "" when `id` has no override.
std::string OverrideQuery(const SelectOverrides& overrides, const TableId& id,
                          const std::string& select_list);

}  // namespace sluice::core
