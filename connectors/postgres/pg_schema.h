// Catalog access for the PostgreSQL source: which tables are captured, their shared
// core::TableSchema (columns with format_type() text, key = primary key, else the replica
// identity index), and the per-column codecs that turn server text into canonical text.
//
// RelationInfo is what both the snapshot reader and the stream reader decode rows with; the
// SchemaCache keeps one schema per table so that a Relation message describing the same
// columns reuses the snapshot's schema (same version) and a changed one bumps the version.
//
// Thread-safety: SchemaCache is thread-safe; the free functions use the connection they are
// given (single-threaded).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "connectors/postgres/pg_connection.h"
#include "connectors/postgres/pg_types.h"
#include "connectors/postgres/pgoutput_decoder.h"
#include "core/event.h"
#include "core/table_filter.h"

namespace sluice::pg {

struct TableEntry {
  uint32_t relid = 0;
  core::TableId id;
  char replident = 'd';
  bool has_primary_key = false;
  uint64_t estimated_rows = 0;
  uint64_t pages = 0;  // current size in blocks
};

// Ordinary tables (and partitions) the filter includes, in name order. kInvalidArgument when
// an include pattern matches no table (a typo would otherwise capture nothing silently).
core::Result<std::vector<TableEntry>> ListCapturedTables(PgConnection& conn,
                                                         const core::TableFilter& filter);

// How rows of one relation are decoded.
struct RelationInfo {
  uint32_t relid = 0;
  bool captured = true;               // false: the filter excludes the table; skip its changes
  core::TableSchemaPtr schema;
  std::vector<int> column_of;         // per source column: index in schema, -1 = excluded
  std::vector<ColumnCodec> codecs;    // per schema column
  std::vector<bool> source_key;       // per source column: in the replica identity
  char replident = 'd';
};

class SchemaCache {
 public:
  // Returns `schema` itself when the table is new or its columns/key changed (version bumped
  // past the previous one), else the previous pointer.
  core::TableSchemaPtr Intern(core::TableSchema schema);

 private:
  std::mutex mu_;
  std::map<core::TableId, core::TableSchemaPtr> tables_;
};

// From the catalog (snapshot): every live, non-generated column the filter includes.
core::Result<RelationInfo> LoadRelation(PgConnection& conn, TypeResolver& types,
                                        const TableEntry& table, const std::string& database,
                                        const core::TableFilter& filter, SchemaCache& cache);

// From a pgoutput Relation message (stream): its columns and types, the key from the catalog
// (primary key; else the message's replica identity flags unless REPLICA IDENTITY FULL).
core::Result<RelationInfo> RelationFromMessage(PgConnection& conn, TypeResolver& types,
                                               const PgoutputMessage& message,
                                               const std::string& database,
                                               const core::TableFilter& filter,
                                               SchemaCache& cache);

// The stream reader's view of the catalog: what a pgoutput Relation message describes. A seam,
// so that unit tests of the stream reader run without a server (one call per Relation message).
// Single-threaded.
class RelationCatalog {
 public:
  virtual ~RelationCatalog() = default;
  // Before the first Describe(): connects (kUnavailable etc. as PgConnection::Connect).
  virtual core::Status Open() = 0;
  // As RelationFromMessage.
  virtual core::Result<RelationInfo> Describe(const PgoutputMessage& relation) = 0;
  // A pgoutput Type message: a type was (re)defined, so cached type lookups are stale.
  virtual void TypesChanged() = 0;
};

// Over its own regular connection; `filter` and `cache` must outlive it.
class PgRelationCatalog final : public RelationCatalog {
 public:
  // `conn`: a regular connection already open to use (the source start's, saving a connection
  // setup), or null: Open() connects.
  PgRelationCatalog(ConnectionParams params, const core::TableFilter* filter, SchemaCache* cache,
                    std::unique_ptr<PgConnection> conn = nullptr)
      : params_(std::move(params)),
        filter_(filter),
        cache_(cache),
        conn_(conn ? std::move(conn) : std::make_unique<PgConnection>()) {}
  core::Status Open() override {
    return conn_->connected() ? core::Status::Ok() : conn_->Connect(params_, false);
  }
  core::Result<RelationInfo> Describe(const PgoutputMessage& relation) override {
    return RelationFromMessage(*conn_, types_, relation, params_.dbname, *filter_, *cache_);
  }
  void TypesChanged() override { types_.Clear(); }

 private:
  ConnectionParams params_;
  const core::TableFilter* filter_;
  SchemaCache* cache_;
  std::unique_ptr<PgConnection> conn_;
  TypeResolver types_{conn_.get()};
};

}  // namespace sluice::pg
