#include "connectors/mysql/snapshot_schema_changes.h"

#include <algorithm>

#include "connectors/mysql/client/mysql_client.h"

namespace sluice::mysql {

namespace {

core::SchemaChange DatabaseRecord(const std::string& database, std::string ddl) {
  core::SchemaChange change;
  change.database = database;
  change.ddl = std::move(ddl);
  return change;
}

std::string Qualified(const core::TableId& id) {
  return QuoteIdentifier(id.schema) + "." + QuoteIdentifier(id.table);
}

}  // namespace

std::string SetStatementFor(std::vector<std::pair<std::string, std::string>> variables) {
  std::sort(variables.begin(), variables.end());
  std::string out = "SET ";
  for (size_t i = 0; i < variables.size(); ++i) {
    if (i) out += ", ";
    const auto& [name, value] = variables[i];
    out += name + "=";
    bool quote = value.find_first_of(",;") != std::string::npos;
    out += quote ? "'" + value + "'" : value;
  }
  return out + ";";
}

std::vector<core::SchemaChange> SnapshotSchemaChanges(const SnapshotDdlInput& input) {
  std::vector<core::SchemaChange> out;
  out.push_back(DatabaseRecord("", SetStatementFor(input.server_charset)));
  for (const LoadedTable* table : input.tables) {
    const core::TableId& id = table->schema->id;
    core::SchemaChange drop = DatabaseRecord(id.schema, "DROP TABLE IF EXISTS " + Qualified(id));
    core::SchemaChangeTable dropped;
    dropped.type = core::SchemaChangeTable::Type::kDrop;
    dropped.id = id;
    drop.tables.push_back(std::move(dropped));
    out.push_back(std::move(drop));
  }
  for (const SnapshotDdlInput::Database& db : input.databases) {
    const std::string name = QuoteIdentifier(db.name);
    out.push_back(DatabaseRecord(db.name, "DROP DATABASE IF EXISTS " + name));
    std::string create = "CREATE DATABASE " + name;
    if (!db.charset.empty()) create += " CHARSET " + db.charset;
    if (!db.collation.empty()) create += " COLLATE " + db.collation;
    out.push_back(DatabaseRecord(db.name, std::move(create)));
    out.push_back(DatabaseRecord(db.name, "USE " + name));
    for (size_t t = 0; t < input.tables.size() && t < input.create_statements.size(); ++t) {
      const LoadedTable& table = *input.tables[t];
      if (table.schema->id.schema != db.name) continue;
      core::SchemaChange created = DatabaseRecord(db.name, input.create_statements[t]);
      created.tables.push_back(TableChangeFromLoaded(table, core::SchemaChangeTable::Type::kCreate,
                                                     input.include_comments));
      out.push_back(std::move(created));
    }
  }
  return out;
}

core::Result<std::vector<core::SchemaChange>> ReadSnapshotSchemaChanges(
    MysqlConnection& conn, const std::vector<LoadedTable>& tables, bool include_comments) {
  SnapshotDdlInput input;
  input.include_comments = include_comments;
  SLUICE_ASSIGN_OR_RETURN(
      auto vars, conn.Query("SHOW VARIABLES WHERE Variable_name IN "
                            "('character_set_server','collation_server')"));
  for (const auto& row : vars) input.server_charset.emplace_back(row[0].value_or(""), row[1].value_or(""));
  for (const LoadedTable& table : tables) {
    const core::TableId& id = table.schema->id;
    input.tables.push_back(&table);
    SLUICE_ASSIGN_OR_RETURN(auto create, conn.Query("SHOW CREATE TABLE " + Qualified(id)));
    if (create.empty() || create[0].size() < 2 || !create[0][1]) {
      return core::NotFoundError("mysql snapshot schema change of " + id.ToString() +
                                 ": SHOW CREATE TABLE returned no statement");
    }
    input.create_statements.push_back(*create[0][1]);
    bool known = std::any_of(input.databases.begin(), input.databases.end(),
                             [&](const auto& db) { return db.name == id.schema; });
    if (known) continue;
    SLUICE_ASSIGN_OR_RETURN(
        auto locale, conn.Query("SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM "
                                "information_schema.SCHEMATA WHERE SCHEMA_NAME = " +
                                conn.Quote(id.schema)));
    SnapshotDdlInput::Database db{id.schema, "", ""};
    if (!locale.empty()) {
      db.charset = locale[0][0].value_or("");
      db.collation = locale[0][1].value_or("");
    }
    input.databases.push_back(std::move(db));
  }
  return SnapshotSchemaChanges(input);
}

}  // namespace sluice::mysql
