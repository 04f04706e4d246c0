// SQL text generation for the MySQL/MariaDB sink: quoted identifiers, DDL for target tables,
// and multi-row upsert / delete / update statements whose values are escaped literals
// (mysql_types.h). Identifiers are always backtick-quoted with backticks doubled; string values
// are escaped by the client library for the connection that runs the statement (StringEscaper).
//
// Thread-safety: pure functions; a TablePlan is immutable once built.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "sinks/mysql/mysql_types.h"

namespace sluice::sinks::mysql_sink {

// `name` with backticks around it and backticks inside doubled.
void AppendIdentifier(std::string& out, std::string_view name);
// Why MySQL/MariaDB cannot name a table or column `name`, or nullptr when it can. Identifiers
// are utf8mb3 text of 1 to 64 characters: no character outside the Basic Multilingual Plane
// (4-byte UTF-8, emoji), no trailing space, no NUL. Checked before the name reaches a statement,
// where the server's answer would be a collation or charset error that names nothing.
const char* IdentifierProblem(std::string_view name);
// Identifier quoting is the client layer's (connectors/mysql/client).
using mysql::AppendQuotedIdentifier;
using mysql::QuoteIdentifier;
// A quoted string literal, escaped by the client library for the connection of `escaper`.
std::string QuoteString(std::string_view text, const StringEscaper& escaper);

// Target table name from sink.table.name.format (${schema}, ${table}); "${table}" when empty.
std::string TargetTableName(std::string_view format, const core::TableId& id);

// Characters for unbounded string/bytes key columns so the whole key fits InnoDB's limit.
int KeyChars(const core::TableSchema& schema, const TypeOptions& options);

// "`name` TYPE [NOT] NULL"; `force_nullable` for kept dropped columns.
std::string ColumnDefinition(const core::TableSchema& schema, size_t column,
                             const TypeOptions& options, bool force_nullable = false);

// CREATE TABLE IF NOT EXISTS `db`.`table` (... , PRIMARY KEY (...)) with utf8mb4 and
// `collation` (a binary, no-pad collation so keys compare as the source does).
std::string CreateTableSql(std::string_view database, std::string_view table,
                           const core::TableSchema& schema, const TypeOptions& options,
                           std::string_view collation);

// ALTER TABLE `qualified` MODIFY COLUMN <definition of `column`> (a source type change).
std::string ModifyColumnSql(std::string_view qualified, const core::TableSchema& schema,
                            size_t column, const TypeOptions& options);

// ALTER TABLE `qualified` [DROP PRIMARY KEY,] MODIFY COLUMN <each key column, NOT NULL with the
// key's length>, ADD PRIMARY KEY (…): one statement (`had_key`: the table has a key to drop).
std::string ReplacePrimaryKeySql(std::string_view qualified, const core::TableSchema& schema,
                                 const TypeOptions& options, bool had_key);

// Statement fragments for one source schema version into one target table.
struct TablePlan {
  core::TableSchemaPtr schema;
  std::string qualified;               // `db`.`table`
  std::vector<LiteralKind> kinds;      // per column
  std::vector<std::string> quoted;     // per column, backtick-quoted name
  std::string insert_prefix;           // INSERT INTO `db`.`t` (`a`,`b`) VALUES
  std::string upsert_suffix;           //  ON DUPLICATE KEY UPDATE `b`=VALUES(`b`) (empty: keyless)
  // LOAD DATA LOCAL INFILE 'kLoadDataFile' INTO TABLE `db`.`t` ... (`a`,@c1) SET `b`=UNHEX(@c1):
  // snapshot rows in bulk (ChangeWriter); empty when a column's values would not be stored
  // exactly as the INSERT literals store them (LoadDataStoresExactly).
  std::string load_statement;
};

TablePlan BuildTablePlan(core::TableSchemaPtr schema, std::string_view database,
                         std::string_view table, const TypeOptions& options);

// A value MySQL cannot hold: the column and why.
struct ValueError {
  uint32_t column = 0;
  const char* reason = nullptr;
  bool ok() const { return reason == nullptr; }
};

// Appends "(v1,v2,...)" for every column of `row` (unchanged cells must not occur here).
ValueError AppendRowValues(std::string& out, const TablePlan& plan, const core::RowView& row,
                           const StringEscaper& escaper);

// Appends the row as one line of the plan's load_statement (fields AppendLoadField writes,
// NULL as \N).
ValueError AppendLoadRow(std::string& out, const TablePlan& plan, const core::RowView& row);

// Appends a predicate matching the row's key ("`k1`<=>1 AND `k2`<=>'x'"), or every present
// column of the row when the table has no key (a full before image).
ValueError AppendKeyPredicate(std::string& out, const TablePlan& plan, const core::RowView& row,
                              const StringEscaper& escaper);

// UPDATE `db`.`t` SET <present columns> WHERE <key of key_row>: for rows with unchanged cells.
// Key columns are set only when `set_key` (the key changed). Leaves `out` empty when there is
// nothing to set.
ValueError BuildUpdateStatement(std::string& out, const TablePlan& plan, const core::RowView& row,
                                const core::RowView& key_row, bool set_key,
                                const StringEscaper& escaper);

// "id=5, name='x'" for error messages (values cut at 64 bytes).
std::string DescribeKey(const core::TableSchema& schema, const core::RowView& row);

}  // namespace sluice::sinks::mysql_sink
