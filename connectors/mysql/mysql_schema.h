// Table discovery and schema loading from information_schema, shared by the snapshot and stream
// readers; plus the small DDL classifier the stream reader uses on QUERY events.
//
// Thread-safety: SchemaLoader uses the connection it is given; one thread at a time.
#pragma once

#include <string>
#include <vector>

#include "connectors/mysql/binlog_decoder.h"
#include "connectors/mysql/mysql_connection.h"
#include "connectors/mysql/mysql_types.h"
#include "core/event.h"
#include "core/table_filter.h"
#include "core/user_regex.h"

namespace sluice::mysql {

// A table as loaded: the emitted schema (excluded columns left out) and per-column details of
// every column in table order.
struct LoadedTable {
  core::TableSchemaPtr schema;
  std::vector<InformationSchemaColumn> columns;  // every column, table order
  std::vector<SchemaColumnInfo> info;            // every column
  std::vector<bool> excluded;                    // every column
  // For schema-change records: the table's default character set and comment.
  std::string table_charset;
  std::string table_comment;
};

// A schema-change record's table (Debezium's tableChanges entry) from a table as loaded: the
// columns not excluded by column.exclude.list, with Debezium's JDBC type codes and type names
// (best effort from COLUMN_TYPE), the primary key and charset; the comments only with
// `include_comments` (Debezium's include.schema.comments, whose default false gives null). Pure.
core::SchemaChangeTable TableChangeFromLoaded(const LoadedTable& table,
                                              core::SchemaChangeTable::Type type,
                                              bool include_comments = false);
// Debezium's java.sql.Types code for a MySQL DATA_TYPE ("int", "varchar", "datetime", ...).
int32_t JdbcTypeOf(std::string_view data_type);

// Database-level filters (database.include.list / database.exclude.list) plus the table filter.
class CaptureFilter {
 public:
  static core::Result<CaptureFilter> FromConfig(const core::ConnectorConfig& config);
  bool IncludesDatabase(const std::string& db) const;
  bool IncludesTable(const core::TableId& id) const;
  const core::TableFilter& tables() const { return tables_; }

 private:
  std::vector<core::UserRegex> db_include_;
  std::vector<core::UserRegex> db_exclude_;
  core::TableFilter tables_;
};

class SchemaLoader {
 public:
  SchemaLoader(MysqlConnection* conn, const CaptureFilter* filter) : conn_(conn), filter_(filter) {}

  // Every base table the filters include (system databases never).
  core::Result<std::vector<core::TableId>> ListTables();
  // Loads one table; kNotFound when it does not exist (any more).
  core::Result<LoadedTable> Load(const core::TableId& id, uint64_t version);

 private:
  MysqlConnection* conn_;
  const CaptureFilter* filter_;
};

// What a QUERY event's SQL does to tables, as far as a light parse can tell.
struct DdlInfo {
  enum class Kind { kNone, kTruncate, kAlter, kCreate, kDrop, kRename, kOther };
  Kind kind = Kind::kNone;      // kNone: not DDL (BEGIN, COMMIT, DML in statement form)
  std::vector<core::TableId> tables;  // tables named (database defaults to the event's)
  bool if_not_exists = false;   // CREATE TABLE IF NOT EXISTS (logged even when it did nothing)
};
// kOther also for a statement with an executable comment ("/*!50100 ...*/", "/*M!...*/"):
// what the server ran depends on its version, so every cached schema must be re-read.
DdlInfo ClassifyDdl(std::string_view sql, std::string_view default_database);

// True when a CHECK clause contains json_valid(`column`) (MariaDB's JSON type is LONGTEXT with
// that check, as information_schema.CHECK_CONSTRAINTS shows it): the column holds JSON.
bool IsJsonValidCheck(std::string_view check_clause, std::string_view column);

}  // namespace sluice::mysql
