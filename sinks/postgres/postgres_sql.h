// SQL text the PostgreSQL sink sends: every identifier quoted, every value a parameter ($n) or
// COPY data, never spliced. Pure functions over a TableSchema and the target's name.
//
// Thread-safe (no state).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"

namespace sluice::sinks::pgsink {

// Where a source table lands.
struct TargetName {
  std::string schema;
  std::string table;
  // "schema"."table", quoted.
  std::string Qualified() const;
};

// Applies sink.table.name.format ("${schema}", "${table}" placeholders; empty = keep the source
// names). A result containing a dot outside the placeholders' values is "schema.table";
// otherwise the table goes into the source's schema.
TargetName ResolveTargetName(std::string_view format, const core::TableId& id);

// "a", "b", "c" for the columns whose index is in `columns`.
std::string ColumnList(const core::TableSchema& schema, const std::vector<uint32_t>& columns);
// The primary-key columns, quoted, comma-separated.
std::string KeyColumns(const core::TableSchema& schema);

// CREATE TABLE IF NOT EXISTS with the given column types (aligned to schema.columns), NOT NULL
// where the source says so, and the primary key from schema.key.
std::string CreateTableSql(const TargetName& target, const core::TableSchema& schema,
                           const std::vector<std::string>& types, bool with_key = true);

// `"g" integer GENERATED ALWAYS AS (expression) STORED`: a source's stored generated column,
// part of CREATE TABLE (every generated column of `schema`) and ADD COLUMN.
std::string GeneratedColumnDefinition(const core::GeneratedColumn& column);

// ALTER TABLE … ALTER COLUMN c TYPE t USING c::t (a column whose type changed at the source).
std::string AlterColumnTypeSql(const TargetName& target, const std::string& column,
                               const std::string& type);
// ALTER TABLE … [DROP CONSTRAINT old,] ADD PRIMARY KEY (key of `schema`): one statement, so the
// table is never without a key in between. `old_constraint` empty: only ADD.
std::string ReplacePrimaryKeySql(const TargetName& target, const core::TableSchema& schema,
                                 const std::string& old_constraint);

// INSERT of `columns`; with a key, ON CONFLICT (key) DO UPDATE SET every non-key column listed
// (DO NOTHING when only key columns are listed). Parameters $1.. follow `columns`.
// With `rows` > 1: one VALUES list per row, parameters row by row (row r, column i is
// $(r * columns.size() + i + 1)); the keys of the rows must differ.
std::string UpsertSql(const TargetName& target, const core::TableSchema& schema,
                      const std::vector<uint32_t>& columns, size_t rows = 1);

// UPDATE SET `set_columns` ($1..) WHERE key columns = ($k..), k following the set columns.
std::string UpdateByKeySql(const TargetName& target, const core::TableSchema& schema,
                           const std::vector<uint32_t>& set_columns);

// DELETE WHERE key columns = $1...
// With `rows` > 1: WHERE (key) IN ((…), (…)), parameters row by row.
std::string DeleteByKeySql(const TargetName& target, const core::TableSchema& schema,
                           size_t rows = 1);

// Keyless tables: change exactly one row equal (IS NOT DISTINCT FROM) to the before image in
// every column of `match_columns` ($1..), found by ctid. Update sets `set_columns` with the
// parameters after the match parameters. `types`: the target column types, per schema column
// (may be empty): string, unknown and array columns are compared as text through them, since
// point, box, xml and their arrays have no equality operator.
std::string DeleteOneRowSql(const TargetName& target, const core::TableSchema& schema,
                            const std::vector<uint32_t>& match_columns,
                            const std::vector<std::string>& types = {});
std::string UpdateOneRowSql(const TargetName& target, const core::TableSchema& schema,
                            const std::vector<uint32_t>& match_columns,
                            const std::vector<uint32_t>& set_columns,
                            const std::vector<std::string>& types = {});

// COPY "s"."t" (cols) FROM STDIN (text format).
std::string CopySql(const std::string& qualified_table, const core::TableSchema& schema,
                    const std::vector<uint32_t>& columns);

// Snapshot replay path: an empty temporary staging table shaped like the target's columns,
// dropped at commit, and the statement that upserts its rows into the target.
std::string CreateStageSql(const std::string& stage, const TargetName& target,
                           const core::TableSchema& schema, const std::vector<uint32_t>& columns);
std::string UpsertFromStageSql(const std::string& stage, const TargetName& target,
                               const core::TableSchema& schema,
                               const std::vector<uint32_t>& columns);

// The offsets table: one row per connector name.
std::string CreateOffsetsTableSql(const TargetName& offsets);
std::string SaveOffsetSql(const TargetName& offsets);  // $1 connector, $2 position
std::string LoadOffsetSql(const TargetName& offsets);  // $1 connector

}  // namespace sluice::sinks::pgsink
