// PgApplier's target types: the enum types a table's columns need (enum and enum[] columns,
// created from the source's labels), the check that every other column type exists at the
// target before CREATE TABLE / ADD COLUMN, and the element delimiter of each array column.
#include "sinks/postgres/pg_applier.h"

namespace sluice::sinks::pgsink {

using core::Status;

// Every type a new column needs must exist at the target (enums are created just before):
// otherwise CREATE TABLE fails with `type "…" does not exist`, naming neither the column nor a
// way past it. to_regtype() answers NULL instead of failing, so the transaction stays usable.
Status PgApplier::CheckTypesExist(const TableState& t, const std::vector<size_t>& columns,
                                  const std::vector<std::string>& types) {
  if (columns.empty()) return Status::Ok();
  std::string sql = "SELECT ";
  std::vector<const char*> params;
  for (size_t k = 0; k < columns.size(); ++k) {
    sql += (k > 0 ? ", to_regtype($" : "to_regtype($") + std::to_string(k + 1) + ") IS NOT NULL";
    params.push_back(types[columns[k]].c_str());
  }
  auto r = conn_.ExecParams(sql, params);
  if (!r.ok()) return r.status().WithContext("postgres sink: table " + t.qualified);
  for (size_t k = 0; k < columns.size(); ++k) {
    if (std::string_view(PQgetvalue(r->get(), 0, static_cast<int>(k))) == "t") continue;
    const core::TableSchema& schema = *t.schema;
    const std::string& name = schema.columns[columns[k]].name;
    return core::FailedPreconditionError(
        "postgres sink: table " + t.qualified + ": column " + name + " has type " +
        types[columns[k]] + ", which the target database does not have; create the type there "
        "(CREATE TYPE, or CREATE EXTENSION for an extension's type), or leave the column out "
        "with column.exclude.list (" + schema.id.ToString() + "." + name +
        ") or the table with table.exclude.list");
  }
  return Status::Ok();
}

// Array literals separate elements with the element type's typdelim (';' for box[]), as the
// target's column types say.
Status PgApplier::LoadArrayDelimiters(TableState& t) {
  t.delimiters.assign(t.schema->columns.size(), ',');
  bool any = false;
  for (ValueKind k : t.kinds) any = any || k == ValueKind::kArray;
  if (!any) return Status::Ok();
  auto r = conn_.ExecParams(
      "SELECT a.attname, e.typdelim FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
      "JOIN pg_type e ON e.oid = t.typelem WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 "
      "AND NOT a.attisdropped AND t.typcategory = 'A'",
      {t.qualified.c_str()});
  if (!r.ok()) return r.status().WithContext("postgres sink: table " + t.qualified);
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    int column = t.schema->FindColumn(PQgetvalue(r->get(), i, 0));
    std::string_view delimiter = PQgetvalue(r->get(), i, 1);
    if (column >= 0 && delimiter.size() == 1) {
      t.delimiters[static_cast<size_t>(column)] = delimiter[0];
    }
  }
  return Status::Ok();
}

Status PgApplier::EnsureEnumType(const core::Column& column) {
  const bool is_array = column.type == core::LogicalType::kArray;
  if (!options_.pg_source || (column.type != core::LogicalType::kEnum && !is_array) ||
      column.enum_values.empty()) {
    return Status::Ok();
  }
  auto type = TargetType(column, true);
  if (!type) return Status::Ok();
  // enum[] (the source sends the element's labels and "schema.type[]"): create the element.
  while (is_array && type->size() > 2 && type->ends_with("[]")) type->resize(type->size() - 2);
  auto r = conn_.ExecParams("SELECT to_regtype($1) IS NOT NULL", {type->c_str()});
  if (!r.ok()) return r.status();
  if (std::string_view(PQgetvalue(r->get(), 0, 0)) == "t") return Status::Ok();
  std::string sql = "CREATE TYPE " + *type + " AS ENUM (";
  for (size_t i = 0; i < column.enum_values.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += sluice::pg::QuoteLiteral(column.enum_values[i]);
  }
  sql += ")";
  auto c = conn_.Exec(sql);
  if (!c.ok()) return c.status().WithContext("creating enum type " + *type);
  return Status::Ok();
}

}  // namespace sluice::sinks::pgsink
