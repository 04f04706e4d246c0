#include "connectors/postgres/pg_schema.h"

#include <set>

#include "core/parse_number.h"

namespace sluice::pg {
namespace {

bool SameShape(const core::TableSchema& a, const core::TableSchema& b) {
  if (a.key != b.key || a.columns.size() != b.columns.size() || a.generated != b.generated) {
    return false;
  }
  for (size_t i = 0; i < a.columns.size(); ++i) {
    const auto& x = a.columns[i];
    const auto& y = b.columns[i];
    if (x.name != y.name || x.type != y.type || x.source_type != y.source_type ||
        x.nullable != y.nullable || x.enum_values != y.enum_values) {
      return false;
    }
  }
  return true;
}

struct SourceColumn {
  std::string name;
  uint32_t type_oid = 0;
  int32_t typmod = -1;
  std::string format_type;
  bool not_null = false;
  bool replica_key = false;
};

// Key columns (by name) from the catalog: the primary key, else the replica identity index.
core::Result<std::vector<std::string>> CatalogKey(PgConnection& conn, uint32_t relid) {
  SLUICE_ASSIGN_OR_RETURN(
      PgRows rows,
      conn.Query("SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH "
                 "ORDINALITY AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
                 "a.attnum = k.attnum WHERE i.indrelid = " + std::to_string(relid) +
                 " AND i.indisprimary ORDER BY k.n"));
  if (rows.empty()) {
    SLUICE_ASSIGN_OR_RETURN(
        rows,
        conn.Query("SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH "
                   "ORDINALITY AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = i.indrelid "
                   "AND a.attnum = k.attnum WHERE i.indrelid = " + std::to_string(relid) +
                   " AND i.indisreplident ORDER BY k.n"));
  }
  std::vector<std::string> names;
  for (auto& r : rows) names.push_back(r[0].value_or(""));
  return names;
}

core::Result<RelationInfo> Build(PgConnection& conn, TypeResolver& types, uint32_t relid,
                                 const core::TableId& id, char replident,
                                 const std::vector<SourceColumn>& source,
                                 std::vector<std::string> key_names, const std::string& database,
                                 const core::TableFilter& filter, SchemaCache& cache) {
  RelationInfo info;
  info.relid = relid;
  info.replident = replident;
  info.captured = filter.IncludesTable(id);
  core::TableSchema schema;
  schema.id = id;
  schema.database = database;
  for (const SourceColumn& sc : source) {
    info.source_key.push_back(sc.replica_key);
    if (!filter.IncludesColumn(id, sc.name)) {
      info.column_of.push_back(-1);
      continue;
    }
    core::Column col;
    col.name = sc.name;
    col.nullable = !sc.not_null;
    ColumnCodec codec;
    SLUICE_RETURN_IF_ERROR(types.Describe(sc.type_oid, sc.typmod, sc.format_type, col, codec)
                               .WithContext("postgres column " + id.ToString() + "." + sc.name));
    info.column_of.push_back(static_cast<int>(schema.columns.size()));
    schema.columns.push_back(std::move(col));
    info.codecs.push_back(codec);
  }
  for (const std::string& k : key_names) {
    int idx = schema.FindColumn(k);
    if (idx < 0) {
      // Debezium keeps an excluded key column in the message key (only the value loses it);
      // a sluice row has one set of columns, so leaving it out would change every key.
      return core::InvalidArgumentError(core::ExcludedKeyColumnMessage(
          id, k, filter.ColumnExcludedBy(id, k)));
    }
    schema.key.push_back(static_cast<uint32_t>(idx));
  }
  if (info.captured) {
    // Stored generated columns: pgoutput never sends them (nor does the snapshot read them), so
    // they travel with the schema for a PostgreSQL target to recreate.
    SLUICE_ASSIGN_OR_RETURN(
        PgRows generated,
        conn.Query("SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
                   "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a JOIN pg_attrdef d ON "
                   "d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = " +
                   std::to_string(relid) + " AND a.attnum > 0 AND NOT a.attisdropped AND "
                   "a.attgenerated = 's' ORDER BY a.attnum"));
    for (const PgRow& r : generated) {
      std::string name = r[0].value_or("");
      if (!filter.IncludesColumn(id, name)) continue;
      schema.generated.push_back({std::move(name), r[1].value_or(""), r[2].value_or("")});
    }
    // Column comments: the fields' "doc" with Debezium's include.schema.comments=true.
    SLUICE_ASSIGN_OR_RETURN(
        PgRows comments,
        conn.Query("SELECT attname, col_description(attrelid, attnum) FROM pg_attribute WHERE "
                   "attrelid = " + std::to_string(relid) + " AND attnum > 0 AND NOT attisdropped "
                   "AND col_description(attrelid, attnum) IS NOT NULL"));
    for (const PgRow& r : comments) {
      int idx = schema.FindColumn(r[0].value_or(""));
      if (idx >= 0) schema.columns[static_cast<size_t>(idx)].comment = r[1].value_or("");
    }
  }
  info.schema = cache.Intern(std::move(schema));
  return info;
}

}  // namespace

core::TableSchemaPtr SchemaCache::Intern(core::TableSchema schema) {
  std::lock_guard lock(mu_);
  auto it = tables_.find(schema.id);
  if (it != tables_.end()) {
    if (SameShape(*it->second, schema)) return it->second;
    schema.version = it->second->version + 1;
  }
  auto ptr = std::make_shared<const core::TableSchema>(std::move(schema));
  tables_[ptr->id] = ptr;
  return ptr;
}

core::Result<std::vector<TableEntry>> ListCapturedTables(PgConnection& conn,
                                                         const core::TableFilter& filter) {
  SLUICE_ASSIGN_OR_RETURN(
      PgRows rows,
      conn.Query("SELECT c.oid, n.nspname, c.relname, c.relreplident, "
                 "EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary), "
                 "greatest(c.reltuples, 0)::bigint, "
                 "pg_relation_size(c.oid) / current_setting('block_size')::bigint "
                 "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                 "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' "
                 "ORDER BY n.nspname, c.relname"));
  std::vector<TableEntry> out;
  std::vector<bool> pattern_used(filter.include_patterns().size(), false);
  for (const PgRow& r : rows) {
    TableEntry t;
    t.id = {r[1].value_or(""), r[2].value_or("")};
    const std::string what = "postgres pg_class of " + t.id.ToString();
    SLUICE_ASSIGN_OR_RETURN(t.relid, core::ParseNumber<uint32_t>(r[0].value_or(""), what + ": oid"));
    t.replident = r[3].value_or("d")[0];
    t.has_primary_key = r[4].value_or("f") == "t";
    SLUICE_ASSIGN_OR_RETURN(t.estimated_rows,
                            core::ParseNumber<uint64_t>(r[5].value_or("0"), what + ": reltuples"));
    SLUICE_ASSIGN_OR_RETURN(t.pages, core::ParseNumber<uint64_t>(r[6].value_or("0"), what + ": pages"));
    for (size_t i = 0; i < pattern_used.size(); ++i) {
      if (!pattern_used[i] && filter.PatternMatches(i, t.id)) pattern_used[i] = true;
    }
    if (filter.IncludesTable(t.id)) out.push_back(std::move(t));
  }
  for (size_t i = 0; i < pattern_used.size(); ++i) {
    if (!pattern_used[i]) {
      // A bad config value (typo) rather than a server state: kInvalidArgument.
      return core::InvalidArgumentError(
          "postgres table.include.list entry '" + filter.include_patterns()[i] +
          "' matches no table in the database: check its spelling (patterns match the whole "
          "'schema.table') or create the table first");
    }
  }
  return out;
}

core::Result<RelationInfo> LoadRelation(PgConnection& conn, TypeResolver& types,
                                        const TableEntry& table, const std::string& database,
                                        const core::TableFilter& filter, SchemaCache& cache) {
  SLUICE_ASSIGN_OR_RETURN(
      PgRows rows,
      conn.Query("SELECT attname, atttypid, atttypmod, format_type(atttypid, atttypmod), "
                 "attnotnull FROM pg_attribute WHERE attrelid = " + std::to_string(table.relid) +
                 " AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum"));
  std::vector<SourceColumn> cols;
  for (const PgRow& r : rows) {
    SourceColumn c;
    c.name = r[0].value_or("");
    const std::string what = "postgres pg_attribute of " + table.id.ToString() + "." + c.name;
    SLUICE_ASSIGN_OR_RETURN(c.type_oid,
                            core::ParseNumber<uint32_t>(r[1].value_or(""), what + ": atttypid"));
    SLUICE_ASSIGN_OR_RETURN(c.typmod,
                            core::ParseNumber<int32_t>(r[2].value_or("-1"), what + ": atttypmod"));
    c.format_type = r[3].value_or("");
    c.not_null = r[4].value_or("f") == "t";
    cols.push_back(std::move(c));
  }
  SLUICE_ASSIGN_OR_RETURN(auto key, CatalogKey(conn, table.relid));
  std::set<std::string> key_set(key.begin(), key.end());
  for (auto& c : cols) c.replica_key = key_set.count(c.name) > 0;
  return Build(conn, types, table.relid, table.id, table.replident, cols, std::move(key), database,
               filter, cache);
}

core::Result<RelationInfo> RelationFromMessage(PgConnection& conn, TypeResolver& types,
                                               const PgoutputMessage& m,
                                               const std::string& database,
                                               const core::TableFilter& filter,
                                               SchemaCache& cache) {
  core::TableId id{m.nspname, m.relname};
  std::vector<SourceColumn> cols;
  std::string oids, mods;
  for (const RelationColumn& rc : m.columns) {
    SourceColumn c;
    c.name = rc.name;
    c.type_oid = rc.type_oid;
    c.typmod = rc.typmod;
    c.replica_key = rc.key;
    if (!oids.empty()) {
      oids += ',';
      mods += ',';
    }
    oids += std::to_string(rc.type_oid);
    mods += std::to_string(rc.typmod);
    cols.push_back(std::move(c));
  }
  if (!filter.IncludesTable(id)) {
    RelationInfo info;
    info.relid = m.relid;
    info.captured = false;
    return info;
  }
  if (!cols.empty()) {
    SLUICE_ASSIGN_OR_RETURN(
        PgRows rows, conn.Query("SELECT format_type(t, m) FROM unnest('{" + oids + "}'::oid[], '{" +
                                mods + "}'::int[]) WITH ORDINALITY AS u(t, m, n) ORDER BY n"));
    for (size_t i = 0; i < cols.size() && i < rows.size(); ++i) {
      cols[i].format_type = rows[i][0].value_or("");
    }
    SLUICE_ASSIGN_OR_RETURN(
        PgRows nn, conn.Query("SELECT attname FROM pg_attribute WHERE attrelid = " +
                              std::to_string(m.relid) + " AND attnum > 0 AND attnotnull"));
    std::set<std::string> not_null;
    for (auto& r : nn) not_null.insert(r[0].value_or(""));
    for (auto& c : cols) c.not_null = not_null.count(c.name) > 0;
  }
  SLUICE_ASSIGN_OR_RETURN(auto key, CatalogKey(conn, m.relid));
  if (key.empty() && m.replident != 'f') {
    for (const auto& c : cols) {
      if (c.replica_key) key.push_back(c.name);
    }
  }
  return Build(conn, types, m.relid, id, m.replident, cols, std::move(key), database, filter, cache);
}

}  // namespace sluice::pg
