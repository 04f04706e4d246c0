// PgVerifySide: one side of a verification (core/verify.h) on PostgreSQL, read through the same
// catalog mapping and value codecs as the source connector (pg_schema.h, pg_types.h), so that a
// PostgreSQL source and a PostgreSQL target give canonical text exactly as the snapshot does.
//
// Digest: count(*) and sum(hashtextextended(ROW(columns)::text, 0)) over the range, computed by
// the server; only the two numbers cross the network. Reads: plain SELECTs of the range in the
// text format, decoded with AppendCanonical.
//
// Lifecycle: Connect(), then the VerifySide calls. Thread-safety: one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/postgres/pg_connection.h"
#include "connectors/postgres/pg_schema.h"
#include "core/table_filter.h"
#include "core/verify_sql.h"

namespace sluice::pg {

// Connection parameters from a libpq URI or key=value string (a sink.url);
// kInvalidArgument naming what is malformed.
core::Result<ConnectionParams> ParamsFromUrl(const std::string& url);

class PgVerifySide final : public core::SqlVerifySide<RelationInfo> {
 public:
  // `filter`: the source connector's table and column filters (columns it excludes are not
  // compared); a default TableFilter for a target.
  PgVerifySide(ConnectionParams params, core::TableFilter filter);

  core::Status Connect();
  // Tables the filter captures, in name order (the source's table list).
  core::Result<std::vector<core::TableId>> ListTables();

  std::string engine() const override { return "postgres"; }
  core::Status ReadRows(const core::TableId& table, const std::vector<uint32_t>& columns,
                        uint32_t key, const core::KeyRange& range, core::EventBatch& out) override;

  PgConnection& connection() { return conn_; }

 private:
  std::string Quote(std::string_view name) const override { return QuoteIdent(name); }
  core::Result<core::TextRows> QueryText(const std::string& sql) override {
    return conn_.Query(sql);
  }
  core::Result<RelationInfo> Load(const core::TableId& table) override;
  // sum(hashtextextended(ROW(columns)::text, 0)).
  std::string HashSum(const RelationInfo& rel, const std::vector<uint32_t>& columns) const override;

  ConnectionParams params_;
  core::TableFilter filter_;
  PgConnection conn_;
  std::unique_ptr<TypeResolver> types_;
  SchemaCache cache_;
};

}  // namespace sluice::pg
