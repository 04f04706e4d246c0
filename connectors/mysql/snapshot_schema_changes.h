// The snapshot's records on the schema-change topic (include.schema.changes), as Debezium 2.x's
// MySQL connector writes them before the snapshot's rows (MySqlSnapshotChangeEventSource
// .readTableStructure): the server's character set as a SET statement (database ""), a
// DROP TABLE IF EXISTS per captured table, then per database DROP DATABASE IF EXISTS,
// CREATE DATABASE with its charset and collation, USE, and each table's SHOW CREATE TABLE.
// Each record's tableChanges is as Debezium's DDL parser gives it: a DROP entry (table null, as
// the streamed DROP records) for DROP TABLE, the table's structure for CREATE TABLE, none for
// the database-level statements.
//
// Thread-safety: SnapshotSchemaChanges is pure; ReadSnapshotSchemaChanges uses the connection it
// is given, one thread at a time.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "connectors/mysql/mysql_connection.h"
#include "connectors/mysql/mysql_schema.h"
#include "core/event.h"

namespace sluice::mysql {

struct SnapshotDdlInput {
  // character_set_server and collation_server (name, value), as SHOW VARIABLES gives them.
  std::vector<std::pair<std::string, std::string>> server_charset;
  struct Database {
    std::string name;
    std::string charset;    // SCHEMATA.DEFAULT_CHARACTER_SET_NAME; "" when unknown
    std::string collation;  // SCHEMATA.DEFAULT_COLLATION_NAME; "" when unknown
  };
  std::vector<Database> databases;           // in the order their first table appears
  std::vector<const LoadedTable*> tables;    // the captured tables the snapshot reads
  std::vector<std::string> create_statements;  // SHOW CREATE TABLE, aligned with `tables`
  bool include_comments = false;  // include.schema.comments: comments in tableChanges
};

// Debezium's ConnectionContext.setStatementFor: "SET a=x, b=y;" with the names sorted and a
// value holding ',' or ';' in single quotes.
std::string SetStatementFor(std::vector<std::pair<std::string, std::string>> variables);

// The records in Debezium's order; txn, source_pos and event_index are the caller's to set.
std::vector<core::SchemaChange> SnapshotSchemaChanges(const SnapshotDdlInput& input);

// Reads the input for `tables` on `conn` (SHOW VARIABLES, information_schema.SCHEMATA,
// SHOW CREATE TABLE) and returns SnapshotSchemaChanges of it; errors name the table.
core::Result<std::vector<core::SchemaChange>> ReadSnapshotSchemaChanges(
    MysqlConnection& conn, const std::vector<LoadedTable>& tables, bool include_comments);

}  // namespace sluice::mysql
